#include "server/rpc/call_authz.h"

#include <openssl/rand.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/core/log.h"
#include "server/rpc/rpc_proxy.h"

namespace aarthik::rpc {
namespace {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::string_view AuditDecisionName(const authz::Decision& decision) {
  if (!decision.checked) return "unchecked";
  switch (decision.decision) {
    case metrics::AuthzDecision::kAllow:
      return "allow";
    case metrics::AuthzDecision::kDeny:
      return "deny";
    case metrics::AuthzDecision::kUnauthenticated:
      return "unauthenticated";
    case metrics::AuthzDecision::kAuditDeny:
      return "audit_deny";
  }
  return "unchecked";
}

absl::StatusOr<std::unique_ptr<CallAuthz>> CallAuthz::Start(const core::Config& config,
                                                            std::vector<std::string> methods,
                                                            metrics::GatewayMetrics* metrics,
                                                            core::SecretFileWatcher* watcher) {
  if (config.authz_policy_file.empty()) {
    core::Log(core::Severity::kWarning,
              "no --authz-policy-file: any caller that reaches the gRPC port may call every RPC "
              "(development only; docs/security.md)",
              {});
  }
  if (config.authz_policy_file.empty() && config.jwt_jwks_file.empty() && !config.trust_xfcc &&
      config.audit_log.empty() && config.tls_client_ca_file.empty()) {
    return nullptr;
  }
  std::unique_ptr<CallAuthz> authz(new CallAuthz());
  authz->metrics_ = metrics;
  if (!config.tls_client_ca_file.empty()) {
    absl::StatusOr<std::string> bundle = ReadWholeFile(config.tls_client_ca_file);
    if (!bundle.ok()) return bundle.status();
    absl::StatusOr<std::unique_ptr<authz::ClientCertVerifier>> verifier =
        authz::ClientCertVerifier::Create(*bundle, core::Clock::Real());
    if (!verifier.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--tls-client-ca-file ", config.tls_client_ca_file, ": ", verifier.status().message()));
    }
    authz->client_certs_ = *std::move(verifier);
  }
  if (!config.jwt_jwks_file.empty()) {
    absl::StatusOr<std::string> text = ReadWholeFile(config.jwt_jwks_file);
    if (!text.ok()) return text.status();
    absl::StatusOr<std::shared_ptr<const authz::Jwks>> jwks = authz::ParseJwks(*text);
    if (!jwks.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--jwt-jwks-file ", config.jwt_jwks_file, ": ", jwks.status().message()));
    }
    authz->jwt_ = std::make_unique<authz::JwtVerifier>(
        authz::JwtVerifier::Options{.issuer = config.jwt_issuer,
                                    .audience = config.jwt_audience,
                                    .principal_claim = config.jwt_principal_claim,
                                    .leeway = config.jwt_leeway},
        *std::move(jwks), core::Clock::Real());
  }
  absl::StatusOr<authz::Mode> mode = authz::ParseMode(config.authz_mode);
  if (!mode.ok()) return mode.status();
  authz::PolicyAuthorizer::Options options;
  options.mode = *mode;
  options.mtls = !config.tls_client_ca_file.empty();
  options.client_certs = authz->client_certs_.get();
  options.jwt = authz->jwt_.get();
  options.trust_forwarded_cert = config.trust_xfcc;
  authz->authorizer_ =
      std::make_unique<authz::PolicyAuthorizer>(options, std::move(methods), metrics);
  if (!config.authz_policy_file.empty()) {
    if (absl::Status s = authz->WatchPolicy(config, watcher); !s.ok()) return s;
  }
  if (authz->jwt_ != nullptr) {
    if (absl::Status s = authz->WatchJwks(config, watcher); !s.ok()) return s;
  }
  if (authz->client_certs_ != nullptr) {
    if (absl::Status s = authz->WatchClientCa(config, watcher); !s.ok()) return s;
  }
  if (!config.audit_log.empty()) {
    std::string key = config.audit_hash_key;
    if (key.empty()) {
      key.resize(32);
      RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size()));
      core::Log(core::Severity::kWarning,
                "no --audit-hash-key-file: the audit log's borrower hashes use a random key of "
                "this process and cannot be compared across replicas or restarts",
                {});
    }
    absl::StatusOr<std::unique_ptr<authz::AuditLog>> audit = authz::AuditLog::Open(
        {config.audit_log, std::move(key), static_cast<size_t>(config.audit_queue_size)}, metrics);
    if (!audit.ok()) return audit.status();
    authz->audit_ = *std::move(audit);
  }
  if (*mode == authz::Mode::kOff && !config.authz_policy_file.empty()) {
    core::Log(core::Severity::kWarning,
              "--authz-mode=off: the authorization policy is loaded but not applied; every caller "
              "may call every RPC (development only)",
              {});
  }
  core::Log(
      core::Severity::kInfo, "caller identity and authorization",
      {{"mode", authz::ModeName(*mode)},
       {"policy", config.authz_policy_file.empty() ? "none" : config.authz_policy_file},
       {"mtls_identity", options.mtls ? "yes: every call's client certificate is checked" : "no"},
       {"jwt_identity", authz->jwt_ != nullptr ? "yes" : "no"},
       {"xfcc_identity", options.trust_forwarded_cert ? "trusted" : "ignored"},
       {"audit_log", config.audit_log.empty() ? "none" : config.audit_log}});
  return authz;
}

