#include "server/platform/circuit_breaker.h"

#include <algorithm>

namespace aarthik::platform {

const char* CircuitStateName(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

void CircuitBreaker::SetState(State state, absl::Time now) {
  if (state_.load() == state) return;
  state_.store(state);
  if (state == State::kOpen) opened_at_ = now;
  if (state != State::kClosed) buckets_.fill(Bucket{});
  consecutive_failures_ = 0;
  probe_in_flight_ = false;
  if (on_change_) on_change_(state);
}

bool CircuitBreaker::Allow(absl::Time now, absl::Duration* retry_in) {
  switch (state_.load()) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (now - opened_at_ < options_.open_for) {
        *retry_in = options_.open_for - (now - opened_at_);
        return false;
      }
      SetState(State::kHalfOpen, now);
      probe_in_flight_ = true;
      return true;
    case State::kHalfOpen:
      if (probe_in_flight_) {
        *retry_in = options_.open_for;
        return false;
      }
      probe_in_flight_ = true;
      return true;
  }
  return true;
}

void CircuitBreaker::Record(bool healthy, absl::Time now) {
  State state = state_.load();
  if (state == State::kHalfOpen) {
    SetState(healthy ? State::kClosed : State::kOpen, now);
    return;
  }
  if (state == State::kOpen) return;  // answers to requests sent before it opened
  consecutive_failures_ = healthy ? 0 : consecutive_failures_ + 1;
  const int64_t second = absl::ToUnixSeconds(now);
  const int64_t window =
      std::min<int64_t>(absl::ToInt64Seconds(options_.window), kMaxWindowSeconds);
  Bucket& bucket = buckets_[static_cast<size_t>(second % kMaxWindowSeconds)];
  if (bucket.second != second) bucket = Bucket{second, 0, 0};
  ++bucket.total;
  bucket.failures += healthy ? 0 : 1;
  int64_t total = 0;
  int64_t failures = 0;
  for (const Bucket& b : buckets_) {
    if (b.second > second - window) {
      total += b.total;
      failures += b.failures;
    }
  }
  bool ratio_tripped =
      total >= options_.min_requests &&
      static_cast<double>(failures) >= options_.failure_ratio * static_cast<double>(total);
  if (consecutive_failures_ >= options_.consecutive_failures || ratio_tripped)
    SetState(State::kOpen, now);
}

}  // namespace aarthik::platform
