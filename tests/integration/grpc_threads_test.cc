// gRPC's threads follow the pod's CPU budget, not the node's CPU count
// (server/rpc/grpc_cpu_count.h). The gateway runs as on a 64-CPU node (a preloaded sysconf says 64)
// with one CPU in its affinity mask. gRPC 1.51 left to itself starts Clamp(64 / 2, 2, 16) = 16
// `nexting_thread`s and 33 event engine threads, and allows 128 executor threads; sized from the
// budget of 1 it starts 2 and 3, and allows 2.
#include <sched.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"
#include "tests/integration/proc_tasks.h"
#include "tests/support/subprocess.h"

namespace aarthik::testing {
namespace {

namespace ho = ::aarthik::hosted::v1;

// Threads of a process by name.
std::map<std::string, int> ThreadsByName(pid_t pid) {
  std::map<std::string, int> threads;
  for (const TaskInfo& task : TasksOf(pid)) ++threads[task.name];
  return threads;
}

// The first CPU this test may run on: the gateway is confined to it.
int FirstAllowedCpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) return cpu;
  }
  return 0;
}

// The gateway as on a 64-CPU node with one CPU of affinity; `env` is put in its environment too.
std::unique_ptr<GatewayEnv> StartOnABigNode(const std::vector<std::string>& env = {}) {
  const char* asan = std::getenv("ASAN_OPTIONS");
  std::vector<std::string> launcher = {
      "/usr/bin/env",
      absl::StrCat("LD_PRELOAD=", AARTHIK_FAKE_CPU_COUNT_LIB),
      "AARTHIK_FAKE_CPUS=64",
      absl::StrCat("ASAN_OPTIONS=", asan != nullptr ? asan : "", asan != nullptr ? ":" : "",
                   "verify_asan_link_order=0"),
  };
  launcher.insert(launcher.end(), env.begin(), env.end());
  launcher.insert(launcher.end(), {"/usr/bin/taskset", "-c", absl::StrCat(FirstAllowedCpu())});
  return GatewayEnv::Start({.gateway_launcher = launcher});
}

int Count(const std::map<std::string, int>& threads, const std::string& name) {
  auto found = threads.find(name);
  return found == threads.end() ? 0 : found->second;
}

std::string Listing(const std::map<std::string, int>& threads) {
  std::string listing;
  for (const auto& [name, n] : threads) absl::StrAppend(&listing, name, " x", n, "; ");
  return listing;
}

TEST(GrpcThreadsTest, OnABigNodeGrpcSizesItsThreadsFromTheCpuBudget) {
  std::unique_ptr<GatewayEnv> env = StartOnABigNode();
  ASSERT_NE(env, nullptr);
  // Proxied calls from many client threads, so that gRPC's executor has work to grow for.
  std::vector<std::thread> callers;
  for (int i = 0; i < 16; ++i) {
    callers.emplace_back([&env] {
      auto stub = ho::HostedService::NewStub(env->channel());
      for (int call = 0; call < 20; ++call) {
        grpc::ClientContext context;
        PrepareContext(&context);
        ho::GetFeaturesRequest request;
        ho::GetFeaturesResponse response;
        EXPECT_TRUE(stub->GetFeatures(&context, request, &response).ok());
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  const std::map<std::string, int> threads = ThreadsByName(env->gateway_pid());
  EXPECT_EQ(Count(threads, "nexting_thread"), 2) << Listing(threads);
  // gRPC's executor: at most 2 per CPU.
  EXPECT_LE(Count(threads, "default-executo"), 2) << Listing(threads);
  // Issue 15's bound for 5,000 calls in flight. Sized from 64 CPUs the gateway starts 57 threads
  // before any load (33 of them gRPC's event engine pool).
  int total = 0;
  for (const auto& [name, n] : threads) total += n;
  EXPECT_LE(total, 16) << Listing(threads);
}

// A pod with a CPU request and no limit says how many CPUs to size for with AARTHIK_CPUS; it wins
// over the affinity mask (one CPU here) for gRPC's threads and the upstream loops alike.
TEST(GrpcThreadsTest, AarthikCpusSetsTheCountGrpcAndTheLoopsSizeFrom) {
  // The loops keep threads of their own (--upstream-polling=own), so that they can be counted.
  std::unique_ptr<GatewayEnv> env =
      StartOnABigNode({"AARTHIK_CPUS=12", "AARTHIK_UPSTREAM_POLLING=own"});
  ASSERT_NE(env, nullptr);
  const std::map<std::string, int> threads = ThreadsByName(env->gateway_pid());
  EXPECT_EQ(Count(threads, "nexting_thread"), 6) << Listing(threads);   // Clamp(12 / 2, 2, 16)
  EXPECT_EQ(Count(threads, "aarthik-gateway"), 9) << Listing(threads);  // main + 8 loops (the cap)
}

TEST(GrpcThreadsTest, AMalformedAarthikCpusStopsTheStartWithItsValue) {
  const std::string log = TestLogPath();
  absl::StatusOr<std::unique_ptr<Subprocess>> gateway = Subprocess::Start(
      {AARTHIK_BIN_DIR "/aarthik-gateway", "--grpc-listen", "127.0.0.1:0", "--http-listen",
       "127.0.0.1:0", "--upstream-url", "http://127.0.0.1:9", "--tenant-id", kTenantId,
       "--application-id", kApplicationId},
      {"AARTHIK_CPUS=two", absl::StrCat("AARTHIK_API_KEY=", kGatewayApiKey)}, log);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  while ((*gateway)->ReadLine(absl::Seconds(10)).ok()) {
  }
  EXPECT_EQ((*gateway)->Terminate(), 1);
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("AARTHIK_CPUS=\"two\": not a CPU count"), std::string::npos) << text;
}

}  // namespace
}  // namespace aarthik::testing
