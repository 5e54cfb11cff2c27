// How many of gRPC's callback threads serve calls in the real gateway process
// (--grpc-callback-threads, rpc/callback_thread_park.h). On a budget of 2 CPUs gRPC 1.51 starts
// two nexting threads; by default the gateway parks one, so that a single thread polls and runs
// every call, and SIGTERM still drains and exits cleanly, which needs the parked thread released
// before gRPC joins it.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/gateway_env.h"
#include "tests/integration/log_scan.h"
#include "tests/integration/proc_tasks.h"

namespace aarthik::testing {
namespace {

namespace ho = aarthik::hosted::v1;

// Voluntary context switches of each of `pid`'s threads named `name`, by thread id: a thread
// that polls or serves calls sleeps and wakes for them; a parked one only every 250 ms.
std::map<std::string, int64_t> SwitchesOfThreadsNamed(pid_t pid, const std::string& name) {
  std::map<std::string, int64_t> switches;
  for (const TaskInfo& task : TasksOf(pid)) {
    if (task.name == name) switches[task.tid] = task.voluntary_switches;
  }
  return switches;
}

class CallbackThreadsTest : public ::testing::Test {
 protected:
  void TearDown() override { std::remove(log_path_.c_str()); }

  struct Outcome {
    nlohmann::json threads_line;    // "grpc callback threads"
    nlohmann::json busy_poll_line;  // "grpc busy polling"
    std::vector<int64_t> switches;  // per nexting thread during the calls, most first
    double seconds = 0;             // how long the calls took
  };

  // Starts a gateway on a budget of 2 CPUs, makes 200 GetFeatures calls on `callers` threads at
  // once, stops it (exit code 0 expected) and reads its log.
  Outcome Run(std::vector<std::string> gateway_args, int callers = 4) {
    log_path_ = TestLogPath();
    std::unique_ptr<GatewayEnv> env =
        GatewayEnv::Start({.gateway_args = std::move(gateway_args),
                           .gateway_log_path = log_path_,
                           .gateway_launcher = {"/usr/bin/env", "AARTHIK_CPUS=2"}});
    Outcome outcome;
    if (env == nullptr) {
      ADD_FAILURE() << "the gateway did not start";
      return outcome;
    }
    const std::map<std::string, int64_t> before =
        SwitchesOfThreadsNamed(env->gateway_pid(), "nexting_thread");
    const absl::Time start = absl::Now();
    {
      auto hosted = ho::HostedService::NewStub(env->channel());
      std::atomic<int> ok{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < callers; ++t) {
        threads.emplace_back([&] {
          for (int i = 0; i < 200 / callers; ++i) {
            grpc::ClientContext context;
            PrepareContext(&context);
            ho::GetFeaturesResponse response;
            if (hosted->GetFeatures(&context, ho::GetFeaturesRequest(), &response).ok()) ++ok;
          }
        });
      }
      for (std::thread& caller : threads) caller.join();
      EXPECT_EQ(ok.load(), 200);
    }
    outcome.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    for (const auto& [thread, count] :
         SwitchesOfThreadsNamed(env->gateway_pid(), "nexting_thread")) {
      auto was = before.find(thread);
      outcome.switches.push_back(count - (was == before.end() ? 0 : was->second));
    }
    std::sort(outcome.switches.rbegin(), outcome.switches.rend());
    EXPECT_EQ(env->StopGateway(), 0);
    outcome.threads_line = LastLogLine(log_path_, "grpc callback threads");
    outcome.busy_poll_line = LastLogLine(log_path_, "grpc busy polling");
    return outcome;
  }

  std::string log_path_;
};

// Busy polling off in the first two: they count the sleeps of threads that share the polling.
TEST_F(CallbackThreadsTest, OnTwoCpusOneThreadServesEveryCallAndTheOtherIsParked) {
  const Outcome run = Run({"--busy-poll-us", "0"});
  ASSERT_TRUE(run.threads_line.is_object());
  EXPECT_EQ(run.threads_line.value("severity", ""), "INFO");
  EXPECT_EQ(run.threads_line.value("started", ""), "2");
  EXPECT_EQ(run.threads_line.value("parked", ""), "1");
  ASSERT_EQ(run.switches.size(), 2u);
  // The kept thread sleeps and wakes for the calls; the parked one only for its keep-awake events,
  // four a second.
  EXPECT_GE(run.switches[0], 20);
  EXPECT_LE(run.switches[1], 2 + 5 * run.seconds)
      << run.switches[0] << " / " << run.switches[1] << " in " << run.seconds << " s";
}

TEST_F(CallbackThreadsTest, AskingForGrpcsOwnCountParksNone) {
  const Outcome run = Run({"--grpc-callback-threads", "2", "--busy-poll-us", "0"});
  ASSERT_TRUE(run.threads_line.is_object());
  EXPECT_EQ(run.threads_line.value("parked", ""), "0");
  ASSERT_EQ(run.switches.size(), 2u);
  // The two take turns polling: each wakes the other for every event.
  EXPECT_GE(run.switches[1], 20) << run.switches[0] << " / " << run.switches[1];
}

// One call at a time (rpc/busy_poll.h): the polling thread sleeps for each request and for each
// platform reply unless it is still polling when they come. The budget here is the largest
// allowed, so that a slow test machine's gaps stay inside it.
TEST_F(CallbackThreadsTest, ALoneCallsThreadKeepsPollingInsteadOfSleeping) {
  const Outcome spinning = Run({"--busy-poll-us", "10000"}, /*callers=*/1);
  ASSERT_TRUE(spinning.busy_poll_line.is_object());
  EXPECT_EQ(spinning.busy_poll_line.value("budget_us", ""), "10000");
  EXPECT_EQ(spinning.busy_poll_line.value("max_calls_in_flight", ""), "1");
  ASSERT_EQ(spinning.switches.size(), 2u);
  EXPECT_LE(spinning.switches[0], 100) << "sleeps of the polling thread for 200 calls";

  const Outcome sleeping = Run({"--busy-poll-us", "0"}, /*callers=*/1);
  ASSERT_EQ(sleeping.switches.size(), 2u);
  EXPECT_GE(sleeping.switches[0], 200) << "sleeps of the polling thread for 200 calls";
}

}  // namespace
}  // namespace aarthik::testing
