#include "server/events/state_poller.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "google/protobuf/util/message_differencer.h"

namespace aarthik::events {
namespace {

using aarthik::events::v1::WatchJourneyStateResponse;

// The state without the poll hints, which may change between polls without the journey changing.
WatchJourneyStateResponse Comparable(const WatchJourneyStateResponse& state) {
  WatchJourneyStateResponse copy = state;
  copy.clear_observed_time();
  copy.clear_terminal();
  if (copy.has_headless()) copy.mutable_headless()->clear_poll_after_seconds();
  if (copy.has_hybrid()) copy.mutable_hybrid()->clear_poll_after_ms();
  return copy;
}

bool Permanent(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnimplemented:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool IsTerminal(const WatchJourneyStateResponse& state) {
  using aarthik::common::v1::ExperienceStatus;
  using aarthik::headless::v1::JourneyLifecycleStatus;
  if (state.has_headless()) {
    switch (state.headless().status()) {
      case aarthik::headless::v1::JOURNEY_LIFECYCLE_STATUS_DISBURSED:
      case aarthik::headless::v1::JOURNEY_LIFECYCLE_STATUS_REJECTED:
      case aarthik::headless::v1::JOURNEY_LIFECYCLE_STATUS_EXPIRED:
      case aarthik::headless::v1::JOURNEY_LIFECYCLE_STATUS_CLOSED:
        return true;
      default:
        return false;
    }
  }
  if (state.has_hybrid()) {
    switch (state.hybrid().status()) {
      case aarthik::common::v1::EXPERIENCE_STATUS_NOT_OFFERED:
      case aarthik::common::v1::EXPERIENCE_STATUS_REJECTED:
      case aarthik::common::v1::EXPERIENCE_STATUS_DISBURSED:
        return true;
      default:
        return false;
    }
  }
  return false;
}

absl::Duration PollInterval(const FetchedState& fetched, const StatePoller::Options& options) {
  const absl::Duration delay =
      fetched.poll_after > absl::ZeroDuration() ? fetched.poll_after : options.default_interval;
  return std::clamp(delay, options.min_interval, options.max_interval);
}

StatePoller::StatePoller(Scheduler* scheduler, StateFetcher* fetcher, Options options)
    : scheduler_(scheduler), fetcher_(fetcher), options_(options) {}

StatePoller::WatchId StatePoller::Watch(JourneyKey key, StateCallback on_state,
                                        EndCallback on_end) {
  const WatchId id = next_id_++;
  scheduler_->Post([this, id, key = std::move(key),
                    watcher = Watcher{std::move(on_state), std::move(on_end)}]() mutable {
    AddWatcher(id, std::move(key), std::move(watcher));
  });
  return id;
}

void StatePoller::EndAll(absl::Status status) {
  scheduler_->Post([this, status = std::move(status)] {
    if (closed_.ok()) closed_ = status;
    std::vector<std::string> journey_ids;
    journey_ids.reserve(journeys_.size());
    for (const auto& [journey_id, journey] : journeys_) journey_ids.push_back(journey_id);
    for (const std::string& journey_id : journey_ids) End(journey_id, status);
  });
}

void StatePoller::Unwatch(WatchId id) {
  scheduler_->Post([this, id] { RemoveWatcher(id); });
}

void StatePoller::OnWebhook(const aarthik::events::v1::JourneyEvent& event) {
  std::vector<std::string> ids;
  for (const std::string& journey : event.journey_ids()) ids.push_back("hl:" + journey);
  if (!event.borrower_provider_id().empty()) ids.push_back("hy:" + event.borrower_provider_id());
  scheduler_->Post([this, ids = std::move(ids)] {
    for (const std::string& id : ids) {
      if (journeys_.contains(id)) PollNow(id);
    }
  });
}

void StatePoller::AddWatcher(WatchId id, JourneyKey key, Watcher watcher) {
  if (!closed_.ok()) {
    watcher.on_end(closed_);
    return;
  }
  const std::string journey_id = key.Id();
  auto [it, created] = journeys_.try_emplace(journey_id);
  Journey& journey = it->second;
  if (created) journey.key = std::move(key);
  if (journey.last != nullptr) watcher.on_state(journey.last);
  journey.watchers.emplace(id, std::move(watcher));
  watch_journey_[id] = journey_id;
  if (created) PollNow(journey_id);
}

void StatePoller::RemoveWatcher(WatchId id) {
  auto where = watch_journey_.find(id);
  if (where == watch_journey_.end()) return;
  const std::string journey_id = where->second;
  watch_journey_.erase(where);
  auto it = journeys_.find(journey_id);
  if (it == journeys_.end()) return;
  it->second.watchers.erase(id);
  if (!it->second.watchers.empty()) return;
  if (it->second.timer != 0) scheduler_->Cancel(it->second.timer);
  // A poll in flight finds the journey gone and is ignored.
  journeys_.erase(it);
}

void StatePoller::PollNow(const std::string& journey_id) {
  auto it = journeys_.find(journey_id);
  if (it == journeys_.end()) return;
  Journey& journey = it->second;
  if (journey.in_flight) {
    journey.refresh_requested = true;
    return;
  }
  if (journey.timer != 0) {
    scheduler_->Cancel(journey.timer);
    journey.timer = 0;
  }
  journey.in_flight = true;
  ++polls_;
  fetcher_->Fetch(journey.key, [this, journey_id](absl::StatusOr<FetchedState> fetched) {
    OnFetched(journey_id, std::move(fetched));
  });
}

void StatePoller::OnFetched(const std::string& journey_id, absl::StatusOr<FetchedState> fetched) {
  auto it = journeys_.find(journey_id);
  if (it == journeys_.end()) return;  // the last watcher left while the poll was in flight
  Journey& journey = it->second;
  journey.in_flight = false;
  if (!fetched.ok()) {
    if (Permanent(fetched.status())) return End(journey_id, fetched.status());
    ++journey.errors;
    absl::Duration backoff = options_.initial_backoff;
    for (int i = 1; i < journey.errors && backoff < options_.max_backoff; ++i) backoff *= 2;
    Schedule(journey, journey_id, std::min(backoff, options_.max_backoff));
    return;
  }
  journey.errors = 0;
  fetched->response.set_terminal(fetched->terminal || IsTerminal(fetched->response));
  const absl::Time now = scheduler_->Now();
  fetched->response.mutable_observed_time()->set_seconds(absl::ToUnixSeconds(now));
  const bool changed =
      journey.last == nullptr || !google::protobuf::util::MessageDifferencer::Equals(
                                     Comparable(*journey.last), Comparable(fetched->response));
  const bool terminal = fetched->response.terminal();
  if (changed) {
    journey.last = std::make_shared<const WatchJourneyStateResponse>(std::move(fetched->response));
    // Copy: a callback may not touch the poller, but be safe against reentrancy via Post.
    for (auto& [id, watcher] : journey.watchers) watcher.on_state(journey.last);
  }
  if (terminal) return End(journey_id, absl::OkStatus());
  if (journey.refresh_requested) {
    journey.refresh_requested = false;
    return PollNow(journey_id);
  }
  Schedule(journey, journey_id, PollInterval(*fetched, options_));
}

void StatePoller::Schedule(Journey& journey, const std::string& journey_id, absl::Duration delay) {
  journey.timer = scheduler_->RunAfter(delay, [this, journey_id] {
    auto it = journeys_.find(journey_id);
    if (it == journeys_.end()) return;
    it->second.timer = 0;
    PollNow(journey_id);
  });
}

void StatePoller::End(const std::string& journey_id, const absl::Status& status) {
  auto it = journeys_.find(journey_id);
  if (it == journeys_.end()) return;
  Journey journey = std::move(it->second);
  journeys_.erase(it);
  if (journey.timer != 0) scheduler_->Cancel(journey.timer);
  for (auto& [id, watcher] : journey.watchers) {
    watch_journey_.erase(id);
    watcher.on_end(status);
  }
}

}  // namespace aarthik::events
