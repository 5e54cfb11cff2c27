// The gateway owns borrower sessions: callers never see token expiry, 200 concurrent calls at
// expiry cause exactly one refresh at the platform, correlation IDs and idempotency keys travel as
// documented.
#include <thread>

#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"

namespace aarthik::testing {
namespace {

namespace hl = aarthik::headless::v1;

class SessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = GatewayEnv::Start();
    ASSERT_NE(env_, nullptr);
    journeys_ = hl::JourneysService::NewStub(env_->channel());
  }

  grpc::Status List(const std::string& borrower, grpc::ClientContext* context = nullptr) {
    grpc::ClientContext local;
    if (context == nullptr) {
      context = &local;
      PrepareContext(context);
    }
    hl::ListJourneysRequest request;
    request.set_borrower_external_id(borrower);
    hl::ListJourneysResponse response;
    return journeys_->ListJourneys(context, request, &response);
  }

  std::unique_ptr<GatewayEnv> env_;
  std::unique_ptr<hl::JourneysService::Stub> journeys_;
};

TEST_F(SessionsTest, FirstCallMintsASessionAndLaterCallsReuseIt) {
  ASSERT_TRUE(List("CUST_S1").ok());
  ASSERT_TRUE(List("CUST_S1").ok());
  ASSERT_TRUE(List("CUST_S2").ok());
  EXPECT_EQ(env_->SandboxCounters()["sessions_minted"], 2);
  EXPECT_EQ(env_->SandboxCounters()["refreshes"], 0);
}

TEST_F(SessionsTest, ExpiredSessionsAreRefreshedInvisibly) {
  ASSERT_TRUE(List("CUST_S1").ok());
  for (int round = 1; round <= 3; ++round) {
    env_->AdvanceSandboxTime(31 * 60);  // past the 30-minute session token
    grpc::Status status = List("CUST_S1");
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(env_->SandboxCounters()["refreshes"], round);
  }
  EXPECT_EQ(env_->SandboxCounters()["sessions_minted"], 1);
}

TEST_F(SessionsTest, ExpiredRefreshTokenLeadsToANewSession) {
  ASSERT_TRUE(List("CUST_S1").ok());
  env_->AdvanceSandboxTime(8 * 24 * 3600);  // past the 7-day refresh token too
  grpc::Status status = List("CUST_S1");
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(env_->SandboxCounters()["sessions_minted"], 2);
}

TEST_F(SessionsTest, TwoHundredConcurrentCallsAtExpiryCauseOneRefresh) {
  ASSERT_TRUE(List("CUST_STORM").ok());
  env_->AdvanceSandboxTime(31 * 60);
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int i = 0; i < 200; ++i) {
    callers.emplace_back([&] {
      if (!List("CUST_STORM").ok()) ++failures;
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(failures, 0);
  nlohmann::json counters = env_->SandboxCounters();
  EXPECT_EQ(counters["refreshes"], 1);
  EXPECT_EQ(counters["sessions_minted"], 1);
}

TEST_F(SessionsTest, ShortTokenLifetimesStayInvisible) {
  // Tokens that live 2 seconds while the test moves time on by 1.5 s between calls: the gateway
  // refreshes before expiry or after a rejection, and no call fails.
  journeys_.reset();
  env_.reset();
  env_ = GatewayEnv::Start({.sandbox_args = {"--session-ttl", "2s"}});
  ASSERT_NE(env_, nullptr);
  journeys_ = hl::JourneysService::NewStub(env_->channel());
  for (int i = 0; i < 20; ++i) {
    env_->AdvanceSandboxTime(1.5);
    grpc::Status status = List("CUST_SHORT");
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
  }
  EXPECT_GE(env_->SandboxCounters()["refreshes"].get<int>(), 5);
}

TEST_F(SessionsTest, CorrelationIdIsEchoedOrGenerated) {
  grpc::ClientContext mine;
  PrepareContext(&mine, "corr-from-caller");
  ASSERT_TRUE(List("CUST_S1", &mine).ok());
  EXPECT_EQ(ServerMetadata(mine, "x-correlation-id"), "corr-from-caller");
  EXPECT_EQ(ServerMetadata(mine, "x-platform-request-id").rfind("req_", 0), 0u);

  grpc::ClientContext theirs;
  PrepareContext(&theirs);
  ASSERT_TRUE(List("CUST_S1", &theirs).ok());
  EXPECT_EQ(ServerMetadata(theirs, "x-correlation-id").size(), 36u);  // a generated UUID
}

TEST_F(SessionsTest, CallersIdempotencyKeyMakesAWriteHappenOnce) {
  hl::CreateJourneyRequest request;
  request.set_borrower_external_id("CUST_IDEM");
  request.mutable_journey()->set_type(aarthik::common::v1::JOURNEY_TYPE_PERSONAL_LOAN);
  std::string first_id;
  for (int attempt = 0; attempt < 3; ++attempt) {
    grpc::ClientContext context;
    PrepareContext(&context, "", absl::Seconds(10), "create-journey-once");
    hl::CreateJourneyResponse response;
    ASSERT_TRUE(journeys_->CreateJourney(&context, request, &response).ok());
    if (attempt == 0) first_id = response.journey().journey_id();
    EXPECT_EQ(response.journey().journey_id(), first_id);
  }
  EXPECT_EQ(env_->SandboxCounters()["side_effects"]["create-journey-once"], 1);
}

TEST_F(SessionsTest, WriteRejectedForAnExpiredSessionIsRetriedOnceAfterRefresh) {
  ASSERT_TRUE(List("CUST_RETRY").ok());
  env_->AdvanceSandboxTime(
      31 * 60);  // the next write is rejected once (401), then retried after refresh
  hl::CreateJourneyRequest request;
  request.set_borrower_external_id("CUST_RETRY");
  request.mutable_journey()->set_type(aarthik::common::v1::JOURNEY_TYPE_PERSONAL_LOAN);
  grpc::ClientContext context;
  PrepareContext(&context);
  hl::CreateJourneyResponse response;
  ASSERT_TRUE(journeys_->CreateJourney(&context, request, &response).ok());
  nlohmann::json counters = env_->SandboxCounters();
  EXPECT_EQ(counters["refreshes"], 1);
  EXPECT_EQ(env_->SandboxRequests("POST /api/v1/headless/journeys", 401), 1);
  EXPECT_EQ(env_->SandboxRequests("POST /api/v1/headless/journeys", 200), 1);
}

TEST_F(SessionsTest, A401AfterTheOneRefreshIsUnauthenticated) {
  ASSERT_TRUE(List("CUST_REVOKED").ok());
  // The platform refuses every session token on this route, the refreshed one too.
  env_->SetSandboxFaults(
      {{"route", "GET /api/v1/headless/journeys"}, {"error_rate", 1.0}, {"error_status", 401}});
  grpc::Status status = List("CUST_REVOKED");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  auto info = DetailOf<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "AUTH_INVALID_SESSION");
  EXPECT_EQ(env_->SandboxCounters()["refreshes"], 1);  // one refresh, then the caller is told
  EXPECT_EQ(env_->SandboxRequests("GET /api/v1/headless/journeys", 401), 2);

  env_->ClearSandboxFaults();
  EXPECT_TRUE(List("CUST_REVOKED").ok());
}

}  // namespace
}  // namespace aarthik::testing
