#include "server/events/webhook_receiver.h"

#include "aarthik/webhooks/v1/snapshot.pb.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace aarthik::events {
namespace {

using aarthik::events::v1::JourneyEvent;
using aarthik::webhooks::v1::ExperienceJourneySnapshot;
using aarthik::webhooks::v1::HeadlessJourneySnapshot;

absl::Time ParseTimestamp(const std::string& text) {
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) return time;
  return absl::InfinitePast();
}

}  // namespace

const transcode::JsonCodec& SnapshotCodec() {
  static const transcode::JsonCodec* const codec =
      new transcode::JsonCodec(std::vector<const google::protobuf::Descriptor*>{
          HeadlessJourneySnapshot::descriptor(), ExperienceJourneySnapshot::descriptor()});
  return *codec;
}

bool JsonNestingWithin(absl::string_view json, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

absl::StatusOr<IncomingEvent> ParseSnapshot(const transcode::JsonCodec& codec,
                                            const std::string& event_id,
                                            absl::string_view raw_body) {
  // nlohmann's parser recurses once per level: a signed but absurdly deep body would cost the
  // thread milliseconds (and stack) before being refused anyway.
  if (!JsonNestingWithin(raw_body, kMaxSnapshotDepth)) {
    return absl::InvalidArgumentError(
        absl::StrCat("body nests deeper than ", kMaxSnapshotDepth, " levels"));
  }
  nlohmann::json json =
      nlohmann::json::parse(raw_body.begin(), raw_body.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object())
    return absl::InvalidArgumentError("body is not a JSON object");
  auto borrower = json.find("borrower");
  if (borrower == json.end() || !borrower->is_object()) {
    return absl::InvalidArgumentError("body has no borrower object");
  }
  IncomingEvent incoming;
  incoming.event_id = event_id;
  JourneyEvent& event = incoming.event;
  if (borrower->contains("journeys") || json.contains("schema_version") ||
      json.contains("sequence")) {
    HeadlessJourneySnapshot* snapshot = event.mutable_headless();
    if (absl::Status decoded = codec.Decode(std::move(json), snapshot); !decoded.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("variant A snapshot: ", decoded.message()));
    }
    if (!snapshot->event_id().empty() && snapshot->event_id() != event_id) {
      return absl::InvalidArgumentError("body event_id differs from X-AL-Event-ID");
    }
    if (!snapshot->event_type().empty() && snapshot->event_type() != "journey.snapshot") {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported event_type ", snapshot->event_type()));
    }
    if (snapshot->borrower().borrower_external_id().empty()) {
      return absl::InvalidArgumentError("variant A snapshot without borrower.borrowerExternalID");
    }
    event.set_borrower_external_id(snapshot->borrower().borrower_external_id());
    for (const auto& journey : snapshot->borrower().journeys())
      event.add_journey_ids(journey.journey_id());
    // The sandbox's (and the contract's) sequence is monotonic per application; a headless snapshot
    // carries all of the borrower's journeys, so the borrower is the unit of staleness.
    incoming.ordering_key = absl::StrCat("hl:", snapshot->borrower().borrower_external_id());
    incoming.order.sequence = snapshot->sequence();
    incoming.order.generated_at = ParseTimestamp(snapshot->snapshot_generated_at());
    return incoming;
  }
  if (!borrower->contains("journey")) {
    return absl::InvalidArgumentError(
        "body is neither variant A (borrower.journeys) nor B (borrower.journey)");
  }
  ExperienceJourneySnapshot* snapshot = event.mutable_experience();
  if (absl::Status decoded = codec.Decode(std::move(json), snapshot); !decoded.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("variant B snapshot: ", decoded.message()));
  }
  const auto& journey = snapshot->borrower().journey();
  if (journey.id().empty())
    return absl::InvalidArgumentError("variant B snapshot without borrower.journey.id");
  event.add_journey_ids(journey.id());
  event.set_borrower_provider_id(snapshot->borrower().provider_id());
  // No sequence in variant B: `updated` (seconds), then the lifecycle order of the status (enum
  // numbers follow it) break ties between snapshots of one time jump.
  incoming.ordering_key = absl::StrCat("jr:", journey.id());
  incoming.order.generated_at = ParseTimestamp(journey.updated());
  incoming.order.status_rank = static_cast<int>(journey.status());
  return incoming;
}

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    default:
      return 500;
  }
}

