// SessionManager against a scripted transport and fake time: mint on first use, reuse while fresh,
// one refresh for many concurrent callers, re-bootstrap when refresh fails, deadlines while
// waiting, and the refresh lease.
#include "server/auth/session_manager.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/core/clock.h"
#include "server/core/id_source.h"
#include "server/core/secret.h"
#include "server/upstream/event_loop.h"
#include "server/upstream/http_transport.h"

namespace aarthik::auth {
namespace {

using upstream::HttpRequest;
using upstream::HttpResponse;

// Records requests; the test answers them explicitly, on the loop thread as a real transport would.
class ScriptedTransport : public upstream::HttpTransport {
 public:
  explicit ScriptedTransport(upstream::EventLoop* loop) : loop_(loop) {}

  RequestId Send(HttpRequest request, upstream::ResponseCallback done) override {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back({std::move(request), std::move(done)});
    arrived_.notify_all();
    return ++next_id_;
  }
  void Cancel(RequestId) override {}

  // Waits until a request is pending and returns it without answering.
  HttpRequest Peek() {
    std::unique_lock<std::mutex> lock(mu_);
    arrived_.wait(lock, [this] { return !pending_.empty(); });
    return pending_.front().request;
  }
  // Answers the oldest pending request.
  void Respond(int status, std::string body) {
    upstream::ResponseCallback done;
    {
      std::unique_lock<std::mutex> lock(mu_);
      arrived_.wait(lock, [this] { return !pending_.empty(); });
      done = std::move(pending_.front().done);
      pending_.pop_front();
    }
    HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    loop_->Post([done = std::move(done), response = std::move(response)]() mutable {
      done(std::move(response));
    });
  }
  size_t pending() {
    std::lock_guard<std::mutex> lock(mu_);
    return pending_.size();
  }

 private:
  struct Pending {
    HttpRequest request;
    upstream::ResponseCallback done;
  };
  upstream::EventLoop* loop_;
  std::mutex mu_;
  std::condition_variable arrived_;
  std::deque<Pending> pending_;  // guarded by mu_
  RequestId next_id_ = 0;        // guarded by mu_
};

std::string SessionEnvelope(const std::string& suffix, absl::Time now, absl::Duration ttl) {
  auto ts = [](absl::Time t) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
  };
  return R"({"requestID":"req_1","data":{"sessionToken":"st_test_)" + suffix +
         R"(","refreshToken":"rt_test_)" + suffix + R"(","sessionExpiresAt":")" + ts(now + ttl) +
         R"(","refreshExpiresAt":")" + ts(now + absl::Hours(24 * 7)) + R"("},"error":null})";
}

constexpr char kRejected[] =
    R"({"requestID":"req_2","data":null,"error":{"code":"AUTH_INVALID_SESSION","message":"rotated","retryable":false}})";

// A one-shot latch (std primitives, which ThreadSanitizer understands).
class Latch {
 public:
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
    cv_.notify_all();
  }
  void WaitForNotification() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return notified_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool notified_ = false;
};

// Collects one Acquire's outcome.
struct Result {
  Latch done;
  absl::StatusOr<std::string> token;
  SessionManager::TokenCallback Callback() {
    return [this](absl::StatusOr<std::string> t) {
      token = std::move(t);
      done.Notify();
    };
  }
};

// The in-process store, with saves that can be made to fail (a Redis outage, say).
class FailableTokenStore : public MemoryTokenStore {
 public:
  void Save(const std::string& borrower, const BorrowerTokens& tokens, DoneCallback done) override {
    if (fail_saves) {
      done(absl::UnavailableError("store unreachable"));
      return;
    }
    MemoryTokenStore::Save(borrower, tokens, std::move(done));
  }
  // Counts refresh-lock refusals, so that a test can wait until a second replica met the lock.
  void TryLockRefresh(const std::string& borrower, const std::string& owner, absl::Duration ttl,
                      LockCallback done) override {
    MemoryTokenStore::TryLockRefresh(
        borrower, owner, ttl, [this, done = std::move(done)](absl::StatusOr<bool> locked) mutable {
          if (locked.ok() && !*locked) {
            std::lock_guard<std::mutex> lock(mu_);
            ++refusals_;
            refused_.notify_all();
          }
          done(locked);
        });
  }
  void WaitForLockRefusal() {
    std::unique_lock<std::mutex> lock(mu_);
    refused_.wait(lock, [this] { return refusals_ > 0; });
  }
  std::atomic<bool> fail_saves{false};

 private:
  std::mutex mu_;
  std::condition_variable refused_;
  int refusals_ = 0;  // guarded by mu_
};

