// Integration: a full headless journey over HTTP against the real binary, plus the documented
// errors, token rotation/reuse revocation and idempotency.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/sandbox/sandbox_harness.h"

namespace aarthik::sandbox::testing {
namespace {

class HeadlessJourneyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox_ = SandboxProcess::Start({"--control-plane", "--seed", "11"});
    ASSERT_NE(sandbox_, nullptr);
  }
  std::unique_ptr<SandboxProcess> sandbox_;
};

std::string JourneyPath(const std::string& id, const std::string& suffix = "") {
  return absl::StrCat("/api/v1/headless/journeys/", id, suffix);
}

TEST_F(HeadlessJourneyTest, FullJourneyFromSessionToPostDisbursal) {
  HeadlessBorrower borrower(sandbox_.get(), "CUST_0012");
  HttpResult session =
      borrower.Bootstrap(LoadFixture("headless/sessions.create.request.json")["profile"]);
  ASSERT_EQ(session.status, 200) << session.body;
  EXPECT_TRUE(session.data()["activeJourney"].is_null());
  EXPECT_EQ(borrower.session_token.rfind("st_test_", 0), 0u);

  HttpResult created = borrower.Call("POST", "/api/v1/headless/journeys",
                                     LoadFixture("headless/journeys.create.request.json"));
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id = created.data()["journeyID"];
  EXPECT_EQ(created.data()["status"], "STARTED");
  EXPECT_EQ(created.data()["nextAction"], "FILL_PROFILE");

  // Submitting before the profile is complete names the missing field.
  HttpResult early =
      borrower.Call("POST", JourneyPath(id, "/profile/submit"), {{"bureauConsent", true}});
  EXPECT_EQ(early.status, 400);
  EXPECT_EQ(early.error()["code"], "VALIDATION_FAILED");
  EXPECT_EQ(early.error()["details"]["field"], "profile.dob");

  ASSERT_EQ(borrower
                .Call("PUT", JourneyPath(id, "/profile"),
                      LoadFixture("headless/profile.update.request.json"))
                .status,
            200);
  HttpResult submit = borrower.Call("POST", JourneyPath(id, "/profile/submit"),
                                    LoadFixture("headless/profile.submit.request.json"));
  ASSERT_EQ(submit.status, 202) << submit.body;
  EXPECT_EQ(submit.data()["status"], "ACCEPTED");
  EXPECT_EQ(submit.data()["pollAfterSeconds"], 3);

  HttpResult state = borrower.Call("GET", JourneyPath(id, "/state"));
  EXPECT_EQ(state.data()["status"], "PROFILE_SUBMITTED");
  sandbox_->AdvanceTime(2);
  state = borrower.Call("GET", JourneyPath(id, "/state"));
  EXPECT_EQ(state.data()["status"], "OFFERS_PENDING");
  EXPECT_EQ(state.data()["nextAction"], "WAIT_FOR_OFFERS");
  EXPECT_EQ(state.data()["pendingOperations"],
            nlohmann::json({"PROFILE_SUBMISSION", "SELECT_DISPATCH"}));
  sandbox_->AdvanceTime(8);
  state = borrower.Call("GET", JourneyPath(id, "/state"));
  EXPECT_EQ(state.data()["status"], "OFFERS_AVAILABLE");
  EXPECT_EQ(state.data()["nextAction"], "VIEW_OFFERS");

  HttpResult offers = borrower.Call("GET", JourneyPath(id, "/offers"));
  const nlohmann::json& items = offers.data()["items"];
  ASSERT_GE(items.size(), 3u);
  std::string plain_offer, aa_offer;
  std::set<std::string> lenders;
  for (const auto& item : items) {
    lenders.insert(item["lenderID"].get<std::string>());
    if (item["status"] != "OFFER_RECEIVED") continue;
    (item["aa"]["required"] == true ? aa_offer : plain_offer) = item["offerID"];
  }
  EXPECT_GE(lenders.size(), 3u);
  ASSERT_FALSE(plain_offer.empty());
  ASSERT_FALSE(aa_offer.empty());

  HttpResult proceed =
      borrower.Call("POST", JourneyPath(id, "/offers/" + plain_offer + "/proceed"));
  ASSERT_EQ(proceed.status, 200) << proceed.body;
  EXPECT_EQ(proceed.data()["proceedBoundaryState"], "LOCKED");
  EXPECT_EQ(proceed.data()["offerSelectionLock"]["lockSource"], "OFFER_DETAILS_PROCEED");
  HttpResult conflict = borrower.Call("POST", JourneyPath(id, "/offers/" + aa_offer + "/proceed"));
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.error()["code"], "OFFER_LOCK_CONFLICT");
  EXPECT_EQ(conflict.error()["retryable"], false);
  EXPECT_EQ(conflict.error()["details"]["proceedBoundaryState"], "LOCKED_TO_DIFFERENT_OFFER");

  const std::string steps = JourneyPath(id, "/offers/" + plain_offer + "/steps");
  EXPECT_EQ(borrower.Call("GET", JourneyPath(id, "/state")).data()["status"], "KYC_PENDING");
  // KYC: reading the step issues the redirect, reading it again completes it.
  HttpResult kyc = borrower.Call("GET", steps + "/kyc");
  EXPECT_EQ(kyc.data()["actionRequired"], "REDIRECT");
  EXPECT_TRUE(kyc.data()["resource"]["redirectURL"].is_string());
  EXPECT_EQ(borrower.Call("GET", steps + "/kyc/status").data()["status"], "SUCCESS");

  HttpResult mandate = borrower.Call("GET", steps + "/bank-mandate");
  EXPECT_EQ(mandate.data()["actionRequired"], "SUBMIT_FORM");
  EXPECT_EQ(mandate.data()["resource"]["type"], "FORM");
  nlohmann::json bad_account = LoadFixture("headless/steps.bank-mandate.request.json");
  bad_account["ifsc"] = "NOTANIFSC";
  HttpResult bad = borrower.Call("POST", steps + "/bank-mandate", bad_account);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.error()["details"]["field"], "ifsc");
  HttpResult form = borrower.Call("POST", steps + "/bank-mandate",
                                  LoadFixture("headless/steps.bank-mandate.request.json"));
  EXPECT_EQ(form.status, 200) << form.body;
  EXPECT_EQ(form.data()["status"], "SUCCESS");

  for (const char* redirect_step : {"/e-mandate", "/loan-agreement"}) {
    HttpResult first = borrower.Call("GET", steps + redirect_step);
    EXPECT_EQ(first.data()["actionRequired"], "REDIRECT") << redirect_step;
    EXPECT_EQ(first.data()["status"], "IN_PROGRESS") << redirect_step;
    EXPECT_EQ(borrower.Call("GET", steps + redirect_step).data()["status"], "SUCCESS");
  }
  HttpResult aggregate = borrower.Call("GET", steps);
  EXPECT_EQ(aggregate.data()["disbursal"]["status"], "IN_PROGRESS");
  EXPECT_EQ(borrower.Call("GET", JourneyPath(id, "/state")).data()["status"], "LENDER_PROCESSING");
  EXPECT_EQ(borrower.Call("POST", JourneyPath(id, "/post-disbursal/status")).status, 409);
  sandbox_->AdvanceTime(5);
  HttpResult journey = borrower.Call("GET", JourneyPath(id));
  EXPECT_EQ(journey.data()["status"], "DISBURSED");
  EXPECT_EQ(journey.data()["capabilities"]["postDisbursalEnabled"], true);

  HttpResult pd = borrower.Call("POST", JourneyPath(id, "/post-disbursal/status"));
  EXPECT_EQ(pd.status, 202);
  EXPECT_EQ(pd.data()["status"], "ACCEPTED");
  EXPECT_EQ(pd.data()["pollAfterSeconds"], 5);
  EXPECT_EQ(
      borrower
          .Call("POST", JourneyPath(id, "/post-disbursal/pre-part-payment"), {{"amount", "10000"}})
          .status,
      202);
  EXPECT_EQ(
      borrower
          .Call("POST", JourneyPath(id, "/post-disbursal/pre-part-payment"), {{"amount", "ten"}})
          .status,
      400);
  EXPECT_EQ(borrower.Call("POST", JourneyPath(id, "/post-disbursal/foreclosure")).status, 202);
  EXPECT_EQ(borrower.Call("POST", JourneyPath(id, "/post-disbursal/missed-emi-payment")).status,
            202);

  // A new session for the same borrower resumes; the finished journey is not active.
  HttpResult again = borrower.Bootstrap();
  EXPECT_TRUE(again.data()["activeJourney"].is_null());
  HttpResult list = borrower.Call("GET", "/api/v1/headless/journeys?type=PERSONAL_LOAN");
  ASSERT_EQ(list.data()["items"].size(), 1u);
  EXPECT_EQ(list.data()["items"][0]["journeyID"], id);
}

