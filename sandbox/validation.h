// Request validation and normalisation rules of the contract (§2.8, §2.9, §3.3, §3.10).
//
// Validators return std::nullopt when the input is fine (normalising it in place where the contract
// asks for canonical forms: PAN upper-cased, emails lower-cased, gender/employmentType canonical),
// or the VALIDATION_FAILED ApiError whose details.field names the offending field.
//
// Example:
//   nlohmann::json body = nlohmann::json::parse(raw);
//   if (std::optional<ApiError> error = ValidateProfileUpsert(body)) return *error;
//
// Thread-safety: pure functions.
#ifndef AARTHIK_SANDBOX_VALIDATION_H_
#define AARTHIK_SANDBOX_VALIDATION_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "sandbox/api_error.h"

namespace aarthik::sandbox {

bool IsUuid(absl::string_view text);
bool IsPositiveDigitString(absl::string_view text);
// Indian mobile: 10 digits starting 6-9, optionally prefixed by +91 or 91. Returns the 10 digits.
std::optional<std::string> NormalizeIndianMobile(absl::string_view text);
bool IsPan(absl::string_view upper_case_text);
bool IsIsoDate(absl::string_view text);  // YYYY-MM-DD, a real calendar date
bool IsEmail(absl::string_view text);
bool IsPincode(absl::string_view text);
bool IsIfsc(absl::string_view text);
std::optional<std::string> NormalizeGender(absl::string_view text);
std::optional<std::string> NormalizeEmploymentType(absl::string_view text);
bool IsJourneyType(absl::string_view text);

// `profile` / Hybrid `personal` object. `prefix` is the field path prefix used in details.field.
std::optional<ApiError> ValidatePersonal(nlohmann::json& personal, absl::string_view prefix);
// `workProfile` / Hybrid `work` object.
std::optional<ApiError> ValidateWork(nlohmann::json& work, absl::string_view prefix);
std::optional<ApiError> ValidateAddress(nlohmann::json& address, absl::string_view prefix);

// PUT /profile body (and the optional `profile` of POST /sessions, via ValidatePersonal):
// sections profile, workProfile, address, bankingInformation, journey; all optional, each an
// object.
std::optional<ApiError> ValidateProfileUpsert(nlohmann::json& body);

// Checks that `body[key]` is absent/null or a string of 1..max_length characters.
std::optional<ApiError> OptionalString(const nlohmann::json& body, const char* key,
                                       absl::string_view field, size_t max_length = 1024);

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_VALIDATION_H_
