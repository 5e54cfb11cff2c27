// Known-answer vectors below were computed independently with
//   printf '%s' '<timestamp>.<body>' | openssl dgst -sha256 -hmac '<secret>'
#include "server/events/webhook_verifier.h"

#include <cstdio>
#include <fstream>

#include "gtest/gtest.h"

namespace aarthik::events {
namespace {

constexpr char kTenant[] = "8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61";
constexpr char kApp[] = "fbb1fd74-c502-4419-83f3-82a2a019fc9a";

TEST(HmacSha256Hex, KnownAnswers) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");  // RFC 4231 case 2
  EXPECT_EQ(HmacSha256Hex("secret", "1700000000."),
            "4bc5f74d868b97888288889c5d9d65df02526f94c1592a79fdf4fe8b26e311e5");
  EXPECT_EQ(HmacSha256Hex("whsec_test_sandbox", R"(1741179022.{"event_id":"evt_1"})"),
            "ff2bd3a1068bbf5f8e5f6a9da3e7dd36b9c6b484cfdfb1bf1bc6dcb3d4c33bab");
  EXPECT_EQ(HmacSha256Hex("whsec_test_sandbox", R"(1741179022.{"a":1})"),
            "f841b8893a1069de5f8442ef90d50c44594edca290fe83f81e3686b73866f2ea");
  EXPECT_EQ(HmacSha256Hex("whsec_next", R"(1741179022.{"a":1})"),
            "b5b8dcc6c05b5113575de95c64e2f881f955a144b296db973607814626ac3404");
}

TEST(ConstantTimeEquals, ComparesBytes) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest() : clock_(absl::FromUnixSeconds(1741179022)) {}
  WebhookVerifier Make(std::vector<std::string> secrets) {
    return WebhookVerifier({std::move(secrets), kTenant, kApp, absl::Minutes(5)}, clock_);
  }
  WebhookHeaders Headers(std::string timestamp, std::string signature) {
    return {"evt_1", kTenant, kApp, std::move(timestamp), std::move(signature)};
  }
  core::ManualClock clock_;
};

