// Issue 14, item 3: a response shape the contract leaves open must not become an outage. Through
// the real gateway and sandbox, whose success_body fault replaces the platform's 2xx answer:
//   - the offer detail's quoteBreakup as an array (the issue's case), installments as an object, a
//     number where a digit string was inferred, an unknown enum value and an unknown field:
//     GetOffer succeeds, the any-shape fields carry what was sent, and each drop is counted in
//     aarthik_upstream_fields_dropped_total{rpc,reason} and logged once per JSON path, never with
//     its value;
//   - a documented (strict) field of the wrong JSON type is still UPSTREAM_BAD_RESPONSE.
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "aarthik/headless/v1/offers.grpc.pb.h"
#include "aarthik/headless/v1/profile.grpc.pb.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/gateway_env.h"
#include "tests/integration/log_scan.h"

namespace aarthik::testing {
namespace {

namespace hl = aarthik::headless::v1;
namespace cm = aarthik::common::v1;

constexpr char kBorrower[] = "CUST_LENIENT";
constexpr char kGetOffer[] = "aarthik.headless.v1.OffersService.GetOffer";
// Values of the replaced answer that must never reach the log (the unknown field's value is
// borrower-looking data; the enum's is a value too).
constexpr char kPanInUnknownField[] = "ABCDE1234F";
constexpr char kUnknownEnumValue[] = "HELD_FOR_REVIEW";

class LenientFieldsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_path_ = TestLogPath();
    env_ = GatewayEnv::Start({.gateway_log_path = log_path_});
    ASSERT_NE(env_, nullptr);
    journeys_ = hl::JourneysService::NewStub(env_->channel());
    profile_ = hl::ProfileService::NewStub(env_->channel());
    offers_ = hl::OffersService::NewStub(env_->channel());
  }

  // A new journey of kBorrower; its ID, or "" when it could not be created.
  std::string NewJourney() {
    grpc::ClientContext context;
    PrepareContext(&context);
    hl::CreateJourneyRequest create;
    create.set_borrower_external_id(kBorrower);
    create.mutable_journey()->set_type(cm::JOURNEY_TYPE_PERSONAL_LOAN);
    hl::CreateJourneyResponse created;
    grpc::Status status = journeys_->CreateJourney(&context, create, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created.journey().journey_id();
  }

  // A journey of kBorrower with offers; returns one selectable offer's ID (journey ID in *journey).
  std::string OfferOfNewJourney(std::string* journey) {
    *journey = NewJourney();

    grpc::ClientContext update_context;
    PrepareContext(&update_context);
    const hl::UpdateProfileRequest update = SampleProfileUpdate(kBorrower, *journey);
    hl::UpdateProfileResponse updated;
    grpc::Status status = profile_->UpdateProfile(&update_context, update, &updated);
    EXPECT_TRUE(status.ok()) << status.error_message();

    grpc::ClientContext submit_context;
    PrepareContext(&submit_context);
    hl::SubmitProfileRequest submit;
    submit.set_borrower_external_id(kBorrower);
    submit.set_journey_id(*journey);
    submit.mutable_submission()->set_bureau_consent(true);
    hl::SubmitProfileResponse submitted;
    EXPECT_TRUE(profile_->SubmitProfile(&submit_context, submit, &submitted).ok());
    env_->AdvanceSandboxTime(60);

    grpc::ClientContext list_context;
    PrepareContext(&list_context);
    hl::ListOffersRequest list;
    list.set_borrower_external_id(kBorrower);
    list.set_journey_id(*journey);
    hl::ListOffersResponse offers;
    EXPECT_TRUE(offers_->ListOffers(&list_context, list, &offers).ok());
    for (const auto& card : offers.items()) {
      if (card.status() == hl::OFFER_CARD_STATUS_OFFER_RECEIVED) return card.offer_id();
    }
    return "";
  }

  grpc::Status GetState(const std::string& journey, hl::GetJourneyStateResponse* response) {
    grpc::ClientContext context;
    PrepareContext(&context);
    hl::GetJourneyStateRequest request;
    request.set_borrower_external_id(kBorrower);
    request.set_journey_id(journey);
    return journeys_->GetJourneyState(&context, request, response);
  }

  grpc::Status GetOffer(const std::string& journey, const std::string& offer,
                        hl::GetOfferResponse* response) {
    grpc::ClientContext context;
    PrepareContext(&context);
    hl::GetOfferRequest request;
    request.set_borrower_external_id(kBorrower);
    request.set_journey_id(journey);
    request.set_offer_id(offer);
    return offers_->GetOffer(&context, request, response);
  }

  // aarthik_upstream_fields_dropped_total{rpc=`rpc`, reason=`reason`} from GET /metrics; 0 when
  // the series does not exist.
  double Dropped(const std::string& rpc, const std::string& reason) {
    long status = 0;
    const std::string page =
        HttpCall("GET", "http://" + env_->http_address() + "/metrics", "", {}, &status);
    EXPECT_EQ(status, 200);
    const std::string rpc_label = "rpc=\"" + rpc + "\"";
    const std::string reason_label = "reason=\"" + reason + "\"";
    for (absl::string_view line : absl::StrSplit(page, '\n')) {
      if (!absl::StartsWith(line, "aarthik_upstream_fields_dropped_total{") ||
          !absl::StrContains(line, rpc_label) || !absl::StrContains(line, reason_label)) {
        continue;
      }
      double value = 0;
      EXPECT_TRUE(absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) << line;
      return value;
    }
    return 0;
  }

  // "reason json_path" of every "upstream field dropped" line of `rpc` in the gateway's log (other
  // RPCs may have their own: the sandbox's profile answer carries keys BorrowerProfile lacks).
  std::multiset<std::string> DropLines(const std::string& rpc) {
    std::multiset<std::string> lines;
    std::ifstream in(log_path_);
    std::string line;
    while (std::getline(in, line)) {
      nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!json.is_object() || json.value("message", "") != "upstream field dropped" ||
          json.value("rpc", "") != rpc) {
        continue;
      }
      lines.insert(json.value("reason", "") + " " + json.value("json_path", ""));
    }
    return lines;
  }

