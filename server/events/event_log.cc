#include "server/events/event_log.h"

#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace aarthik::events {
namespace {

std::string NewLogId() {
  std::random_device random;
  return absl::StrFormat("%08x", random());
}

}  // namespace

bool EventFilter::Matches(const aarthik::events::v1::JourneyEvent& event) const {
  if (!borrower_external_id.empty() && event.borrower_external_id() != borrower_external_id)
    return false;
  if (!borrower_provider_id.empty() && event.borrower_provider_id() != borrower_provider_id)
    return false;
  if (!journey_id.empty()) {
    bool found = false;
    for (const std::string& id : event.journey_ids()) found = found || id == journey_id;
    if (!found) return false;
  }
  return true;
}

EventPtr Subscriber::Next() {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.empty()) return nullptr;
  EventPtr event = std::move(queue_.front());
  queue_.pop_front();
  return event;
}

absl::Status Subscriber::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

size_t Subscriber::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void Subscriber::SetListener(absl::AnyInvocable<void()> listener) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  listener_ = std::move(listener);
}

void Subscriber::ClearListener() {
  std::lock_guard<std::mutex> lock(listener_mu_);
  listener_ = nullptr;
}

bool Subscriber::Push(EventPtr event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!status_.ok()) return false;
  if (queue_.size() >= limit_) {
    status_ = absl::ResourceExhaustedError(absl::StrCat(
        "subscriber fell behind: ", queue_.size(),
        " events were waiting to be sent; resubscribe with the cursor of the last event received"));
    queue_.clear();
    queue_.shrink_to_fit();
    return false;
  }
  queue_.push_back(std::move(event));
  return true;
}

void Subscriber::Close(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (status_.ok()) status_ = std::move(status);
  queue_.clear();
}

void Subscriber::Notify() {
  std::lock_guard<std::mutex> lock(listener_mu_);
  if (listener_) listener_();
}

EventLog::EventLog(Options options, const core::Clock& clock)
    : options_(options), clock_(clock), log_id_(NewLogId()) {}

AcceptOutcome EventLog::Accept(IncomingEvent incoming) {
  std::vector<std::shared_ptr<Subscriber>> to_notify;
  AcceptOutcome outcome;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_.Now();
    PruneLocked(now);
    if (ids_.contains(incoming.event_id)) {
      ++stats_.duplicates;
      return AcceptOutcome::kDuplicate;
    }
    ids_[incoming.event_id] = IdRecord{now, 0};
    id_order_.emplace_back(now, incoming.event_id);
    auto key = keys_.find(incoming.ordering_key);
    if (key != keys_.end() && incoming.order <= key->second.order) {
      ++stats_.stale;
      outcome = AcceptOutcome::kStale;
    } else {
      keys_[incoming.ordering_key] = KeyRecord{incoming.order, now};
      key_order_.emplace_back(now, incoming.ordering_key);
      auto logged = std::make_shared<LoggedEvent>();
      logged->position = next_position_++;
      logged->event = std::move(incoming.event);
      logged->event.set_event_id(incoming.event_id);
      logged->event.mutable_received_time()->set_seconds(absl::ToUnixSeconds(now));
      logged->event.mutable_received_time()->set_nanos(static_cast<int32_t>(
          absl::ToInt64Nanoseconds(now - absl::FromUnixSeconds(absl::ToUnixSeconds(now)))));
      logged->event.set_cursor(absl::StrCat(log_id_, "-", logged->position));
      ids_[incoming.event_id].position = logged->position;
      EventPtr event = std::move(logged);
      events_.push_back(event);
      ++stats_.accepted;
      outcome = AcceptOutcome::kAccepted;
      for (auto it = subscribers_.begin(); it != subscribers_.end();) {
        if ((*it)->filter().Matches(event->event)) {
          if (!(*it)->Push(event)) ++stats_.overflowed_subscribers;
          to_notify.push_back(*it);
          if (!(*it)->status().ok()) {
            it = subscribers_.erase(it);
            continue;
          }
        }
        ++it;
      }
      PruneLocked(now);
    }
  }
  for (const auto& subscriber : to_notify) subscriber->Notify();
  return outcome;
}

