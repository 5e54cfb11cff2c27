#include "sandbox/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace aarthik::sandbox {
namespace {

bool AllDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsNullOrAbsent(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null();
}

std::string Field(absl::string_view prefix, absl::string_view key) {
  return prefix.empty() ? std::string(key) : absl::StrCat(prefix, ".", key);
}

// Returns the string value of object[key] if present; an error if present but not a string.
std::optional<ApiError> StringField(const nlohmann::json& object, const char* key,
                                    absl::string_view prefix, std::string* out, bool* present) {
  *present = false;
  if (IsNullOrAbsent(object, key)) return std::nullopt;
  const nlohmann::json& value = object.at(key);
  if (!value.is_string()) {
    return ValidationFailed(Field(prefix, key),
                            absl::StrCat(Field(prefix, key), " must be a string"));
  }
  *out = value.get<std::string>();
  *present = true;
  return std::nullopt;
}

std::optional<ApiError> ExpectObject(const nlohmann::json& value, absl::string_view field) {
  if (!value.is_object()) return ValidationFailed(field, absl::StrCat(field, " must be an object"));
  return std::nullopt;
}

}  // namespace

bool IsUuid(absl::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

bool IsPositiveDigitString(absl::string_view text) {
  if (!AllDigits(text)) return false;
  return text.find_first_not_of('0') != absl::string_view::npos;
}

std::optional<std::string> NormalizeIndianMobile(absl::string_view text) {
  absl::string_view digits = text;
  if (absl::StartsWith(digits, "+91")) {
    digits.remove_prefix(3);
  } else if (digits.size() == 12 && absl::StartsWith(digits, "91")) {
    digits.remove_prefix(2);
  }
  if (digits.size() != 10 || !AllDigits(digits) || digits[0] < '6') return std::nullopt;
  return std::string(digits);
}

bool IsPan(absl::string_view t) {
  if (t.size() != 10) return false;
  for (int i = 0; i < 10; ++i) {
    bool letter = t[i] >= 'A' && t[i] <= 'Z';
    bool digit = t[i] >= '0' && t[i] <= '9';
    if ((i < 5 || i == 9) ? !letter : !digit) return false;
  }
  return true;
}

bool IsIsoDate(absl::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return false;
  if (!AllDigits(t.substr(0, 4)) || !AllDigits(t.substr(5, 2)) || !AllDigits(t.substr(8, 2))) {
    return false;
  }
  int year = std::stoi(std::string(t.substr(0, 4)));
  int month = std::stoi(std::string(t.substr(5, 2)));
  int day = std::stoi(std::string(t.substr(8, 2)));
  if (year < 1900 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

bool IsEmail(absl::string_view t) {
  size_t at = t.find('@');
  if (at == absl::string_view::npos || at == 0 || t.find('@', at + 1) != absl::string_view::npos) {
    return false;
  }
  absl::string_view domain = t.substr(at + 1);
  size_t dot = domain.rfind('.');
  if (dot == absl::string_view::npos || dot == 0 || dot + 1 >= domain.size()) return false;
  for (char c : t) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsPincode(absl::string_view t) { return t.size() == 6 && AllDigits(t) && t[0] != '0'; }

bool IsIfsc(absl::string_view t) {
  if (t.size() != 11 || t[4] != '0') return false;
  for (int i = 0; i < 4; ++i) {
    if (t[i] < 'A' || t[i] > 'Z') return false;
  }
  for (int i = 5; i < 11; ++i) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(t[i]))) return false;
  }
  return true;
}

std::optional<std::string> NormalizeGender(absl::string_view text) {
  std::string lower = absl::AsciiStrToLower(text);
  if (lower == "male" || lower == "female" || lower == "transgender") return lower;
  return std::nullopt;
}

std::optional<std::string> NormalizeEmploymentType(absl::string_view text) {
  std::string squashed = absl::AsciiStrToLower(text);
  squashed = absl::StrReplaceAll(squashed, {{"-", ""}, {" ", ""}, {"_", ""}});
  if (squashed == "salaried") return "salaried";
  if (squashed == "selfemployed") return "selfEmployed";
  return std::nullopt;
}

bool IsJourneyType(absl::string_view text) {
  return text == "PERSONAL_LOAN" || text == "GOLD_LOAN";
}

std::optional<ApiError> OptionalString(const nlohmann::json& body, const char* key,
                                       absl::string_view field, size_t max_length) {
  if (IsNullOrAbsent(body, key)) return std::nullopt;
  const nlohmann::json& value = body.at(key);
  if (!value.is_string() || value.get_ref<const std::string&>().empty() ||
      value.get_ref<const std::string&>().size() > max_length) {
    return ValidationFailed(
        field, absl::StrCat(field, " must be a string of 1..", max_length, " characters"));
  }
  return std::nullopt;
}

std::optional<ApiError> ValidatePersonal(nlohmann::json& p, absl::string_view prefix) {
  if (auto e = ExpectObject(p, prefix)) return e;
  std::string value;
  bool present;
  if (auto e = StringField(p, "contactNumber", prefix, &value, &present)) return e;
  if (present) {
    std::optional<std::string> mobile = NormalizeIndianMobile(value);
    if (!mobile) {
      return ValidationFailed(
          Field(prefix, "contactNumber"),
          absl::StrCat(Field(prefix, "contactNumber"), " must be a valid mobile number"));
    }
    p["contactNumber"] = *mobile;
  }
  if (auto e = StringField(p, "pan", prefix, &value, &present)) return e;
  if (present) {
    std::string upper = absl::AsciiStrToUpper(value);
    if (!IsPan(upper)) {
      return ValidationFailed(Field(prefix, "pan"),
                              absl::StrCat(Field(prefix, "pan"), " must look like ABCDE1234F"));
    }
    p["pan"] = upper;
  }
  if (auto e = StringField(p, "panName", prefix, &value, &present)) return e;
  if (auto e = StringField(p, "dob", prefix, &value, &present)) return e;
  if (present && !IsIsoDate(value)) {
    return ValidationFailed(Field(prefix, "dob"),
                            absl::StrCat(Field(prefix, "dob"), " must be YYYY-MM-DD"));
  }
  if (auto e = StringField(p, "gender", prefix, &value, &present)) return e;
  if (present) {
    std::optional<std::string> gender = NormalizeGender(value);
    if (!gender) {
      return ValidationFailed(
          Field(prefix, "gender"),
          absl::StrCat(Field(prefix, "gender"), " must be male, female or transgender"));
    }
    p["gender"] = *gender;
  }
  if (auto e = StringField(p, "personalemail", prefix, &value, &present)) return e;
  if (present) {
    if (!IsEmail(value)) {
      return ValidationFailed(
          Field(prefix, "personalemail"),
          absl::StrCat(Field(prefix, "personalemail"), " must be an email address"));
    }
    p["personalemail"] = absl::AsciiStrToLower(value);
  }
  return std::nullopt;
}

std::optional<ApiError> ValidateWork(nlohmann::json& w, absl::string_view prefix) {
  if (auto e = ExpectObject(w, prefix)) return e;
  std::string value;
  bool present;
  std::string employment;
  if (auto e = StringField(w, "employmentType", prefix, &value, &present)) return e;
  if (present) {
    std::optional<std::string> type = NormalizeEmploymentType(value);
    if (!type) {
      return ValidationFailed(
          Field(prefix, "employmentType"),
          absl::StrCat(Field(prefix, "employmentType"), " must be salaried or selfEmployed"));
    }
    employment = *type;
    w["employmentType"] = employment;
  }
  if (!IsNullOrAbsent(w, "income")) {
    const nlohmann::json& income = w["income"];
    std::string digits = income.is_string() ? income.get<std::string>()
                         : income.is_number_unsigned() || income.is_number_integer()
                             ? std::to_string(income.get<int64_t>())
                             : std::string();
    if (digits.size() < 4 || !IsPositiveDigitString(digits)) {
      return ValidationFailed(
          Field(prefix, "income"),
          absl::StrCat(Field(prefix, "income"), " must be a positive amount of at least 4 digits"));
    }
    w["income"] = digits;
  }
  if (auto e = StringField(w, "incomeType", prefix, &value, &present)) return e;
  if (present && value != "monthly" && value != "annual") {
    return ValidationFailed(
        Field(prefix, "incomeType"),
        absl::StrCat(Field(prefix, "incomeType"), " must be monthly or annual"));
  }
  if (auto e = StringField(w, "companyName", prefix, &value, &present)) return e;
  if (auto e = StringField(w, "officialemail", prefix, &value, &present)) return e;
  if (present) {
    if (!IsEmail(value)) {
      return ValidationFailed(
          Field(prefix, "officialemail"),
          absl::StrCat(Field(prefix, "officialemail"), " must be an email address"));
    }
  }
  if (auto e = StringField(w, "udyamNumber", prefix, &value, &present)) return e;
  if (present && employment != "selfEmployed") {
    return ValidationFailed(Field(prefix, "udyamNumber"),
                            absl::StrCat(Field(prefix, "udyamNumber"),
                                         " is allowed only with employmentType selfEmployed"));
  }
  return std::nullopt;
}

std::optional<ApiError> ValidateAddress(nlohmann::json& a, absl::string_view prefix) {
  if (auto e = ExpectObject(a, prefix)) return e;
  std::string value;
  bool present;
  for (const char* key : {"addressL1", "addressL2", "city", "state"}) {
    if (auto e = StringField(a, key, prefix, &value, &present)) return e;
  }
  if (auto e = StringField(a, "pincode", prefix, &value, &present)) return e;
  if (present && !IsPincode(value)) {
    return ValidationFailed(Field(prefix, "pincode"),
                            absl::StrCat(Field(prefix, "pincode"), " must be 6 digits"));
  }
  return std::nullopt;
}

std::optional<ApiError> ValidateProfileUpsert(nlohmann::json& body) {
  if (!body.is_object()) return ValidationFailed("", "request body must be a JSON object");
  if (!IsNullOrAbsent(body, "profile")) {
    if (auto e = ValidatePersonal(body["profile"], "profile")) return e;
  }
  if (!IsNullOrAbsent(body, "workProfile")) {
    if (auto e = ValidateWork(body["workProfile"], "workProfile")) return e;
  }
  if (!IsNullOrAbsent(body, "address")) {
    if (auto e = ValidateAddress(body["address"], "address")) return e;
  }
  for (const char* key : {"bankingInformation", "journey"}) {
    if (!IsNullOrAbsent(body, key)) {
      if (auto e = ExpectObject(body[key], key)) return e;
    }
  }
  if (!IsNullOrAbsent(body, "journey") && !IsNullOrAbsent(body["journey"], "bureauConsent") &&
      !body["journey"]["bureauConsent"].is_boolean()) {
    return ValidationFailed("journey.bureauConsent", "journey.bureauConsent must be a boolean");
  }
  return std::nullopt;
}

}  // namespace aarthik::sandbox
