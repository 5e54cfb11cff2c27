// Integration: signed web-hook deliveries (retries, duplicates, out of order), faults, counters,
// the log of raw request targets.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sandbox/signing.h"
#include "tests/sandbox/sandbox_harness.h"

namespace aarthik::sandbox::testing {
namespace {

const std::string kAuth = std::string("Authorization: Bearer ") + kApiKey;
const std::string kHooks =
    "/api/tenants/8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61/applications/"
    "fbb1fd74-c502-4419-83f3-82a2a019fc9a/webhooks";

void Subscribe(SandboxProcess& sandbox, const std::string& url) {
  ASSERT_EQ(
      sandbox.Request("POST", kHooks + "/subscribe", nlohmann::json{{"url", url}}.dump(), {kAuth})
          .status,
      200);
}

void ExpectValidSignature(const ReceivedWebhook& hook, const std::string& secret) {
  ASSERT_TRUE(hook.headers.count("x-al-webhook-signature"));
  EXPECT_EQ(hook.headers.at("x-al-webhook-signature"),
            SignWebhook(secret, hook.headers.at("x-al-webhook-timestamp"), hook.body));
  EXPECT_EQ(hook.headers.at("x-al-tenant-id"), "8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61");
  EXPECT_EQ(hook.headers.at("x-al-application-id"), "fbb1fd74-c502-4419-83f3-82a2a019fc9a");
  EXPECT_EQ(hook.headers.at("x-al-event-id").rfind("evt_", 0), 0u);
}

TEST(WebhooksTest, HeadlessVariantASignedAndRetried) {
  const std::string secret_file = ::testing::TempDir() + "/webhook_secret";
  FILE* f = std::fopen(secret_file.c_str(), "w");
  std::fputs("whsec_from_file\n", f);
  std::fclose(f);
  // The receiver fails the first delivery: the sandbox retries after the (simulated) backoff.
  WebhookReceiver receiver([](int n) { return n == 0 ? 503 : 200; });
  auto sandbox = SandboxProcess::Start(
      {"--control-plane", "--webhook-secret-file", secret_file, "--webhook-backoff", "30s"});
  ASSERT_NE(sandbox, nullptr);
  Subscribe(*sandbox, receiver.url());
  HeadlessBorrower borrower(sandbox.get(), "CUST_0012");
  ASSERT_EQ(borrower.Bootstrap().status, 200);
  ASSERT_EQ(borrower.Call("POST", "/api/v1/headless/journeys", {{"type", "PERSONAL_LOAN"}}).status,
            200);
  ASSERT_TRUE(receiver.WaitFor(1, absl::Seconds(10)));
  // The retry is scheduled when the sandbox reads the 503: wait for that (counter round trips, no
  // sleeping) before advancing time, or the retry would be scheduled after the jump.
  nlohmann::json before = sandbox->Counters();
  for (int i = 0; i < 2000 && before["webhooks"]["failed"] != 1; ++i) before = sandbox->Counters();
  ASSERT_EQ(before["webhooks"]["failed"], 1);
  sandbox->AdvanceTime(30);
  ASSERT_TRUE(receiver.WaitFor(2, absl::Seconds(10)));
  std::vector<ReceivedWebhook> hooks = receiver.received();
  EXPECT_EQ(hooks[0].headers.at("x-al-event-id"), hooks[1].headers.at("x-al-event-id"));
  EXPECT_EQ(hooks[0].body, hooks[1].body);
  for (const ReceivedWebhook& hook : hooks) ExpectValidSignature(hook, "whsec_from_file");
  nlohmann::json body = nlohmann::json::parse(hooks[1].body);
  EXPECT_EQ(body["event_type"], "journey.snapshot");
  EXPECT_EQ(body["schema_version"], "1.0.0");
  EXPECT_EQ(body["event_id"], hooks[1].headers.at("x-al-event-id"));
  EXPECT_EQ(body["borrower"]["borrowerExternalID"], "CUST_0012");
  EXPECT_EQ(body["borrower"]["journeys"][0]["status"], "STARTED");
  const int64_t timestamp = std::stoll(hooks[1].headers.at("x-al-webhook-timestamp"));
  EXPECT_LT(std::abs(timestamp - absl::ToUnixSeconds(absl::Now())), 300);
  // The receiver saw the request before the sandbox read the answer: re-read the counters (each
  // read is a round trip, no sleeping) until the outcome is recorded.
  nlohmann::json counters = sandbox->Counters();
  for (int i = 0; i < 2000 && counters["webhooks"]["succeeded"] != 1; ++i)
    counters = sandbox->Counters();
  EXPECT_EQ(counters["webhooks"]["sent"], 2);
  EXPECT_EQ(counters["webhooks"]["failed"], 1);
  EXPECT_EQ(counters["webhooks"]["succeeded"], 1);
}

TEST(WebhooksTest, HybridVariantBAndDuplicatesAndReorder) {
  WebhookReceiver receiver;
  auto sandbox = SandboxProcess::Start({"--control-plane"});
  ASSERT_NE(sandbox, nullptr);
  Subscribe(*sandbox, receiver.url());
  ASSERT_EQ(
      sandbox->Request("PUT", "/_sandbox/webhooks", R"({"duplicate_rate":1.0,"reorder":true})")
          .status,
      200);
  ASSERT_EQ(sandbox
                ->Request("POST", "/api/v1/hybrid/personal-loan/borrowers/B-9/journey",
                          R"({"personal":{"contactNumber":"9876543210"}})", {kAuth})
                .status,
            200);
  sandbox->AdvanceTime(10);  // STARTED, PROFILED, OFFERED
  ASSERT_TRUE(receiver.WaitFor(6, absl::Seconds(10)));
  std::vector<ReceivedWebhook> hooks = receiver.received();
  std::map<std::string, int> per_event;
  std::vector<std::string> statuses;
  for (const ReceivedWebhook& hook : hooks) {
    ExpectValidSignature(hook, "whsec_test_sandbox");
    ++per_event[hook.headers.at("x-al-event-id")];
    nlohmann::json body = nlohmann::json::parse(hook.body);
    EXPECT_EQ(body["borrower"]["provider_id"], "B-9");
    EXPECT_EQ(body["origin_experience"], "HYBRID");
    statuses.push_back(body["borrower"]["journey"]["status"]);
  }
  for (const auto& [event, count] : per_event) EXPECT_EQ(count, 2) << event;  // duplicates
  // Out of order on purpose: PROFILED (the second event) arrives before STARTED.
  auto first_started = std::find(statuses.begin(), statuses.end(), "STARTED");
  auto first_profiled = std::find(statuses.begin(), statuses.end(), "PROFILED");
  EXPECT_LT(first_profiled - statuses.begin(), first_started - statuses.begin());
}

TEST(FaultsIntegrationTest, InjectedFaultsHaveNoSideEffectAndAreCounted) {
  auto sandbox = SandboxProcess::Start({"--control-plane"});
  ASSERT_NE(sandbox, nullptr);
  HeadlessBorrower borrower(sandbox.get(), "CUST_F");
  ASSERT_EQ(borrower.Bootstrap().status, 200);
  ASSERT_EQ(
      sandbox
          ->Request(
              "PUT", "/_sandbox/faults",
              R"({"route":"POST /api/v1/headless/journeys","error_rate":1,"error_status":503})")
          .status,
      200);
  HttpResult faulted =
      borrower.Call("POST", "/api/v1/headless/journeys", {{"type", "PERSONAL_LOAN"}}, "fk");
  EXPECT_EQ(faulted.status, 503);
  EXPECT_EQ(faulted.error()["code"], "UPSTREAM_TEMPORARY_FAILURE");
  EXPECT_EQ(faulted.error()["retryable"], true);
  EXPECT_EQ(borrower.Call("GET", "/api/v1/headless/journeys").data()["items"].size(), 0u);

  ASSERT_EQ(sandbox
                ->Request("PUT", "/_sandbox/faults",
                          R"([{"route":"GET *","rate_limit_rate":1,"retry_after_seconds":7}])")
                .status,
            200);
  HttpResult limited = borrower.Call("GET", "/api/v1/headless/journeys");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers["retry-after"], "7");
  EXPECT_EQ(limited.error()["code"], "RATE_LIMITED");

