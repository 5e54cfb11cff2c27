// GET /metrics on the gateway's HTTP listener, scraped while real traffic flows through the gateway
// and the sandbox: go-grpc-prometheus RPC series (started/handled/latency/messages, unary and
// server-stream, a refused call), upstream requests by route template and status (cross-checked
// with the sandbox's own counters), retries and the circuit breaker, a minted session, web-hooks by
// result and the stream subscriber gauge.
#include <curl/curl.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "aarthik/events/v1/events.grpc.pb.h"
#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "aarthik/webhooks/v1/subscription.grpc.pb.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"

namespace aarthik::testing {
namespace {

namespace hl = aarthik::headless::v1;
namespace ho = aarthik::hosted::v1;
namespace ev = aarthik::events::v1;
using Labels = std::map<std::string, std::string>;

constexpr char kHostedService[] = "aarthik.hosted.v1.HostedService";
constexpr char kJourneysService[] = "aarthik.headless.v1.JourneysService";
constexpr char kEventsService[] = "aarthik.events.v1.JourneyEventsService";

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

struct HttpAnswer {
  long status = 0;
  std::string content_type;
  std::string body;
};

HttpAnswer Http(const std::string& url, const std::string& post_body = "",
                const std::vector<std::string>& headers = {}) {
  HttpAnswer answer;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_slist* list = nullptr;
  for (const std::string& header : headers) list = curl_slist_append(list, header.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  if (!post_body.empty()) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body.c_str());
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
    char* type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    if (type != nullptr) answer.content_type = type;
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return answer;
}

// One sample line of the text exposition format: name{label="value",...} value.
struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

std::vector<Sample> Parse(const std::string& text) {
  std::vector<Sample> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line.front() == '#') continue;
    Sample sample;
    size_t brace = line.find('{');
    size_t space = line.rfind(' ');
    sample.name = std::string(line.substr(0, std::min(brace, space)));
    if (brace != absl::string_view::npos) {
      absl::string_view body = line.substr(brace + 1, line.rfind('}') - brace - 1);
      // Our label values never contain '"' or ',' followed by a label name, so a plain split is
      // enough.
      for (absl::string_view pair : absl::StrSplit(body, "\",", absl::SkipEmpty())) {
        size_t eq = pair.find("=\"");
        absl::string_view value = pair.substr(eq + 2);
        if (!value.empty() && value.back() == '"') value.remove_suffix(1);
        sample.labels[std::string(pair.substr(0, eq))] = std::string(value);
      }
    }
    EXPECT_TRUE(absl::SimpleAtod(line.substr(space + 1), &sample.value)) << line;
    samples.push_back(std::move(sample));
  }
  return samples;
}

class MetricsTest : public ::testing::Test {
 protected:
  void StartEnv(GatewayEnvOptions options) {
    env_ = GatewayEnv::Start(std::move(options));
    ASSERT_NE(env_, nullptr);
  }

  std::vector<Sample> Scrape() {
    HttpAnswer answer = Http("http://" + env_->http_address() + "/metrics");
    EXPECT_EQ(answer.status, 200);
    return Parse(answer.body);
  }

  // Sum of the samples named `name` whose labels include `labels`; nullopt when there is none.
  std::optional<double> Value(const std::vector<Sample>& samples, const std::string& name,
                              const Labels& labels) {
    std::optional<double> total;
    for (const Sample& sample : samples) {
      if (sample.name != name) continue;
      bool match = true;
      for (const auto& [key, value] : labels) {
        auto it = sample.labels.find(key);
        match = match && it != sample.labels.end() && it->second == value;
      }
      if (match) total = total.value_or(0) + sample.value;
    }
    return total;
  }

  double Scraped(const std::string& name, const Labels& labels = {}) {
    return Value(Scrape(), name, labels).value_or(-1);
  }

