// RedisTokenStore and TieredTokenStore against a real redis-server: tokens round-trip and expire
// with the refresh token, a value that does not parse reads as absent, the refresh lock excludes
// other owners and expires, and the in-process tier serves repeats until told to forget.
#include "server/auth/redis_token_store.h"

#include <optional>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/upstream/event_loop.h"
#include "tests/support/redis_server.h"
#include "tests/support/sync.h"

namespace aarthik::auth {
namespace {

using ::aarthik::testing::RedisServer;

using Loaded = absl::StatusOr<std::optional<BorrowerTokens>>;

BorrowerTokens Tokens(const std::string& suffix, absl::Duration refresh_lifetime = absl::Hours(1)) {
  absl::Time now = absl::FromUnixMillis(absl::ToUnixMillis(absl::Now()));  // what the store keeps
  return {"st_test_" + suffix, "rt_test_" + suffix, now + absl::Minutes(30), now + refresh_lifetime,
          now};
}

class RedisTokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    redis_ = std::make_unique<redis::RedisClient>(
        &loop_, redis::RedisClient::Options{.host = "127.0.0.1", .port = server_->port()});
    redis_->Start();
    store_ = std::make_unique<RedisTokenStore>(redis_.get(), "test:");
    loop_.Start();
  }
  void TearDown() override { loop_.Stop(); }

  Loaded Load(TokenStore& store, const std::string& borrower) {
    testing::Delivery<Loaded> loaded;
    store.Load(borrower, loaded.Callback());
    return loaded.Wait();
  }
  absl::Status Save(TokenStore& store, const std::string& borrower, const BorrowerTokens& tokens) {
    testing::Delivery<absl::Status> saved;
    store.Save(borrower, tokens, saved.Callback());
    return saved.Wait();
  }
  absl::StatusOr<bool> Lock(const std::string& borrower, const std::string& owner,
                            absl::Duration ttl = absl::Seconds(10)) {
    testing::Delivery<absl::StatusOr<bool>> locked;
    store_->TryLockRefresh(borrower, owner, ttl, locked.Callback());
    return locked.Wait();
  }
  absl::StatusOr<redis::RedisReply> Raw(std::vector<std::string> args) {
    testing::Delivery<absl::StatusOr<redis::RedisReply>> reply;
    redis_->Command(std::move(args), reply.Callback());
    return reply.Wait();
  }

  std::unique_ptr<RedisServer> server_;
  upstream::EventLoop loop_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<RedisTokenStore> store_;
};

TEST_F(RedisTokenStoreTest, TokensRoundTripAndExpireWithTheRefreshToken) {
  BorrowerTokens tokens = Tokens("a", absl::Hours(2));
  ASSERT_TRUE(Save(*store_, "CUST_1", tokens).ok());
  Loaded loaded = Load(*store_, "CUST_1");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->session_token, "st_test_a");
  EXPECT_EQ((*loaded)->refresh_token, "rt_test_a");
  EXPECT_EQ((*loaded)->session_expires_at, tokens.session_expires_at);
  EXPECT_EQ((*loaded)->refresh_expires_at, tokens.refresh_expires_at);
  EXPECT_EQ((*loaded)->obtained_at, tokens.obtained_at);

  absl::StatusOr<redis::RedisReply> ttl = Raw({"PTTL", "test:tokens:CUST_1"});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->integer, absl::ToInt64Milliseconds(absl::Hours(2) - absl::Minutes(1)));
  EXPECT_LE(ttl->integer, absl::ToInt64Milliseconds(absl::Hours(2)));

  testing::Delivery<absl::Status> erased;
  store_->Erase("CUST_1", erased.Callback());
  ASSERT_TRUE(erased.Wait().ok());
  EXPECT_FALSE(Load(*store_, "CUST_1")->has_value());
}

TEST_F(RedisTokenStoreTest, AbsentAndUnparsableValuesReadAsAbsent) {
  EXPECT_FALSE(Load(*store_, "NOBODY")->has_value());
  ASSERT_TRUE(Raw({"SET", "test:tokens:CUST_X", "{not json"}).ok());
  Loaded loaded = Load(*store_, "CUST_X");
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
  ASSERT_TRUE(Raw({"SET", "test:tokens:CUST_Y", R"({"session_token":"st"})"}).ok());
  EXPECT_FALSE(Load(*store_, "CUST_Y")->has_value());
}

TEST_F(RedisTokenStoreTest, TheRefreshLockExcludesOtherOwnersUntilReleasedOrExpired) {
  EXPECT_TRUE(*Lock("CUST_1", "replica-a"));
  EXPECT_FALSE(*Lock("CUST_1", "replica-b"));
  EXPECT_TRUE(*Lock("CUST_1", "replica-a"));  // re-entrant for its owner
  EXPECT_TRUE(*Lock("CUST_2", "replica-b"));  // per borrower

  store_->UnlockRefresh("CUST_1", "replica-b");  // not the owner: no effect
  EXPECT_FALSE(*Lock("CUST_1", "replica-b"));
  store_->UnlockRefresh("CUST_1", "replica-a");
  EXPECT_TRUE(*Lock("CUST_1", "replica-b"));

  // A crashed holder's lock lapses.
  ASSERT_TRUE(*Lock("CUST_3", "replica-a", absl::Milliseconds(1)));
  absl::StatusOr<bool> taken = false;
  for (absl::Time give_up = absl::Now() + absl::Seconds(5); absl::Now() < give_up;) {
    taken = Lock("CUST_3", "replica-b");
    if (taken.ok() && *taken) break;
  }
  EXPECT_TRUE(taken.ok() && *taken);
}

TEST_F(RedisTokenStoreTest, ARedisOutageIsUnavailableNotAbsent) {
  server_->Stop();
  Loaded loaded = Load(*store_, "CUST_1");
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kUnavailable) << loaded.status();
  EXPECT_EQ(Save(*store_, "CUST_1", Tokens("a")).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Lock("CUST_1", "replica-a").status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(RedisTokenStoreTest, TheTieredStoreServesRepeatsLocallyUntilForgotten) {
  TieredTokenStore tiered(store_.get(), /*max_cached_borrowers=*/100);
  ASSERT_TRUE(Save(tiered, "CUST_1", Tokens("a")).ok());
  // Another replica rotates the tokens in Redis.
  ASSERT_TRUE(Save(*store_, "CUST_1", Tokens("b")).ok());
  EXPECT_EQ((*Load(tiered, "CUST_1"))->session_token, "st_test_a");  // this replica's copy
  tiered.Forget("CUST_1");
  EXPECT_EQ((*Load(tiered, "CUST_1"))->session_token, "st_test_b");  // read through, then cached
  ASSERT_TRUE(Raw({"DEL", "test:tokens:CUST_1"}).ok());
  EXPECT_EQ((*Load(tiered, "CUST_1"))->session_token, "st_test_b");
}

TEST(TokenEncodingTest, RoundTripsAndRefusesPartialValues) {
  BorrowerTokens tokens = Tokens("z");
  std::optional<BorrowerTokens> decoded = DecodeTokens(EncodeTokens(tokens));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->session_token, tokens.session_token);
  EXPECT_EQ(decoded->refresh_expires_at, tokens.refresh_expires_at);
  EXPECT_FALSE(DecodeTokens("[]").has_value());
  EXPECT_FALSE(DecodeTokens(R"({"session_token":"st","refresh_token":"rt",)"
                            R"("session_expires_at_ms":"soon","refresh_expires_at_ms":1,)"
                            R"("obtained_at_ms":1})")
                   .has_value());
}

}  // namespace
}  // namespace aarthik::auth
