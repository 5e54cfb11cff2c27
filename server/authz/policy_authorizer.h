// PolicyAuthorizer: the Authorizer of the gateway. Identifies the caller from the configured
// sources and judges the call against the policy in force; the policy and the JWKS can be swapped
// while calls are checked (the gateway's file watcher re-reads their files, core/secret.h).
//
//   PolicyAuthorizer::Options options;
//   options.mode = Mode::kEnforce;
//   options.jwt = &verifier;             // identity from `authorization: Bearer <jwt>`
//   options.mtls = true;                 // identity from the verified client certificate
//   PolicyAuthorizer authorizer(options, method_names, metrics);
//   authorizer.SetPolicy(*Policy::Compile(yaml, method_names));
//   Decision decision = authorizer.Check(authorizer.Credentials(*context), method_id);
//
// Identity, first source that the call carries wins: a trusted x-forwarded-client-cert (only with
// `trust_forwarded_cert`: the hop in front is a sidecar that sets it), then a bearer JWT, then the
// mTLS peer certificate. A credential that is presented but invalid is refused even when another
// source would have named the caller: a broken token is a bug or an attack, not something to paper
// over.
//
// With `client_certs`, a call whose connection has no client certificate the CA bundle trusts is
// refused first (UNAUTHENTICATED, ErrorInfo CLIENT_CERT_MISSING / CLIENT_CERT_UNTRUSTED /
// CREDENTIAL_EXPIRED / CREDENTIAL_NOT_YET_VALID), in every mode.
//
// Decisions: with no policy (or mode kOff) the call is not judged (`checked` false) and never
// refused; the principal is still named for logs and the audit log. With a policy: a call without
// a valid identity is UNAUTHENTICATED (ErrorInfo reason says why, domain gateway.aarthik), a
// principal no rule grants the method is PERMISSION_DENIED (ErrorInfo reason CALLER_NOT_ALLOWED,
// metadata method and principal); in kAuditOnly mode neither is refused, the decision is
// kAuditDeny.
//
// Thread-safety: every method may be called from any thread.
#ifndef AARTHIK_SERVER_AUTHZ_POLICY_AUTHORIZER_H_
#define AARTHIK_SERVER_AUTHZ_POLICY_AUTHORIZER_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/authz/authorizer.h"
#include "server/authz/client_cert_verifier.h"
#include "server/authz/jwt_verifier.h"
#include "server/authz/policy.h"
#include "server/metrics/gateway_metrics.h"

namespace aarthik::authz {

enum class Mode { kEnforce, kAuditOnly, kOff };
absl::StatusOr<Mode> ParseMode(absl::string_view name);  // enforce | audit-only | off
absl::string_view ModeName(Mode mode);

inline constexpr char kReasonCallerNotAllowed[] = "CALLER_NOT_ALLOWED";
inline constexpr char kReasonNoCredential[] = "CREDENTIAL_MISSING";
inline constexpr char kReasonForwardedCertUnusable[] = "CREDENTIAL_MALFORMED";

class PolicyAuthorizer : public Authorizer {
 public:
  struct Options {
    Mode mode = Mode::kEnforce;
    bool mtls = false;  // identity from the client certificate (a TLS listener with a client CA)
    // Checks every call's client certificate, whatever the mode and policy: a missing, foreign or
    // expired one is UNAUTHENTICATED (set with `mtls`; the listener does not verify them itself).
    const ClientCertVerifier* client_certs = nullptr;
    const JwtVerifier* jwt = nullptr;   // bearer tokens; none when null
    bool trust_forwarded_cert = false;  // x-forwarded-client-cert from a trusted sidecar
  };

  // `methods`: every method the gateway serves, "<package>.<Service>/<Method>" (index = id).
  // `metrics` may be null.
  PolicyAuthorizer(Options options, std::vector<std::string> methods,
                   metrics::GatewayMetrics* metrics);

  // Compiles `yaml` against this authorizer's methods (without installing it).
  absl::StatusOr<std::shared_ptr<const Policy>> Compile(
      absl::string_view yaml, std::vector<std::string>* warnings = nullptr) const;
  // Puts `policy` in force (null: no policy, nothing is judged).
  void SetPolicy(std::shared_ptr<const Policy> policy);
  bool has_policy() const;
  const std::vector<std::string>& methods() const { return methods_; }

  MethodId Method(absl::string_view full_name) const override;
  const std::string& MethodName(MethodId method) const override;
  CallCredentials Credentials(const grpc::ServerContextBase& context) const override;
  Decision Check(const CallCredentials& credentials, MethodId method) const override;

 private:
  struct Identity {
    std::string principal;
    IdentitySource source = IdentitySource::kNone;
    const char* failure = nullptr;  // an ErrorInfo reason when the credential is unusable
    std::string message;
  };
  Identity Identify(const CallCredentials& credentials) const;
  void Count(MethodId method, metrics::AuthzDecision decision) const;

  const Options options_;
  const std::vector<std::string> methods_;
  absl::flat_hash_map<std::string, MethodId> ids_;
  std::vector<metrics::AuthzInstruments*> counters_;  // by method id; empty without metrics
  mutable std::mutex mu_;
  std::shared_ptr<const Policy> policy_;  // guarded by mu_
};

}  // namespace aarthik::authz

#endif  // AARTHIK_SERVER_AUTHZ_POLICY_AUTHORIZER_H_
