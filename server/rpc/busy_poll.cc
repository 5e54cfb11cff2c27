#include "server/rpc/busy_poll.h"

#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "absl/base/config.h"

namespace aarthik::rpc {
namespace {

std::atomic<int64_t> g_budget_ns{0};
std::atomic<const InFlightCalls*> g_calls{nullptr};
std::atomic<uint64_t> g_caught{0};
std::atomic<uint64_t> g_timed_out{0};
thread_local bool t_enabled = false;

// What this thread's recent spins found, per kind of wait: with no call in flight it waits for a
// request, with one for that call's platform reply (or for another request). The two pay off
// separately: a caller may call back to back while the platform takes milliseconds.
struct SpinHistory {
  int misses_in_a_row = 0;
  int waits_since_probe = 0;
};
thread_local SpinHistory t_history[BusyPoll::kMaxCallsInFlight + 1];

int64_t MonotonicNanos() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// One look without blocking. The raw system call: libc's wrapper is a cancellation point and
// brackets every call with two more function calls (6 % of a spinning thread's time). Under
// ThreadSanitizer, libc's, which it intercepts: that is where it learns that what epoll_ctl
// registered happens before what epoll_wait returns.
inline int PollOnce(int epfd, epoll_event* events, int maxevents) {
#ifdef ABSL_HAVE_THREAD_SANITIZER
  return epoll_pwait(epfd, events, maxevents, 0, nullptr);
#else
  return static_cast<int>(syscall(SYS_epoll_pwait, epfd, events, maxevents, 0, nullptr, 0));
#endif
}

// The history this wait should spin under (and for how long), or null when it should block at
// once.
SpinHistory* SpinFor(int timeout_ms, int64_t* budget_ns) {
  if (timeout_ms == 0 || !t_enabled) return nullptr;
  *budget_ns = g_budget_ns.load(std::memory_order_relaxed);
  if (*budget_ns == 0) return nullptr;
  const InFlightCalls* calls = g_calls.load(std::memory_order_acquire);
  if (calls == nullptr) return nullptr;
  const int in_flight = calls->count();
  if (in_flight < 0 || in_flight > BusyPoll::kMaxCallsInFlight) return nullptr;
  SpinHistory& history = t_history[in_flight];
  if (history.misses_in_a_row < BusyPoll::kMaxMissesInARow) return &history;
  if (++history.waits_since_probe < BusyPoll::kProbeEvery) return nullptr;
  history.waits_since_probe = 0;
  return &history;  // a probe: has the traffic changed?
}

}  // namespace

void BusyPoll::Start(absl::Duration budget, const InFlightCalls* calls) {
  g_calls.store(calls, std::memory_order_release);
  g_budget_ns.store(absl::ToInt64Nanoseconds(budget), std::memory_order_relaxed);
}

void BusyPoll::Stop() {
  g_budget_ns.store(0, std::memory_order_relaxed);
  g_calls.store(nullptr, std::memory_order_release);
}

void BusyPoll::EnableOnThisThread() { t_enabled = true; }

BusyPoll::Counts BusyPoll::counts() {
  return {g_caught.load(std::memory_order_relaxed), g_timed_out.load(std::memory_order_relaxed)};
}

}  // namespace aarthik::rpc

extern "C" int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) {
  using aarthik::rpc::BusyPoll;
  using aarthik::rpc::g_caught;
  using aarthik::rpc::g_timed_out;
  int64_t budget_ns = 0;
  aarthik::rpc::SpinHistory* history = aarthik::rpc::SpinFor(timeout_ms, &budget_ns);
  if (history == nullptr) return epoll_pwait(epfd, events, maxevents, timeout_ms, nullptr);
  const int64_t start = aarthik::rpc::MonotonicNanos();
  int64_t spin_until = start + budget_ns;
  if (timeout_ms > 0) spin_until = std::min(spin_until, start + int64_t{timeout_ms} * 1'000'000);
  int64_t now = start;
  do {
    const int ready = aarthik::rpc::PollOnce(epfd, events, maxevents);
    if (ready != 0) {  // events, or an error the caller should see as it is
      if (ready > 0) {
        history->misses_in_a_row = 0;
        g_caught.fetch_add(1, std::memory_order_relaxed);
      }
      return ready;
    }
    aarthik::rpc::CpuRelax();
    now = aarthik::rpc::MonotonicNanos();
  } while (now < spin_until);
  history->misses_in_a_row = std::min(history->misses_in_a_row + 1, BusyPoll::kMaxMissesInARow);
  g_timed_out.fetch_add(1, std::memory_order_relaxed);
  if (timeout_ms < 0) return epoll_pwait(epfd, events, maxevents, -1, nullptr);
  // What is left of the caller's timeout, rounded up: never return before it.
  const int64_t left_ns = start + int64_t{timeout_ms} * 1'000'000 - now;
  if (left_ns <= 0) return 0;
  return epoll_pwait(epfd, events, maxevents, static_cast<int>((left_ns + 999'999) / 1'000'000),
                     nullptr);
}
