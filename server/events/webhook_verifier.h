// WebhookVerifier: authenticates one platform web-hook delivery before anything reads its body
// (platform-api.md §4.2). The signature is lowercase hex HMAC-SHA256(secret, "<timestamp>.<raw
// body>"), compared in constant time against every configured secret (two during a rotation); the
// timestamp (Unix epoch seconds) must be within `tolerance` of the injected clock; the tenant and
// application headers must be ours. Secrets backed by watched files (core::SecretFileWatcher) are
// read per delivery, and a value replaced by a rotation stays accepted while core::Secret::Previous
// still returns it.
//
//   WebhookVerifier::Options options;
//   options.secrets = *LoadSecretFiles({"/run/secrets/whsec", "/run/secrets/whsec.next"});
//   options.tenant_id = config.tenant_id;  options.application_id = config.application_id;
//   WebhookVerifier verifier(options, core::Clock::Real());
//   if (!verifier.CheckHeaders(headers).ok()) { /* refuse before reading the body */ }
//   absl::StatusOr<VerifiedHeaders> ok = verifier.Verify(headers, raw_body);
//   // UNAUTHENTICATED: bad signature or stale timestamp; INVALID_ARGUMENT: missing/malformed
//   header;
//   // PERMISSION_DENIED: another tenant or application.
//
// Thread-safety: Verify may run concurrently on any thread, also while a watcher swaps secret
// values.
#ifndef AARTHIK_SERVER_EVENTS_WEBHOOK_VERIFIER_H_
#define AARTHIK_SERVER_EVENTS_WEBHOOK_VERIFIER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/clock.h"
#include "server/core/secret.h"

namespace aarthik::events {

inline constexpr char kEventIdHeader[] = "x-al-event-id";
inline constexpr char kTenantHeader[] = "x-al-tenant-id";
inline constexpr char kApplicationHeader[] = "x-al-application-id";
inline constexpr char kTimestampHeader[] = "x-al-webhook-timestamp";
inline constexpr char kSignatureHeader[] = "x-al-webhook-signature";

// The X-AL-* headers of one delivery (names are case-insensitive on the wire; callers fill these).
struct WebhookHeaders {
  std::string event_id;
  std::string tenant_id;
  std::string application_id;
  std::string timestamp;
  std::string signature;
};

// What Verify vouches for.
struct VerifiedHeaders {
  std::string event_id;
  absl::Time signed_at;
  int secret_index = 0;         // which configured secret matched (0 = first)
  bool previous_value = false;  // it matched that secret's value from before its last rotation
};

// Lowercase hex HMAC-SHA256(secret, message).
std::string HmacSha256Hex(absl::string_view secret, absl::string_view message);

// Constant-time equality (the time depends only on the lengths).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// Reads each file's content (one trailing newline / CR LF stripped). Fails on an unreadable or
// empty file.
absl::StatusOr<std::vector<std::string>> LoadSecretFiles(const std::vector<std::string>& paths);

class WebhookVerifier {
 public:
  struct Options {
    std::vector<std::string> secrets;  // fixed values; at least one secret (fixed or rotating)
    std::string tenant_id;             // empty: not checked
    std::string application_id;        // empty: not checked
    absl::Duration tolerance = absl::Minutes(5);
    // Secrets that may change at run time (one per --webhook-secret-file); checked after `secrets`.
    std::vector<std::shared_ptr<const core::Secret>> rotating_secrets;
  };

  WebhookVerifier(Options options, const core::Clock& clock);

  // What can be refused from the headers alone, before the body is read: missing or malformed
  // headers (INVALID_ARGUMENT), a signature that is not a SHA-256 hex digest or a timestamp
  // outside the tolerance (UNAUTHENTICATED). Verify starts with it.
  absl::Status CheckHeaders(const WebhookHeaders& headers) const;

  absl::StatusOr<VerifiedHeaders> Verify(const WebhookHeaders& headers,
                                         absl::string_view raw_body) const;

  const Options& options() const { return options_; }

 private:
  const Options options_;
  const core::Clock& clock_;
  std::vector<std::shared_ptr<const core::Secret>>
      secrets_;  // options_.secrets, then rotating_secrets
};

}  // namespace aarthik::events

#endif  // AARTHIK_SERVER_EVENTS_WEBHOOK_VERIFIER_H_
