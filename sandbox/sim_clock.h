// Simulated time for the sandbox.
//
// Simulated time runs `time_scale` times faster than real time and can be pushed forward on demand
// (control plane `POST /_sandbox/time/advance`). Every expiry and delay in the sandbox (tokens,
// offer arrival, AA URLs, web-hook retries) is measured on this clock, so tests never sleep.
//
// Example:
//   SimClock clock(/*time_scale=*/60.0);   // one real second = one simulated minute
//   absl::Time t0 = clock.Now();
//   clock.Advance(absl::Minutes(30));      // tokens minted at t0 are now expired
//
// Thread-safety: all methods are thread-safe and lock-free.
#ifndef AARTHIK_SANDBOX_SIM_CLOCK_H_
#define AARTHIK_SANDBOX_SIM_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace aarthik::sandbox {

class SimClock {
 public:
  explicit SimClock(double time_scale = 1.0);

  // Current simulated time.
  absl::Time Now() const;

  // Moves simulated time forward by `delta` (negative values are ignored: time never runs back).
  void Advance(absl::Duration delta);

  // Real time that passes while `simulated` elapses on this clock (ignoring future advances).
  absl::Duration ToReal(absl::Duration simulated) const;

  double time_scale() const { return time_scale_; }

 private:
  const absl::Time real_start_;
  const double time_scale_;
  std::atomic<int64_t> advanced_nanos_{0};
};

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_SIM_CLOCK_H_
