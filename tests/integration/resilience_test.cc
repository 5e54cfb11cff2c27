// Upstream failures as the caller sees them: platform unreachable, slow beyond the deadline, 429
// with Retry-After, malformed and truncated bodies, 5xx; and what a caller's cancel or missing
// deadline does to the upstream call.
#include <condition_variable>
#include <mutex>
#include <optional>

#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

  // The gateway's aarthik_upstream_in_flight gauge, scraped from /metrics (-1 when absent).
  double UpstreamInFlight() {
    std::string page = HttpCall("GET", "http://" + env_->http_address() + "/metrics");
    for (absl::string_view line : absl::StrSplit(page, '\n')) {
      double value = 0;
      if (absl::ConsumePrefix(&line, "aarthik_upstream_in_flight ") &&
          absl::SimpleAtod(line, &value)) {
        return value;
      }
    }
    return -1;
  }
  // Scrapes until the gauge reads `value`; false after `patience`. Each scrape is a round trip to
  // the gateway, so this waits on the gateway's own state, not on a timer.
  bool WaitForUpstreamInFlight(double value, absl::Duration patience) {
    const absl::Time give_up = absl::Now() + patience;
    while (absl::Now() < give_up) {
      if (UpstreamInFlight() == value) return true;
    }
    return false;
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

TEST_F(ResilienceTest, ACallersCancelAbortsTheUpstreamRequest) {
  Start();
  env_->SetSandboxFaults({{"route", "GET /api/lab/features"}, {"latency_ms", {{"fixed", 60000}}}});
  grpc::ClientContext context;
  PrepareContext(&context, "corr-cancel", absl::Seconds(120));
  ho::GetFeaturesRequest request;
  ho::GetFeaturesResponse response;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<grpc::Status> outcome;
  hosted_->async()->GetFeatures(&context, &request, &response, [&](grpc::Status status) {
    std::lock_guard<std::mutex> lock(mu);
    outcome = status;
    cv.notify_all();
  });
  ASSERT_TRUE(WaitForUpstreamInFlight(1, absl::Seconds(20)));  // the request reached the platform
  context.TryCancel();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return outcome.has_value(); });
  }
  EXPECT_EQ(outcome->error_code(), grpc::StatusCode::CANCELLED);
  // The gateway drops the upstream request instead of holding it for the platform's 60 s.
  EXPECT_TRUE(WaitForUpstreamInFlight(0, absl::Seconds(20))) << UpstreamInFlight();
}

TEST_F(ResilienceTest, ACallWithoutADeadlineGetsTheUpstreamTimeout) {
  Start({.gateway_args = {"--upstream-timeout", "400ms", "--retry-max-attempts", "1"}});
  env_->SetSandboxFaults({{"route", "GET /api/lab/features"}, {"latency_ms", {{"fixed", 60000}}}});
  grpc::ClientContext context;  // no deadline
  ho::GetFeaturesResponse response;
  grpc::Status status = hosted_->GetFeatures(&context, ho::GetFeaturesRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_TRUE(WaitForUpstreamInFlight(0, absl::Seconds(20))) << UpstreamInFlight();
}

}  // namespace
}  // namespace aarthik::testing
