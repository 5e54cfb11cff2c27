// StatePoller: polls a journey's state on behalf of every WatchJourneyState watcher of that
// journey, so N watchers cost one upstream poll per interval. The interval is the platform's hint
// (pollAfterSeconds / poll_after_ms) clamped to [min_interval, max_interval], or default_interval
// without a hint; transient errors back off exponentially (initial_backoff doubling up to
// max_backoff). Watchers get the last known state on arrival and then one update per change. A
// web-hook for the journey triggers an immediate poll. Polling stops when the last watcher leaves,
// or when the journey reaches a terminal status (watchers are then ended with OK) or a permanent
// error (watchers are ended with it).
//
//   StatePoller poller(&scheduler, &fetcher, {});
//   StatePoller::WatchId id = poller.Watch({.borrower_external_id = "CUST_0012", .journey_id =
//   "b7bb…"},
//       [](StatePoller::StatePtr state) { ... }, [](absl::Status end) { ... });
//   poller.OnWebhook(event);   // refresh now
//   poller.Unwatch(id);
//
// Thread-safety: Watch, Unwatch and OnWebhook may be called from any thread; they post to the
// scheduler. All other work and the watchers' callbacks run on the scheduler's thread (the upstream
// event loop).
#ifndef AARTHIK_SERVER_EVENTS_STATE_POLLER_H_
#define AARTHIK_SERVER_EVENTS_STATE_POLLER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "aarthik/events/v1/events.pb.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/core/clock.h"
#include "server/upstream/event_loop.h"

namespace aarthik::events {

// Where the poller runs: the upstream EventLoop in the gateway, a manual scheduler in tests.
class Scheduler {
 public:
  using TimerId = uint64_t;
  virtual ~Scheduler() = default;
  virtual void Post(absl::AnyInvocable<void()> task) = 0;
  virtual TimerId RunAfter(absl::Duration delay, absl::AnyInvocable<void()> task) = 0;
  virtual void Cancel(TimerId id) = 0;
  virtual absl::Time Now() const = 0;
};

class EventLoopScheduler : public Scheduler {
 public:
  EventLoopScheduler(upstream::EventLoop* loop, const core::Clock& clock)
      : loop_(loop), clock_(clock) {}
  void Post(absl::AnyInvocable<void()> task) override { loop_->Post(std::move(task)); }
  TimerId RunAfter(absl::Duration delay, absl::AnyInvocable<void()> task) override {
    return loop_->RunAfter(delay, std::move(task));
  }
  void Cancel(TimerId id) override { loop_->CancelTimer(id); }
  absl::Time Now() const override { return clock_.Now(); }

 private:
  upstream::EventLoop* loop_;
  const core::Clock& clock_;
};

// The journey to watch: headless (borrower_external_id + journey_id) or Hybrid
// (borrower_provider_id).
struct JourneyKey {
  std::string borrower_external_id;
  std::string journey_id;
  std::string borrower_provider_id;
  bool hybrid() const { return !borrower_provider_id.empty(); }
  std::string Id() const { return hybrid() ? "hy:" + borrower_provider_id : "hl:" + journey_id; }
};

// One read of the journey's state.
struct FetchedState {
  aarthik::events::v1::WatchJourneyStateResponse response;  // the `state` oneof
  absl::Duration poll_after = absl::ZeroDuration();         // the platform's hint; zero when none
  bool terminal = false;
};

// Reads one journey's state. Fetch is called on the scheduler thread and must call `done` there.
class StateFetcher {
 public:
  virtual ~StateFetcher() = default;
  virtual void Fetch(const JourneyKey& key,
                     absl::AnyInvocable<void(absl::StatusOr<FetchedState>)> done) = 0;
};

class StatePoller {
 public:
  struct Options {
    absl::Duration default_interval = absl::Seconds(5);
    absl::Duration min_interval = absl::Seconds(1);
    absl::Duration max_interval = absl::Seconds(60);
    absl::Duration initial_backoff = absl::Seconds(1);
    absl::Duration max_backoff = absl::Seconds(60);
  };
  using WatchId = uint64_t;
  using StatePtr = std::shared_ptr<const aarthik::events::v1::WatchJourneyStateResponse>;
  using StateCallback = std::function<void(StatePtr)>;
  using EndCallback = std::function<void(absl::Status)>;

  StatePoller(Scheduler* scheduler, StateFetcher* fetcher, Options options);

  WatchId Watch(JourneyKey key, StateCallback on_state, EndCallback on_end);
  // After the posted removal runs no callback of this watcher runs again.
  void Unwatch(WatchId id);
  void OnWebhook(const aarthik::events::v1::JourneyEvent& event);
  // Ends every watch with `status` and every later one at once (the gateway's drain on SIGTERM).
  // Posted.
  void EndAll(absl::Status status);

  // Scheduler thread only (tests): polls started and journeys being polled.
  int64_t polls() const { return polls_; }
  size_t journeys() const { return journeys_.size(); }

 private:
  struct Watcher {
    StateCallback on_state;
    EndCallback on_end;
  };
  struct Journey {
    JourneyKey key;
    absl::flat_hash_map<WatchId, Watcher> watchers;
    StatePtr last;
    bool in_flight = false;
    bool refresh_requested = false;
    Scheduler::TimerId timer = 0;
    int errors = 0;
  };
  void AddWatcher(WatchId id, JourneyKey key, Watcher watcher);
  void RemoveWatcher(WatchId id);
  void PollNow(const std::string& journey_id);
  void OnFetched(const std::string& journey_id, absl::StatusOr<FetchedState> fetched);
  void Schedule(Journey& journey, const std::string& journey_id, absl::Duration delay);
  void End(const std::string& journey_id, const absl::Status& status);

  Scheduler* scheduler_;
  StateFetcher* fetcher_;
  const Options options_;
  std::atomic<WatchId> next_id_{1};
  // Scheduler thread only.
  absl::flat_hash_map<std::string, Journey> journeys_;
  absl::flat_hash_map<WatchId, std::string> watch_journey_;
  int64_t polls_ = 0;
  absl::Status closed_;  // set by EndAll
};

// The delay before the next poll after a successful read: the platform's hint (default_interval
// without one) clamped to [min_interval, max_interval].
absl::Duration PollInterval(const FetchedState& fetched, const StatePoller::Options& options);

// Whether a polled status ends the journey (headless REJECTED/EXPIRED/CLOSED/DISBURSED; Hybrid
// NOT_OFFERED/REJECTED/DISBURSED).
bool IsTerminal(const aarthik::events::v1::WatchJourneyStateResponse& state);

}  // namespace aarthik::events

#endif  // AARTHIK_SERVER_EVENTS_STATE_POLLER_H_
