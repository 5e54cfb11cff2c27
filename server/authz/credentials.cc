// CredentialsOf, PeerPrincipal and ForwardedCertPrincipal (authorizer.h): reading who the caller
// says it is from gRPC's call and connection state.
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "grpc/grpc_security_constants.h"
#include "server/authz/authorizer.h"

namespace aarthik::authz {
namespace {

absl::string_view Metadata(const grpc::ServerContextBase& context, const char* key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return "";
  return absl::string_view(it->second.data(), it->second.size());
}

std::string First(const grpc::AuthContext& auth, const char* property) {
  std::vector<grpc::string_ref> values = auth.FindPropertyValues(property);
  if (values.empty()) return "";
  return std::string(values.front().data(), values.front().size());
}

// Splits on `separator` outside double quotes (XFCC values quote subjects holding ',' and ';').
std::vector<absl::string_view> SplitUnquoted(absl::string_view text, char separator) {
  std::vector<absl::string_view> parts;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && quoted) {
      ++i;
    } else if (text[i] == '"') {
      quoted = !quoted;
    } else if (text[i] == separator && !quoted) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(text.substr(start));
  return parts;
}

std::string Unquote(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) ++i;
    out.push_back(value[i]);
  }
  return out;
}

}  // namespace

absl::string_view IdentitySourceName(IdentitySource source) {
  switch (source) {
    case IdentitySource::kMtls:
      return "mtls";
    case IdentitySource::kJwt:
      return "jwt";
    case IdentitySource::kForwardedCert:
      return "xfcc";
    case IdentitySource::kNone:
      break;
  }
  return "";
}

CallCredentials CredentialsOf(const grpc::ServerContextBase& context, bool bearer,
                              bool forwarded_cert, bool peer) {
  CallCredentials credentials;
  if (bearer) credentials.authorization = Metadata(context, "authorization");
  if (forwarded_cert)
    credentials.forwarded_client_cert = Metadata(context, "x-forwarded-client-cert");
  if (peer) {
    // Also without a peer identity: the certificate check says "missing" from its properties.
    credentials.auth = context.auth_context();
  }
  return credentials;
}

std::string PeerPrincipal(const grpc::AuthContext* auth) {
  if (auth == nullptr) return "";
  // gRPC sets peer_spiffe_id only for a certificate with exactly one spiffe:// URI SAN, which is
  // what SPIFFE requires (an SVID has one URI SAN).
  if (std::string spiffe = First(*auth, GRPC_PEER_SPIFFE_ID_PROPERTY_NAME); !spiffe.empty()) {
    return spiffe;
  }
  if (std::string dns = First(*auth, GRPC_PEER_DNS_PROPERTY_NAME); !dns.empty()) return dns;
  return First(*auth, GRPC_X509_CN_PROPERTY_NAME);
}

std::string ForwardedCertPrincipal(absl::string_view xfcc) {
  std::vector<absl::string_view> elements = SplitUnquoted(xfcc, ',');
  std::string uri, dns, subject;
  for (absl::string_view pair : SplitUnquoted(elements.back(), ';')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    absl::string_view key = absl::StripAsciiWhitespace(kv.first);
    if (absl::EqualsIgnoreCase(key, "URI") && uri.empty()) uri = Unquote(kv.second);
    if (absl::EqualsIgnoreCase(key, "DNS") && dns.empty()) dns = Unquote(kv.second);
    if (absl::EqualsIgnoreCase(key, "Subject")) subject = Unquote(kv.second);
  }
  if (!uri.empty()) return uri;
  if (!dns.empty()) return dns;
  // The subject is an RFC 2253 DN: "CN=name,OU=...".
  for (absl::string_view rdn : SplitUnquoted(subject, ',')) {
    rdn = absl::StripAsciiWhitespace(rdn);
    if (absl::StartsWithIgnoreCase(rdn, "CN=")) return std::string(rdn.substr(3));
  }
  return "";
}

}  // namespace aarthik::authz
