// Synchronisation primitives for tests, with the interface of absl::Mutex / absl::MutexLock /
// absl::Notification but built on std::mutex and std::condition_variable, which ThreadSanitizer
// understands (Debian's abseil is not TSan-instrumented, so absl's primitives look like no
// synchronisation at all to it); and Delivery, one value handed over from another thread.
//
//   aarthik::testing::Mutex mu;
//   { aarthik::testing::MutexLock lock(&mu); mu.Await(absl::Condition(&ready)); }
//   aarthik::testing::Notification done;  done.Notify();  done.WaitForNotification();
//   aarthik::testing::Delivery<absl::StatusOr<Reply>> reply;
//   client.Call(request, reply.Callback());  EXPECT_TRUE(reply.Wait().ok());
//
// Thread-safety: as their absl counterparts; Delivery's callback may run on any thread.
#ifndef AARTHIK_TESTS_SUPPORT_SYNC_H_
#define AARTHIK_TESTS_SUPPORT_SYNC_H_

#include <condition_variable>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace aarthik::testing {

class Mutex {
 public:
  void Lock() { mu_.lock(); }
  void Unlock() {
    // Waiters re-evaluate their conditions after every critical section. Notify before unlocking: a
    // woken waiter may destroy this mutex as soon as it can take the lock.
    changed_.notify_all();
    mu_.unlock();
  }
  // The caller holds the lock; returns with it held once `condition` is true.
  void Await(const absl::Condition& condition) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    changed_.wait(lock, [&] { return condition.Eval(); });
    lock.release();
  }
  bool AwaitWithTimeout(const absl::Condition& condition, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    bool met = changed_.wait_until(lock, absl::ToChronoTime(absl::Now() + timeout),
                                   [&] { return condition.Eval(); });
    lock.release();
    return met;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
};

class MutexLock {
 public:
  explicit MutexLock(Mutex* mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

class Notification {
 public:
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
    cv_.notify_all();
  }
  bool HasBeenNotified() const {
    std::lock_guard<std::mutex> lock(mu_);
    return notified_;
  }
  void WaitForNotification() const {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return notified_; });
  }
  bool WaitForNotificationWithTimeout(absl::Duration timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, absl::ToChronoTime(absl::Now() + timeout),
                          [this] { return notified_; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool notified_ = false;
};

// One value handed over from another thread, e.g. an asynchronous call's result.
template <typename T>
class Delivery {
 public:
  // Stores the value it is called with; valid while this object lives.
  absl::AnyInvocable<void(T)> Callback() {
    return [this](T value) {
      std::lock_guard<std::mutex> lock(mu_);
      value_.emplace(std::move(value));
      cv_.notify_all();  // under the lock: the waiter may destroy this object once it has it
    };
  }
  // Blocks until the callback has run; returns a copy of the value.
  T Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return value_.has_value(); });
    return *value_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<T> value_;
};

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_SUPPORT_SYNC_H_
