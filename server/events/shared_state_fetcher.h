// SharedStateFetcher: a StateFetcher for several gateway replicas that lets one replica poll a
// journey for all of them. StatePoller already coalesces a replica's own watchers into one poll
// per interval; with this fetcher in front of the platform fetcher, 1,000 watchers spread over
// 3 replicas cost one upstream poll per interval instead of three.
//
// Contract (Fetch of journey J, borrower B):
// - It first takes a lease in Redis, `SET <prefix>poll:lease:<J,B> <replica> NX PX
// in_flight_lease`.
//   The replica that gets it asks the platform (the inner fetcher), stores the result under
//   `<prefix>poll:state:<J,B>` and keeps the lease for the next poll interval less `margin`
//   (PollInterval: the platform's hint clamped as the poller clamps it). A transient error
//   releases the lease (only if still ours) so another replica may try.
// - A replica that does not get the lease returns the stored result without asking the platform;
//   when there is none yet (the holder's poll is still in flight), UNAVAILABLE, which the poller
//   retries after its backoff. So at most one upstream poll per journey per lease period, and a
//   non-holder's state is at most about one interval older than the holder's.
// - After a web-hook names the journey (OnWebhook), this replica's next Fetch of it within
//   webhook_mark_ttl goes to the platform without waiting for the lease: web-hook refreshes stay
//   immediate (one poll per replica watching that journey per web-hook). Marks of journeys nobody
//   here watches lapse after the TTL, so they cost memory for the TTL's web-hooks only.
// - When Redis fails, Fetch asks the platform itself: Redis never stops WatchJourneyState.
// The key includes the borrower, so a result is only shared with watchers of the same borrower.
//
//   SharedStateFetcher shared(&scheduler, &platform_fetcher, &redis,
//                             {.key_prefix = "aarthik:", .replica_id = NewUuid()});
//   StatePoller poller(&scheduler, &shared, {});
//   relay_callback = [&](const JourneyEvent& e) { shared.OnWebhook(e); poller.OnWebhook(e); };
//
// Thread-safety: Fetch runs on the scheduler thread, as StatePoller calls it, and calls `done` and
// the inner fetcher there (Redis replies are posted back to it). OnWebhook and stats may be called
// from any thread. Destroy after the scheduler and the Redis client's loop stopped.
#ifndef AARTHIK_SERVER_EVENTS_SHARED_STATE_FETCHER_H_
#define AARTHIK_SERVER_EVENTS_SHARED_STATE_FETCHER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "server/events/state_poller.h"
#include "server/redis/redis_client.h"

namespace aarthik::events {

class SharedStateFetcher : public StateFetcher {
 public:
  struct Options {
    std::string key_prefix = "aarthik:";
    // Unique per process (the lease's value): a random UUID.
    std::string replica_id;
    // The poller's options: the lease lasts PollInterval(result, intervals) - margin.
    StatePoller::Options intervals;
    absl::Duration margin = absl::Milliseconds(250);
    // The lease while the holder's upstream poll is in flight (released or extended after it).
    absl::Duration in_flight_lease = absl::Seconds(15);
    // How long a stored result may be read.
    absl::Duration result_ttl = absl::Seconds(120);
    // How long a web-hook's mark waits for the Fetch it triggers (the poller's refresh, which
    // follows at once for a watched journey).
    absl::Duration webhook_mark_ttl = absl::Seconds(10);
  };
  struct Stats {
    int64_t polled = 0;         // Fetches that asked the platform
    int64_t shared = 0;         // Fetches answered with another replica's stored result
    int64_t not_ready = 0;      // lease held elsewhere, no result stored yet
    int64_t redis_errors = 0;   // Fetches that fell back to the platform because Redis failed
    int64_t webhook_marks = 0;  // marks held: journeys named by web-hooks of the last TTL
  };

  // `scheduler`, `inner` and `redis` must outlive this fetcher.
  SharedStateFetcher(Scheduler* scheduler, StateFetcher* inner, redis::RedisClient* redis,
                     Options options);

  void Fetch(const JourneyKey& key,
             absl::AnyInvocable<void(absl::StatusOr<FetchedState>)> done) override;
  // Marks the journeys a web-hook names: their next Fetch here skips the lease.
  void OnWebhook(const aarthik::events::v1::JourneyEvent& event);
  Stats stats() const;

  // The Redis key suffix of a journey (exposed for tests): "hl:<journey>:<borrower>" or
  // "hy:<borrower provider ID>".
  static std::string KeyOf(const JourneyKey& key);

 private:
  using Done = absl::AnyInvocable<void(absl::StatusOr<FetchedState>)>;
  void Poll(const JourneyKey& key, Done done);  // scheduler thread
  void ReadShared(const JourneyKey& key, Done done);
  bool TakeWebhookMark(const JourneyKey& key);
  void ExpireWebhookMarks(absl::Time now);  // under mu_

  Scheduler* const scheduler_;
  StateFetcher* const inner_;
  redis::RedisClient* const redis_;
  const Options options_;
  std::atomic<int64_t> polled_{0}, shared_{0}, not_ready_{0}, redis_errors_{0};
  mutable std::mutex mu_;
  // KeyOf-style id → when the last web-hook named it; and the marks in the order they were made
  // (an id marked again appears twice: only the entry with its current time expires it).
  absl::flat_hash_map<std::string, absl::Time> webhook_marks_;  // guarded by mu_
  std::deque<std::pair<absl::Time, std::string>> mark_order_;   // guarded by mu_
};

}  // namespace aarthik::events

#endif  // AARTHIK_SERVER_EVENTS_SHARED_STATE_FETCHER_H_
