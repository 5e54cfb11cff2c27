// Several gateway replicas sharing state through a real redis-server: a session minted by one is
// used by the other, a token-expiry storm spread over both replicas causes exactly one refresh at
// the platform (the refresh lock), a Redis outage is a clear UNAVAILABLE that ends when Redis is
// back, a web-hook delivered to one replica reaches a subscriber of the other, and a replica killed
// during a storm leaves the other serving.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "aarthik/events/v1/events.grpc.pb.h"
#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"
#include "tests/support/redis_server.h"

namespace aarthik::testing {
namespace {

namespace ev = aarthik::events::v1;
namespace hl = aarthik::headless::v1;

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    secret_file_ = ::testing::TempDir() + "/replicas-whsec-" + std::to_string(getpid());
    std::ofstream(secret_file_) << kWebhookSecret << "\n";
    env_ = GatewayEnv::Start(
        {.gateway_args = {"--redis-url", redis_->url(), "--webhook-secret-file", secret_file_}});
    ASSERT_NE(env_, nullptr);
    std::shared_ptr<grpc::Channel> second = env_->StartReplica();
    ASSERT_NE(second, nullptr);
    replicas_.push_back(hl::JourneysService::NewStub(env_->channel()));
    replicas_.push_back(hl::JourneysService::NewStub(second));
    second_ = second;
  }
  void TearDown() override { std::remove(secret_file_.c_str()); }

  grpc::Status List(size_t replica, const std::string& borrower) {
    grpc::ClientContext context;
    PrepareContext(&context);
    hl::ListJourneysRequest request;
    request.set_borrower_external_id(borrower);
    hl::ListJourneysResponse response;
    return replicas_[replica]->ListJourneys(&context, request, &response);
  }

  static constexpr char kWebhookSecret[] = "whsec_replicas_test";
  std::string secret_file_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<GatewayEnv> env_;
  std::shared_ptr<grpc::Channel> second_;
  std::vector<std::unique_ptr<hl::JourneysService::Stub>> replicas_;
};

TEST_F(ReplicasTest, ASessionMintedByOneReplicaIsUsedByTheOther) {
  ASSERT_TRUE(List(0, "CUST_SHARED").ok());
  ASSERT_TRUE(List(1, "CUST_SHARED").ok());
  ASSERT_TRUE(List(1, "CUST_SHARED").ok());
  EXPECT_EQ(env_->SandboxCounters()["sessions_minted"], 1);
}

