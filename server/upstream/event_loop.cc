#include "server/upstream/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"

namespace aarthik::upstream {
namespace {

// The wake-up eventfd and the timerfd are registered with these tags; watched fds carry
// (generation << 32 | fd) instead, and a generation is never zero, so no watched fd can collide.
constexpr uint64_t kWakeUpTag = 0xffffffffULL;
constexpr uint64_t kTimerTag = 0xfffffffeULL;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int kMaxEventsPerWait = 256;

// The loop the calling thread is running work of, if any (see IsInLoopThread).
thread_local const EventLoop* running_loop = nullptr;

// Takes `mu` for the loop thread, which wants it back after epoll_wait: a thread inside RunOrPost
// holds it for a few microseconds, less than the two context switches of sleeping on it.
void LockSpinningFirst(std::mutex& mu) {
  for (int i = 0; i < 200; ++i) {
    if (mu.try_lock()) return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  mu.lock();
}

int64_t MonotonicNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int CreateOrDie(int fd, const char* what) {
  if (fd < 0) {
    // Without these descriptors the process cannot talk to its upstream at all: fail loudly at
    // start-up.
    std::fprintf(stderr, "EventLoop: %s failed: %s\n", what, std::strerror(errno));
    std::abort();
  }
  return fd;
}

}  // namespace

EventLoop::EventLoop()
    : epoll_fd_(CreateOrDie(epoll_create1(EPOLL_CLOEXEC), "epoll_create1")),
      wake_fd_(CreateOrDie(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd")),
      timer_fd_(CreateOrDie(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC),
                            "timerfd_create")) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeUpTag;
  CreateOrDie(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev), "epoll_ctl(eventfd)");
  ev.data.u64 = kTimerTag;
  CreateOrDie(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &ev), "epoll_ctl(timerfd)");
}

EventLoop::~EventLoop() {
  Stop();
  close(timer_fd_);
  close(wake_fd_);
  close(epoll_fd_);
}

void EventLoop::Start() {
  std::lock_guard<std::mutex> lock(start_stop_mu_);
  if (started_) return;
  started_ = true;
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this] { Run(); });
}

void EventLoop::RequestStop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_requested_.store(true, std::memory_order_release);
    mode_cv_.notify_all();
  }
  WakeUp();
}

void EventLoop::Stop() {
  TakeBack();
  std::vector<absl::AnyInvocable<void()>> leftovers;  // Tasks of the batch the loop was running.
  {
    std::lock_guard<std::mutex> lock(start_stop_mu_);
    started_ = true;  // A loop stopped before it started never starts.
    RequestStop();
    if (thread_.joinable()) thread_.join();
    running_.store(false, std::memory_order_release);
    std::lock_guard<std::mutex> run(run_mu_);  // A RunOrPost task may still be running.
    leftovers.swap(running_tasks_);
  }
  leftovers.clear();
  // Destroy what never ran outside the lock: destructors may post (and be dropped) or cancel
  // timers.
  for (;;) {
    std::vector<absl::AnyInvocable<void()>> tasks;
    absl::flat_hash_map<TimerId, absl::AnyInvocable<void()>> timers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks.swap(tasks_);
      timers.swap(timer_tasks_);
      timer_heap_.clear();
    }
    if (tasks.empty() && timers.empty()) break;
  }
}

bool EventLoop::IsInLoopThread() const { return running_loop == this; }

const EventLoop* EventLoop::TryEnter() {
  if (!IsRunning() || stop_requested_.load(std::memory_order_acquire)) return this;
  if (!run_mu_.try_lock()) return this;
  if (stop_requested_.load(std::memory_order_acquire)) {
    run_mu_.unlock();
    return this;
  }
  const EventLoop* previous = running_loop;
  running_loop = this;
  RunPostedTasks();  // Earlier posts first: a thread's tasks keep their order.
  return previous;
}

