// SessionManager: hands out valid borrower session tokens, owning the whole platform session
// lifecycle so that no caller ever handles tokens.
//
// For a borrower it (1) reuses the stored session token while it is fresh; (2) refreshes it with
// the refresh token shortly before expiry or after the platform rejected it; (3) re-bootstraps with
// POST /api/v1/headless/sessions (which resumes the borrower) when there are no tokens or the
// refresh fails. At most one mint/refresh per borrower is in flight: concurrent callers join it,
// each waiting no longer than its own deadline.
//
//   SessionManager sessions(&loop, &platform, &store, api_key /* shared_ptr<core::Secret> */,
//   clock, ids,
//                           {});
//   sessions.AcquireSessionToken("CUST_0012", deadline, correlation_id, /*rejected_token=*/"",
//       [](absl::StatusOr<std::string> token) { ... });   // runs on the loop thread
//
// Routes that present the refresh token themselves (the RefreshSession RPC) take a lease: while it
// is held no other refresh for that borrower starts, so the platform never sees one refresh token
// used twice.
//
// Across replicas the same holds through the store's refresh lock: a refresh (or lease) starts only
// under it, after re-reading the tokens (another replica may have just rotated them); a replica
// that finds the lock taken re-reads the store every `lock_retry_interval` until the holder's
// tokens appear, the lock frees up, or its callers' deadlines pass.
//
// Hot path: FreshSessionToken answers from a small table of the session tokens this manager handed
// out, with the time until which each is usable, on the caller's thread and without a task on the
// loop; a miss (or a token the platform refused) takes the full path above.
//
// Thread-safety: every public method may be called from any thread; callbacks run on the loop
// thread. All state lives on the loop thread, except the fresh-token table (its own mutex).
#ifndef AARTHIK_SERVER_AUTH_SESSION_MANAGER_H_
#define AARTHIK_SERVER_AUTH_SESSION_MANAGER_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/auth/token_store.h"
#include "server/core/clock.h"
#include "server/core/id_source.h"
#include "server/core/secret.h"
#include "server/metrics/gateway_metrics.h"
#include "server/platform/platform_client.h"
#include "server/upstream/event_loop.h"

namespace aarthik::auth {

// The tokens in a platform session payload ({sessionToken, refreshToken, sessionExpiresAt, ...}).
absl::StatusOr<BorrowerTokens> TokensFromPlatformData(const nlohmann::json& data, absl::Time now);

class SessionManager {
 public:
  struct Options {
    // Refresh this long before the session token expires (capped at a fifth of the token's
    // lifetime, so that short-lived tokens are still used).
    absl::Duration refresh_margin = absl::Seconds(60);
    // Timeout of the gateway's own mint/refresh calls (not bounded by any one caller).
    absl::Duration call_timeout = absl::Seconds(10);
    // Mint and refresh counters; none when null.
    metrics::GatewayMetrics* metrics = nullptr;
    // How often a replica that found the refresh lock taken looks for the holder's tokens.
    absl::Duration lock_retry_interval = absl::Milliseconds(25);
  };
  using TokenCallback = absl::AnyInvocable<void(absl::StatusOr<std::string>)>;

  SessionManager(upstream::EventLoop* loop, platform::PlatformClient* platform, TokenStore* store,
                 std::shared_ptr<const core::Secret> api_key, const core::Clock& clock,
                 core::IdSource& ids, Options options);

  // A session token valid now. `rejected_token`, when not empty, is one the platform just refused
  // (401 AUTH_INVALID_SESSION): it is not handed out again.
  void AcquireSessionToken(const std::string& borrower, absl::Time deadline,
                           const std::string& correlation_id, const std::string& rejected_token,
                           TokenCallback done);

  // The borrower's session token when one is known here and usable now (the fast path of
  // AcquireSessionToken, which callers take on a miss). Any thread; no task, no I/O.
  std::optional<std::string> FreshSessionToken(const std::string& borrower) const;

  // The borrower's refresh token, under an exclusive lease. Every successful acquisition must be
  // followed by exactly one ReleaseRefreshLease.
  void AcquireRefreshLease(const std::string& borrower, absl::Time deadline,
                           const std::string& correlation_id, TokenCallback done);
  // Ends the lease with the rotated tokens, or with the failure of the call that used it.
  void ReleaseRefreshLease(const std::string& borrower, absl::StatusOr<BorrowerTokens> rotated,
                           const std::string& correlation_id);

  // Stores tokens a caller-initiated session bootstrap returned.
  void StoreTokens(const std::string& borrower, const BorrowerTokens& tokens,
                   const std::string& correlation_id);

