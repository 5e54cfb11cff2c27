// The descriptor plan (server/core/fd_limits.h): every consumer's share stays below the limit
// minus the reserve, configured bounds win when the limit is generous, and RaiseFdLimit raises
// the soft limit to the hard one.
#include "server/core/fd_limits.h"

#include <sys/resource.h>

#include "gtest/gtest.h"

namespace aarthik::core {
namespace {

TEST(PlanFdBudget, ALowLimitCapsEveryConsumerAndKeepsTheReserve) {
  const FdBudget budget = PlanFdBudget({.fd_limit = 256,
                                        .http_max_connections = 1024,
                                        .upstream_max_connections = 10'000,
                                        .upstream_fds_per_connection = 3.0,
                                        .redis = true});
  EXPECT_EQ(budget.reserve, kMinFdReserve);
  EXPECT_EQ(budget.redis_fds, kRedisFds);
  EXPECT_TRUE(budget.http_capped);
  EXPECT_TRUE(budget.upstream_capped);
  EXPECT_GE(budget.http_max_connections, 1u);
  EXPECT_GE(budget.upstream_max_connections, 1u);
  const double used = static_cast<double>(budget.redis_fds + budget.http_max_connections) +
                      3.0 * static_cast<double>(budget.upstream_max_connections);
  EXPECT_LE(used, 256.0 - static_cast<double>(budget.reserve));
}

TEST(PlanFdBudget, AGenerousLimitKeepsTheConfiguredBounds) {
  const FdBudget budget = PlanFdBudget({.fd_limit = 1 << 20,
                                        .http_max_connections = 1024,
                                        .upstream_max_connections = 10'000,
                                        .upstream_fds_per_connection = 3.0,
                                        .redis = false});
  EXPECT_EQ(budget.reserve, (1u << 20) / 4);
  EXPECT_EQ(budget.redis_fds, 0u);
  EXPECT_EQ(budget.http_max_connections, 1024u);
  EXPECT_EQ(budget.upstream_max_connections, 10'000u);
  EXPECT_FALSE(budget.http_capped);
  EXPECT_FALSE(budget.upstream_capped);
}

TEST(PlanFdBudget, ALimitBelowTheReserveStillLeavesOneOfEach) {
  const FdBudget budget =
      PlanFdBudget({.fd_limit = 64, .http_max_connections = 10, .upstream_max_connections = 10});
  EXPECT_EQ(budget.http_max_connections, 1u);
  EXPECT_EQ(budget.upstream_max_connections, 1u);
}

TEST(RaiseFdLimit, RaisesTheSoftLimitToTheHardOne) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  rlimit lowered = before;
  lowered.rlim_cur = 64;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  absl::StatusOr<FdLimit> limit = RaiseFdLimit();
  ASSERT_TRUE(limit.ok()) << limit.status();
  EXPECT_EQ(limit->soft_before, 64u);
  EXPECT_EQ(limit->soft, limit->hard);
  EXPECT_EQ(CurrentFdLimit(), limit->hard);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &before), 0);
}

}  // namespace
}  // namespace aarthik::core
