#include "server/events/webhook_verifier.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace aarthik::events {
namespace {

bool ParseEpochSeconds(const std::string& text, int64_t* seconds) {
  return !text.empty() && text.size() <= 12 &&
         absl::ascii_isdigit(static_cast<unsigned char>(text[0])) &&
         absl::SimpleAtoi(text, seconds);
}

// What HmacSha256Hex produces: 64 lowercase hex digits.
bool IsLowercaseHexDigest(absl::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string HmacSha256Hex(absl::string_view secret, absl::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(length * 2, '0');
  for (unsigned int i = 0; i < length; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<std::vector<std::string>> LoadSecretFiles(const std::vector<std::string>& paths) {
  std::vector<std::string> secrets;
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
      return absl::InvalidArgumentError(absl::StrCat("cannot read web-hook secret file ", path));
    std::stringstream content;
    content << in.rdbuf();
    std::string secret = content.str();
    if (!secret.empty() && secret.back() == '\n') secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
    if (secret.empty())
      return absl::InvalidArgumentError(absl::StrCat("web-hook secret file ", path, " is empty"));
    secrets.push_back(std::move(secret));
  }
  return secrets;
}

WebhookVerifier::WebhookVerifier(Options options, const core::Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  for (const std::string& secret : options_.secrets)
    secrets_.push_back(std::make_shared<core::Secret>(secret));
  secrets_.insert(secrets_.end(), options_.rotating_secrets.begin(),
                  options_.rotating_secrets.end());
}

absl::Status WebhookVerifier::CheckHeaders(const WebhookHeaders& headers) const {
  if (headers.signature.empty() || headers.timestamp.empty()) {
    return absl::InvalidArgumentError("missing X-AL-Webhook-Signature or X-AL-Webhook-Timestamp");
  }
  if (headers.event_id.empty() || headers.tenant_id.empty() || headers.application_id.empty()) {
    return absl::InvalidArgumentError(
        "missing X-AL-Event-ID, X-AL-Tenant-ID or X-AL-Application-ID");
  }
  int64_t seconds = 0;
  if (!ParseEpochSeconds(headers.timestamp, &seconds)) {
    return absl::InvalidArgumentError("X-AL-Webhook-Timestamp is not Unix epoch seconds");
  }
  // Neither check below needs the secret, so they tell an unauthenticated sender nothing; both
  // refuse before the body is read and hashed.
  if (!IsLowercaseHexDigest(headers.signature)) {
    return absl::UnauthenticatedError("web-hook signature does not match");
  }
  if (absl::AbsDuration(clock_.Now() - absl::FromUnixSeconds(seconds)) > options_.tolerance) {
    return absl::UnauthenticatedError(absl::StrCat("web-hook timestamp outside the tolerance of ",
                                                   absl::FormatDuration(options_.tolerance)));
  }
  return absl::OkStatus();
}

absl::StatusOr<VerifiedHeaders> WebhookVerifier::Verify(const WebhookHeaders& headers,
                                                        absl::string_view raw_body) const {
  if (absl::Status head = CheckHeaders(headers); !head.ok()) return head;
  int64_t seconds = 0;
  ParseEpochSeconds(headers.timestamp, &seconds);
  // The signature before the tenant and application: nothing about them is worth telling an
  // unauthenticated sender.
  bool matched = false;
  int matched_index = 0;
  bool matched_previous = false;
  const std::string signed_payload = absl::StrCat(headers.timestamp, ".", raw_body);
  const absl::Time now = clock_.Now();
  for (size_t i = 0; i < secrets_.size(); ++i) {
    // Compare against every secret (no early exit) so the time does not tell which one matched.
    const std::shared_ptr<const std::string> values[] = {secrets_[i]->Get(),
                                                         secrets_[i]->Previous(now)};
    for (int v = 0; v < 2; ++v) {
      if (values[v] == nullptr) continue;
      bool equal = ConstantTimeEquals(HmacSha256Hex(*values[v], signed_payload), headers.signature);
      if (equal && !matched) {
        matched_index = static_cast<int>(i);
        matched_previous = v == 1;
      }
      matched = matched || equal;
    }
  }
  if (!matched) return absl::UnauthenticatedError("web-hook signature does not match");
  const absl::Time signed_at = absl::FromUnixSeconds(seconds);
  if (!options_.tenant_id.empty() && headers.tenant_id != options_.tenant_id) {
    return absl::PermissionDeniedError("web-hook for another tenant");
  }
  if (!options_.application_id.empty() && headers.application_id != options_.application_id) {
    return absl::PermissionDeniedError("web-hook for another application");
  }
  return VerifiedHeaders{headers.event_id, signed_at, matched_index, matched_previous};
}

}  // namespace aarthik::events
