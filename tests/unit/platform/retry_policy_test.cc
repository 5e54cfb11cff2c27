// RetryPolicy: what is retried, the backoff, and the budget (fake time).
#include "server/platform/retry_policy.h"

#include "gtest/gtest.h"

namespace aarthik::platform {
namespace {

transcode::PlatformReply Reply(int status) {
  transcode::PlatformReply reply;
  reply.http_status = status;
  if (status >= 400) reply.error = transcode::PlatformError{};
  return reply;
}

TEST(IsRetryableTest, TransientFailuresOnly) {
  EXPECT_TRUE(IsRetryable(absl::UnavailableError("connect refused")));
  EXPECT_FALSE(IsRetryable(absl::DeadlineExceededError("timeout")));
  EXPECT_FALSE(IsRetryable(absl::InternalError("bad body")));
  EXPECT_FALSE(IsRetryable(absl::CancelledError("caller left")));
  for (int status : {429, 502, 503, 504}) EXPECT_TRUE(IsRetryable(Reply(status))) << status;
  for (int status : {200, 400, 401, 403, 404, 409, 500})
    EXPECT_FALSE(IsRetryable(Reply(status))) << status;
}

TEST(BackoffTest, ExponentialWithFullJitterUpToTheCap) {
  RetryPolicy policy(
      {.initial_backoff = absl::Milliseconds(25), .max_backoff = absl::Milliseconds(200)});
  std::mt19937_64 random(1);
  for (int attempt = 1; attempt <= 6; ++attempt) {
    absl::Duration cap =
        std::min(absl::Milliseconds(25) * (1 << (attempt - 1)), absl::Milliseconds(200));
    for (int i = 0; i < 50; ++i) {
      std::optional<absl::Duration> wait = policy.Backoff(attempt, std::nullopt, random);
      ASSERT_TRUE(wait.has_value());
      EXPECT_GE(*wait, absl::ZeroDuration());
      EXPECT_LE(*wait, cap);
    }
  }
}

TEST(BackoffTest, HonoursRetryAfterUpToItsLimit) {
  RetryPolicy policy({.max_retry_after = absl::Seconds(2)});
  std::mt19937_64 random(1);
  EXPECT_EQ(policy.Backoff(1, absl::Seconds(1), random), absl::Seconds(1));
  EXPECT_EQ(policy.Backoff(1, absl::Seconds(3), random), std::nullopt);  // the caller waits, not us
}

TEST(RetryBudgetTest, RetriesStayWithinRatioPlusFloor) {
  RetryPolicy policy({.budget_ratio = 0.2, .min_retries_per_second = 1});
  absl::Time now = absl::FromUnixSeconds(1'000'000);
  for (int i = 0; i < 1000; ++i) policy.RecordRequest(now);
  int granted = 0;
  while (policy.TryAcquireRetry(now)) ++granted;
  EXPECT_EQ(granted, 200 + 10);  // 20 % of 1000 requests plus 1/s over the 10 s window
}

TEST(RetryBudgetTest, OldTrafficLeavesTheWindow) {
  RetryPolicy policy({.budget_ratio = 0.2, .min_retries_per_second = 0});
  absl::Time now = absl::FromUnixSeconds(1'000'000);
  for (int i = 0; i < 100; ++i) policy.RecordRequest(now);
  int granted = 0;
  while (policy.TryAcquireRetry(now)) ++granted;
  EXPECT_EQ(granted, 20);
  now += absl::Seconds(11);
  EXPECT_FALSE(policy.TryAcquireRetry(now));  // no recent requests, no floor: no retries
  policy.RecordRequest(now);
  for (int i = 0; i < 4; ++i) policy.RecordRequest(now);
  EXPECT_TRUE(policy.TryAcquireRetry(now));
  EXPECT_FALSE(policy.TryAcquireRetry(now));
}

}  // namespace
}  // namespace aarthik::platform