absl::Status CallAuthz::WatchPolicy(const core::Config& config, core::SecretFileWatcher* watcher) {
  const std::string& path = config.authz_policy_file;
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  std::vector<std::string> warnings;
  absl::StatusOr<std::shared_ptr<const authz::Policy>> policy =
      authorizer_->Compile(*text, &warnings);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--authz-policy-file ", path, ": ", policy.status().message()));
  }
  for (const std::string& warning : warnings) {
    core::Log(core::Severity::kWarning, "authorization policy", {{"warning", warning}});
  }
  core::Log(core::Severity::kInfo, "authorization policy loaded",
            {{"path", path}, {"rules", absl::StrCat((*policy)->rule_count())}});
  authorizer_->SetPolicy(*std::move(policy));
  if (metrics_ != nullptr) metrics_->AuthzPolicyStale(false);

  authz::PolicyAuthorizer* authorizer = authorizer_.get();
  metrics::GatewayMetrics* metrics = metrics_;
  // The last refused content, so that a broken file is counted once, not at every poll.
  auto last_refused = std::make_shared<std::string>();
  core::SecretFileWatcher::WatchOptions watch;
  watch.name = "authz policy";
  watch.read = [authorizer, metrics,
                last_refused](const std::string& file) -> absl::StatusOr<std::string> {
    absl::StatusOr<std::string> text = ReadWholeFile(file);
    if (!text.ok()) return text.status();
    absl::StatusOr<std::shared_ptr<const authz::Policy>> compiled = authorizer->Compile(*text);
    if (!compiled.ok()) {
      if (*last_refused != *text) {
        *last_refused = *text;
        if (metrics != nullptr) metrics->AuthzReloaded("policy", "rejected");
        core::Log(core::Severity::kError,
                  "authorization policy file refused; the last good policy stays in force",
                  {{"path", file}, {"error", compiled.status().message()}});
      }
      if (metrics != nullptr) metrics->AuthzPolicyStale(true);
      return compiled.status();
    }
    last_refused->clear();
    if (metrics != nullptr) metrics->AuthzPolicyStale(false);
    return text;
  };
  watch.on_change = [authorizer, metrics, path](const std::string& text) {
    std::vector<std::string> warnings;
    absl::StatusOr<std::shared_ptr<const authz::Policy>> compiled =
        authorizer->Compile(text, &warnings);
    if (!compiled.ok()) return;  // the reader compiled the same text a moment ago
    for (const std::string& warning : warnings) {
      core::Log(core::Severity::kWarning, "authorization policy", {{"warning", warning}});
    }
    core::Log(core::Severity::kInfo, "authorization policy reloaded",
              {{"path", path}, {"rules", absl::StrCat((*compiled)->rule_count())}});
    authorizer->SetPolicy(*std::move(compiled));
    if (metrics != nullptr) metrics->AuthzReloaded("policy", "ok");
  };
  watcher->Watch(path, std::make_shared<core::Secret>(*std::move(text)), std::move(watch));
  return absl::OkStatus();
}