TEST_F(HeadlessJourneyTest, AaSessionLifecycleUnblocksAnAaOffer) {
  HeadlessBorrower borrower(sandbox_.get(), "CUST_AA");
  ASSERT_EQ(borrower.Bootstrap().status, 200);
  const std::string id = borrower.JourneyWithOffers();
  std::string aa_offer;
  const HttpResult offers = borrower.Call("GET", JourneyPath(id, "/offers"));
  for (const auto& item : offers.data()["items"]) {
    if (item["aa"]["required"] == true) aa_offer = item["offerID"];
  }
  ASSERT_FALSE(aa_offer.empty());
  ASSERT_EQ(borrower.Call("POST", JourneyPath(id, "/offers/" + aa_offer + "/proceed")).status, 200);
  HttpResult state = borrower.Call("GET", JourneyPath(id, "/state"));
  EXPECT_EQ(state.data()["status"], "AA_REQUIRED");
  EXPECT_EQ(state.data()["nextAction"], "COMPLETE_AA");

  HttpResult aa = borrower.Call("POST", JourneyPath(id, "/aa/sessions"));
  ASSERT_EQ(aa.status, 200) << aa.body;
  EXPECT_EQ(aa.data()["state"], "REDIRECT_READY");
  EXPECT_EQ(aa.data()["reqdate"].get<std::string>().size(), 17u);
  const std::string aa_path =
      JourneyPath(id, "/aa/sessions/" + aa.data()["aaSessionID"].get<std::string>());
  sandbox_->AdvanceTime(15 * 60);
  EXPECT_EQ(borrower.Call("GET", aa_path).data()["state"], "EXPIRED");
  EXPECT_EQ(borrower.Call("POST", aa_path + "/complete").status, 409);
  HttpResult redirect = borrower.Call("POST", aa_path + "/redirect");
  EXPECT_EQ(redirect.data()["state"], "REDIRECT_READY");
  EXPECT_NE(redirect.data()["redirectURL"], aa.data()["redirectURL"]);
  EXPECT_EQ(borrower.Call("POST", aa_path + "/complete").data()["state"], "APPROVAL_DISPATCHED");
  EXPECT_EQ(borrower.Call("POST", aa_path + "/reconcile").data()["state"], "CONFIRMED");
  EXPECT_EQ(borrower.Call("GET", JourneyPath(id, "/state")).data()["status"], "KYC_PENDING");
  EXPECT_EQ(borrower.Call("GET", JourneyPath(id, "/aa/sessions")).data()["items"].size(), 1u);
}