  ASSERT_EQ(sandbox->Request("PUT", "/_sandbox/faults", R"({"reset_rate":1})").status, 200);
  HttpResult reset = borrower.Call("GET", "/api/v1/headless/journeys");
  EXPECT_EQ(reset.status, 0);
  EXPECT_NE(reset.curl_code, 0);

  ASSERT_EQ(sandbox->Request("PUT", "/_sandbox/faults", R"({"truncate_rate":1})").status, 200);
  HttpResult truncated = borrower.Call("GET", "/api/v1/headless/journeys");
  EXPECT_NE(truncated.curl_code, 0);  // connection closed before Content-Length bytes

  ASSERT_EQ(sandbox->Request("PUT", "/_sandbox/faults", R"({"malformed_rate":1})").status, 200);
  HttpResult malformed = borrower.Call("GET", "/api/v1/headless/journeys");
  EXPECT_EQ(malformed.status, 200);
  EXPECT_TRUE(malformed.json.is_discarded());

  ASSERT_EQ(sandbox->Request("PUT", "/_sandbox/faults", R"({"latency_ms":{"fixed":200}})").status,
            200);
  absl::Time before = absl::Now();
  EXPECT_EQ(borrower.Call("GET", "/api/v1/headless/journeys").status, 200);
  EXPECT_GE(absl::Now() - before, absl::Milliseconds(190));

