// InFlightCalls: counts the unary calls the gateway is serving, for load shedding and for the drain
// on SIGTERM. Once draining, new calls are refused with the drain's status, and the shutdown thread
// can wait for the calls already in flight to finish before it closes the gRPC server.
//
//   InFlightCalls calls;
//   if (calls.Enter() >= limit) { ... shed ...; calls.Leave(); }   // every Enter is matched by a
//   Leave if (const absl::Status* refusal = calls.refusal()) { ... finish with *refusal ...;
//   calls.Leave(); }
//
//   calls.StartDraining(absl::UnavailableError("shutting down"));   // on the shutdown thread
//   bool idle = calls.WaitUntilIdle(absl::Now() + grace);
//
// Why the gateway refuses new calls itself before closing the server: gRPC cancels calls that reach
// a server after Shutdown() (the caller sees CANCELLED, which clients do not retry); a call refused
// here gets UNAVAILABLE with ErrorInfo GATEWAY_SHUTTING_DOWN, which they do.
//
// Thread-safety: every method may be called from any thread. WaitUntilIdle blocks: never call it on
// a gRPC or event-loop thread.
#ifndef AARTHIK_SERVER_RPC_IN_FLIGHT_CALLS_H_
#define AARTHIK_SERVER_RPC_IN_FLIGHT_CALLS_H_

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace aarthik::rpc {

class InFlightCalls {
 public:
  // Counts a call in; returns how many were in flight before it.
  int Enter() { return count_.fetch_add(1, std::memory_order_relaxed); }

  // Counts a call out; wakes WaitUntilIdle when it was the last one during a drain.
  void Leave() {
    if (count_.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
        draining_.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(mu_);
      idle_.notify_all();
    }
  }

  int count() const { return count_.load(std::memory_order_relaxed); }

  // The status new calls are refused with, or null while not draining.
  const absl::Status* refusal() const {
    return draining_.load(std::memory_order_acquire) ? &refusal_ : nullptr;
  }

  // From now on refusal() returns `refusal`. Only the first call counts.
  void StartDraining(absl::Status refusal) {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_.load(std::memory_order_relaxed)) return;
    refusal_ = std::move(refusal);
    draining_.store(true, std::memory_order_release);  // publishes refusal_
  }

  // Blocks until no call is in flight or `deadline` passes; true when idle. Needs StartDraining
  // first (else a Leave does not wake it and it waits for the deadline).
  bool WaitUntilIdle(absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return idle_.wait_until(lock, absl::ToChronoTime(deadline), [this] { return count() == 0; });
  }

 private:
  std::atomic<int> count_{0};
  std::atomic<bool> draining_{false};
  absl::Status refusal_;  // written once under mu_ before draining_ is set; read-only after
  std::mutex mu_;
  std::condition_variable idle_;
};

}  // namespace aarthik::rpc

#endif  // AARTHIK_SERVER_RPC_IN_FLIGHT_CALLS_H_