TEST_F(HeadlessJourneyTest, TokenRotationAndReuseRevocation) {
  HeadlessBorrower borrower(sandbox_.get(), "CUST_TOKENS");
  ASSERT_EQ(borrower.Bootstrap().status, 200);
  const std::string old_session = borrower.session_token;
  const std::string old_refresh = borrower.refresh_token;
  HttpResult refreshed =
      sandbox_->Request("POST", "/api/v1/headless/sessions/refresh", "",
                        {"Authorization: Bearer " + old_refresh, "Idempotency-Key: r1"});
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  const std::string new_session = refreshed.data()["sessionToken"];
  EXPECT_NE(new_session, old_session);
  EXPECT_NE(refreshed.data()["refreshToken"], old_refresh);
  // A retried refresh with the same Idempotency-Key replays instead of tripping reuse detection.
  HttpResult replay =
      sandbox_->Request("POST", "/api/v1/headless/sessions/refresh", "",
                        {"Authorization: Bearer " + old_refresh, "Idempotency-Key: r1"});
  EXPECT_EQ(replay.body, refreshed.body);
  borrower.session_token = new_session;
  EXPECT_EQ(borrower.Call("GET", "/api/v1/headless/journeys").status, 200);
  // Presenting the rotated refresh token (new key) revokes the family.
  HttpResult reuse =
      sandbox_->Request("POST", "/api/v1/headless/sessions/refresh", "",
                        {"Authorization: Bearer " + old_refresh, "Idempotency-Key: r2"});
  EXPECT_EQ(reuse.status, 401);
  EXPECT_EQ(reuse.error()["code"], "AUTH_INVALID_SESSION");
  HttpResult revoked = borrower.Call("GET", "/api/v1/headless/journeys");
  EXPECT_EQ(revoked.status, 401);
  EXPECT_EQ(revoked.error()["code"], "AUTH_INVALID_SESSION");
  nlohmann::json counters = sandbox_->Counters();
  EXPECT_EQ(counters["refreshes"], 1);
  EXPECT_EQ(counters["sessions_minted"], 1);
}

