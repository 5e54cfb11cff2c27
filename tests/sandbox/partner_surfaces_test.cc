// Integration: Hybrid journey end to end, Hosted sessions, web-hook subscription endpoints.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/sandbox/sandbox_harness.h"

namespace aarthik::sandbox::testing {
namespace {

const std::string kAuth = std::string("Authorization: Bearer ") + kApiKey;
const std::string kHybrid = "/api/v1/hybrid/personal-loan/borrowers/";

class PartnerSurfacesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox_ = SandboxProcess::Start({"--control-plane"});
    ASSERT_NE(sandbox_, nullptr);
  }
  std::unique_ptr<SandboxProcess> sandbox_;
};

TEST_F(PartnerSurfacesTest, FullHybridJourney) {
  nlohmann::json start_body = {
      {"personal", {{"contactNumber", "9876543210"}, {"panName", "Rahul Sharma"}}},
      {"banking_information", {{"ifsc", "HDFC0000123"}}}};
  HttpResult start = sandbox_->Request("POST", kHybrid + "BORROWER-123/journey", start_body.dump(),
                                       {kAuth, "x-correlation-id: corr-1"});
  ASSERT_EQ(start.status, 200) << start.body;
  EXPECT_EQ(start.json["correlation_id"], "corr-1");
  EXPECT_TRUE(start.json["request_id"].is_string());
  EXPECT_TRUE(start.json["error"].is_null());
  EXPECT_EQ(start.data()["resumed"], false);
  // Start again = resume.
  HttpResult resume =
      sandbox_->Request("POST", kHybrid + "BORROWER-123/journey", start_body.dump(), {kAuth});
  EXPECT_EQ(resume.data()["journey_id"], start.data()["journey_id"]);
  EXPECT_EQ(resume.data()["resumed"], true);
  EXPECT_TRUE(resume.json["correlation_id"].is_string());  // generated when absent

  HttpResult poll = sandbox_->Request("GET", kHybrid + "BORROWER-123/journey/offers", "", {kAuth});
  ASSERT_EQ(poll.status, 200);
  EXPECT_EQ(poll.data()["status"], "STARTED");
  EXPECT_TRUE(poll.data()["poll_after_ms"].is_number_integer());
  sandbox_->AdvanceTime(10);
  poll = sandbox_->Request("GET", kHybrid + "BORROWER-123/journey/offers", "", {kAuth});
  EXPECT_EQ(poll.data()["status"], "OFFERED");
  ASSERT_TRUE(poll.data()["lenders"].is_object());
  EXPECT_GE(poll.data()["lenders"].size(), 3u);
  EXPECT_EQ(poll.data()["account_aggregator"]["status"], "READY");
  EXPECT_TRUE(poll.data()["account_aggregator"]["url"].is_string());
  std::string offer_id;
  for (const auto& [name, lender] : poll.data()["lenders"].items()) {
    for (const auto& offer : lender["offers"]) {
      if (offer["status"] == "OFFER_RECEIVED" && offer_id.empty()) offer_id = offer["offerID"];
    }
  }
  ASSERT_FALSE(offer_id.empty());
  // After the URL was handed out the borrower is consenting: PROCESSING, then done.
  poll = sandbox_->Request("GET", kHybrid + "BORROWER-123/journey/offers", "", {kAuth});
  EXPECT_EQ(poll.data()["account_aggregator"]["status"], "PROCESSING");
  sandbox_->AdvanceTime(5);
  poll = sandbox_->Request("GET", kHybrid + "BORROWER-123/journey/offers", "", {kAuth});
  EXPECT_FALSE(poll.data().contains("account_aggregator"));

  HttpResult handoff =
      sandbox_->Request("GET", kHybrid + "BORROWER-123/journey/offers/" + offer_id, "", {kAuth});
  ASSERT_EQ(handoff.status, 200) << handoff.body;
  EXPECT_NE(handoff.data()["hosted_url"].get<std::string>().find("#bt_test_"), std::string::npos);
  EXPECT_TRUE(handoff.data()["expires_at"].is_string());
  std::string other;
  for (const auto& [name, lender] : poll.data()["lenders"].items()) {
    for (const auto& offer : lender["offers"]) {
      if (offer["offerID"] != offer_id) other = offer["offerID"];
    }
  }
  ASSERT_FALSE(other.empty());
  EXPECT_EQ(sandbox_->Request("GET", kHybrid + "BORROWER-123/journey/offers/" + other, "", {kAuth})
                .status,
            409);
  EXPECT_EQ(
      sandbox_->Request("GET", kHybrid + "BORROWER-123/journey/offers/nope", "", {kAuth}).status,
      404);
  sandbox_->AdvanceTime(15);
  poll = sandbox_->Request("GET", kHybrid + "BORROWER-123/journey/offers", "", {kAuth});
  EXPECT_EQ(poll.data()["status"], "DISBURSED");
}

