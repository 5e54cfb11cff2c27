// The CPU budget (server/core/cpu_budget.h): the cgroup quota files of both versions parsed, the
// smallest quota of the process's cgroup and its ancestors found in a cgroup tree laid out in a
// temporary directory, and the budget combined from the machine, the affinity mask and the quota.
#include "server/core/cpu_budget.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aarthik::core {
namespace {

TEST(ParseCgroupV2CpuMax, ReadsTheQuotaInCpus) {
  EXPECT_EQ(ParseCgroupV2CpuMax("200000 100000\n"), 2.0);
  EXPECT_EQ(ParseCgroupV2CpuMax("150000 100000"), 1.5);
  EXPECT_EQ(ParseCgroupV2CpuMax("max 100000\n"), std::nullopt);
}

TEST(ParseCgroupV2CpuMax, RefusesWhatIsNotAQuota) {
  EXPECT_EQ(ParseCgroupV2CpuMax(""), std::nullopt);
  EXPECT_EQ(ParseCgroupV2CpuMax("200000"), std::nullopt);
  EXPECT_EQ(ParseCgroupV2CpuMax("200000 0"), std::nullopt);
  EXPECT_EQ(ParseCgroupV2CpuMax("two 100000"), std::nullopt);
  EXPECT_EQ(ParseCgroupV2CpuMax("200000 100000 7"), std::nullopt);
}

TEST(ParseCgroupV1Quota, ReadsTheQuotaOrUnlimited) {
  EXPECT_EQ(ParseCgroupV1Quota("50000\n", "100000\n"), 0.5);
  EXPECT_EQ(ParseCgroupV1Quota("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(ParseCgroupV1Quota("50000", "garbage"), std::nullopt);
}

TEST(ParseCpuOverride, UnsetOrAWholeNumberOfCpus) {
  EXPECT_EQ(ParseCpuOverride(nullptr).value(), std::nullopt);
  EXPECT_EQ(ParseCpuOverride("").value(), std::nullopt);
  EXPECT_EQ(ParseCpuOverride("1").value(), 1);
  EXPECT_EQ(ParseCpuOverride("12").value(), 12);
  EXPECT_EQ(ParseCpuOverride("1024").value(), 1024);
}

TEST(ParseCpuOverride, RefusesWhatIsNotACpuCountNamingIt) {
  for (const char* bad :
       {"0", "-2", "+2", "1025", "1.5", "500m", "two", " 2", "2 ", "99999999999"}) {
    absl::StatusOr<std::optional<int>> parsed = ParseCpuOverride(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(parsed.status().message().find(absl::StrCat("\"", bad, "\"")),
              absl::string_view::npos)
        << parsed.status();
  }
}

TEST(ApplyCpuOverride, TheConfiguredCountWinsWhetherSmallerOrLarger) {
  const CpuBudget detected = CombineCpuBudget(64, 2, std::nullopt);
  EXPECT_EQ(ApplyCpuOverride(detected, std::nullopt).usable, 2);
  EXPECT_EQ(ApplyCpuOverride(detected, 1).usable, 1);
  EXPECT_EQ(ApplyCpuOverride(detected, 12).usable, 12);
  EXPECT_EQ(ApplyCpuOverride(detected, 12).configured, 12);
  EXPECT_EQ(ApplyCpuOverride(detected, 12).affinity, 2);
}

TEST(CombineCpuBudget, TheSmallestOfMachineAffinityAndQuotaRoundedUp) {
  EXPECT_EQ(CombineCpuBudget(64, 64, 2.0).usable, 2);
  EXPECT_EQ(CombineCpuBudget(64, 64, 1.5).usable, 2);
  EXPECT_EQ(CombineCpuBudget(64, 64, 0.25).usable, 1);
  EXPECT_EQ(CombineCpuBudget(64, 3, 8.0).usable, 3);
  EXPECT_EQ(CombineCpuBudget(64, 64, 9.2e15).usable, 64);     // a quota far beyond the machine
  EXPECT_EQ(CombineCpuBudget(4, 0, std::nullopt).usable, 4);  // affinity unknown
  EXPECT_EQ(CombineCpuBudget(0, 0, std::nullopt).usable, 1);
}

// A cgroup mount and /proc/self/cgroup written into a temporary directory.
class CgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "cpu-budget-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    sources_.proc_self_cgroup = (root_ / "proc-self-cgroup").string();
    sources_.cgroup_mount = (root_ / "cgroup").string();
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Write(const std::string& relative, const std::string& text) {
    const std::filesystem::path path = root_ / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }

  std::filesystem::path root_;
  CpuBudgetSources sources_;
};

TEST_F(CgroupTree, V2TakesTheSmallestQuotaOnTheWayToTheRoot) {
  Write("proc-self-cgroup", "0::/kubepods/pod1/gateway\n");
  Write("cgroup/cgroup.controllers", "cpu memory\n");
  Write("cgroup/cpu.max", "max 100000\n");
  Write("cgroup/kubepods/cpu.max", "400000 100000\n");
  Write("cgroup/kubepods/pod1/cpu.max", "150000 100000\n");
  Write("cgroup/kubepods/pod1/gateway/cpu.max", "max 100000\n");
  EXPECT_EQ(DetectCpuBudget(sources_).quota, 1.5);
}

TEST_F(CgroupTree, V2InItsOwnNamespaceReadsTheMountsRoot) {
  Write("proc-self-cgroup", "0::/\n");
  Write("cgroup/cgroup.controllers", "cpu memory\n");
  Write("cgroup/cpu.max", "200000 100000\n");
  const CpuBudget budget = DetectCpuBudget(sources_);
  EXPECT_EQ(budget.quota, 2.0);
  EXPECT_LE(budget.usable, 2);
}

TEST_F(CgroupTree, V1ReadsTheCpuHierarchy) {
  Write("proc-self-cgroup", "4:memory:/other\n3:cpu,cpuacct:/docker/abc\n0::/\n");
  Write("cgroup/cpu/cpu.cfs_quota_us", "-1\n");
  Write("cgroup/cpu/cpu.cfs_period_us", "100000\n");
  Write("cgroup/cpu/docker/abc/cpu.cfs_quota_us", "300000\n");
  Write("cgroup/cpu/docker/abc/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(DetectCpuBudget(sources_).quota, 3.0);
}

TEST_F(CgroupTree, APathWithoutItsLeadingSlashIsReadUnderTheMount) {
  Write("proc-self-cgroup", "0::kubepods//\n");
  Write("cgroup/cgroup.controllers", "cpu\n");
  Write("cgroup/kubepods/cpu.max", "100000 100000\n");
  EXPECT_EQ(DetectCpuBudget(sources_).quota, 1.0);
}

TEST_F(CgroupTree, NoCgroupFilesMeansNoQuota) {
  EXPECT_EQ(DetectCpuBudget(sources_).quota, std::nullopt);
  Write("proc-self-cgroup", "0::/\n");
  Write("cgroup/cgroup.controllers", "memory\n");  // v2 without the cpu controller: no cpu.max
  EXPECT_EQ(DetectCpuBudget(sources_).quota, std::nullopt);
}

TEST(DetectCpuBudget, ThisProcessHasAtLeastOneCpuAndNoMoreThanOnline) {
  const CpuBudget budget = DetectCpuBudget();
  EXPECT_GE(budget.usable, 1);
  EXPECT_LE(budget.usable, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_GE(budget.affinity, 1);
}

}  // namespace
}  // namespace aarthik::core
