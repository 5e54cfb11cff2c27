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

#include "absl/synchronization/mutex.h"
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
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&mu_);
    now_ += by;
  }
  void Set(absl::Time now) {
    absl::MutexLock lock(&mu_);
    now_ = now;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aarthik::core

#endif  // AARTHIK_SERVER_CORE_CLOCK_H_
