// Authorizer: decides, for one call, who the caller is and whether it may call the method. The
// interface the RPC layer sees; PolicyAuthorizer (policy_authorizer.h) is the implementation.
//
//   const authz::MethodId method =
//   authorizer.Method("aarthik.headless.v1.OffersService/ProceedOffer"); authz::Decision decision =
//   authorizer.Check(authz::CredentialsOf(*context), method); if (!decision.refusal.ok()) return
//   Finish(decision.refusal);  // UNAUTHENTICATED / PERMISSION_DENIED log_fields.principal =
//   decision.principal;
//
// Method ids are resolved once, at start-up, so that a call's check does no string lookup.
//
// Thread-safety: implementations are thread-safe; Check is called from every gRPC thread.
#ifndef AARTHIK_SERVER_AUTHZ_AUTHORIZER_H_
#define AARTHIK_SERVER_AUTHZ_AUTHORIZER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "server/metrics/gateway_metrics.h"

namespace aarthik::authz {

using MethodId = int;
inline constexpr MethodId kUnknownMethod = -1;

// Where the principal came from.
enum class IdentitySource { kNone, kMtls, kJwt, kForwardedCert };
absl::string_view IdentitySourceName(IdentitySource source);  // "", "mtls", "jwt", "xfcc"

// What one call presents as credentials. The views point into `auth` and the call's metadata,
// which live as long as the call.
struct CallCredentials {
  // The `authorization` metadata value ("Bearer <jwt>"), "" when absent.
  absl::string_view authorization;
  // Envoy's `x-forwarded-client-cert` metadata value, "" when absent.
  absl::string_view forwarded_client_cert;
  // The TLS peer's certificate properties (verified by ClientCertVerifier when mTLS is configured);
  // null when not asked for.
  std::shared_ptr<const grpc::AuthContext> auth;
};

// The credentials of a server call: metadata lookups and gRPC's (per-connection) auth context; no
// certificate parsing. Each part only when asked for.
CallCredentials CredentialsOf(const grpc::ServerContextBase& context, bool bearer = true,
                              bool forwarded_cert = true, bool peer = true);

// The principal of a verified TLS peer: the SPIFFE ID (URI SAN spiffe://...), else the first DNS
// SAN, else the subject CN; "" when there is no peer certificate.
std::string PeerPrincipal(const grpc::AuthContext* auth);

// The principal of the nearest hop's element of an x-forwarded-client-cert value (the last
// element: Envoy appends): its URI, else DNS, else the CN of its Subject; "" when none.
std::string ForwardedCertPrincipal(absl::string_view xfcc);

struct Decision {
  // Whether a policy was in force and judged the call (counted in aarthik_authz_decisions_total).
  bool checked = false;
  metrics::AuthzDecision decision = metrics::AuthzDecision::kAllow;
  std::string principal;  // "" when the caller has no valid identity
  IdentitySource source = IdentitySource::kNone;
  // Why it was refused (or would have been, in audit-only mode): an ErrorInfo reason such as
  // CALLER_NOT_ALLOWED or CREDENTIAL_EXPIRED; null when allowed.
  const char* reason = nullptr;
  // Not OK: finish the call with it (UNAUTHENTICATED or PERMISSION_DENIED with ErrorInfo).
  absl::Status refusal;
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // The id of a method ("<package>.<Service>/<Method>"); kUnknownMethod when the gateway does not
  // serve it (such a method is denied whenever a policy is in force).
  virtual MethodId Method(absl::string_view full_name) const = 0;
  virtual const std::string& MethodName(MethodId method) const = 0;
  // What `context` presents, reading only what the configured identity sources use (no auth
  // context lookup without mTLS identity, no metadata lookups for sources that are off).
  virtual CallCredentials Credentials(const grpc::ServerContextBase& context) const = 0;
  virtual Decision Check(const CallCredentials& credentials, MethodId method) const = 0;
};

}  // namespace aarthik::authz

#endif  // AARTHIK_SERVER_AUTHZ_AUTHORIZER_H_
