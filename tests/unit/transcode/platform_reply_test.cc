// Envelope decoding and the error table: one test row per mapping of platform-api.md §2.3 and the
// gateway's own failures.
#include "server/transcode/platform_reply.h"

#include "gtest/gtest.h"
#include "server/transcode/rpc_error.h"

namespace aarthik::transcode {
namespace {

using gateway::v1::Envelope;
using gateway::v1::ENVELOPE_HEADLESS;
using gateway::v1::ENVELOPE_HOSTED_SESSION;
using gateway::v1::ENVELOPE_HYBRID;
using gateway::v1::ENVELOPE_NONE;
using gateway::v1::ENVELOPE_WEBHOOK_SUBSCRIPTION;

std::string HeadlessError(const std::string& code, const std::string& details = "{}") {
  return R"({"requestID":"req_1","correlationID":"corr_1","timestamp":"2026-03-05T15:15:00.000Z","data":null,)"
         R"("error":{"code":")" +
         code + R"(","message":"platform says no","retryable":false,"details":)" + details + "}}";
}

template <typename Detail>
std::optional<Detail> FindDetail(const absl::Status& status) {
  std::optional<google::rpc::Status> rpc = RpcDetails(status);
  if (!rpc) return std::nullopt;
  for (const auto& any : rpc->details()) {
    Detail detail;
    if (any.UnpackTo(&detail)) return detail;
  }
  return std::nullopt;
}

TEST(DecodeReplyTest, HeadlessSuccessUnwrapsDataAndIds) {
  auto reply = DecodeReply(
      ENVELOPE_HEADLESS, 200,
      R"({"requestID":"req_9","correlationID":"c9","data":{"journeyID":"j"},"error":null})");
  ASSERT_TRUE(reply.ok());
  EXPECT_FALSE(reply->error.has_value());
  EXPECT_EQ(reply->request_id, "req_9");
  EXPECT_EQ(reply->correlation_id, "c9");
  EXPECT_EQ(reply->data["journeyID"], "j");
}

TEST(DecodeReplyTest, HybridUsesSnakeCaseIds) {
  auto reply =
      DecodeReply(ENVELOPE_HYBRID, 200, R"({"request_id":"r","correlation_id":"c","data":{}})");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->request_id, "r");
  EXPECT_EQ(reply->correlation_id, "c");
}