TEST_F(VerifierTest, AcceptsKnownSignature) {
  WebhookVerifier verifier = Make({"whsec_test_sandbox"});
  auto ok = verifier.Verify(
      Headers("1741179022", "f841b8893a1069de5f8442ef90d50c44594edca290fe83f81e3686b73866f2ea"),
      R"({"a":1})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->event_id, "evt_1");
  EXPECT_EQ(ok->secret_index, 0);
}

TEST_F(VerifierTest, RotationAcceptsEitherSecret) {
  WebhookVerifier verifier = Make({"whsec_test_sandbox", "whsec_next"});
  auto next = verifier.Verify(
      Headers("1741179022", "b5b8dcc6c05b5113575de95c64e2f881f955a144b296db973607814626ac3404"),
      R"({"a":1})");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->secret_index, 1);
  WebhookVerifier old_only = Make({"whsec_test_sandbox"});
  EXPECT_EQ(old_only
                .Verify(Headers("1741179022",
                                "b5b8dcc6c05b5113575de95c64e2f881f955a144b296db973607814626ac3404"),
                        R"({"a":1})")
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(VerifierTest, RejectsTamperingPrefixesAndCase) {
  WebhookVerifier verifier = Make({"whsec_test_sandbox"});
  const std::string good = "f841b8893a1069de5f8442ef90d50c44594edca290fe83f81e3686b73866f2ea";
  EXPECT_EQ(verifier.Verify(Headers("1741179022", good), R"({"a":2})").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(verifier.Verify(Headers("1741179022", "sha256=" + good), R"({"a":1})").status().code(),
            absl::StatusCode::kUnauthenticated);
  std::string upper = good;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_EQ(verifier.Verify(Headers("1741179022", upper), R"({"a":1})").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(verifier.Verify(Headers("1741179023", good), R"({"a":1})").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(VerifierTest, TimestampTolerance) {
  WebhookVerifier verifier = Make({"whsec_test_sandbox"});
  const std::string body = R"({"a":1})";
  const std::string ts = "1741179022";
  const std::string sig = HmacSha256Hex("whsec_test_sandbox", ts + "." + body);
  clock_.Advance(absl::Seconds(300));
  EXPECT_TRUE(verifier.Verify(Headers(ts, sig), body).ok());
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(verifier.Verify(Headers(ts, sig), body).status().code(),
            absl::StatusCode::kUnauthenticated);
  clock_.Set(absl::FromUnixSeconds(1741179022 - 301));  // from the future
  EXPECT_EQ(verifier.Verify(Headers(ts, sig), body).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(VerifierTest, MalformedHeadersAndScope) {
  WebhookVerifier verifier = Make({"whsec_test_sandbox"});
  const std::string body = "{}";
  const std::string sig = HmacSha256Hex("whsec_test_sandbox", "1741179022." + body);
  EXPECT_EQ(verifier.Verify(Headers("", sig), body).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(verifier.Verify(Headers("17411x9022", sig), body).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(verifier.Verify(Headers("-1741179022", sig), body).status().code(),
            absl::StatusCode::kInvalidArgument);
  WebhookHeaders no_id = Headers("1741179022", sig);
  no_id.event_id.clear();
  EXPECT_EQ(verifier.Verify(no_id, body).status().code(), absl::StatusCode::kInvalidArgument);
  WebhookHeaders other_tenant = Headers("1741179022", sig);
  other_tenant.tenant_id = "00000000-0000-4000-8000-000000000000";
  EXPECT_EQ(verifier.Verify(other_tenant, body).status().code(),
            absl::StatusCode::kPermissionDenied);
  WebhookHeaders other_app = Headers("1741179022", sig);
  other_app.application_id = "00000000-0000-4000-8000-000000000000";
  EXPECT_EQ(verifier.Verify(other_app, body).status().code(), absl::StatusCode::kPermissionDenied);
}

// What the HTTP route refuses before it reads the body: no secret, no body needed.
TEST_F(VerifierTest, CheckHeadersRefusesFromTheHeadersAlone) {
  WebhookVerifier verifier = Make({"whsec_test_sandbox"});
  const std::string sig = HmacSha256Hex("whsec_test_sandbox", "1741179022.{}");
  EXPECT_TRUE(verifier.CheckHeaders(Headers("1741179022", sig)).ok());
  // A well-formed but wrong signature passes: only the HMAC over the body can tell.
  EXPECT_TRUE(verifier.CheckHeaders(Headers("1741179022", std::string(64, 'a'))).ok());
  EXPECT_EQ(verifier.CheckHeaders(Headers("1741179022", "")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(verifier.CheckHeaders(Headers("", sig)).code(), absl::StatusCode::kInvalidArgument);
  WebhookHeaders no_tenant = Headers("1741179022", sig);
  no_tenant.tenant_id.clear();
  EXPECT_EQ(verifier.CheckHeaders(no_tenant).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(verifier.CheckHeaders(Headers("1741179022", "sha256=" + sig)).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(verifier.CheckHeaders(Headers("1741179022", sig.substr(1))).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(verifier.CheckHeaders(Headers("1741178721", sig)).code(),  // 301 s old
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(verifier.CheckHeaders(Headers("1741179323", sig)).code(),  // 301 s ahead
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(verifier.CheckHeaders(Headers("1741178722", sig)).ok());  // 300 s old
}

TEST_F(VerifierTest, RotatedSecretIsUsedAndTheOldOneOnlyDuringTheOverlap) {
  const std::string body = R"({"a":1})";
  const std::string ts = "1741179022";
  const std::string old_sig = "f841b8893a1069de5f8442ef90d50c44594edca290fe83f81e3686b73866f2ea";
  const std::string next_sig = "b5b8dcc6c05b5113575de95c64e2f881f955a144b296db973607814626ac3404";
  auto secret = std::make_shared<core::Secret>("whsec_test_sandbox");
  WebhookVerifier verifier({{}, kTenant, kApp, absl::Minutes(5), {secret}}, clock_);
  EXPECT_TRUE(verifier.Verify(Headers(ts, old_sig), body).ok());
  EXPECT_EQ(verifier.Verify(Headers(ts, next_sig), body).status().code(),
            absl::StatusCode::kUnauthenticated);

  // What SecretFileWatcher does when the file changes: the old value stays valid for one minute.
  secret->Set("whsec_next", clock_.Now() + absl::Minutes(1));
  auto next = verifier.Verify(Headers(ts, next_sig), body);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->previous_value);
  auto old = verifier.Verify(Headers(ts, old_sig), body);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_TRUE(old->previous_value);

  clock_.Advance(
      absl::Minutes(1));  // overlap over (the timestamp is still within the 5 min tolerance)
  EXPECT_EQ(verifier.Verify(Headers(ts, old_sig), body).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(verifier.Verify(Headers(ts, next_sig), body).ok());
}

TEST(LoadSecretFiles, StripsOneTrailingNewline) {
  char path[] = "/tmp/whsec-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "whsec_test_sandbox\n";
  auto secrets = LoadSecretFiles({path});
  ASSERT_TRUE(secrets.ok());
  EXPECT_EQ((*secrets)[0], "whsec_test_sandbox");
  std::ofstream(path) << "";
  EXPECT_FALSE(LoadSecretFiles({path}).ok());
  std::remove(path);
  EXPECT_FALSE(LoadSecretFiles({"/nonexistent/whsec"}).ok());
}

}  // namespace
}  // namespace aarthik::events
