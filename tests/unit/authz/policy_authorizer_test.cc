#include "server/authz/policy_authorizer.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "server/transcode/rpc_error.h"
#include "tests/support/test_jwt.h"

namespace aarthik::authz {
namespace {

using ::aarthik::testing::JwksOf;
using ::aarthik::testing::TestSigningKey;

constexpr int64_t kNow = 1'800'000'000;
const std::vector<std::string> kMethods = {"pkg.Svc/GetThing", "pkg.Svc/WriteThing"};

constexpr char kPolicy[] = R"(
rules:
  - name: writers
    principals: ["writer"]
    methods: ["pkg.Svc/*"]
  - name: readers
    principals: ["reader-*"]
    methods: ["*/Get*"]
)";

std::optional<google::rpc::ErrorInfo> InfoOf(const absl::Status& status) {
  std::optional<google::rpc::Status> details = transcode::RpcDetails(status);
  if (!details) return std::nullopt;
  for (const auto& any : details->details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info;
  }
  return std::nullopt;
}

class PolicyAuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = TestSigningKey::Ec("k");
    auto jwks = ParseJwks(JwksOf({key_.get()}));
    ASSERT_TRUE(jwks.ok());
    jwt_ = std::make_unique<JwtVerifier>(JwtVerifier::Options{.issuer = "iss", .audience = "gw"},
                                         *jwks, clock_);
  }

  std::unique_ptr<PolicyAuthorizer> Make(Mode mode, bool policy = true, bool xfcc = false) {
    PolicyAuthorizer::Options options;
    options.mode = mode;
    options.jwt = jwt_.get();
    options.trust_forwarded_cert = xfcc;
    auto authorizer = std::make_unique<PolicyAuthorizer>(options, kMethods, &metrics_);
    if (policy) {
      auto compiled = authorizer->Compile(kPolicy);
      EXPECT_TRUE(compiled.ok()) << compiled.status();
      authorizer->SetPolicy(*compiled);
    }
    return authorizer;
  }

  std::string Bearer(const std::string& sub, int64_t exp = kNow + 600) {
    bearer_ = "Bearer " + key_->Sign(absl::StrCat(R"({"iss":"iss","aud":"gw","sub":")", sub,
                                                  R"(","exp":)", exp, "}"));
    return bearer_;
  }
  CallCredentials WithToken(const std::string& sub, int64_t exp = kNow + 600) {
    Bearer(sub, exp);
    CallCredentials credentials;
    credentials.authorization = bearer_;
    return credentials;
  }

  core::ManualClock clock_{absl::FromUnixSeconds(kNow)};
  metrics::GatewayMetrics metrics_;
  std::unique_ptr<TestSigningKey> key_;
  std::unique_ptr<JwtVerifier> jwt_;
  std::string bearer_;
};

TEST_F(PolicyAuthorizerTest, EnforceAllowsGrantsAndRefusesTheRestWithErrorInfo) {
  auto authorizer = Make(Mode::kEnforce);
  const MethodId get = authorizer->Method("pkg.Svc/GetThing");
  const MethodId write = authorizer->Method("pkg.Svc/WriteThing");
  ASSERT_EQ(get, 0);
  ASSERT_EQ(write, 1);
  EXPECT_EQ(authorizer->Method("pkg.Svc/Nope"), kUnknownMethod);

  Decision allowed = authorizer->Check(WithToken("writer"), write);
  EXPECT_TRUE(allowed.refusal.ok());
  EXPECT_TRUE(allowed.checked);
  EXPECT_EQ(allowed.principal, "writer");
  EXPECT_EQ(allowed.source, IdentitySource::kJwt);
  EXPECT_TRUE(authorizer->Check(WithToken("reader-1"), get).refusal.ok());

  Decision denied = authorizer->Check(WithToken("reader-1"), write);
  EXPECT_EQ(denied.refusal.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.decision, metrics::AuthzDecision::kDeny);
  auto info = InfoOf(denied.refusal);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "CALLER_NOT_ALLOWED");
  EXPECT_EQ(info->domain(), "gateway.aarthik");
  EXPECT_EQ(info->metadata().at("method"), "pkg.Svc/WriteThing");
  EXPECT_EQ(info->metadata().at("principal"), "reader-1");

  Decision nobody = authorizer->Check(CallCredentials{}, get);
  EXPECT_EQ(nobody.refusal.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(InfoOf(nobody.refusal)->reason(), "CREDENTIAL_MISSING");
  Decision expired = authorizer->Check(WithToken("writer", kNow - 3600), get);
  EXPECT_EQ(InfoOf(expired.refusal)->reason(), "CREDENTIAL_EXPIRED");
  CallCredentials basic;
  basic.authorization = "Basic dXNlcjpwYXNz";
  EXPECT_EQ(InfoOf(authorizer->Check(basic, get).refusal)->reason(), "CREDENTIAL_MALFORMED");

  const std::string page = metrics_.Serialize();
  EXPECT_NE(
      page.find(R"(aarthik_authz_decisions_total{decision="deny",method="pkg.Svc/WriteThing"} 1)"),
      std::string::npos)
      << page;
  EXPECT_NE(
      page.find(R"(aarthik_authz_decisions_total{decision="allow",method="pkg.Svc/GetThing"} 1)"),
      std::string::npos);
}

