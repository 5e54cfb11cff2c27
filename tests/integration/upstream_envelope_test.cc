// Issue 14, item 2: a 2xx answer without the envelope its route expects is INTERNAL
// UPSTREAM_BAD_RESPONSE, never OK with an empty message. One row per envelope kind, through the
// real gateway and sandbox; the sandbox's success_body fault replaces the 2xx body of one route.
#include <functional>

#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "aarthik/hybrid/v1/hybrid.grpc.pb.h"
#include "aarthik/webhooks/v1/subscription.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"

namespace aarthik::testing {
namespace {

namespace hl = aarthik::headless::v1;
namespace hy = aarthik::hybrid::v1;
namespace ho = aarthik::hosted::v1;
namespace wh = aarthik::webhooks::v1;
namespace cm = aarthik::common::v1;

constexpr char kUnexpectedShape[] = R"({"unexpected":"shape"})";

struct Row {
  std::string kind;
  // Fault route glob: the sandbox replaces the 2xx body of these requests.
  std::string fault_route;
  // The RPC; fills `what` with a field of the answer that an empty message would leave empty.
  std::function<grpc::Status(grpc::ClientContext*, std::string* what)> call;
};

TEST(UpstreamEnvelopeTest, WrongShapedSuccessIsUpstreamBadResponseForEveryKind) {
  auto env = GatewayEnv::Start();
  ASSERT_NE(env, nullptr);
  auto journeys = hl::JourneysService::NewStub(env->channel());
  auto hybrid = hy::HybridService::NewStub(env->channel());
  auto hosted = ho::HostedService::NewStub(env->channel());
  auto webhooks = wh::WebhookSubscriptionService::NewStub(env->channel());

  // Something to read on each surface first, while the sandbox still answers correctly.
  std::string journey_id;
  {
    grpc::ClientContext context;
    PrepareContext(&context);
    hl::CreateJourneyRequest request;
    request.set_borrower_external_id("CUST_ENVELOPE");
    request.mutable_journey()->set_type(cm::JOURNEY_TYPE_PERSONAL_LOAN);
    hl::CreateJourneyResponse response;
    grpc::Status status = journeys->CreateJourney(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    journey_id = response.journey().journey_id();
  }
  {
    grpc::ClientContext context;
    PrepareContext(&context);
    hy::StartJourneyRequest request;
    request.set_borrower_provider_id("BORROWER-ENVELOPE");
    request.mutable_prefill()->mutable_personal()->set_contact_number("9876543210");
    hy::StartJourneyResponse response;
    grpc::Status status = hybrid->StartJourney(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  const std::vector<Row> rows = {
      {"headless (GetJourney, the issue's example)", "GET /api/v1/headless/journeys/*",
       [&](grpc::ClientContext* context, std::string* what) {
         hl::GetJourneyRequest request;
         request.set_borrower_external_id("CUST_ENVELOPE");
         request.set_journey_id(journey_id);
         hl::GetJourneyResponse response;
         grpc::Status status = journeys->GetJourney(context, request, &response);
         *what = response.journey().journey_id();
         return status;
       }},
      {"Hybrid (PollOffers)", "GET /api/v1/hybrid/*",
       [&](grpc::ClientContext* context, std::string* what) {
         hy::PollOffersRequest request;
         request.set_borrower_provider_id("BORROWER-ENVELOPE");
         hy::PollOffersResponse response;
         grpc::Status status = hybrid->PollOffers(context, request, &response);
         *what = response.offers().journey_id();
         return status;
       }},
      {"Hosted (CreateEmbedSession)", "POST /api/lab/sessions",
       [&](grpc::ClientContext* context, std::string* what) {
         ho::CreateEmbedSessionRequest request;
         request.mutable_session()->set_borrower_provider_id("BORROWER-ENVELOPE-HOSTED");
         request.mutable_session()->mutable_profile()->set_contact_number("9876543210");
         ho::CreateEmbedSessionResponse response;
         grpc::Status status = hosted->CreateEmbedSession(context, request, &response);
         *what = response.embed_url();
         return status;
       }},
      {"web-hook subscription (GetWebhookConfiguration)", "GET /api/tenants/*",
       [&](grpc::ClientContext* context, std::string* what) {
         wh::GetWebhookConfigurationResponse response;
         grpc::Status status = webhooks->GetWebhookConfiguration(
             context, wh::GetWebhookConfigurationRequest(), &response);
         *what = response.configuration().tenant_id();
         return status;
       }},
  };

  for (const Row& row : rows) {
    SCOPED_TRACE(row.kind);
    // The route answers correctly without the fault...
    {
      grpc::ClientContext context;
      PrepareContext(&context);
      std::string what;
      grpc::Status status = row.call(&context, &what);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_FALSE(what.empty());
    }
    // ...and a 2xx with the wrong shape is a bad response, not an empty success.
    env->SetSandboxFaults({{"route", row.fault_route}, {"success_body", kUnexpectedShape}});
    grpc::ClientContext context;
    PrepareContext(&context);
    std::string what;
    grpc::Status status = row.call(&context, &what);
    env->ClearSandboxFaults();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL)
        << "code " << status.error_code() << ": " << status.error_message();
    auto info = DetailOf<google::rpc::ErrorInfo>(status);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->reason(), "UPSTREAM_BAD_RESPONSE");
    EXPECT_EQ(info->domain(), "gateway.aarthik");
    EXPECT_FALSE(info->metadata().at("route").empty());
    EXPECT_NE(status.error_message().find("HTTP 200"), std::string::npos) << status.error_message();
  }
}

// Hosted features have no documented shape: any JSON object is their payload (the decision in
// docs/contract-decisions.md), so the same fault is a success there.
TEST(UpstreamEnvelopeTest, UndocumentedShapeAcceptsAnyObject) {
  auto env = GatewayEnv::Start();
  ASSERT_NE(env, nullptr);
  auto hosted = ho::HostedService::NewStub(env->channel());
  env->SetSandboxFaults({{"route", "GET /api/lab/features"}, {"success_body", kUnexpectedShape}});
  grpc::ClientContext context;
  PrepareContext(&context);
  ho::GetFeaturesResponse response;
  grpc::Status status = hosted->GetFeatures(&context, ho::GetFeaturesRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.features().fields().at("unexpected").string_value(), "shape");
}

}  // namespace
}  // namespace aarthik::testing
