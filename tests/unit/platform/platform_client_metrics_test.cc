// PlatformClient's upstream metrics over the real curl transport and a fake upstream: one sample
// per HTTP attempt by route template and HTTP status or transport error class, retries, and the
// in-flight gauge.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/clock.h"
#include "server/metrics/gateway_metrics.h"
#include "server/platform/platform_client.h"
#include "server/upstream/curl_multi_transport.h"
#include "server/upstream/event_loop.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/sync.h"

namespace aarthik::platform {
namespace {

using ::testing::Contains;
using testing::FakeResponse;
using testing::FakeUpstream;

constexpr char kOk[] =
    R"({"requestID":"req_1","correlationID":"c","data":{"ok":true},"error":null})";

using Outcome = testing::Delivery<absl::StatusOr<transcode::PlatformReply>>;

class PlatformClientMetricsTest : public ::testing::Test {
 protected:
  ~PlatformClientMetricsTest() override { loop_.Stop(); }

  // `max_attempts` 1: every failure is final, so each call is one attempt. The fixture owns the
  // clients: they are destroyed once the loop has stopped.
  PlatformClient* Client(const std::string& base_url, int max_attempts,
                         upstream::HttpTransport* transport = nullptr) {
    PlatformClientOptions options;
    options.base_url = base_url;
    options.retry.max_attempts = max_attempts;
    options.metrics = &metrics_;
    clients_.push_back(std::make_unique<PlatformClient>(
        &loop_, transport != nullptr ? transport : &transport_, options, core::Clock::Real()));
    return clients_.back().get();
  }

  static PlatformRequest Get(const std::string& route,
                             absl::Duration max_timeout = absl::Seconds(10)) {
    PlatformRequest request;
    request.method = "GET";
    request.path_and_query = "/api/lab/features";
    request.bearer = "sk_test_x";
    request.deadline = absl::Now() + absl::Seconds(10);
    request.max_timeout = max_timeout;
    request.route = route;
    return request;
  }

  absl::StatusOr<transcode::PlatformReply> Call(PlatformClient* client, PlatformRequest request) {
    Outcome outcome;
    loop_.Post([&] { client->Call(std::move(request), outcome.Callback()); });
    return outcome.Wait();
  }

  std::vector<std::string> Lines() {
    return absl::StrSplit(metrics_.Serialize(), '\n', absl::SkipEmpty());
  }

  // The transport reports a cancelled attempt after the call has ended: poll for it.
  bool WaitForLine(const std::string& line) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      for (const std::string& l : Lines()) {
        if (l == line) return true;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  metrics::GatewayMetrics metrics_;
  FakeUpstream upstream_;
  upstream::EventLoop loop_;
  upstream::CurlMultiTransport transport_{&loop_, upstream::CurlMultiTransport::Options{}};
  upstream::CurlMultiTransport small_transport_{&loop_, {.max_response_bytes = 8}};
  std::vector<std::unique_ptr<PlatformClient>> clients_;
};

TEST_F(PlatformClientMetricsTest, EveryAttemptIsCountedByStatusAndRetriesByRoute) {
  loop_.Start();
  auto client = Client(upstream_.url(), /*max_attempts=*/4);
  upstream_.EnqueueResponse(FakeResponse::Status(503));
  upstream_.EnqueueResponse(FakeResponse::Ok(kOk));
  ASSERT_TRUE(Call(client, Get("GET /api/lab/features")).ok());

  const std::string route = "route=\"GET /api/lab/features\"";
  std::vector<std::string> lines = Lines();
  EXPECT_THAT(lines, Contains("aarthik_upstream_requests_total{" + route + ",status=\"503\"} 1"));
  EXPECT_THAT(lines, Contains("aarthik_upstream_requests_total{" + route + ",status=\"200\"} 1"));
  EXPECT_THAT(lines, Contains("aarthik_upstream_request_seconds_count{" + route + "} 2"));
  EXPECT_THAT(lines, Contains("aarthik_upstream_retries_total{" + route + "} 1"));
  EXPECT_THAT(lines, Contains("aarthik_upstream_in_flight 0"));
}

TEST_F(PlatformClientMetricsTest, AttemptsWithoutAnAnswerAreCountedByTransportErrorClass) {
  loop_.Start();
  auto client = Client(upstream_.url(), /*max_attempts=*/1);
  upstream_.EnqueueResponse(FakeResponse::ResetWithoutResponse());
  EXPECT_FALSE(Call(client, Get("GET /lost")).ok());
  upstream_.EnqueueResponse(FakeResponse::NeverRespond());
  EXPECT_FALSE(Call(client, Get("GET /silent", absl::Milliseconds(200))).ok());
  auto unreachable = Client("http://127.0.0.1:1", /*max_attempts=*/1);
  EXPECT_FALSE(Call(unreachable, Get("GET /closed")).ok());
  auto small = Client(upstream_.url(), /*max_attempts=*/1, &small_transport_);
  upstream_.EnqueueResponse(FakeResponse::Ok(kOk));
  EXPECT_FALSE(Call(small, Get("GET /large")).ok());

  std::vector<std::string> lines = Lines();
  EXPECT_THAT(
      lines,
      Contains(
          "aarthik_upstream_requests_total{route=\"GET /lost\",status=\"connection_lost\"} 1"));
  EXPECT_THAT(
      lines,
      Contains("aarthik_upstream_requests_total{route=\"GET /silent\",status=\"timeout\"} 1"));
  EXPECT_THAT(
      lines,
      Contains(
          "aarthik_upstream_requests_total{route=\"GET /closed\",status=\"connect_error\"} 1"));
  EXPECT_THAT(
      lines,
      Contains(
          "aarthik_upstream_requests_total{route=\"GET /large\",status=\"resource_exhausted\"} 1"));
  EXPECT_THAT(lines, Contains("aarthik_upstream_in_flight 0"));
}

TEST_F(PlatformClientMetricsTest, ACancelledAttemptIsCountedAsCancelled) {
  loop_.Start();
  auto client = Client(upstream_.url(), /*max_attempts=*/1);
  upstream_.EnqueueResponse(FakeResponse::NeverRespond());
  Outcome outcome;
  PlatformClient::CallId id = 0;
  loop_.Post([&] { id = client->Call(Get("GET /api/lab/features"), outcome.Callback()); });
  loop_.Post([&] { client->Cancel(id); });
  EXPECT_EQ(outcome.Wait().status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(WaitForLine(
      "aarthik_upstream_requests_total{route=\"GET /api/lab/features\",status=\"cancelled\"} 1"));
  EXPECT_TRUE(WaitForLine("aarthik_upstream_in_flight 0"));
}

}  // namespace
}  // namespace aarthik::platform
