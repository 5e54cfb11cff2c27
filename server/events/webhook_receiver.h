// WebhookReceiver: one web-hook delivery, transport-agnostic: verify (WebhookVerifier, before the
// body is parsed) → parse variant A or B into a JourneyEvent → EventLog::Accept → tell the state
// poller. Answers the HTTP status the platform should see: 200 once accepted (also for a duplicate
// or a superseded snapshot, so that the platform stops retrying), 400 malformed headers/body, 401
// bad signature or timestamp, 403 another tenant/application.
//
//   WebhookReceiver receiver(&verifier, &log, [&](const JourneyEvent& e) { poller.OnWebhook(e); });
//   WebhookReceiver::Result r = receiver.Handle(headers, raw_body);   // r.http_status, r.message
//
// The HTTP route calls CheckHeaders before it reads the body, so that a delivery without its
// signature headers or with a stale timestamp costs neither the read nor the HMAC.
//
// Thread-safety: Handle and CheckHeaders may run concurrently on any thread (the verifier, codec
// and log are thread-safe); `on_accepted` runs on the calling thread.
#ifndef AARTHIK_SERVER_EVENTS_WEBHOOK_RECEIVER_H_
#define AARTHIK_SERVER_EVENTS_WEBHOOK_RECEIVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/events/event_log.h"
#include "server/events/webhook_verifier.h"
#include "server/metrics/gateway_metrics.h"
#include "server/transcode/json_codec.h"

namespace aarthik::events {

// Deepest nesting of objects and arrays a snapshot may have (the platform's have 6 levels);
// deeper bodies are refused by a linear scan before anything parses them recursively.
inline constexpr int kMaxSnapshotDepth = 32;

// Whether the JSON text nests objects and arrays at most `max_depth` deep. A linear scan that
// skips strings; it does not validate the JSON.
bool JsonNestingWithin(absl::string_view json, int max_depth);

// Parses a verified body (variant A: headless, variant B: Hybrid/Hosted) into what the log needs.
// INVALID_ARGUMENT when it is neither, is nested deeper than kMaxSnapshotDepth, lacks its keys or
// contradicts `event_id` (the header).
absl::StatusOr<IncomingEvent> ParseSnapshot(const transcode::JsonCodec& codec,
                                            const std::string& event_id,
                                            absl::string_view raw_body);

// The codec that knows both snapshot messages' enum spellings and aliases: built once (indexing the
// descriptors is the dear part), then read by every receiver and relay (its methods are const).
const transcode::JsonCodec& SnapshotCodec();

class WebhookReceiver {
 public:
  struct Result {
    int http_status = 0;
    std::string message;
    std::optional<AcceptOutcome> outcome;  // set for 2xx
    std::string event_id;                  // set for 2xx
  };
  using AcceptedCallback = std::function<void(const aarthik::events::v1::JourneyEvent&)>;

  // `metrics`, when not null, counts deliveries by result (aarthik_webhooks_received_total).
  WebhookReceiver(const WebhookVerifier* verifier, EventLog* log,
                  AcceptedCallback on_accepted = nullptr,
                  metrics::GatewayMetrics* metrics = nullptr);

  Result Handle(const WebhookHeaders& headers, absl::string_view raw_body);

  // The refusal a delivery gets from its headers alone (WebhookVerifier::CheckHeaders), counted
  // like any other; nullopt when its body is worth reading.
  std::optional<Result> CheckHeaders(const WebhookHeaders& headers);

  // Shares a delivery with the other replicas (EventRelay::Publish) and says when it is shared.
  using RelayCallback = std::function<void(const std::string& event_id, absl::string_view body,
                                           absl::AnyInvocable<void(absl::Status shared)> done)>;
  // Set before the first HandleAsync. Accepted deliveries and duplicates are relayed (a duplicate
  // may be the platform retrying one whose sharing failed); superseded and refused ones are not.
  void SetRelay(RelayCallback relay) { relay_ = std::move(relay); }

  // Handle, then the relay: the 2xx waits until the delivery is shared, and becomes a 503 (the
  // platform retries) when it could not be, so that no replica's subscribers miss it. Without a
  // relay, `done` runs inline with Handle's result. `done` may run on another thread.
  void HandleAsync(const WebhookHeaders& headers, absl::string_view raw_body,
                   absl::AnyInvocable<void(Result)> done);

  int64_t rejected() const { return rejected_.load(); }

 private:
  Result HandleDelivery(const WebhookHeaders& headers, absl::string_view raw_body);

  const WebhookVerifier* verifier_;
  EventLog* log_;
  AcceptedCallback on_accepted_;
  RelayCallback relay_;
  const transcode::JsonCodec& codec_;
  metrics::GatewayMetrics* metrics_;
  std::atomic<int64_t> rejected_{0};
};

// The result word of a delivery for aarthik_webhooks_received_total: "accepted", "duplicate",
// "stale", "malformed" (400), "unauthenticated" (401: signature or timestamp), "forbidden" (403),
// "too_large", "not_shared" (503: accepted but the relay to the other replicas failed), "error".
const char* WebhookResultLabel(const WebhookReceiver::Result& result);

// The HTTP status for an error of Verify/ParseSnapshot.
int HttpStatusFor(const absl::Status& status);

}  // namespace aarthik::events

#endif  // AARTHIK_SERVER_EVENTS_WEBHOOK_RECEIVER_H_