void EventLoop::Exit(const EventLoop* previous) {
  RunDueTimers();
  RunPostedTasks();
  retired_callbacks_.clear();
  bool wake = false;
  {
    // What this thread posted or armed while on the loop did not wake the sleeping loop thread;
    // wake it now if it has to see any of it before its planned wake-up.
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t next_due_ns = !tasks_.empty()        ? std::numeric_limits<int64_t>::min()
                                : !timer_heap_.empty() ? timer_heap_.front().due_ns
                                                       : std::numeric_limits<int64_t>::max();
    wake = NeedsWakeUpLocked(next_due_ns);
  }
  running_loop = previous;
  run_mu_.unlock();
  if (wake) WakeUp();
}

bool EventLoop::NeedsWakeUpLocked(int64_t due_ns) {
  if (!sleeping_ || wake_pending_ || due_ns >= sleep_until_ns_) return false;
  wake_pending_ = true;
  return true;
}

void EventLoop::WakeUp() {
  uint64_t one = 1;
  // EAGAIN means the counter is saturated, i.e. a wake-up is pending anyway.
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
}

void EventLoop::DrainWakeUpFd() {
  uint64_t count;
  [[maybe_unused]] ssize_t n = read(wake_fd_, &count, sizeof(count));
}

void EventLoop::Post(absl::AnyInvocable<void()> task) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_requested_.load(std::memory_order_acquire) && !IsRunning()) {
      // Stopped: destroy the task outside the lock (below) without running it.
    } else {
      tasks_.push_back(std::move(task));
      // The loop thread checks the queue before it sleeps, and a thread leaving the loop checks it
      // in Exit: only posts from outside to a sleeping loop need a wake-up.
      wake = !IsInLoopThread() && NeedsWakeUpLocked(std::numeric_limits<int64_t>::min());
      task = nullptr;
    }
  }
  if (wake) WakeUp();
}

EventLoop::TimerId EventLoop::RunAfter(absl::Duration delay, absl::AnyInvocable<void()> task) {
  const TimerId id = next_timer_id_.fetch_add(1, std::memory_order_relaxed);
  const int64_t due_ns = MonotonicNowNs() + std::max<int64_t>(0, absl::ToInt64Nanoseconds(delay));
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_requested_.load(std::memory_order_acquire) && !IsRunning()) return id;
    // Cancelled timers leave stale heap entries; rebuild the heap before they outnumber the live
    // ones.
    if (timer_heap_.size() > 64 && timer_heap_.size() > 2 * timer_tasks_.size()) {
      timer_heap_.erase(
          std::remove_if(timer_heap_.begin(), timer_heap_.end(),
                         [this](const Timer& t) { return !timer_tasks_.contains(t.id); }),
          timer_heap_.end());
      std::make_heap(timer_heap_.begin(), timer_heap_.end(), TimerLater());
    }
    timer_heap_.push_back(Timer{due_ns, id});
    std::push_heap(timer_heap_.begin(), timer_heap_.end(), TimerLater());
    timer_tasks_.emplace(id, std::move(task));
    wake = !IsInLoopThread() && NeedsWakeUpLocked(due_ns);
  }
  if (wake) WakeUp();
  return id;
}

void EventLoop::CancelTimer(TimerId id) {
  absl::AnyInvocable<void()> cancelled;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = timer_tasks_.find(id);
    if (it == timer_tasks_.end()) return;
    cancelled = std::move(it->second);
    timer_tasks_.erase(it);
  }
  // `cancelled` is destroyed here, outside the lock, in case its destructor posts or cancels.
}

absl::Status EventLoop::Watch(int fd, uint32_t events, FdCallback callback) {
  if (fd < 0) return absl::InvalidArgumentError("EventLoop::Watch: negative fd");
  if (static_cast<size_t>(fd) >= watchers_.size()) watchers_.resize(fd + 1);
  Watcher& watcher = watchers_[fd];
  if (watcher.callback != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("EventLoop::Watch: fd ", fd, " is already watched"));
  }
  if (++watcher.generation == 0) watcher.generation = 1;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<uint64_t>(watcher.generation) << 32) | static_cast<uint32_t>(fd);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl(ADD, ", fd, "): ", std::strerror(errno)));
  }
  watcher.callback = std::make_unique<FdCallback>(std::move(callback));
  return absl::OkStatus();
}