TEST_F(HeadlessJourneyTest, SessionExpiresInSimulatedTime) {
  HeadlessBorrower borrower(sandbox_.get(), "CUST_EXPIRY");
  ASSERT_EQ(borrower.Bootstrap().status, 200);
  sandbox_->AdvanceTime(30 * 60);
  HttpResult expired = borrower.Call("GET", "/api/v1/headless/journeys");
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.error()["code"], "AUTH_INVALID_SESSION");
  HttpResult refreshed = sandbox_->Request(
      "POST", "/api/v1/headless/sessions/refresh",
      nlohmann::json{{"refreshToken", borrower.refresh_token}}.dump(), {"Idempotency-Key: r1"});
  EXPECT_EQ(refreshed.status, 200) << refreshed.body;
}

TEST_F(HeadlessJourneyTest, IdempotentReplayAndConflict) {
  HeadlessBorrower borrower(sandbox_.get(), "CUST_IDEM");
  ASSERT_EQ(borrower.Bootstrap().status, 200);
  nlohmann::json body = LoadFixture("headless/journeys.create.request.json");
  HttpResult first = borrower.Call("POST", "/api/v1/headless/journeys", body, "same-key");
  HttpResult second = borrower.Call("POST", "/api/v1/headless/journeys", body, "same-key");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(second.body, first.body);  // byte-for-byte replay, same journeyID
  body["type"] = "GOLD_LOAN";
  HttpResult mismatch = borrower.Call("POST", "/api/v1/headless/journeys", body, "same-key");
  EXPECT_EQ(mismatch.status, 409);
  EXPECT_EQ(mismatch.error()["code"], "VALIDATION_FAILED");
  EXPECT_EQ(borrower.Call("GET", "/api/v1/headless/journeys").data()["items"].size(), 1u);
  EXPECT_EQ(sandbox_->Counters()["side_effects"]["same-key"], 1);

  HttpResult missing = sandbox_->Request("POST", "/api/v1/headless/journeys", body.dump(),
                                         {"Authorization: Bearer " + borrower.session_token});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.error()["details"]["field"], "Idempotency-Key");
}

