// PlatformClient against a fake upstream (Envoy style) over the default transport (Http1Transport):
// the headers every call carries, retries that keep the Idempotency-Key (also for a write whose
// answer could not be read), attempts that bound every request sent, Retry-After, the circuit
// breaker, and cancellation; and how RunOnShard spreads queued calls over the loops' connections.
#include "server/platform/platform_client.h"

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>

#include "gtest/gtest.h"
#include "server/core/clock.h"
#include "server/upstream/event_loop.h"
#include "server/upstream/http1_transport.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/sync.h"

namespace aarthik::platform {
namespace {

using testing::FakeResponse;
using testing::FakeUpstream;

constexpr char kOk[] =
    R"({"requestID":"req_1","correlationID":"c","data":{"ok":true},"error":null})";

using Outcome = testing::Delivery<absl::StatusOr<transcode::PlatformReply>>;

class PlatformClientTest : public ::testing::Test {
 protected:
  void Start(PlatformClientOptions options = {}) {
    options.base_url = upstream_.url();
    transport_ =
        std::make_unique<upstream::Http1Transport>(&loop_, upstream::Http1Transport::Options{});
    client_ =
        std::make_unique<PlatformClient>(&loop_, transport_.get(), options, core::Clock::Real());
    loop_.Start();
  }
  ~PlatformClientTest() override { loop_.Stop(); }

  PlatformRequest Write() {
    PlatformRequest request;
    request.method = "POST";
    request.path_and_query = "/api/v1/headless/journeys";
    request.body = "{}";
    request.bearer = "st_test_x";
    request.idempotency_key = "key-1";
    request.correlation_id = "corr-1";
    request.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    request.tracestate = "vendor=1";
    request.deadline = absl::Now() + absl::Seconds(10);
    request.route = "POST /api/v1/headless/journeys";
    return request;
  }

  absl::StatusOr<transcode::PlatformReply> Call(PlatformRequest request) {
    Outcome outcome;
    loop_.Post([&] { client_->Call(std::move(request), outcome.Callback()); });
    return outcome.Wait();
  }

  FakeUpstream upstream_;
  upstream::EventLoop loop_;
  std::unique_ptr<upstream::Http1Transport> transport_;
  std::unique_ptr<PlatformClient> client_;
};

TEST_F(PlatformClientTest, SendsTheHeadersEveryCallCarries) {
  Start({.api_version = "2026-03-05"});
  upstream_.EnqueueResponse(FakeResponse::Ok(kOk));
  auto reply = Call(Write());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->request_id, "req_1");
  ASSERT_EQ(upstream_.request_count(), 1u);
  const auto request = upstream_.requests()[0];
  EXPECT_EQ(request.Header("authorization"), "Bearer st_test_x");
  EXPECT_EQ(request.Header("idempotency-key"), "key-1");
  EXPECT_EQ(request.Header("x-correlation-id"), "corr-1");
  EXPECT_EQ(request.Header("content-type"), "application/json");
  EXPECT_EQ(request.Header("traceparent"),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(request.Header("tracestate"), "vendor=1");
  EXPECT_EQ(request.Header("x-al-api-version"), "2026-03-05");
}

TEST_F(PlatformClientTest, RetriesTransientFailuresWithTheSameIdempotencyKey) {
  Start();
  upstream_.EnqueueResponse(FakeResponse::Status(503));
  upstream_.EnqueueResponse(FakeResponse::Status(502));
  upstream_.EnqueueResponse(FakeResponse::Ok(kOk));
  auto reply = Call(Write());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_FALSE(reply->error.has_value());
  EXPECT_EQ(reply->attempts, 3);
  ASSERT_EQ(upstream_.request_count(), 3u);
  for (const auto& request : upstream_.requests()) {
    EXPECT_EQ(request.Header("idempotency-key"), "key-1");
    // Each attempt is the whole request again, not what is left of the first one.
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.target, "/api/v1/headless/journeys");
    EXPECT_EQ(request.body, "{}");
    EXPECT_EQ(request.Header("authorization"), "Bearer st_test_x");
    EXPECT_EQ(request.Header("content-type"), "application/json");
    EXPECT_EQ(request.Header("x-correlation-id"), "corr-1");
    EXPECT_EQ(request.Header("traceparent"),
              "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  }
  EXPECT_EQ(client_->retries(), 2);
}

TEST_F(PlatformClientTest, DoesNotRetryClientErrors) {
  Start();
  upstream_.SetDefaultResponse(FakeResponse::Status(
      409,
      R"({"requestID":"r","error":{"code":"OFFER_LOCK_CONFLICT","message":"m","retryable":false}})"));
  auto reply = Call(Write());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->http_status, 409);
  EXPECT_EQ(upstream_.request_count(), 1u);
}

TEST_F(PlatformClientTest, GivesUpAfterMaxAttemptsDescribingTheLastOne) {
  Start({.retry = {.max_attempts = 3}});
  upstream_.SetDefaultResponse(FakeResponse::Status(503));
  auto reply = Call(Write());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->http_status, 503);
  EXPECT_EQ(reply->attempts, 3);
  EXPECT_EQ(upstream_.request_count(), 3u);
}

TEST_F(PlatformClientTest, MaxAttemptsBoundsEveryRequestSentEvenOnResetConnections) {
  // Each reset comes on a kept-alive connection: nothing below the retry policy may re-send.
  Start({.retry = {.max_attempts = 4, .initial_backoff = absl::Milliseconds(1)}});
  upstream_.SetDefaultResponse(FakeResponse::ResetWithoutResponse());
  auto reply = Call(Write());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable) << reply.status();
  EXPECT_EQ(upstream_.request_count(), 4u);
  EXPECT_EQ(client_->attempts(), 4);
  EXPECT_EQ(client_->retries(), 3);
}

