// Who waits for upstream replies in the real gateway process (--upstream-polling, and
// rpc/grpc_loop_driver.h): gRPC's polling threads by default, the loops' own threads when asked
// or when this gRPC cannot poll them. Either way calls are answered and SIGTERM drains and exits
// cleanly, which needs the loops taken back from gRPC before its threads stop.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/gateway_env.h"
#include "tests/integration/log_scan.h"
#include "tests/integration/proc_tasks.h"

namespace aarthik::testing {
namespace {

namespace ho = aarthik::hosted::v1;

class UpstreamPollingTest : public ::testing::Test {
 protected:
  void TearDown() override { std::remove(log_path_.c_str()); }

  struct Outcome {
    nlohmann::json polling_line;  // "upstream polling"
    nlohmann::json loops_line;    // "upstream event loops"
    int own_threads = 0;          // threads named after the binary (main and the loops' own)
  };

  // Starts a gateway, makes `calls` GetFeatures calls on 4 threads of its own at once, counts its
  // threads, stops it and reads its log.
  Outcome Run(GatewayEnvOptions options, int calls = 200) {
    log_path_ = TestLogPath();
    options.gateway_log_path = log_path_;
    std::unique_ptr<GatewayEnv> env = GatewayEnv::Start(options);
    Outcome outcome;
    if (env == nullptr) {
      ADD_FAILURE() << "the gateway did not start";
      return outcome;
    }
    {
      auto hosted = ho::HostedService::NewStub(env->channel());
      std::atomic<int> ok{0};
      std::vector<std::thread> callers;
      for (int t = 0; t < 4; ++t) {
        callers.emplace_back([&] {
          for (int i = 0; i < calls / 4; ++i) {
            grpc::ClientContext context;
            PrepareContext(&context);
            ho::GetFeaturesResponse response;
            if (hosted->GetFeatures(&context, ho::GetFeaturesRequest(), &response).ok()) ++ok;
          }
        });
      }
      for (std::thread& caller : callers) caller.join();
      EXPECT_EQ(ok.load(), calls);
    }
    outcome.own_threads = ThreadsNamed(env->gateway_pid(), "aarthik-gateway");
    EXPECT_EQ(env->StopGateway(), 0);
    outcome.polling_line = LastLogLine(log_path_, "upstream polling");
    outcome.loops_line = LastLogLine(log_path_, "upstream event loops");
    return outcome;
  }

  static int ThreadsNamed(pid_t pid, const std::string& name) {
    const std::vector<TaskInfo> tasks = TasksOf(pid);
    if (tasks.empty()) return -1;
    return static_cast<int>(std::count_if(tasks.begin(), tasks.end(),
                                          [&](const TaskInfo& task) { return task.name == name; }));
  }

  std::string log_path_;
};

// The number of upstream loops the gateway logged at start.
int Loops(const nlohmann::json& loops_line) {
  int loops = 0;
  EXPECT_TRUE(absl::SimpleAtoi(loops_line.value("loops", ""), &loops)) << loops_line.dump();
  return loops;
}

TEST_F(UpstreamPollingTest, GrpcsThreadsPollTheUpstreamLoopsByDefault) {
  const Outcome run = Run({});
  ASSERT_TRUE(run.polling_line.is_object());
  EXPECT_EQ(run.polling_line.value("polling", ""), "grpc");
  EXPECT_EQ(run.polling_line.value("severity", ""), "INFO");
  EXPECT_EQ(run.polling_line.value("loops_on_grpc", ""), std::to_string(Loops(run.loops_line)));
  EXPECT_EQ(run.own_threads, 1);  // main only: a loop's thread ends once gRPC polls the loop
}

TEST_F(UpstreamPollingTest, TheLoopsKeepTheirThreadsWhenAsked) {
  const Outcome run = Run({.gateway_args = {"--upstream-polling", "own"}});
  ASSERT_TRUE(run.polling_line.is_object());
  EXPECT_EQ(run.polling_line.value("polling", ""), "own");
  EXPECT_EQ(run.polling_line.value("severity", ""), "INFO");
  EXPECT_EQ(run.own_threads, 1 + Loops(run.loops_line));
}

TEST_F(UpstreamPollingTest, AGrpcThatCannotPollThemLeavesTheLoopsOnTheirThreadsAndSaysWhy) {
  // gRPC's poll(2) poller watches only the descriptors of the pollsets it is given.
  const Outcome run = Run({.gateway_launcher = {"/usr/bin/env", "GRPC_POLL_STRATEGY=poll"}});
  ASSERT_TRUE(run.polling_line.is_object());
  EXPECT_EQ(run.polling_line.value("polling", ""), "own");
  EXPECT_EQ(run.polling_line.value("severity", ""), "WARNING");
  EXPECT_NE(run.polling_line.value("why_not", "").find("epoll1"), std::string::npos)
      << run.polling_line.dump();
  EXPECT_EQ(run.own_threads, 1 + Loops(run.loops_line));
}

}  // namespace
}  // namespace aarthik::testing
