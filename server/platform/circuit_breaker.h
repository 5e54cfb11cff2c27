// CircuitBreaker: stops sending to a platform that is failing, so callers fail fast (UNAVAILABLE
// with a retry hint) instead of queueing behind timeouts, and lets one probe through to find out
// when it is back.
//
//   CircuitBreaker breaker(options);
//   absl::Duration retry_in;
//   if (!breaker.Allow(now, &retry_in)) { /* fail fast */ }
//   ... breaker.Record(/*healthy=*/reply_status < 500, now);
//
// Closed → Open after `consecutive_failures` failures in a row, or when at least `min_requests`
// outcomes in the last `window` include `failure_ratio` failures. Open → HalfOpen after `open_for`:
// one probe is let through; its success closes the breaker, its failure opens it again. Failures
// are transport errors and 5xx answers; any other HTTP answer (4xx included) shows the platform is
// up.
//
// Thread-safety: Allow/Record on the upstream loop only; state() may be read from any thread.
#ifndef AARTHIK_SERVER_PLATFORM_CIRCUIT_BREAKER_H_
#define AARTHIK_SERVER_PLATFORM_CIRCUIT_BREAKER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>

#include "absl/time/time.h"

namespace aarthik::platform {

struct CircuitBreakerOptions {
  int consecutive_failures = 5;
  double failure_ratio = 0.5;
  int min_requests = 20;
  absl::Duration window = absl::Seconds(10);
  absl::Duration open_for = absl::Seconds(5);
};

class CircuitBreaker {
 public:
  enum class State { kClosed = 0, kOpen = 1, kHalfOpen = 2 };
  using StateListener = std::function<void(State)>;

  explicit CircuitBreaker(CircuitBreakerOptions options, StateListener on_change = nullptr)
      : options_(options), on_change_(std::move(on_change)) {}

  // Whether a request may be sent now; when not, `retry_in` says when to try again.
  bool Allow(absl::Time now, absl::Duration* retry_in);
  void Record(bool healthy, absl::Time now);
  State state() const { return state_.load(std::memory_order_relaxed); }

 private:
  void SetState(State state, absl::Time now);

  const CircuitBreakerOptions options_;
  StateListener on_change_;
  std::atomic<State> state_{State::kClosed};
  absl::Time opened_at_;
  bool probe_in_flight_ = false;
  int consecutive_failures_ = 0;
  // Outcomes per second over the window (a ring of 1-second buckets: bounded memory at any rate).
  struct Bucket {
    int64_t second = -1;
    int64_t total = 0;
    int64_t failures = 0;
  };
  static constexpr int kMaxWindowSeconds = 60;
  std::array<Bucket, kMaxWindowSeconds> buckets_;
};

const char* CircuitStateName(CircuitBreaker::State state);

}  // namespace aarthik::platform

#endif  // AARTHIK_SERVER_PLATFORM_CIRCUIT_BREAKER_H_