TEST_F(PlatformClientTest, UnreadableSuccessOfAWriteIsRetriedWithTheSameKey) {
  // The platform acted; the answer was cut short. The replay of the same key is the answer.
  Start({.retry = {.initial_backoff = absl::Milliseconds(1)}});
  upstream_.EnqueueResponse(FakeResponse::Ok(R"({"requestID":"req_1","da)"));
  upstream_.EnqueueResponse(FakeResponse::Ok(kOk));
  auto reply = Call(Write());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->request_id, "req_1");
  ASSERT_EQ(upstream_.request_count(), 2u);
  for (const auto& request : upstream_.requests())
    EXPECT_EQ(request.Header("idempotency-key"), "key-1");
}

TEST_F(PlatformClientTest, UnreadableSuccessOfAReadIsNotRetried) {
  Start();
  upstream_.SetDefaultResponse(FakeResponse::Ok("not json"));
  PlatformRequest read = Write();
  read.method = "GET";
  read.body.clear();
  read.idempotency_key.clear();
  auto reply = Call(std::move(read));
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInternal) << reply.status();
  EXPECT_NE(reply.status().message().find("unreadable platform response"), std::string::npos);
  EXPECT_EQ(upstream_.request_count(), 1u);
}

TEST_F(PlatformClientTest, RetryAfterBeyondTheDeadlineIsLeftToTheCaller) {
  Start();
  upstream_.SetDefaultResponse(FakeResponse::Status(429).WithHeader("Retry-After", "1"));
  PlatformRequest request = Write();
  request.deadline = absl::Now() + absl::Milliseconds(500);
  auto reply = Call(std::move(request));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->http_status, 429);
  EXPECT_EQ(reply->retry_after, absl::Seconds(1));
  EXPECT_EQ(upstream_.request_count(), 1u);
}

TEST_F(PlatformClientTest, OpenBreakerFailsFastWithoutCallingThePlatform) {
  Start({.retry = {.max_attempts = 1}, .breaker = {.consecutive_failures = 2}});
  upstream_.SetDefaultResponse(FakeResponse::Status(503));
  Call(Write()).IgnoreError();
  Call(Write()).IgnoreError();
  EXPECT_EQ(client_->breaker_state(), CircuitBreaker::State::kOpen);
  auto reply = Call(Write());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(reply.status().message().find("not sending"), std::string::npos);
  EXPECT_EQ(upstream_.request_count(), 2u);
}

TEST_F(PlatformClientTest, CancelEndsAPendingRetry) {
  Start({.retry = {.max_attempts = 4, .initial_backoff = absl::Seconds(30)}});
  upstream_.SetDefaultResponse(FakeResponse::Status(503));
  Outcome outcome;
  std::atomic<PlatformClient::CallId> id{0};
  loop_.Post([&] { id = client_->Call(Write(), outcome.Callback()); });
  ASSERT_TRUE(upstream_.WaitForRequests(1));
  // The attempt has failed or is about to: either way the call ends now, not after the 30 s
  // backoff.
  loop_.Post([&] { client_->Cancel(id); });
  EXPECT_EQ(outcome.Wait().status().code(), absl::StatusCode::kCancelled);
}

TEST_F(PlatformClientTest, DestroyedWithACallInFlightDropsTheLateCompletion) {
  Start();
  upstream_.SetDefaultResponse(FakeResponse::NeverRespond());
  bool callback_ran = false;
  loop_.Post([&] {
    client_->Call(Write(), [&](absl::StatusOr<transcode::PlatformReply>) { callback_ran = true; });
  });
  ASSERT_TRUE(upstream_.WaitForRequests(1));
  loop_.Stop();
  // The transport outlives the client and, shutting down, completes the request with CANCELLED: the
  // completion must not reach the destroyed client (AddressSanitizer reports it if it does).
  client_.reset();
  transport_.reset();
  EXPECT_FALSE(callback_ran);
}

