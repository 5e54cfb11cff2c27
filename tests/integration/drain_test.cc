// Graceful drain on SIGTERM, as Kubernetes stops a pod: health turns NOT_SERVING, event streams end
// with a resumable UNAVAILABLE, new calls are refused, every call already in flight completes, and
// the process exits 0. Also: aged connections are recycled without failing calls
// (max-connection-age).
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "aarthik/events/v1/events.grpc.pb.h"
#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/gateway_env.h"
#include "tests/integration/health_wire.h"
#include "tests/support/fake_upstream.h"

namespace aarthik::testing {
namespace {

namespace ev = aarthik::events::v1;
namespace ho = aarthik::hosted::v1;

constexpr char kWebhookSecret[] = "whsec_drain_test";
constexpr int kInFlight = 200;

// A grpc.health.v1.Health/Watch stream (server-streaming, driven through the generic bidi API).
class HealthWatch : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit HealthWatch(grpc::GenericStub* stub) : request_(HealthRequest("")) {
    stub->PrepareBidiStreamingCall(&context_, "/grpc.health.v1.Health/Watch", grpc::StubOptions(),
                                   this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }
  ~HealthWatch() override {
    context_.TryCancel();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
  }

  bool WaitFor(int status) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return last_ == status || done_; }) &&
           last_ == status;
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_ = HealthStatus(response_);
    }
    cv_.notify_all();
    StartRead(&response_);
  }
  void OnDone(const grpc::Status&) override {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

 private:
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::mutex mu_;
  std::condition_variable cv_;
  int last_ = 0;       // guarded by mu_
  bool done_ = false;  // guarded by mu_
};

// Outcomes of asynchronous GetFeatures calls.
class CallTally {
 public:
  void Start(ho::HostedService::Stub* stub) {
    auto call = std::make_shared<Call>();
    PrepareContext(&call->context, "", absl::Seconds(30));
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++started_;
    }
    stub->async()->GetFeatures(
        &call->context, &call->request, &call->response, [this, call](grpc::Status status) {
          std::optional<google::rpc::ErrorInfo> info = DetailOf<google::rpc::ErrorInfo>(status);
          std::lock_guard<std::mutex> lock(mu_);
          ++codes_[status.error_code()];
          if (info.has_value()) ++reasons_[info->reason()];
          ++finished_;
          cv_.notify_all();
        });
  }
  // Waits until a call has finished with ErrorInfo `reason`.
  bool WaitForReason(const std::string& reason) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return reasons_.count(reason) > 0; });
  }
  // Waits until every started call has finished; returns the count per status code.
  std::map<grpc::StatusCode, int> WaitAll() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return finished_ == started_; });
    return codes_;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    ho::GetFeaturesRequest request;
    ho::GetFeaturesResponse response;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  int started_ = 0;                        // guarded by mu_
  int finished_ = 0;                       // guarded by mu_
  std::map<grpc::StatusCode, int> codes_;  // guarded by mu_
  std::map<std::string, int> reasons_;     // ErrorInfo.reason of failed calls; guarded by mu_
};

class DrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/aarthik-whsec-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, kWebhookSecret, sizeof(kWebhookSecret) - 1),
              static_cast<ssize_t>(sizeof(kWebhookSecret) - 1));
    close(fd);
    secret_file_ = path;
  }
  void TearDown() override { std::remove(secret_file_.c_str()); }

  std::string secret_file_;
};

