// Identity material for the authorization tests, made at test time: a CA (TestCerts) and client
// certificates for two services with different SPIFFE IDs, one with a DNS SAN only, plus a
// foreign CA's client (TestCerts::other_client); JWT signing keys (RS256 and ES256) served through
// a JWKS file; the policy file; and the calls the tests make through the gateway.
//
//   std::unique_ptr<AuthzMaterial> m = AuthzMaterial::Create();
//   auto env = GatewayEnv::Start({.gateway_args = m->JwtGatewayArgs()});
//   grpc::Status s = WriteCall(env->channel(), m->Token(*m->ec, kWriterSub));
//
// Thread-safety: test-thread only.
#ifndef AARTHIK_TESTS_INTEGRATION_AUTHZ_ENV_H_
#define AARTHIK_TESTS_INTEGRATION_AUTHZ_ENV_H_

#include <memory>
#include <string>
#include <vector>

#include "aarthik/headless/v1/sessions.grpc.pb.h"
#include "aarthik/webhooks/v1/subscription.grpc.pb.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"
#include "tests/support/test_certs.h"
#include "tests/support/test_jwt.h"

namespace aarthik::testing {

inline constexpr char kIssuer[] = "https://kubernetes.default.svc.cluster.local";
inline constexpr char kAudience[] = "aarthik-gateway";
// Kubernetes service-account token subjects.
inline constexpr char kWriterSub[] = "system:serviceaccount:loans:loans-api";
inline constexpr char kReaderSub[] = "system:serviceaccount:payments:reader";
inline constexpr char kLoansSpiffe[] = "spiffe://cluster.local/ns/loans/sa/loans-api";
inline constexpr char kPaymentsSpiffe[] = "spiffe://cluster.local/ns/payments/sa/reader";
// Where the sandbox counts CreateSession, the write these tests make.
inline constexpr char kSessionsRoute[] = "POST /api/v1/headless/sessions";

// Loans may call every headless and web-hook RPC and the event streams; payments (any of its
// service accounts) may only read. Nothing else is granted.
inline constexpr char kPolicy[] = R"(# test policy
rules:
  - name: loans-service
    principals:
      - spiffe://cluster.local/ns/loans/sa/loans-api
      - system:serviceaccount:loans:loans-api
    methods:
      - aarthik.headless.v1.*
      - aarthik.webhooks.v1.WebhookSubscriptionService/*
      - aarthik.events.v1.JourneyEventsService/*
  - name: payments-readers
    principals: ["spiffe://cluster.local/ns/payments/*", "system:serviceaccount:payments:*"]
    methods: ["*/Get*"]
)";

struct AuthzMaterial {
  std::unique_ptr<TestCerts> certs;
  CertFiles loans, payments, dns_only;
  std::unique_ptr<TestSigningKey> rsa, ec;
  std::string policy_path, jwks_path, audit_path;

  static std::unique_ptr<AuthzMaterial> Create() {
    auto m = std::make_unique<AuthzMaterial>();
    absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Generate();
    EXPECT_TRUE(certs.ok()) << certs.status();
    if (!certs.ok()) return nullptr;
    m->certs = *std::move(certs);
    const std::string& dir = m->certs->dir;
    auto loans = IssueClientCert(dir, "loans", m->certs->ca, "loans-api",
                                 absl::StrCat("URI:", kLoansSpiffe));
    auto payments = IssueClientCert(dir, "payments", m->certs->ca, "reader",
                                    absl::StrCat("URI:", kPaymentsSpiffe));
    auto dns_only = IssueClientCert(dir, "dns-only", m->certs->ca, "ops-cn", "DNS:ops.internal");
    EXPECT_TRUE(loans.ok() && payments.ok() && dns_only.ok());
    if (!loans.ok() || !payments.ok() || !dns_only.ok()) return nullptr;
    m->loans = *loans;
    m->payments = *payments;
    m->dns_only = *dns_only;
    m->rsa = TestSigningKey::Rsa("kid-rsa-alpha");
    m->ec = TestSigningKey::Ec("kid-ec-beta");
    m->policy_path = dir + "/policy.yaml";
    m->jwks_path = dir + "/jwks.json";
    m->audit_path = dir + "/audit.log";
    EXPECT_TRUE(ReplaceFileAtomically(m->policy_path, kPolicy).ok());
    EXPECT_TRUE(ReplaceFileAtomically(m->jwks_path, JwksOf({m->rsa.get(), m->ec.get()})).ok());
    return m;
  }

