// Live journey events end to end: the sandbox's signed journey.snapshot web-hooks reach the gateway's HTTP
// listener (subscribed through the SubscribeWebhooks RPC) and come out of WatchJourneyEvents; WatchJourneyState
// coalesces many watchers into one upstream poll.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "aarthik/events/v1/events.grpc.pb.h"
#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "aarthik/headless/v1/profile.grpc.pb.h"
#include "aarthik/webhooks/v1/subscription.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"

namespace aarthik::testing {
namespace {

namespace hl = aarthik::headless::v1;
namespace ev = aarthik::events::v1;

class JourneyEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/aarthik-whsec-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    const std::string secret = "whsec_integration_secret\n";
    ASSERT_EQ(write(fd, secret.data(), secret.size()), static_cast<ssize_t>(secret.size()));
    close(fd);
    secret_file_ = path;
    env_ = GatewayEnv::Start({.sandbox_args = {"--webhook-secret-file", secret_file_},
                              .gateway_args = {"--webhook-secret-file", secret_file_}});
    ASSERT_NE(env_, nullptr);
    events_ = ev::JourneyEventsService::NewStub(env_->channel());
    journeys_ = hl::JourneysService::NewStub(env_->channel());
  }
  void TearDown() override { std::remove(secret_file_.c_str()); }

  void Subscribe() {
    auto subscription = aarthik::webhooks::v1::WebhookSubscriptionService::NewStub(env_->channel());
    aarthik::webhooks::v1::SubscribeWebhooksRequest request;
    request.mutable_subscription()->set_url("http://" + env_->http_address() + "/webhooks/aarthik");
    aarthik::webhooks::v1::SubscribeWebhooksResponse response;
    grpc::ClientContext context;
    PrepareContext(&context);
    grpc::Status status = subscription->SubscribeWebhooks(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.configuration().webhook_enabled());
  }

  std::string CreateJourney(const std::string& borrower) {
    hl::CreateJourneyRequest create;
    create.set_borrower_external_id(borrower);
    create.mutable_journey()->set_type(aarthik::common::v1::JOURNEY_TYPE_PERSONAL_LOAN);
    hl::CreateJourneyResponse created;
    grpc::ClientContext context;
    PrepareContext(&context);
    grpc::Status status = journeys_->CreateJourney(&context, create, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created.journey().journey_id();
  }

  std::string secret_file_;
  std::unique_ptr<GatewayEnv> env_;
  std::unique_ptr<ev::JourneyEventsService::Stub> events_;
  std::unique_ptr<hl::JourneysService::Stub> journeys_;
};

TEST_F(JourneyEventsTest, SandboxWebhooksReachAGrpcSubscriber) {
  Subscribe();
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  ev::WatchJourneyEventsRequest request;
  request.set_borrower_external_id("CUST_EVENTS_1");
  std::unique_ptr<grpc::ClientReader<ev::WatchJourneyEventsResponse>> reader = events_->WatchJourneyEvents(&context, request);
  const std::string journey = CreateJourney("CUST_EVENTS_1");
  ASSERT_FALSE(journey.empty());
  // Time-driven transitions (profile required, expiry, ...) also fire web-hooks; a time jump makes sure at
  // least one status change happens after the subscription.
  env_->AdvanceSandboxTime(40 * 24 * 3600);
  ev::WatchJourneyEventsResponse message;
  ASSERT_TRUE(reader->Read(&message)) << "no event reached the subscriber";
  EXPECT_FALSE(message.event().event_id().empty());
  EXPECT_EQ(message.event().borrower_external_id(), "CUST_EVENTS_1");
  ASSERT_TRUE(message.event().has_headless());
  bool mentions = false;
  for (const auto& id : message.event().journey_ids()) mentions = mentions || id == journey;
  EXPECT_TRUE(mentions);
  EXPECT_FALSE(message.event().cursor().empty());
  context.TryCancel();
  const nlohmann::json counters = env_->SandboxCounters();
  EXPECT_GE(counters["webhooks"]["succeeded"].get<int64_t>(), 1) << counters.dump();
}

TEST_F(JourneyEventsTest, ManyStateWatchersShareOnePoll) {
  const std::string journey = CreateJourney("CUST_EVENTS_2");
  ASSERT_FALSE(journey.empty());
  const int64_t before = env_->SandboxRequests("GET /api/v1/headless/journeys/{journeyID}/state");
  constexpr int kWatchers = 100;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<ev::WatchJourneyStateResponse>>> readers;
  ev::WatchJourneyStateRequest request;
  request.set_borrower_external_id("CUST_EVENTS_2");
  request.set_journey_id(journey);
  for (int i = 0; i < kWatchers; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    readers.push_back(events_->WatchJourneyState(contexts.back().get(), request));
  }
  const absl::Time start = absl::Now();
  for (auto& reader : readers) {
    ev::WatchJourneyStateResponse state;
    ASSERT_TRUE(reader->Read(&state));
    EXPECT_EQ(state.headless().journey_id(), journey);
  }
  const absl::Duration elapsed = absl::Now() - start;
  const int64_t polls = env_->SandboxRequests("GET /api/v1/headless/journeys/{journeyID}/state") - before;
  // One poll for all watchers, plus at most one per (≥ 1 s) interval that passed while they connected.
  EXPECT_GE(polls, 1);
  EXPECT_LE(polls, 1 + absl::ToInt64Seconds(elapsed));
  for (auto& context : contexts) context->TryCancel();
}

}  // namespace
}  // namespace aarthik::testing
