// EventLoop: one thread that waits on epoll and runs, in order, the tasks posted to it, the timers
// that fall due and the callbacks of the file descriptors it watches. The upstream HTTP transport
// drives libcurl from it, so that no thread ever waits on upstream I/O.
//
// Example:
//   aarthik::upstream::EventLoop loop;
//   loop.Start();
//   loop.Post([] { /* runs on the loop */ });
//   loop.RunOrPost([] { /* runs on the loop: right here when the loop is idle */ });
//   auto id = loop.RunAfter(absl::Milliseconds(50), [] { /* later, on the loop */ });
//   loop.CancelTimer(id);  // the timer task will not start after this returns
//   loop.Stop();           // or let the destructor stop and join
//
// "On the loop" means: holding the loop. The loop's own thread holds it except while it sleeps in
// epoll_wait; RunOrPost lets another thread take it for the length of one task when the loop
// thread is asleep, so that a gRPC thread can start an upstream request without a thread hand-off
// (waking a sleeping thread costs more CPU than a loopback HTTP exchange). Whoever holds the loop
// also runs the tasks posted before it and the timers that fell due, so posting order is kept.
// The loop thread wakes only when it has to: a task posted while it sleeps, or a timer due before
// its next wake-up (it never sleeps longer than kMaxSleep, so later timers need no wake-up).
//
// Driven: HandOver gives the waiting to a Driver, a poller outside the loop that runs the loop's
// work on its own threads when the loop's descriptor is readable (rpc/grpc_loop_driver.h: gRPC's
// poller, so that an upstream reply is handled and answered on a gRPC thread, with no thread
// hand-off). The loop's thread then ends; TakeBack (or Stop) gives the waiting back to a new one.
//
// Thread safety: Start, Stop, Post, RunOrPost, RunAfter, CancelTimer and IsInLoopThread may be
// called from any thread, and so may HandOver and TakeBack (not on the loop). Watch, Modify and
// Unwatch must be called on the loop (IsInLoopThread()), or from any single thread while the loop
// is not running (before Start or after Stop). Tasks, timers and fd callbacks run one at a time,
// so they need no locking among themselves. Tasks posted by one thread run in the order posted.
// Stop must not be called on the loop (it joins the loop thread); a task may call RequestStop
// instead.
#ifndef AARTHIK_SERVER_UPSTREAM_EVENT_LOOP_H_
#define AARTHIK_SERVER_UPSTREAM_EVENT_LOOP_H_

#include <sys/epoll.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace aarthik::upstream {

class EventLoop {
 public:
  using TimerId = uint64_t;
  // Receives the ready events (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, ...) of a watched descriptor.
  using FdCallback = absl::AnyInvocable<void(uint32_t events)>;

  EventLoop();   // Creates the epoll and wake-up descriptors; does not start the thread.
  ~EventLoop();  // Stops and joins.
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Starts the loop thread. Calling it twice, or after Stop, does nothing.
  void Start();
  // Runs no further tasks, timers or fd callbacks; joins the thread; then destroys the tasks and
  // timers that never ran, on the calling thread. Idempotent. Must not be called on the loop
  // thread.
  void Stop();
  // Makes the loop return after the current task; the thread still has to be joined by Stop. Any
  // thread.
  void RequestStop();

  // Something outside the loop that can wait for its events instead of its thread (see the class
  // comment).
  class Driver {
   public:
    virtual ~Driver() = default;
    // Starts watching `loop`: from now on, each time loop.pollable_fd() is readable (or already
    // is), the driver calls loop.DriveOnce() once on one of its threads, one call at a time; once
    // DriveOnce returns false, it stops watching and calls loop.Released(), and then no longer
    // touches the loop. Called on the loop's thread; an error leaves the loop on its thread.
    virtual absl::Status Watch(EventLoop& loop) = 0;
  };
  // Hands the waiting over to `driver`, which must keep polling until it has released the loop.
  // Returns once the driver watches the loop, or with the reason it cannot (the loop's thread then
  // carries on). FailedPrecondition when the loop is not running or already driven.
  absl::Status HandOver(Driver* driver);
  // Gives the waiting back to a thread of the loop's own (a new one); returns once the driver
  // released the loop. No-op when the loop is not driven. Stop calls it.
  void TakeBack();
  bool IsDriven() const;
  // For the driver: runs the loop's work that is ready (descriptors, timers, tasks) and returns
  // true, or returns false when the loop wants its waiting back.
  bool DriveOnce();
  // For the driver, after DriveOnce returned false and it stopped watching.
  void Released();
  // The descriptor a driver watches: readable when the loop has work.
  int pollable_fd() const { return epoll_fd_; }

  // Runs `task` on the loop thread. Any thread. After Stop, `task` is destroyed without running.
  void Post(absl::AnyInvocable<void()> task);
  // Runs `task` on the loop: at once on the calling thread when the loop is idle (or the caller is
  // already on it), else posted. Tasks posted earlier run first either way.
  template <typename Task>
  void RunOrPost(Task&& task) {
    if (!RunIfIdle(task)) Post(std::forward<Task>(task));
  }
  // Runs `task` at once on the calling thread when the loop is idle (or the caller is already on
  // it) and returns true; otherwise returns false and leaves `task` untouched.
  template <typename Task>
  bool RunIfIdle(Task& task) {
    if (IsInLoopThread()) {
      task();
      return true;
    }
    const EventLoop* previous = TryEnter();
    if (previous == this) return false;
    task();
    Exit(previous);
    return true;
  }

