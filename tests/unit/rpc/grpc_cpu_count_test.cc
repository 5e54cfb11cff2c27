#include "server/rpc/grpc_cpu_count.h"

#include <dlfcn.h>
#include <sched.h>

#include <cstdlib>
#include <optional>
#include <thread>

#include "grpc/support/cpu.h"
#include "gtest/gtest.h"

namespace aarthik::rpc {
namespace {

TEST(GrpcCpuCountTest, GrpcCountsTheCpuBudget) {
  const std::optional<int> configured =
      core::ParseCpuOverride(std::getenv("AARTHIK_CPUS")).value_or(std::nullopt);
  EXPECT_EQ(GrpcCpuBudget().usable,
            core::ApplyCpuOverride(core::DetectCpuBudget(), configured).usable);
  EXPECT_EQ(gpr_cpu_num_cores(), static_cast<unsigned>(GrpcCpuBudget().usable));
}

TEST(GrpcCpuCountTest, TheDefinitionsAreTheOnesTheDynamicLinkerGivesGrpc) {
  // libgrpc binds to the first definition in the global scope: the executable's only if it is
  // exported there.
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "gpr_cpu_num_cores"), reinterpret_cast<void*>(&gpr_cpu_num_cores));
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "gpr_cpu_current_cpu"),
            reinterpret_cast<void*>(&gpr_cpu_current_cpu));
}

// gRPC indexes per-CPU arrays of gpr_cpu_num_cores() entries with gpr_cpu_current_cpu(): on every
// CPU the process may run on, whatever its number, the index is in range.
TEST(GrpcCpuCountTest, TheCurrentCpuIsAnIndexBelowTheCount) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  const unsigned cpus = gpr_cpu_num_cores();
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    std::thread([cpu, cpus] {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
      EXPECT_LT(gpr_cpu_current_cpu(), cpus) << "on CPU " << cpu;
      EXPECT_EQ(gpr_cpu_current_cpu(), cpus == 1 ? 0u : static_cast<unsigned>(cpu) % cpus);
    }).join();
  }
}

}  // namespace
}  // namespace aarthik::rpc
