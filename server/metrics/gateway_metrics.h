// GatewayMetrics: the gateway's Prometheus metrics, behind intention-revealing methods so that no
// other module sees prometheus-cpp types. The RPC side uses go-grpc-prometheus names and labels, so
// existing dashboards and alerts for Go gRPC servers work unchanged; the rest is prefixed
// `aarthik_`. Every metric, its labels and the suggested alerts are listed in docs/operations.md
// ("Metrics").
//
//   metrics::GatewayMetrics metrics;
//   // Once per method, at start-up:
//   metrics::RpcInstruments* rpc =
//       metrics.Rpc(metrics::RpcType::kUnary, "aarthik.hosted.v1.HostedService", "GetFeatures");
//   // Per call (no lookup, no global lock):
//   rpc->Started();
//   rpc->Handled(/*grpc_code=*/0, elapsed);
//   // Per upstream attempt:
//   metrics.UpstreamFinished("GET /api/lab/features", metrics::UpstreamHttpStatus(200), elapsed);
//   // GET /metrics: the text exposition format 0.0.4.
//   std::string page = metrics.Serialize();
//
// Label values are bounded by construction: method names from the descriptors, gRPC code names,
// route templates (never concrete paths), HTTP status codes or a transport error class, and fixed
// result words. Callers must never pass identifiers (journeys, borrowers, correlation IDs) as label
// values.
//
// Thread-safety: every method may be called from any thread. prometheus-cpp counters and gauges are
// atomic, a histogram has its own short lock. Rpc() and the string-labelled methods look their
// child up under a mutex; RpcInstruments, meant for the per-call path, does not (per-code children
// are created on first use and then read from an atomic cache).
#ifndef AARTHIK_SERVER_METRICS_GATEWAY_METRICS_H_
#define AARTHIK_SERVER_METRICS_GATEWAY_METRICS_H_

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace aarthik::metrics {

// go-grpc-prometheus' grpc_type label.
enum class RpcType { kUnary, kServerStream };

// The circuit breaker's state as the aarthik_upstream_circuit_state gauge reports it.
enum class CircuitState { kClosed = 0, kHalfOpen = 1, kOpen = 2 };

// The Go spelling of a gRPC status code (codes.Code.String()): "OK", "Canceled", "InvalidArgument",
// "ResourceExhausted", ...; "Unknown" for a number outside 0..16.
absl::string_view GrpcCodeName(int code);

// The `status` label of an upstream request answered over HTTP: the code as decimal text.
std::string UpstreamHttpStatus(int http_status);

class GatewayMetrics;

// What the authorizer decided for one call (aarthik_authz_decisions_total's `decision` label):
// allowed, refused by the policy, refused for want of a valid identity, or (audit-only mode) let
// through although the policy would have refused it.
enum class AuthzDecision { kAllow = 0, kDeny = 1, kUnauthenticated = 2, kAuditDeny = 3 };

// The decision counters of one method, created at start-up so that counting does no label lookup.
class AuthzInstruments {
 public:
  AuthzInstruments(const AuthzInstruments&) = delete;
  AuthzInstruments& operator=(const AuthzInstruments&) = delete;
  void Decided(AuthzDecision decision);

 private:
  friend class GatewayMetrics;
  AuthzInstruments() = default;
  std::array<prometheus::Counter*, 4> decisions_{};
};

// The instruments of one gRPC method (all labels fixed). Calls on it do no map lookup and take no
// lock shared with other methods.
class RpcInstruments {
 public:
  RpcInstruments(const RpcInstruments&) = delete;
  RpcInstruments& operator=(const RpcInstruments&) = delete;

  // The call arrived with its request: grpc_server_started_total, grpc_server_msg_received_total
  // and aarthik_rpcs_in_flight.
  void Started();
  // One response message written: grpc_server_msg_sent_total.
  void MessageSent();
  // The call ended with `grpc_code` (grpc::StatusCode / absl::StatusCode number) after `elapsed`:
  // grpc_server_handled_total, grpc_server_handling_seconds; leaves aarthik_rpcs_in_flight.
  void Handled(int grpc_code, absl::Duration elapsed);
  // A value of the platform's reply that this method could not carry to its caller, by `reason`
  // ("unknown_field", "unknown_enum", "shape_mismatch"):
  // aarthik_upstream_fields_dropped_total{rpc="<service>.<method>", reason}. Takes this method's
  // own short lock (drops are rare; the plain success path never calls it).
  void FieldDropped(absl::string_view reason);

 private:
  friend class GatewayMetrics;
  static constexpr int kCodes = 17;
  RpcInstruments(GatewayMetrics* owner, RpcType type, std::string service, std::string method);
  prometheus::Counter& HandledCounter(int code);

  GatewayMetrics* const owner_;
  const std::string type_;
  const std::string service_;
  const std::string method_;
  prometheus::Counter* started_;
  prometheus::Counter* received_;
  prometheus::Counter* sent_;
  prometheus::Histogram* seconds_;
  prometheus::Gauge* in_flight_;
  std::array<std::atomic<prometheus::Counter*>, kCodes> handled_{};
  std::mutex handled_mu_;  // creating a per-code child
  std::mutex dropped_mu_;
  absl::flat_hash_map<std::string, prometheus::Counter*> dropped_;  // by reason, dropped_mu_
};

class GatewayMetrics {
 public:
  GatewayMetrics();
  ~GatewayMetrics();
  GatewayMetrics(const GatewayMetrics&) = delete;
  GatewayMetrics& operator=(const GatewayMetrics&) = delete;

  // The instruments of `service`/`method` (service is the full name, e.g.
  // "aarthik.hosted.v1.HostedService"). The same pointer for the same arguments; valid as long as
  // this object. Call at start-up.
  RpcInstruments* Rpc(RpcType type, absl::string_view service, absl::string_view method);
  // A call refused by load shedding before any work (aarthik_rpcs_shed_total); it is also Handled.
  void RpcShed();

  // One HTTP attempt to the platform (retries are attempts of their own). `route` is the route
  // template ("GET /api/v1/headless/journeys/{journeyID}/state"); `status` is
  // UpstreamHttpStatus(code) or a transport error class ("connect_error", "connection_lost",
  // "timeout", "cancelled", "resource_exhausted", "transport_error").
  void UpstreamStarted();
  void UpstreamFinished(absl::string_view route, absl::string_view status, absl::Duration elapsed);
  void UpstreamRetry(absl::string_view route);
  void CircuitStateChanged(CircuitState state);

  // Borrower sessions: a POST /sessions that produced tokens or failed; a refresh by `result`
  // ("ok", "rejected": the platform refused it, "failed": no usable answer).
  void SessionMinted();
  void SessionMintFailed();
  void SessionRefreshed(absl::string_view result);
  // A token store operation that failed ("load", "save", "lock"): with --redis-url, Redis trouble.
  void TokenStoreFailed(absl::string_view operation);
  // A Redis connection ("tokens": the token store and relay writes; "relay": the web-hook relay's
  // reader) came up or went down.
  void RedisConnected(absl::string_view connection, bool connected);

  // One web-hook delivery by `result` ("accepted", "duplicate", "stale", "unauthenticated",
  // "malformed", "forbidden", "too_large", "error").
  void WebhookReceived(absl::string_view result);
  // The relay between replicas (EventRelay), by `result`: "published" (shared through Redis),
  // "publish_failed" (the other replicas miss it), "relayed" (another replica's event accepted
  // here), "malformed" (a stream entry that did not parse).
  void WebhookRelayed(absl::string_view result);
  // Subscribers of a streaming RPC (`rpc` is the method name, e.g. "WatchJourneyEvents").
  void StreamSubscribers(absl::string_view rpc, int delta);
  // One check of the gRPC listener (http::GrpcListenerCheck): whether a fresh connection got
  // gRPC's answer.
  void GrpcListenerChecked(bool accepting);
  // The HTTP listener's state at a scrape (http::HttpServer's accessors; the two totals are its
  // running counts). Called from one thread at a time: it keeps the totals last seen.
  void HttpListenerSampled(size_t open_connections, uint64_t accept_failures_total,
                           uint64_t evicted_total);
  // The event log's count of subscribers closed for falling behind (events::EventLog::Stats), at
  // a scrape; same threading as HttpListenerSampled.
  void EventSubscribersOverflowedSampled(uint64_t overflowed_total);
  // The allocator's live bytes and resident pages at a scrape (core::ReadHeapStats); not called
  // when the allocator cannot tell, and then the two gauges stay 0.
  void HeapSampled(size_t allocated_bytes, size_t resident_bytes);

  // Authorization (server/authz): the decision counters of `method` ("<service>/<method>"), the
  // same pointer for the same name, valid as long as this object; call at start-up.
  AuthzInstruments* Authz(absl::string_view method);
  // A policy or JWKS file re-read that changed what is in force ("ok") or was refused ("rejected":
  // the last good one stays): aarthik_authz_reloads_total{file="policy"|"jwks",result}.
  void AuthzReloaded(absl::string_view file, absl::string_view result);
  // 1 while the file on disk is refused and an older policy is in force:
  // aarthik_authz_policy_stale.
  void AuthzPolicyStale(bool stale);
  // Audit log: a record written to its sink (aarthik_audit_records_total), or one lost by `reason`
  // (aarthik_audit_records_dropped_total: "queue_full", "write_refused", "io_error").
  void AuditRecorded();
  void AuditDropped(absl::string_view reason);

  // The registry in the Prometheus text exposition format, version 0.0.4.
  std::string Serialize() const;
  static constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

 private:
  friend class RpcInstruments;
  struct UpstreamRoute {
    prometheus::Histogram* seconds = nullptr;
    prometheus::Counter* retries = nullptr;
    absl::flat_hash_map<std::string, prometheus::Counter*> by_status;
  };
  UpstreamRoute& RouteLocked(absl::string_view route);  // mu_ held

  std::unique_ptr<prometheus::Registry> registry_;
  // go-grpc-prometheus families.
  prometheus::Family<prometheus::Counter>* grpc_started_;
  prometheus::Family<prometheus::Counter>* grpc_handled_;
  prometheus::Family<prometheus::Histogram>* grpc_seconds_;
  prometheus::Family<prometheus::Counter>* grpc_received_;
  prometheus::Family<prometheus::Counter>* grpc_sent_;
  prometheus::Family<prometheus::Gauge>* rpcs_in_flight_;
  prometheus::Counter* rpcs_shed_;
  // Upstream.
  prometheus::Family<prometheus::Counter>* upstream_requests_;
  prometheus::Family<prometheus::Histogram>* upstream_seconds_;
  prometheus::Family<prometheus::Counter>* upstream_retries_;
  prometheus::Gauge* upstream_in_flight_;
  prometheus::Gauge* circuit_state_;
  prometheus::Family<prometheus::Counter>* fields_dropped_;
  std::array<prometheus::Counter*, 3> circuit_transitions_{};  // by CircuitState
  // Sessions, web-hooks, streams.
  prometheus::Counter* sessions_minted_;
  prometheus::Counter* session_mint_failures_;
  prometheus::Counter* token_store_failures_[3];  // load, save, lock
  prometheus::Family<prometheus::Counter>* session_refreshes_;
  prometheus::Family<prometheus::Counter>* webhooks_;
  prometheus::Family<prometheus::Counter>* webhooks_relayed_;
  prometheus::Family<prometheus::Gauge>* redis_connected_;
  prometheus::Family<prometheus::Gauge>* stream_subscribers_;
  prometheus::Gauge* grpc_listener_accepting_;
  prometheus::Counter* grpc_listener_check_failures_;
  prometheus::Gauge* http_open_connections_;
  prometheus::Counter* http_accept_failures_;
  prometheus::Counter* http_evicted_;
  uint64_t http_accept_failures_seen_ = 0;  // HttpListenerSampled's caller's thread
  uint64_t http_evicted_seen_ = 0;
  prometheus::Counter* stream_overflows_;
  uint64_t stream_overflows_seen_ = 0;  // the scraping thread
  prometheus::Gauge* heap_allocated_;
  prometheus::Gauge* heap_resident_;

  // Authorization and audit.
  prometheus::Family<prometheus::Counter>* authz_decisions_;
  prometheus::Family<prometheus::Counter>* authz_reloads_;
  prometheus::Gauge* authz_policy_stale_;
  prometheus::Counter* audit_records_;
  prometheus::Family<prometheus::Counter>* audit_dropped_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<RpcInstruments>> rpcs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<AuthzInstruments>> authz_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, UpstreamRoute> upstream_routes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, prometheus::Counter*> refreshes_by_result_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, prometheus::Counter*> webhooks_by_result_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, prometheus::Counter*> relayed_by_result_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, prometheus::Gauge*> subscribers_by_rpc_ ABSL_GUARDED_BY(mu_);
};

// One server-streaming call, for a reactor to hold as a member: Started (and one more subscriber)
// when constructed, Handled with the code given to SetCode (Unknown if none) when destroyed, i.e.
// when the stream has ended. Does nothing when `metrics` is null.
//
//   class Writer : public grpc::ServerWriteReactor<R> {
//     metrics::StreamCall call_{metrics, rpc, "WatchJourneyEvents"};
//     void FinishLocked(grpc::Status s) { call_.SetCode(s.error_code()); Finish(s); }
//   };
//
// Thread-safety: like the reactor: SetCode and MessageSent under the reactor's own lock or from its
// callbacks.
class StreamCall {
 public:
  // `subscriber`: whether the call counts in aarthik_stream_subscribers{rpc=rpc_name} while it
  // lasts (false for a call refused at once).
  StreamCall(GatewayMetrics* metrics, RpcInstruments* rpc, absl::string_view rpc_name,
             bool subscriber = true);
  ~StreamCall();
  StreamCall(const StreamCall&) = delete;
  StreamCall& operator=(const StreamCall&) = delete;

  void MessageSent();
  void SetCode(int grpc_code) { code_ = grpc_code; }

 private:
  GatewayMetrics* const metrics_;
  RpcInstruments* const rpc_;
  const std::string rpc_name_;
  const bool subscriber_;
  const absl::Time started_;
  int code_ = 2;  // Unknown until SetCode
};

}  // namespace aarthik::metrics

#endif  // AARTHIK_SERVER_METRICS_GATEWAY_METRICS_H_
