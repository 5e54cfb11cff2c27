// Hybrid, Hosted and web-hook subscription RPCs through the generated stubs against the real
// processes.
#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "aarthik/hybrid/v1/hybrid.grpc.pb.h"
#include "aarthik/webhooks/v1/subscription.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"

namespace aarthik::testing {
namespace {

namespace hy = aarthik::hybrid::v1;
namespace ho = aarthik::hosted::v1;
namespace wh = aarthik::webhooks::v1;
namespace cm = aarthik::common::v1;

class PartnerSurfacesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = GatewayEnv::Start();
    ASSERT_NE(env_, nullptr);
    hybrid_ = hy::HybridService::NewStub(env_->channel());
    hosted_ = ho::HostedService::NewStub(env_->channel());
    webhooks_ = wh::WebhookSubscriptionService::NewStub(env_->channel());
  }

  grpc::Status Poll(const std::string& borrower, hy::PollOffersResponse* response) {
    grpc::ClientContext context;
    PrepareContext(&context);
    hy::PollOffersRequest request;
    request.set_borrower_provider_id(borrower);
    return hybrid_->PollOffers(&context, request, response);
  }

  std::unique_ptr<GatewayEnv> env_;
  std::unique_ptr<hy::HybridService::Stub> hybrid_;
  std::unique_ptr<ho::HostedService::Stub> hosted_;
  std::unique_ptr<wh::WebhookSubscriptionService::Stub> webhooks_;
};

