// Who waits for upstream replies in the real gateway process (--upstream-polling, and
// rpc/grpc_loop_driver.h): gRPC's polling threads by default, the loops' own threads when asked
// or when this gRPC cannot poll them. Either way calls are answered and SIGTERM drains and exits
// cleanly, which needs the loops taken back from gRPC before its threads stop.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/gateway_env.h"

namespace aarthik::testing {
namespace {

namespace ho = aarthik::hosted::v1;

class UpstreamPollingTest : public ::testing::Test {
 protected:
  void TearDown() override { std::remove(log_path_.c_str()); }

  // Starts a gateway, makes `calls` GetFeatures calls on 4 threads of its own at once, stops it
  // and returns its "upstream polling" log line.
  nlohmann::json Run(GatewayEnvOptions options, int calls = 200) {
    log_path_ = TestLogPath();
    options.gateway_log_path = log_path_;
    std::unique_ptr<GatewayEnv> env = GatewayEnv::Start(options);
    if (env == nullptr) {
      ADD_FAILURE() << "the gateway did not start";
      return {};
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
    EXPECT_EQ(env->StopGateway(), 0);
    std::ifstream in(log_path_);
    nlohmann::json found;
    for (std::string line; std::getline(in, line);) {
      nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (entry.is_object() && entry.value("message", "") == "upstream polling") found = entry;
    }
    return found;
  }

  std::string log_path_;
};

TEST_F(UpstreamPollingTest, GrpcsThreadsPollTheUpstreamLoopsByDefault) {
  const nlohmann::json line = Run({});
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line.value("polling", ""), "grpc");
  EXPECT_EQ(line.value("severity", ""), "INFO");
  EXPECT_NE(line.value("loops_on_grpc", "0"), "0");
}

TEST_F(UpstreamPollingTest, TheLoopsKeepTheirThreadsWhenAsked) {
  const nlohmann::json line = Run({.gateway_args = {"--upstream-polling", "own"}});
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line.value("polling", ""), "own");
  EXPECT_EQ(line.value("severity", ""), "INFO");
}

TEST_F(UpstreamPollingTest, AGrpcThatCannotPollThemLeavesTheLoopsOnTheirThreadsAndSaysWhy) {
  // gRPC's poll(2) poller watches only the descriptors of the pollsets it is given.
  const nlohmann::json line =
      Run({.gateway_launcher = {"/usr/bin/env", "GRPC_POLL_STRATEGY=poll"}});
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line.value("polling", ""), "own");
  EXPECT_EQ(line.value("severity", ""), "WARNING");
  EXPECT_NE(line.value("why_not", "").find("epoll1"), std::string::npos) << line.dump();
}

}  // namespace
}  // namespace aarthik::testing
