// Several gateway replicas sharing borrower sessions through a real redis-server: a session minted
// by one is used by the other, a token-expiry storm spread over both replicas causes exactly one
// refresh at the platform (the refresh lock), and a Redis outage is a clear UNAVAILABLE that ends
// when Redis is back.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"
#include "tests/support/redis_server.h"

namespace aarthik::testing {
namespace {

namespace hl = aarthik::headless::v1;

class SharedSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    env_ = GatewayEnv::Start({.gateway_args = {"--redis-url", redis_->url()}});
    ASSERT_NE(env_, nullptr);
    std::shared_ptr<grpc::Channel> second = env_->StartReplica();
    ASSERT_NE(second, nullptr);
    replicas_.push_back(hl::JourneysService::NewStub(env_->channel()));
    replicas_.push_back(hl::JourneysService::NewStub(second));
  }

  grpc::Status List(size_t replica, const std::string& borrower) {
    grpc::ClientContext context;
    PrepareContext(&context);
    hl::ListJourneysRequest request;
    request.set_borrower_external_id(borrower);
    hl::ListJourneysResponse response;
    return replicas_[replica]->ListJourneys(&context, request, &response);
  }

  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<GatewayEnv> env_;
  std::vector<std::unique_ptr<hl::JourneysService::Stub>> replicas_;
};

TEST_F(SharedSessionsTest, ASessionMintedByOneReplicaIsUsedByTheOther) {
  ASSERT_TRUE(List(0, "CUST_SHARED").ok());
  ASSERT_TRUE(List(1, "CUST_SHARED").ok());
  ASSERT_TRUE(List(1, "CUST_SHARED").ok());
  EXPECT_EQ(env_->SandboxCounters()["sessions_minted"], 1);
}

TEST_F(SharedSessionsTest, AnExpiryStormOverBothReplicasCausesOneRefresh) {
  ASSERT_TRUE(List(0, "CUST_STORM").ok());
  ASSERT_TRUE(List(1, "CUST_STORM").ok());  // both replicas now hold the session
  env_->AdvanceSandboxTime(31 * 60);        // the platform's session token has expired
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int i = 0; i < 200; ++i) {
    callers.emplace_back([this, i, &failures] {
      grpc::Status status = List(i % 2, "CUST_STORM");
      if (!status.ok()) {
        ++failures;
        ADD_FAILURE() << status.error_code() << " " << status.error_message();
      }
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(failures, 0);
  nlohmann::json counters = env_->SandboxCounters();
  EXPECT_EQ(counters["refreshes"], 1);
  EXPECT_EQ(counters["sessions_minted"], 1);  // no replica had to re-bootstrap
}

TEST_F(SharedSessionsTest, ARedisOutageIsUnavailableUntilRedisIsBack) {
  redis_->Stop();
  grpc::Status status = List(0, "CUST_NEW");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_NE(status.error_message().find("token store unavailable"), std::string::npos)
      << status.error_message();
  auto info = DetailOf<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "TOKEN_STORE_UNAVAILABLE");
  EXPECT_TRUE(DetailOf<google::rpc::RetryInfo>(status).has_value());
  EXPECT_EQ(env_->SandboxCounters()["sessions_minted"], 0);  // no session behind the store's back
  const std::string metrics = HttpCall("GET", "http://" + env_->http_address() + "/metrics");
  EXPECT_NE(metrics.find("aarthik_token_store_failures_total{operation=\"load\"} 1"),
            std::string::npos)
      << metrics;

  ASSERT_TRUE(redis_->Restart().ok());
  // The gateway reconnects on its own backoff (at most 2 s).
  grpc::Status recovered = status;
  for (absl::Time give_up = absl::Now() + absl::Seconds(20); absl::Now() < give_up;) {
    recovered = List(0, "CUST_NEW");
    if (recovered.ok()) break;
  }
  EXPECT_TRUE(recovered.ok()) << recovered.error_message();
}

// Kubernetes rotates a mounted Secret in place: a new Redis password file is used without a
// restart.
TEST(RedisPasswordRotationTest, ANewPasswordFileIsUsedWithoutARestart) {
  auto redis = RedisServer::Start({"--requirepass", "redis-pw-new"});
  ASSERT_TRUE(redis.ok()) << redis.status();
  const std::string password_file =
      ::testing::TempDir() + "/redis-password-" + std::to_string(getpid());
  std::ofstream(password_file) << "redis-pw-old\n";
  auto env =
      GatewayEnv::Start({.gateway_args = {"--redis-url", (*redis)->url(), "--redis-password-file",
                                          password_file, "--secret-reload-interval", "100ms"}});
  ASSERT_NE(env, nullptr);
  auto journeys = hl::JourneysService::NewStub(env->channel());
  auto list = [&] {
    grpc::ClientContext context;
    PrepareContext(&context);
    hl::ListJourneysRequest request;
    request.set_borrower_external_id("CUST_ROTATE");
    hl::ListJourneysResponse response;
    return journeys->ListJourneys(&context, request, &response);
  };
  EXPECT_EQ(list().error_code(), grpc::StatusCode::UNAVAILABLE);  // Redis refuses the old password

  std::ofstream(password_file) << "redis-pw-new\n";
  grpc::Status status;
  for (absl::Time give_up = absl::Now() + absl::Seconds(20); absl::Now() < give_up;) {
    status = list();
    if (status.ok()) break;
  }
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::remove(password_file.c_str());
}

}  // namespace
}  // namespace aarthik::testing