absl::Status CallAuthz::WatchJwks(const core::Config& config, core::SecretFileWatcher* watcher) {
  authz::JwtVerifier* jwt = jwt_.get();
  return WatchReloadable(
      config.jwt_jwks_file, "jwks",
      [](const std::string& text) { return authz::ParseJwks(text).status(); },
      [jwt](const std::string& text) {
        absl::StatusOr<std::shared_ptr<const authz::Jwks>> jwks = authz::ParseJwks(text);
        if (jwks.ok()) jwt->SetJwks(*std::move(jwks));
      },
      watcher);
}

absl::Status CallAuthz::WatchClientCa(const core::Config& config,
                                      core::SecretFileWatcher* watcher) {
  authz::ClientCertVerifier* verifier = client_certs_.get();
  return WatchReloadable(
      config.tls_client_ca_file, "client_ca",
      [](const std::string& text) {
        return authz::ClientCertVerifier::Create(text, core::Clock::Real()).status();
      },
      [verifier](const std::string& text) { (void)verifier->SetCaBundle(text); }, watcher);
}

absl::Status CallAuthz::WatchReloadable(const std::string& path, const char* kind,
                                        std::function<absl::Status(const std::string&)> check,
                                        std::function<void(const std::string&)> apply,
                                        core::SecretFileWatcher* watcher) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  metrics::GatewayMetrics* metrics = metrics_;
  // The last refused content, so that a broken file is counted once, not at every poll.
  auto last_refused = std::make_shared<std::string>();
  core::SecretFileWatcher::WatchOptions watch;
  watch.name = kind;
  watch.read = [metrics, last_refused, kind,
                check](const std::string& file) -> absl::StatusOr<std::string> {
    absl::StatusOr<std::string> text = ReadWholeFile(file);
    if (!text.ok()) return text.status();
    if (absl::Status valid = check(*text); !valid.ok()) {
      if (*last_refused != *text) {
        *last_refused = *text;
        if (metrics != nullptr) metrics->AuthzReloaded(kind, "rejected");
        core::Log(core::Severity::kError, "file refused; the last good one stays in force",
                  {{"kind", kind}, {"path", file}, {"error", valid.message()}});
      }
      return valid;
    }
    last_refused->clear();
    return text;
  };
  watch.on_change = [metrics, kind, apply](const std::string& text) {
    apply(text);
    if (metrics != nullptr) metrics->AuthzReloaded(kind, "ok");
  };
  watcher->Watch(path, std::make_shared<core::Secret>(*std::move(text)), std::move(watch));
  return absl::OkStatus();
}

absl::Status CallAuthz::AdmitStream(const grpc::ServerContextBase& context,
                                    absl::string_view method) const {
  const absl::Time started = absl::Now();
  const authz::MethodId id = authorizer_->Method(method);
  authz::Decision decision = authorizer_->Check(authorizer_->Credentials(context), id);
  if (decision.reason == nullptr) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  auto correlation = metadata.find(kCorrelationIdHeader);
  std::string correlation_id = correlation == metadata.end()
                                   ? ""
                                   : std::string(correlation->second.data(),
                                                 std::min<size_t>(correlation->second.size(), 128));
  core::Log(decision.refusal.ok() ? core::Severity::kWarning : core::Severity::kInfo,
            decision.refusal.ok() ? "authorization would refuse this call (audit-only)"
                                  : "authorization refused a call",
            {{"rpc", method},
             {"principal", decision.principal},
             {"source", authz::IdentitySourceName(decision.source)},
             {"reason", decision.reason},
             {"correlation_id", correlation_id}});
  if (audit_ != nullptr) {
    authz::AuditRecord record;
    record.time = started;
    record.principal = decision.principal;
    record.source = std::string(authz::IdentitySourceName(decision.source));
    record.method = std::string(method);
    record.decision = std::string(AuditDecisionName(decision));
    record.reason = decision.reason;
    record.correlation_id = std::move(correlation_id);
    record.code = static_cast<int>(decision.refusal.code());
    record.latency = absl::Now() - started;
    audit_->Write(std::move(record), /*reserved=*/false);
  }
  return decision.refusal;
}

}  // namespace aarthik::rpc
