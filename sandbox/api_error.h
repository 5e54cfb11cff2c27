// Platform errors: the `{code, message, retryable, details}` object of the contract (§2.3) and the
// HTTP status the sandbox pairs with each code (§7.6 defaults where the docs are silent).
//
// Example:
//   ApiError error = ValidationFailed("profile.pan", "profile.pan must look like ABCDE1234F");
//   nlohmann::json body = error.ToJson();   // {"code":"VALIDATION_FAILED",...}
//   int status = error.http_status;         // 400
//
// Thread-safety: plain values.
#ifndef AARTHIK_SANDBOX_API_ERROR_H_
#define AARTHIK_SANDBOX_API_ERROR_H_

#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace aarthik::sandbox {

struct ApiError {
  int http_status = 500;
  std::string code;
  std::string message;
  bool retryable = false;
  nlohmann::json details = nlohmann::json::object();
  int retry_after_seconds = 0;  // > 0 adds a Retry-After header (429)

  nlohmann::json ToJson() const {
    return {{"code", code}, {"message", message}, {"retryable", retryable}, {"details", details}};
  }
};

ApiError ValidationFailed(absl::string_view field, absl::string_view message);
ApiError InvalidApiKey(absl::string_view message);
ApiError InvalidSession(absl::string_view message);
ApiError ScopeMismatch(absl::string_view message);
ApiError NotFound(absl::string_view message);
ApiError StatePreconditionFailed(absl::string_view message);
ApiError OfferLockConflict();
ApiError RateLimited(int retry_after_seconds);
// Injected error statuses: 429 → RATE_LIMITED, 5xx → UPSTREAM_TEMPORARY_FAILURE, 401 →
// AUTH_INVALID_SESSION, 403 → ACCESS_SCOPE_MISMATCH, 404 → RESOURCE_NOT_FOUND, 409 →
// STATE_PRECONDITION_FAILED, other 4xx → VALIDATION_FAILED.
ApiError InjectedError(int http_status);

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_API_ERROR_H_
