// SharedStateFetcher against a real redis-server: of two replicas fetching one journey, only the
// lease holder asks the platform and the other gets its stored result; the lease lasts the poll
// interval less the margin; a failed poll releases it; while the holder's poll is in flight the
// other is told to retry; a web-hook makes the next fetch poll; results are not shared between
// borrowers; and without Redis each replica polls for itself.
#include "server/events/shared_state_fetcher.h"

#include <future>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/core/clock.h"
#include "server/redis/redis_client.h"
#include "server/upstream/event_loop.h"
#include "tests/support/redis_server.h"

namespace aarthik::events {
namespace {

using ::aarthik::testing::RedisServer;

// The platform: counts fetches and answers each at once, or holds it when `hold` is set.
class FakeFetcher : public StateFetcher {
 public:
  void Fetch(const JourneyKey& key,
             absl::AnyInvocable<void(absl::StatusOr<FetchedState>)> done) override {
    ++fetches;
    if (hold) {
      held = std::move(done);
      return;
    }
    done(next);
  }
  absl::StatusOr<FetchedState> next =
      State(aarthik::headless::v1::JOURNEY_LIFECYCLE_STATUS_STARTED);
  bool hold = false;
  absl::AnyInvocable<void(absl::StatusOr<FetchedState>)> held;
  int fetches = 0;  // loop thread; read by the test after a Fetch completed

  static FetchedState State(aarthik::headless::v1::JourneyLifecycleStatus status) {
    FetchedState state;
    state.response.mutable_headless()->set_journey_id(kJourney);
    state.response.mutable_headless()->set_status(status);
    state.response.mutable_headless()->set_poll_after_seconds(2);
    state.poll_after = absl::Seconds(2);
    return state;
  }
  static constexpr char kJourney[] = "5b0b5b7e-8f0e-4c1f-9a51-0d3c2b7f6a11";
};

// One replica: its Redis connection and its shared fetcher in front of the common fake platform.
struct Replica {
  Replica(upstream::EventLoop* loop, Scheduler* scheduler, StateFetcher* platform, int port,
          const std::string& id)
      : redis(loop, {.host = "127.0.0.1", .port = port, .command_timeout = absl::Seconds(3)}),
        fetcher(scheduler, platform, &redis, {.key_prefix = "test:", .replica_id = id}) {
    redis.Start();
  }
  redis::RedisClient redis;
  SharedStateFetcher fetcher;
};

class SharedStateFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    a_ = std::make_unique<Replica>(&loop_, &scheduler_, &platform_, server_->port(), "replica-a");
    b_ = std::make_unique<Replica>(&loop_, &scheduler_, &platform_, server_->port(), "replica-b");
    loop_.Start();
  }
  void TearDown() override {
    loop_.Stop();
    a_.reset();
    b_.reset();
  }

  static JourneyKey Key(const std::string& borrower = "CUST_1") {
    return {.borrower_external_id = borrower, .journey_id = FakeFetcher::kJourney};
  }
  static std::string LeaseKey(const std::string& borrower = "CUST_1") {
    return "test:poll:lease:" + SharedStateFetcher::KeyOf(Key(borrower));
  }
  // Fetches on the loop thread, as StatePoller does, and waits for the result.
  static absl::StatusOr<FetchedState> FetchOn(Scheduler& scheduler, Replica& replica,
                                              const JourneyKey& key) {
    std::promise<absl::StatusOr<FetchedState>> result;
    scheduler.Post([&] {
      replica.fetcher.Fetch(
          key, [&](absl::StatusOr<FetchedState> state) { result.set_value(std::move(state)); });
    });
    std::future<absl::StatusOr<FetchedState>> future = result.get_future();
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return absl::DeadlineExceededError("no result within 10 s");
    }
    return future.get();
  }
  absl::StatusOr<FetchedState> Fetch(Replica& replica, const JourneyKey& key = Key()) {
    return FetchOn(scheduler_, replica, key);
  }
  // A command on the loop thread, for checking what the fetcher left in Redis.
  redis::RedisReply Redis(std::vector<std::string> args) {
    std::promise<redis::RedisReply> reply;
    a_->redis.Command(std::move(args), [&](absl::StatusOr<redis::RedisReply> r) {
      reply.set_value(r.ok() ? *r : redis::RedisReply{.type = redis::RedisReply::kError});
    });
    return reply.get_future().get();
  }
  // Waits until Redis has executed what `replica` sent it so far. A poll's answer goes to the
  // caller before its result and lease are written (fire and forget), and another replica's
  // commands travel on another connection: without this, they may overtake them.
  void Landed(Replica& replica) {
    std::promise<void> pong;
    replica.redis.Command({"PING"}, [&](absl::StatusOr<redis::RedisReply>) { pong.set_value(); });
    pong.get_future().get();
  }
  int Fetches() {
    std::promise<int> count;
    scheduler_.Post([&] { count.set_value(platform_.fetches); });
    return count.get_future().get();
  }

  upstream::EventLoop loop_;
  EventLoopScheduler scheduler_{&loop_, core::Clock::Real()};
  FakeFetcher platform_;
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<Replica> a_;
  std::unique_ptr<Replica> b_;
};

TEST_F(SharedStateFetcherTest, OneReplicaPollsAndTheOtherGetsItsResult) {
  absl::StatusOr<FetchedState> first = Fetch(*a_);
  ASSERT_TRUE(first.ok()) << first.status();
  Landed(*a_);
  absl::StatusOr<FetchedState> second = Fetch(*b_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Fetches(), 1);
  EXPECT_EQ(second->response.SerializeAsString(), first->response.SerializeAsString());
  EXPECT_EQ(second->poll_after, absl::Seconds(2));
  EXPECT_EQ(a_->fetcher.stats().polled, 1);
  EXPECT_EQ(b_->fetcher.stats().shared, 1);
  EXPECT_EQ(b_->fetcher.stats().polled, 0);
}