  ASSERT_EQ(sandbox->Request("DELETE", "/_sandbox/faults").status, 200);
  // The same Idempotency-Key now runs the write for the first time.
  EXPECT_EQ(
      borrower.Call("POST", "/api/v1/headless/journeys", {{"type", "PERSONAL_LOAN"}}, "fk").status,
      200);
  nlohmann::json counters = sandbox->Counters();
  EXPECT_EQ(counters["side_effects"]["fk"], 1);
  bool saw_503 = false, saw_429 = false;
  for (const auto& row : counters["requests"]) {
    if (row["route"] == "POST /api/v1/headless/journeys" && row["status"] == 503) saw_503 = true;
    if (row["route"] == "GET /api/v1/headless/journeys" && row["status"] == 429) saw_429 = true;
  }
  EXPECT_TRUE(saw_503);
  EXPECT_TRUE(saw_429);

  ASSERT_EQ(sandbox->Request("POST", "/_sandbox/reset").status, 200);
  EXPECT_EQ(sandbox->Counters()["requests"].size(), 0u);
  EXPECT_EQ(borrower.Call("GET", "/api/v1/headless/journeys").status, 401);  // sessions forgotten
}

TEST(FaultsIntegrationTest, SuccessBodyReplacesOnlySuccessfulAnswers) {
  auto sandbox = SandboxProcess::Start({"--control-plane"});
  ASSERT_NE(sandbox, nullptr);
  ASSERT_EQ(sandbox
                ->Request("PUT", "/_sandbox/faults",
                          R"({"route":"GET /api/lab/*","success_body":{"unexpected":"shape"}})")
                .status,
            200);
  HttpResult replaced = sandbox->Request("GET", "/api/lab/features", "", {kAuth});
  EXPECT_EQ(replaced.status, 200);
  EXPECT_EQ(replaced.body, R"({"unexpected":"shape"})");
  HttpResult refused = sandbox->Request("GET", "/api/lab/features", "", {});  // no API key: 401
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.json["error"]["code"], "AUTH_INVALID_API_KEY");
  HttpResult other = sandbox->Request("GET", kHooks + "/configuration", "", {kAuth});
  EXPECT_EQ(other.status, 200);
  EXPECT_TRUE(other.json.contains("webhook_enabled"));
}

TEST(RequestLogIntegrationTest, RecordsRawTargetsBeforeDotSegmentsAreResolved) {
  auto sandbox = SandboxProcess::Start({"--control-plane", "--request-log-size", "4"});
  ASSERT_NE(sandbox, nullptr);
  // As a front end would: the dot segment moves the request to another path (here none exists).
  HttpResult moved = sandbox->Request(
      "GET", "/api/v1/hybrid/personal-loan/borrowers/../journey/offers", "", {kAuth});
  EXPECT_EQ(moved.status, 404);
  HttpResult start =
      sandbox->Request("POST", "/api/v1/hybrid/personal-loan/borrowers/B%2F1/journey",
                       R"({"personal":{"contactNumber":"9876543210"}})", {kAuth});
  EXPECT_EQ(start.status, 200);
  HttpResult log = sandbox->Request("GET", "/_sandbox/requests");
  ASSERT_EQ(log.status, 200);
  ASSERT_EQ(log.json["requests"].size(), 2u);
  EXPECT_EQ(log.json["requests"][0]["method"], "GET");
  EXPECT_EQ(log.json["requests"][0]["target"],
            "/api/v1/hybrid/personal-loan/borrowers/../journey/offers");
  EXPECT_EQ(log.json["requests"][1]["target"],
            "/api/v1/hybrid/personal-loan/borrowers/B%2F1/journey");
  const uint64_t last = log.json["last_seq"];
  EXPECT_EQ(last, log.json["requests"][1]["seq"].get<uint64_t>());
  EXPECT_EQ(log.json["capacity"], 4);

  // ?since= returns only what came after; the ring keeps the last 4.
  for (int i = 0; i < 5; ++i)
    sandbox->Request("GET", absl::StrCat("/api/lab/features?i=", i), "", {kAuth});
  HttpResult later = sandbox->Request("GET", absl::StrCat("/_sandbox/requests?since=", last));
  ASSERT_EQ(later.json["requests"].size(), 4u);
  EXPECT_EQ(later.json["requests"][3]["target"], "/api/lab/features?i=4");
  EXPECT_EQ(sandbox->Request("GET", "/_sandbox/requests?since=x").status, 400);

  ASSERT_EQ(sandbox->Request("DELETE", "/_sandbox/requests").status, 200);
  EXPECT_EQ(sandbox->Request("GET", "/_sandbox/requests").json["requests"].size(), 0u);
}

TEST(FaultsIntegrationTest, StartupFaultFlags) {
  auto sandbox = SandboxProcess::Start({"--fault-route", "GET /api/lab/*", "--fault-error-rate",
                                        "1", "--fault-error-status", "502"});
  ASSERT_NE(sandbox, nullptr);
  HttpResult r = sandbox->Request("GET", "/api/lab/features", "", {kAuth});
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.json["error"]["code"], "UPSTREAM_TEMPORARY_FAILURE");
}

}  // namespace
}  // namespace aarthik::sandbox::testing
