// Envelope decoding and the error table: one test row per mapping of platform-api.md §2.3 and the
// gateway's own failures.
#include "server/transcode/platform_reply.h"

#include "gtest/gtest.h"
#include "server/transcode/rpc_error.h"

namespace aarthik::transcode {
namespace {

using gateway::v1::ENVELOPE_HEADLESS;
using gateway::v1::ENVELOPE_HYBRID;
using gateway::v1::ENVELOPE_NONE;

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
  if (!row.code.empty()) EXPECT_EQ(status.message(), "platform says no");
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
