#include "sandbox/sim_clock.h"

#include "absl/time/clock.h"

namespace aarthik::sandbox {

SimClock::SimClock(double time_scale)
    : real_start_(absl::Now()), time_scale_(time_scale > 0 ? time_scale : 1.0) {}

absl::Time SimClock::Now() const {
  const absl::Time real_now = absl::Now();
  // Simulated time starts at the real start-up instant, so fresh timestamps look current.
  return real_start_ + (real_now - real_start_) * time_scale_ +
         absl::Nanoseconds(advanced_nanos_.load(std::memory_order_relaxed));
}

void SimClock::Advance(absl::Duration delta) {
  if (delta <= absl::ZeroDuration()) return;
  advanced_nanos_.fetch_add(absl::ToInt64Nanoseconds(delta), std::memory_order_relaxed);
}

absl::Duration SimClock::ToReal(absl::Duration simulated) const { return simulated / time_scale_; }

}  // namespace aarthik::sandbox
