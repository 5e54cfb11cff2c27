// EventLog: the gateway's in-memory log of accepted journey.snapshot web-hooks and its fan-out to
// WatchJourneyEvents subscribers.
//
// - Dedupe: an event ID seen within the retention window is a duplicate (accepted again, logged
// once).
// - Staleness: per ordering key (a headless borrower, or a Hybrid/Hosted journey) a snapshot that
// is not
//   newer than the last accepted one (`sequence`, then `snapshot_generated_at` / `updated`, then
//   the lifecycle rank) is dropped: snapshots are full states, so the newer one already says
//   everything.
// - Bounded memory: at most `max_events` events and `max_tracked_ids` IDs, each kept for
// `retention`.
// - Order: events get consecutive positions; every subscriber sees its matching events in that
// order.
// - Cursors: "<log id>-<position>" (or an event ID); Subscribe replays what came after it, or fails
// with
//   OUT_OF_RANGE when part of that is no longer retained (or the cursor is from another gateway
//   process).
// - Slow subscribers: each has a bounded queue; when it is full the subscriber is closed with
//   RESOURCE_EXHAUSTED and its queue freed.
//
//   EventLog log({}, core::Clock::Real());
//   auto sub = log.Subscribe({.journey_id = "b7bb…"}, /*cursor=*/"");
//   (*sub)->SetListener([] { /* wake the writer: call Next() until it returns null */ });
//   log.Accept(std::move(incoming));   // kAccepted / kDuplicate / kStale
//   log.Unsubscribe(*sub);
//
// Thread-safety: every method may be called from any thread. Listeners run on the thread that
// accepted the event (or closed the subscriber), outside the log's locks.
#ifndef AARTHIK_SERVER_EVENTS_EVENT_LOG_H_
#define AARTHIK_SERVER_EVENTS_EVENT_LOG_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "aarthik/events/v1/events.pb.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/clock.h"

namespace aarthik::events {

// How snapshots of one ordering key compare: (sequence, generated_at, status rank),
// lexicographically.
struct SnapshotOrder {
  int64_t sequence = 0;
  absl::Time generated_at = absl::InfinitePast();
  int status_rank = 0;
  bool operator<=(const SnapshotOrder& other) const {
    return std::tie(sequence, generated_at, status_rank) <=
           std::tie(other.sequence, other.generated_at, other.status_rank);
  }
};

// A verified, parsed delivery, ready for the log.
struct IncomingEvent {
  std::string event_id;
  std::string ordering_key;
  SnapshotOrder order;
  // event.event_id, journey_ids, borrower keys and the snapshot; received_time and cursor are set
  // by the log.
  aarthik::events::v1::JourneyEvent event;
};

// One logged event; immutable and shared by every queue that holds it.
struct LoggedEvent {
  uint64_t position = 0;
  aarthik::events::v1::JourneyEvent event;
};
using EventPtr = std::shared_ptr<const LoggedEvent>;

// Which events a subscriber wants: every non-empty field must match (all empty: every event).
struct EventFilter {
  std::string journey_id;
  std::string borrower_external_id;
  std::string borrower_provider_id;
  bool Matches(const aarthik::events::v1::JourneyEvent& event) const;
};

// One subscriber's bounded queue. The consumer drains it with Next(); the listener says when to
// look.
class Subscriber {
 public:
  Subscriber(EventFilter filter, size_t limit) : filter_(std::move(filter)), limit_(limit) {}

  // The next queued event, or null when none is queued.
  EventPtr Next();
  // OK while open; RESOURCE_EXHAUSTED once closed for falling behind (queue dropped), CANCELLED
  // after Unsubscribe.
  absl::Status status() const;
  size_t queued() const;
  // Called after events are queued and when the subscriber is closed. Replaces any previous
  // listener.
  void SetListener(absl::AnyInvocable<void()> listener);
  // Once it returns the listener is not running and will not run again.
  void ClearListener();

  const EventFilter& filter() const { return filter_; }

 private:
  friend class EventLog;
  // False (and the subscriber closed) when the queue is full.
  bool Push(EventPtr event);
  void Close(absl::Status status);
  void Notify();

  const EventFilter filter_;
  mutable std::mutex mu_;
  std::deque<EventPtr> queue_;  // guarded by mu_
  size_t limit_;                // guarded by mu_
  absl::Status status_;         // guarded by mu_
  std::mutex listener_mu_;
  absl::AnyInvocable<void()> listener_;  // guarded by listener_mu_
};

enum class AcceptOutcome { kAccepted, kDuplicate, kStale };

class EventLog {
 public:
  struct Options {
    absl::Duration retention = absl::Hours(24);
    size_t max_events = 100000;
    size_t max_tracked_ids = 200000;  // event IDs and ordering keys remembered for dedupe/staleness
    size_t subscriber_buffer = 1024;  // live events a subscriber may have queued
  };
  struct Stats {
    int64_t accepted = 0;
    int64_t duplicates = 0;
    int64_t stale = 0;
    int64_t overflowed_subscribers = 0;
    size_t retained_events = 0;
    size_t tracked_ids = 0;
    size_t subscribers = 0;
  };

  EventLog(Options options, const core::Clock& clock);

  AcceptOutcome Accept(IncomingEvent incoming);
  // Registers a subscriber; with a cursor its queue starts with the retained matching events after
  // it. INVALID_ARGUMENT for an unreadable cursor, OUT_OF_RANGE when events after it are no longer
  // retained.
  absl::StatusOr<std::shared_ptr<Subscriber>> Subscribe(EventFilter filter,
                                                        absl::string_view cursor);
  void Unsubscribe(const std::shared_ptr<Subscriber>& subscriber);
  // Ends every subscription with `status` (queued events dropped: subscribers resume with the
  // cursor of the last event they received) and refuses new ones with it. For the gateway's drain
  // on SIGTERM.
  void CloseAll(absl::Status status);

  Stats stats() const;
  const std::string& log_id() const { return log_id_; }

 private:
  struct IdRecord {
    absl::Time seen_at;
    uint64_t position = 0;  // 0: not logged (stale)
  };
  struct KeyRecord {
    SnapshotOrder order;
    absl::Time updated_at;
  };
  void PruneLocked(absl::Time now);
  absl::StatusOr<uint64_t> ResolveCursorLocked(absl::string_view cursor) const;

  const Options options_;
  const core::Clock& clock_;
  const std::string log_id_;

  mutable std::mutex mu_;
  uint64_t next_position_ = 1;                                // guarded by mu_
  std::deque<EventPtr> events_;                               // guarded by mu_; by position
  absl::flat_hash_map<std::string, IdRecord> ids_;            // guarded by mu_
  std::deque<std::pair<absl::Time, std::string>> id_order_;   // guarded by mu_; insertion order
  absl::flat_hash_map<std::string, KeyRecord> keys_;          // guarded by mu_
  std::deque<std::pair<absl::Time, std::string>> key_order_;  // guarded by mu_; update order
  std::vector<std::shared_ptr<Subscriber>> subscribers_;      // guarded by mu_
  absl::Status closed_;                                       // guarded by mu_; set by CloseAll
  Stats stats_;                                               // guarded by mu_
};

}  // namespace aarthik::events

#endif  // AARTHIK_SERVER_EVENTS_EVENT_LOG_H_
