#include "server/core/cpu_budget.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace aarthik::core {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The process's cgroup path in /proc/self/cgroup's text: cgroup v2's line ("0::/path") when
// `controller` is empty, else the v1 hierarchy that lists it ("4:cpu,cpuacct:/path"). Returned
// with a leading slash and without a trailing one, so that the root is "".
std::optional<std::string> CgroupPath(absl::string_view proc_self_cgroup,
                                      absl::string_view controller) {
  for (absl::string_view line : absl::StrSplit(proc_self_cgroup, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    const std::vector<absl::string_view> controllers = absl::StrSplit(fields[1], ',');
    const bool match = controller.empty() ? fields[0] == "0" && fields[1].empty()
                                          : std::find(controllers.begin(), controllers.end(),
                                                      controller) != controllers.end();
    if (!match) continue;
    std::string path(absl::StripAsciiWhitespace(fields[2]));
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (!path.empty() && path.front() != '/') path.insert(0, "/");
    return path;
  }
  return std::nullopt;
}

// The smallest quota `read` finds in `dir` and its ancestors up to the mount (limits nest: a
// parent's applies to its children too).
template <typename ReadQuota>
std::optional<double> SmallestQuota(const std::string& mount, std::string path, ReadQuota read) {
  std::optional<double> smallest;
  while (true) {
    const std::optional<double> quota = read(mount + path);
    if (quota && (!smallest || *quota < *smallest)) smallest = quota;
    if (path.empty()) return smallest;
    path.erase(path.rfind('/'));
  }
}

std::optional<double> CgroupQuota(const CpuBudgetSources& sources) {
  const std::optional<std::string> membership = ReadFile(sources.proc_self_cgroup);
  if (!membership) return std::nullopt;
  if (ReadFile(sources.cgroup_mount + "/cgroup.controllers")) {  // the unified (v2) hierarchy
    const std::optional<std::string> path = CgroupPath(*membership, "");
    if (!path) return std::nullopt;
    return SmallestQuota(sources.cgroup_mount, *path, [](const std::string& dir) {
      const std::optional<std::string> cpu_max = ReadFile(dir + "/cpu.max");
      return cpu_max ? ParseCgroupV2CpuMax(*cpu_max) : std::nullopt;
    });
  }
  const std::optional<std::string> path = CgroupPath(*membership, "cpu");
  if (!path) return std::nullopt;
  return SmallestQuota(sources.cgroup_mount + "/cpu", *path, [](const std::string& dir) {
    const std::optional<std::string> quota = ReadFile(dir + "/cpu.cfs_quota_us");
    const std::optional<std::string> period = ReadFile(dir + "/cpu.cfs_period_us");
    return quota && period ? ParseCgroupV1Quota(*quota, *period) : std::nullopt;
  });
}

std::optional<double> QuotaOver(absl::string_view quota, absl::string_view period) {
  int64_t quota_us = 0;
  int64_t period_us = 0;
  if (!absl::SimpleAtoi(quota, &quota_us) || !absl::SimpleAtoi(period, &period_us)) {
    return std::nullopt;
  }
  if (quota_us <= 0 || period_us <= 0) return std::nullopt;
  return static_cast<double>(quota_us) / static_cast<double>(period_us);
}

}  // namespace

CpuBudget CombineCpuBudget(int online, int affinity, std::optional<double> quota) {
  CpuBudget budget{
      .online = online, .affinity = affinity, .quota = quota, .usable = std::max(1, online)};
  if (affinity > 0) budget.usable = std::min(budget.usable, affinity);
  if (quota) {  // compared as a double first: a huge quota does not fit an int
    const double cpus = std::ceil(std::min(*quota, static_cast<double>(budget.usable)));
    budget.usable = std::max(1, static_cast<int>(cpus));
  }
  return budget;
}

std::optional<double> ParseCgroupV2CpuMax(absl::string_view cpu_max) {
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(cpu_max), ' ', absl::SkipEmpty());
  if (fields.size() != 2 || fields[0] == "max") return std::nullopt;
  return QuotaOver(fields[0], fields[1]);
}

std::optional<double> ParseCgroupV1Quota(absl::string_view quota_us, absl::string_view period_us) {
  return QuotaOver(absl::StripAsciiWhitespace(quota_us), absl::StripAsciiWhitespace(period_us));
}

CpuBudget DetectCpuBudget(const CpuBudgetSources& sources) {
  const int online = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  cpu_set_t mask;
  CPU_ZERO(&mask);
  const int affinity = sched_getaffinity(0, sizeof(mask), &mask) == 0 ? CPU_COUNT(&mask) : 0;
  return CombineCpuBudget(online, affinity, CgroupQuota(sources));
}

absl::StatusOr<std::optional<int>> ParseCpuOverride(const char* value) {
  if (value == nullptr || *value == '\0') return std::nullopt;
  const absl::string_view text(value);
  int cpus = 0;
  // Digits only: SimpleAtoi alone would take " 2" and "+2".
  if (!std::all_of(text.begin(), text.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(text, &cpus) || cpus < 1 || cpus > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AARTHIK_CPUS=\"", value, "\": not a CPU count (a whole number from 1 to 1024)"));
  }
  return cpus;
}

CpuBudget ApplyCpuOverride(CpuBudget budget, std::optional<int> configured) {
  budget.configured = configured;
  if (configured) budget.usable = *configured;
  return budget;
}

}  // namespace aarthik::core