TEST_F(PolicyAuthorizerTest, AuditOnlyRefusesNothingButSaysWhatItWouldHaveDone) {
  auto authorizer = Make(Mode::kAuditOnly);
  Decision would = authorizer->Check(WithToken("reader-1"), 1);
  EXPECT_TRUE(would.refusal.ok());
  EXPECT_EQ(would.decision, metrics::AuthzDecision::kAuditDeny);
  EXPECT_STREQ(would.reason, "CALLER_NOT_ALLOWED");
  Decision anonymous = authorizer->Check(CallCredentials{}, 0);
  EXPECT_TRUE(anonymous.refusal.ok());
  EXPECT_STREQ(anonymous.reason, "CREDENTIAL_MISSING");
  EXPECT_EQ(authorizer->Check(WithToken("writer"), 1).reason, nullptr);
}

TEST_F(PolicyAuthorizerTest, WithoutAPolicyOrInModeOffNothingIsJudgedButTheCallerIsNamed) {
  for (Mode mode : {Mode::kEnforce, Mode::kOff}) {
    auto authorizer = Make(mode, /*policy=*/mode == Mode::kOff);
    Decision decision = authorizer->Check(WithToken("reader-1"), 1);
    EXPECT_FALSE(decision.checked);
    EXPECT_TRUE(decision.refusal.ok());
    EXPECT_EQ(decision.principal, "reader-1");
    EXPECT_TRUE(authorizer->Check(CallCredentials{}, 1).refusal.ok());
  }
}

TEST_F(PolicyAuthorizerTest, ForwardedCertOnlyWhenTrusted) {
  CallCredentials forwarded;
  forwarded.forwarded_client_cert = "Hash=x;URI=writer";
  EXPECT_EQ(Make(Mode::kEnforce)->Check(forwarded, 1).refusal.code(),
            absl::StatusCode::kUnauthenticated);
  Decision trusted = Make(Mode::kEnforce, true, /*xfcc=*/true)->Check(forwarded, 1);
  EXPECT_TRUE(trusted.refusal.ok());
  EXPECT_EQ(trusted.source, IdentitySource::kForwardedCert);
}

TEST_F(PolicyAuthorizerTest, PolicySwapsWhileCallsAreChecked) {
  auto authorizer = Make(Mode::kEnforce);
  auto open = authorizer->Compile("rules:\n  - principals: ['*']\n    methods: ['*']\n");
  auto closed = authorizer->Compile("rules: []\n");
  ASSERT_TRUE(open.ok() && closed.ok());
  const CallCredentials credentials = WithToken("reader-1");
  std::atomic<bool> stop{false};
  std::atomic<int> checks{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        Decision decision = authorizer->Check(credentials, 1);
        EXPECT_TRUE(decision.refusal.ok() ||
                    decision.refusal.code() == absl::StatusCode::kPermissionDenied);
        checks.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 200; ++i) authorizer->SetPolicy(i % 2 ? *open : *closed);
  while (checks.load() < 300) std::this_thread::yield();
  stop = true;
  for (std::thread& thread : threads) thread.join();
  authorizer->SetPolicy(*closed);
  EXPECT_EQ(authorizer->Check(credentials, 1).refusal.code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace aarthik::authz