absl::Status EventLoop::WatchReplacing(int fd, uint32_t events, FdCallback callback) {
  if (fd >= 0 && static_cast<size_t>(fd) < watchers_.size() && watchers_[fd].callback != nullptr) {
    Unwatch(fd);
  }
  return Watch(fd, events, std::move(callback));
}

absl::Status EventLoop::Modify(int fd, uint32_t events) {
  if (fd < 0 || static_cast<size_t>(fd) >= watchers_.size() || watchers_[fd].callback == nullptr) {
    return absl::NotFoundError(absl::StrCat("EventLoop::Modify: fd ", fd, " is not watched"));
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (static_cast<uint64_t>(watchers_[fd].generation) << 32) | static_cast<uint32_t>(fd);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl(MOD, ", fd, "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void EventLoop::Unwatch(int fd) {
  if (fd < 0 || static_cast<size_t>(fd) >= watchers_.size()) return;
  Watcher& watcher = watchers_[fd];
  if (watcher.callback == nullptr) return;
  // Fails harmlessly (EBADF) when the owner closed the fd first: the kernel already dropped it.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  // The callback may be the one running right now: keep it alive until the dispatch is over.
  retired_callbacks_.push_back(std::move(watcher.callback));
  ++watcher.generation;  // Events already collected for this fd no longer match.
  if (watcher.generation == 0) watcher.generation = 1;
}

void EventLoop::DispatchFdEvent(uint64_t data, uint32_t events) {
  const int fd = static_cast<int>(data & 0xffffffffULL);
  const uint32_t generation = static_cast<uint32_t>(data >> 32);
  if (static_cast<size_t>(fd) >= watchers_.size()) return;
  Watcher& watcher = watchers_[fd];
  if (watcher.generation != generation || watcher.callback == nullptr) return;
  FdCallback* callback = watcher.callback.get();  // Stays valid: Unwatch retires, never destroys.
  (*callback)(events);
}

void EventLoop::RunDueTimers() {
  const int64_t now_ns = MonotonicNowNs();
  // One timer at a time, so that a timer may cancel another that is due in the same pass.
  while (!stop_requested_.load(std::memory_order_acquire)) {
    absl::AnyInvocable<void()> task;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (timer_heap_.empty() || timer_heap_.front().due_ns > now_ns) break;
      const TimerId id = timer_heap_.front().id;
      std::pop_heap(timer_heap_.begin(), timer_heap_.end(), TimerLater());
      timer_heap_.pop_back();
      auto it = timer_tasks_.find(id);
      if (it == timer_tasks_.end()) continue;  // Cancelled.
      task = std::move(it->second);
      timer_tasks_.erase(it);
    }
    task();
  }
}

void EventLoop::RunPostedTasks() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (tasks_.empty()) return;
    running_tasks_.swap(tasks_);
  }
  for (auto& task : running_tasks_) {
    if (stop_requested_.load(std::memory_order_acquire)) return;  // Stop destroys the rest.
    task();
    task = nullptr;  // Release captures now, in posting order.
  }
  running_tasks_.clear();
}

absl::Status EventLoop::HandOver(Driver* driver) {
  bool wake = false;
  std::unique_lock<std::mutex> lock(mu_);
  if (!IsRunning() || stop_requested_.load(std::memory_order_acquire)) {
    return absl::FailedPreconditionError("EventLoop::HandOver: the loop is not running");
  }
  if (driven_ || handover_ != nullptr) {
    return absl::FailedPreconditionError("EventLoop::HandOver: the loop is driven already");
  }
  handover_ = driver;
  wake = NeedsWakeUpLocked(std::numeric_limits<int64_t>::min());
  lock.unlock();
  if (wake) WakeUp();
  lock.lock();
  mode_cv_.wait(lock, [this] {
    return handover_ == nullptr || stop_requested_.load(std::memory_order_acquire);
  });
  if (handover_ != nullptr) {
    handover_ = nullptr;
    return absl::CancelledError("EventLoop::HandOver: the loop stopped");
  }
  return handover_result_;
}

