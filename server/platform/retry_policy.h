// Retry policy for platform calls: which outcomes are worth another attempt, how long to wait, and
// a budget that keeps retries to a fraction of traffic so that a failing platform is not hammered.
//
//   RetryPolicy policy(options);
//   policy.RecordRequest(now);                       // once per logical call
//   if (IsRetryable(outcome) && attempt < options.max_attempts && policy.TryAcquireRetry(now)) {
//     absl::Duration wait = policy.Backoff(attempt, retry_after, random);
//   }
//
// Retryable: connect failures and connections lost mid-exchange (every write carries an
// Idempotency-Key, so a replay is safe), HTTP 429 and 502/503/504. Never: other 4xx (401 has its
// own refresh path), timeouts (the attempt already used the caller's remaining time), unreadable
// bodies.
//
// The budget follows Finagle's: each request deposits `budget_ratio` of a retry, a retry withdraws
// one, over a sliding window; `min_retries_per_second` keeps a floor for low traffic.
//
// Thread-safety: not thread-safe; used on the upstream event loop only.
#ifndef AARTHIK_SERVER_PLATFORM_RETRY_POLICY_H_
#define AARTHIK_SERVER_PLATFORM_RETRY_POLICY_H_

#include <array>
#include <cstdint>
#include <optional>
#include <random>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/transcode/platform_reply.h"

namespace aarthik::platform {

struct RetryOptions {
  // Attempts per call, the first included. 1 disables retries.
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(25);
  absl::Duration max_backoff = absl::Milliseconds(500);
  // Longest Retry-After the gateway waits out itself; a longer one is returned to the caller.
  absl::Duration max_retry_after = absl::Seconds(2);
  double budget_ratio = 0.2;
  int min_retries_per_second = 10;
};

// Whether the outcome of one attempt may be retried.
bool IsRetryable(const absl::StatusOr<transcode::PlatformReply>& outcome);

class RetryPolicy {
 public:
  explicit RetryPolicy(RetryOptions options);

  const RetryOptions& options() const { return options_; }
  void RecordRequest(absl::Time now);
  // Takes a retry from the budget; false when the budget is spent.
  bool TryAcquireRetry(absl::Time now);
  // Wait before attempt `attempt + 1` (attempt counts from 1): exponential with full jitter, or the
  // platform's Retry-After when it sent one (nullopt when that is longer than max_retry_after).
  std::optional<absl::Duration> Backoff(int attempt, std::optional<absl::Duration> retry_after,
                                        std::mt19937_64& random) const;

 private:
  static constexpr int kWindowSeconds = 10;
  struct Bucket {
    int64_t second = -1;
    int64_t requests = 0;
    int64_t retries = 0;
  };
  Bucket& BucketFor(absl::Time now);

  const RetryOptions options_;
  std::array<Bucket, kWindowSeconds> buckets_;
};

}  // namespace aarthik::platform

#endif  // AARTHIK_SERVER_PLATFORM_RETRY_POLICY_H_
