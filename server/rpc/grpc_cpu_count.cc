#include "server/rpc/grpc_cpu_count.h"

#include <sched.h>

#include "grpc/support/cpu.h"

namespace aarthik::rpc {

const core::CpuBudget& GrpcCpuBudget() {
  // Only reads files and sysconf: safe before main() and before logging is set up.
  static const core::CpuBudget budget = core::DetectCpuBudget();
  return budget;
}

}  // namespace aarthik::rpc

extern "C" {

unsigned gpr_cpu_num_cores(void) {
  return static_cast<unsigned>(aarthik::rpc::GrpcCpuBudget().usable);
}

unsigned gpr_cpu_current_cpu(void) {
  const unsigned cpus = gpr_cpu_num_cores();
  if (cpus == 1) return 0;
  // The affinity mask may hold CPU 40 of a budget of 2; what gRPC needs is a shard below `cpus`
  // that threads on one CPU share.
  const int cpu = sched_getcpu();
  return cpu < 0 ? 0 : static_cast<unsigned>(cpu) % cpus;
}

}  // extern "C"
