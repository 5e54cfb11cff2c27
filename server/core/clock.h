// Clock: the gateway's source of "now", a seam so that token expiry and backoff can be tested with
// fake time.
//
//   const Clock& clock = Clock::Real();
//   absl::Time deadline = clock.Now() + absl::Seconds(5);
//
//   ManualClock fake(absl::FromUnixSeconds(1'700'000'000));
//   fake.Advance(absl::Minutes(31));   // in tests
//
// Thread-safety: both implementations may be used from any thread.
#ifndef AARTHIK_SERVER_CORE_CLOCK_H_
#define AARTHIK_SERVER_CORE_CLOCK_H_

#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace aarthik::core {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // The wall clock.
  static const Clock& Real();
};

// A clock that moves only when told to.
class ManualClock : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::UnixEpoch()) : now_(start) {}

  absl::Time Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Advance(absl::Duration by) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += by;
  }
  void Set(absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ = now;
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;  // guarded by mu_
};

}  // namespace aarthik::core

#endif  // AARTHIK_SERVER_CORE_CLOCK_H_
