// CircuitBreaker state machine on fake time.
#include "server/platform/circuit_breaker.h"

#include <vector>

#include "gtest/gtest.h"

namespace aarthik::platform {
namespace {

using State = CircuitBreaker::State;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  CircuitBreakerTest()
      : breaker_({.consecutive_failures = 3,
                  .failure_ratio = 0.5,
                  .min_requests = 10,
                  .window = absl::Seconds(10),
                  .open_for = absl::Seconds(5)},
                 [this](State s) { changes_.push_back(s); }) {}

  bool Allow() {
    absl::Duration retry_in;
    return breaker_.Allow(now_, &retry_in);
  }

  absl::Time now_ = absl::FromUnixSeconds(2'000'000);
  std::vector<State> changes_;
  CircuitBreaker breaker_;
};

TEST_F(CircuitBreakerTest, OpensOnConsecutiveFailures) {
  breaker_.Record(false, now_);
  breaker_.Record(false, now_);
  breaker_.Record(true, now_);  // a success resets the streak
  breaker_.Record(false, now_);
  breaker_.Record(false, now_);
  EXPECT_EQ(breaker_.state(), State::kClosed);
  breaker_.Record(false, now_);
  EXPECT_EQ(breaker_.state(), State::kOpen);
  absl::Duration retry_in;
  EXPECT_FALSE(breaker_.Allow(now_ + absl::Seconds(1), &retry_in));
  EXPECT_EQ(retry_in, absl::Seconds(4));
}

TEST_F(CircuitBreakerTest, OpensOnFailureRatio) {
  for (int i = 0; i < 10; ++i)
    breaker_.Record(i % 2 == 0, now_);  // 50 % failures, never 3 in a row
  EXPECT_EQ(breaker_.state(), State::kOpen);
}

TEST_F(CircuitBreakerTest, RatioNeedsEnoughRequests) {
  for (int i = 0; i < 8; ++i) breaker_.Record(i % 2 == 0, now_);
  EXPECT_EQ(breaker_.state(), State::kClosed);
}

TEST_F(CircuitBreakerTest, HalfOpenLetsOneProbeAndClosesOnSuccess) {
  for (int i = 0; i < 3; ++i) breaker_.Record(false, now_);
  now_ += absl::Seconds(5);
  EXPECT_TRUE(Allow());  // the probe
  EXPECT_EQ(breaker_.state(), State::kHalfOpen);
  EXPECT_FALSE(Allow());  // only one
  breaker_.Record(true, now_);
  EXPECT_EQ(breaker_.state(), State::kClosed);
  EXPECT_TRUE(Allow());
  EXPECT_EQ(changes_, (std::vector<State>{State::kOpen, State::kHalfOpen, State::kClosed}));
}

TEST_F(CircuitBreakerTest, FailedProbeOpensAgain) {
  for (int i = 0; i < 3; ++i) breaker_.Record(false, now_);
  now_ += absl::Seconds(5);
  EXPECT_TRUE(Allow());
  breaker_.Record(false, now_);
  EXPECT_EQ(breaker_.state(), State::kOpen);
  EXPECT_FALSE(Allow());
}

TEST_F(CircuitBreakerTest, OldOutcomesLeaveTheWindow) {
  for (int i = 0; i < 9; ++i) breaker_.Record(i % 3 != 0, now_);
  now_ += absl::Seconds(11);
  for (int i = 0; i < 4; ++i) breaker_.Record(i % 2 == 0, now_);
  EXPECT_EQ(breaker_.state(), State::kClosed);  // only 4 outcomes in the window
}

}  // namespace
}  // namespace aarthik::platform