  // Counters for tests and metrics.
  int64_t mints() const { return mints_.load(); }
  int64_t refreshes() const { return refreshes_.load(); }
  // Entries of the fresh-token table (FreshSessionToken's), expired ones not yet swept included.
  size_t fresh_tokens() const;

 private:
  struct Waiter {
    uint64_t id;
    TokenCallback done;
    upstream::EventLoop::TimerId timer;
    // Kept so that a waiter can be sent round again (see Complete).
    absl::Time deadline;
    std::string correlation_id;
    std::string rejected_token;
  };
  // One borrower's in-progress token work; exists only while something is in flight.
  struct Flight {
    bool busy = false;
    bool lease_held = false;
    bool store_lock_held = false;  // released when the flight completes
    uint64_t generation = 0;       // tells a retry timer of an ended flight from the current one
    std::vector<Waiter> waiters;
  };

  void RunOnLoop(absl::AnyInvocable<void()> task);
  void AddWaiter(Flight& flight, const std::string& borrower, absl::Time deadline,
                 TokenCallback done, const std::string& correlation_id = "",
                 const std::string& rejected_token = "");
  // Reads the borrower's tokens and goes on: hand out a usable session token, refresh (taking the
  // store's lock first unless `lock_held`), or mint.
  void LoadAndProceed(const std::string& borrower, const std::string& correlation_id,
                      const std::string& rejected_token, bool lock_held = false);
  void Proceed(const std::string& borrower, const std::string& correlation_id,
               const std::string& rejected_token,
               absl::StatusOr<std::optional<BorrowerTokens>> loaded, bool lock_held);
  // Refreshes under the store's refresh lock (see the class comment).
  void RefreshUnderLock(const std::string& borrower, const std::string& correlation_id,
                        const std::string& rejected_token);
  void RetryAfterLockTaken(const std::string& borrower, const std::string& correlation_id,
                           const std::string& rejected_token);
  // A waiter's callback that, once the flight it joined is over, tries for the lease again.
  TokenCallback LeaseAgainOnceDone(const std::string& borrower, absl::Time deadline,
                                   const std::string& correlation_id, TokenCallback done);
  void LeaseLockDecided(const std::string& borrower, absl::Time deadline,
                        const std::string& correlation_id, absl::StatusOr<bool> locked,
                        TokenCallback done);
  absl::Duration LockTtl() const { return options_.call_timeout + absl::Seconds(1); }
  void Refresh(const std::string& borrower, const std::string& correlation_id,
               const std::string& refresh_token);
  void Mint(const std::string& borrower, const std::string& correlation_id);
  void SaveAndComplete(const std::string& borrower, const BorrowerTokens& tokens,
                       const std::string& correlation_id);
  static void LogStoreFailure(const absl::Status& saved, const std::string& correlation_id);
  void CountStoreFailure(absl::string_view operation);
  void Complete(const std::string& borrower, absl::StatusOr<std::string> result);
  bool SessionUsable(const BorrowerTokens& tokens, absl::Time now) const;
  absl::Time UsableUntil(const BorrowerTokens& tokens) const;
  // The fresh-token table: remembers tokens handed out, forgets refused ones.
  void RememberFresh(const std::string& borrower, const BorrowerTokens& tokens);
  void ForgetFresh(const std::string& borrower, const std::string& token);

  upstream::EventLoop* loop_;
  platform::PlatformClient* platform_;
  TokenStore* store_;
  const std::shared_ptr<const core::Secret> api_key_;  // read per mint: it may be rotated
  const core::Clock& clock_;
  core::IdSource& ids_;
  const Options options_;
  const std::string lock_owner_;                      // this process's refresh-lock identity
  uint64_t next_waiter_id_ = 0;                       // loop thread only
  uint64_t next_generation_ = 0;                      // loop thread only
  absl::flat_hash_map<std::string, Flight> flights_;  // loop thread only
  struct FreshToken {
    std::string token;
    absl::Time usable_until;
  };
  // Bounded like the in-process token store: expired entries are swept at SweepPacer's pace (a
  // borrower a minute who never calls again must not hold an entry until the cap), and beyond the
  // cap an arbitrary entry makes room.
  static constexpr size_t kMaxFreshTokens = 100000;
  mutable std::mutex fresh_mu_;
  absl::flat_hash_map<std::string, FreshToken> fresh_;  // guarded by fresh_mu_
  SweepPacer fresh_sweeps_;                             // guarded by fresh_mu_
  std::atomic<int64_t> mints_{0};
  std::atomic<int64_t> refreshes_{0};
};

}  // namespace aarthik::auth

#endif  // AARTHIK_SERVER_AUTH_SESSION_MANAGER_H_
