// Token rules (rotation, reuse revocation, expiry, environments) and idempotency records.
#include "gtest/gtest.h"
#include "sandbox/idempotency_store.h"
#include "sandbox/token_store.h"

namespace aarthik::sandbox {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1770000000);

class TokenStoreTest : public ::testing::Test {
 protected:
  IdGenerator ids_{7};
  TokenStore tokens_{"test", absl::Minutes(30), absl::Hours(24 * 7), &ids_};
};

TEST_F(TokenStoreTest, MintsEnvironmentPrefixedTokensWithTtls) {
  SessionGrant grant = tokens_.Mint("b1", kT0);
  EXPECT_EQ(grant.session_token.rfind("st_test_", 0), 0u);
  EXPECT_EQ(grant.refresh_token.rfind("rt_test_", 0), 0u);
  EXPECT_EQ(grant.session_expires_at, kT0 + absl::Minutes(30));
  EXPECT_EQ(grant.refresh_expires_at, kT0 + absl::Hours(24 * 7));
  TokenCheck check = tokens_.Authenticate(grant.session_token, kT0);
  ASSERT_FALSE(check.error);
  EXPECT_EQ(*check.borrower_id, "b1");
}

TEST_F(TokenStoreTest, SessionTokenExpires) {
  SessionGrant grant = tokens_.Mint("b1", kT0);
  EXPECT_FALSE(tokens_.Authenticate(grant.session_token, kT0 + absl::Minutes(29)).error);
  TokenCheck expired = tokens_.Authenticate(grant.session_token, kT0 + absl::Minutes(30));
  ASSERT_TRUE(expired.error);
  EXPECT_EQ(expired.error->code, "AUTH_INVALID_SESSION");
  EXPECT_EQ(expired.error->http_status, 401);
  // The refresh token still works after the session token expired.
  EXPECT_FALSE(tokens_.Refresh(grant.refresh_token, kT0 + absl::Hours(1)).error);
}

TEST_F(TokenStoreTest, RefreshRotatesBothAndReuseRevokesTheFamily) {
  SessionGrant first = tokens_.Mint("b1", kT0);
  TokenRefresh second = tokens_.Refresh(first.refresh_token, kT0 + absl::Minutes(1));
  ASSERT_FALSE(second.error);
  EXPECT_NE(second.grant.session_token, first.session_token);
  EXPECT_NE(second.grant.refresh_token, first.refresh_token);
  EXPECT_FALSE(tokens_.Authenticate(second.grant.session_token, kT0 + absl::Minutes(1)).error);
  // The old session token was rotated away too.
  TokenCheck old_session = tokens_.Authenticate(first.session_token, kT0 + absl::Minutes(2));
  ASSERT_TRUE(old_session.error);
  EXPECT_EQ(old_session.error->code, "AUTH_INVALID_SESSION");
  // ...but a late request with it does not take the new tokens down.
  EXPECT_FALSE(tokens_.Authenticate(second.grant.session_token, kT0 + absl::Minutes(2)).error);
  // Presenting the rotated refresh token does: the whole family is revoked, new tokens included.
  EXPECT_TRUE(tokens_.Refresh(first.refresh_token, kT0 + absl::Minutes(2)).error);
  EXPECT_TRUE(tokens_.Authenticate(second.grant.session_token, kT0 + absl::Minutes(2)).error);
  EXPECT_TRUE(tokens_.Refresh(second.grant.refresh_token, kT0 + absl::Minutes(2)).error);
}

TEST_F(TokenStoreTest, RefreshWithSessionTokenAndOtherFamiliesUnaffected) {
  SessionGrant a = tokens_.Mint("a", kT0);
  SessionGrant b = tokens_.Mint("b", kT0);
  TokenRefresh a2 = tokens_.Refresh(a.session_token, kT0);
  ASSERT_FALSE(a2.error);
  EXPECT_TRUE(tokens_.Refresh(a.refresh_token, kT0).error);  // reuse → family a revoked
  EXPECT_FALSE(tokens_.Authenticate(b.session_token, kT0).error);
}

TEST_F(TokenStoreTest, WrongEnvironmentAndWrongKindAreRefused) {
  EXPECT_EQ(tokens_.Authenticate("st_live_abc123_def456", kT0).error->code, "AUTH_INVALID_SESSION");
  EXPECT_EQ(tokens_.Authenticate("sk_test_sandbox", kT0).error->code, "AUTH_INVALID_SESSION");
  SessionGrant grant = tokens_.Mint("b1", kT0);
  EXPECT_TRUE(tokens_.Authenticate(grant.refresh_token, kT0).error);  // rt_ is not a bearer
}

TEST(IdempotencyStoreTest, ReplaysSameBodyAndRefusesDifferentBody) {
  IdempotencyStore store;
  const std::string key = IdempotencyStore::RecordKey("b1", "POST", "/x", "k1");
  StoredResponse replay;
  EXPECT_EQ(store.Find(key, IdempotencyStore::Fingerprint(R"({"a":1})"), kT0, &replay),
            IdempotencyStore::Lookup::kMiss);
  store.Save(key, IdempotencyStore::Fingerprint(R"({"a":1,"b":2})"), {202, "first", {}}, kT0);
  // Same JSON with different whitespace/key order is the same request.
  EXPECT_EQ(store.Find(key, IdempotencyStore::Fingerprint(R"({ "b":2, "a":1 })"), kT0, &replay),
            IdempotencyStore::Lookup::kReplay);
  EXPECT_EQ(replay.status, 202);
  EXPECT_EQ(replay.body, "first");
  EXPECT_EQ(store.Find(key, IdempotencyStore::Fingerprint(R"({"a":2,"b":2})"), kT0, &replay),
            IdempotencyStore::Lookup::kMismatch);
  // Other scopes and keys are independent; records expire after 24 h.
  EXPECT_EQ(store.Find(IdempotencyStore::RecordKey("b2", "POST", "/x", "k1"),
                       IdempotencyStore::Fingerprint(R"({"a":2})"), kT0, &replay),
            IdempotencyStore::Lookup::kMiss);
  EXPECT_EQ(store.Find(key, IdempotencyStore::Fingerprint(R"({"a":1,"b":2})"),
                       kT0 + absl::Hours(25), &replay),
            IdempotencyStore::Lookup::kMiss);
}

}  // namespace
}  // namespace aarthik::sandbox