// Takes reservations of a number of idle connections, for RunOnShard's spreading; sends
// nothing.
class IdleConnectionsOnly : public upstream::HttpTransport {
 public:
  explicit IdleConnectionsOnly(int free) : free_(free) {}
  RequestId Send(upstream::HttpRequest, upstream::ResponseCallback) override { return 0; }
  void Cancel(RequestId) override {}
  bool ReserveConnection() override {
    int free = free_.load();
    do {
      if (free == 0) return false;
    } while (!free_.compare_exchange_weak(free, free - 1));
    return true;
  }
  void CancelReservation() override { ++free_; }

 private:
  std::atomic<int> free_;
};

TEST(PlatformClientShardsTest, QueuedCallsSpreadOverTheIdleConnectionsTheyWillTake) {
  // Loops not started yet: no loop is idle, so every task is queued, as when a burst of calls
  // finds both loops busy. Loop a has 2 idle connections, loop b 1.
  upstream::EventLoop loop_a;
  upstream::EventLoop loop_b;
  IdleConnectionsOnly two(2);
  IdleConnectionsOnly one(1);
  PlatformClient client({{&loop_a, &two}, {&loop_b, &one}}, PlatformClientOptions{},
                        core::Clock::Real());
  std::mutex mu;
  std::condition_variable cv;
  int on_a = 0;
  int on_b = 0;
  for (int i = 0; i < 3; ++i) {
    client.RunOnShard([&] {
      std::lock_guard<std::mutex> lock(mu);
      ++(loop_a.IsInLoopThread() ? on_a : on_b);
      cv.notify_all();
    });
  }
  loop_a.Start();
  loop_b.Start();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return on_a + on_b == 3; });
  }
  // Each loop gets as many calls as it has idle connections: none opens a new one. Counting idle
  // connections alone sent all three to a, which would then open one while b's stays idle.
  EXPECT_EQ(on_a, 2);
  EXPECT_EQ(on_b, 1);
  loop_a.Stop();
  loop_b.Stop();
}

// Which loop a task ran on: "a", "b", or "" while it has not run.
class RanOn {
 public:
  void Record(const char* loop) {
    std::lock_guard<std::mutex> lock(mu_);
    loop_ = loop;
    cv_.notify_all();
  }
  std::string Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !loop_.empty(); });
    return loop_;
  }
  std::string Now() {
    std::lock_guard<std::mutex> lock(mu_);
    return loop_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string loop_;
};

// Calls RunOnShard from `idle`'s own thread, where that loop counts as idle for certain (a loop
// thread of its own may be between two waits when another thread looks), and says where the task
// ran before RunOnShard returned: "a", "b", or "" when it was queued.
std::string RunOnShardFrom(upstream::EventLoop& idle, upstream::EventLoop& loop_a,
                           PlatformClient& client, RanOn& ran_on) {
  std::promise<std::string> at_return;
  idle.Post([&] {
    client.RunOnShard([&] { ran_on.Record(loop_a.IsInLoopThread() ? "a" : "b"); });
    at_return.set_value(ran_on.Now());
  });
  return at_return.get_future().get();
}

TEST(PlatformClientShardsTest, CallWaitsForABusyLoopsFreeConnectionRatherThanOpenOneElsewhere) {
  // Loop a is busy (not started: it cannot be entered) with a free connection; loop b is idle
  // with none. Running the call on b would open a connection (a TLS handshake) while a's stays
  // idle: the scenario-t handshakes after warm-up.
  upstream::EventLoop loop_a;
  upstream::EventLoop loop_b;
  IdleConnectionsOnly one(1);
  IdleConnectionsOnly none(0);
  PlatformClient client({{&loop_a, &one}, {&loop_b, &none}}, PlatformClientOptions{},
                        core::Clock::Real());
  loop_b.Start();
  RanOn ran_on;
  EXPECT_EQ(RunOnShardFrom(loop_b, loop_a, client, ran_on), "");  // queued on a, not run on b
  loop_a.Start();
  EXPECT_EQ(ran_on.Wait(), "a");
  loop_a.Stop();
  loop_b.Stop();
}

TEST(PlatformClientShardsTest, CallWithNoFreeConnectionAnywhereRunsAtOnceOnAnIdleLoop) {
  upstream::EventLoop loop_a;  // busy: not started
  upstream::EventLoop loop_b;  // idle
  IdleConnectionsOnly none_a(0);
  IdleConnectionsOnly none_b(0);
  PlatformClient client({{&loop_a, &none_a}, {&loop_b, &none_b}}, PlatformClientOptions{},
                        core::Clock::Real());
  loop_b.Start();
  RanOn ran_on;
  // A new connection is needed anyway: opened on the idle loop, without waiting for the busy one.
  EXPECT_EQ(RunOnShardFrom(loop_b, loop_a, client, ran_on), "b");
  loop_b.Stop();
}

}  // namespace
}  // namespace aarthik::platform
