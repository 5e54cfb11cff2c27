// CallAuthz: the gateway's caller identity, authorization policy and audit log, assembled from the
// configuration (docs/security.md), with the file watches that reload the policy and the JWKS, and
// the check for the calls RpcProxy does not serve (event streams, reflection).
//
//   absl::StatusOr<std::unique_ptr<CallAuthz>> authz =
//       CallAuthz::Start(config, method_names, metrics, &secret_watcher);
//   if (*authz != nullptr) deps.authz = (*authz)->authorizer();   // null: nothing configured
//   // In a streaming handler:
//   if (absl::Status s = (*authz)->AdmitStream(*context, method); !s.ok()) return Refuse(s);
//
// Start returns null when none of --authz-policy-file, --jwt-jwks-file, --trust-xfcc,
// --audit-log and --tls-client-ca-file is set: the call path then does no identity or policy work
// at all. With --tls-client-ca-file every call's client certificate is checked here
// (authz::ClientCertVerifier), the listener only asking for one.
//
// Thread-safety: AdmitStream from any thread; the watcher polls (and swaps policies) on its own
// thread.
#ifndef AARTHIK_SERVER_RPC_CALL_AUTHZ_H_
#define AARTHIK_SERVER_RPC_CALL_AUTHZ_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "server/authz/audit_log.h"
#include "server/authz/client_cert_verifier.h"
#include "server/authz/jwt_verifier.h"
#include "server/authz/policy_authorizer.h"
#include "server/core/config.h"
#include "server/core/secret.h"
#include "server/metrics/gateway_metrics.h"

namespace aarthik::rpc {

class CallAuthz {
 public:
  static absl::StatusOr<std::unique_ptr<CallAuthz>> Start(const core::Config& config,
                                                          std::vector<std::string> methods,
                                                          metrics::GatewayMetrics* metrics,
                                                          core::SecretFileWatcher* watcher);

  const authz::Authorizer* authorizer() const { return authorizer_.get(); }
  authz::AuditLog* audit() const { return audit_.get(); }

  // Checks a call of `method` (a stream): decides, logs and audits a refusal or would-be refusal;
  // returns the status to end the call with (OK: serve it).
  absl::Status AdmitStream(const grpc::ServerContextBase& context, absl::string_view method) const;

 private:
  CallAuthz() = default;
  absl::Status WatchPolicy(const core::Config& config, core::SecretFileWatcher* watcher);
  absl::Status WatchJwks(const core::Config& config, core::SecretFileWatcher* watcher);
  absl::Status WatchClientCa(const core::Config& config, core::SecretFileWatcher* watcher);
  // Watches `path` for changes: `check` refuses a bad file (logged and counted once per content
  // under `kind`; the last good one stays in force), `apply` installs a good one.
  absl::Status WatchReloadable(const std::string& path, const char* kind,
                               std::function<absl::Status(const std::string&)> check,
                               std::function<void(const std::string&)> apply,
                               core::SecretFileWatcher* watcher);

  metrics::GatewayMetrics* metrics_ = nullptr;
  std::unique_ptr<authz::JwtVerifier> jwt_;
  std::unique_ptr<authz::ClientCertVerifier> client_certs_;
  std::unique_ptr<authz::PolicyAuthorizer> authorizer_;
  std::unique_ptr<authz::AuditLog> audit_;
};

// The audit record's `decision` word for a decision (or "unchecked" when no policy judged it).
absl::string_view AuditDecisionName(const authz::Decision& decision);

}  // namespace aarthik::rpc

#endif  // AARTHIK_SERVER_RPC_CALL_AUTHZ_H_
