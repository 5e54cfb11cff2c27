// GatewayMetrics as Prometheus sees it: the exact exposition lines (names, label sets, values), the
// go-grpc-prometheus spellings, bounded children, and counts that stay exact under concurrent use.
#include "server/metrics/gateway_metrics.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aarthik::metrics {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Lines(const GatewayMetrics& metrics) {
  return absl::StrSplit(metrics.Serialize(), '\n', absl::SkipEmpty());
}

constexpr char kService[] = "aarthik.hosted.v1.HostedService";

TEST(GrpcCodeNameTest, SpellsEveryCodeAsGo) {
  const std::vector<std::string> go = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  for (int code = 0; code < static_cast<int>(go.size()); ++code)
    EXPECT_EQ(GrpcCodeName(code), go[code]) << code;
  EXPECT_EQ(GrpcCodeName(-1), "Unknown");
  EXPECT_EQ(GrpcCodeName(17), "Unknown");
}

TEST(GatewayMetricsTest, UnaryRpcUsesGoGrpcPrometheusNamesAndLabels) {
  GatewayMetrics metrics;
  RpcInstruments* rpc = metrics.Rpc(RpcType::kUnary, kService, "GetFeatures");
  for (int i = 0; i < 3; ++i) rpc->Started();
  rpc->Handled(0, absl::Milliseconds(2));
  rpc->MessageSent();
  rpc->Handled(0, absl::Milliseconds(2));
  rpc->MessageSent();
  rpc->Handled(3, absl::Milliseconds(300));

  const std::string labels =
      "grpc_method=\"GetFeatures\",grpc_service=\"aarthik.hosted.v1.HostedService\",grpc_type="
      "\"unary\"";
  const std::vector<std::string> lines = Lines(metrics);
  EXPECT_THAT(lines, Contains("# TYPE grpc_server_started_total counter"));
  EXPECT_THAT(lines, Contains("grpc_server_started_total{" + labels + "} 3"));
  EXPECT_THAT(lines, Contains("# TYPE grpc_server_handled_total counter"));
  EXPECT_THAT(lines, Contains("grpc_server_handled_total{grpc_code=\"OK\"," + labels + "} 2"));
  EXPECT_THAT(
      lines, Contains("grpc_server_handled_total{grpc_code=\"InvalidArgument\"," + labels + "} 1"));
  EXPECT_THAT(lines, Contains("grpc_server_msg_received_total{" + labels + "} 3"));
  EXPECT_THAT(lines, Contains("grpc_server_msg_sent_total{" + labels + "} 2"));
  EXPECT_THAT(lines, Contains("# TYPE grpc_server_handling_seconds histogram"));
  EXPECT_THAT(lines, Contains("grpc_server_handling_seconds_count{" + labels + "} 3"));
  EXPECT_THAT(lines,
              Contains("grpc_server_handling_seconds_bucket{" + labels + ",le=\"0.005\"} 2"));
  EXPECT_THAT(lines, Contains("grpc_server_handling_seconds_bucket{" + labels + ",le=\"0.25\"} 2"));
  EXPECT_THAT(lines, Contains("grpc_server_handling_seconds_bucket{" + labels + ",le=\"0.5\"} 3"));
  EXPECT_THAT(lines, Contains("grpc_server_handling_seconds_bucket{" + labels + ",le=\"+Inf\"} 3"));
  EXPECT_THAT(lines, Contains("aarthik_rpcs_in_flight{grpc_type=\"unary\"} 0"));
  // Per-code children exist only for codes seen: no series for the 15 others.
  EXPECT_THAT(metrics.Serialize(), Not(HasSubstr("grpc_code=\"Unavailable\"")));
}

TEST(GatewayMetricsTest, InFlightCountsStartedButNotHandledCalls) {
  GatewayMetrics metrics;
  RpcInstruments* rpc = metrics.Rpc(RpcType::kUnary, kService, "GetFeatures");
  rpc->Started();
  rpc->Started();
  EXPECT_THAT(Lines(metrics), Contains("aarthik_rpcs_in_flight{grpc_type=\"unary\"} 2"));
  rpc->Handled(14, absl::Milliseconds(1));
  EXPECT_THAT(Lines(metrics), Contains("aarthik_rpcs_in_flight{grpc_type=\"unary\"} 1"));
}

