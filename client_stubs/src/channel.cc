#include "aarthik/client/channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace aarthik::client {
namespace {

absl::Status ReadPem(absl::string_view path, std::string* out) {
  if (path.empty()) return absl::OkStatus();
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open PEM file ", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read PEM file ", path));
  if (!absl::StrContains(text.str(), "-----BEGIN ")) {
    return absl::InvalidArgumentError(absl::StrCat("no PEM block in ", path));
  }
  *out = std::move(text).str();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TlsOptions> TlsOptionsFromFiles(absl::string_view root_certs_path,
                                               absl::string_view cert_chain_path,
                                               absl::string_view private_key_path) {
  TlsOptions tls;
  if (absl::Status s = ReadPem(root_certs_path, &tls.root_certs_pem); !s.ok()) return s;
  if (absl::Status s = ReadPem(cert_chain_path, &tls.cert_chain_pem); !s.ok()) return s;
  if (absl::Status s = ReadPem(private_key_path, &tls.private_key_pem); !s.ok()) return s;
  return tls;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> CreateCredentials(
    const ChannelOptions& options) {
  if (!options.use_tls) return grpc::InsecureChannelCredentials();
  const TlsOptions& tls = options.tls;
  if (tls.cert_chain_pem.empty() != tls.private_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "mutual TLS needs both a client certificate chain and its private key");
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls.root_certs_pem;
  ssl.pem_cert_chain = tls.cert_chain_pem;
  ssl.pem_private_key = tls.private_key_pem;
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(ssl);
  if (credentials == nullptr) return absl::InternalError("gRPC could not create TLS credentials");
  return credentials;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const ChannelOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("channel target is empty");
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      CreateCredentials(options);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  if (!options.user_agent_prefix.empty()) args.SetUserAgentPrefix(options.user_agent_prefix);
  if (options.use_tls && !options.tls.target_name_override.empty()) {
    args.SetSslTargetNameOverride(options.tls.target_name_override);
  }
  return grpc::CreateCustomChannel(options.target, *credentials, args);
}

std::shared_ptr<grpc::Channel> CreateInsecureChannel(const std::string& target) {
  ChannelOptions options;
  options.target = target;
  // Only an empty target fails, and then gRPC's own lame channel reports the error on every call.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateChannel(options);
  if (channel.ok()) return *std::move(channel);
  return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
}

}  // namespace aarthik::client
