// EventLoop handed over to a Driver (HandOver, DriveOnce, TakeBack), with a driver that polls the
// loop's descriptor from a thread of its own, as gRPC's poller does from its threads
// (rpc/grpc_loop_driver_test.cc tests that one).
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/upstream/event_loop.h"
#include "tests/support/sync.h"

namespace aarthik::upstream {
namespace {

class PollingThreadDriver : public EventLoop::Driver {
 public:
  ~PollingThreadDriver() override {
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Watch(EventLoop& loop) override {
    if (!refusal_.ok()) return refusal_;
    if (thread_.joinable()) thread_.join();  // The thread of an earlier watch, released.
    thread_ = std::thread([this, &loop] {
      while (true) {
        pollfd readable{loop.pollable_fd(), POLLIN, 0};
        poll(&readable, 1, -1);
        SetInPass(true);
        const bool again = loop.DriveOnce();
        SetInPass(false);
        if (!again) break;
      }
      loop.Released();
      released_.Notify();
    });
    thread_id_ = thread_.get_id();
    return absl::OkStatus();
  }

  void Refuse(absl::Status why) { refusal_ = std::move(why); }
  void WaitUntilReleased() { released_.WaitForNotification(); }
  // Until the pass running now (if any) is over.
  void WaitUntilBetweenPasses() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !in_pass_; });
  }
  std::thread::id thread_id() const { return thread_id_; }

 private:
  absl::Status refusal_;
  std::thread thread_;
  std::thread::id thread_id_;
  aarthik::testing::Notification released_;  // Of the last watch only: tests release once.
  std::mutex mu_;
  std::condition_variable cv_;
  bool in_pass_ = false;

  void SetInPass(bool in_pass) {
    std::lock_guard<std::mutex> lock(mu_);
    in_pass_ = in_pass;
    cv_.notify_all();
  }
};