  // A token for `sub`; exp/nbf relative to now.
  std::string Token(const TestSigningKey& key, const std::string& sub,
                    absl::Duration expires_in = absl::Minutes(10),
                    absl::Duration valid_in = absl::ZeroDuration(),
                    const std::string& audience = kAudience,
                    const std::string& issuer = kIssuer) const {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    return key.Sign(absl::StrCat(R"({"iss":")", issuer, R"(","aud":[")", audience, R"("],"sub":")",
                                 sub, R"(","iat":)", now, R"(,"nbf":)",
                                 now + absl::ToInt64Seconds(valid_in), R"(,"exp":)",
                                 now + absl::ToInt64Seconds(expires_in), "}"));
  }

  // Gateway flags: the policy, JWT identity and the audit log (plaintext gRPC).
  std::vector<std::string> JwtGatewayArgs() const {
    return {"--authz-policy-file", policy_path, "--jwt-jwks-file", jwks_path,
            "--jwt-issuer",        kIssuer,     "--jwt-audience",  kAudience,
            "--audit-log",         audit_path,  "--log-level",     "debug"};
  }
};

// TLS channel credentials trusting the test CA, presenting `client` when given.
inline std::shared_ptr<grpc::ChannelCredentials> ClientTls(const CertFiles* ca,
                                                           const CertFiles* client) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadTextFile(ca->cert);
  if (client != nullptr) {
    options.pem_cert_chain = ReadTextFile(client->cert);
    options.pem_private_key = ReadTextFile(client->key);
  }
  return grpc::SslCredentials(options);
}

// A channel of its own (its own connection and handshake).
inline std::shared_ptr<grpc::Channel> OwnChannel(const std::string& address,
                                                 std::shared_ptr<grpc::ChannelCredentials> creds) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel(address, std::move(creds), args);
}

inline void AddBearer(grpc::ClientContext* context, const std::string& token) {
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
}

// A read through the gateway: GetWebhookConfiguration (API key, no borrower).
inline grpc::Status ReadCall(const std::shared_ptr<grpc::Channel>& channel,
                             const std::string& token = "") {
  auto stub = webhooks::v1::WebhookSubscriptionService::NewStub(channel);
  grpc::ClientContext context;
  PrepareContext(&context, "", absl::Seconds(5));
  AddBearer(&context, token);
  webhooks::v1::GetWebhookConfigurationResponse response;
  return stub->GetWebhookConfiguration(&context, {}, &response);
}

// A write through the gateway: CreateSession for `borrower`.
inline grpc::Status WriteCall(const std::shared_ptr<grpc::Channel>& channel,
                              const std::string& token = "",
                              const std::string& borrower = "CUST_AUTHZ_0001") {
  auto stub = headless::v1::SessionsService::NewStub(channel);
  grpc::ClientContext context;
  PrepareContext(&context, "", absl::Seconds(5));
  AddBearer(&context, token);
  headless::v1::CreateSessionRequest request;
  request.mutable_session()->set_borrower_external_id(borrower);
  request.mutable_session()->set_journey_type(common::v1::JOURNEY_TYPE_PERSONAL_LOAN);
  headless::v1::CreateSessionResponse response;
  return stub->CreateSession(&context, request, &response);
}

// The ErrorInfo reason of a failed call ("" when none).
inline std::string ReasonOf(const grpc::Status& status) {
  auto info = DetailOf<google::rpc::ErrorInfo>(status);
  return info ? info->reason() : "";
}

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_INTEGRATION_AUTHZ_ENV_H_
