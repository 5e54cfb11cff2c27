// gRPC's count of CPUs, made the process's CPU budget. gRPC 1.51 sizes its own threads and shards
// from gpr_cpu_num_cores(), which is sysconf(_SC_NPROCESSORS_CONF): every CPU the machine has, not
// the ones the pod may use, and no setting changes it. On a 32-CPU node a pod limited to 2 CPUs
// then runs 16 `nexting_thread`s (Clamp(n / 2, 2, 16)) that pass gRPC's poller between them, and up
// to 64 executor threads; measured here, that costs 28 % more CPU per proxied call
// (docs/benchmarks.md, "Thirteenth session").
//
// This module's .cc defines gpr_cpu_num_cores and gpr_cpu_current_cpu (grpc/support/cpu.h) in the
// executable that links it. The dynamic linker looks in the executable before libgpr, and libgpr,
// libgrpc and libgrpc++ call both through their PLT (`objdump -R` lists them as JUMP_SLOT
// relocations), so gRPC sizes itself from DetectCpuBudget().usable. The two answers stay
// consistent: gRPC indexes arrays of gpr_cpu_num_cores() per-CPU entries with
// gpr_cpu_current_cpu(), which therefore maps the CPU the thread runs on into that range.
// integration.GrpcThreadsTest checks the effect on the gateway binary.
//
// AARTHIK_CPUS, when set, replaces the detected count (core/cpu_budget.h). It is an environment
// variable and not a flag because gRPC asks before main(), from static initialisers, and the answer
// may never change afterwards: gRPC sized arrays with it.
//
//   const core::CpuBudget& cpus = GrpcCpuBudget();   // also links the definitions in
//   int loops = std::clamp(cpus.usable, 2, 8);
//
// Thread-safety: thread-safe; the budget is read once, on the first call from any thread, which
// may come from gRPC before main().
#ifndef AARTHIK_SERVER_RPC_GRPC_CPU_COUNT_H_
#define AARTHIK_SERVER_RPC_GRPC_CPU_COUNT_H_

#include "absl/status/status.h"
#include "server/core/cpu_budget.h"

namespace aarthik::rpc {

// The process's CPU budget as read once, the same that gRPC sizes itself from.
const core::CpuBudget& GrpcCpuBudget();

// INVALID_ARGUMENT when AARTHIK_CPUS is set but not a CPU count (the budget then ignores it); the
// gateway refuses to start on it.
absl::Status GrpcCpuOverrideStatus();

}  // namespace aarthik::rpc

#endif  // AARTHIK_SERVER_RPC_GRPC_CPU_COUNT_H_