  // The longest the loop thread sleeps: a timer due later than that is armed without waking it.
  static constexpr absl::Duration kMaxSleep = absl::Milliseconds(100);
  // Runs `task` on the loop thread once `delay` has passed (delay <= 0: on the next iteration).
  TimerId RunAfter(absl::Duration delay, absl::AnyInvocable<void()> task);
  // Forgets a timer. Once it returns, the timer's task will not start (it may be running right now
  // on the loop thread when called from another thread). No-op when the timer already ran or is
  // unknown.
  void CancelTimer(TimerId id);

  // True on the loop: on its thread while it runs, or inside RunOrPost's task.
  bool IsInLoopThread() const;
  bool IsRunning() const { return running_.load(std::memory_order_acquire); }

  // Watches `fd` for `events` (an EPOLLIN/EPOLLOUT mask; level-triggered unless EPOLLET is
  // included). `callback` runs on the loop thread with the ready events. Fails if `fd` is already
  // watched.
  absl::Status Watch(int fd, uint32_t events, FdCallback callback);
  // Watch, replacing a registration `fd` still has: a descriptor number closed and reused behind
  // the loop's back (libcurl closes its sockets itself).
  absl::Status WatchReplacing(int fd, uint32_t events, FdCallback callback);
  // Changes the event mask of a watched descriptor.
  absl::Status Modify(int fd, uint32_t events);
  // Stops watching `fd`; its callback is destroyed once the current dispatch is over, so a callback
  // may unwatch its own descriptor. Events already collected for `fd` are dropped. Call before
  // closing `fd`.
  void Unwatch(int fd);

 private:
  struct Timer {
    int64_t due_ns;
    TimerId id;
  };
  struct TimerLater {
    bool operator()(const Timer& a, const Timer& b) const {
      return a.due_ns != b.due_ns ? a.due_ns > b.due_ns : a.id > b.id;
    }
  };
  struct Watcher {
    uint32_t generation =
        0;  // Tells an event collected for an old watcher of the same fd from a new one.
    std::unique_ptr<FdCallback> callback;  // Null when the fd is not watched.
  };

  void Run();
  // On the loop's thread, holding run_mu_: hands over to the pending driver. True when the driver
  // took the loop (the thread then ends); false, holding run_mu_ again, when it refused.
  bool RunDriven(std::unique_lock<std::mutex>& run);
  // Holding run_mu_: marks the loop idle (sleeping_) until its next timer and arms the timer
  // descriptor for it, which wakes the driver. False when the loop is wanted back instead.
  bool IdleDriven();
  // Holding run_mu_, both: runs the work that is ready, without waiting; dispatches one event.
  void RunReadyWork();
  void DispatchEvent(const epoll_event& event);
  // Takes the loop from another thread when its thread is asleep and returns the loop the thread
  // was on before (nullptr for none), or `this` when the loop could not be taken. Exit runs what
  // fell due meanwhile and gives the loop back.
  const EventLoop* TryEnter();
  void Exit(const EventLoop* previous);
  // Called with mu_ held: whether a task or a timer due at `due_ns` needs the sleeping loop thread
  // woken (at most one wake-up is outstanding).
  bool NeedsWakeUpLocked(int64_t due_ns);
  void WakeUp();
  void DrainWakeUpFd();
  void RunDueTimers();
  void RunPostedTasks();
  void DispatchFdEvent(uint64_t data, uint32_t events);

  const int epoll_fd_;
  const int wake_fd_;   // eventfd: other threads write to it to interrupt epoll_wait.
  const int timer_fd_;  // timerfd: while driven, readable when the next timer falls due.
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_requested_{false};
  std::mutex start_stop_mu_;  // Serialises Start, Stop and TakeBack (which restarts the thread).
  bool started_ = false;

  // Held by whoever runs the loop's work (see the class comment).
  std::mutex run_mu_;

  // Shared with other threads, guarded by mu_.
  mutable std::mutex mu_;
  std::vector<absl::AnyInvocable<void()>> tasks_;
  bool wake_pending_ = false;     // A wake-up was written and the loop thread has not woken since.
  Driver* handover_ = nullptr;    // Set by HandOver until the loop's thread takes it.
  absl::Status handover_result_;  // What Watch said, for HandOver.
  bool driven_ = false;           // A driver watches the loop (the loop has no thread running).
  bool take_back_ = false;        // TakeBack (or Stop) wants the loop's thread back.
  std::condition_variable mode_cv_;  // Signals changes of the four above and of stop_requested_.
  bool sleeping_ = false;          // No one runs the loop (thread in epoll_wait, or driven idle)...
  int64_t sleep_until_ns_ = 0;     // ...until then at the latest.
  std::vector<Timer> timer_heap_;  // Min-heap on due time; may hold entries of cancelled timers.
  absl::flat_hash_map<TimerId, absl::AnyInvocable<void()>> timer_tasks_;  // Live timers only.
  std::atomic<TimerId> next_timer_id_{1};

  // On the loop only (guarded by run_mu_).
  std::vector<absl::AnyInvocable<void()>> running_tasks_;
  std::vector<Watcher> watchers_;                               // Indexed by fd.
  std::vector<std::unique_ptr<FdCallback>> retired_callbacks_;  // Unwatched during dispatch.
  int64_t timer_armed_ns_ = 0;  // When timer_fd_ fires (0: not armed).
};

}  // namespace aarthik::upstream

#endif  // AARTHIK_SERVER_UPSTREAM_EVENT_LOOP_H_
