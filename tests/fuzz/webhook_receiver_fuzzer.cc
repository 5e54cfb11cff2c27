// Fuzz target: one web-hook delivery through what the HTTP route does with it: the refusal from the
// headers alone (CheckHeaders), then signature check, nesting scan, parsing (variant A or B),
// event extraction and the event log (Handle).
//
// Input: a body, then a byte choosing how the headers are made:
//   0  signed with the verifier's secret, event ID taken from the body (what the platform sends:
//      random bodies reach the parser);
//   1  signed, with headers read from the input before the body;
//   2+ every header read from the input before the body (unsigned deliveries, hostile headers).
// make_seeds.py seeds it with the documentation's web-hook samples in layouts 0 and 2.
// Properties beyond "no crash, no leak, no UB": the answer is one the platform understands (200,
// 400, 401 or 403), a 200 carries the outcome, and CheckHeaders never refuses what Handle accepts.
#include <string>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/core/clock.h"
#include "server/events/event_log.h"
#include "server/events/webhook_receiver.h"
#include "server/events/webhook_verifier.h"
#include "tests/fuzz/fuzz_support.h"

namespace aarthik::fuzz {
namespace {

constexpr char kTenant[] = "8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61";
constexpr char kApplication[] = "fbb1fd74-c502-4419-83f3-82a2a019fc9a";
constexpr char kSecret[] = "whsec_fuzz";
constexpr int64_t kNow = 1741179022;

std::string EventIdOf(const std::string& body) {
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) {
    auto it = parsed.find("event_id");
    if (it != parsed.end() && it->is_string()) return it->get<std::string>();
  }
  return "evt_fuzz";
}

void Run(FuzzedDataProvider& input) {
  static const core::ManualClock clock(absl::FromUnixSeconds(kNow));
  static const events::WebhookVerifier verifier({{kSecret}, kTenant, kApplication}, clock);
  const uint8_t layout = input.ConsumeIntegral<uint8_t>();
  events::WebhookHeaders headers;
  if (layout >= 1) {
    headers.event_id = input.ConsumeRandomLengthString(64);
    headers.tenant_id = input.ConsumeRandomLengthString(64);
    headers.application_id = input.ConsumeRandomLengthString(64);
    headers.timestamp = input.ConsumeRandomLengthString(24);
    if (layout >= 2) headers.signature = input.ConsumeRandomLengthString(80);
  }
  const std::string body = input.ConsumeRemainingBytesAsString();
  if (layout == 0) {
    headers = {EventIdOf(body), kTenant, kApplication, absl::StrCat(kNow), ""};
  }
  if (layout <= 1) {
    headers.signature = events::HmacSha256Hex(kSecret, absl::StrCat(headers.timestamp, ".", body));
  }

  events::EventLog log({}, clock);
  int accepted = 0;
  events::WebhookReceiver receiver(&verifier, &log,
                                   [&](const events::v1::JourneyEvent&) { ++accepted; });
  const std::optional<events::WebhookReceiver::Result> refused = receiver.CheckHeaders(headers);
  const events::WebhookReceiver::Result result = receiver.Handle(headers, body);
  const int status = result.http_status;
  Require(status == 200 || status == 400 || status == 401 || status == 403,
          "a delivery is answered 200, 400, 401 or 403");
  Require(status != 200 || result.outcome.has_value(), "a 200 carries its outcome");
  Require(status != 200 || !refused.has_value(), "CheckHeaders refuses nothing Handle accepts");
  Require(!refused.has_value() || refused->http_status == status,
          "CheckHeaders and Handle give a refused delivery the same answer");
  Require(accepted <= 1, "one delivery is at most one event");
}

}  // namespace
}  // namespace aarthik::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  aarthik::fuzz::Run(input);
  return 0;
}