TEST_F(DrainTest, SigtermFinishesEveryInFlightCallEndsStreamsAndExitsZero) {
  // The platform answers after 1.5 s, so the calls are still in flight when SIGTERM arrives.
  FakeUpstream upstream;
  upstream.SetDefaultResponse(
      FakeResponse::Ok(R"({"features":[]})").WithDelay(absl::Milliseconds(1500)));
  auto env = GatewayEnv::Start(
      {.gateway_args = {"--shutdown-grace", "30s", "--webhook-secret-file", secret_file_},
       .upstream_override = upstream.url()});
  ASSERT_NE(env, nullptr);
  auto hosted = ho::HostedService::NewStub(env->channel());
  auto events = ev::JourneyEventsService::NewStub(env->channel());
  grpc::GenericStub generic(env->channel());

  auto health = std::make_unique<HealthWatch>(&generic);
  ASSERT_TRUE(health->WaitFor(kServing));

  // A live event stream, proven established by an event it received.
  grpc::ClientContext stream_context;
  stream_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  ev::WatchJourneyEventsRequest watch;
  watch.set_borrower_external_id("CUST_DRAIN");
  auto reader = events->WatchJourneyEvents(&stream_context, watch);
  reader->WaitForInitialMetadata();  // subscribed: the event below reaches this stream
  ASSERT_EQ(PostSignedWebhook(*env, kWebhookSecret, "evt_drain_1", "CUST_DRAIN"), 200);
  ev::WatchJourneyEventsResponse event;
  ASSERT_TRUE(reader->Read(&event));

  CallTally in_flight;
  for (int i = 0; i < kInFlight; ++i) in_flight.Start(hosted.get());
  ASSERT_TRUE(
      upstream.WaitForRequests(kInFlight, absl::Seconds(20)));  // all of them reached the platform

  // More load keeps arriving during the drain: each such call either completes or is refused. It
  // stops once the gateway has refused one, while the calls above are still in flight: calls that
  // reach a gRPC server after it has closed are cancelled by gRPC itself, and the gateway closes it
  // only once idle.
  std::atomic<bool> stop_load{false};
  CallTally late;
  std::thread load([&] {
    while (!stop_load.load()) {
      late.Start(hosted.get());
      std::this_thread::yield();
      if (stop_load.load()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // pacing, not synchronisation
    }
  });

  env->SignalGateway(SIGTERM);
  EXPECT_TRUE(health->WaitFor(kNotServing));
  // gRPC's health service keeps Watch streams open until the grace deadline cancels them; this
  // watcher leaves once it has seen NOT_SERVING, as a probe would.
  health.reset();
  ASSERT_FALSE(reader->Read(&event));
  grpc::Status stream_status = reader->Finish();
  EXPECT_EQ(stream_status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << stream_status.error_message();
  auto reason = DetailOf<google::rpc::ErrorInfo>(stream_status);
  ASSERT_TRUE(reason.has_value());
  EXPECT_EQ(reason->reason(), "GATEWAY_SHUTTING_DOWN");

  EXPECT_TRUE(late.WaitForReason("GATEWAY_SHUTTING_DOWN"))
      << "no new call was refused during the drain";
  stop_load = true;
  load.join();
  std::map<grpc::StatusCode, int> codes = in_flight.WaitAll();
  EXPECT_EQ(codes[grpc::StatusCode::OK], kInFlight) << "in-flight calls failed during the drain";
  for (const auto& [code, count] : late.WaitAll()) {
    EXPECT_TRUE(code == grpc::StatusCode::OK || code == grpc::StatusCode::UNAVAILABLE)
        << code << " x" << count;
  }
  EXPECT_EQ(env->StopGateway(), 0);
}

// With nothing in flight the gateway still keeps its listener open for --shutdown-delay: a call
// arriving just after SIGTERM gets the resumable refusal, not gRPC's CANCELLED for a closed server.
TEST_F(DrainTest, CallArrivingAfterSigtermOnAnIdleGatewayIsRefusedNotCancelled) {
  FakeUpstream upstream;
  upstream.SetDefaultResponse(FakeResponse::Ok(R"({"features":[]})"));
  auto env =
      GatewayEnv::Start({.gateway_args = {"--shutdown-grace", "20s", "--shutdown-delay", "10s"},
                         .upstream_override = upstream.url()});
  ASSERT_NE(env, nullptr);
  auto hosted = ho::HostedService::NewStub(env->channel());
  grpc::GenericStub generic(env->channel());
  auto health = std::make_unique<HealthWatch>(&generic);
  ASSERT_TRUE(health->WaitFor(kServing));

  env->SignalGateway(SIGTERM);
  ASSERT_TRUE(health->WaitFor(kNotServing));
  health.reset();
  CallTally late;
  late.Start(hosted.get());
  EXPECT_EQ((late.WaitAll()[grpc::StatusCode::UNAVAILABLE]), 1);
  EXPECT_TRUE(late.WaitForReason("GATEWAY_SHUTTING_DOWN"));
  EXPECT_EQ(upstream.request_count(), 0u);
  EXPECT_EQ(env->StopGateway(), 0);
}

TEST_F(DrainTest, AgedConnectionsAreClosedAndCallsGoOnOverANewOne) {
  FakeUpstream upstream;
  upstream.SetDefaultResponse(FakeResponse::Ok(R"({"features":[]})"));
  auto env = GatewayEnv::Start({.gateway_args = {"--grpc-max-connection-age", "300ms"},
                                .upstream_override = upstream.url()});
  ASSERT_NE(env, nullptr);
  auto channel = grpc::CreateChannel(env->gateway_address(), grpc::InsecureChannelCredentials());
  auto hosted = ho::HostedService::NewStub(channel);
  auto call = [&] {
    grpc::ClientContext context;
    PrepareContext(&context);
    ho::GetFeaturesResponse response;
    return hosted->GetFeatures(&context, ho::GetFeaturesRequest(), &response);
  };
  ASSERT_TRUE(call().ok());
  ASSERT_EQ(channel->GetState(false), GRPC_CHANNEL_READY);
  // The gateway's GOAWAY at the connection's age takes the channel out of READY; a later call
  // reconnects.
  EXPECT_TRUE(channel->WaitForStateChange(GRPC_CHANNEL_READY,
                                          absl::ToChronoTime(absl::Now() + absl::Seconds(10))));
  grpc::Status after = call();
  EXPECT_TRUE(after.ok()) << after.error_message();
}

// A closed loop of `concurrency` callers, each starting its next GetFeatures as the last one ends.
class ClosedLoopLoad {
 public:
  ClosedLoopLoad(ho::HostedService::Stub* stub, int concurrency)
      : stub_(stub), in_flight_(concurrency) {
    for (int i = 0; i < concurrency; ++i) Next();
  }
  // Waits until `count` calls have finished.
  bool WaitForFinished(int64_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return finished_ >= count; });
  }
  // Stops starting calls and waits for those in flight; returns the count per status code.
  std::map<grpc::StatusCode, int64_t> Stop() {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.wait(lock, [this] { return in_flight_ == 0; });
    return codes_;
  }
  int64_t finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_;
  }
  // The error messages of failed calls, with their counts.
  std::map<std::string, int64_t> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    ho::GetFeaturesRequest request;
    ho::GetFeaturesResponse response;
  };
  // Starts one call; its callback starts the next unless Stop was called. in_flight_ counts the
  // callers, so Stop returns only once no callback will touch this object again.
  void Next() {
    auto call = std::make_shared<Call>();
    PrepareContext(&call->context, "", absl::Seconds(30));
    stub_->async()->GetFeatures(&call->context, &call->request, &call->response,
                                [this, call](grpc::Status status) mutable {
                                  // The context holds a channel reference: it must be gone before
                                  // Stop returns, or the test's last channel reference could drop
                                  // on gRPC's callback thread, which gRPC 1.51 cannot shut down
                                  // from (grpc/grpc#32584).
                                  call.reset();
                                  {
                                    std::lock_guard<std::mutex> lock(mu_);
                                    ++codes_[status.error_code()];
                                    if (!status.ok()) ++messages_[status.error_message()];
                                    ++finished_;
                                    cv_.notify_all();
                                    if (stopping_) {
                                      --in_flight_;
                                      return;
                                    }
                                  }
                                  Next();
                                });
  }

  ho::HostedService::Stub* const stub_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                      // guarded by mu_
  int in_flight_ = 0;                          // guarded by mu_
  int64_t finished_ = 0;                       // guarded by mu_
  std::map<grpc::StatusCode, int64_t> codes_;  // guarded by mu_
  std::map<std::string, int64_t> messages_;    // guarded by mu_
};

