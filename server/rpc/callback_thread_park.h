// CallbackThreadPark: runs gRPC's callback API on fewer threads than gRPC starts for it.
//
// gRPC 1.51 delivers a callback server's events through one completion queue that max(2, cores/2)
// "nexting" threads drain (grpc::CompletionQueue::CallbackAlternativeCQ). They take turns as the
// epoll1 poller: a thread that wakes for an event first wakes another to poll in its place. With
// two of them on a pod of two CPUs that is a wake-up per event whatever the load, and at 64 calls
// in flight about one context switch per proxied call (docs/benchmarks.md, "Sixteenth session").
// One thread polls, runs the handlers and, with rpc/grpc_loop_driver.h, the upstream loops: the
// others are parked here, blocked where they can take nothing.
//
//   absl::StatusOr<std::unique_ptr<CallbackThreadPark>> park =
//       CallbackThreadPark::Start(*server, /*keep=*/1);   // after BuildAndStart
//   ...
//   (*park)->Release();  // before server->Shutdown: gRPC joins its threads there
//
// How: a functor queued on the server's callback queue runs on whichever nexting thread takes it
// and blocks it until Release; since a blocked thread takes nothing, N functors park N distinct
// threads. A nexting thread that sees no event for a second sleeps 100 ms before it waits again,
// during which no thread would poll: a parked thread queues a no-op event every 250 ms, so that the
// thread kept never reaches that second.
//
// Needs Debian bookworm's gRPC 1.51 (rpc/grpc_internals.h) and a gRPC whose callback API uses the
// nexting threads (not GRPC_CQ_CALLBACK); Start says why not otherwise, and gRPC keeps its threads.
//
// Thread safety: Start, Release, parked() and the destructor may be called from any thread, but
// not from one of gRPC's callback threads (Start and Release wait for them).
#ifndef AARTHIK_SERVER_RPC_CALLBACK_THREAD_PARK_H_
#define AARTHIK_SERVER_RPC_CALLBACK_THREAD_PARK_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "server/rpc/grpc_internals.h"

namespace aarthik::rpc {

class CallbackThreadPark {
 public:
  // How often a parked thread queues the no-op event (below gRPC's one-second wait).
  static constexpr absl::Duration kKeepAwakeInterval = absl::Milliseconds(250);

  // Parks all but `keep` (>= 1) of the callback threads gRPC started for `server` (started) and
  // returns once they are parked; with `keep` at or above their number, none.
  // FAILED_PRECONDITION when this gRPC's threads cannot be parked.
  static absl::StatusOr<std::unique_ptr<CallbackThreadPark>> Start(grpc::Server& server, int keep);

  ~CallbackThreadPark();  // Release()
  CallbackThreadPark(const CallbackThreadPark&) = delete;
  CallbackThreadPark& operator=(const CallbackThreadPark&) = delete;

  // Lets the parked threads go back to gRPC and waits until they have. Idempotent.
  void Release();

  int started() const { return started_; }  // callback threads gRPC started
  int parked() const;                       // threads blocked here now
  // Waits until the parked threads have queued `events` no-op events in all, at most `timeout`;
  // whether they did.
  bool WaitForKeepAwakeEvents(int64_t events, absl::Duration timeout) const;

 private:
  // One queued functor; `functor` first, since gRPC hands back a pointer to it.
  struct Slot {
    grpc_completion_queue_functor functor;
    grpc_cq_completion storage;
    CallbackThreadPark* park;
  };

  CallbackThreadPark(grpc_completion_queue* queue, int started, int to_park);
  // Queues `slot`'s functor; false when the queue is shutting down.
  bool Queue(Slot& slot);
  static void RunParked(grpc_completion_queue_functor* functor, int ok);
  static void RunKeepAwake(grpc_completion_queue_functor* functor, int ok);
  static void QueueDone(void*, grpc_cq_completion*) {}
  // Every parking functor has run.
  bool AllTaken() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return unstarted_ == 0; }
  // Nothing of ours is queued or parked: gRPC holds no pointer into this object.
  bool AllBack() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return AllTaken() && parked_ == 0 && !keep_awake_queued_;
  }

  grpc_completion_queue* const queue_;
  const int started_;
  std::vector<Slot> parking_;  // Sized once: gRPC holds pointers into it.
  Slot keep_awake_;
  mutable absl::Mutex mu_;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  int unstarted_ ABSL_GUARDED_BY(mu_) = 0;  // Parking functors queued, not yet run.
  int parked_ ABSL_GUARDED_BY(mu_) = 0;
  bool keep_awake_queued_ ABSL_GUARDED_BY(mu_) = false;
  int64_t keep_awake_events_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace aarthik::rpc

#endif  // AARTHIK_SERVER_RPC_CALLBACK_THREAD_PARK_H_
