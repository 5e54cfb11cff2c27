// Caller identity and authorization with real processes (issue 16): the policy matrix over JWTs
// and mTLS client certificates made at test time, audit-only mode, reloads of the policy and the
// JWKS without a restart, and the streams and reflection under the same policy (health outside it).
#include <fstream>
#include <sstream>

#include "aarthik/events/v1/events.grpc.pb.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc_reflection_v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/authz_env.h"
#include "tests/integration/health_wire.h"

namespace aarthik::testing {
namespace {

std::vector<nlohmann::json> AuditRecords(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(in, line);) {
    records.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  return records;
}

std::string Metrics(const GatewayEnv& env) {
  return HttpCall("GET", "http://" + env.http_address() + "/metrics");
}

// Repeats `attempt` until it returns true or 15 s pass; the gateway re-reads its files every
// --secret-reload-interval (100 ms here), so the wait is for that poll, not a fixed sleep.
template <typename Attempt>
bool Eventually(Attempt attempt) {
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline) {
    if (attempt()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

class AuthzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_ = AuthzMaterial::Create();
    ASSERT_NE(m_, nullptr);
  }

  void StartJwtGateway(std::vector<std::string> extra = {}) {
    GatewayEnvOptions options;
    options.gateway_args = m_->JwtGatewayArgs();
    options.gateway_args.insert(options.gateway_args.end(), extra.begin(), extra.end());
    options.gateway_log_path = log_path_ = TestLogPath();
    env_ = GatewayEnv::Start(options);
    ASSERT_NE(env_, nullptr);
  }

  std::string Log() {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::unique_ptr<AuthzMaterial> m_;
  std::unique_ptr<GatewayEnv> env_;
  std::string log_path_;
};

TEST_F(AuthzTest, JwtMatrix) {
  StartJwtGateway();
  auto channel = env_->channel();
  const TestSigningKey& rsa = *m_->rsa;
  const TestSigningKey& ec = *m_->ec;

  // Refused for want of a valid identity: UNAUTHENTICATED, the reason in ErrorInfo, and nothing
  // reaches the platform.
  struct Case {
    const char* name;
    std::string token;
    const char* reason;
  };
  std::unique_ptr<TestSigningKey> forger = TestSigningKey::Rsa(rsa.kid());  // same kid, other key
  const std::vector<Case> refused = {
      {"no credential", "", "CREDENTIAL_MISSING"},
      {"expired", m_->Token(ec, kWriterSub, -absl::Minutes(5)), "CREDENTIAL_EXPIRED"},
      {"not yet valid",
       m_->Token(ec, kWriterSub, absl::Minutes(20), /*valid_in=*/absl::Minutes(10)),
       "CREDENTIAL_NOT_YET_VALID"},
      {"wrong audience",
       m_->Token(ec, kWriterSub, absl::Minutes(10), absl::ZeroDuration(), "another-service"),
       "CREDENTIAL_WRONG_AUDIENCE"},
      {"wrong issuer",
       m_->Token(ec, kWriterSub, absl::Minutes(10), absl::ZeroDuration(), kAudience,
                 "https://issuer.evil"),
       "CREDENTIAL_WRONG_ISSUER"},
      {"forged signature", m_->Token(*forger, kWriterSub), "CREDENTIAL_BAD_SIGNATURE"},
  };
  for (const Case& c : refused) {
    grpc::Status status = WriteCall(channel, c.token);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << c.name;
    EXPECT_EQ(ReasonOf(status), c.reason) << c.name << ": " << status.error_message();
    // Never which key would have worked.
    EXPECT_FALSE(absl::StrContains(status.error_message(), rsa.kid())) << c.name;
    EXPECT_FALSE(absl::StrContains(status.error_message(), ec.kid())) << c.name;
  }
  EXPECT_EQ(env_->SandboxRequests(kSessionsRoute), 0);

  // Allowed: the loans service writes (ES256 token).
  grpc::Status write = WriteCall(channel, m_->Token(ec, kWriterSub));
  EXPECT_TRUE(write.ok()) << write.error_message();
  EXPECT_EQ(env_->SandboxRequests(kSessionsRoute), 1);

  // The payments reader (RS256 token, matched by the glob rule) may read...
  grpc::Status read = ReadCall(channel, m_->Token(rsa, kReaderSub));
  EXPECT_TRUE(read.ok()) << read.error_message();
  // ...but not write: PERMISSION_DENIED with who and what, and zero requests at the sandbox.
  grpc::Status denied = WriteCall(channel, m_->Token(rsa, kReaderSub));
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED) << denied.error_message();
  auto info = DetailOf<google::rpc::ErrorInfo>(denied);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "CALLER_NOT_ALLOWED");
  EXPECT_EQ(info->domain(), "gateway.aarthik");
  EXPECT_EQ(info->metadata().at("method"), "aarthik.headless.v1.SessionsService/CreateSession");
  EXPECT_EQ(info->metadata().at("principal"), kReaderSub);
  EXPECT_EQ(env_->SandboxRequests(kSessionsRoute), 1);

