// Route table, fault rules and configuration parsing.
#include "gtest/gtest.h"
#include "sandbox/config.h"
#include "sandbox/faults.h"
#include "sandbox/router.h"

namespace aarthik::sandbox {
namespace {

TEST(RouterTest, MatchesEveryContractEndpointWithParams) {
  const Router& router = Router::Get();
  int platform_routes = 0;
  for (const Route& route : router.routes()) {
    if (route.surface != Surface::kControl) ++platform_routes;
  }
  EXPECT_EQ(platform_routes, 40);
  RouteMatch match;
  ASSERT_TRUE(
      router.Match("GET", "/api/v1/headless/journeys/j1/offers/o1/steps/kyc/status", &match));
  EXPECT_EQ(match.route->id, RouteId::kStepKycStatus);
  EXPECT_EQ(match.params.journey_id, "j1");
  EXPECT_EQ(match.params.offer_id, "o1");
  ASSERT_TRUE(
      router.Match("GET", "/api/v1/hybrid/personal-loan/borrowers/B%2D1/journey/offers/x", &match));
  EXPECT_EQ(match.route->id, RouteId::kHybridHandoff);
  EXPECT_EQ(match.params.borrower_provider_id, "B-1");
  EXPECT_EQ(
      match.route->label,
      "GET /api/v1/hybrid/personal-loan/borrowers/{borrowerProviderID}/journey/offers/{offerID}");
  RouteMatch wrong_method;
  EXPECT_FALSE(router.Match("DELETE", "/api/v1/headless/journeys", &wrong_method));
  EXPECT_TRUE(wrong_method.path_known);
  RouteMatch none;
  EXPECT_FALSE(router.Match("GET", "/api/v2/nothing", &none));
  EXPECT_FALSE(none.path_known);
}

TEST(FaultsTest, GlobAndRules) {
  EXPECT_TRUE(
      GlobMatch("POST /api/v1/headless/journeys/*", "POST /api/v1/headless/journeys/x/profile"));
  EXPECT_FALSE(GlobMatch("POST /api/v1/headless/journeys/*", "GET /api/v1/headless/journeys/x"));
  EXPECT_TRUE(GlobMatch("*state", "GET /a/state"));
  absl::StatusOr<std::vector<FaultRule>> rules = ParseFaultRules(nlohmann::json::parse(
      R"([{"route":"GET *","error_rate":1,"error_status":503},{"latency_ms":{"fixed":5}}])"));
  ASSERT_TRUE(rules.ok()) << rules.status();
  FaultInjector faults(1);
  faults.Set(*rules);
  FaultPlan get = faults.Plan("GET", "/x");
  EXPECT_EQ(get.error_status, 503);
  EXPECT_EQ(get.latency_ms, 5);
  FaultPlan post = faults.Plan("POST", "/x");
  EXPECT_EQ(post.error_status, 0);
  EXPECT_FALSE(ParseFaultRule(nlohmann::json::parse(R"({"error_rat":1})")).ok());
  EXPECT_FALSE(ParseFaultRule(nlohmann::json::parse(R"({"error_rate":2})")).ok());
}

TEST(FaultsTest, RatesAreRoughlyHonouredAndDeterministic) {
  FaultInjector a(42), b(42);
  FaultRule rule;
  rule.rate_limit_rate = 0.3;
  a.Set({rule});
  b.Set({rule});
  int hits = 0;
  for (int i = 0; i < 1000; ++i) {
    FaultPlan pa = a.Plan("GET", "/"), pb = b.Plan("GET", "/");
    EXPECT_EQ(pa.rate_limited_retry_after, pb.rate_limited_retry_after);
    hits += pa.rate_limited_retry_after > 0;
  }
  EXPECT_GT(hits, 200);
  EXPECT_LT(hits, 400);
}

TEST(ConfigTest, FlagsEnvAndDurations) {
  const char* argv[] = {"sandbox",
                        "--listen",
                        "127.0.0.1:0",
                        "--api-key",
                        "sk_test_a",
                        "--api-key=sk_test_b",
                        "--session-ttl",
                        "2s",
                        "--refresh-ttl",
                        "7d",
                        "--control-plane",
                        "--fault-error-rate",
                        "0.5"};
  const char* envp[] = {"AARTHIK_SANDBOX_SEED=9", "AARTHIK_SANDBOX_API_KEY=sk_test_env", nullptr};
  absl::StatusOr<Config> config = ParseConfig(13, argv, envp);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_port, 0);
  EXPECT_EQ(config->api_keys, (std::vector<std::string>{"sk_test_a", "sk_test_b"}));
  EXPECT_EQ(config->session_ttl, absl::Seconds(2));
  EXPECT_EQ(config->refresh_ttl, absl::Hours(24 * 7));
  EXPECT_EQ(config->seed, 9u);
  EXPECT_TRUE(config->control_plane);
  ASSERT_EQ(config->faults.size(), 1u);
  EXPECT_EQ(config->faults[0].error_rate, 0.5);
  const char* bad[] = {"sandbox", "--nope"};
  EXPECT_FALSE(ParseConfig(2, bad, nullptr).ok());
}

}  // namespace
}  // namespace aarthik::sandbox