TEST(DecodeReplyTest, UnenvelopedBodyIsThePayload) {
  auto reply = DecodeReply(ENVELOPE_NONE, 200, R"({"embedURL":"https://x"})");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->data["embedURL"], "https://x");
}

TEST(DecodeReplyTest, UnenvelopedErrorIsRead) {
  auto reply = DecodeReply(ENVELOPE_NONE, 403,
                           R"({"error":{"code":"ACCESS_SCOPE_MISMATCH","message":"m"}})");
  ASSERT_TRUE(reply.ok());
  ASSERT_TRUE(reply->error.has_value());
  EXPECT_EQ(reply->error->code, "ACCESS_SCOPE_MISMATCH");
}

TEST(DecodeReplyTest, MalformedSuccessBodyIsAnError) {
  EXPECT_EQ(DecodeReply(ENVELOPE_HEADLESS, 200, "{\"data\": ").status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(DecodeReply(ENVELOPE_HEADLESS, 200, "").status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(DecodeReply(ENVELOPE_HEADLESS, 200, R"({"data":[1]})").status().code(),
            absl::StatusCode::kInternal);
}

// One row per (envelope kind, 2xx body): whether the body is that kind's success shape. A wrong
// shape must never read as an empty success (issue 14, item 2: GetJourney answered
// {"unexpected":"shape"} gave the caller OK and an empty journey).
struct ShapeRow {
  const char* name;
  Envelope envelope;
  const char* body;
  bool accepted;
};

class EnvelopeShapeTest : public ::testing::TestWithParam<ShapeRow> {};

TEST_P(EnvelopeShapeTest, SuccessNeedsTheKindsShape) {
  const ShapeRow& row = GetParam();
  absl::StatusOr<PlatformReply> reply = DecodeReply(row.envelope, 200, row.body);
  if (row.accepted) {
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_FALSE(reply->error.has_value());
    EXPECT_TRUE(reply->data.is_object());
  } else {
    ASSERT_FALSE(reply.ok()) << "accepted as success: " << row.body;
    EXPECT_EQ(reply.status().code(), absl::StatusCode::kInternal);
    // What the platform client turns it into: INTERNAL, UPSTREAM_BAD_RESPONSE, saying what was
    // wrong.
    absl::Status mapped = MapBadResponse(reply.status().message(), nullptr, {"GET /x", "c"});
    EXPECT_EQ(FindDetail<google::rpc::ErrorInfo>(mapped)->reason(), "UPSTREAM_BAD_RESPONSE");
    EXPECT_NE(mapped.message().find(std::string(reply.status().message())), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, EnvelopeShapeTest,
    ::testing::Values(
        // Headless: {requestID, correlationID, timestamp, data, error}.
        ShapeRow{
            "HeadlessOk", ENVELOPE_HEADLESS,
            R"({"requestID":"req_1","correlationID":null,"data":{"journeyID":"j"},"error":null})",
            true},
        ShapeRow{"HeadlessWithoutErrorMember", ENVELOPE_HEADLESS,
                 R"({"requestID":"req_1","data":{}})", true},
        ShapeRow{"HeadlessUnexpectedShape", ENVELOPE_HEADLESS, R"({"unexpected":"shape"})", false},
        ShapeRow{"HeadlessEmptyObject", ENVELOPE_HEADLESS, "{}", false},
        ShapeRow{"HeadlessWithoutData", ENVELOPE_HEADLESS, R"({"requestID":"req_1","error":null})",
                 false},
        ShapeRow{"HeadlessNullData", ENVELOPE_HEADLESS,
                 R"({"requestID":"req_1","data":null,"error":null})", false},
        ShapeRow{"HeadlessArrayData", ENVELOPE_HEADLESS, R"({"requestID":"req_1","data":[]})",
                 false},
        ShapeRow{"HeadlessWithoutRequestId", ENVELOPE_HEADLESS, R"({"data":{"journeyID":"j"}})",
                 false},
        ShapeRow{"HeadlessNumericRequestId", ENVELOPE_HEADLESS, R"({"requestID":7,"data":{}})",
                 false},
        ShapeRow{"HeadlessGotHybridEnvelope", ENVELOPE_HEADLESS,
                 R"({"request_id":"r","correlation_id":"c","data":{}})", false},
        ShapeRow{"HeadlessStringError", ENVELOPE_HEADLESS,
                 R"({"requestID":"req_1","data":{},"error":"oops"})", false},
        ShapeRow{"HeadlessBarePayload", ENVELOPE_HEADLESS,
                 R"({"journeyID":"j","status":"STARTED"})", false},
        // Hybrid: {request_id, correlation_id, timestamp, data, error}.
        ShapeRow{
            "HybridOk", ENVELOPE_HYBRID,
            R"({"request_id":"r","correlation_id":"c","data":{"status":"OFFERED"},"error":null})",
            true},
        ShapeRow{"HybridUnexpectedShape", ENVELOPE_HYBRID, R"({"unexpected":"shape"})", false},
        ShapeRow{"HybridNullData", ENVELOPE_HYBRID, R"({"request_id":"r","data":null})", false},
        ShapeRow{"HybridGotHeadlessEnvelope", ENVELOPE_HYBRID, R"({"requestID":"r","data":{}})",
                 false},
        // Hosted create-session: the URL object, embedURL in any documented spelling.
        ShapeRow{"HostedOk", ENVELOPE_HOSTED_SESSION,
                 R"({"embedURL":"https://credit.aarthiklabs.com/lab/embed#bt_test_1"})", true},
        ShapeRow{"HostedAlias", ENVELOPE_HOSTED_SESSION, R"({"Embedurl":"https://x#bt_test_1"})",
                 true},
        ShapeRow{"HostedUnexpectedShape", ENVELOPE_HOSTED_SESSION, R"({"unexpected":"shape"})",
                 false},
        ShapeRow{"HostedEmptyUrl", ENVELOPE_HOSTED_SESSION, R"({"embedURL":""})", false},
        ShapeRow{"HostedUrlNotAString", ENVELOPE_HOSTED_SESSION, R"({"embedURL":{"u":1}})", false},
        ShapeRow{"HostedEnveloped", ENVELOPE_HOSTED_SESSION,
                 R"({"requestID":"r","data":{"embedURL":"https://x"}})", false},
        ShapeRow{"HostedEmptyBody", ENVELOPE_HOSTED_SESSION, "", false},
        // Web-hook subscription: {tenant_id, application_id, webhook_enabled, webhook_url}.
        ShapeRow{
            "SubscriptionOk", ENVELOPE_WEBHOOK_SUBSCRIPTION,
            R"({"tenant_id":"t","application_id":"a","webhook_enabled":true,"webhook_url":"https://h"})",
            true},
        ShapeRow{
            "SubscriptionDisabled", ENVELOPE_WEBHOOK_SUBSCRIPTION,
            R"({"tenant_id":"t","application_id":"a","webhook_enabled":false,"webhook_url":null})",
            true},
        ShapeRow{"SubscriptionUnexpectedShape", ENVELOPE_WEBHOOK_SUBSCRIPTION,
                 R"({"unexpected":"shape"})", false},
        ShapeRow{"SubscriptionWithoutUrl", ENVELOPE_WEBHOOK_SUBSCRIPTION,
                 R"({"tenant_id":"t","application_id":"a","webhook_enabled":false})", false},
        ShapeRow{
            "SubscriptionEnabledAsString", ENVELOPE_WEBHOOK_SUBSCRIPTION,
            R"({"tenant_id":"t","application_id":"a","webhook_enabled":"yes","webhook_url":null})",
            false},
        ShapeRow{"SubscriptionEmptyBody", ENVELOPE_WEBHOOK_SUBSCRIPTION, "", false},
        // No documented shape (Hosted features): any object is the payload.
        ShapeRow{"NoneAnyObject", ENVELOPE_NONE, R"({"unexpected":"shape"})", true},
        ShapeRow{"NoneEmptyBody", ENVELOPE_NONE, "", true},
        ShapeRow{"NoneArray", ENVELOPE_NONE, "[]", false}),
    [](const ::testing::TestParamInfo<ShapeRow>& info) { return info.param.name; });

TEST(DecodeReplyTest, SubscriptionShapeErrorNamesWhatIsMissing) {
  absl::StatusOr<PlatformReply> reply =
      DecodeReply(ENVELOPE_WEBHOOK_SUBSCRIPTION, 200, R"({"tenant_id":"t"})");
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.status().message().find("application_id"), std::string::npos);
  EXPECT_NE(reply.status().message().find("webhook_enabled"), std::string::npos);
  EXPECT_EQ(reply.status().message().find("tenant_id"), std::string::npos);
}

TEST(DecodeReplyTest, ErrorsOfTheUnenvelopedKindsAreRead) {
  for (Envelope envelope : {ENVELOPE_HOSTED_SESSION, ENVELOPE_WEBHOOK_SUBSCRIPTION}) {
    auto reply =
        DecodeReply(envelope, 400, R"({"error":{"code":"VALIDATION_FAILED","message":"m"}})");
    ASSERT_TRUE(reply.ok());
    ASSERT_TRUE(reply->error.has_value());
    EXPECT_EQ(reply->error->code, "VALIDATION_FAILED");
  }
}

TEST(DecodeReplyTest, UnreadableErrorBodyFallsBackToHttpStatus) {
  auto reply = DecodeReply(ENVELOPE_HEADLESS, 502, "<html>bad gateway</html>");
  ASSERT_TRUE(reply.ok());
  ASSERT_TRUE(reply->error.has_value());
  EXPECT_EQ(reply->error->code, "");
}

struct Row {
  int http_status;
  std::string code;  // platform error code, "" for none
  absl::StatusCode expected;
  bool retry_info;
};

class ErrorTableTest : public ::testing::TestWithParam<Row> {};

TEST_P(ErrorTableTest, MapsToCodeWithDetails) {
  const Row& row = GetParam();
  std::string body = row.code.empty() ? "not json" : HeadlessError(row.code);
  auto reply = DecodeReply(ENVELOPE_HEADLESS, row.http_status, body);
  ASSERT_TRUE(reply.ok());
  absl::Status status = MapPlatformError(*reply, {"GET /x", "corr_ours"});
  EXPECT_EQ(status.code(), row.expected);

  auto info = FindDetail<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(),
            row.code.empty() ? "UPSTREAM_HTTP_" + std::to_string(row.http_status) : row.code);
  EXPECT_EQ(info->domain(), row.code.empty() ? kGatewayDomain : kPlatformDomain);
  EXPECT_EQ(info->metadata().at("upstream_status"), std::to_string(row.http_status));
  EXPECT_EQ(info->metadata().at("route"), "GET /x");

  auto request_info = FindDetail<google::rpc::RequestInfo>(status);
  ASSERT_TRUE(request_info.has_value());
  EXPECT_EQ(request_info->request_id(), row.code.empty() ? "" : "req_1");
  EXPECT_EQ(request_info->serving_data(), row.code.empty() ? "corr_ours" : "corr_1");
  EXPECT_EQ(FindDetail<google::rpc::RetryInfo>(status).has_value(), row.retry_info);
  if (!row.code.empty()) {
    EXPECT_EQ(status.message(), "platform says no");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Platform, ErrorTableTest,
    ::testing::Values(Row{400, "VALIDATION_FAILED", absl::StatusCode::kInvalidArgument, false},
                      Row{401, "AUTH_INVALID_API_KEY", absl::StatusCode::kUnauthenticated, false},
                      Row{401, "AUTH_INVALID_SESSION", absl::StatusCode::kUnauthenticated, false},
                      Row{403, "ACCESS_SCOPE_MISMATCH", absl::StatusCode::kPermissionDenied, false},
                      Row{404, "RESOURCE_NOT_FOUND", absl::StatusCode::kNotFound, false},
                      Row{409, "OFFER_LOCK_CONFLICT", absl::StatusCode::kFailedPrecondition, false},
                      Row{409, "STATE_PRECONDITION_FAILED", absl::StatusCode::kFailedPrecondition,
                          false},
                      Row{409, "ASYNC_OPERATION_PENDING", absl::StatusCode::kUnavailable, true},
                      Row{503, "UPSTREAM_TEMPORARY_FAILURE", absl::StatusCode::kUnavailable, true},
                      Row{429, "RATE_LIMITED", absl::StatusCode::kResourceExhausted, true},
                      // A code we do not know is mapped by its HTTP status.
                      Row{409, "SOMETHING_NEW", absl::StatusCode::kFailedPrecondition, false},
                      Row{400, "", absl::StatusCode::kInvalidArgument, false},
                      Row{401, "", absl::StatusCode::kUnauthenticated, false},
                      Row{403, "", absl::StatusCode::kPermissionDenied, false},
                      Row{404, "", absl::StatusCode::kNotFound, false},
                      Row{409, "", absl::StatusCode::kFailedPrecondition, false},
                      Row{422, "", absl::StatusCode::kFailedPrecondition, false},
                      Row{429, "", absl::StatusCode::kResourceExhausted, true},
                      Row{500, "", absl::StatusCode::kInternal, false},
                      Row{502, "", absl::StatusCode::kUnavailable, true},
                      Row{503, "", absl::StatusCode::kUnavailable, true},
                      Row{504, "", absl::StatusCode::kUnavailable, true}));

TEST(ErrorDetailsTest, ValidationFailedNamesTheFieldInBadRequest) {
  auto reply =
      DecodeReply(ENVELOPE_HEADLESS, 400,
                  HeadlessError("VALIDATION_FAILED", R"({"field":"profile.contactNumber"})"));
  absl::Status status = MapPlatformError(*reply, {"PUT /p", "c"});
  auto bad_request = FindDetail<google::rpc::BadRequest>(status);
  ASSERT_TRUE(bad_request.has_value());
  ASSERT_EQ(bad_request->field_violations_size(), 1);
  EXPECT_EQ(bad_request->field_violations(0).field(), "profile.contactNumber");
  EXPECT_EQ(bad_request->field_violations(0).description(), "platform says no");
}

TEST(ErrorDetailsTest, OfferLockConflictCarriesTheBoundaryState) {
  auto reply =
      DecodeReply(ENVELOPE_HEADLESS, 409,
                  HeadlessError("OFFER_LOCK_CONFLICT",
                                R"({"proceedBoundaryState":"LOCKED_TO_DIFFERENT_OFFER"})"));
  absl::Status status = MapPlatformError(*reply, {"POST /proceed", "c"});
  auto info = FindDetail<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata().at("proceedBoundaryState"), "LOCKED_TO_DIFFERENT_OFFER");
}

TEST(ErrorDetailsTest, RetryInfoCarriesRetryAfter) {
  auto reply = DecodeReply(ENVELOPE_HEADLESS, 429, HeadlessError("RATE_LIMITED"));
  reply->retry_after = ParseRetryAfter("7");
  auto retry = FindDetail<google::rpc::RetryInfo>(MapPlatformError(*reply, {"GET /x", "c"}));
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->retry_delay().seconds(), 7);
}

TEST(TransportErrorTest, EachTransportFailureHasItsCode) {
  ErrorContext context{"GET /x", "c"};
  EXPECT_EQ(MapTransportError(absl::DeadlineExceededError("t"), context).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(MapTransportError(absl::UnavailableError("refused"), context).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(MapTransportError(absl::CancelledError("c"), context).code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(MapTransportError(absl::ResourceExhaustedError("busy"), context).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(MapTransportError(absl::UnknownError("?"), context).code(),
            absl::StatusCode::kInternal);
  auto info = FindDetail<google::rpc::ErrorInfo>(
      MapTransportError(absl::DeadlineExceededError("t"), context));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "UPSTREAM_TIMEOUT");
}

TEST(ErrorReasonTest, IsTheErrorInfosReasonOrEmpty) {
  EXPECT_EQ(ErrorReason(MapTransportError(absl::UnknownError("?"), {"GET /x", "c"})),
            "UPSTREAM_TRANSPORT_ERROR");
  // BadRequest first, ErrorInfo second: the reason is found wherever it is.
  EXPECT_EQ(ErrorReason(RpcError(absl::StatusCode::kInvalidArgument, "m",
                                 {PackDetail(google::rpc::BadRequest()),
                                  [] {
                                    google::rpc::ErrorInfo info;
                                    info.set_reason("JOURNEY_ID_INVALID");
                                    return PackDetail(info);
                                  }()})),
            "JOURNEY_ID_INVALID");
  EXPECT_EQ(ErrorReason(absl::InternalError("no details")), "");
  EXPECT_EQ(ErrorReason(absl::OkStatus()), "");
}

TEST(BadResponseTest, IsInternalWithReason) {
  absl::Status status = MapBadResponse("expected object", nullptr, {"GET /x", "c"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("expected object"), absl::string_view::npos);
  EXPECT_EQ(FindDetail<google::rpc::ErrorInfo>(status)->reason(), "UPSTREAM_BAD_RESPONSE");
}

TEST(RetryAfterTest, ParsesDeltaSeconds) {
  EXPECT_EQ(ParseRetryAfter("3"), absl::Seconds(3));
  EXPECT_EQ(ParseRetryAfter(" 10 "), absl::Seconds(10));
  EXPECT_EQ(ParseRetryAfter("soon"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-1"), std::nullopt);
}

}  // namespace
}  // namespace aarthik::transcode