TEST_F(PartnerSurfacesTest, HybridJourneyStartPollHandOff) {
  hy::StartJourneyRequest start;
  start.set_borrower_provider_id("BORROWER-123");
  start.mutable_prefill()->mutable_personal()->set_contact_number("9876543210");
  start.mutable_prefill()->mutable_personal()->set_pan_name("Rahul Sharma");
  hy::StartJourneyResponse started;
  grpc::ClientContext context;
  PrepareContext(&context, "hybrid-corr-1");
  grpc::Status status = hybrid_->StartJourney(&context, start, &started);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(started.journey().journey_id().empty());
  EXPECT_FALSE(started.journey().resumed());
  EXPECT_EQ(ServerMetadata(context, "x-correlation-id"), "hybrid-corr-1");
  EXPECT_FALSE(ServerMetadata(context, "x-platform-request-id").empty());

  hy::PollOffersResponse poll;
  ASSERT_TRUE(Poll("BORROWER-123", &poll).ok());
  EXPECT_EQ(poll.offers().status(), cm::EXPERIENCE_STATUS_STARTED);
  EXPECT_GT(poll.offers().poll_after_ms(), 0);
  env_->AdvanceSandboxTime(poll.offers().poll_after_ms() / 1000.0);
  ASSERT_TRUE(Poll("BORROWER-123", &poll).ok());
  EXPECT_EQ(poll.offers().status(), cm::EXPERIENCE_STATUS_OFFERED);
  EXPECT_GE(poll.offers().lenders_size(), 3);
  EXPECT_EQ(poll.offers().account_aggregator().status(), hy::ACCOUNT_AGGREGATOR_STATUS_READY);
  EXPECT_FALSE(poll.offers().account_aggregator().url().empty());
  std::string offer_id;
  for (const auto& [name, lender] : poll.offers().lenders()) {
    for (const auto& offer : lender.offers()) {
      if (offer.status() == hy::HYBRID_OFFER_STATUS_OFFER_RECEIVED && offer_id.empty())
        offer_id = offer.offer_id();
    }
  }
  ASSERT_FALSE(offer_id.empty());

  hy::GetHostedUrlRequest hand_off;
  hand_off.set_borrower_provider_id("BORROWER-123");
  hand_off.set_offer_id(offer_id);
  hy::GetHostedUrlResponse url;
  grpc::ClientContext url_context;
  PrepareContext(&url_context);
  status = hybrid_->GetHostedUrl(&url_context, hand_off, &url);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(url.hand_off().hosted_url().find("#bt_test_"), std::string::npos);
  EXPECT_FALSE(url.hand_off().expires_at().empty());

  hand_off.set_offer_id("no-such-offer");
  grpc::ClientContext missing_context;
  PrepareContext(&missing_context);
  EXPECT_EQ(hybrid_->GetHostedUrl(&missing_context, hand_off, &url).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(PartnerSurfacesTest, HybridErrors) {
  hy::PollOffersResponse poll;
  EXPECT_EQ(Poll("UNKNOWN-BORROWER", &poll).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Poll(std::string(129, 'x'), &poll).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  hy::StartJourneyRequest start;
  start.set_borrower_provider_id("B-1");
  hy::StartJourneyResponse started;
  grpc::ClientContext context;
  PrepareContext(&context);
  grpc::Status status = hybrid_->StartJourney(&context, start, &started);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  bool named_personal = false;
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad_request;
    if (any.UnpackTo(&bad_request))
      named_personal = bad_request.field_violations(0).field() == "personal";
  }
  EXPECT_TRUE(named_personal);
}

TEST_F(PartnerSurfacesTest, HostedEmbedSessionAndFeatures) {
  ho::CreateEmbedSessionRequest request;
  request.mutable_session()->set_borrower_provider_id("BORROWER-123");
  request.mutable_session()->set_journey_type(cm::JOURNEY_TYPE_PERSONAL_LOAN);
  request.mutable_session()->mutable_profile()->set_contact_number("9876543210");
  ho::CreateEmbedSessionResponse response;
  grpc::ClientContext context;
  PrepareContext(&context);
  grpc::Status status = hosted_->CreateEmbedSession(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(response.embed_url().find("#bt_test_"), std::string::npos);

  request.mutable_session()->mutable_profile()->clear_contact_number();
  grpc::ClientContext missing;
  PrepareContext(&missing);
  EXPECT_EQ(hosted_->CreateEmbedSession(&missing, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  ho::GetFeaturesResponse features;
  grpc::ClientContext features_context;
  PrepareContext(&features_context);
  ASSERT_TRUE(hosted_->GetFeatures(&features_context, ho::GetFeaturesRequest(), &features).ok());
  EXPECT_GT(features.features().fields_size(), 0);
}

TEST_F(PartnerSurfacesTest, WebhookSubscriptionRoundTrip) {
  auto call = [&](auto method, const auto& request, auto* response) {
    grpc::ClientContext context;
    PrepareContext(&context);
    return ((*webhooks_).*method)(&context, request, response);
  };
  wh::SubscribeWebhooksRequest subscribe;  // tenant and application default to the gateway's
  subscribe.mutable_subscription()->set_url("http://127.0.0.1:9/hooks");
  wh::SubscribeWebhooksResponse subscribed;
  grpc::Status status =
      call(&wh::WebhookSubscriptionService::Stub::SubscribeWebhooks, subscribe, &subscribed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(subscribed.configuration().webhook_enabled());
  EXPECT_EQ(subscribed.configuration().tenant_id(), kTenantId);

  wh::GetWebhookConfigurationResponse configuration;
  ASSERT_TRUE(call(&wh::WebhookSubscriptionService::Stub::GetWebhookConfiguration,
                   wh::GetWebhookConfigurationRequest(), &configuration)
                  .ok());
  EXPECT_EQ(configuration.configuration().webhook_url(), "http://127.0.0.1:9/hooks");

  wh::UnsubscribeWebhooksResponse unsubscribed;
  ASSERT_TRUE(call(&wh::WebhookSubscriptionService::Stub::UnsubscribeWebhooks,
                   wh::UnsubscribeWebhooksRequest(), &unsubscribed)
                  .ok());
  EXPECT_FALSE(unsubscribed.configuration().webhook_enabled());
  EXPECT_TRUE(unsubscribed.configuration().webhook_url().empty());

  // Another tenant's configuration: PERMISSION_DENIED; a non-UUID tenant never reaches the
  // platform.
  wh::GetWebhookConfigurationRequest other;
  other.set_tenant_id("00000000-0000-4000-8000-000000000001");
  EXPECT_EQ(
      call(&wh::WebhookSubscriptionService::Stub::GetWebhookConfiguration, other, &configuration)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  other.set_tenant_id("tenant-1");
  EXPECT_EQ(
      call(&wh::WebhookSubscriptionService::Stub::GetWebhookConfiguration, other, &configuration)
          .error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace aarthik::testing