TEST_F(SharedStateFetcherTest, TheLeaseLastsThePollIntervalLessTheMargin) {
  ASSERT_TRUE(Fetch(*a_).ok());
  EXPECT_EQ(Redis({"GET", LeaseKey()}).str, "replica-a");
  const redis::RedisReply ttl = Redis({"PTTL", LeaseKey()});
  ASSERT_EQ(ttl.type, redis::RedisReply::kInteger);
  // The platform's hint is 2 s; the default margin 250 ms.
  EXPECT_LE(ttl.integer, 1750);
  EXPECT_GT(ttl.integer, 0);
}

TEST_F(SharedStateFetcherTest, AFailedPollReleasesTheLease) {
  platform_.next = absl::UnavailableError("platform 503");
  EXPECT_EQ(Fetch(*a_).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Redis({"EXISTS", LeaseKey()}).integer, 0);
  platform_.next = FakeFetcher::State(aarthik::headless::v1::JOURNEY_LIFECYCLE_STATUS_STARTED);
  ASSERT_TRUE(Fetch(*b_).ok());
  EXPECT_EQ(Fetches(), 2);
  EXPECT_EQ(b_->fetcher.stats().polled, 1);
}

TEST_F(SharedStateFetcherTest, WhileTheHolderPollsTheOtherIsToldToRetry) {
  platform_.hold = true;
  std::promise<absl::StatusOr<FetchedState>> holder;
  scheduler_.Post([&] {
    a_->fetcher.Fetch(Key(), [&](absl::StatusOr<FetchedState> s) { holder.set_value(s); });
  });
  // The lease is taken before the platform is asked; wait (round trips through the loop, no
  // sleep) until the fake holds the poll.
  while (Fetches() == 0) {
  }
  absl::StatusOr<FetchedState> other = Fetch(*b_);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(b_->fetcher.stats().not_ready, 1);
  scheduler_.Post([&] {
    platform_.hold = false;
    platform_.held(platform_.next);
  });
  ASSERT_TRUE(holder.get_future().get().ok());
  Landed(*a_);
  ASSERT_TRUE(Fetch(*b_).ok());
  EXPECT_EQ(Fetches(), 1);
  EXPECT_EQ(b_->fetcher.stats().shared, 1);
}

TEST_F(SharedStateFetcherTest, AWebhookMakesTheNextFetchPoll) {
  ASSERT_TRUE(Fetch(*a_).ok());
  Landed(*a_);
  v1::JourneyEvent event;
  event.add_journey_ids(FakeFetcher::kJourney);
  b_->fetcher.OnWebhook(event);
  ASSERT_TRUE(Fetch(*b_).ok());
  Landed(*b_);
  EXPECT_EQ(Fetches(), 2);
  EXPECT_EQ(Redis({"GET", LeaseKey()}).str, "replica-b") << "the fresh poll takes the lease";
  ASSERT_TRUE(Fetch(*a_).ok());  // the mark was used up: shared again
  EXPECT_EQ(Fetches(), 2);
}

// Web-hooks name journeys this replica may not watch: their marks must not pile up (the soak
// found them growing with every journey ever named), and a stale mark must not send a much later
// Fetch past the lease.
TEST_F(SharedStateFetcherTest, AWebhookMarkLapsesWhenNoFetchFollowsIt) {
  core::ManualClock clock(absl::Now());
  EventLoopScheduler scheduler(&loop_, clock);
  Replica c(&loop_, &scheduler, &platform_, server_->port(), "replica-c");
  ASSERT_TRUE(Fetch(*a_).ok());  // a holds the lease and stored the result
  Landed(*a_);
  for (int i = 0; i < 100; ++i) {
    v1::JourneyEvent event;
    event.add_journey_ids(absl::StrCat("unwatched-", i));
    c.fetcher.OnWebhook(event);
  }
  v1::JourneyEvent watched;
  watched.add_journey_ids(FakeFetcher::kJourney);
  c.fetcher.OnWebhook(watched);
  EXPECT_EQ(c.fetcher.stats().webhook_marks, 101);

  clock.Advance(absl::Seconds(11));  // past webhook_mark_ttl (10 s)
  ASSERT_TRUE(FetchOn(scheduler, c, Key()).ok());
  EXPECT_EQ(Fetches(), 1) << "the lapsed mark did not skip the lease: a's result was shared";
  EXPECT_EQ(c.fetcher.stats().webhook_marks, 0);
}

TEST_F(SharedStateFetcherTest, ResultsAreNotSharedBetweenBorrowers) {
  ASSERT_TRUE(Fetch(*a_, Key("CUST_1")).ok());
  ASSERT_TRUE(Fetch(*b_, Key("CUST_2")).ok());
  EXPECT_EQ(Fetches(), 2);
}

TEST_F(SharedStateFetcherTest, WithoutRedisEachReplicaPollsForItself) {
  server_->Stop();
  ASSERT_TRUE(Fetch(*a_).ok());
  ASSERT_TRUE(Fetch(*b_).ok());
  EXPECT_EQ(Fetches(), 2);
  EXPECT_EQ(a_->fetcher.stats().redis_errors, 1);
}

}  // namespace
}  // namespace aarthik::events
