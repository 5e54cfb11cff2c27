#include "server/platform/retry_policy.h"

#include <algorithm>

namespace aarthik::platform {

bool IsRetryable(const absl::StatusOr<transcode::PlatformReply>& outcome) {
  if (!outcome.ok()) {
    // PlatformClient maps transport failures before this point: UNAVAILABLE is a connect failure or
    // a lost connection; DEADLINE_EXCEEDED used up the caller's time; the rest are not transient.
    return outcome.status().code() == absl::StatusCode::kUnavailable;
  }
  if (!outcome->error) return false;
  int status = outcome->http_status;
  return status == 429 || status == 502 || status == 503 || status == 504;
}

RetryPolicy::RetryPolicy(RetryOptions options) : options_(options) {}

RetryPolicy::Bucket& RetryPolicy::BucketFor(absl::Time now) {
  int64_t second = absl::ToUnixSeconds(now);
  Bucket& bucket = buckets_[static_cast<size_t>(second % kWindowSeconds)];
  if (bucket.second != second) bucket = Bucket{second, 0, 0};
  return bucket;
}

void RetryPolicy::RecordRequest(absl::Time now) { ++BucketFor(now).requests; }

bool RetryPolicy::TryAcquireRetry(absl::Time now) {
  Bucket& current = BucketFor(now);
  int64_t newest = absl::ToUnixSeconds(now);
  int64_t requests = 0;
  int64_t retries = 0;
  for (const Bucket& bucket : buckets_) {
    if (bucket.second > newest - kWindowSeconds) {
      requests += bucket.requests;
      retries += bucket.retries;
    }
  }
  double allowed = options_.budget_ratio * static_cast<double>(requests) +
                   static_cast<double>(options_.min_retries_per_second) * kWindowSeconds;
  if (static_cast<double>(retries) + 1 > allowed) return false;
  ++current.retries;
  return true;
}

std::optional<absl::Duration> RetryPolicy::Backoff(int attempt,
                                                   std::optional<absl::Duration> retry_after,
                                                   std::mt19937_64& random) const {
  if (retry_after) {
    if (*retry_after > options_.max_retry_after) return std::nullopt;
    return *retry_after;
  }
  absl::Duration cap = options_.initial_backoff;
  for (int i = 1; i < attempt && cap < options_.max_backoff; ++i) cap *= 2;
  cap = std::min(cap, options_.max_backoff);
  std::uniform_int_distribution<int64_t> jitter(0, absl::ToInt64Microseconds(cap));
  return absl::Microseconds(jitter(random));
}

}  // namespace aarthik::platform