class SessionManagerTest : public ::testing::Test {
 protected:
  SessionManagerTest()
      : clock_(absl::FromUnixSeconds(1'772'700'000)),
        ids_("key"),
        transport_(&loop_),
        platform_(&loop_, &transport_, {.base_url = "http://platform"}, clock_),
        api_key_(std::make_shared<core::Secret>("sk_test_key")),
        sessions_(&loop_, &platform_, &store_, api_key_, clock_, ids_, {}) {
    loop_.Start();
  }
  ~SessionManagerTest() override { loop_.Stop(); }

  absl::Time Deadline() { return clock_.Now() + absl::Hours(1); }

  core::ManualClock clock_;
  core::SequentialIdSource ids_;
  upstream::EventLoop loop_;
  ScriptedTransport transport_;
  platform::PlatformClient platform_;
  FailableTokenStore store_;
  std::shared_ptr<core::Secret> api_key_;
  SessionManager sessions_;
};

// The bearer of a request ("" when none).
std::string Bearer(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (name == "Authorization") return value;
  }
  return "";
}

TEST_F(SessionManagerTest, MintsWithTheCurrentApiKeyAfterARotation) {
  Result first;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", first.Callback());
  EXPECT_EQ(Bearer(transport_.Peek()), "Bearer sk_test_key");
  transport_.Respond(200, SessionEnvelope("a", clock_.Now(), absl::Minutes(30)));
  first.done.WaitForNotification();

  api_key_->Set("sk_test_rotated");  // what SecretFileWatcher does when the key file changes
  Result second;
  sessions_.AcquireSessionToken("CUST_2", Deadline(), "c", "", second.Callback());
  EXPECT_EQ(Bearer(transport_.Peek()), "Bearer sk_test_rotated");
  transport_.Respond(200, SessionEnvelope("b", clock_.Now(), absl::Minutes(30)));
  second.done.WaitForNotification();
  EXPECT_EQ(*second.token, "st_test_b");
}

TEST_F(SessionManagerTest, MintsOnFirstUseThenReuses) {
  Result first;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "corr", "", first.Callback());
  HttpRequest mint = transport_.Peek();
  EXPECT_EQ(mint.url, "http://platform/api/v1/headless/sessions");
  EXPECT_EQ(mint.body, R"({"borrowerExternalID":"CUST_1"})");
  bool has_key = false, has_auth = false;
  for (const auto& [name, value] : mint.headers) {
    has_key |= name == "Idempotency-Key" && !value.empty();
    has_auth |= name == "Authorization" && value == "Bearer sk_test_key";
  }
  EXPECT_TRUE(has_key);
  EXPECT_TRUE(has_auth);
  transport_.Respond(200, SessionEnvelope("a", clock_.Now(), absl::Minutes(30)));
  first.done.WaitForNotification();
  ASSERT_TRUE(first.token.ok()) << first.token.status();
  EXPECT_EQ(*first.token, "st_test_a");

  Result second;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "corr", "", second.Callback());
  second.done.WaitForNotification();
  EXPECT_EQ(*second.token, "st_test_a");
  EXPECT_EQ(sessions_.mints(), 1);
  EXPECT_EQ(transport_.pending(), 0u);
}

TEST_F(SessionManagerTest, OneRefreshForManyConcurrentCallersAtExpiry) {
  Result seed;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", seed.Callback());
  transport_.Respond(200, SessionEnvelope("a", clock_.Now(), absl::Minutes(30)));
  seed.done.WaitForNotification();

  clock_.Advance(absl::Minutes(30));
  std::vector<std::unique_ptr<Result>> results;
  for (int i = 0; i < 200; ++i) {
    results.push_back(std::make_unique<Result>());
    sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", results.back()->Callback());
  }
  HttpRequest refresh = transport_.Peek();
  EXPECT_EQ(refresh.url, "http://platform/api/v1/headless/sessions/refresh");
  transport_.Respond(200, SessionEnvelope("b", clock_.Now(), absl::Minutes(30)));
  for (auto& result : results) {
    result->done.WaitForNotification();
    ASSERT_TRUE(result->token.ok());
    EXPECT_EQ(*result->token, "st_test_b");
  }
  EXPECT_EQ(sessions_.refreshes(), 1);
  EXPECT_EQ(transport_.pending(), 0u);
}