  // A principal no rule names is denied by default, reads included.
  grpc::Status stranger = ReadCall(channel, m_->Token(ec, "system:serviceaccount:crm:crm-api"));
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // Streams and reflection are methods under the policy like any other.
  auto events = events::v1::JourneyEventsService::NewStub(channel);
  {
    grpc::ClientContext context;
    PrepareContext(&context, "", absl::Seconds(5));
    AddBearer(&context, m_->Token(rsa, kReaderSub));
    auto reader = events->WatchJourneyEvents(&context, {});
    events::v1::WatchJourneyEventsResponse event;
    EXPECT_FALSE(reader->Read(&event));
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(ReasonOf(status), "CALLER_NOT_ALLOWED");
  }
  {
    auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
    grpc::ClientContext context;
    PrepareContext(&context, "", absl::Seconds(5));
    auto stream = reflection->ServerReflectionInfo(&context);
    grpc::reflection::v1alpha::ServerReflectionRequest request;
    request.set_list_services("");
    stream->Write(request);
    stream->WritesDone();
    grpc::reflection::v1alpha::ServerReflectionResponse response;
    EXPECT_FALSE(stream->Read(&response));
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  // Health always answers, without credentials.
  {
    grpc::ClientContext context;
    int serving = 0;
    grpc::Status health = CheckHealth(channel, "", &context, &serving);
    EXPECT_TRUE(health.ok()) << health.error_message();
    EXPECT_EQ(serving, kServing);
  }

  const std::string page = Metrics(*env_);
  EXPECT_TRUE(absl::StrContains(
      page,
      R"(aarthik_authz_decisions_total{decision="deny",method="aarthik.headless.v1.SessionsService/CreateSession"} 1)"))
      << page;
  EXPECT_TRUE(absl::StrContains(
      page,
      R"(aarthik_authz_decisions_total{decision="unauthenticated",method="aarthik.headless.v1.SessionsService/CreateSession"} 6)"));

  // The principal is on the RPC's log line.
  events.reset();
  channel.reset();
  ASSERT_EQ(env_->StopGateway(), 0);
  const std::string log = Log();
  EXPECT_TRUE(absl::StrContains(log, absl::StrCat("\"principal\":\"", kWriterSub, "\"")));

  // Audit: the allowed write, the refused writes and the refused stream calls.
  std::vector<nlohmann::json> records = AuditRecords(m_->audit_path);
  int allowed = 0, unauthenticated = 0, denied_records = 0;
  for (const nlohmann::json& record : records) {
    ASSERT_TRUE(record.is_object());
    EXPECT_EQ(record["log"], "audit");
    if (record["decision"] == "allow") ++allowed;
    if (record["decision"] == "unauthenticated") ++unauthenticated;
    if (record["decision"] == "deny") ++denied_records;
  }
  EXPECT_EQ(allowed, 1);          // the one write that went through (reads are not audited)
  EXPECT_EQ(unauthenticated, 7);  // six writes, one reflection stream
  EXPECT_EQ(denied_records, 3);   // the reader's write, the stranger's read, the event stream
}

TEST_F(AuthzTest, MtlsMatrix) {
  GatewayEnvOptions options;
  options.gateway_args = {"--tls-cert-file",     m_->certs->server.cert, "--tls-key-file",
                          m_->certs->server.key, "--tls-client-ca-file", m_->certs->ca.cert,
                          "--authz-policy-file", m_->policy_path};
  options.channel_credentials = ClientTls(&m_->certs->ca, &m_->loans);
  env_ = GatewayEnv::Start(options);
  ASSERT_NE(env_, nullptr);
  auto as = [&](const CertFiles* client) {
    return OwnChannel(env_->gateway_address(), ClientTls(&m_->certs->ca, client));
  };

  // The loans service (SPIFFE ID in its URI SAN) writes.
  grpc::Status loans = WriteCall(env_->channel());
  EXPECT_TRUE(loans.ok()) << loans.error_message();
  EXPECT_EQ(env_->SandboxRequests(kSessionsRoute), 1);

  // The payments reader: reads (glob on the SPIFFE ID), cannot write, nothing sent.
  EXPECT_TRUE(ReadCall(as(&m_->payments)).ok());
  grpc::Status payments = WriteCall(as(&m_->payments));
  EXPECT_EQ(payments.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  auto info = DetailOf<google::rpc::ErrorInfo>(payments);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata().at("principal"), kPaymentsSpiffe);
  EXPECT_EQ(env_->SandboxRequests(kSessionsRoute), 1);

  // Without a SPIFFE ID, the DNS SAN names the caller; without SANs, the subject CN.
  grpc::Status dns = ReadCall(as(&m_->dns_only));
  EXPECT_EQ(dns.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(DetailOf<google::rpc::ErrorInfo>(dns)->metadata().at("principal"), "ops.internal");
  grpc::Status cn = ReadCall(as(&m_->certs->client));
  EXPECT_EQ(cn.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(DetailOf<google::rpc::ErrorInfo>(cn)->metadata().at("principal"), "test-client");

  // A certificate from a foreign CA gets through the handshake (which proves the client holds its
  // key) and every call is UNAUTHENTICATED saying why, with nothing sent; so is a connection with
  // no certificate.
  grpc::Status foreign = WriteCall(as(&m_->certs->other_client));
  EXPECT_EQ(foreign.error_code(), grpc::StatusCode::UNAUTHENTICATED) << foreign.error_message();
  EXPECT_EQ(ReasonOf(foreign), "CLIENT_CERT_UNTRUSTED") << foreign.error_message();
  grpc::Status anonymous = WriteCall(as(nullptr));
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(anonymous), "CLIENT_CERT_MISSING") << anonymous.error_message();
  EXPECT_EQ(env_->SandboxRequests(kSessionsRoute), 1);
  EXPECT_TRUE(absl::StrContains(
      Metrics(*env_),
      R"(aarthik_authz_decisions_total{decision="unauthenticated",method="aarthik.headless.v1.SessionsService/CreateSession"} 2)"));
}

TEST_F(AuthzTest, AuditOnlyLetsTheCallThroughAndLogsTheWouldBeDenial) {
  StartJwtGateway({"--authz-mode", "audit-only"});
  grpc::Status write = WriteCall(env_->channel(), m_->Token(*m_->rsa, kReaderSub));
  EXPECT_TRUE(write.ok()) << write.error_message();
  EXPECT_EQ(env_->SandboxRequests(kSessionsRoute), 1);
  grpc::Status anonymous = ReadCall(env_->channel());
  EXPECT_TRUE(anonymous.ok()) << anonymous.error_message();
  EXPECT_TRUE(absl::StrContains(
      Metrics(*env_),
      R"(aarthik_authz_decisions_total{decision="audit_deny",method="aarthik.headless.v1.SessionsService/CreateSession"} 1)"));
  ASSERT_EQ(env_->StopGateway(), 0);
  const std::string log = Log();
  EXPECT_TRUE(absl::StrContains(log, "authorization would refuse this call (audit-only)"));
  std::vector<nlohmann::json> records = AuditRecords(m_->audit_path);
  ASSERT_EQ(records.size(), 2u);  // the write (once) and the anonymous read
  EXPECT_EQ(records[0]["decision"], "audit_deny");
  EXPECT_EQ(records[0]["reason"], "CALLER_NOT_ALLOWED");
  EXPECT_EQ(records[0]["code"], "OK");
  EXPECT_EQ(records[0]["principal"], kReaderSub);
  EXPECT_EQ(records[1]["reason"], "CREDENTIAL_MISSING");
}

TEST_F(AuthzTest, PolicyAndJwksReloadWithoutRestartAndABrokenPolicyKeepsTheOld) {
  StartJwtGateway({"--secret-reload-interval", "100ms"});
  auto channel = env_->channel();
  const std::string reader = m_->Token(*m_->rsa, kReaderSub);
  EXPECT_EQ(WriteCall(channel, reader).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // Grant the reader writes: the next poll applies it.
  ASSERT_TRUE(
      ReplaceFileAtomically(m_->policy_path, absl::StrCat(kPolicy, R"(  - name: payments-writes
    principals: ["system:serviceaccount:payments:reader"]
    methods: ["aarthik.headless.v1.SessionsService/CreateSession"]
)"))
          .ok());
  EXPECT_TRUE(Eventually([&] { return WriteCall(channel, reader).ok(); }));

  // A broken file is refused, counted, and the policy in force stays.
  ASSERT_TRUE(ReplaceFileAtomically(m_->policy_path, "rules:\n  - principals: [x\n").ok());
  EXPECT_TRUE(Eventually([&] {
    return absl::StrContains(Metrics(*env_),
                             R"(aarthik_authz_reloads_total{file="policy",result="rejected"} 1)");
  }));
  EXPECT_TRUE(absl::StrContains(Metrics(*env_), "aarthik_authz_policy_stale 1"));
  grpc::Status kept = WriteCall(channel, reader);
  EXPECT_TRUE(kept.ok()) << kept.error_message();

  // JWKS rotation: a new key is refused until the JWKS lists it; a withdrawn key is refused after.
  std::unique_ptr<TestSigningKey> next = TestSigningKey::Ec("kid-ec-next");
  const std::string with_next = m_->Token(*next, kWriterSub);
  EXPECT_EQ(ReasonOf(WriteCall(channel, with_next)), "CREDENTIAL_BAD_SIGNATURE");
  ASSERT_TRUE(ReplaceFileAtomically(m_->jwks_path, JwksOf({m_->rsa.get(), next.get()})).ok());
  EXPECT_TRUE(Eventually([&] { return WriteCall(channel, with_next).ok(); }));
  EXPECT_EQ(ReasonOf(WriteCall(channel, m_->Token(*m_->ec, kWriterSub))),
            "CREDENTIAL_BAD_SIGNATURE");
  EXPECT_TRUE(absl::StrContains(Metrics(*env_),
                                R"(aarthik_authz_reloads_total{file="jwks",result="ok"} 1)"));
}

TEST_F(AuthzTest, ForwardedClientCertNamesTheCallerOnlyWhenTheHopIsTrusted) {
  auto forwarded = [](const std::shared_ptr<grpc::Channel>& channel, const std::string& xfcc) {
    auto stub = headless::v1::SessionsService::NewStub(channel);
    grpc::ClientContext context;
    PrepareContext(&context, "", absl::Seconds(5));
    context.AddMetadata("x-forwarded-client-cert", xfcc);
    headless::v1::CreateSessionRequest request;
    request.mutable_session()->set_borrower_external_id("CUST_AUTHZ_0002");
    request.mutable_session()->set_journey_type(common::v1::JOURNEY_TYPE_PERSONAL_LOAN);
    headless::v1::CreateSessionResponse response;
    return stub->CreateSession(&context, request, &response);
  };
  const std::string loans = absl::StrCat("By=spiffe://cluster.local/ns/aarthik/sa/gateway;Hash=ab;",
                                         "Subject=\"CN=loans-api\";URI=", kLoansSpiffe);
  // Not trusted (the default): the header is ignored, the caller has no identity.
  StartJwtGateway();
  EXPECT_EQ(ReasonOf(forwarded(env_->channel(), loans)), "CREDENTIAL_MISSING");
  env_.reset();
  // Trusted: the nearest hop's element names the caller; an element forged before it does not.
  StartJwtGateway({"--trust-xfcc", "true"});
  grpc::Status allowed = forwarded(env_->channel(), loans);
  EXPECT_TRUE(allowed.ok()) << allowed.error_message();
  grpc::Status forged = forwarded(
      env_->channel(), absl::StrCat("URI=", kLoansSpiffe, ",Hash=cd;URI=", kPaymentsSpiffe));
  EXPECT_EQ(forged.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(DetailOf<google::rpc::ErrorInfo>(forged)->metadata().at("principal"), kPaymentsSpiffe);
}

TEST_F(AuthzTest, StartUpRefusesABrokenPolicy) {
  ASSERT_TRUE(ReplaceFileAtomically(m_->policy_path, "rules:\n  - name: x\n").ok());
  GatewayEnvOptions options;
  options.gateway_args = m_->JwtGatewayArgs();
  options.gateway_log_path = log_path_ = TestLogPath();
  EXPECT_EQ(GatewayEnv::Start(options), nullptr);
  EXPECT_TRUE(absl::StrContains(Log(), "--authz-policy-file")) << Log();
}

}  // namespace
}  // namespace aarthik::testing
