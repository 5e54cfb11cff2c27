#include "server/core/fd_limits.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace aarthik::core {
namespace {

// The most RLIMIT_NOFILE may be set to when the hard limit is "unlimited".
uint64_t KernelNrOpen() {
  std::ifstream in("/proc/sys/fs/nr_open");
  uint64_t value = 0;
  if (in >> value && value > 0) return value;
  return 1 << 20;  // the kernel's default
}

}  // namespace

absl::StatusOr<FdLimit> RaiseFdLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::InternalError(absl::StrCat("getrlimit(RLIMIT_NOFILE): ", std::strerror(errno)));
  }
  FdLimit result;
  result.soft_before = limit.rlim_cur;
  result.hard = limit.rlim_max == RLIM_INFINITY ? KernelNrOpen() : limit.rlim_max;
  result.soft = limit.rlim_cur;
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= result.hard) return result;
  limit.rlim_cur = result.hard;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::InternalError(
        absl::StrCat("setrlimit(RLIMIT_NOFILE, ", result.hard, "): ", std::strerror(errno)));
  }
  result.soft = result.hard;
  return result;
}

uint64_t CurrentFdLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  return limit.rlim_cur == RLIM_INFINITY ? KernelNrOpen() : limit.rlim_cur;
}

FdBudget PlanFdBudget(const FdBudgetInput& input) {
  FdBudget budget;
  budget.reserve = std::max<uint64_t>(kMinFdReserve, input.fd_limit / 4);
  uint64_t left = input.fd_limit > budget.reserve ? input.fd_limit - budget.reserve : 0;
  budget.redis_fds = input.redis ? kRedisFds : 0;
  left = left > budget.redis_fds ? left - budget.redis_fds : 0;
  const uint64_t http_share = std::max<uint64_t>(1, left / 4);
  budget.http_max_connections = static_cast<size_t>(
      std::max<uint64_t>(1, std::min<uint64_t>(input.http_max_connections, http_share)));
  budget.http_capped = budget.http_max_connections < input.http_max_connections;
  left = left > budget.http_max_connections ? left - budget.http_max_connections : 0;
  const double per_connection = std::max(1.0, input.upstream_fds_per_connection);
  const uint64_t upstream_share = static_cast<uint64_t>(static_cast<double>(left) / per_connection);
  budget.upstream_max_connections = static_cast<size_t>(
      std::max<uint64_t>(1, std::min<uint64_t>(input.upstream_max_connections, upstream_share)));
  budget.upstream_capped = budget.upstream_max_connections < input.upstream_max_connections;
  return budget;
}

}  // namespace aarthik::core