// Two replicas sharing a store (here the memory one; Redis in production): at expiry only the one
// holding the refresh lock refreshes, and the other serves the tokens it saved.
TEST_F(SessionManagerTest, AReplicaThatFindsTheRefreshLockTakenWaitsForTheHoldersTokens) {
  SessionManager other_replica(&loop_, &platform_, &store_, api_key_, clock_, ids_, {});
  Result seed;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", seed.Callback());
  transport_.Respond(200, SessionEnvelope("a", clock_.Now(), absl::Minutes(30)));
  seed.done.WaitForNotification();

  clock_.Advance(absl::Minutes(30));
  Result first, second;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", first.Callback());
  EXPECT_EQ(transport_.Peek().url, "http://platform/api/v1/headless/sessions/refresh");
  other_replica.AcquireSessionToken("CUST_1", Deadline(), "c", "", second.Callback());
  store_.WaitForLockRefusal();  // the other replica met the lock and is waiting
  transport_.Respond(200, SessionEnvelope("b", clock_.Now(), absl::Minutes(30)));

  first.done.WaitForNotification();
  second.done.WaitForNotification();
  ASSERT_TRUE(second.token.ok()) << second.token.status();
  EXPECT_EQ(*first.token, "st_test_b");
  EXPECT_EQ(*second.token, "st_test_b");
  EXPECT_EQ(sessions_.refreshes() + other_replica.refreshes(), 1);
  EXPECT_EQ(transport_.pending(), 0u);
}

TEST_F(SessionManagerTest, RejectedTokenIsRefreshedEvenBeforeItsExpiry) {
  Result seed;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", seed.Callback());
  transport_.Respond(200, SessionEnvelope("a", clock_.Now(), absl::Minutes(30)));
  seed.done.WaitForNotification();

  Result after;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "st_test_a", after.Callback());
  EXPECT_EQ(transport_.Peek().url, "http://platform/api/v1/headless/sessions/refresh");
  transport_.Respond(200, SessionEnvelope("b", clock_.Now(), absl::Minutes(30)));
  after.done.WaitForNotification();
  EXPECT_EQ(*after.token, "st_test_b");
}

TEST_F(SessionManagerTest, CallerWithARefusedTokenIsNotHandedItAgainByAFlightThatFoundItFresh) {
  Result seed;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", seed.Callback());
  transport_.Respond(200, SessionEnvelope("a", clock_.Now(), absl::Minutes(30)));
  seed.done.WaitForNotification();

  // Hold the loop so that both requests meet in one flight: the first, knowing nothing, starts it
  // (and finds st_test_a fresh); the second, whose st_test_a the platform just refused, joins it.
  Latch loop_held, release;
  loop_.Post([&] {
    loop_held.Notify();
    release.WaitForNotification();
  });
  loop_held.WaitForNotification();
  Result unaware, refused;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", unaware.Callback());
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "st_test_a", refused.Callback());
  release.Notify();
  unaware.done.WaitForNotification();
  EXPECT_EQ(*unaware.token, "st_test_a");
  EXPECT_EQ(transport_.Peek().url, "http://platform/api/v1/headless/sessions/refresh");
  transport_.Respond(200, SessionEnvelope("b", clock_.Now(), absl::Minutes(30)));
  refused.done.WaitForNotification();
  EXPECT_EQ(*refused.token, "st_test_b");
}

TEST_F(SessionManagerTest, FailedRefreshReBootstraps) {
  Result seed;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", seed.Callback());
  transport_.Respond(200, SessionEnvelope("a", clock_.Now(), absl::Minutes(30)));
  seed.done.WaitForNotification();

  clock_.Advance(absl::Hours(1));
  Result after;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", after.Callback());
  transport_.Respond(401, kRejected);  // the refresh
  EXPECT_EQ(transport_.Peek().url, "http://platform/api/v1/headless/sessions");
  transport_.Respond(200, SessionEnvelope("c", clock_.Now(), absl::Minutes(30)));
  after.done.WaitForNotification();
  EXPECT_EQ(*after.token, "st_test_c");
  EXPECT_EQ(sessions_.mints(), 2);
}