// A count that another thread raises and a test waits for.
class Counter {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  void WaitFor(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return count_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

// The id of the thread that runs the loop's next task.
std::thread::id ThreadOfNextTask(EventLoop& loop) {
  std::thread::id id;
  aarthik::testing::Notification ran;
  loop.Post([&] {
    id = std::this_thread::get_id();
    ran.Notify();
  });
  ran.WaitForNotification();
  return id;
}

TEST(EventLoopDrivenTest, HandedOverTheDriversThreadRunsTasksInOrder) {
  PollingThreadDriver driver;  // Declared first: it must outlive the loop it drives.
  EventLoop loop;
  loop.Start();
  const std::thread::id own_thread = ThreadOfNextTask(loop);
  ASSERT_TRUE(loop.HandOver(&driver).ok());
  EXPECT_TRUE(loop.IsDriven());

  std::vector<int> order;
  std::atomic<bool> all_on_driver{true};
  aarthik::testing::Notification all_ran;
  for (int i = 0; i < 200; ++i) {
    loop.Post([&, i] {
      if (std::this_thread::get_id() != driver.thread_id() || !loop.IsInLoopThread()) {
        all_on_driver = false;
      }
      order.push_back(i);
      if (i == 199) all_ran.Notify();
    });
  }
  all_ran.WaitForNotification();
  EXPECT_TRUE(all_on_driver);
  ASSERT_EQ(order.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(order[i], i);
  EXPECT_NE(ThreadOfNextTask(loop), own_thread);
}

TEST(EventLoopDrivenTest, TimersFireInDueOrderWhileDriven) {
  PollingThreadDriver driver;
  EventLoop loop;
  loop.Start();
  ASSERT_TRUE(loop.HandOver(&driver).ok());

  aarthik::testing::Mutex mu;
  std::vector<int> fired;
  aarthik::testing::Notification last;
  auto record = [&](int n) {
    return [&, n] {
      aarthik::testing::MutexLock lock(&mu);
      fired.push_back(n);
      if (n == 3) last.Notify();
    };
  };
  // Armed from outside the loop, the earlier ones after the later: each must wake the idle
  // driven loop before the timer armed for the later one.
  loop.RunAfter(absl::Milliseconds(60), record(3));
  loop.RunAfter(absl::Milliseconds(30), record(2));
  const EventLoop::TimerId cancelled = loop.RunAfter(absl::Milliseconds(20), record(99));
  loop.RunAfter(absl::Milliseconds(10), record(1));
  loop.CancelTimer(cancelled);
  // Armed from a task on the loop: no wake-up, the pass arms the timer descriptor itself.
  loop.Post([&] { loop.RunAfter(absl::Milliseconds(40), record(25)); });
  last.WaitForNotification();
  aarthik::testing::MutexLock lock(&mu);
  EXPECT_THAT(fired, ::testing::ElementsAre(1, 2, 25, 3));
}

TEST(EventLoopDrivenTest, WatchedDescriptorsCallBackOnTheDriversThread) {
  PollingThreadDriver driver;
  EventLoop loop;
  loop.Start();
  ASSERT_TRUE(loop.HandOver(&driver).ok());
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  Counter reads;
  std::atomic<bool> on_driver{true};
  aarthik::testing::Notification watching;
  loop.Post([&] {
    ASSERT_TRUE(loop.Watch(fd, EPOLLIN,
                           [&](uint32_t) {
                             uint64_t value;
                             while (read(fd, &value, sizeof(value)) == sizeof(value)) reads.Add();
                             if (std::this_thread::get_id() != driver.thread_id())
                               on_driver = false;
                           })
                    .ok());
    watching.Notify();
  });
  watching.WaitForNotification();
  for (int i = 0; i < 5; ++i) {
    const uint64_t one = 1;
    ASSERT_EQ(write(fd, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
    reads.WaitFor(i + 1);
  }
  EXPECT_TRUE(on_driver);
  aarthik::testing::Notification unwatched;
  loop.Post([&] {
    loop.Unwatch(fd);
    unwatched.Notify();
  });
  unwatched.WaitForNotification();
  close(fd);
}

TEST(EventLoopDrivenTest, TakeBackReturnsTheLoopToItsOwnThread) {
  PollingThreadDriver driver;
  EventLoop loop;
  loop.Start();
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(loop.HandOver(&driver).ok());
    EXPECT_EQ(ThreadOfNextTask(loop), driver.thread_id());
    loop.TakeBack();
    EXPECT_FALSE(loop.IsDriven());
    // A thread of the loop's own again (a new one: the one that handed the loop over ended).
    const std::thread::id taken_back = ThreadOfNextTask(loop);
    EXPECT_NE(taken_back, driver.thread_id());
    EXPECT_NE(taken_back, std::this_thread::get_id());
  }
  // A timer armed while driven still fires after the loop was taken back.
  ASSERT_TRUE(loop.HandOver(&driver).ok());
  aarthik::testing::Notification fired;
  loop.RunAfter(absl::Milliseconds(30), [&] { fired.Notify(); });
  loop.TakeBack();
  fired.WaitForNotification();
}

TEST(EventLoopDrivenTest, RunOrPostRunsOnTheCallerWhileTheDrivenLoopIsIdle) {
  PollingThreadDriver driver;
  EventLoop loop;
  loop.Start();
  ASSERT_TRUE(loop.HandOver(&driver).ok());
  ThreadOfNextTask(loop);
  driver.WaitUntilBetweenPasses();  // Nothing else is posted: the loop stays idle.
  std::thread::id ran_on;
  loop.RunOrPost([&] { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(EventLoopDrivenTest, StopWhileDrivenTakesTheLoopBackAndDropsLaterPosts) {
  PollingThreadDriver driver;
  EventLoop loop;
  loop.Start();
  ASSERT_TRUE(loop.HandOver(&driver).ok());
  ThreadOfNextTask(loop);
  loop.Stop();
  EXPECT_FALSE(loop.IsDriven());
  std::atomic<bool> ran{false};
  loop.Post([&] { ran = true; });
  EXPECT_FALSE(ran);
}

TEST(EventLoopDrivenTest, ATaskThatRequestsStopReleasesTheDriver) {
  PollingThreadDriver driver;
  EventLoop loop;
  loop.Start();
  ASSERT_TRUE(loop.HandOver(&driver).ok());
  loop.Post([&] { loop.RequestStop(); });
  driver.WaitUntilReleased();
  EXPECT_FALSE(loop.IsDriven());
  loop.Stop();
}

TEST(EventLoopDrivenTest, ARefusingDriverLeavesTheLoopOnItsOwnThread) {
  PollingThreadDriver driver;
  EventLoop loop;
  loop.Start();
  const std::thread::id own_thread = ThreadOfNextTask(loop);
  driver.Refuse(absl::UnavailableError("no poller here"));
  const absl::Status handed = loop.HandOver(&driver);
  EXPECT_EQ(handed.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(loop.IsDriven());
  EXPECT_EQ(ThreadOfNextTask(loop), own_thread);
}

TEST(EventLoopDrivenTest, HandOverNeedsARunningLoopThatIsNotDrivenYet) {
  PollingThreadDriver driver;
  EventLoop idle;
  EXPECT_EQ(idle.HandOver(&driver).code(), absl::StatusCode::kFailedPrecondition);
  EventLoop loop;
  loop.Start();
  ASSERT_TRUE(loop.HandOver(&driver).ok());
  PollingThreadDriver second;
  EXPECT_EQ(loop.HandOver(&second).code(), absl::StatusCode::kFailedPrecondition);
  loop.TakeBack();
  loop.TakeBack();  // Not driven any more: a no-op.
}

}  // namespace
}  // namespace aarthik::upstream
