// File descriptor limits: the process's RLIMIT_NOFILE, raised from its soft to its hard value at
// start, and the plan that shares it between the gateway's descriptor consumers so that none of
// them can starve the gRPC listener (gRPC 1.51 stops accepting for good after one EMFILE).
//
//   absl::StatusOr<FdLimit> limit = RaiseFdLimit();     // main(), before anything opens sockets
//   FdBudget budget = PlanFdBudget({.fd_limit = CurrentFdLimit(), .http_max_connections = 1024,
//                                   .upstream_max_connections = 10000,
//                                   .upstream_fds_per_connection = 3.0, .redis = false});
//   http_options.max_connections = budget.http_max_connections;
//
// The plan: a reserve (a quarter of the limit, at least kMinFdReserve) is left to gRPC's client
// connections and the process's fixed descriptors (epoll, eventfds, timers, stdio); of the rest,
// Redis takes its few, the HTTP listener at most a quarter, and the upstream connections what is
// left, divided by what one connection costs (a TLS connection of the HTTP/1.1 transport also
// holds its libcurl multi handle's two-descriptor socketpair). Each consumer keeps the smaller of
// its configured bound and its share.
//
// Thread-safety: pure functions, except RaiseFdLimit which changes the process's limit (call it
// once, from main).
#ifndef AARTHIK_SERVER_CORE_FD_LIMITS_H_
#define AARTHIK_SERVER_CORE_FD_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"

namespace aarthik::core {

struct FdLimit {
  uint64_t soft_before = 0;  // the soft limit the process started with
  uint64_t soft = 0;         // now
  uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard one (an unlimited hard limit: to the kernel's
// fs.nr_open). An error says why the limit could not be read or raised; the process keeps the
// limit it had.
absl::StatusOr<FdLimit> RaiseFdLimit();

// The soft RLIMIT_NOFILE now (what open/accept/socket are held to).
uint64_t CurrentFdLimit();

// Descriptors never handed to the planned consumers, whatever the limit.
inline constexpr uint64_t kMinFdReserve = 96;
// Descriptors counted for Redis when it is configured: two connections and a resolver's socket,
// with room to spare.
inline constexpr size_t kRedisFds = 4;

struct FdBudgetInput {
  uint64_t fd_limit = 0;
  size_t http_max_connections = 0;      // as configured
  size_t upstream_max_connections = 0;  // as configured (all upstream threads together)
  double upstream_fds_per_connection = 1.0;
  bool redis = false;
};

struct FdBudget {
  uint64_t reserve = 0;  // left to gRPC clients and the process's fixed descriptors
  size_t redis_fds = 0;
  size_t http_max_connections = 0;      // at least 1
  size_t upstream_max_connections = 0;  // at least 1
  bool http_capped = false;             // smaller than configured because of the limit
  bool upstream_capped = false;
};

FdBudget PlanFdBudget(const FdBudgetInput& input);

}  // namespace aarthik::core

#endif  // AARTHIK_SERVER_CORE_FD_LIMITS_H_
