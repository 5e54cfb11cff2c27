#include "sandbox/api_error.h"

namespace aarthik::sandbox {
namespace {

ApiError Make(int status, absl::string_view code, absl::string_view message, bool retryable) {
  ApiError e;
  e.http_status = status;
  e.code = std::string(code);
  e.message = std::string(message);
  e.retryable = retryable;
  return e;
}

}  // namespace

ApiError ValidationFailed(absl::string_view field, absl::string_view message) {
  ApiError e = Make(400, "VALIDATION_FAILED", message, false);
  e.details["field"] = std::string(field);
  return e;
}
ApiError InvalidApiKey(absl::string_view message) {
  return Make(401, "AUTH_INVALID_API_KEY", message, false);
}
ApiError InvalidSession(absl::string_view message) {
  return Make(401, "AUTH_INVALID_SESSION", message, false);
}
ApiError ScopeMismatch(absl::string_view message) {
  return Make(403, "ACCESS_SCOPE_MISMATCH", message, false);
}
ApiError NotFound(absl::string_view message) {
  return Make(404, "RESOURCE_NOT_FOUND", message, false);
}
ApiError StatePreconditionFailed(absl::string_view message) {
  return Make(409, "STATE_PRECONDITION_FAILED", message, false);
}
ApiError OfferLockConflict() {
  ApiError e = Make(409, "OFFER_LOCK_CONFLICT",
                    "Another offer is already active for this application.", false);
  e.details["proceedBoundaryState"] = "LOCKED_TO_DIFFERENT_OFFER";
  return e;
}
ApiError RateLimited(int retry_after_seconds) {
  ApiError e = Make(429, "RATE_LIMITED", "Too many requests; back off and retry.", true);
  e.retry_after_seconds = retry_after_seconds;
  e.details["retryAfterSeconds"] = retry_after_seconds;
  return e;
}
ApiError InjectedError(int status) {
  if (status == 429) return RateLimited(1);
  if (status >= 500) {
    return Make(status, "UPSTREAM_TEMPORARY_FAILURE", "A lender or network dependency failed.",
                true);
  }
  if (status == 401) return InvalidSession("Injected authentication failure.");
  if (status == 403) return ScopeMismatch("Injected scope failure.");
  if (status == 404) return NotFound("Injected not-found.");
  if (status == 409) return StatePreconditionFailed("Injected state conflict.");
  ApiError e = Make(status, "VALIDATION_FAILED", "Injected validation failure.", false);
  e.details["field"] = "";
  return e;
}

}  // namespace aarthik::sandbox
