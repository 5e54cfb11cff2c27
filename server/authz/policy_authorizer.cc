#include "server/authz/policy_authorizer.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/rpc/error_details.pb.h"
#include "server/transcode/rpc_error.h"

namespace aarthik::authz {
namespace {

using metrics::AuthzDecision;

absl::Status Unauthenticated(const char* reason, absl::string_view message) {
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  info.set_domain(transcode::kGatewayDomain);
  return transcode::RpcError(absl::StatusCode::kUnauthenticated,
                             absl::StrCat("the caller is not authenticated: ", message),
                             {transcode::PackDetail(info)});
}

absl::Status NotAllowed(const std::string& method, const std::string& principal) {
  google::rpc::ErrorInfo info;
  info.set_reason(kReasonCallerNotAllowed);
  info.set_domain(transcode::kGatewayDomain);
  (*info.mutable_metadata())["method"] = method;
  (*info.mutable_metadata())["principal"] = principal;
  return transcode::RpcError(absl::StatusCode::kPermissionDenied,
                             absl::StrCat("the gateway's authorization policy does not allow ",
                                          principal, " to call ", method),
                             {transcode::PackDetail(info)});
}

const std::string& Unknown() {
  static const auto* const name = new std::string("unknown");
  return *name;
}

}  // namespace

absl::StatusOr<Mode> ParseMode(absl::string_view name) {
  if (name == "enforce") return Mode::kEnforce;
  if (name == "audit-only") return Mode::kAuditOnly;
  if (name == "off") return Mode::kOff;
  return absl::InvalidArgumentError("must be enforce, audit-only or off");
}

absl::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kEnforce:
      return "enforce";
    case Mode::kAuditOnly:
      return "audit-only";
    case Mode::kOff:
      break;
  }
  return "off";
}

PolicyAuthorizer::PolicyAuthorizer(Options options, std::vector<std::string> methods,
                                   metrics::GatewayMetrics* metrics)
    : options_(options), methods_(std::move(methods)) {
  for (size_t i = 0; i < methods_.size(); ++i) ids_.emplace(methods_[i], static_cast<MethodId>(i));
  if (metrics != nullptr) {
    for (const std::string& method : methods_) counters_.push_back(metrics->Authz(method));
  }
}

absl::StatusOr<std::shared_ptr<const Policy>> PolicyAuthorizer::Compile(
    absl::string_view yaml, std::vector<std::string>* warnings) const {
  absl::StatusOr<Policy> policy = Policy::Compile(yaml, methods_, warnings);
  if (!policy.ok()) return policy.status();
  return std::make_shared<const Policy>(*std::move(policy));
}

void PolicyAuthorizer::SetPolicy(std::shared_ptr<const Policy> policy) {
  std::lock_guard<std::mutex> lock(mu_);
  policy_ = std::move(policy);
}

bool PolicyAuthorizer::has_policy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return policy_ != nullptr;
}

MethodId PolicyAuthorizer::Method(absl::string_view full_name) const {
  auto it = ids_.find(full_name);
  return it == ids_.end() ? kUnknownMethod : it->second;
}

const std::string& PolicyAuthorizer::MethodName(MethodId method) const {
  if (method < 0 || static_cast<size_t>(method) >= methods_.size()) return Unknown();
  return methods_[method];
}

CallCredentials PolicyAuthorizer::Credentials(const grpc::ServerContextBase& context) const {
  return CredentialsOf(context, options_.jwt != nullptr, options_.trust_forwarded_cert,
                       options_.mtls);
}

PolicyAuthorizer::Identity PolicyAuthorizer::Identify(const CallCredentials& credentials) const {
  Identity identity;
  if (options_.trust_forwarded_cert && !credentials.forwarded_client_cert.empty()) {
    identity.principal = ForwardedCertPrincipal(credentials.forwarded_client_cert);
    identity.source = IdentitySource::kForwardedCert;
    if (identity.principal.empty()) {
      identity.failure = kReasonForwardedCertUnusable;
      identity.message = "x-forwarded-client-cert names no URI, DNS or subject CN";
    }
    return identity;
  }
  if (options_.jwt != nullptr && !credentials.authorization.empty()) {
    identity.source = IdentitySource::kJwt;
    absl::string_view token = credentials.authorization;
    if (!absl::ConsumePrefix(&token, "Bearer ") && !absl::ConsumePrefix(&token, "bearer ")) {
      identity.failure = kReasonMalformed;
      identity.message = "the authorization metadata is not \"Bearer <token>\"";
      return identity;
    }
    JwtVerifier::Result result = options_.jwt->Verify(token);
    if (!result.ok) {
      identity.failure = result.failure.reason;
      identity.message = std::move(result.failure.message);
      return identity;
    }
    identity.principal = std::move(result.identity.principal);
    return identity;
  }
  if (options_.mtls && credentials.auth != nullptr) {
    identity.principal = PeerPrincipal(credentials.auth.get());
    if (!identity.principal.empty()) {
      identity.source = IdentitySource::kMtls;
      return identity;
    }
  }
  identity.failure = kReasonNoCredential;
  identity.message = "the call carries no credential this gateway accepts";
  return identity;
}

void PolicyAuthorizer::Count(MethodId method, AuthzDecision decision) const {
  if (method >= 0 && static_cast<size_t>(method) < counters_.size()) {
    counters_[method]->Decided(decision);
  }
}

Decision PolicyAuthorizer::Check(const CallCredentials& credentials, MethodId method) const {
  Decision decision;
  if (options_.client_certs != nullptr) {
    ClientCertVerifier::Result peer = options_.client_certs->Verify(credentials.auth.get());
    if (!peer.ok()) {
      decision.checked = true;
      decision.source = IdentitySource::kMtls;
      decision.reason = peer.reason;
      decision.decision = AuthzDecision::kUnauthenticated;
      decision.refusal = Unauthenticated(peer.reason, peer.message);
      Count(method, decision.decision);
      return decision;
    }
  }
  Identity identity = Identify(credentials);
  decision.source = identity.source;
  if (identity.failure == nullptr) decision.principal = std::move(identity.principal);
  std::shared_ptr<const Policy> policy;
  if (options_.mode != Mode::kOff) {
    std::lock_guard<std::mutex> lock(mu_);
    policy = policy_;
  }
  if (policy == nullptr) return decision;
  decision.checked = true;
  const bool enforce = options_.mode == Mode::kEnforce;
  if (identity.failure != nullptr) {
    decision.reason = identity.failure;
    decision.decision = enforce ? AuthzDecision::kUnauthenticated : AuthzDecision::kAuditDeny;
    if (enforce) decision.refusal = Unauthenticated(identity.failure, identity.message);
  } else if (policy->Allows(decision.principal, method) == nullptr) {
    decision.reason = kReasonCallerNotAllowed;
    decision.decision = enforce ? AuthzDecision::kDeny : AuthzDecision::kAuditDeny;
    if (enforce) decision.refusal = NotAllowed(MethodName(method), decision.principal);
  }
  Count(method, decision.decision);
  return decision;
}

}  // namespace aarthik::authz
