// Upstream failures as the caller sees them: platform unreachable, slow beyond the deadline, 429
// with Retry-After, malformed and truncated bodies, 5xx.
#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"

namespace aarthik::testing {
namespace {

namespace ho = aarthik::hosted::v1;

class ResilienceTest : public ::testing::Test {
 protected:
  void Start(GatewayEnvOptions options = {}) {
    env_ = GatewayEnv::Start(std::move(options));
    ASSERT_NE(env_, nullptr);
    hosted_ = ho::HostedService::NewStub(env_->channel());
  }

  grpc::Status Features(absl::Duration timeout = absl::Seconds(10)) {
    grpc::ClientContext context;
    PrepareContext(&context, "", timeout);
    ho::GetFeaturesResponse response;
    return hosted_->GetFeatures(&context, ho::GetFeaturesRequest(), &response);
  }

  std::unique_ptr<GatewayEnv> env_;
  std::unique_ptr<ho::HostedService::Stub> hosted_;
};

TEST_F(ResilienceTest, UnreachablePlatformIsUnavailableWithRetryInfo) {
  Start({.upstream_override = "http://127.0.0.1:1"});
  grpc::Status status = Features();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(DetailOf<google::rpc::ErrorInfo>(status)->reason(), "UPSTREAM_UNAVAILABLE");
  EXPECT_TRUE(DetailOf<google::rpc::RetryInfo>(status).has_value());
}

TEST_F(ResilienceTest, SlowPlatformEndsAtTheCallersDeadline) {
  Start();
  env_->SetSandboxFaults({{"route", "GET /api/lab/features"}, {"latency_ms", {{"fixed", 3000}}}});
  absl::Time started = absl::Now();
  EXPECT_EQ(Features(absl::Milliseconds(300)).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - started, absl::Seconds(3));  // not held for the platform's 3 s
}

TEST_F(ResilienceTest, RateLimitIsResourceExhaustedWithRetryAfter) {
  Start();
  env_->SetSandboxFaults({{"rate_limit_rate", 1.0}, {"retry_after_seconds", 7}});
  grpc::Status status = Features();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  auto retry = DetailOf<google::rpc::RetryInfo>(status);
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->retry_delay().seconds(), 7);
}

TEST_F(ResilienceTest, ServerErrorsMapToUnavailable) {
  Start();
  env_->SetSandboxFaults({{"error_rate", 1.0}, {"error_status", 503}});
  EXPECT_EQ(Features().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ResilienceTest, BrokenBodiesAreClearErrorsNotCrashes) {
  Start({.gateway_args = {"--breaker-failures", "100000", "--breaker-min-requests",
                          "100000"}});  // the breaker is tested on its own
  for (const char* fault : {"malformed_rate", "truncate_rate", "reset_rate"}) {
    env_->SetSandboxFaults({{fault, 1.0}});
    grpc::Status status = Features();
    EXPECT_TRUE(status.error_code() == grpc::StatusCode::INTERNAL ||
                status.error_code() == grpc::StatusCode::UNAVAILABLE)
        << fault << ": " << status.error_code() << " " << status.error_message();
    EXPECT_FALSE(status.error_message().empty());
  }
  env_->ClearSandboxFaults();
  EXPECT_TRUE(Features().ok());  // and the gateway is still serving
}

}  // namespace
}  // namespace aarthik::testing
