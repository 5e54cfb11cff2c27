// Route table, dot-segment resolution, fault rules, the request log and configuration parsing.
#include "gtest/gtest.h"
#include "sandbox/config.h"
#include "sandbox/faults.h"
#include "sandbox/request_log.h"
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

TEST(RouterTest, ResolvesDotSegmentsLikeAFrontEnd) {
  struct Case {
    const char* path;
    const char* resolved;  // null: nothing to resolve
  };
  const Case cases[] = {
      {"/api/v1/hybrid/personal-loan/borrowers/B-1/journey/offers", nullptr},
      {"/api/v1/hybrid/personal-loan/borrowers/a.b/journey", nullptr},  // not a dot segment
      {"/api/v1/hybrid/personal-loan/borrowers/.../journey", nullptr},
      {"/api/v1/hybrid/personal-loan/borrowers/%252e%252e/journey", nullptr},
      // The three requests of issue 14, as the platform's front end would route them.
      {"/api/v1/hybrid/personal-loan/borrowers/../journey/offers",
       "/api/v1/hybrid/personal-loan/journey/offers"},
      {"/api/v1/hybrid/personal-loan/borrowers/../journey", "/api/v1/hybrid/personal-loan/journey"},
      {"/api/v1/hybrid/personal-loan/borrowers/B-1/journey/offers/..",
       "/api/v1/hybrid/personal-loan/borrowers/B-1/journey/"},
      {"/api/v1/hybrid/personal-loan/borrowers/./journey",
       "/api/v1/hybrid/personal-loan/borrowers/journey"},
      {"/api/v1/hybrid/personal-loan/borrowers/%2e%2E/journey",
       "/api/v1/hybrid/personal-loan/journey"},
      {"/a/.%2e/b", "/b"},
      {"/../../x", "/x"},
      {"/..", "/"},
  };
  for (const Case& c : cases) {
    std::string resolved = "untouched";
    bool changed = ResolveDotSegments(c.path, &resolved);
    if (c.resolved == nullptr) {
      EXPECT_FALSE(changed) << c.path;
      EXPECT_EQ(resolved, "untouched");
    } else {
      EXPECT_TRUE(changed) << c.path;
      EXPECT_EQ(resolved, c.resolved) << c.path;
    }
  }
  EXPECT_TRUE(IsDotSegment("%2E"));
  EXPECT_FALSE(IsDotSegment("%2"));
  EXPECT_FALSE(IsDotSegment("..."));
  EXPECT_FALSE(IsDotSegment(""));
}

TEST(RequestLogTest, KeepsTheLastNRawTargetsInOrder) {
  RequestLog log(3);
  EXPECT_TRUE(log.Since(0).empty());
  for (int i = 1; i <= 5; ++i) log.Record("GET", "/x/" + std::to_string(i) + "/../y");
  uint64_t last = 0;
  std::vector<LoggedRequest> kept = log.Since(0, &last);
  EXPECT_EQ(last, 5u);
  ASSERT_EQ(kept.size(), 3u);  // bounded: the two oldest were overwritten
  EXPECT_EQ(kept[0].seq, 3u);
  EXPECT_EQ(kept[0].target, "/x/3/../y");
  EXPECT_EQ(kept[2].seq, 5u);
  EXPECT_EQ(kept[2].method, "GET");
  ASSERT_EQ(log.Since(4).size(), 1u);
  EXPECT_EQ(log.Since(4)[0].target, "/x/5/../y");
  log.Clear();
  EXPECT_TRUE(log.Since(0).empty());
  log.Record("POST", "/z");
  ASSERT_EQ(log.Since(0).size(), 1u);
  EXPECT_EQ(log.Since(0)[0].seq, 6u);  // sequence numbers are never reused

  RequestLog off(0);
  off.Record("GET", "/x");
  EXPECT_TRUE(off.Since(0).empty());
  EXPECT_EQ(off.last_seq(), 0u);
}

TEST(FaultsTest, SuccessBodyRule) {
  absl::StatusOr<FaultRule> verbatim = ParseFaultRule(nlohmann::json::parse(
      R"({"route":"GET /api/v1/headless/journeys/*","success_body":"{\"unexpected\":\"shape\"}"})"));
  ASSERT_TRUE(verbatim.ok()) << verbatim.status();
  ASSERT_NE(verbatim->success_body, nullptr);
  EXPECT_EQ(*verbatim->success_body, R"({"unexpected":"shape"})");
  absl::StatusOr<FaultRule> object =
      ParseFaultRule(nlohmann::json::parse(R"({"success_body":{"unexpected":"shape"}})"));
  ASSERT_TRUE(object.ok());
  EXPECT_EQ(*object->success_body, R"({"unexpected":"shape"})");
  EXPECT_FALSE(ParseFaultRule(nlohmann::json::parse(R"({"success_body_rate":1.5})")).ok());

  FaultInjector faults(1);
  faults.Set({*verbatim});
  FaultPlan hit = faults.Plan("GET", "/api/v1/headless/journeys/j");
  ASSERT_NE(hit.success_body, nullptr);
  EXPECT_TRUE(hit.any());
  EXPECT_EQ(faults.Plan("GET", "/api/lab/features").success_body, nullptr);
  EXPECT_EQ(FaultRuleToJson(*verbatim)["success_body"], R"({"unexpected":"shape"})");
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