  // Polls the metrics page until `name{labels}` satisfies `done` (the gateway updates some series
  // just after the client sees the outcome, e.g. when a stream's reactor is released).
  bool WaitFor(const std::string& name, const Labels& labels,
               const std::function<bool(double)>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      std::optional<double> value = Value(Scrape(), name, labels);
      if (value.has_value() && done(*value)) return true;
      usleep(20 * 1000);
    }
    return false;
  }

  static Labels Rpc(const std::string& service, const std::string& method,
                    const std::string& type = "unary") {
    return {{"grpc_type", type}, {"grpc_service", service}, {"grpc_method", method}};
  }
  static Labels With(Labels labels, const std::string& key, const std::string& value) {
    labels[key] = value;
    return labels;
  }

  grpc::Status Features(absl::Duration timeout = absl::Seconds(10)) {
    auto hosted = ho::HostedService::NewStub(env_->channel());
    grpc::ClientContext context;
    PrepareContext(&context, "", timeout);
    ho::GetFeaturesResponse response;
    return hosted->GetFeatures(&context, ho::GetFeaturesRequest(), &response);
  }

  std::unique_ptr<GatewayEnv> env_;
};

TEST_F(MetricsTest, TrafficShowsUpInRpcUpstreamSessionWebhookAndStreamMetrics) {
  char path[] = "/tmp/aarthik-whsec-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string secret = "whsec_metrics_secret\n";
  ASSERT_EQ(write(fd, secret.data(), secret.size()), static_cast<ssize_t>(secret.size()));
  close(fd);
  const std::string secret_file = path;
  StartEnv({.sandbox_args = {"--webhook-secret-file", secret_file},
            .gateway_args = {"--webhook-secret-file", secret_file}});
  std::remove(secret_file.c_str());

  // Before any traffic: the page is served in the text format, and every RPC has its started series
  // at 0 (instruments are created per method at start-up).
  HttpAnswer first = Http("http://" + env_->http_address() + "/metrics");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.content_type.rfind("text/plain; version=0.0.4", 0), 0u) << first.content_type;
  std::vector<Sample> samples = Parse(first.body);
  int unary = 0;
  int streams = 0;
  for (const Sample& sample : samples) {
    if (sample.name != "grpc_server_started_total") continue;
    EXPECT_EQ(sample.value, 0) << sample.labels.at("grpc_method");
    unary += sample.labels.at("grpc_type") == "unary";
    streams += sample.labels.at("grpc_type") == "server_stream";
  }
  EXPECT_EQ(unary, 40);
  EXPECT_EQ(streams, 2);
  EXPECT_EQ(Value(samples, "aarthik_upstream_circuit_state", {}), 0);

  // A stream subscriber: the gauge shows it while it is open.
  auto events = ev::JourneyEventsService::NewStub(env_->channel());
  grpc::ClientContext stream_context;
  stream_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  ev::WatchJourneyEventsRequest watch;
  watch.set_borrower_external_id("CUST_METRICS_1");
  std::unique_ptr<grpc::ClientReader<ev::WatchJourneyEventsResponse>> reader =
      events->WatchJourneyEvents(&stream_context, watch);
  ASSERT_TRUE(WaitFor("aarthik_stream_subscribers", {{"rpc", "WatchJourneyEvents"}},
                      [](double v) { return v == 1; }));

  // Web-hooks from the sandbox to the gateway's listener (API-key call: no session).
  auto subscription = aarthik::webhooks::v1::WebhookSubscriptionService::NewStub(env_->channel());
  {
    aarthik::webhooks::v1::SubscribeWebhooksRequest request;
    request.mutable_subscription()->set_url("http://" + env_->http_address() + "/webhooks/aarthik");
    aarthik::webhooks::v1::SubscribeWebhooksResponse response;
    grpc::ClientContext context;
    PrepareContext(&context);
    ASSERT_TRUE(subscription->SubscribeWebhooks(&context, request, &response).ok());
  }

  // Two successful borrower-session calls (one session minted for both) and one refused at the
  // edge.
  auto journeys = hl::JourneysService::NewStub(env_->channel());
  for (int i = 0; i < 2; ++i) {
    hl::CreateJourneyRequest create;
    create.set_borrower_external_id("CUST_METRICS_1");
    create.mutable_journey()->set_type(aarthik::common::v1::JOURNEY_TYPE_PERSONAL_LOAN);
    hl::CreateJourneyResponse created;
    grpc::ClientContext context;
    PrepareContext(&context);
    grpc::Status status = journeys->CreateJourney(&context, create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  {
    hl::GetJourneyStateRequest bad;
    bad.set_borrower_external_id("CUST_METRICS_1");
    bad.set_journey_id("not-a-uuid");
    hl::GetJourneyStateResponse state;
    grpc::ClientContext context;
    PrepareContext(&context);
    ASSERT_EQ(journeys->GetJourneyState(&context, bad, &state).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }

  // A forged web-hook (signature does not match) and real ones (time-driven journey changes).
  const std::string now = absl::StrCat(absl::ToUnixSeconds(absl::Now()));
  HttpAnswer forged =
      Http("http://" + env_->http_address() + "/webhooks/aarthik", "{}",
           {"X-AL-Event-ID: evt_forged", std::string("X-AL-Tenant-ID: ") + kTenantId,
            std::string("X-AL-Application-ID: ") + kApplicationId, "X-AL-Webhook-Timestamp: " + now,
            "X-AL-Webhook-Signature: v1=00000000", "Content-Type: application/json"});
  EXPECT_EQ(forged.status, 401);
  env_->AdvanceSandboxTime(40 * 24 * 3600);
  ev::WatchJourneyEventsResponse event;
  ASSERT_TRUE(reader->Read(&event)) << "no event reached the subscriber";

  samples = Scrape();
  const Labels create = Rpc(kJourneysService, "CreateJourney");
  EXPECT_EQ(Value(samples, "grpc_server_started_total", create), 2);
  EXPECT_EQ(Value(samples, "grpc_server_handled_total", With(create, "grpc_code", "OK")), 2);
  EXPECT_EQ(Value(samples, "grpc_server_handled_total", create), 2);  // no other code
  EXPECT_EQ(Value(samples, "grpc_server_handling_seconds_count", create), 2);
  EXPECT_EQ(Value(samples, "grpc_server_handling_seconds_bucket", With(create, "le", "+Inf")), 2);
  EXPECT_EQ(Value(samples, "grpc_server_msg_received_total", create), 2);
  EXPECT_EQ(Value(samples, "grpc_server_msg_sent_total", create), 2);
  const Labels get_state = Rpc(kJourneysService, "GetJourneyState");
  EXPECT_EQ(Value(samples, "grpc_server_started_total", get_state), 1);
  EXPECT_EQ(
      Value(samples, "grpc_server_handled_total", With(get_state, "grpc_code", "InvalidArgument")),
      1);
  EXPECT_EQ(Value(samples, "grpc_server_msg_sent_total", get_state), 0);
  EXPECT_EQ(Value(samples, "aarthik_rpcs_in_flight", {{"grpc_type", "unary"}}), 0);
  EXPECT_EQ(Value(samples, "aarthik_rpcs_in_flight", {{"grpc_type", "server_stream"}}), 1);

  // Upstream: one series per route template, counted like the sandbox counts what it served; the
  // refused call never reached it; one session mint for the borrower.
  EXPECT_EQ(Value(samples, "aarthik_upstream_requests_total",
                  {{"route", "POST /api/v1/headless/journeys"}}),
            env_->SandboxRequests("POST /api/v1/headless/journeys"));
  EXPECT_EQ(env_->SandboxRequests("POST /api/v1/headless/journeys"), 2);
  EXPECT_EQ(Value(samples, "aarthik_upstream_requests_total",
                  {{"route", "POST /api/v1/headless/journeys"}, {"status", "201"}})
                    .value_or(0) +
                Value(samples, "aarthik_upstream_requests_total",
                      {{"route", "POST /api/v1/headless/journeys"}, {"status", "200"}})
                    .value_or(0),
            2);
  EXPECT_EQ(Value(samples, "aarthik_upstream_request_seconds_count",
                  {{"route", "POST /api/v1/headless/journeys"}}),
            2);
  EXPECT_FALSE(Value(samples, "aarthik_upstream_requests_total",
                     {{"route", "GET /api/v1/headless/journeys/{journey_id}/state"}})
                   .has_value());
  EXPECT_EQ(Value(samples, "aarthik_upstream_requests_total",
                  {{"route", "POST /api/v1/headless/sessions"}}),
            1);
  EXPECT_EQ(Value(samples, "aarthik_sessions_minted_total", {}), 1);
  EXPECT_EQ(Value(samples, "aarthik_session_mint_failures_total", {}), 0);
  EXPECT_EQ(Value(samples, "aarthik_upstream_in_flight", {}), 0);
  EXPECT_EQ(Value(samples, "aarthik_upstream_retries_total", {}).value_or(0), 0);
  for (const Sample& sample : samples) {  // bounded labels: no concrete path or identifier anywhere
    for (const auto& [key, value] : sample.labels) {
      EXPECT_EQ(value.find("CUST_METRICS_1"), std::string::npos) << sample.name;
      EXPECT_EQ(value.find("not-a-uuid"), std::string::npos) << sample.name;
      EXPECT_EQ(value.find(kTenantId), std::string::npos) << sample.name;
    }
  }

  // Web-hooks by result; the stream wrote what it read.
  EXPECT_EQ(Value(samples, "aarthik_webhooks_received_total", {{"result", "unauthenticated"}}), 1);
  EXPECT_TRUE(WaitFor("aarthik_webhooks_received_total", {{"result", "accepted"}},
                      [](double v) { return v >= 1; }));
  const Labels stream = Rpc(kEventsService, "WatchJourneyEvents", "server_stream");
  EXPECT_TRUE(WaitFor("grpc_server_msg_sent_total", stream, [](double v) { return v >= 1; }));
  EXPECT_EQ(Scraped("grpc_server_started_total", stream), 1);
  EXPECT_EQ(Scraped("grpc_server_handled_total", stream), -1);  // not ended yet: no series

  // The subscriber leaves: the gauge drops and the stream is handled with the Go spelling of
  // CANCELLED.
  stream_context.TryCancel();
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor("aarthik_stream_subscribers", {{"rpc", "WatchJourneyEvents"}},
                      [](double v) { return v == 0; }));
  EXPECT_TRUE(WaitFor("grpc_server_handled_total", With(stream, "grpc_code", "Canceled"),
                      [](double v) { return v == 1; }));
  EXPECT_EQ(Scraped("grpc_server_handling_seconds_count", stream), 1);
  EXPECT_EQ(Scraped("aarthik_rpcs_in_flight", {{"grpc_type", "server_stream"}}), 0);
}

// A caller that opens a unary call and resets it before sending the request (RST_STREAM with no
// DATA) cancelled it: that is how it is counted, not as the invalid (empty) request gRPC hands the
// handler.
TEST_F(MetricsTest, CallsResetBeforeTheirRequestAreHandledAsCancelled) {
  StartEnv({});
  constexpr int kCalls = 50;
  grpc::GenericStub generic(env_->channel());
  for (int i = 0; i < kCalls; ++i) {
    grpc::ClientContext context;
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call;
    grpc::CompletionQueue queue;
    call = generic.PrepareCall(&context, absl::StrCat("/", kJourneysService, "/GetJourneyState"),
                               &queue);
    call->StartCall(reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    ASSERT_TRUE(queue.Next(&tag, &ok));  // the HEADERS frame went out
    context.TryCancel();                 // RST_STREAM, no message ever sent
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(2));
    ASSERT_TRUE(queue.Next(&tag, &ok));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
    queue.Shutdown();
    while (queue.Next(&tag, &ok)) {
    }
  }
  const Labels state = Rpc(kJourneysService, "GetJourneyState");
  EXPECT_TRUE(WaitFor("grpc_server_handled_total", state, [](double v) { return v == kCalls; }));
  std::vector<Sample> samples = Scrape();
  EXPECT_EQ(Value(samples, "grpc_server_handled_total", With(state, "grpc_code", "Canceled")),
            kCalls);
  EXPECT_FALSE(
      Value(samples, "grpc_server_handled_total", With(state, "grpc_code", "InvalidArgument"))
          .has_value());
}

TEST_F(MetricsTest, ACallRefusedByLoadSheddingIsHandledAsResourceExhausted) {
  StartEnv({.gateway_args = {"--max-pending-rpcs", "1"}});
  env_->SetSandboxFaults({{"route", "GET /api/lab/features"}, {"latency_ms", {{"fixed", 1500}}}});
  grpc::Status slow;
  std::thread first([&] { slow = Features(); });
  // Once its upstream request is in flight the first call holds the only slot.
  EXPECT_TRUE(WaitFor("aarthik_upstream_in_flight", {}, [](double v) { return v == 1; }));
  grpc::Status refused = Features();
  first.join();
  EXPECT_TRUE(slow.ok()) << slow.error_message();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  std::vector<Sample> samples = Scrape();
  const Labels features = Rpc(kHostedService, "GetFeatures");
  EXPECT_EQ(Value(samples, "grpc_server_started_total", features), 2);
  EXPECT_EQ(Value(samples, "grpc_server_handled_total", With(features, "grpc_code", "OK")), 1);
  EXPECT_EQ(
      Value(samples, "grpc_server_handled_total", With(features, "grpc_code", "ResourceExhausted")),
      1);
  EXPECT_EQ(Value(samples, "aarthik_rpcs_shed_total", {}), 1);
  EXPECT_EQ(Value(samples, "aarthik_upstream_requests_total", {{"route", "GET /api/lab/features"}}),
            1);
  EXPECT_EQ(Value(samples, "aarthik_rpcs_in_flight", {{"grpc_type", "unary"}}), 0);
}

TEST_F(MetricsTest, UnreachablePlatformShowsConnectErrorsRetriesAndTheOpenBreaker) {
  StartEnv({.upstream_override = "http://127.0.0.1:1"});
  const Labels features = Rpc(kHostedService, "GetFeatures");
  int calls = 0;
  // Five consecutive connect failures open the breaker; each call makes up to four attempts.
  while (calls < 20 && Scraped("aarthik_upstream_circuit_state") != 2) {
    EXPECT_EQ(Features().error_code(), grpc::StatusCode::UNAVAILABLE);
    ++calls;
  }
  std::vector<Sample> samples = Scrape();
  EXPECT_EQ(Value(samples, "aarthik_upstream_circuit_state", {}), 2);
  EXPECT_EQ(Value(samples, "aarthik_upstream_circuit_transitions_total", {{"to", "open"}}), 1);
  EXPECT_GE(Value(samples, "aarthik_upstream_requests_total",
                  {{"route", "GET /api/lab/features"}, {"status", "connect_error"}})
                .value_or(0),
            5);
  EXPECT_EQ(Value(samples, "aarthik_upstream_requests_total", {{"route", "GET /api/lab/features"}}),
            Value(samples, "aarthik_upstream_requests_total",
                  {{"route", "GET /api/lab/features"}, {"status", "connect_error"}}));
  EXPECT_GE(Value(samples, "aarthik_upstream_retries_total", {{"route", "GET /api/lab/features"}})
                .value_or(0),
            1);
  EXPECT_EQ(Value(samples, "grpc_server_started_total", features), calls);
  EXPECT_EQ(Value(samples, "grpc_server_handled_total", With(features, "grpc_code", "Unavailable")),
            calls);
  EXPECT_EQ(Value(samples, "aarthik_upstream_in_flight", {}), 0);
}

TEST_F(MetricsTest, SessionMintsAndRefreshesAreCountedByResult) {
  StartEnv({});
  auto journeys = hl::JourneysService::NewStub(env_->channel());
  auto list = [&] {
    hl::ListJourneysRequest request;
    request.set_borrower_external_id("CUST_METRICS_2");
    hl::ListJourneysResponse response;
    grpc::ClientContext context;
    PrepareContext(&context);
    return journeys->ListJourneys(&context, request, &response);
  };
  ASSERT_TRUE(list().ok());
  env_->AdvanceSandboxTime(
      31 * 60);  // past the session token: the platform refuses it, the gateway refreshes
  ASSERT_TRUE(list().ok());
  env_->AdvanceSandboxTime(8 * 24 *
                           3600);  // past the refresh token too: refused refresh, new session
  ASSERT_TRUE(list().ok());

  std::vector<Sample> samples = Scrape();
  const nlohmann::json counters = env_->SandboxCounters();
  EXPECT_EQ(Value(samples, "aarthik_sessions_minted_total", {}),
            counters["sessions_minted"].get<int>());
  EXPECT_EQ(Value(samples, "aarthik_sessions_minted_total", {}), 2);
  EXPECT_EQ(Value(samples, "aarthik_session_refreshes_total", {{"result", "ok"}}), 1);
  EXPECT_EQ(Value(samples, "aarthik_session_refreshes_total", {{"result", "rejected"}}), 1);
  EXPECT_EQ(Value(samples, "aarthik_session_refreshes_total", {{"result", "failed"}}), 0);
  EXPECT_EQ(Value(samples, "aarthik_upstream_requests_total",
                  {{"route", "POST /api/v1/headless/sessions/refresh"}}),
            2);
  // The two calls made with a session the platform no longer accepted.
  EXPECT_EQ(Value(samples, "aarthik_upstream_requests_total",
                  {{"route", "GET /api/v1/headless/journeys"}, {"status", "401"}}),
            2);
  EXPECT_EQ(Value(samples, "grpc_server_handled_total",
                  With(Rpc(kJourneysService, "ListJourneys"), "grpc_code", "OK")),
            3);
}

TEST_F(MetricsTest, WebhookDeliveriesAreCountedByResult) {
  const std::string secret = "whsec_metrics_results";
  char path[] = "/tmp/aarthik-whsec-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, secret.data(), secret.size()), static_cast<ssize_t>(secret.size()));
  close(fd);
  StartEnv({.gateway_args = {"--webhook-secret-file", path}});
  std::remove(path);

  // A headless snapshot (variant A) for one borrower; `sequence` orders snapshots of that borrower.
  auto post = [&](const std::string& event_id, int sequence, const std::string& tenant_header,
                  const std::string& signing_secret, bool signed_delivery = true) {
    nlohmann::json body = {{"schema_version", "1.0.0"},
                           {"event_type", "journey.snapshot"},
                           {"event_id", event_id},
                           {"event_at", "2026-03-05T16:48:20.000Z"},
                           {"snapshot_generated_at", "2026-03-05T16:48:20.000Z"},
                           {"sequence", sequence},
                           {"tenant_id", kTenantId},
                           {"application_id", kApplicationId},
                           {"borrower",
                            {{"borrowerExternalID", "CUST_METRICS_3"},
                             {"journeys",
                              {{{"journeyID", "0b9f6d0e-4d1e-4c59-9a3c-5c4e7f3b2a10"},
                                {"status", "OFFERS_PENDING"}}}}}}};
    const std::string raw = body.dump();
    const std::string timestamp = absl::StrCat(absl::ToUnixSeconds(absl::Now()));
    std::vector<std::string> headers = {
        "X-AL-Event-ID: " + event_id, "X-AL-Tenant-ID: " + tenant_header,
        absl::StrCat("X-AL-Application-ID: ", kApplicationId),
        "X-AL-Webhook-Timestamp: " + timestamp, "Content-Type: application/json"};
    if (signed_delivery) {
      headers.push_back("X-AL-Webhook-Signature: " +
                        HmacSha256Hex(signing_secret, timestamp + "." + raw));
    }
    return Http("http://" + env_->http_address() + "/webhooks/aarthik", raw, headers).status;
  };
  EXPECT_EQ(post("evt_m_2", 2, kTenantId, secret), 200);
  EXPECT_EQ(post("evt_m_2", 2, kTenantId, secret), 200);                // the same event again
  EXPECT_EQ(post("evt_m_1", 1, kTenantId, secret), 200);                // older than the one held
  EXPECT_EQ(post("evt_m_3", 3, kTenantId, "whsec_someone_else"), 401);  // signature does not match
  EXPECT_EQ(post("evt_m_4", 4, "another-tenant", secret), 403);         // signed, but not for us
  EXPECT_EQ(post("evt_m_5", 5, kTenantId, secret, /*signed_delivery=*/false), 400);

  std::vector<Sample> samples = Scrape();
  for (const char* result :
       {"accepted", "duplicate", "stale", "unauthenticated", "forbidden", "malformed"}) {
    EXPECT_EQ(Value(samples, "aarthik_webhooks_received_total", {{"result", result}}), 1) << result;
  }
  EXPECT_EQ(Value(samples, "aarthik_webhooks_received_total", {}), 6);
}

}  // namespace
}  // namespace aarthik::testing