void EventLoop::TakeBack() {
  // Serialises take-backs with each other and with Start and Stop, which touch thread_ too.
  std::lock_guard<std::mutex> start_stop(start_stop_mu_);
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!driven_) return;
    take_back_ = true;
    // An idle driven loop needs its descriptor to turn readable for the driver to call DriveOnce
    // (and learn that it is wanted back); a busy one sees take_back_ before it goes idle.
    const bool wake = NeedsWakeUpLocked(std::numeric_limits<int64_t>::min());
    lock.unlock();
    if (wake) WakeUp();
    lock.lock();
    mode_cv_.wait(lock, [this] { return !driven_; });
    take_back_ = false;
  }
  // The loop's thread returned when it handed the loop over; a new one takes the waiting back.
  if (thread_.joinable()) thread_.join();
  if (!stop_requested_.load(std::memory_order_acquire)) thread_ = std::thread([this] { Run(); });
}

bool EventLoop::IsDriven() const {
  std::lock_guard<std::mutex> lock(mu_);
  return driven_;
}

void EventLoop::Released() {
  std::lock_guard<std::mutex> lock(mu_);
  driven_ = false;
  mode_cv_.notify_all();
}

bool EventLoop::DriveOnce() {
  LockSpinningFirst(run_mu_);
  std::unique_lock<std::mutex> run(run_mu_, std::adopt_lock);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!driven_ || take_back_ || stop_requested_.load(std::memory_order_acquire)) return false;
    sleeping_ = false;
    wake_pending_ = false;
  }
  const EventLoop* previous = running_loop;
  running_loop = this;
  RunReadyWork();
  running_loop = previous;
  return IdleDriven();
}

bool EventLoop::RunDriven(std::unique_lock<std::mutex>& run) {
  Driver* driver = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    driver = handover_;
    driven_ = true;
    take_back_ = false;
  }
  absl::Status watched = absl::CancelledError("EventLoop::HandOver: the loop stopped");
  const bool idle = IdleDriven();
  running_loop = nullptr;
  run.unlock();
  // The driver may call DriveOnce from here on, even before Watch returns.
  if (idle) watched = driver->Watch(*this);
  {
    std::lock_guard<std::mutex> lock(mu_);
    handover_ = nullptr;
    handover_result_ = watched;
    if (!watched.ok()) driven_ = false;
    mode_cv_.notify_all();
  }
  if (watched.ok()) return true;
  LockSpinningFirst(run_mu_);
  run = std::unique_lock<std::mutex>(run_mu_, std::adopt_lock);
  running_loop = this;
  std::lock_guard<std::mutex> lock(mu_);
  sleeping_ = false;
  wake_pending_ = false;
  return false;
}

