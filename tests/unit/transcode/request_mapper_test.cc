// RequestMapper: path parameters are escaped, query and body follow the route, and bad input is
// refused at the edge with a BadRequest naming each field.
#include "server/transcode/request_mapper.h"

#include "aarthik/headless/v1/journeys.pb.h"
#include "aarthik/headless/v1/profile.pb.h"
#include "aarthik/headless/v1/sessions.pb.h"
#include "aarthik/hybrid/v1/hybrid.pb.h"
#include "aarthik/webhooks/v1/subscription.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/transcode/rpc_error.h"

namespace aarthik::transcode {
namespace {

namespace hl = aarthik::headless::v1;

const gateway::v1::FieldOptions& FieldOpts(const google::protobuf::FieldDescriptor* field) {
  return field->options().GetExtension(gateway::v1::field);
}

constexpr char kJourney[] = "b7bb465b-135e-4ffd-9c7f-0d43f7ee43d9";

class RequestMapperTest : public ::testing::Test {
 protected:
  RequestMapperTest()
      : table_(*RouteTable::Build(PlatformServices())),
        codec_(Roots()),
        mapper_(&codec_, EdgeLimits{64, "8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61",
                                    "fbb1fd74-c502-4419-83f3-82a2a019fc9a"}) {}

  std::vector<const google::protobuf::Descriptor*> Roots() {
    std::vector<const google::protobuf::Descriptor*> roots;
    for (const auto& route : table_.routes()) {  // table_ is initialised first
      roots.push_back(route->method->input_type());
    }
    return roots;
  }

  absl::StatusOr<PlatformCall> Map(const std::string& method, google::protobuf::Message& request) {
    const Route* route = table_.Find(method);
    EXPECT_NE(route, nullptr) << method;
    return mapper_.Map(*route, request);
  }

  std::vector<std::string> ViolatedFields(const absl::Status& status) {
    std::vector<std::string> fields;
    auto rpc = RpcDetails(status);
    if (!rpc) return fields;
    for (const auto& any : rpc->details()) {
      google::rpc::BadRequest bad_request;
      if (any.UnpackTo(&bad_request)) {
        for (const auto& v : bad_request.field_violations()) fields.push_back(v.field());
      }
    }
    return fields;
  }

  RouteTable table_;
  JsonCodec codec_;
  RequestMapper mapper_;
};

TEST_F(RequestMapperTest, PathAndBorrowerKey) {
  hl::GetJourneyStateRequest request;
  request.set_borrower_external_id("CUST_0012");
  request.set_journey_id(kJourney);
  auto call = Map("/aarthik.headless.v1.JourneysService/GetJourneyState", request);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->path_and_query, std::string("/api/v1/headless/journeys/") + kJourney + "/state");
  EXPECT_EQ(call->borrower_key, "CUST_0012");
  EXPECT_EQ(call->body, "");
}

TEST_F(RequestMapperTest, QueryUsesThePlatformSpellingAndSkipsTheBorrowerKey) {
  hl::ListJourneysRequest request;
  request.set_borrower_external_id("CUST 1");
  request.set_type(common::v1::JOURNEY_TYPE_GOLD_LOAN);
  auto call = Map("/aarthik.headless.v1.JourneysService/ListJourneys", request);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->path_and_query, "/api/v1/headless/journeys?type=GOLD_LOAN");
}

TEST_F(RequestMapperTest, PathParametersAreUrlEscaped) {
  aarthik::hybrid::v1::PollOffersRequest request;
  request.set_borrower_provider_id("a b/c?d");
  auto call = Map("/aarthik.hybrid.v1.HybridService/PollOffers", request);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->path_and_query,
            "/api/v1/hybrid/personal-loan/borrowers/a%20b%2Fc%3Fd/journey/offers");
}

TEST_F(RequestMapperTest, BodyIsTheSubMessageInPlatformJson) {
  hl::UpdateProfileRequest request;
  request.set_borrower_external_id("CUST_0012");
  request.set_journey_id(kJourney);
  request.mutable_profile()->mutable_profile()->set_contact_number("9876543210");
  request.mutable_profile()->mutable_profile()->set_gender(common::v1::GENDER_MALE);
  request.mutable_profile()->mutable_work_profile()->set_employment_type(
      common::v1::EMPLOYMENT_TYPE_SELF_EMPLOYED);
  auto call = Map("/aarthik.headless.v1.ProfileService/UpdateProfile", request);
  ASSERT_TRUE(call.ok()) << call.status();
  nlohmann::json body = nlohmann::json::parse(call->body);
  EXPECT_EQ(body,
            nlohmann::json::parse(R"({"profile":{"contactNumber":"9876543210","gender":"male"},)"
                                  R"("workProfile":{"employmentType":"selfEmployed"}})"));
}

TEST_F(RequestMapperTest, BodylessWritesSendAnEmptyObject) {
  hl::RefreshSessionRequest request;
  request.set_borrower_external_id("CUST_0012");
  auto call = Map("/aarthik.headless.v1.SessionsService/RefreshSession", request);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->body, "{}");
}

TEST_F(RequestMapperTest, BorrowerKeyInsideTheBodyIsSent) {
  hl::CreateSessionRequest request;
  request.mutable_session()->set_borrower_external_id("CUST_0012");
  auto call = Map("/aarthik.headless.v1.SessionsService/CreateSession", request);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->borrower_key, "CUST_0012");
  EXPECT_EQ(nlohmann::json::parse(call->body)["borrowerExternalID"], "CUST_0012");
}

TEST_F(RequestMapperTest, ConfigDefaultsFillEmptyFields) {
  aarthik::webhooks::v1::GetWebhookConfigurationRequest request;
  auto call =
      Map("/aarthik.webhooks.v1.WebhookSubscriptionService/GetWebhookConfiguration", request);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->path_and_query,
            "/api/tenants/8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61/applications/"
            "fbb1fd74-c502-4419-83f3-82a2a019fc9a/webhooks/configuration");
}