TEST_F(HeadlessJourneyTest, DocumentedErrors) {
  HeadlessBorrower a(sandbox_.get(), "CUST_A"), b(sandbox_.get(), "CUST_B");
  ASSERT_EQ(a.Bootstrap().status, 200);
  ASSERT_EQ(b.Bootstrap().status, 200);
  const std::string a_journey =
      a.Call("POST", "/api/v1/headless/journeys", {{"type", "PERSONAL_LOAN"}}).data()["journeyID"];
  HttpResult scope = b.Call("GET", JourneyPath(a_journey, "/state"));
  EXPECT_EQ(scope.status, 403);
  EXPECT_EQ(scope.error()["code"], "ACCESS_SCOPE_MISMATCH");
  HttpResult not_uuid = a.Call("GET", JourneyPath("not-a-uuid", "/state"));
  EXPECT_EQ(not_uuid.status, 400);
  EXPECT_EQ(not_uuid.error()["details"]["field"], "journeyID");
  HttpResult unknown = a.Call("GET", JourneyPath("b7bb465b-135e-4ffd-9c7f-0d43f7ee43d9", "/state"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.error()["code"], "RESOURCE_NOT_FOUND");

  HttpResult malformed =
      sandbox_->Request("PUT", JourneyPath(a_journey, "/profile"), "{not json",
                        {"Authorization: Bearer " + a.session_token, "Idempotency-Key: m1"});
  EXPECT_EQ(malformed.status, 400);
  HttpResult bad_pan =
      a.Call("PUT", JourneyPath(a_journey, "/profile"), {{"profile", {{"pan", "12345"}}}});
  EXPECT_EQ(bad_pan.error()["details"]["field"], "profile.pan");
  HttpResult bad_enum = a.Call("PUT", JourneyPath(a_journey, "/profile"),
                               {{"workProfile", {{"employmentType", "astronaut"}}}});
  EXPECT_EQ(bad_enum.error()["details"]["field"], "workProfile.employmentType");

  HttpResult live_key =
      sandbox_->Request("POST", "/api/v1/headless/sessions", R"({"borrowerExternalID":"X"})",
                        {"Authorization: Bearer sk_live_sandbox", "Idempotency-Key: k"});
  EXPECT_EQ(live_key.status, 401);
  EXPECT_EQ(live_key.error()["code"], "AUTH_INVALID_API_KEY");
  HttpResult no_key = sandbox_->Request("POST", "/api/v1/headless/sessions",
                                        R"({"borrowerExternalID":"X"})", {"Idempotency-Key: k"});
  EXPECT_EQ(no_key.error()["code"], "AUTH_INVALID_API_KEY");
  HttpResult st_as_key =
      sandbox_->Request("POST", "/api/v1/headless/sessions", R"({"borrowerExternalID":"X"})",
                        {"Authorization: Bearer " + a.session_token, "Idempotency-Key: k"});
  EXPECT_EQ(st_as_key.status, 401);
  HttpResult no_borrower =
      sandbox_->Request("POST", "/api/v1/headless/sessions", "{}",
                        {std::string("Authorization: Bearer ") + kApiKey, "Idempotency-Key: k2"});
  EXPECT_EQ(no_borrower.error()["details"]["field"], "borrowerExternalID");

  HttpResult correlated = sandbox_->Request(
      "GET", "/api/v1/headless/journeys", "",
      {"Authorization: Bearer " + a.session_token, "X-Correlation-ID: trace_abc"});
  EXPECT_EQ(correlated.json["correlationID"], "trace_abc");
  EXPECT_EQ(correlated.json["requestID"].get<std::string>().rfind("req_", 0), 0u);
  EXPECT_TRUE(correlated.json["error"].is_null());
}

TEST_F(HeadlessJourneyTest, ControlPlaneRefusedWithoutFlag) {
  auto plain = SandboxProcess::Start();
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->Request("POST", "/_sandbox/reset").status, 404);
  EXPECT_EQ(plain->Terminate(), 0);  // clean exit on SIGTERM
}

}  // namespace
}  // namespace aarthik::sandbox::testing
