// Creates gRPC channels to the Aarthik gRPC gateway: plaintext for local development and in-cluster
// sidecars, TLS with an optional private root CA, and mutual TLS with a client certificate and key.
// PEM material can be given inline or read from files.
//
// Example:
//
//   aarthik::client::ChannelOptions options;
//   options.target = "gateway.internal:8443";
//   options.use_tls = true;
//   options.tls = aarthik::client::TlsOptionsFromFiles(
//                     "/etc/aarthik/ca.pem", "/etc/aarthik/client.pem", "/etc/aarthik/client.key")
//                     .value();
//   absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
//       aarthik::client::CreateChannel(options);
//   if (!channel.ok()) return channel.status();
//   auto stub = aarthik::headless::v1::JourneysService::NewStub(*channel);
//
//   // Local development against a plaintext gateway:
//   auto local = aarthik::client::CreateInsecureChannel("localhost:50051");
//
// Thread-safety: all functions are thread-safe. A `grpc::Channel` is thread-safe and meant to be
// shared: create one per gateway address and reuse it for every stub and call.
#ifndef AARTHIK_CLIENT_CHANNEL_H_
#define AARTHIK_CLIENT_CHANNEL_H_

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aarthik::client {

// TLS settings, all PEM text. Every field may be empty.
struct TlsOptions {
  // Root certificates that sign the gateway's certificate. Empty: the system's default roots (which
  // `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH` can override).
  std::string root_certs_pem;
  // Client certificate chain and its private key, for mutual TLS. Set both or neither.
  std::string cert_chain_pem;
  std::string private_key_pem;
  // Host name to verify the gateway's certificate against instead of the target's host. For tests
  // and for addressing a gateway by IP; never needed in production.
  std::string target_name_override;
};

struct ChannelOptions {
  // gRPC target, e.g. "localhost:50051", "dns:///gateway.internal:8443".
  std::string target;
  // Plaintext when false; TLS with `tls` when true.
  bool use_tls = false;
  TlsOptions tls;
  // Largest response the channel accepts. The platform's largest documented responses (offer lists
  // with lender diagnostics) are far below the gRPC default of 4 MiB; raise it only with reason.
  int max_receive_message_bytes = 4 * 1024 * 1024;
  // Added in front of gRPC's own user agent; shows in the gateway's logs.
  std::string user_agent_prefix = "aarthik-client";
};

// Reads PEM files into `TlsOptions`. An empty path leaves its field empty. Returns NotFound or
// PermissionDenied-style errors naming the path when a file cannot be read, and InvalidArgument
// when a file does not contain PEM data.
absl::StatusOr<TlsOptions> TlsOptionsFromFiles(absl::string_view root_certs_path,
                                               absl::string_view cert_chain_path = "",
                                               absl::string_view private_key_path = "");

// Returns TLS options for `options.use_tls`, or insecure credentials otherwise. InvalidArgument
// when only one of the client certificate chain and private key is set.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> CreateCredentials(
    const ChannelOptions& options);

// Creates a channel per `options`. InvalidArgument for an empty target or an incomplete client
// certificate/key pair. The channel connects lazily: an unreachable gateway shows up as UNAVAILABLE
// on the first call (or when waiting with `channel->WaitForConnected(deadline)`).
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const ChannelOptions& options);

// Shorthand for a plaintext channel with default options.
std::shared_ptr<grpc::Channel> CreateInsecureChannel(const std::string& target);

}  // namespace aarthik::client

#endif  // AARTHIK_CLIENT_CHANNEL_H_
