// TokenStore: where the gateway keeps each borrower's platform session and refresh tokens, behind
// an interface so that replicas can share them: MemoryTokenStore for one replica, RedisTokenStore
// (redis_token_store.h) behind a TieredTokenStore for several.
//
//   MemoryTokenStore store(/*max_borrowers=*/100000);
//   store.Save("CUST_0012", tokens, [](absl::Status s) { ... });
//   store.Load("CUST_0012", [](absl::StatusOr<std::optional<BorrowerTokens>> t) { ... });
//
// The refresh lock is what keeps replicas from presenting one refresh token twice (the platform
// rotates it on every refresh and may revoke the borrower's whole session family on reuse): only
// the lock's holder refreshes; the others wait for the tokens it saves.
//
// The interface is asynchronous because a networked store must not block the caller's thread;
// callbacks may run inline (memory) or on another thread (network): callers must not assume either.
//
// Thread-safety: implementations are safe to call from any thread.
#ifndef AARTHIK_SERVER_AUTH_TOKEN_STORE_H_
#define AARTHIK_SERVER_AUTH_TOKEN_STORE_H_

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace aarthik::auth {

// A borrower's platform credentials. Secrets: never log them.
struct BorrowerTokens {
  std::string session_token;  // st_*
  std::string refresh_token;  // rt_*
  absl::Time session_expires_at;
  absl::Time refresh_expires_at;
  // When the gateway obtained them; with the expiry this gives the token's lifetime.
  absl::Time obtained_at;
};

class TokenStore {
 public:
  using LoadCallback = absl::AnyInvocable<void(absl::StatusOr<std::optional<BorrowerTokens>>)>;
  using DoneCallback = absl::AnyInvocable<void(absl::Status)>;
  // true: the caller now holds the lock; false: another owner does.
  using LockCallback = absl::AnyInvocable<void(absl::StatusOr<bool>)>;

  virtual ~TokenStore() = default;
  virtual void Load(const std::string& borrower, LoadCallback done) = 0;
  virtual void Save(const std::string& borrower, const BorrowerTokens& tokens,
                    DoneCallback done) = 0;
  virtual void Erase(const std::string& borrower, DoneCallback done) = 0;

  // Takes the borrower's refresh lock for `owner` (re-entrant for the same owner, which renews
  // it) for at most `ttl`, so that a holder that crashed cannot wedge the borrower.
  virtual void TryLockRefresh(const std::string& borrower, const std::string& owner,
                              absl::Duration ttl, LockCallback done) = 0;
  // Releases the lock if `owner` still holds it. Fire and forget.
  virtual void UnlockRefresh(const std::string& borrower, const std::string& owner) = 0;
  // Drops any copy cached in this process, so that the next Load reads what other replicas saved.
  virtual void Forget(const std::string& borrower) {}
};

// When a table of per-borrower entries should drop its expired ones: one full pass per as many
// insertions of new keys as the table held after the previous pass (at least `min_interval`), so
// that sweeping costs O(1) per insertion however large the table is, full or not. Not thread-safe:
// guard it with the table.
class SweepPacer {
 public:
  explicit SweepPacer(size_t min_interval = 1024) : min_interval_(min_interval) {}
  // Counts one insertion of a new key; true when a pass is due.
  bool Inserted() { return ++inserted_ >= std::max(min_interval_, size_after_pass_); }
  // A pass is done and left `size` entries.
  void Swept(size_t size) {
    inserted_ = 0;
    size_after_pass_ = size;
  }

 private:
  const size_t min_interval_;
  size_t inserted_ = 0;
  size_t size_after_pass_ = 0;
};

// In-process store. Bounded: it drops tokens whose refresh token has expired (SweepPacer's pace)
// and, beyond `max_borrowers`, arbitrary ones (a dropped borrower simply gets a new session on its
// next call).
class MemoryTokenStore : public TokenStore {
 public:
  explicit MemoryTokenStore(size_t max_borrowers = 1'000'000) : max_borrowers_(max_borrowers) {}

  void Load(const std::string& borrower, LoadCallback done) override;
  void Save(const std::string& borrower, const BorrowerTokens& tokens, DoneCallback done) override;
  void Erase(const std::string& borrower, DoneCallback done) override;
  void TryLockRefresh(const std::string& borrower, const std::string& owner, absl::Duration ttl,
                      LockCallback done) override;
  void UnlockRefresh(const std::string& borrower, const std::string& owner) override;

 private:
  struct Lock {
    std::string owner;
    absl::Time expires_at;
  };
  const size_t max_borrowers_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, BorrowerTokens> tokens_;  // guarded by mu_
  SweepPacer sweeps_;                                        // guarded by mu_
  absl::flat_hash_map<std::string, Lock> locks_;             // guarded by mu_
};

// A shared store (e.g. Redis) with a bounded in-process copy in front, so that a borrower's
// session token costs a network round trip only when this replica has not seen it yet, after a
// Forget, or after a save. Saves go to both; the lock is the shared store's.
class TieredTokenStore : public TokenStore {
 public:
  // `shared` must outlive this store.
  TieredTokenStore(TokenStore* shared, size_t max_cached_borrowers)
      : shared_(shared), local_(max_cached_borrowers) {}

  void Load(const std::string& borrower, LoadCallback done) override;
  void Save(const std::string& borrower, const BorrowerTokens& tokens, DoneCallback done) override;
  void Erase(const std::string& borrower, DoneCallback done) override;
  void TryLockRefresh(const std::string& borrower, const std::string& owner, absl::Duration ttl,
                      LockCallback done) override;
  void UnlockRefresh(const std::string& borrower, const std::string& owner) override;
  void Forget(const std::string& borrower) override;

 private:
  TokenStore* const shared_;
  MemoryTokenStore local_;
};

}  // namespace aarthik::auth

#endif  // AARTHIK_SERVER_AUTH_TOKEN_STORE_H_