const char* WebhookResultLabel(const WebhookReceiver::Result& result) {
  if (result.outcome.has_value()) {
    switch (*result.outcome) {
      case AcceptOutcome::kAccepted:
        return "accepted";
      case AcceptOutcome::kDuplicate:
        return "duplicate";
      case AcceptOutcome::kStale:
        return "stale";
    }
  }
  switch (result.http_status) {
    case 400:
      return "malformed";
    case 401:
      return "unauthenticated";
    case 403:
      return "forbidden";
    case 413:
      return "too_large";
    case 503:
      return "not_shared";
    default:
      return "error";
  }
}

WebhookReceiver::WebhookReceiver(const WebhookVerifier* verifier, EventLog* log,
                                 AcceptedCallback on_accepted, metrics::GatewayMetrics* metrics)
    : verifier_(verifier),
      log_(log),
      on_accepted_(std::move(on_accepted)),
      codec_(SnapshotCodec()),
      metrics_(metrics) {}

WebhookReceiver::Result WebhookReceiver::Handle(const WebhookHeaders& headers,
                                                absl::string_view raw_body) {
  Result result = HandleDelivery(headers, raw_body);
  if (metrics_ != nullptr) metrics_->WebhookReceived(WebhookResultLabel(result));
  return result;
}

std::optional<WebhookReceiver::Result> WebhookReceiver::CheckHeaders(
    const WebhookHeaders& headers) {
  absl::Status head = verifier_->CheckHeaders(headers);
  if (head.ok()) return std::nullopt;
  ++rejected_;
  Result result{HttpStatusFor(head), std::string(head.message()), std::nullopt};
  if (metrics_ != nullptr) metrics_->WebhookReceived(WebhookResultLabel(result));
  return result;
}

WebhookReceiver::Result WebhookReceiver::HandleDelivery(const WebhookHeaders& headers,
                                                        absl::string_view raw_body) {
  absl::StatusOr<VerifiedHeaders> verified = verifier_->Verify(headers, raw_body);
  if (!verified.ok()) {
    ++rejected_;
    return {HttpStatusFor(verified.status()), std::string(verified.status().message()),
            std::nullopt};
  }
  absl::StatusOr<IncomingEvent> incoming = ParseSnapshot(codec_, verified->event_id, raw_body);
  if (!incoming.ok()) {
    ++rejected_;
    return {400, std::string(incoming.status().message()), std::nullopt};
  }
  const auto& options = verifier_->options();
  const std::string& body_tenant = incoming->event.has_headless()
                                       ? incoming->event.headless().tenant_id()
                                       : incoming->event.experience().tenant_id();
  const std::string& body_application = incoming->event.has_headless()
                                            ? incoming->event.headless().application_id()
                                            : incoming->event.experience().application_id();
  if ((!options.tenant_id.empty() && !body_tenant.empty() && body_tenant != options.tenant_id) ||
      (!options.application_id.empty() && !body_application.empty() &&
       body_application != options.application_id)) {
    ++rejected_;
    return {403, "snapshot for another tenant or application", std::nullopt};
  }
  JourneyEvent copy_for_callback;
  if (on_accepted_) copy_for_callback = incoming->event;
  std::string event_id = incoming->event_id;
  AcceptOutcome outcome = log_->Accept(*std::move(incoming));
  if (outcome == AcceptOutcome::kAccepted && on_accepted_) on_accepted_(copy_for_callback);
  switch (outcome) {
    case AcceptOutcome::kAccepted:
      return {200, "accepted", outcome, std::move(event_id)};
    case AcceptOutcome::kDuplicate:
      return {200, "duplicate", outcome, std::move(event_id)};
    case AcceptOutcome::kStale:
      return {200, "superseded by a newer snapshot", outcome, std::move(event_id)};
  }
  return {500, "unreachable", std::nullopt};
}

void WebhookReceiver::HandleAsync(const WebhookHeaders& headers, absl::string_view raw_body,
                                  absl::AnyInvocable<void(Result)> done) {
  Result result = HandleDelivery(headers, raw_body);
  const bool share =
      relay_ && result.outcome.has_value() && result.outcome != AcceptOutcome::kStale;
  if (!share) {
    if (metrics_ != nullptr) metrics_->WebhookReceived(WebhookResultLabel(result));
    done(std::move(result));
    return;
  }
  const std::string event_id = result.event_id;
  relay_(event_id, raw_body,
         [this, result = std::move(result), done = std::move(done)](absl::Status shared) mutable {
           if (!shared.ok()) {
             // Taken here, but the other replicas' subscribers would miss it: let the platform
             // send it again (this replica will see a duplicate and share it then).
             result = {503, "accepted but not yet shared with the other gateway replicas; retry",
                       std::nullopt, result.event_id};
           }
           if (metrics_ != nullptr) metrics_->WebhookReceived(WebhookResultLabel(result));
           done(std::move(result));
         });
}

}  // namespace aarthik::events