bool EventLoop::IdleDriven() {
  int64_t arm_at = kNever;
  bool tasks_waiting = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (take_back_ || stop_requested_.load(std::memory_order_acquire)) return false;
    // Tasks posted during the pass by threads that saw the loop busy did not wake it: one more
    // pass, through the descriptor, so that the driver's thread goes back to its own work first.
    tasks_waiting = !tasks_.empty();
    const int64_t next_due = timer_heap_.empty() ? kNever : timer_heap_.front().due_ns;
    if (next_due != kNever && (timer_armed_ns_ == 0 || next_due < timer_armed_ns_)) {
      arm_at = next_due;
    }
    // A timer armed earlier than needed (its task was cancelled) only costs a spurious pass.
    sleep_until_ns_ = arm_at != kNever ? arm_at : timer_armed_ns_ != 0 ? timer_armed_ns_ : kNever;
    sleeping_ = true;
    wake_pending_ = tasks_waiting;
  }
  if (tasks_waiting) WakeUp();
  if (arm_at != kNever) {
    itimerspec due{};
    const int64_t at = std::max<int64_t>(arm_at, 1);  // 0 would disarm it.
    due.it_value.tv_sec = at / 1000000000;
    due.it_value.tv_nsec = at % 1000000000;
    if (timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &due, nullptr) != 0) {
      std::fprintf(stderr, "EventLoop: timerfd_settime failed: %s\n", std::strerror(errno));
      std::abort();
    }
    timer_armed_ns_ = arm_at;
  }
  return true;
}

void EventLoop::DispatchEvent(const epoll_event& event) {
  if (event.data.u64 == kWakeUpTag) {
    DrainWakeUpFd();
  } else if (event.data.u64 == kTimerTag) {
    uint64_t expirations;
    [[maybe_unused]] ssize_t n = read(timer_fd_, &expirations, sizeof(expirations));
    timer_armed_ns_ = 0;
  } else {
    DispatchFdEvent(event.data.u64, event.events);
  }
}

void EventLoop::RunReadyWork() {
  epoll_event events[kMaxEventsPerWait];
  for (;;) {
    const int n = epoll_wait(epoll_fd_, events, kMaxEventsPerWait, 0);
    for (int i = 0; i < n && !stop_requested_.load(std::memory_order_acquire); ++i) {
      DispatchEvent(events[i]);
    }
    retired_callbacks_.clear();
    RunDueTimers();
    RunPostedTasks();
    if (n < kMaxEventsPerWait || stop_requested_.load(std::memory_order_acquire)) return;
  }
}

void EventLoop::Run() {
  std::unique_lock<std::mutex> run(run_mu_);
  running_loop = this;
  epoll_event events[kMaxEventsPerWait];
  const int64_t max_sleep_ns = absl::ToInt64Nanoseconds(kMaxSleep);
  while (!stop_requested_.load(std::memory_order_acquire)) {
    int timeout_ms = 0;
    bool hand_over = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      hand_over = handover_ != nullptr;
      if (!hand_over && tasks_.empty()) {
        const int64_t now_ns = MonotonicNowNs();
        int64_t wait_ns = max_sleep_ns;
        if (!timer_heap_.empty()) {
          wait_ns = std::clamp<int64_t>(timer_heap_.front().due_ns - now_ns, 0, max_sleep_ns);
        }
        // Round up: waking a little late is harmless, waking early spins.
        timeout_ms = static_cast<int>((wait_ns + 999999) / 1000000);
        sleeping_ = timeout_ms > 0;
        sleep_until_ns_ = now_ns + wait_ns;
      }
    }
    if (hand_over) {
      // Handed over: this thread is done (TakeBack starts another, so none sits parked).
      if (RunDriven(run)) return;
      continue;
    }
    run.unlock();
    const int n = epoll_wait(epoll_fd_, events, kMaxEventsPerWait, timeout_ms);
    const int wait_errno = errno;
    LockSpinningFirst(run_mu_);
    run = std::unique_lock<std::mutex>(run_mu_, std::adopt_lock);
    {
      std::lock_guard<std::mutex> lock(mu_);
      sleeping_ = false;
      wake_pending_ = false;
    }
    if (n < 0 && wait_errno != EINTR) {
      std::fprintf(stderr, "EventLoop: epoll_wait failed: %s\n", std::strerror(wait_errno));
      std::abort();
    }
    for (int i = 0; i < n && !stop_requested_.load(std::memory_order_acquire); ++i) {
      DispatchEvent(events[i]);
    }
    retired_callbacks_.clear();
    RunDueTimers();
    RunPostedTasks();
  }
  running_loop = nullptr;
}

}  // namespace aarthik::upstream
