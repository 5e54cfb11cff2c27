#include "server/authz/jwt_verifier.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tests/support/test_jwt.h"

namespace aarthik::authz {
namespace {

using ::aarthik::testing::JwksOf;
using ::aarthik::testing::TestSigningKey;

constexpr int64_t kNow = 1'800'000'000;

std::string Claims(const std::string& sub, int64_t exp, const std::string& extra = "",
                   const std::string& aud = "\"aarthik-gateway\"",
                   const std::string& iss = "https://issuer.test") {
  return absl::StrCat(R"({"iss":")", iss, R"(","sub":")", sub, R"(","aud":)", aud, R"(,"exp":)",
                      exp, extra, "}");
}

class JwtVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rsa_ = TestSigningKey::Rsa("rsa-1");
    ec_ = TestSigningKey::Ec("ec-1");
    auto jwks = ParseJwks(JwksOf({rsa_.get(), ec_.get()}));
    ASSERT_TRUE(jwks.ok()) << jwks.status();
    verifier_ = std::make_unique<JwtVerifier>(
        JwtVerifier::Options{.issuer = "https://issuer.test", .audience = "aarthik-gateway"}, *jwks,
        clock_);
  }

  const char* Reason(const std::string& token) {
    JwtVerifier::Result result = verifier_->Verify(token);
    return result.ok ? "OK" : result.failure.reason;
  }

  core::ManualClock clock_{absl::FromUnixSeconds(kNow)};
  std::unique_ptr<TestSigningKey> rsa_, ec_;
  std::unique_ptr<JwtVerifier> verifier_;
};

TEST_F(JwtVerifierTest, AcceptsRs256AndEs256AndNamesTheSubject) {
  for (TestSigningKey* key : {rsa_.get(), ec_.get()}) {
    JwtVerifier::Result result = verifier_->Verify(key->Sign(Claims("svc-a", kNow + 600)));
    ASSERT_TRUE(result.ok) << result.failure.message;
    EXPECT_EQ(result.identity.principal, "svc-a");
  }
  // An audience list holding ours.
  EXPECT_STREQ(Reason(rsa_->Sign(Claims("svc-a", kNow + 600, "", R"(["x","aarthik-gateway"])"))),
               "OK");
}

TEST_F(JwtVerifierTest, SaysWhyATokenIsRefused) {
  EXPECT_STREQ(Reason(rsa_->Sign(Claims("a", kNow - 31))), kReasonExpired);
  EXPECT_STREQ(Reason(rsa_->Sign(Claims("a", kNow - 29))), "OK");  // within the 30 s leeway
  EXPECT_STREQ(Reason(rsa_->Sign(Claims("a", kNow + 600, absl::StrCat(",\"nbf\":", kNow + 60)))),
               kReasonNotYetValid);
  EXPECT_STREQ(Reason(rsa_->Sign(Claims("a", kNow + 600, "", "\"someone-else\""))),
               kReasonWrongAudience);
  EXPECT_STREQ(
      Reason(rsa_->Sign(Claims("a", kNow + 600, "", "\"aarthik-gateway\"", "https://evil"))),
      kReasonWrongIssuer);
  EXPECT_STREQ(Reason("not-a-jwt"), kReasonMalformed);
  EXPECT_STREQ(Reason("a.b"), kReasonMalformed);
  // No exp at all.
  EXPECT_STREQ(
      Reason(rsa_->Sign(R"({"iss":"https://issuer.test","sub":"a","aud":"aarthik-gateway"})")),
      kReasonMalformed);
}

TEST_F(JwtVerifierTest, ForgedAndTamperedTokensFailTheSignatureWithoutNamingAKey) {
  // Same kid, another key: a forger's token.
  std::unique_ptr<TestSigningKey> forger = TestSigningKey::Rsa("rsa-1");
  JwtVerifier::Result forged = verifier_->Verify(forger->Sign(Claims("admin", kNow + 600)));
  ASSERT_FALSE(forged.ok);
  EXPECT_STREQ(forged.failure.reason, kReasonBadSignature);
  EXPECT_EQ(forged.failure.message.find("rsa-1"), std::string::npos);
  // An unknown kid reads exactly the same.
  std::unique_ptr<TestSigningKey> stranger = TestSigningKey::Ec("who-knows");
  JwtVerifier::Result unknown = verifier_->Verify(stranger->Sign(Claims("admin", kNow + 600)));
  EXPECT_STREQ(unknown.failure.reason, kReasonBadSignature);
  EXPECT_EQ(unknown.failure.message, forged.failure.message);
  // A genuine token whose claims were swapped for another's.
  std::string genuine = rsa_->Sign(Claims("reader", kNow + 600));
  std::string other = rsa_->Sign(Claims("admin", kNow + 600));
  std::string spliced = genuine.substr(0, genuine.find('.')) +
                        other.substr(other.find('.'), other.rfind('.') - other.find('.')) +
                        genuine.substr(genuine.rfind('.'));
  EXPECT_STREQ(Reason(spliced), kReasonBadSignature);
}

TEST_F(JwtVerifierTest, RefusesNoneAndHmacAlgorithms) {
  // {"alg":"none"} and {"alg":"HS256"} headers with otherwise valid claims.
  const std::string claims = absl::WebSafeBase64Escape(Claims("admin", kNow + 600));
  EXPECT_STREQ(Reason(absl::WebSafeBase64Escape(R"({"alg":"none"})") + "." + claims + ".c2ln"),
               kReasonUnsupportedAlgorithm);
  EXPECT_STREQ(Reason(absl::WebSafeBase64Escape(R"({"alg":"HS256"})") + "." + claims + ".c2ln"),
               kReasonUnsupportedAlgorithm);
}

TEST_F(JwtVerifierTest, CachedTokensStillExpireAndAKeyRotationRechecksThem) {
  const std::string token = ec_->Sign(Claims("svc", kNow + 60));
  EXPECT_STREQ(Reason(token), "OK");
  EXPECT_STREQ(Reason(token), "OK");  // from the cache
  clock_.Advance(absl::Seconds(91));  // past exp + leeway
  EXPECT_STREQ(Reason(token), kReasonExpired);

  const std::string fresh = ec_->Sign(Claims("svc", kNow + 600));
  EXPECT_STREQ(Reason(fresh), "OK");
  auto rsa_only = ParseJwks(JwksOf({rsa_.get()}));
  ASSERT_TRUE(rsa_only.ok());
  verifier_->SetJwks(*rsa_only);  // the EC key is withdrawn
  EXPECT_STREQ(Reason(fresh), kReasonBadSignature);
}

TEST(ParseJwksTest, NeedsAUsableKey) {
  EXPECT_FALSE(ParseJwks("").ok());
  EXPECT_FALSE(ParseJwks("{}").ok());
  EXPECT_FALSE(ParseJwks(R"({"keys":[]})").ok());
  EXPECT_FALSE(ParseJwks(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})").ok());
  EXPECT_FALSE(ParseJwks(R"({"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]})").ok());  // too short
  auto key = TestSigningKey::Ec("k");
  EXPECT_TRUE(ParseJwks(JwksOf({key.get()})).ok());
}

}  // namespace
}  // namespace aarthik::authz
