#include "server/rpc/grpc_cpu_count.h"

#include <sched.h>

#include <cstdlib>
#include <optional>

#include "grpc/support/cpu.h"

namespace aarthik::rpc {

namespace {

struct GrpcCpus {
  core::CpuBudget budget;
  absl::Status override_status;  // AARTHIK_CPUS malformed: the detected budget is used
};

const GrpcCpus& Cpus() {
  // Only reads files, sysconf and the environment: safe before main() and before logging.
  static const GrpcCpus cpus = [] {
    GrpcCpus read;
    absl::StatusOr<std::optional<int>> configured =
        core::ParseCpuOverride(std::getenv("AARTHIK_CPUS"));
    read.override_status = configured.status();
    read.budget = core::ApplyCpuOverride(core::DetectCpuBudget(),
                                         configured.ok() ? *configured : std::nullopt);
    return read;
  }();
  return cpus;
}

}  // namespace

const core::CpuBudget& GrpcCpuBudget() { return Cpus().budget; }

absl::Status GrpcCpuOverrideStatus() { return Cpus().override_status; }

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
