// rpc::BusyPoll through the epoll_wait this binary now has: which waits spin, and that a spin
// that catches its event never puts the thread to sleep. "Slept" is the thread's voluntary context
// switches (getrusage RUSAGE_THREAD), which grow only when it blocks.
#include "server/rpc/busy_poll.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aarthik::rpc {
namespace {

constexpr absl::Duration kLongBudget = absl::Seconds(30);  // never the reason a test ends

int64_t VoluntarySwitchesOfThisThread() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_nvcsw;
}

// The scheduler state letter of one of this process's threads ('S': asleep in the kernel).
char ThreadState(pid_t tid) {
  std::ifstream stat(absl::StrCat("/proc/self/task/", tid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t end_of_name = text.rfind(')');
  return end_of_name == std::string::npos || end_of_name + 2 >= text.size() ? '?'
                                                                            : text[end_of_name + 2];
}

// An epoll set watching one eventfd; Signal() makes the set ready.
class ReadySource {
 public:
  ReadySource() : epoll_(epoll_create1(EPOLL_CLOEXEC)), event_(eventfd(0, EFD_CLOEXEC)) {
    epoll_event interest{};
    interest.events = EPOLLIN;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, event_, &interest);
  }
  ~ReadySource() {
    close(event_);
    close(epoll_);
  }
  void Signal() {
    const uint64_t one = 1;
    ASSERT_EQ(write(event_, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  }
  void Drain() {
    uint64_t count;
    ASSERT_EQ(read(event_, &count, sizeof(count)), static_cast<ssize_t>(sizeof(count)));
  }
  int Wait(int timeout_ms) {
    epoll_event ready[4];
    return epoll_wait(epoll_, ready, 4, timeout_ms);
  }

 private:
  int epoll_;
  int event_;
};

struct WaitResult {
  int ready = -2;
  int64_t slept = -1;  // voluntary context switches during the wait
  BusyPoll::Counts before, after;
};

// Waits on `source` on a new thread (enabled for spinning when `enable`), and signals the source
// once the waiter is asleep or, when `signal_when_spinning`, once it is about to wait.
WaitResult WaitOnNewThread(ReadySource& source, bool enable, bool signal_when_spinning) {
  WaitResult result;
  std::atomic<pid_t> waiter{0};
  std::thread thread([&] {
    if (enable) BusyPoll::EnableOnThisThread();
    result.before = BusyPoll::counts();
    const int64_t switches = VoluntarySwitchesOfThisThread();
    waiter.store(static_cast<pid_t>(syscall(SYS_gettid)));
    result.ready = source.Wait(-1);
    result.slept = VoluntarySwitchesOfThisThread() - switches;
    result.after = BusyPoll::counts();
  });
  pid_t tid;
  while ((tid = waiter.load()) == 0) std::this_thread::yield();
  if (!signal_when_spinning) {
    while (ThreadState(tid) != 'S') std::this_thread::yield();
  }
  source.Signal();
  thread.join();
  return result;
}

class BusyPollTest : public ::testing::Test {
 protected:
  void TearDown() override { BusyPoll::Stop(); }
  InFlightCalls calls_;
  ReadySource source_;
};

TEST_F(BusyPollTest, AnEnabledThreadCatchesItsEventWithoutSleeping) {
  BusyPoll::Start(kLongBudget, &calls_);
  calls_.Enter();  // one call in flight: still a lone call
  const WaitResult wait = WaitOnNewThread(source_, /*enable=*/true, /*signal_when_spinning=*/true);
  calls_.Leave();
  EXPECT_EQ(wait.ready, 1);
  EXPECT_EQ(wait.slept, 0);
  EXPECT_EQ(wait.after.caught, wait.before.caught + 1);
  EXPECT_EQ(wait.after.timed_out, wait.before.timed_out);
}

TEST_F(BusyPollTest, AThreadNotEnabledSleeps) {
  BusyPoll::Start(kLongBudget, &calls_);
  const WaitResult wait =
      WaitOnNewThread(source_, /*enable=*/false, /*signal_when_spinning=*/false);
  EXPECT_EQ(wait.ready, 1);
  EXPECT_GE(wait.slept, 1);
  EXPECT_EQ(wait.after.caught, wait.before.caught);
}

TEST_F(BusyPollTest, TwoCallsInFlightCloseTheGate) {
  BusyPoll::Start(kLongBudget, &calls_);
  calls_.Enter();
  calls_.Enter();
  const WaitResult wait = WaitOnNewThread(source_, /*enable=*/true, /*signal_when_spinning=*/false);
  calls_.Leave();
  calls_.Leave();
  EXPECT_EQ(wait.ready, 1);
  EXPECT_GE(wait.slept, 1);
  EXPECT_EQ(wait.after.caught, wait.before.caught);
  EXPECT_EQ(wait.after.timed_out, wait.before.timed_out);
}

TEST_F(BusyPollTest, StoppedMeansEveryWaitSleeps) {
  BusyPoll::Start(kLongBudget, &calls_);
  BusyPoll::Stop();
  const WaitResult wait = WaitOnNewThread(source_, /*enable=*/true, /*signal_when_spinning=*/false);
  EXPECT_EQ(wait.ready, 1);
  EXPECT_GE(wait.slept, 1);
  EXPECT_EQ(wait.after.caught, wait.before.caught);
}

TEST_F(BusyPollTest, ASpinNeverOutlastsTheCallersTimeout) {
  BusyPoll::Start(kLongBudget, &calls_);
  BusyPoll::EnableOnThisThread();
  const BusyPoll::Counts before = BusyPoll::counts();
  EXPECT_EQ(source_.Wait(1), 0);  // nothing comes: the 1 ms timeout ends the spin, not 30 s
  EXPECT_EQ(BusyPoll::counts().timed_out, before.timed_out + 1);
}

TEST_F(BusyPollTest, ASpinThatFindsNothingThenSleepsUntilTheEvent) {
  BusyPoll::Start(absl::Microseconds(1), &calls_);
  const WaitResult wait = WaitOnNewThread(source_, /*enable=*/true, /*signal_when_spinning=*/false);
  EXPECT_EQ(wait.ready, 1);
  EXPECT_GE(wait.slept, 1);
  EXPECT_EQ(wait.after.timed_out, wait.before.timed_out + 1);
}

TEST_F(BusyPollTest, AZeroTimeoutNeverSpins) {
  BusyPoll::Start(kLongBudget, &calls_);
  BusyPoll::EnableOnThisThread();
  const BusyPoll::Counts before = BusyPoll::counts();
  EXPECT_EQ(source_.Wait(0), 0);
  source_.Signal();
  EXPECT_EQ(source_.Wait(0), 1);
  EXPECT_EQ(BusyPoll::counts().caught, before.caught);
  EXPECT_EQ(BusyPoll::counts().timed_out, before.timed_out);
}

// The adaptive part, each on a thread of its own (the history is the thread's). A budget of 1 us
// makes every spin without a ready event a miss.
class BusyPollHistoryTest : public BusyPollTest {
 protected:
  // Runs `body` on a new thread that may spin.
  template <typename Body>
  void OnSpinningThread(Body body) {
    std::thread thread([&] {
      BusyPoll::EnableOnThisThread();
      body();
    });
    thread.join();
  }
  // `waits` waits for nothing (1 ms each); returns how many of them spun.
  uint64_t FruitlessWaits(int waits) {
    const uint64_t before = BusyPoll::counts().timed_out;
    for (int i = 0; i < waits; ++i) EXPECT_EQ(source_.Wait(1), 0);
    return BusyPoll::counts().timed_out - before;
  }
};

TEST_F(BusyPollHistoryTest, TwoFruitlessSpinsInARowStopSpinningExceptForAProbe) {
  BusyPoll::Start(absl::Microseconds(1), &calls_);
  OnSpinningThread([&] {
    EXPECT_EQ(FruitlessWaits(BusyPoll::kMaxMissesInARow), 2u);
    EXPECT_EQ(FruitlessWaits(BusyPoll::kProbeEvery - 1), 0u);
    EXPECT_EQ(FruitlessWaits(1), 1u);  // the probe
    EXPECT_EQ(FruitlessWaits(BusyPoll::kProbeEvery - 1), 0u);
  });
}

TEST_F(BusyPollHistoryTest, AProbeThatFindsItsEventResumesSpinning) {
  BusyPoll::Start(absl::Microseconds(1), &calls_);
  OnSpinningThread([&] {
    FruitlessWaits(BusyPoll::kMaxMissesInARow + BusyPoll::kProbeEvery - 1);
    source_.Signal();
    const uint64_t caught = BusyPoll::counts().caught;
    EXPECT_EQ(source_.Wait(1), 1);  // the probe finds it
    EXPECT_EQ(BusyPoll::counts().caught, caught + 1);
    source_.Drain();
    EXPECT_EQ(FruitlessWaits(1), 1u);  // spinning again
  });
}

TEST_F(BusyPollHistoryTest, WaitsWithACallInFlightAreJudgedApart) {
  BusyPoll::Start(absl::Microseconds(1), &calls_);
  OnSpinningThread([&] {
    calls_.Enter();  // waiting for the platform, which is slow
    EXPECT_EQ(FruitlessWaits(BusyPoll::kMaxMissesInARow + 1), 2u);
    calls_.Leave();  // waiting for the next request: still spins
    EXPECT_EQ(FruitlessWaits(1), 1u);
  });
}

}  // namespace
}  // namespace aarthik::rpc
