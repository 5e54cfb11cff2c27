// grpc.health.v1: overall and per-service status, called the way Kubernetes' gRPC probes call it.
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"
#include "tests/integration/health_wire.h"

namespace aarthik::testing {
namespace {

grpc::Status Check(GatewayEnv& env, const std::string& service, int* status) {
  grpc::ClientContext context;
  PrepareContext(&context);
  return CheckHealth(env.channel(), service, &context, status);
}

TEST(HealthTest, OverallAndEveryServiceAreServing) {
  auto env = GatewayEnv::Start();
  ASSERT_NE(env, nullptr);
  for (const std::string service :
       {"", "aarthik.headless.v1.SessionsService", "aarthik.headless.v1.JourneysService",
        "aarthik.headless.v1.ProfileService", "aarthik.headless.v1.OffersService",
        "aarthik.headless.v1.StepsService", "aarthik.headless.v1.AccountAggregatorService",
        "aarthik.headless.v1.PostDisbursalService", "aarthik.hybrid.v1.HybridService",
        "aarthik.hosted.v1.HostedService", "aarthik.webhooks.v1.WebhookSubscriptionService",
        "aarthik.events.v1.JourneyEventsService"}) {
    int status = 0;
    grpc::Status result = Check(*env, service, &status);
    ASSERT_TRUE(result.ok()) << service << ": " << result.error_message();
    EXPECT_EQ(status, kServing) << service;
  }
  int status = 0;
  EXPECT_EQ(Check(*env, "no.such.Service", &status).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace aarthik::testing
