// Web-hook signature known-answer test. The expected digest was computed independently with:
//   printf '%s' '1741179022.{"event_id":"evt_01JB2X4CE6"}' | openssl dgst -sha256 -hmac
//   'whsec_test_sandbox'
#include "sandbox/signing.h"

#include "gtest/gtest.h"

namespace aarthik::sandbox {
namespace {

TEST(SigningTest, MatchesOpensslKnownAnswer) {
  EXPECT_EQ(SignWebhook("whsec_test_sandbox", "1741179022", R"({"event_id":"evt_01JB2X4CE6"})"),
            "80bc54a3cd069f3c2030381c2241b178f9781a287d2710a9f34f81a849f1f1fe");
}

TEST(SigningTest, IsLowercaseHexOfSha256Length) {
  std::string signature = HmacSha256Hex("k", "m");
  ASSERT_EQ(signature.size(), 64u);
  for (char c : signature) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << c;
}

TEST(SigningTest, DependsOnEveryInput) {
  const std::string base = SignWebhook("s", "1", "{}");
  EXPECT_NE(base, SignWebhook("t", "1", "{}"));
  EXPECT_NE(base, SignWebhook("s", "2", "{}"));
  EXPECT_NE(base, SignWebhook("s", "1", "{ }"));
}

}  // namespace
}  // namespace aarthik::sandbox