TEST_F(SessionManagerTest, MintFailureReachesEveryWaiterAsAMappedError) {
  Result a, b;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", a.Callback());
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", b.Callback());
  transport_.Respond(
      401, R"({"requestID":"r","error":{"code":"AUTH_INVALID_API_KEY","message":"bad key"}})");
  a.done.WaitForNotification();
  b.done.WaitForNotification();
  EXPECT_EQ(a.token.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(b.token.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(SessionManagerTest, WaiterGivesUpAtItsDeadlineWhileTheMintGoesOn) {
  Result impatient, patient;
  sessions_.AcquireSessionToken("CUST_1", clock_.Now() + absl::Hours(1), "c", "",
                                patient.Callback());
  // A deadline already in the past: the waiter's timer fires at once.
  sessions_.AcquireSessionToken("CUST_1", clock_.Now() - absl::Seconds(1), "c", "",
                                impatient.Callback());
  impatient.done.WaitForNotification();
  EXPECT_EQ(impatient.token.status().code(), absl::StatusCode::kDeadlineExceeded);
  transport_.Respond(200, SessionEnvelope("a", clock_.Now(), absl::Minutes(30)));
  patient.done.WaitForNotification();
  EXPECT_EQ(*patient.token, "st_test_a");
}

TEST_F(SessionManagerTest, RefreshLeaseHoldsOffOtherRefreshes) {
  Result seed;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", seed.Callback());
  transport_.Respond(200, SessionEnvelope("a", clock_.Now(), absl::Minutes(30)));
  seed.done.WaitForNotification();

  Result lease;
  sessions_.AcquireRefreshLease("CUST_1", Deadline(), "c", lease.Callback());
  lease.done.WaitForNotification();
  EXPECT_EQ(*lease.token, "rt_test_a");

  clock_.Advance(
      absl::Hours(1));  // the session token is stale now, but the lease holder is refreshing
  Result waiting;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "c", "", waiting.Callback());
  EXPECT_EQ(transport_.pending(), 0u);

  BorrowerTokens rotated{"st_test_r", "rt_test_r", clock_.Now() + absl::Minutes(30),
                         clock_.Now() + absl::Hours(100), clock_.Now()};
  sessions_.ReleaseRefreshLease("CUST_1", rotated, "corr-1");
  waiting.done.WaitForNotification();
  EXPECT_EQ(*waiting.token, "st_test_r");
  EXPECT_EQ(transport_.pending(), 0u);
}

TEST_F(SessionManagerTest, AStoreFailureStillServesTheTokenAndLogsTheCallersCorrelationId) {
  store_.fail_saves = true;
  ::testing::internal::CaptureStderr();
  Result result;
  sessions_.AcquireSessionToken("CUST_1", Deadline(), "corr-store-down", "", result.Callback());
  transport_.Respond(200, SessionEnvelope("a", clock_.Now(), absl::Minutes(30)));
  result.done.WaitForNotification();
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(result.token.ok()) << result.token.status();
  EXPECT_EQ(*result.token, "st_test_a");
  EXPECT_NE(log.find("token store save failed"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("correlation_id":"corr-store-down")"), std::string::npos) << log;
  EXPECT_EQ(log.find("st_test_a"), std::string::npos) << log;
  EXPECT_EQ(log.find("rt_test_a"), std::string::npos) << log;
}

// A borrower a second who never calls again (the soak's mix) must not keep a fresh-token entry
// until the table's cap: expired entries go at SweepPacer's pace (a pass per as many new
// borrowers as the table held after the last one; the first after 1,024).
TEST_F(SessionManagerTest, ExpiredFreshTokensAreSweptAsNewBorrowersArrive) {
  auto mint = [this](const std::string& borrower) {
    Result result;
    sessions_.AcquireSessionToken(borrower, Deadline(), "c", "", result.Callback());
    transport_.Respond(200, SessionEnvelope(borrower, clock_.Now(), absl::Minutes(30)));
    result.done.WaitForNotification();
    ASSERT_TRUE(result.token.ok()) << result.token.status();
  };
  for (int i = 0; i < 1024; ++i) mint(absl::StrCat("ONCE_", i));  // a pass, nothing expired
  EXPECT_EQ(sessions_.fresh_tokens(), 1024u);

  clock_.Advance(absl::Minutes(40));  // past the first 1,024's use
  for (int i = 0; i < 1023; ++i) mint(absl::StrCat("LATER_", i));
  EXPECT_EQ(sessions_.fresh_tokens(), 2047u);
  mint("LAST");  // the 1,024th since the pass: the next one
  EXPECT_EQ(sessions_.fresh_tokens(), 1024u);
  EXPECT_EQ(sessions_.FreshSessionToken("ONCE_0"), std::nullopt);
  EXPECT_EQ(sessions_.FreshSessionToken("LATER_0"), "st_test_LATER_0");
}

TEST(TokensFromPlatformDataTest, RejectsIncompletePayloads) {
  absl::Time now = absl::Now();
  EXPECT_FALSE(TokensFromPlatformData(nlohmann::json::parse(R"({"sessionToken":"st"})"), now).ok());
  EXPECT_FALSE(TokensFromPlatformData(
                   nlohmann::json::parse(
                       R"({"sessionToken":"st","refreshToken":"rt","sessionExpiresAt":"soon",)"
                       R"("refreshExpiresAt":"2026-03-12T16:10:10.000Z"})"),
                   now)
                   .ok());
  auto tokens = TokensFromPlatformData(
      nlohmann::json::parse(
          R"({"sessionToken":"st","refreshToken":"rt","sessionExpiresAt":"2026-03-05T16:40:10.000Z",)"
          R"("refreshExpiresAt":"2026-03-12T16:10:10.000Z"})"),
      now);
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(tokens->session_expires_at, absl::FromUnixSeconds(1772728810));
}

}  // namespace
}  // namespace aarthik::auth