  std::string log_path_;
  std::unique_ptr<GatewayEnv> env_;
  std::unique_ptr<hl::JourneysService::Stub> journeys_;
  std::unique_ptr<hl::ProfileService::Stub> profile_;
  std::unique_ptr<hl::OffersService::Stub> offers_;
};

TEST_F(LenientFieldsTest, UndocumentedOfferDetailShapesReachTheCallerAndDropsAreCounted) {
  std::string journey;
  const std::string offer = OfferOfNewJourney(&journey);
  ASSERT_FALSE(offer.empty());

  // The platform's answer, replaced: quoteBreakup an array (the issue), installments an object,
  // amountPrincipal a number (its type is only inferred), an enum value we do not know and a field
  // our proto lacks.
  const nlohmann::json data = {
      {"offerID", offer},
      {"lenderName", "Lender A"},
      {"status", "OFFER_RECEIVED"},
      {"amountPrincipal", 250000},
      {"proceedBoundaryState", kUnknownEnumValue},
      {"quoteBreakup", nlohmann::json::array({{{"component", "PRINCIPAL"}, {"amount", "250000"}},
                                              {{"component", "INTEREST"}, {"amount", "31000"}}})},
      {"installments", {{"count", 24}}},
      {"brandNewField", {{"pan", kPanInUnknownField}}}};
  const nlohmann::json body = {
      {"requestID", "req_lenient"}, {"correlationID", nullptr}, {"data", data}, {"error", nullptr}};
  env_->SetSandboxFaults(
      {{"route", "GET /api/v1/headless/journeys/*/offers/*"}, {"success_body", body.dump()}});

  for (int call = 1; call <= 2; ++call) {
    SCOPED_TRACE(call);
    hl::GetOfferResponse response;
    grpc::Status status = GetOffer(journey, offer, &response);
    ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
    const hl::OfferDetail& detail = response.offer();
    EXPECT_EQ(detail.offer_id(), offer);
    EXPECT_EQ(detail.lender_name(), "Lender A");
    EXPECT_EQ(detail.status(), hl::OFFER_CARD_STATUS_OFFER_RECEIVED);
    // The any-shape fields carry what the platform sent; the typed ones are left unset.
    ASSERT_EQ(detail.quote_breakup_value().list_value().values_size(), 2);
    EXPECT_EQ(detail.quote_breakup_value()
                  .list_value()
                  .values(1)
                  .struct_value()
                  .fields()
                  .at("component")
                  .string_value(),
              "INTEREST");
    EXPECT_FALSE(detail.has_quote_breakup());
    EXPECT_EQ(detail.installments_value().struct_value().fields().at("count").number_value(), 24);
    EXPECT_EQ(detail.installments_size(), 0);
    // What the message cannot hold is left unset.
    EXPECT_TRUE(detail.amount_principal().empty());
    EXPECT_EQ(detail.proceed_boundary_state(), hl::PROCEED_BOUNDARY_STATE_UNSPECIFIED);
  }
  env_->ClearSandboxFaults();

  // Counted on every call...
  EXPECT_EQ(Dropped(kGetOffer, "shape_mismatch"), 2);
  EXPECT_EQ(Dropped(kGetOffer, "unknown_enum"), 2);
  EXPECT_EQ(Dropped(kGetOffer, "unknown_field"), 2);

  // ...logged once per path, with the path and never the value.
  offers_.reset();
  profile_.reset();
  journeys_.reset();
  EXPECT_EQ(env_->StopGateway(), 0);
  EXPECT_EQ(DropLines(kGetOffer), (std::multiset<std::string>{"shape_mismatch amountPrincipal",
                                                              "unknown_enum proceedBoundaryState",
                                                              "unknown_field brandNewField"}));
  LogScan scan = ScanGatewayLog(log_path_, {kPanInUnknownField, kUnknownEnumValue, "9876543210"});
  EXPECT_TRUE(scan.problems.empty()) << absl::StrJoin(scan.problems, "\n");
}

