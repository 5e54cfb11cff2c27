// EventRelay: shares accepted web-hook deliveries between gateway replicas through a Redis stream,
// so that a WatchJourneyEvents subscriber on any replica sees the events that reached another.
//
// The platform delivers a web-hook to one replica (through the Kubernetes Service). That replica
// verifies it, accepts it into its own EventLog and Publish()es the verified body; every replica's
// relay reads the stream and accepts each entry into its log as if it had been delivered there
// (parse, staleness and dedupe as for a delivery, without the signature: it was checked by the
// replica that received it, and Redis is reachable only by the gateway). The publisher reads its
// own entry back as a duplicate. On start a relay replays what the stream retains (bounded by
// `max_len`), so a new replica's subscribers can resume from an event-ID cursor.
//
//   EventRelay relay(&loop, &redis, &reader_redis, &log, "aarthik:webhooks", on_accepted, {});
//   relay.Start();
//   receiver.SetRelay([&](const std::string& id, absl::string_view body) { relay.Publish(id, body);
//   });
//
// Publishing is asynchronous; WebhookReceiver::HandleAsync answers the platform only once Redis
// took the entry, and 503 when it did not, so the platform's retry shares it later (each publish
// failure is logged and counted: aarthik_webhooks_relayed_total{result="publish_failed"}).
//
// Thread-safety: Publish and stats may be called from any thread; Start once. The relay's reads
// run on the reader client's loop thread. Destroy after that loop stopped.
#ifndef AARTHIK_SERVER_EVENTS_EVENT_RELAY_H_
#define AARTHIK_SERVER_EVENTS_EVENT_RELAY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/events/event_log.h"
#include "server/metrics/gateway_metrics.h"
#include "server/redis/redis_client.h"
#include "server/transcode/json_codec.h"
#include "server/upstream/event_loop.h"

namespace aarthik::events {

class EventRelay {
 public:
  struct Options {
    // Entries the stream keeps (XADD MAXLEN ~): the replay window of a new replica.
    int64_t max_len = 10'000;
    // How long one XREAD waits for new entries; the reader client's command timeout must exceed it.
    absl::Duration block = absl::Seconds(1);
    int64_t batch = 100;
    absl::Duration retry_after_error = absl::Milliseconds(200);
    // Counts by result (aarthik_webhooks_relayed_total); none when null.
    metrics::GatewayMetrics* metrics = nullptr;
  };
  struct Stats {
    int64_t published = 0;
    int64_t publish_failures = 0;
    int64_t relayed = 0;    // entries accepted into the log (not duplicates or stale)
    int64_t malformed = 0;  // entries that did not parse
  };
  using AcceptedCallback = std::function<void(const aarthik::events::v1::JourneyEvent&)>;

  // `publisher` may be shared with other users; `reader` must be this relay's own connection
  // (XREAD BLOCK holds it) on `loop`. All must outlive the relay.
  EventRelay(upstream::EventLoop* loop, redis::RedisClient* publisher, redis::RedisClient* reader,
             EventLog* log, std::string stream_key, AcceptedCallback on_accepted, Options options);

  void Start();
  // `done` (optional) hears whether Redis took the entry; it runs on the publisher's loop thread.
  void Publish(const std::string& event_id, absl::string_view verified_body,
               absl::AnyInvocable<void(absl::Status)> done = nullptr);
  Stats stats() const;

 private:
  void Read();
  void OnRead(absl::StatusOr<redis::RedisReply> reply);
  void AcceptEntry(const redis::RedisReply& entry);
  void Count(std::atomic<int64_t>& counter, absl::string_view result);

  upstream::EventLoop* const loop_;
  redis::RedisClient* const publisher_;
  redis::RedisClient* const reader_;
  EventLog* const log_;
  const std::string stream_key_;
  const AcceptedCallback on_accepted_;
  const Options options_;
  const transcode::JsonCodec& codec_;
  std::string last_id_ = "0";  // reader loop only: the last stream entry read
  std::atomic<int64_t> published_{0}, publish_failures_{0}, relayed_{0}, malformed_{0};
};

}  // namespace aarthik::events

#endif  // AARTHIK_SERVER_EVENTS_EVENT_RELAY_H_