// Issue 17's drain drill: SIGTERM to one of two replicas while 64 calls are in flight over both.
// The client is configured the way docs/operations.md asks callers to be: round robin over the
// replicas, gRPC's client-side health checking (a draining replica turns NOT_SERVING first) and
// retries of UNAVAILABLE (what the draining replica answers a call it will not take). Then no call
// fails, and the drained replica exits 0 on its own, before its grace is over.
TEST_F(DrainTest, SigtermUnderLoadFailsNoCallOfAClientThatFollowsHealthAndRetries) {
  const std::string log_path = TestLogPath();
  // The shipped drain settings (the test environment turns the refusal delay off).
  auto env =
      GatewayEnv::Start({.gateway_args = {"--shutdown-grace", "15s", "--shutdown-delay", "2s"},
                         .gateway_log_path = log_path});
  ASSERT_NE(env, nullptr);
  ASSERT_NE(env->StartReplica(), nullptr);
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(R"({
    "loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": ""},
    "methodConfig": [{"name": [{}], "retryPolicy": {
      "maxAttempts": 5, "initialBackoff": "0.01s", "maxBackoff": "0.2s", "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]}}]})");
  auto channel = grpc::CreateCustomChannel(
      "ipv4:" + env->gateway_address() + "," + env->replica_addresses().front(),
      grpc::InsecureChannelCredentials(), args);
  auto hosted = ho::HostedService::NewStub(channel);

  ClosedLoopLoad load(hosted.get(), 64);
  ASSERT_TRUE(load.WaitForFinished(500));  // both replicas serve (round robin)
  env->SignalGateway(SIGTERM);
  const int exit_code = env->StopGateway();  // the load goes on meanwhile
  const int64_t at_exit = load.finished();
  ASSERT_TRUE(load.WaitForFinished(at_exit + 500));  // the survivor carries on
  std::map<grpc::StatusCode, int64_t> codes = load.Stop();

  EXPECT_EQ(exit_code, 0);
  int64_t failed = 0;
  std::string failures;
  for (const auto& [code, count] : codes) {
    if (code == grpc::StatusCode::OK) continue;
    failed += count;
    absl::StrAppend(&failures, " code ", code, " x", count, ";");
  }
  for (const auto& [message, count] : load.messages())
    absl::StrAppend(&failures, " ", message, " x", count, ";");
  EXPECT_EQ(failed, 0) << failures << " of " << codes[grpc::StatusCode::OK] + failed << " calls";
  std::ifstream log(log_path);
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("shutting down"), std::string::npos);
  EXPECT_EQ(text.find("grace period over"), std::string::npos) << "the drain used up its grace";
}

}  // namespace
}  // namespace aarthik::testing
