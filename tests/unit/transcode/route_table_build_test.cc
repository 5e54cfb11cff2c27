// RouteTable: the real protos build a complete table, and malformed mappings stop start-up with a
// message that names the method and what to fix.
#include "aarthik/headless/v1/journeys.pb.h"
#include "aarthik/headless/v1/sessions.pb.h"
#include "google/api/annotations.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "server/transcode/route_table.h"

namespace aarthik::transcode {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptorProto;

TEST(RouteTableTest, BuildsEveryPlatformRoute) {
  absl::StatusOr<RouteTable> table = RouteTable::Build(PlatformServices());
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->routes().size(), 40u);
}

TEST(RouteTableTest, PrecomputesWhatTheHotPathNeeds) {
  absl::StatusOr<RouteTable> table = RouteTable::Build(PlatformServices());
  ASSERT_TRUE(table.ok());
  const Route* list = table->Find("/aarthik.headless.v1.JourneysService/ListJourneys");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->label, "GET /api/v1/headless/journeys");
  ASSERT_EQ(list->query_fields.size(), 1u);  // `type`; the borrower key is never a query parameter
  EXPECT_EQ(list->query_fields[0]->name(), "type");
  ASSERT_EQ(list->borrower_key_path.size(), 1u);

  const Route* create = table->Find("/aarthik.headless.v1.SessionsService/CreateSession");
  ASSERT_NE(create, nullptr);
  ASSERT_EQ(create->borrower_key_path.size(), 2u);  // inside the body: session.borrower_external_id
  ASSERT_EQ(create->withheld_paths.size(), 1u);
  EXPECT_EQ(create->withheld_paths[0].back()->name(), "refresh_token");

  const Route* state = table->Find("/aarthik.headless.v1.JourneysService/GetJourneyState");
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->response_field->name(), "state");
  EXPECT_EQ(state->path.size(), 3u);  // literal, {journey_id}, literal

  const Route* subscribe =
      table->Find("/aarthik.webhooks.v1.WebhookSubscriptionService/SubscribeWebhooks");
  ASSERT_NE(subscribe, nullptr);
  EXPECT_EQ(subscribe->config_defaults.size(), 2u);
  EXPECT_EQ(table->Find("/nope.Service/Method"), nullptr);
}

// Builds a one-method service in a scratch pool layered over the generated one, so that our options
// and google.api.http resolve.
class MalformedRouteTest : public ::testing::Test {
 protected:
  absl::Status BuildWith(const std::string& method_options,
                         const std::string& request_fields = "") {
    FileDescriptorProto file;
    std::string text =
        R"pb(
          name: "scratch.proto"
          package: "scratch.v1"
          dependency: "google/api/annotations.proto"
          dependency: "aarthik/gateway/v1/options.proto"
          message_type {
            name: "Req"
            field { name: "journey_id" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
            field {
              name: "payload"
              number: 2
              type: TYPE_MESSAGE
              label: LABEL_OPTIONAL
              type_name: ".scratch.v1.Res"
            }
        )pb" +
        request_fields + R"pb(}
                              message_type { name: "Res" field { name: "x" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL } }
      service { name: "ScratchService" method { name: "Do" input_type: ".scratch.v1.Req" output_type: ".scratch.v1.Res" } }
    )pb";
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &file));
    google::protobuf::TextFormat::Parser parser;
    EXPECT_TRUE(parser.ParseFromString(
        method_options, file.mutable_service(0)->mutable_method(0)->mutable_options()))
        << method_options;
    pool_ = std::make_unique<DescriptorPool>(DescriptorPool::generated_pool());
    const auto* built = pool_->BuildFile(file);
    EXPECT_NE(built, nullptr);
    return RouteTable::Build({built->service(0)}).status();
  }

  std::unique_ptr<DescriptorPool> pool_;
};

constexpr char kGoodRoute[] =
    "[aarthik.gateway.v1.route] { auth: AUTH_MODE_API_KEY envelope: ENVELOPE_NONE mutation: "
    "MUTATION_READ } ";

TEST_F(MalformedRouteTest, AcceptsAWellFormedRoute) {
  absl::Status status =
      BuildWith(std::string(kGoodRoute) +
                "[google.api.http] { post: \"/x/{journey_id}\" body: \"payload\" }");
  EXPECT_TRUE(status.ok()) << status;
}

TEST_F(MalformedRouteTest, RejectsMissingHttpRule) {
  absl::Status status = BuildWith(kGoodRoute);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("scratch.v1.ScratchService.Do"), std::string::npos);
  EXPECT_NE(status.message().find("google.api.http"), std::string::npos);
}

TEST_F(MalformedRouteTest, RejectsMissingRouteOption) {
  EXPECT_NE(
      BuildWith("[google.api.http] { get: \"/x\" }").message().find("aarthik.gateway.v1.route"),
      std::string::npos);
}

TEST_F(MalformedRouteTest, RejectsUnknownPathVariable) {
  EXPECT_NE(BuildWith(std::string(kGoodRoute) + "[google.api.http] { get: \"/x/{offer_id}\" }")
                .message()
                .find("{offer_id}"),
            std::string::npos);
}

TEST_F(MalformedRouteTest, RejectsBodyOnGet) {
  EXPECT_NE(
      BuildWith(std::string(kGoodRoute) + "[google.api.http] { get: \"/x\" body: \"payload\" }")
          .message()
          .find("no body"),
      std::string::npos);
}

TEST_F(MalformedRouteTest, RejectsUnknownBodyField) {
  EXPECT_NE(BuildWith(std::string(kGoodRoute) + "[google.api.http] { post: \"/x\" body: \"nope\" }")
                .message()
                .find("body 'nope'"),
            std::string::npos);
}

TEST_F(MalformedRouteTest, RejectsBorrowerRouteWithoutBorrowerKey) {
  EXPECT_NE(BuildWith("[aarthik.gateway.v1.route] { auth: AUTH_MODE_BORROWER_SESSION envelope: "
                      "ENVELOPE_HEADLESS "
                      "mutation: MUTATION_READ } [google.api.http] { get: \"/x\" }")
                .message()
                .find("borrower_key"),
            std::string::npos);
}

TEST_F(MalformedRouteTest, RejectsUnsetMutation) {
  EXPECT_NE(
      BuildWith("[aarthik.gateway.v1.route] { auth: AUTH_MODE_API_KEY envelope: ENVELOPE_NONE } "
                "[google.api.http] { get: \"/x\" }")
          .message()
          .find("mutation"),
      std::string::npos);
}

TEST_F(MalformedRouteTest, RejectsNonScalarQueryField) {
  // `payload` is neither path, body nor scalar: it cannot become a query parameter.
  EXPECT_NE(BuildWith(std::string(kGoodRoute) + "[google.api.http] { get: \"/x\" }")
                .message()
                .find("payload"),
            std::string::npos);
}

TEST_F(MalformedRouteTest, RejectsAdditionalBindings) {
  EXPECT_NE(
      BuildWith(
          std::string(kGoodRoute) +
          "[google.api.http] { get: \"/x/{journey_id}\" additional_bindings { get: \"/y\" } }")
          .message()
          .find("additional_bindings"),
      std::string::npos);
}

}  // namespace
}  // namespace aarthik::transcode