TEST_F(ReplicasTest, AnExpiryStormOverBothReplicasCausesOneRefresh) {
  ASSERT_TRUE(List(0, "CUST_STORM").ok());
  ASSERT_TRUE(List(1, "CUST_STORM").ok());  // both replicas now hold the session
  env_->AdvanceSandboxTime(31 * 60);        // the platform's session token has expired
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int i = 0; i < 200; ++i) {
    callers.emplace_back([this, i, &failures] {
      grpc::Status status = List(i % 2, "CUST_STORM");
      if (!status.ok()) {
        ++failures;
        ADD_FAILURE() << status.error_code() << " " << status.error_message();
      }
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(failures, 0);
  nlohmann::json counters = env_->SandboxCounters();
  EXPECT_EQ(counters["refreshes"], 1);
  EXPECT_EQ(counters["sessions_minted"], 1);  // no replica had to re-bootstrap
}

// Chaos drill (issue 17, docs/reliability.md): one replica is SIGKILLed in the middle of a
// 1,000-call token-expiry storm spread over both. Every call sent to the survivor succeeds; the
// platform sees exactly one refresh and no second session (a revoked token family would force the
// survivor to mint one); a call on the killed replica completed before it died or failed
// UNAVAILABLE, never anything else.
TEST_F(ReplicasTest, AReplicaKilledInAnExpiryStormLeavesTheSurvivorServingAfterOneRefresh) {
  ASSERT_TRUE(List(0, "CUST_DRILL").ok());
  ASSERT_TRUE(List(1, "CUST_DRILL").ok());
  env_->AdvanceSandboxTime(31 * 60);  // the platform's session token has expired
  constexpr int kCalls = 1000;
  constexpr int kCallers = 32;
  constexpr int kKillAfter = 100;  // completed calls: the refresh is behind them
  std::atomic<int> next{0};
  std::atomic<int> completed{0};
  std::atomic<int> on_killed_ok{0};
  std::atomic<int> on_killed_unavailable{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&] {
      for (int i = next.fetch_add(1); i < kCalls; i = next.fetch_add(1)) {
        const size_t replica = static_cast<size_t>(i % 2);
        const grpc::Status status = List(replica, "CUST_DRILL");
        if (replica == 1) {
          EXPECT_TRUE(status.ok())
              << "survivor: " << status.error_code() << " " << status.error_message();
        } else if (status.ok()) {
          ++on_killed_ok;
        } else {
          EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
          ++on_killed_unavailable;
        }
        if (completed.fetch_add(1) + 1 == kKillAfter) env_->SignalGateway(SIGKILL);
      }
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_GT(on_killed_unavailable.load(), 0) << "the kill did not land during the storm";
  EXPECT_EQ(on_killed_ok + on_killed_unavailable, kCalls / 2);
  nlohmann::json counters = env_->SandboxCounters();
  EXPECT_EQ(counters["refreshes"], 1);
  EXPECT_EQ(counters["sessions_minted"], 1);
}

TEST_F(ReplicasTest, ARedisOutageIsUnavailableUntilRedisIsBack) {
  redis_->Stop();
  grpc::Status status = List(0, "CUST_NEW");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_NE(status.error_message().find("token store unavailable"), std::string::npos)
      << status.error_message();
  auto info = DetailOf<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "TOKEN_STORE_UNAVAILABLE");
  EXPECT_TRUE(DetailOf<google::rpc::RetryInfo>(status).has_value());
  EXPECT_EQ(env_->SandboxCounters()["sessions_minted"], 0);  // no session behind the store's back
  const std::string metrics = HttpCall("GET", "http://" + env_->http_address() + "/metrics");
  EXPECT_NE(metrics.find("aarthik_token_store_failures_total{operation=\"load\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("aarthik_redis_connected{connection=\"tokens\"} 0"), std::string::npos)
      << metrics;

  ASSERT_TRUE(redis_->Restart().ok());
  // The gateway reconnects on its own backoff (at most 2 s).
  grpc::Status recovered = status;
  for (absl::Time give_up = absl::Now() + absl::Seconds(20); absl::Now() < give_up;) {
    recovered = List(0, "CUST_NEW");
    if (recovered.ok()) break;
  }
  EXPECT_TRUE(recovered.ok()) << recovered.error_message();
  const std::string after = HttpCall("GET", "http://" + env_->http_address() + "/metrics");
  EXPECT_NE(after.find("aarthik_redis_connected{connection=\"tokens\"} 1"), std::string::npos)
      << after;
}

// Chaos drill (issue 17, docs/reliability.md): Redis restarts (empty) under load. Eight callers
// per borrower, half on each replica, keep calling. While Redis is down every failure is a fast
// UNAVAILABLE TOKEN_STORE_UNAVAILABLE with RetryInfo; once it is back every caller is served
// again, and each borrower's lost session is minted again once, not once per caller or replica.
// The time from Redis's return to each caller's first success goes to the log (docs figure).
TEST_F(ReplicasTest, ARedisRestartUnderLoadFailsFastAndRemintsEachSessionOnce) {
  const std::vector<std::string> borrowers = {"CUST_R0", "CUST_R1", "CUST_R2", "CUST_R3"};
  for (const std::string& borrower : borrowers) ASSERT_TRUE(List(0, borrower).ok());
  std::atomic<int64_t> back_at_ns{0};  // when Redis came back; 0 while it is down
  std::atomic<int> down_failures{0};
  std::vector<std::thread> callers;
  std::mutex mu;
  std::vector<absl::Duration> recovery;
  auto caller = [&](size_t replica, const std::string& borrower) {
    // Calls until one succeeds after Redis is back.
    for (absl::Time give_up = absl::Now() + absl::Seconds(60); absl::Now() < give_up;) {
      const int64_t back_at = back_at_ns.load();
      const grpc::Status status = List(replica, borrower);
      if (status.ok()) {
        if (back_at == 0) continue;  // in flight across the restart
        std::lock_guard<std::mutex> lock(mu);
        recovery.push_back(absl::Now() - absl::FromUnixNanos(back_at));
        return;
      }
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
      auto info = DetailOf<google::rpc::ErrorInfo>(status);
      EXPECT_TRUE(info.has_value() && info->reason() == "TOKEN_STORE_UNAVAILABLE")
          << status.error_message();
      EXPECT_TRUE(DetailOf<google::rpc::RetryInfo>(status).has_value());
      ++down_failures;
    }
    ADD_FAILURE() << borrower << " on replica " << replica << " never recovered";
  };
  redis_->Stop();
  for (const std::string& borrower : borrowers) {
    for (int i = 0; i < 8; ++i) callers.emplace_back(caller, static_cast<size_t>(i % 2), borrower);
  }
  for (absl::Time give_up = absl::Now() + absl::Seconds(30);
       down_failures.load() < 64 && absl::Now() < give_up;) {
  }
  EXPECT_GE(down_failures.load(), 64) << "calls did not fail while Redis was down";
  ASSERT_TRUE(redis_->Restart().ok());
  back_at_ns.store(absl::ToUnixNanos(absl::Now()));
  for (auto& thread : callers) thread.join();
  ASSERT_EQ(recovery.size(), callers.size());
  std::sort(recovery.begin(), recovery.end());
  std::cerr << "redis restart: callers served again after "
            << absl::FormatDuration(recovery.front()) << " (first) to "
            << absl::FormatDuration(recovery.back()) << " (last) of its return\n";
  // One session each before the restart, and one each after it (Redis came back empty).
  EXPECT_EQ(env_->SandboxCounters()["sessions_minted"], 2 * static_cast<int>(borrowers.size()));
}

TEST_F(ReplicasTest, AWebhookDeliveredToOneReplicaReachesASubscriberOfTheOther) {
  auto events = ev::JourneyEventsService::NewStub(second_);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  auto reader = events->WatchJourneyEvents(&context, ev::WatchJourneyEventsRequest());
  reader->WaitForInitialMetadata();  // the subscription on the second replica is live

  // The platform's deliveries reach the first replica only (the Service picked it); the second one
  // of evt_fanout_1 is the platform retrying.
  for (const auto& [event_id, borrower] :
       std::vector<std::pair<std::string, std::string>>{{"evt_fanout_1", "CUST_FANOUT_1"},
                                                        {"evt_fanout_2", "CUST_FANOUT_2"},
                                                        {"evt_fanout_1", "CUST_FANOUT_1"},
                                                        {"evt_fanout_3", "CUST_FANOUT_3"}}) {
    ASSERT_EQ(PostSignedWebhook(*env_, kWebhookSecret, event_id, borrower), 200) << event_id;
  }
  // Each event once, in the order the first replica accepted them.
  for (const char* expected : {"evt_fanout_1", "evt_fanout_2", "evt_fanout_3"}) {
    ev::WatchJourneyEventsResponse message;
    ASSERT_TRUE(reader->Read(&message)) << "no " << expected << " on the other replica";
    EXPECT_EQ(message.event().event_id(), expected);
  }
  context.TryCancel();
  // The receiving replica shared all four deliveries: a redelivery is shared again (it may be the
  // platform retrying one whose sharing failed) and is a duplicate everywhere. The count moves when
  // Redis acknowledges the XADD, which may come just after the other replica read the entry.
  std::string metrics;
  for (absl::Time give_up = absl::Now() + absl::Seconds(10); absl::Now() < give_up;) {
    metrics = HttpCall("GET", "http://" + env_->http_address() + "/metrics");
    if (metrics.find("aarthik_webhooks_relayed_total{result=\"published\"} 4") !=
        std::string::npos) {
      break;
    }
  }
  EXPECT_NE(metrics.find("aarthik_webhooks_relayed_total{result=\"published\"} 4"),
            std::string::npos)
      << metrics;
}

TEST_F(ReplicasTest, ADeliveryThatCouldNotBeSharedIs503AndTheRetryReachesTheOtherReplica) {
  auto events = ev::JourneyEventsService::NewStub(second_);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  auto reader = events->WatchJourneyEvents(&context, ev::WatchJourneyEventsRequest());
  reader->WaitForInitialMetadata();

  redis_->Stop();
  // Accepted by the first replica, but the second would never hear of it: the platform must retry.
  EXPECT_EQ(PostSignedWebhook(*env_, kWebhookSecret, "evt_retry_1", "CUST_RETRY"), 503);
  ASSERT_TRUE(redis_->Restart().ok());
  long status = 0;
  for (absl::Time give_up = absl::Now() + absl::Seconds(20); absl::Now() < give_up;) {
    status = PostSignedWebhook(*env_, kWebhookSecret, "evt_retry_1", "CUST_RETRY");  // the retry
    if (status == 200) break;
  }
  ASSERT_EQ(status, 200);
  ev::WatchJourneyEventsResponse message;
  ASSERT_TRUE(reader->Read(&message)) << "the retried delivery did not reach the other replica";
  EXPECT_EQ(message.event().event_id(), "evt_retry_1");
  context.TryCancel();
}

// Kubernetes rotates a mounted Secret in place: a new Redis password file is used without a
// restart.
TEST(RedisPasswordRotationTest, ANewPasswordFileIsUsedWithoutARestart) {
  auto redis = RedisServer::Start({"--requirepass", "redis-pw-new"});
  ASSERT_TRUE(redis.ok()) << redis.status();
  const std::string password_file =
      ::testing::TempDir() + "/redis-password-" + std::to_string(getpid());
  std::ofstream(password_file) << "redis-pw-old\n";
  auto env =
      GatewayEnv::Start({.gateway_args = {"--redis-url", (*redis)->url(), "--redis-password-file",
                                          password_file, "--secret-reload-interval", "100ms"}});
  ASSERT_NE(env, nullptr);
  auto journeys = hl::JourneysService::NewStub(env->channel());
  auto list = [&] {
    grpc::ClientContext context;
    PrepareContext(&context);
    hl::ListJourneysRequest request;
    request.set_borrower_external_id("CUST_ROTATE");
    hl::ListJourneysResponse response;
    return journeys->ListJourneys(&context, request, &response);
  };
  EXPECT_EQ(list().error_code(), grpc::StatusCode::UNAVAILABLE);  // Redis refuses the old password

  std::ofstream(password_file) << "redis-pw-new\n";
  grpc::Status status;
  for (absl::Time give_up = absl::Now() + absl::Seconds(20); absl::Now() < give_up;) {
    status = list();
    if (status.ok()) break;
  }
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::remove(password_file.c_str());
}

}  // namespace
}  // namespace aarthik::testing
