// Web-hook signatures (§4.2): lowercase hex HMAC-SHA256 over "<timestamp>.<raw body>".
//
// Example:
//   std::string signature = SignWebhook("whsec_x", "1741179022", body);
//   // header X-AL-Webhook-Signature: <signature>, X-AL-Webhook-Timestamp: 1741179022
//
// Thread-safety: pure functions.
#ifndef AARTHIK_SANDBOX_SIGNING_H_
#define AARTHIK_SANDBOX_SIGNING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace aarthik::sandbox {

// Lowercase hex HMAC-SHA256 of `message` under `key`.
std::string HmacSha256Hex(absl::string_view key, absl::string_view message);

// The X-AL-Webhook-Signature value for a delivery.
std::string SignWebhook(absl::string_view secret, absl::string_view timestamp,
                        absl::string_view raw_body);

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_SIGNING_H_