TEST_F(PartnerSurfacesTest, HybridErrors) {
  EXPECT_EQ(sandbox_->Request("GET", kHybrid + "UNKNOWN/journey/offers", "", {kAuth}).status, 404);
  EXPECT_EQ(sandbox_->Request("POST", kHybrid + "B/journey", "{}", {kAuth})
                .json["error"]["details"]["field"],
            "personal");
  EXPECT_EQ(sandbox_->Request("POST", kHybrid + "B/journey", R"({"personal":{}})", {}).status, 401);
  HttpResult not_offered = sandbox_->Request(
      "POST", kHybrid + "NOPE/journey", R"({"personal":{"contactNumber":"9876500000"}})", {kAuth});
  ASSERT_EQ(not_offered.status, 200);
  sandbox_->AdvanceTime(10);
  EXPECT_EQ(sandbox_->Request("GET", kHybrid + "NOPE/journey/offers", "", {kAuth}).data()["status"],
            "NOT_OFFERED");
}

TEST_F(PartnerSurfacesTest, HostedSessionsAndFeatures) {
  HttpResult session =
      sandbox_->Request("POST", "/api/lab/sessions",
                        LoadFixture("hosted/lab-sessions.gl.request-basic.json").dump(), {kAuth});
  ASSERT_EQ(session.status, 200) << session.body;
  EXPECT_EQ(session.headers["cache-control"], "no-store");
  const std::string url = session.json["embedURL"];
  EXPECT_NE(url.find("#bt_test_"), std::string::npos);
  for (const char* alias : {"embedUrl", "embedurl", "Embedurl", "EmbedUrl", "EmbedURL"}) {
    EXPECT_EQ(session.json[alias], url) << alias;
  }
  HttpResult missing_contact = sandbox_->Request(
      "POST", "/api/lab/sessions", R"({"borrowerProviderID":"B","profile":{}})", {kAuth});
  EXPECT_EQ(missing_contact.status, 400);
  EXPECT_EQ(missing_contact.json["error"]["details"]["field"], "profile.contactNumber");
  HttpResult gold_without_type = sandbox_->Request(
      "POST", "/api/lab/sessions",
      R"({"borrowerProviderID":"B","profile":{"contactNumber":"9876543210"},"goldLoan":{"purity":"22K"}})",
      {kAuth});
  EXPECT_EQ(gold_without_type.json["error"]["details"]["field"], "goldLoan");
  EXPECT_EQ(sandbox_->Request("POST", "/api/lab/sessions", "{}", {}).status, 401);
  HttpResult features = sandbox_->Request("GET", "/api/lab/features", "", {kAuth});
  EXPECT_EQ(features.status, 200);
  EXPECT_TRUE(features.json["features"].is_object());
}

TEST_F(PartnerSurfacesTest, WebhookSubscriptionScopeAndUrlRules) {
  const std::string base =
      "/api/tenants/8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61/applications/"
      "fbb1fd74-c502-4419-83f3-82a2a019fc9a/webhooks";
  HttpResult config = sandbox_->Request("GET", base + "/configuration", "", {kAuth});
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(config.json["webhook_enabled"], false);
  EXPECT_TRUE(config.json["webhook_url"].is_null());
  EXPECT_EQ(
      sandbox_->Request("POST", base + "/subscribe", R"({"url":"http://example.com/h"})", {kAuth})
          .status,
      400);
  HttpResult https = sandbox_->Request("POST", base + "/subscribe",
                                       R"({"url":"https://partner.example/h"})", {kAuth});
  EXPECT_EQ(https.json["webhook_enabled"], true);
  EXPECT_EQ(https.json["webhook_url"], "https://partner.example/h");
  HttpResult loopback =
      sandbox_->Request("POST", base + "/subscribe", R"({"url":"http://127.0.0.1:9/h"})", {kAuth});
  EXPECT_EQ(loopback.status, 200);
  HttpResult off = sandbox_->Request("POST", base + "/unsubscribe", "", {kAuth});
  EXPECT_EQ(off.json["webhook_enabled"], false);
  HttpResult other_tenant =
      sandbox_->Request("GET",
                        "/api/tenants/00000000-0000-4000-8000-000000000000/applications/"
                        "fbb1fd74-c502-4419-83f3-82a2a019fc9a/webhooks/configuration",
                        "", {kAuth});
  EXPECT_EQ(other_tenant.status, 403);
  EXPECT_EQ(other_tenant.json["error"]["code"], "ACCESS_SCOPE_MISMATCH");
}

}  // namespace
}  // namespace aarthik::sandbox::testing
