// Fault injection against the sandbox's faults, with the gateway and sandbox as real processes:
// retries, exactly-once writes, the circuit breaker, deadlines, and the retry budget under a 429
// storm.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "aarthik/webhooks/v1/subscription.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"

namespace aarthik::testing {
namespace {

namespace hl = aarthik::headless::v1;
namespace ho = aarthik::hosted::v1;
namespace wh = aarthik::webhooks::v1;

grpc::Status Features(GatewayEnv& env, absl::Duration timeout = absl::Seconds(10)) {
  auto stub = ho::HostedService::NewStub(env.channel());
  grpc::ClientContext context;
  PrepareContext(&context, "", timeout);
  ho::GetFeaturesResponse response;
  return stub->GetFeatures(&context, ho::GetFeaturesRequest(), &response);
}

// How long the flaky-platform drill runs: AARTHIK_DRILL_SECONDS (issue 17 asks for 60 s under load;
// docs/reliability.md has the command), 3 s in the test command.
absl::Duration DrillDuration() {
  const char* seconds = std::getenv("AARTHIK_DRILL_SECONDS");
  return absl::Seconds(seconds != nullptr ? std::max(1, std::atoi(seconds)) : 3);
}

TEST(FaultInjectionTest, ThirtyPercent503sAndResetsAreRetriedAndWritesHappenOnce) {
  // 10 attempts and a retry budget as large as the traffic: a 20 % budget cannot carry a platform
  // that fails a third of all attempts (see docs/contract-decisions.md); the budget has its own
  // test below.
  auto env = GatewayEnv::Start(
      {.sandbox_args = {"--fault-error-rate", "0.3", "--fault-error-status", "503",
                        "--fault-reset-rate", "0.05"},
       .gateway_args = {"--retry-max-attempts", "10", "--retry-budget-ratio", "1.0",
                        "--breaker-failures", "100000", "--breaker-min-requests", "100000"}});
  ASSERT_NE(env, nullptr);
  auto journeys = hl::JourneysService::NewStub(env->channel());
  // 64 callers, each a borrower of its own calling in a loop: one write (a new journey, with the
  // gateway's own Idempotency-Key) for three reads of its state.
  constexpr int kCallers = 64;
  const absl::Time end = absl::Now() + DrillDuration();
  std::atomic<int64_t> ok{0}, failed{0}, writes{0};
  std::vector<std::thread> callers;
  for (int b = 0; b < kCallers; ++b) {
    callers.emplace_back([&, b] {
      const std::string borrower = "CUST_FAULT_" + std::to_string(b);
      std::string journey_id;
      for (int i = 0; absl::Now() < end; ++i) {
        grpc::ClientContext context;
        PrepareContext(&context, "", absl::Seconds(20));
        grpc::Status status;
        if (i % 4 == 0 || journey_id.empty()) {
          hl::CreateJourneyRequest request;
          request.set_borrower_external_id(borrower);
          request.mutable_journey()->set_type(aarthik::common::v1::JOURNEY_TYPE_PERSONAL_LOAN);
          hl::CreateJourneyResponse response;
          status = journeys->CreateJourney(&context, request, &response);
          ++writes;
          if (status.ok()) journey_id = response.journey().journey_id();
        } else {
          hl::GetJourneyStateRequest request;
          request.set_borrower_external_id(borrower);
          request.set_journey_id(journey_id);
          hl::GetJourneyStateResponse response;
          status = journeys->GetJourneyState(&context, request, &response);
        }
        (status.ok() ? ok : failed)++;
      }
    });
  }
  for (auto& thread : callers) thread.join();
  const int64_t total = ok + failed;
  EXPECT_GE(ok * 1000, total * 999) << failed << " of " << total << " failed";

  nlohmann::json counters = env->SandboxCounters();
  const int64_t faulted = env->SandboxRequests("POST /api/v1/headless/journeys", 503);
  EXPECT_GT(faulted, 0);  // the faults really happened
  int64_t duplicated = 0;
  for (const auto& [key, count] : counters["side_effects"].items()) {
    EXPECT_EQ(count, 1) << "write with Idempotency-Key " << key << " ran " << count << " times";
    if (count.get<int64_t>() > 1) ++duplicated;
  }
  // One line for docs/reliability.md's long run.
  std::printf(
      "flaky-platform drill: %lld calls (%lld writes), %lld OK, %lld failed, %lld writes run "
      "twice, "
      "%lld upstream 503s on CreateJourney\n",
      static_cast<long long>(total), static_cast<long long>(writes.load()),
      static_cast<long long>(ok.load()), static_cast<long long>(failed.load()),
      static_cast<long long>(duplicated), static_cast<long long>(faulted));
}

TEST(FaultInjectionTest, RetryMaxAttemptsBoundsEveryRequestSentEvenWhenConnectionsReset) {
  // A reset on a kept-alive connection used to make libcurl re-send on its own: 5 requests for 4
  // attempts. Counted from what reached the sandbox, not from what the gateway thinks it sent.
  auto env = GatewayEnv::Start({.gateway_args = {"--retry-max-attempts", "4", "--breaker-failures",
                                                 "100000", "--breaker-min-requests", "100000"}});
  ASSERT_NE(env, nullptr);
  auto hosted = aarthik::hosted::v1::HostedService::NewStub(env->channel());
  {
    grpc::ClientContext warm_up;  // a kept-alive connection to reset
    PrepareContext(&warm_up);
    aarthik::hosted::v1::GetFeaturesResponse response;
    ASSERT_TRUE(
        hosted->GetFeatures(&warm_up, aarthik::hosted::v1::GetFeaturesRequest(), &response).ok());
  }
  env->SandboxHttp("DELETE", "/_sandbox/requests");
  env->SetSandboxFaults({{"route", "GET /api/lab/features"}, {"reset_rate", 1.0}});
  grpc::ClientContext context;
  PrepareContext(&context);
  aarthik::hosted::v1::GetFeaturesResponse response;
  grpc::Status status =
      hosted->GetFeatures(&context, aarthik::hosted::v1::GetFeaturesRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  int sent = 0;
  const nlohmann::json log = env->SandboxHttp("GET", "/_sandbox/requests");
  for (const auto& logged : log["requests"]) {
    if (logged["target"] == "/api/lab/features") ++sent;
  }
  EXPECT_EQ(sent, 4) << log.dump();
}

TEST(FaultInjectionTest, AWriteWhoseAnswerWasCutShortIsReplayedNotRepeated) {
  // The platform created the journey; its answer broke off. The gateway asks again with the same
  // Idempotency-Key and hands the caller the replayed answer: one journey, caller OK.
  auto env = GatewayEnv::Start({});
  ASSERT_NE(env, nullptr);
  auto journeys = hl::JourneysService::NewStub(env->channel());
  for (const char* fault : {"truncate_rate", "malformed_rate"}) {
    SCOPED_TRACE(fault);
    env->SetSandboxFaults(
        {{"route", "POST /api/v1/headless/journeys"}, {fault, 1.0}, {"times", 1}});
    grpc::ClientContext context;
    PrepareContext(&context, "", absl::Seconds(20));
    hl::CreateJourneyRequest request;
    request.set_borrower_external_id(std::string("CUST_CUT_") + fault);
    request.mutable_journey()->set_type(aarthik::common::v1::JOURNEY_TYPE_PERSONAL_LOAN);
    hl::CreateJourneyResponse response;
    grpc::Status status = journeys->CreateJourney(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    EXPECT_FALSE(response.journey().journey_id().empty());
  }
  env->ClearSandboxFaults();
  int64_t writes = 0;
  const nlohmann::json counters = env->SandboxCounters();
  for (const auto& [key, count] : counters["side_effects"].items()) {
    EXPECT_EQ(count, 1) << "write with Idempotency-Key " << key << " ran " << count << " times";
    ++writes;
  }
  EXPECT_GE(writes, 2) << counters.dump();
  EXPECT_EQ(env->SandboxRequests("POST /api/v1/headless/journeys"), 4);  // 2 calls × (cut + replay)
}

TEST(FaultInjectionTest, PlatformDownFailsFastOpensTheBreakerAndRecovers) {
  auto env =
      GatewayEnv::Start({.gateway_args = {"--breaker-failures", "3", "--breaker-open-for", "1s"}});
  ASSERT_NE(env, nullptr);
  ASSERT_TRUE(Features(*env).ok());
  env->StopSandbox();

  grpc::Status status = Features(*env);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  status = Features(*env);  // the breaker is open now: failing fast, without calling the platform
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(DetailOf<google::rpc::ErrorInfo>(status).has_value());
  EXPECT_EQ(DetailOf<google::rpc::ErrorInfo>(status)->reason(), "UPSTREAM_CIRCUIT_OPEN");
  EXPECT_TRUE(DetailOf<google::rpc::RetryInfo>(status).has_value());

  ASSERT_TRUE(env->RestartSandbox());
  // Calls keep failing fast until the open period ends; then one probe reaches the platform and
  // closes the breaker. (Open for 1 s here; the loop is bounded well beyond that.)
  absl::Time give_up = absl::Now() + absl::Seconds(10);
  int fast_failures = 0;
  while (!(status = Features(*env)).ok() && absl::Now() < give_up) {
    EXPECT_EQ(DetailOf<google::rpc::ErrorInfo>(status)->reason(), "UPSTREAM_CIRCUIT_OPEN");
    ++fast_failures;
  }
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_GT(fast_failures, 0);
  EXPECT_TRUE(Features(*env).ok());
}

TEST(FaultInjectionTest, SlowRouteHitsTheDeadlineWhileOtherRoutesFlow) {
  auto env = GatewayEnv::Start();
  ASSERT_NE(env, nullptr);
  env->SetSandboxFaults({{"route", "GET /api/lab/features"}, {"latency_ms", {{"fixed", 2000}}}});
  std::atomic<bool> slow_done{false};
  grpc::Status slow_status;
  absl::Duration slow_elapsed;
  std::thread slow([&] {
    absl::Time started = absl::Now();
    slow_status = Features(*env, absl::Milliseconds(500));
    slow_elapsed = absl::Now() - started;
    slow_done = true;
  });
  auto webhooks = wh::WebhookSubscriptionService::NewStub(env->channel());
  int other_calls = 0;
  while (!slow_done) {
    grpc::ClientContext context;
    PrepareContext(&context);
    wh::GetWebhookConfigurationResponse response;
    ASSERT_TRUE(webhooks->GetWebhookConfiguration(&context, {}, &response).ok());
    ++other_calls;
  }
  slow.join();
  EXPECT_EQ(slow_status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(slow_elapsed, absl::Milliseconds(550));
  EXPECT_GT(other_calls, 10);
}

TEST(FaultInjectionTest, RetryAfterIsHonouredWithinTheDeadline) {
  auto env = GatewayEnv::Start(
      {.sandbox_args = {"--fault-rate-limit-rate", "1.0", "--fault-retry-after-seconds", "1"}});
  ASSERT_NE(env, nullptr);
  // 0.8 s left after the first 429: waiting the platform's 1 s would overrun, so no retry.
  grpc::Status status = Features(*env, absl::Milliseconds(800));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(DetailOf<google::rpc::RetryInfo>(status)->retry_delay().seconds(), 1);
  EXPECT_EQ(DetailOf<google::rpc::ErrorInfo>(status)->metadata().count("attempts"), 0u);
  // With 2.5 s there is room for one retry after 1 s, not for two.
  status = Features(*env, absl::Milliseconds(2500));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(DetailOf<google::rpc::ErrorInfo>(status)->metadata().at("attempts"), "3");
}

TEST(FaultInjectionTest, AFailureStormSpendsNoMoreThanTheRetryBudget) {
  // Every attempt fails and up to 10 attempts are allowed: without a budget that is 9 retries per
  // call. (A 429 storm is the same path; the sandbox's Retry-After of at least 1 s would only make
  // it slower.)
  auto env = GatewayEnv::Start(
      {.sandbox_args = {"--fault-error-rate", "1.0", "--fault-error-status", "503"},
       .gateway_args = {"--retry-max-attempts", "10", "--breaker-failures", "100000",
                        "--breaker-min-requests", "100000"}});
  ASSERT_NE(env, nullptr);
  constexpr int kThreads = 50;
  constexpr int kCallsPerThread = 12;
  absl::Time started = absl::Now();
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        EXPECT_EQ(Features(*env).error_code(), grpc::StatusCode::UNAVAILABLE);
      }
    });
  }
  for (auto& caller : callers) caller.join();
  const int64_t calls = kThreads * kCallsPerThread;
  const int64_t retries = env->SandboxRequests("GET /api/lab/features", 503) - calls;
  // Default budget: 20 % of requests plus 10 retries/s, over each 10 s window the storm lasted.
  const int64_t windows = 1 + absl::ToInt64Seconds(absl::Now() - started) / 10;
  EXPECT_LE(retries, windows * (calls / 5 + 100));
  EXPECT_GT(retries, 0);
  EXPECT_LT(retries, calls * 9 / 4);  // far below what an unbudgeted retry policy would send
}

}  // namespace
}  // namespace aarthik::testing