TEST_F(LenientFieldsTest, ADocumentedFieldOfTheWrongTypeIsStillABadResponse) {
  const std::string journey = NewJourney();
  ASSERT_FALSE(journey.empty());
  // The state's journeyID is documented as a string (§3.2): a number there is not the contract.
  const nlohmann::json body = {{"requestID", "req_strict"},
                               {"data", {{"journeyID", 42}, {"status", "OFFERS_PENDING"}}},
                               {"error", nullptr}};
  env_->SetSandboxFaults(
      {{"route", "GET /api/v1/headless/journeys/*/state"}, {"success_body", body.dump()}});
  hl::GetJourneyStateResponse response;
  grpc::Status status = GetState(journey, &response);
  env_->ClearSandboxFaults();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << status.error_message();
  auto info = DetailOf<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "UPSTREAM_BAD_RESPONSE");
  EXPECT_NE(status.error_message().find("journeyID"), std::string::npos) << status.error_message();
}

// A key given twice (found by tests/fuzz/platform_reply_fuzzer.cc): the caller gets what the full
// path reads (the last copy, as nlohmann keeps it), whichever path decoded the reply, and the
// reply's drops are counted once per call although the hot path saw them before it declined.
TEST_F(LenientFieldsTest, AKeyGivenTwiceIsReadAsItsLastCopyAndDropsAreCountedOnce) {
  const std::string journey = NewJourney();
  ASSERT_FALSE(journey.empty());
  // Written out by hand: a JSON library would not write a key twice.
  const std::string body = absl::StrCat(
      R"({"requestID":"req_twice","data":{"journeyID":")", journey,
      R"(","status":"OFFERS_PENDING","brandNewField":1,"nextAction":"WAIT_FOR_OFFERS",)",
      R"("nextAction":"AWAIT_SOMETHING_NEW"},"error":null})");
  env_->SetSandboxFaults(
      {{"route", "GET /api/v1/headless/journeys/*/state"}, {"success_body", body}});
  constexpr char kGetState[] = "aarthik.headless.v1.JourneysService.GetJourneyState";
  for (int call = 1; call <= 2; ++call) {
    hl::GetJourneyStateResponse response;
    grpc::Status status = GetState(journey, &response);
    ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
    EXPECT_EQ(response.state().journey_id(), journey);
    EXPECT_EQ(response.state().next_action(), hl::JOURNEY_ACTION_UNSPECIFIED);  // the last copy
  }
  env_->ClearSandboxFaults();
  EXPECT_EQ(Dropped(kGetState, "unknown_field"), 2);
  EXPECT_EQ(Dropped(kGetState, "unknown_enum"), 2);
}

}  // namespace
}  // namespace aarthik::testing