TEST(GatewayMetricsTest, OneInstrumentsObjectPerMethodAndType) {
  GatewayMetrics metrics;
  RpcInstruments* a = metrics.Rpc(RpcType::kUnary, kService, "GetFeatures");
  EXPECT_EQ(metrics.Rpc(RpcType::kUnary, kService, "GetFeatures"), a);
  EXPECT_NE(metrics.Rpc(RpcType::kUnary, kService, "CreateEmbedSession"), a);
  EXPECT_NE(metrics.Rpc(RpcType::kServerStream, kService, "GetFeatures"), a);
}

TEST(GatewayMetricsTest, ConcurrentCallsAreCountedExactly) {
  GatewayMetrics metrics;
  RpcInstruments* rpc = metrics.Rpc(RpcType::kUnary, kService, "GetFeatures");
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 17 * 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([rpc] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        rpc->Started();
        // Every code: per-code children are created while other threads count.
        rpc->Handled(i % 17, absl::Microseconds(100));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::vector<std::string> lines = Lines(metrics);
  const std::string labels =
      "grpc_method=\"GetFeatures\",grpc_service=\"aarthik.hosted.v1.HostedService\",grpc_type="
      "\"unary\"";
  EXPECT_THAT(lines, Contains("grpc_server_started_total{" + labels + "} " +
                              std::to_string(kThreads * kCallsPerThread)));
  for (int code = 0; code < 17; ++code) {
    EXPECT_THAT(
        lines, Contains("grpc_server_handled_total{grpc_code=\"" + std::string(GrpcCodeName(code)) +
                        "\"," + labels + "} " + std::to_string(kThreads * kCallsPerThread / 17)));
  }
  EXPECT_THAT(lines, Contains("aarthik_rpcs_in_flight{grpc_type=\"unary\"} 0"));
}

TEST(GatewayMetricsTest, RefusedCallsAreCountedAsShed) {
  GatewayMetrics metrics;
  EXPECT_THAT(Lines(metrics), Contains("aarthik_rpcs_shed_total 0"));
  metrics.RpcShed();
  EXPECT_THAT(Lines(metrics), Contains("aarthik_rpcs_shed_total 1"));
}

TEST(GatewayMetricsTest, FieldsDroppedByRpcAndReason) {
  GatewayMetrics metrics;
  RpcInstruments* rpc =
      metrics.Rpc(RpcType::kUnary, "aarthik.headless.v1.OffersService", "GetOffer");
  rpc->FieldDropped("shape_mismatch");
  rpc->FieldDropped("shape_mismatch");
  rpc->FieldDropped("unknown_enum");
  const std::string page = metrics.Serialize();
  EXPECT_THAT(page, HasSubstr("aarthik_upstream_fields_dropped_total{reason=\"shape_mismatch\","
                              "rpc=\"aarthik.headless.v1.OffersService.GetOffer\"} 2"));
  EXPECT_THAT(page, HasSubstr("aarthik_upstream_fields_dropped_total{reason=\"unknown_enum\","
                              "rpc=\"aarthik.headless.v1.OffersService.GetOffer\"} 1"));
  EXPECT_THAT(page, Not(HasSubstr("reason=\"unknown_field\""))) << "no series before a drop";
}

TEST(GatewayMetricsTest, UpstreamRequestsByRouteTemplateAndStatus) {
  GatewayMetrics metrics;
  const std::string route = "GET /api/v1/headless/journeys/{journey_id}/state";
  for (int i = 0; i < 3; ++i) metrics.UpstreamStarted();
  EXPECT_THAT(Lines(metrics), Contains("aarthik_upstream_in_flight 3"));
  metrics.UpstreamFinished(route, UpstreamHttpStatus(200), absl::Milliseconds(3));
  metrics.UpstreamFinished(route, UpstreamHttpStatus(503), absl::Milliseconds(3));
  metrics.UpstreamFinished(route, "connect_error", absl::Milliseconds(3));
  metrics.UpstreamRetry(route);
  metrics.UpstreamRetry(route);

  const std::string label = "route=\"" + route + "\"";
  const std::vector<std::string> lines = Lines(metrics);
  EXPECT_THAT(lines, Contains("aarthik_upstream_in_flight 0"));
  EXPECT_THAT(lines, Contains("aarthik_upstream_requests_total{" + label + ",status=\"200\"} 1"));
  EXPECT_THAT(lines, Contains("aarthik_upstream_requests_total{" + label + ",status=\"503\"} 1"));
  EXPECT_THAT(
      lines, Contains("aarthik_upstream_requests_total{" + label + ",status=\"connect_error\"} 1"));
  EXPECT_THAT(lines, Contains("aarthik_upstream_request_seconds_count{" + label + "} 3"));
  EXPECT_THAT(lines,
              Contains("aarthik_upstream_request_seconds_bucket{" + label + ",le=\"0.005\"} 3"));
  EXPECT_THAT(lines, Contains("aarthik_upstream_retries_total{" + label + "} 2"));
  EXPECT_THAT(lines, Contains("# TYPE aarthik_upstream_request_seconds histogram"));
  EXPECT_THAT(lines, Contains("# TYPE aarthik_upstream_in_flight gauge"));
}

TEST(GatewayMetricsTest, CircuitStateGaugeAndTransitions) {
  GatewayMetrics metrics;
  std::vector<std::string> lines = Lines(metrics);
  EXPECT_THAT(lines, Contains("aarthik_upstream_circuit_state 0"));
  for (const char* to : {"closed", "half_open", "open"}) {
    EXPECT_THAT(lines, Contains(std::string("aarthik_upstream_circuit_transitions_total{to=\"") +
                                to + "\"} 0"));
  }
  metrics.CircuitStateChanged(CircuitState::kOpen);
  EXPECT_THAT(Lines(metrics), Contains("aarthik_upstream_circuit_state 2"));
  metrics.CircuitStateChanged(CircuitState::kHalfOpen);
  EXPECT_THAT(Lines(metrics), Contains("aarthik_upstream_circuit_state 1"));
  metrics.CircuitStateChanged(CircuitState::kClosed);
  lines = Lines(metrics);
  EXPECT_THAT(lines, Contains("aarthik_upstream_circuit_state 0"));
  EXPECT_THAT(lines, Contains("aarthik_upstream_circuit_transitions_total{to=\"open\"} 1"));
  EXPECT_THAT(lines, Contains("aarthik_upstream_circuit_transitions_total{to=\"half_open\"} 1"));
  EXPECT_THAT(lines, Contains("aarthik_upstream_circuit_transitions_total{to=\"closed\"} 1"));
}

TEST(GatewayMetricsTest, SessionsAndWebhooksByResult) {
  GatewayMetrics metrics;
  std::vector<std::string> lines = Lines(metrics);
  EXPECT_THAT(lines, Contains("aarthik_sessions_minted_total 0"));
  for (const char* result : {"ok", "rejected", "failed"}) {
    EXPECT_THAT(lines, Contains(std::string("aarthik_session_refreshes_total{result=\"") + result +
                                "\"} 0"));
  }
  metrics.SessionMinted();
  metrics.SessionMinted();
  metrics.SessionMintFailed();
  metrics.SessionRefreshed("ok");
  metrics.SessionRefreshed("rejected");
  metrics.WebhookReceived("accepted");
  metrics.WebhookReceived("accepted");
  metrics.WebhookReceived("unauthenticated");
  lines = Lines(metrics);
  EXPECT_THAT(lines, Contains("aarthik_sessions_minted_total 2"));
  EXPECT_THAT(lines, Contains("aarthik_session_mint_failures_total 1"));
  EXPECT_THAT(lines, Contains("aarthik_session_refreshes_total{result=\"ok\"} 1"));
  EXPECT_THAT(lines, Contains("aarthik_session_refreshes_total{result=\"rejected\"} 1"));
  EXPECT_THAT(lines, Contains("aarthik_session_refreshes_total{result=\"failed\"} 0"));
  EXPECT_THAT(lines, Contains("aarthik_webhooks_received_total{result=\"accepted\"} 2"));
  EXPECT_THAT(lines, Contains("aarthik_webhooks_received_total{result=\"unauthenticated\"} 1"));
}

TEST(GatewayMetricsTest, StreamOverflowsFollowTheEventLogsRunningTotal) {
  GatewayMetrics metrics;
  EXPECT_THAT(metrics.Serialize(), HasSubstr("aarthik_stream_overflows_total 0"));
  metrics.EventSubscribersOverflowedSampled(3);
  metrics.EventSubscribersOverflowedSampled(3);  // a scrape with nothing new
  metrics.EventSubscribersOverflowedSampled(5);
  EXPECT_THAT(metrics.Serialize(), HasSubstr("aarthik_stream_overflows_total 5"));
}

TEST(GatewayMetricsTest, HeapGaugesShowTheLastSample) {
  GatewayMetrics metrics;
  EXPECT_THAT(metrics.Serialize(), HasSubstr("aarthik_heap_allocated_bytes 0"));
  metrics.HeapSampled(/*allocated_bytes=*/1'000'000, /*resident_bytes=*/3'000'000);
  metrics.HeapSampled(/*allocated_bytes=*/2'000'000, /*resident_bytes=*/4'000'000);
  EXPECT_THAT(metrics.Serialize(), HasSubstr("aarthik_heap_allocated_bytes 2000000"));
  EXPECT_THAT(metrics.Serialize(), HasSubstr("aarthik_heap_resident_bytes 4000000"));
}

TEST(StreamCallTest, CountsASubscriberWhileOpenAndHandlesTheStreamWhenItEnds) {
  GatewayMetrics metrics;
  const std::string service = "aarthik.events.v1.JourneyEventsService";
  RpcInstruments* rpc = metrics.Rpc(RpcType::kServerStream, service, "WatchJourneyEvents");
  const std::string labels = "grpc_method=\"WatchJourneyEvents\",grpc_service=\"" + service +
                             "\",grpc_type=\"server_stream\"";
  {
    StreamCall call(&metrics, rpc, "WatchJourneyEvents");
    call.MessageSent();
    call.MessageSent();
    std::vector<std::string> lines = Lines(metrics);
    EXPECT_THAT(lines, Contains("aarthik_stream_subscribers{rpc=\"WatchJourneyEvents\"} 1"));
    EXPECT_THAT(lines, Contains("aarthik_rpcs_in_flight{grpc_type=\"server_stream\"} 1"));
    EXPECT_THAT(lines, Contains("grpc_server_started_total{" + labels + "} 1"));
    EXPECT_THAT(metrics.Serialize(), Not(HasSubstr("grpc_server_handled_total{")));
    call.SetCode(1);
  }
  std::vector<std::string> lines = Lines(metrics);
  EXPECT_THAT(lines, Contains("aarthik_stream_subscribers{rpc=\"WatchJourneyEvents\"} 0"));
  EXPECT_THAT(lines, Contains("aarthik_rpcs_in_flight{grpc_type=\"server_stream\"} 0"));
  EXPECT_THAT(lines,
              Contains("grpc_server_handled_total{grpc_code=\"Canceled\"," + labels + "} 1"));
  EXPECT_THAT(lines, Contains("grpc_server_msg_sent_total{" + labels + "} 2"));
  EXPECT_THAT(lines, Contains("grpc_server_handling_seconds_count{" + labels + "} 1"));

  // A call refused at once is started and handled but never a subscriber.
  {
    StreamCall refused(&metrics, rpc, "WatchJourneyEvents", /*subscriber=*/false);
    refused.SetCode(3);
    EXPECT_THAT(Lines(metrics),
                Contains("aarthik_stream_subscribers{rpc=\"WatchJourneyEvents\"} 0"));
  }
  EXPECT_THAT(Lines(metrics), Contains("grpc_server_handled_total{grpc_code=\"InvalidArgument\"," +
                                       labels + "} 1"));
}

TEST(StreamCallTest, NullMetricsRecordNothing) {
  StreamCall call(nullptr, nullptr, "WatchJourneyEvents");
  call.MessageSent();
  call.SetCode(0);
}

TEST(GatewayMetricsTest, ContentTypeIsTextFormatZeroZeroFour) {
  EXPECT_THAT(std::string(GatewayMetrics::kContentType), HasSubstr("text/plain; version=0.0.4"));
}

}  // namespace
}  // namespace aarthik::metrics
