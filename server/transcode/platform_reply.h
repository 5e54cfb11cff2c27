// Reading the platform's HTTP answers: unwrap the envelope of the route's kind, and turn failures
// (platform error objects, HTTP statuses, transport errors, unreadable bodies) into gRPC-ready
// errors with google.rpc details, from one table.
//
//   absl::StatusOr<PlatformReply> reply = DecodeReply(route.options.envelope(), status, body);
//   if (reply.ok() && !reply->error) { ... reply->data is the payload ... }
//   absl::Status rpc_error = MapPlatformError(*reply, context);
//
// Mapping (platform code first, then HTTP status):
//   VALIDATION_FAILED → INVALID_ARGUMENT + BadRequest(details.field)   AUTH_* / 401 →
//   UNAUTHENTICATED ACCESS_SCOPE_MISMATCH / 403 → PERMISSION_DENIED RESOURCE_NOT_FOUND / 404 →
//   NOT_FOUND OFFER_LOCK_CONFLICT, STATE_PRECONDITION_FAILED, other 409/412/422 →
//   FAILED_PRECONDITION ASYNC_OPERATION_PENDING → UNAVAILABLE + RetryInfo RATE_LIMITED / 429 →
//   RESOURCE_EXHAUSTED + RetryInfo UPSTREAM_TEMPORARY_FAILURE, 502/503/504 → UNAVAILABLE other 5xx
//   → INTERNAL
// Every error carries ErrorInfo{reason = platform code (or UPSTREAM_HTTP_<status>), domain,
// metadata: upstream_status, route, retryable, and the platform's string details} and
// RequestInfo{request_id = platform request ID, serving_data = correlation ID}.
//
// Thread-safety: free functions on values.
#ifndef AARTHIK_SERVER_TRANSCODE_PLATFORM_REPLY_H_
#define AARTHIK_SERVER_TRANSCODE_PLATFORM_REPLY_H_

#include <optional>
#include <string>
#include <string_view>

#include "aarthik/gateway/v1/options.pb.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace aarthik::transcode {

struct PlatformError {
  std::string code;
  std::string message;
  bool retryable = false;
  nlohmann::json details;  // object or null
};

struct PlatformReply {
  int http_status = 0;
  std::string request_id;
  std::string correlation_id;
  // The payload: the envelope's `data`, or the whole body of the unenveloped kinds. An object on
  // success.
  nlohmann::json data;
  // Set when the platform answered with an error (non-2xx, or an error object).
  std::optional<PlatformError> error;
  // True when the hot path decoded the payload straight into the caller's message (fast_reply.h):
  // `data` is then empty.
  bool data_decoded = false;
  // From the Retry-After header, when present.
  std::optional<absl::Duration> retry_after;
  // How many attempts the gateway made (retries included).
  int attempts = 1;
};

// Fails (INTERNAL, saying what was wrong) only for a 2xx answer without the shape of `envelope`'s
// kind; an unreadable error body yields a reply whose error has an empty code, mapped by HTTP
// status. What a 2xx must carry, per kind (docs/contract-decisions.md, "Envelopes"):
//   HEADLESS / HYBRID          a JSON object with requestID / request_id (string), data (object),
//                              error null or absent (an error object makes the reply an error)
//   HOSTED_SESSION             a JSON object with a non-empty embedURL string (any spelling)
//   WEBHOOK_SUBSCRIPTION       tenant_id, application_id (strings), webhook_enabled (boolean),
//                              webhook_url (string or null)
//   NONE                       any JSON object (or an empty body)
absl::StatusOr<PlatformReply> DecodeReply(aarthik::gateway::v1::Envelope envelope, int http_status,
                                          absl::string_view body);

// What an error says about where it happened. Views: made for every reply (most of which are no
// error), so it copies nothing; the strings must outlive it.
struct ErrorContext {
  absl::string_view route;           // Route::label
  absl::string_view correlation_id;  // ours, when the platform echoed none
};

absl::Status MapPlatformError(const PlatformReply& reply, const ErrorContext& context);

// A transport failure (the Status from HttpTransport) as the caller should see it.
absl::Status MapTransportError(const absl::Status& transport, const ErrorContext& context);

// A 2xx whose body cannot be decoded into the response message.
absl::Status MapBadResponse(absl::string_view what, const PlatformReply* reply,
                            const ErrorContext& context);

// Parses a Retry-After header (delta seconds; HTTP dates are not used by the platform).
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value);

}  // namespace aarthik::transcode

#endif  // AARTHIK_SERVER_TRANSCODE_PLATFORM_REPLY_H_
