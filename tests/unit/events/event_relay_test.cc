// EventRelay against a real redis-server: a delivery accepted by one replica reaches another
// replica's log and its subscribers, a replica started later replays what the stream retains, the
// publisher reads its own entry back as a duplicate, and an entry that does not parse is skipped.
#include "server/events/event_relay.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/core/clock.h"
#include "server/events/webhook_receiver.h"
#include "tests/support/redis_server.h"
#include "tests/unit/events/snapshot_body.h"

namespace aarthik::events {
namespace {

using ::aarthik::testing::RedisServer;

std::string Snapshot(const std::string& event_id, int64_t sequence, const std::string& journey) {
  return HeadlessSnapshotBody(event_id, sequence, journey);
}

// One gateway replica's share of the relay: its log, its reader connection, its relay.
struct Replica {
  Replica(upstream::EventLoop* loop, redis::RedisClient* publisher, int port)
      : log({}, core::Clock::Real()),
        reader(loop, {.host = "127.0.0.1", .port = port, .command_timeout = absl::Seconds(3)}),
        relay(loop, publisher, &reader, &log, "test:webhooks",
              [this](const v1::JourneyEvent&) { ++callbacks; },
              {.block = absl::Milliseconds(200)}) {
    reader.Start();
  }
  EventLog log;
  redis::RedisClient reader;
  EventRelay relay;
  std::atomic<int> callbacks{0};
};

class EventRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    publisher_ = std::make_unique<redis::RedisClient>(
        &loop_, redis::RedisClient::Options{.host = "127.0.0.1", .port = server_->port()});
    publisher_->Start();
    loop_.Start();
  }
  void TearDown() override {
    loop_.Stop();
    replicas_.clear();
    publisher_.reset();
  }
  Replica& AddReplica() {
    replicas_.push_back(std::make_unique<Replica>(&loop_, publisher_.get(), server_->port()));
    replicas_.back()->relay.Start();
    return *replicas_.back();
  }
  // Watches the replica's counters (the loop thread updates them) until `done` holds; false after
  // 10 s.
  static bool Eventually(const std::function<bool()>& done) {
    for (absl::Time give_up = absl::Now() + absl::Seconds(10); absl::Now() < give_up;) {
      if (done()) return true;
      std::this_thread::yield();
    }
    return false;
  }
  // Accepts a delivery into `replica`'s log as its receiver would, then publishes it.
  static void Deliver(Replica& replica, const std::string& event_id, const std::string& body) {
    const transcode::JsonCodec& codec = SnapshotCodec();
    absl::StatusOr<IncomingEvent> incoming = ParseSnapshot(codec, event_id, body);
    ASSERT_TRUE(incoming.ok()) << incoming.status();
    ASSERT_EQ(replica.log.Accept(*std::move(incoming)), AcceptOutcome::kAccepted);
    replica.relay.Publish(event_id, body);
  }

  std::unique_ptr<RedisServer> server_;
  upstream::EventLoop loop_;
  std::unique_ptr<redis::RedisClient> publisher_;
  std::vector<std::unique_ptr<Replica>> replicas_;
};

TEST_F(EventRelayTest, ADeliveryToOneReplicaReachesTheOthersSubscribers) {
  Replica& receiving = AddReplica();
  Replica& other = AddReplica();
  auto subscriber = other.log.Subscribe({.journey_id = "j1"}, "");
  ASSERT_TRUE(subscriber.ok());
  std::mutex mu;
  std::condition_variable cv;
  bool notified = false;
  (*subscriber)->SetListener([&] {
    std::lock_guard<std::mutex> lock(mu);
    notified = true;
    cv.notify_all();
  });

  Deliver(receiving, "evt_shared_1", Snapshot("evt_shared_1", 1, "j1"));
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return notified; }));
  }
  EventPtr event = (*subscriber)->Next();
  ASSERT_NE(event, nullptr);
  EXPECT_EQ(event->event.event_id(), "evt_shared_1");
  EXPECT_EQ(event->event.journey_ids(0), "j1");
  // The state poller hears of it on that replica too (just after the log took it).
  EXPECT_TRUE(Eventually([&] { return other.callbacks == 1; }));

  // The publisher reads its own entry back and drops it as a duplicate.
  ASSERT_TRUE(Eventually([&] { return receiving.log.stats().duplicates == 1; }));
  EXPECT_EQ(receiving.log.stats().accepted, 1);
  EXPECT_EQ(receiving.relay.stats().relayed, 0);
  // The XADD's own reply arrives on another connection, in no set order with the read-back.
  EXPECT_TRUE(Eventually([&] { return receiving.relay.stats().published == 1; }));
}

TEST_F(EventRelayTest, AReplicaStartedLaterReplaysWhatTheStreamRetains) {
  Replica& first = AddReplica();
  Deliver(first, "evt_a", Snapshot("evt_a", 1, "ja"));
  Deliver(first, "evt_b", Snapshot("evt_b", 1, "jb"));
  ASSERT_TRUE(Eventually([&] { return first.relay.stats().published == 2; }));

  Replica& late = AddReplica();
  ASSERT_TRUE(Eventually([&] { return late.relay.stats().relayed == 2; }));
  // A subscriber of the new replica resumes from an event-ID cursor it got elsewhere.
  auto subscriber = late.log.Subscribe({}, "evt_a");
  ASSERT_TRUE(subscriber.ok()) << subscriber.status();
  EventPtr next = (*subscriber)->Next();
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->event.event_id(), "evt_b");
}

TEST_F(EventRelayTest, AnEntryThatDoesNotParseIsSkipped) {
  Replica& replica = AddReplica();
  replica.relay.Publish("evt_bad", "{not a snapshot");
  Replica& other = AddReplica();
  ASSERT_TRUE(Eventually([&] { return other.relay.stats().malformed >= 1; }));
  Deliver(replica, "evt_good", Snapshot("evt_good", 1, "jg"));
  EXPECT_TRUE(Eventually([&] { return other.relay.stats().relayed == 1; }));  // still reading
}

}  // namespace
}  // namespace aarthik::events
