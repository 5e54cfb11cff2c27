// How many CPUs the process may use: the CPUs of its affinity mask, capped by its cgroup's CPU
// quota. std::thread::hardware_concurrency counts neither: in a pod limited to 2 CPUs on a
// 64-core node it says 64, and thread pools sized from it oversubscribe the quota (more wake-ups,
// less batching per thread, and the quota's throttling).
//
//   CpuBudget cpus = DetectCpuBudget();  // reads /proc/self/cgroup and /sys/fs/cgroup
//   int loops = std::clamp(cpus.usable, 2, 8);
//
// The quota is cgroup v2's `cpu.max` of the process's cgroup and of each ancestor up to the
// mount's root (the smallest applies), or, on cgroup v1, `cpu.cfs_quota_us` / `cpu.cfs_period_us`
// of its `cpu` hierarchy's cgroup and ancestors. In a container with its own cgroup namespace the
// process's cgroup is the mount's root, which is where Kubernetes writes `resources.limits.cpu`.
// A fractional quota rounds up (1.5 CPUs can keep two threads busy half the time each). A pod with
// a CPU request and no limit has no quota: for it, AARTHIK_CPUS (as GOMAXPROCS for Go) says how
// many CPUs to size for, e.g. from the downward API's `requests.cpu`; ApplyCpuOverride puts it in.
//
// Thread-safety: pure functions, and DetectCpuBudget only reads files.
#ifndef AARTHIK_SERVER_CORE_CPU_BUDGET_H_
#define AARTHIK_SERVER_CORE_CPU_BUDGET_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aarthik::core {

struct CpuBudget {
  int online = 0;                 // CPUs the machine has online
  int affinity = 0;               // CPUs in the process's affinity mask; 0 when it cannot be read
  std::optional<double> quota;    // the cgroup CPU quota, in CPUs; none: unlimited or unknown
  std::optional<int> configured;  // AARTHIK_CPUS, when set: wins over what was detected
  int usable = 1;                 // what the process may use: at least 1
};

// `online` capped by `affinity` (when known) and by `quota` rounded up (when set).
CpuBudget CombineCpuBudget(int online, int affinity, std::optional<double> quota);

// cgroup v2 `cpu.max` ("max 100000", "150000 100000"): the quota in CPUs; none when unlimited
// or not in that form.
std::optional<double> ParseCgroupV2CpuMax(absl::string_view cpu_max);

// cgroup v1 `cpu.cfs_quota_us` ("-1": unlimited) over `cpu.cfs_period_us`.
std::optional<double> ParseCgroupV1Quota(absl::string_view quota_us, absl::string_view period_us);

// Where DetectCpuBudget reads; tests point these at files of their own.
struct CpuBudgetSources {
  std::string proc_self_cgroup = "/proc/self/cgroup";
  std::string cgroup_mount = "/sys/fs/cgroup";  // v2's unified mount, or v1's parent of `cpu/`
};

CpuBudget DetectCpuBudget(const CpuBudgetSources& sources = {});

// The value of AARTHIK_CPUS: none when unset or empty, else a whole number from 1 to 1024;
// anything else is INVALID_ARGUMENT.
absl::StatusOr<std::optional<int>> ParseCpuOverride(const char* value);

// `budget` with `configured` (AARTHIK_CPUS, when set) as its usable count.
CpuBudget ApplyCpuOverride(CpuBudget budget, std::optional<int> configured);

}  // namespace aarthik::core

#endif  // AARTHIK_SERVER_CORE_CPU_BUDGET_H_
