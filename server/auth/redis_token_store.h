// RedisTokenStore: borrower tokens and refresh locks in Redis, shared by every gateway replica.
//
//   redis::RedisClient redis(&loop, *redis::ParseRedisUrl("redis://redis:6379/0"));
//   redis.Start();
//   RedisTokenStore shared(&redis, "aarthik:");
//   TieredTokenStore store(&shared, /*max_cached_borrowers=*/100000);  // what the gateway uses
//
// Layout: `<prefix>tokens:<borrower>` holds the tokens as a small JSON object and expires with the
// refresh token; `<prefix>refresh-lock:<borrower>` holds the lock owner's ID for the lock's TTL.
// A stored value that does not parse (another version wrote it, or it was edited by hand) reads as
// absent: the borrower simply gets a new session.
//
// Thread-safety: any thread; callbacks run on the RedisClient's loop thread.
#ifndef AARTHIK_SERVER_AUTH_REDIS_TOKEN_STORE_H_
#define AARTHIK_SERVER_AUTH_REDIS_TOKEN_STORE_H_

#include <string>

#include "server/auth/token_store.h"
#include "server/redis/redis_client.h"

namespace aarthik::auth {

class RedisTokenStore : public TokenStore {
 public:
  // `redis` must outlive the store.
  RedisTokenStore(redis::RedisClient* redis, std::string key_prefix)
      : redis_(redis), prefix_(std::move(key_prefix)) {}

  void Load(const std::string& borrower, LoadCallback done) override;
  void Save(const std::string& borrower, const BorrowerTokens& tokens, DoneCallback done) override;
  void Erase(const std::string& borrower, DoneCallback done) override;
  void TryLockRefresh(const std::string& borrower, const std::string& owner, absl::Duration ttl,
                      LockCallback done) override;
  void UnlockRefresh(const std::string& borrower, const std::string& owner) override;

  std::string TokensKey(const std::string& borrower) const {
    return prefix_ + "tokens:" + borrower;
  }
  std::string LockKey(const std::string& borrower) const {
    return prefix_ + "refresh-lock:" + borrower;
  }

 private:
  redis::RedisClient* const redis_;
  const std::string prefix_;
};

// The stored form of `tokens`, and back (nullopt when `text` is not one).
std::string EncodeTokens(const BorrowerTokens& tokens);
std::optional<BorrowerTokens> DecodeTokens(const std::string& text);

}  // namespace aarthik::auth

#endif  // AARTHIK_SERVER_AUTH_REDIS_TOKEN_STORE_H_