TEST_F(RequestMapperTest, RefusesMissingBorrowerAndPathParameter) {
  hl::GetJourneyStateRequest request;
  absl::Status status =
      Map("/aarthik.headless.v1.JourneysService/GetJourneyState", request).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ViolatedFields(status),
            (std::vector<std::string>{"borrower_external_id", "journey_id"}));
}

TEST_F(RequestMapperTest, RefusesMalformedUuid) {
  hl::GetJourneyStateRequest request;
  request.set_borrower_external_id("CUST_0012");
  request.set_journey_id("../../admin");
  absl::Status status =
      Map("/aarthik.headless.v1.JourneysService/GetJourneyState", request).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ViolatedFields(status), std::vector<std::string>{"journey_id"});
}

TEST_F(RequestMapperTest, RefusesOversizedFieldsAnywhere) {
  hl::UpdateProfileRequest request;
  request.set_borrower_external_id(std::string(129, 'x'));  // the borrower key's own limit is 128
  request.set_journey_id(kJourney);
  request.mutable_profile()->mutable_address()->set_city(
      std::string(65, 'x'));  // gateway-wide limit here: 64
  absl::Status status = Map("/aarthik.headless.v1.ProfileService/UpdateProfile", request).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ViolatedFields(status),
            (std::vector<std::string>{"borrower_external_id", "profile.address.city"}));
}

// Issue 14: "." and ".." are unreserved, so escaping alone let them through as dot segments that
// HTTP stacks resolve away, moving the call (with the API key) to another platform path.
TEST_F(RequestMapperTest, RefusesDotSegmentPathValues) {
  for (const char* value : {".", "..", "%2e", "%2E%2e", ".%2e", "%2e."}) {
    SCOPED_TRACE(value);
    aarthik::hybrid::v1::PollOffersRequest poll;
    poll.set_borrower_provider_id(value);
    absl::Status status = Map("/aarthik.hybrid.v1.HybridService/PollOffers", poll).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ViolatedFields(status), std::vector<std::string>{"borrower_provider_id"});

    aarthik::hybrid::v1::StartJourneyRequest start;
    start.set_borrower_provider_id(value);
    start.mutable_prefill()->mutable_personal()->set_contact_number("9876543210");
    EXPECT_EQ(ViolatedFields(Map("/aarthik.hybrid.v1.HybridService/StartJourney", start).status()),
              std::vector<std::string>{"borrower_provider_id"});

    aarthik::hybrid::v1::GetHostedUrlRequest hand_off;
    hand_off.set_borrower_provider_id("BORROWER-1");
    hand_off.set_offer_id(value);
    EXPECT_EQ(
        ViolatedFields(Map("/aarthik.hybrid.v1.HybridService/GetHostedUrl", hand_off).status()),
        std::vector<std::string>{"offer_id"});

    hl::GetJourneyStateRequest state;  // a UUID field: refused once, as not a UUID
    state.set_borrower_external_id("CUST_0012");
    state.set_journey_id(value);
    EXPECT_EQ(
        ViolatedFields(Map("/aarthik.headless.v1.JourneysService/GetJourneyState", state).status()),
        std::vector<std::string>{"journey_id"});
  }
}

// A '.' inside a longer value is not a dot segment and stays literal.
TEST_F(RequestMapperTest, DotsInsideLongerValuesStayLiteral) {
  for (const char* value : {"a.b", "...", "..a", ".a", "a..", "%2e%2e%2f", "..%2f"}) {
    aarthik::hybrid::v1::PollOffersRequest poll;
    poll.set_borrower_provider_id(value);
    auto call = Map("/aarthik.hybrid.v1.HybridService/PollOffers", poll);
    ASSERT_TRUE(call.ok()) << value << ": " << call.status();
    EXPECT_EQ(call->path_and_query,
              "/api/v1/hybrid/personal-loan/borrowers/" + UrlEscape(value) + "/journey/offers");
  }
}

// Every route renders a path that fits its own template for ordinary values (the check in Map
// never refuses a legitimate call).
TEST_F(RequestMapperTest, EveryRouteRendersItsTemplatesShape) {
  for (const auto& route : table_.routes()) {
    std::unique_ptr<google::protobuf::Message> request(
        google::protobuf::MessageFactory::generated_factory()
            ->GetPrototype(route->method->input_type())
            ->New());
    for (const PathSegment& segment : route->path) {
      if (segment.field == nullptr) continue;
      request->GetReflection()->SetString(
          request.get(), segment.field,
          FieldOpts(segment.field).uuid() ? kJourney : "value with spaces/and.dots");
    }
    if (!route->borrower_key_path.empty()) {
      google::protobuf::Message* holder = request.get();
      for (size_t i = 0; i + 1 < route->borrower_key_path.size(); ++i) {
        holder = holder->GetReflection()->MutableMessage(holder, route->borrower_key_path[i]);
      }
      holder->GetReflection()->SetString(holder, route->borrower_key_path.back(), "CUST_1");
    }
    auto call = mapper_.Map(*route, *request);
    ASSERT_TRUE(call.ok()) << route->label << ": " << call.status();
    absl::string_view path = call->path_and_query;
    EXPECT_FALSE(route->path_shape.Check(path.substr(0, path.find('?'))).has_value())
        << route->label;
  }
}

TEST(UrlEscapeTest, KeepsUnreservedOnly) {
  EXPECT_EQ(UrlEscape("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(UrlEscape("a/b c%"), "a%2Fb%20c%25");
}

}  // namespace
}  // namespace aarthik::transcode
