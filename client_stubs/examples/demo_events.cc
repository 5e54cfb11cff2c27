// Demo's live events: the web-hook subscription and the WatchJourneyEvents streams whose events
// print between the RPC lines; see demo.h.
#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "demo.h"

namespace aarthik::demo {
namespace {

// Longest wait, once a journey reached its goal, for the web-hook event that reports it.
constexpr milliseconds kEventWait{5000};

}  // namespace

bool Demo::StartLiveEvents() {
  Say(absl::StrCat("\n== Live events: platform web-hooks → ", flags_.webhook_url,
                   " → WatchJourneyEvents"));
  wh::SubscribeWebhooksRequest subscribe;
  subscribe.mutable_subscription()->set_url(flags_.webhook_url);
  wh::SubscribeWebhooksResponse subscribed;
  if (!Step(
          "SubscribeWebhooks", Kind::kWrite,
          [&](grpc::ClientContext* c) {
            return webhooks_->SubscribeWebhooks(c, subscribe, &subscribed);
          },
          [&] {
            const wh::WebhookConfiguration& config = subscribed.configuration();
            return absl::StrCat(config.webhook_enabled() ? "deliveries enabled" : "NOT enabled",
                                " to ", config.webhook_url());
          })) {
    return false;
  }
  subscribed_ = true;
  if (!subscribed.configuration().webhook_enabled()) {
    return Fail("SubscribeWebhooks answered, but deliveries are not enabled");
  }
  const std::string hybrid_borrower = absl::StrCat(flags_.borrower, "-HYBRID");
  ev::WatchJourneyEventsRequest headless;
  headless.set_borrower_external_id(flags_.borrower);
  OpenStream(std::move(headless), "headless");
  ev::WatchJourneyEventsRequest hybrid;
  hybrid.set_borrower_provider_id(hybrid_borrower);
  OpenStream(std::move(hybrid), "hybrid");
  Say(absl::StrCat("    WatchJourneyEvents open for borrowerExternalID ", flags_.borrower,
                   " and borrower_provider_id ", hybrid_borrower,
                   "; events print as they arrive (⇢)"));
  return true;
}

void Demo::OpenStream(ev::WatchJourneyEventsRequest request, absl::string_view label) {
  const std::string name(label);
  streams_.push_back(std::make_unique<EventStream>(
      events_.get(), std::move(request), absl::StrCat("demo-", run_id_, "-events-", name),
      [this](const ev::JourneyEvent& event) { OnEvent(event); },
      [name](const grpc::Status& status) {
        Say(absl::StrCat("   ⇢ the ", name, " event stream ended early: ", DescribeError(status)));
      }));
}

void Demo::OnEvent(const ev::JourneyEvent& event) {
  std::string line = absl::StrCat("   ⇢ event ", event.event_id(), " journey.snapshot ");
  std::lock_guard<std::mutex> lock(events_mu_);
  if (event.has_headless()) {
    ++headless_events_;
    const auto& journeys = event.headless().borrower().journeys();
    // The demo's journey; every journey of the snapshot until CreateJourney has answered (or
    // when the borrower's snapshot does not list it).
    bool listed = false;
    for (const auto& journey : journeys) listed |= journey.journey_id() == watched_journey_;
    std::string described;
    for (const auto& journey : journeys) {
      if (listed && journey.journey_id() != watched_journey_) continue;
      const std::string status = Name(journey.status());
      headless_seen_.insert(status);
      absl::StrAppend(&described, described.empty() ? "" : "; ", status, " (journey ",
                      journey.journey_id(), ")");
    }
    absl::StrAppend(&line, described.empty() ? "(no journeys)" : described, ", trigger ",
                    event.headless().issuer().trigger());
  } else if (event.has_experience()) {
    ++hybrid_events_;
    const wh::SnapshotJourney& journey = event.experience().borrower().journey();
    const std::string status = Name(journey.status());
    hybrid_seen_.insert(status);
    absl::StrAppend(&line, status, " (journey ", journey.id(), "), surface ",
                    event.experience().current_experience_surface());
  } else {
    absl::StrAppend(&line, "(no snapshot)");
  }
  Say(line);
  events_cv_.notify_all();
}

bool Demo::AwaitEvent(const std::function<bool()>& seen) {
  const Clock::time_point until = std::min(Clock::now() + kEventWait, deadline_);
  std::unique_lock<std::mutex> lock(events_mu_);
  return events_cv_.wait_until(lock, until, seen);
}

bool Demo::AwaitHeadlessEvent() {
  if (streams_.empty()) return true;
  if (AwaitEvent([this] { return headless_seen_.count("DISBURSED") > 0; })) return true;
  std::lock_guard<std::mutex> lock(events_mu_);
  if (headless_seen_.empty()) {
    return Fail(
        absl::StrCat("no live event arrived for journey ", journey_id_,
                     ": check that the sandbox and the gateway share the web-hook secret and that ",
                     flags_.webhook_url, " reaches the gateway's HTTP listener"));
  }
  Say(absl::StrCat("   ⇢ (no event reported DISBURSED within ", kEventWait.count() / 1000,
                   " s; continuing)"));
  return true;
}

bool Demo::StopLiveEvents() {
  for (const std::unique_ptr<EventStream>& stream : streams_) stream->Close();
  if (!streams_.empty()) {
    std::lock_guard<std::mutex> lock(events_mu_);
    Say(absl::StrCat("    WatchJourneyEvents streams closed (TryCancel): ", headless_events_,
                     " headless and ", hybrid_events_, " Hybrid events received"));
  }
  streams_.clear();
  if (!subscribed_) return true;
  wh::UnsubscribeWebhooksRequest unsubscribe;
  wh::UnsubscribeWebhooksResponse unsubscribed;
  return Step(
      "UnsubscribeWebhooks", Kind::kWrite,
      [&](grpc::ClientContext* c) {
        return webhooks_->UnsubscribeWebhooks(c, unsubscribe, &unsubscribed);
      },
      [&] {
        return unsubscribed.configuration().webhook_enabled() ? std::string("still enabled")
                                                              : std::string("deliveries off");
      });
}

}  // namespace aarthik::demo
