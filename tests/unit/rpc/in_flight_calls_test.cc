#include "server/rpc/in_flight_calls.h"

#include <thread>

#include "gtest/gtest.h"

namespace aarthik::rpc {
namespace {

TEST(InFlightCallsTest, EnterReturnsHowManyWereInFlight) {
  InFlightCalls calls;
  EXPECT_EQ(calls.Enter(), 0);
  EXPECT_EQ(calls.Enter(), 1);
  calls.Leave();
  EXPECT_EQ(calls.count(), 1);
}

TEST(InFlightCallsTest, RefusesOnlyOnceDrainingWithTheFirstStatus) {
  InFlightCalls calls;
  EXPECT_EQ(calls.refusal(), nullptr);
  calls.StartDraining(absl::UnavailableError("shutting down"));
  calls.StartDraining(absl::InternalError("second"));
  ASSERT_NE(calls.refusal(), nullptr);
  EXPECT_EQ(*calls.refusal(), absl::UnavailableError("shutting down"));
}

TEST(InFlightCallsTest, WaitUntilIdleReturnsWhenTheLastCallLeaves) {
  InFlightCalls calls;
  calls.Enter();
  calls.Enter();
  calls.StartDraining(absl::UnavailableError("shutting down"));
  std::thread finisher([&] {
    calls.Leave();
    calls.Leave();
  });
  // A deadline far away: only the last Leave can end the wait.
  EXPECT_TRUE(calls.WaitUntilIdle(absl::Now() + absl::Hours(1)));
  finisher.join();
  EXPECT_EQ(calls.count(), 0);
}

TEST(InFlightCallsTest, WaitUntilIdleGivesUpAtTheDeadline) {
  InFlightCalls calls;
  calls.Enter();
  calls.StartDraining(absl::UnavailableError("shutting down"));
  EXPECT_FALSE(calls.WaitUntilIdle(absl::Now()));
  calls.Leave();
  EXPECT_TRUE(calls.WaitUntilIdle(absl::Now()));
}

}  // namespace
}  // namespace aarthik::rpc
