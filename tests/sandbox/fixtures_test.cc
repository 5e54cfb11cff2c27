// Conformance with the documentation's example payloads (tests/fixtures/platform): every fixture
// request is accepted, and every sandbox response has its fixture's field names and JSON types.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/sandbox/sandbox_harness.h"

namespace aarthik::sandbox::testing {
namespace {

const std::string kAuth = std::string("Authorization: Bearer ") + kApiKey;

// Every key of `fixture` exists in `actual` with the same JSON type, recursively (first array
// elements compared). A null in the fixture matches anything; with `nullable_leaves` a null in
// `actual` matches any leaf (Variant B documents its leaves as nullable).
void ExpectSameShape(const nlohmann::json& fixture, const nlohmann::json& actual,
                     const std::string& path, bool nullable_leaves = false) {
  if (fixture.is_null()) return;
  if (nullable_leaves && actual.is_null() && !fixture.is_object() && !fixture.is_array()) return;
  if (fixture.is_object()) {
    ASSERT_TRUE(actual.is_object()) << path << " should be an object: " << actual;
    for (const auto& [key, value] : fixture.items()) {
      ASSERT_TRUE(actual.contains(key)) << path << "." << key << " missing in " << actual;
      ExpectSameShape(value, actual[key], path + "." + key, nullable_leaves);
    }
  } else if (fixture.is_array()) {
    ASSERT_TRUE(actual.is_array()) << path << " should be an array";
    if (!fixture.empty() && !actual.empty()) {
      ExpectSameShape(fixture[0], actual[0], path + "[0]", nullable_leaves);
    }
  } else if (fixture.is_string()) {
    EXPECT_TRUE(actual.is_string()) << path << " should be a string: " << actual;
  } else if (fixture.is_boolean()) {
    EXPECT_TRUE(actual.is_boolean()) << path << " should be a boolean: " << actual;
  } else if (fixture.is_number_integer()) {
    EXPECT_TRUE(actual.is_number_integer()) << path << " should be an integer: " << actual;
  } else if (fixture.is_number()) {
    EXPECT_TRUE(actual.is_number()) << path << " should be a number: " << actual;
  }
}

TEST(FixturesTest, HeadlessRequestsAcceptedAndResponsesShaped) {
  WebhookReceiver receiver;
  auto sandbox = SandboxProcess::Start({"--control-plane"});
  ASSERT_NE(sandbox, nullptr);
  ASSERT_EQ(sandbox
                ->Request("POST",
                          "/api/tenants/8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61/applications/"
                          "fbb1fd74-c502-4419-83f3-82a2a019fc9a/webhooks/subscribe",
                          nlohmann::json{{"url", receiver.url()}}.dump(), {kAuth})
                .status,
            200);
  const nlohmann::json session_request = LoadFixture("headless/sessions.create.request.json");
  HttpResult session =
      sandbox->Request("POST", "/api/v1/headless/sessions", session_request.dump(),
                       {kAuth, "Idempotency-Key: s1", "X-Correlation-ID: trace_abc"});
  ASSERT_EQ(session.status, 200) << session.body;
  ExpectSameShape(LoadFixture("headless/envelope.success.json"), session.json, "envelope");
  ExpectSameShape(LoadFixture("headless/sessions.create.response-data.json"), session.data(),
                  "session");

  HeadlessBorrower borrower(sandbox.get(), "CUST_0012");
  borrower.session_token = session.data()["sessionToken"];
  HttpResult refresh = sandbox->Request(
      "POST", "/api/v1/headless/sessions/refresh", "",
      {"Authorization: Bearer " + session.data()["refreshToken"].get<std::string>(),
       "Idempotency-Key: r1"});
  ASSERT_EQ(refresh.status, 200) << refresh.body;
  ExpectSameShape(LoadFixture("headless/sessions.refresh.response-data.json"), refresh.data(),
                  "refresh");
  borrower.session_token = refresh.data()["sessionToken"];

  HttpResult created = borrower.Call("POST", "/api/v1/headless/journeys",
                                     LoadFixture("headless/journeys.create.request.json"));
  ASSERT_EQ(created.status, 200) << created.body;
  ExpectSameShape(LoadFixture("headless/journeys.create.response-data.json"), created.data(),
                  "journey");
  const std::string base =
      absl::StrCat("/api/v1/headless/journeys/", created.data()["journeyID"].get<std::string>());
  EXPECT_EQ(
      borrower.Call("PATCH", base + "/resume", LoadFixture("headless/journeys.resume.request.json"))
          .status,
      200);
  EXPECT_EQ(
      borrower.Call("PUT", base + "/profile", LoadFixture("headless/profile.update.request.json"))
          .status,
      200);
  HttpResult submit = borrower.Call("POST", base + "/profile/submit",
                                    LoadFixture("headless/profile.submit.request.json"));
  ASSERT_EQ(submit.status, 202) << submit.body;
  ExpectSameShape(LoadFixture("headless/profile.submit.response-data.json"), submit.data(),
                  "submit");
  sandbox->AdvanceTime(2);
  HttpResult state = borrower.Call("GET", base + "/state");
  ExpectSameShape(LoadFixture("headless/journeys.state.response-data.json"), state.data(), "state");
  EXPECT_EQ(state.data()["pendingOperations"].size(), 2u);
  sandbox->AdvanceTime(20);

  std::vector<std::string> received;
  const HttpResult offers = borrower.Call("GET", base + "/offers");
  for (const auto& item : offers.data()["items"]) {
    if (item["status"] == "OFFER_RECEIVED" && item["aa"]["required"] == false)
      received.push_back(item["offerID"]);
  }
  ASSERT_GE(received.size(), 2u);
  const std::string offer = base + "/offers/" + received[0];
  HttpResult proceed = borrower.Call("POST", offer + "/proceed");
  ASSERT_EQ(proceed.status, 200) << proceed.body;
  ExpectSameShape(LoadFixture("headless/offers.proceed.response-data.json"), proceed.data(),
                  "proceed");
  HttpResult conflict = borrower.Call("POST", base + "/offers/" + received[1] + "/proceed");
  HttpResult invalid =
      sandbox->Request("PUT", base + "/profile", R"({"profile":{"contactNumber":"123"}})",
                       {"Authorization: Bearer " + borrower.session_token, "Idempotency-Key: bad-1",
                        "X-Correlation-ID: trace_abc"});
  ExpectSameShape(LoadFixture("headless/envelope.error.json"), invalid.json, "error envelope");
  EXPECT_EQ(invalid.json["error"]["message"],
            "profile.contactNumber must be a valid mobile number");
  ExpectSameShape(LoadFixture("headless/offers.proceed.conflict-error.json"), conflict.error(),
                  "conflict");
  EXPECT_EQ(borrower
                .Call("POST", base + "/offers/" + received[1] + "/reject",
                      LoadFixture("headless/offers.reject.request.json"))
                .status,
            200);
  EXPECT_EQ(borrower
                .Call("POST", offer + "/loan-amount",
                      LoadFixture("headless/offers.loan-amount.request.json"))
                .status,
            200);
  borrower.Call("GET", offer + "/steps/kyc");
  borrower.Call("GET", offer + "/steps/kyc");
  HttpResult step = borrower.Call("GET", offer + "/steps/bank-mandate");
  ExpectSameShape(LoadFixture("headless/steps.step-object.json"), step.data(), "step");
  EXPECT_EQ(borrower
                .Call("POST", offer + "/steps/bank-mandate",
                      LoadFixture("headless/steps.bank-mandate.request.json"))
                .status,
            200);
  for (int i = 0; i < 2; ++i) borrower.Call("GET", offer + "/steps/e-mandate");
  for (int i = 0; i < 2; ++i) borrower.Call("GET", offer + "/steps/loan-agreement");
  sandbox->AdvanceTime(5);
  HttpResult pd = borrower.Call("POST", base + "/post-disbursal/status");
  ASSERT_EQ(pd.status, 202) << pd.body;
  ExpectSameShape(LoadFixture("headless/post-disbursal.status.response-data.json"), pd.data(),
                  "pd");

  // AA redirect shape, on a second journey.
  HttpResult second =
      borrower.Call("POST", "/api/v1/headless/journeys", {{"type", "PERSONAL_LOAN"}});
  const std::string base2 =
      absl::StrCat("/api/v1/headless/journeys/", second.data()["journeyID"].get<std::string>());
  borrower.Call("PUT", base2 + "/profile", LoadFixture("headless/profile.update.request.json"));
  borrower.Call("POST", base2 + "/profile/submit",
                LoadFixture("headless/profile.submit.request.json"));
  sandbox->AdvanceTime(10);
  HttpResult aa = borrower.Call("POST", base2 + "/aa/sessions");
  ASSERT_EQ(aa.status, 200) << aa.body;
  HttpResult redirect = borrower.Call(
      "POST", base2 + "/aa/sessions/" + aa.data()["aaSessionID"].get<std::string>() + "/redirect");
  ExpectSameShape(LoadFixture("headless/aa.redirect.response-data.json"), redirect.data(), "aa");

  ASSERT_TRUE(receiver.WaitFor(1, absl::Seconds(10)));
  ExpectSameShape(LoadFixture("webhooks/variant-a.headless-snapshot.json"),
                  nlohmann::json::parse(receiver.received()[0].body), "variant A");
}

TEST(FixturesTest, HostedAndVariantBShapes) {
  WebhookReceiver receiver;
  auto sandbox = SandboxProcess::Start({"--control-plane"});
  ASSERT_NE(sandbox, nullptr);
  ASSERT_EQ(sandbox
                ->Request("POST",
                          "/api/tenants/8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61/applications/"
                          "fbb1fd74-c502-4419-83f3-82a2a019fc9a/webhooks/subscribe",
                          nlohmann::json{{"url", receiver.url()}}.dump(), {kAuth})
                .status,
            200);
  for (const char* name : {"pl", "gl"}) {
    const std::string request = std::string(name) == "pl"
                                    ? "hosted/lab-sessions.pl.request-extended.json"
                                    : "hosted/lab-sessions.gl.request-basic.json";
    HttpResult r =
        sandbox->Request("POST", "/api/lab/sessions", LoadFixture(request).dump(), {kAuth});
    ASSERT_EQ(r.status, 200) << r.body;
    ExpectSameShape(LoadFixture(absl::StrCat("hosted/lab-sessions.", name, ".response.json")),
                    r.json, name);
  }
  ASSERT_TRUE(receiver.WaitFor(2, absl::Seconds(10)));
  std::vector<ReceivedWebhook> hooks = receiver.received();
  for (const ReceivedWebhook& hook : hooks) {
    nlohmann::json body = nlohmann::json::parse(hook.body);
    const bool gold = body["borrower"]["journey"]["type"] == "GOLD_LOAN";
    ExpectSameShape(LoadFixture(gold ? "webhooks/variant-b.gl.STARTED.json"
                                     : "webhooks/variant-b.pl.STARTED.json"),
                    body, gold ? "gl" : "pl", /*nullable_leaves=*/true);
  }

  // Hybrid journeys go further: compare each lifecycle status with its PL fixture.
  WebhookReceiver hybrid_receiver;
  ASSERT_EQ(sandbox
                ->Request("POST",
                          "/api/tenants/8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61/applications/"
                          "fbb1fd74-c502-4419-83f3-82a2a019fc9a/webhooks/subscribe",
                          nlohmann::json{{"url", hybrid_receiver.url()}}.dump(), {kAuth})
                .status,
            200);
  nlohmann::json pl = LoadFixture("hosted/lab-sessions.pl.request-extended.json");
  nlohmann::json start = {{"personal", pl["profile"]},
                          {"work", pl["workProfile"]},
                          {"address", pl["address"]},
                          {"journey", {{"endUse", "travel"}, {"bureauConsent", true}}}};
  const std::string path = "/api/v1/hybrid/personal-loan/borrowers/HYB-1/journey";
  ASSERT_EQ(sandbox->Request("POST", path, start.dump(), {kAuth}).status, 200);
  sandbox->AdvanceTime(10);
  HttpResult poll = sandbox->Request("GET", path + "/offers", "", {kAuth});
  std::string offer_id;
  for (const auto& [lender, entry] : poll.data()["lenders"].items()) {
    if (!entry["offers"].empty() && offer_id.empty()) offer_id = entry["offers"][0]["offerID"];
  }
  ASSERT_EQ(sandbox->Request("GET", path + "/offers/" + offer_id, "", {kAuth}).status, 200);
  sandbox->AdvanceTime(15);
  ASSERT_TRUE(hybrid_receiver.WaitFor(7, absl::Seconds(10)));
  std::set<std::string> statuses;
  for (const ReceivedWebhook& hook : hybrid_receiver.received()) {
    nlohmann::json body = nlohmann::json::parse(hook.body);
    const std::string status = body["borrower"]["journey"]["status"];
    statuses.insert(status);
    ExpectSameShape(LoadFixture(absl::StrCat("webhooks/variant-b.pl.", status, ".json")), body,
                    status,
                    /*nullable_leaves=*/true);
  }
  EXPECT_EQ(statuses, (std::set<std::string>{"STARTED", "PROFILED", "OFFERED", "OFFER_SELECTED",
                                             "OFFER_ACCEPTED", "LENDER_REDIRECTED", "DISBURSED"}));
}

}  // namespace
}  // namespace aarthik::sandbox::testing