void EventLog::PruneLocked(absl::Time now) {
  const absl::Time cutoff = now - options_.retention;
  while (!events_.empty() &&
         (events_.size() > options_.max_events ||
          absl::FromUnixSeconds(events_.front()->event.received_time().seconds()) < cutoff)) {
    events_.pop_front();
  }
  while (!id_order_.empty() &&
         (id_order_.size() > options_.max_tracked_ids || id_order_.front().first < cutoff)) {
    auto it = ids_.find(id_order_.front().second);
    if (it != ids_.end() && it->second.seen_at == id_order_.front().first) ids_.erase(it);
    id_order_.pop_front();
  }
  while (!key_order_.empty() &&
         (key_order_.size() > options_.max_tracked_ids || key_order_.front().first < cutoff)) {
    auto it = keys_.find(key_order_.front().second);
    if (it != keys_.end() && it->second.updated_at <= key_order_.front().first) keys_.erase(it);
    key_order_.pop_front();
  }
}

absl::StatusOr<uint64_t> EventLog::ResolveCursorLocked(absl::string_view cursor) const {
  const size_t dash = cursor.rfind('-');
  uint64_t position = 0;
  if (dash != absl::string_view::npos && cursor.substr(0, dash) == log_id_ &&
      absl::SimpleAtoi(cursor.substr(dash + 1), &position)) {
    if (position >= next_position_)
      return absl::InvalidArgumentError("cursor is ahead of the event log");
  } else {
    auto it = ids_.find(std::string(cursor));
    if (it == ids_.end() || it->second.position == 0) {
      return absl::OutOfRangeError(
          "cursor is not in this gateway's retained event log (expired, or from another gateway "
          "process); "
          "resubscribe without a cursor and read the journey's current state");
    }
    position = it->second.position;
  }
  const uint64_t first_retained = events_.empty() ? next_position_ : events_.front()->position;
  if (position + 1 < first_retained) {
    return absl::OutOfRangeError(
        "events after the cursor are no longer retained; resubscribe without a cursor and read the "
        "journey's "
        "current state");
  }
  return position;
}

absl::StatusOr<std::shared_ptr<Subscriber>> EventLog::Subscribe(EventFilter filter,
                                                                absl::string_view cursor) {
  std::shared_ptr<Subscriber> subscriber;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_.ok()) return closed_;
    PruneLocked(clock_.Now());
    std::vector<EventPtr> replay;
    if (!cursor.empty()) {
      absl::StatusOr<uint64_t> after = ResolveCursorLocked(cursor);
      if (!after.ok()) return after.status();
      for (const EventPtr& event : events_) {
        if (event->position > *after && filter.Matches(event->event)) replay.push_back(event);
      }
    }
    // The replay shares the log's events (no copies), so it may exceed the live buffer.
    subscriber =
        std::make_shared<Subscriber>(std::move(filter), options_.subscriber_buffer + replay.size());
    for (EventPtr& event : replay) subscriber->Push(std::move(event));
    subscribers_.push_back(subscriber);
  }
  return subscriber;
}

void EventLog::Unsubscribe(const std::shared_ptr<Subscriber>& subscriber) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = subscribers_.begin(); it != subscribers_.end(); ++it) {
      if (*it == subscriber) {
        subscribers_.erase(it);
        break;
      }
    }
  }
  subscriber->Close(absl::CancelledError("unsubscribed"));
}

void EventLog::CloseAll(absl::Status status) {
  std::vector<std::shared_ptr<Subscriber>> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_.ok()) closed_ = status;
    closing.swap(subscribers_);
  }
  for (const std::shared_ptr<Subscriber>& subscriber : closing) {
    subscriber->Close(status);
    subscriber->Notify();
  }
}

EventLog::Stats EventLog::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats stats = stats_;
  stats.retained_events = events_.size();
  stats.tracked_ids = ids_.size();
  stats.subscribers = subscribers_.size();
  return stats;
}

}  // namespace aarthik::events
