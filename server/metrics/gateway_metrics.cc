#include "server/metrics/gateway_metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace aarthik::metrics {
namespace {

// go-grpc-prometheus (and the Go client's DefBuckets) use these; keeping them lets its dashboards'
// bucket queries work unchanged.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *buckets;
}

const char* TypeLabel(RpcType type) { return type == RpcType::kUnary ? "unary" : "server_stream"; }

constexpr const char* kCircuitStateNames[] = {"closed", "half_open", "open"};
constexpr const char* kTokenStoreOperations[] = {"load", "save", "lock"};

// The child of `family` for a single-label value, cached in `cache` (mu held by the caller).
template <typename T>
T* ChildLocked(prometheus::Family<T>* family, absl::flat_hash_map<std::string, T*>& cache,
               const char* label, absl::string_view value) {
  auto [it, inserted] = cache.try_emplace(value, nullptr);
  if (inserted) it->second = &family->Add({{label, std::string(value)}});
  return it->second;
}

}  // namespace

absl::string_view GrpcCodeName(int code) {
  // Exactly google.golang.org/grpc/codes Code.String() (note the Go spelling "Canceled").
  static constexpr const char* kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code < 0 || code >= static_cast<int>(sizeof(kNames) / sizeof(kNames[0]))) return "Unknown";
  return kNames[code];
}

std::string UpstreamHttpStatus(int http_status) { return absl::StrCat(http_status); }

RpcInstruments::RpcInstruments(GatewayMetrics* owner, RpcType type, std::string service,
                               std::string method)
    : owner_(owner),
      type_(TypeLabel(type)),
      service_(std::move(service)),
      method_(std::move(method)) {
  const prometheus::Labels labels = {
      {"grpc_type", type_}, {"grpc_service", service_}, {"grpc_method", method_}};
  started_ = &owner_->grpc_started_->Add(labels);
  received_ = &owner_->grpc_received_->Add(labels);
  sent_ = &owner_->grpc_sent_->Add(labels);
  seconds_ = &owner_->grpc_seconds_->Add(labels, LatencyBuckets());
  in_flight_ = &owner_->rpcs_in_flight_->Add({{"grpc_type", type_}});
}

void RpcInstruments::Started() {
  started_->Increment();
  received_->Increment();
  in_flight_->Increment();
}

void RpcInstruments::MessageSent() { sent_->Increment(); }

void RpcInstruments::Handled(int grpc_code, absl::Duration elapsed) {
  HandledCounter(grpc_code).Increment();
  seconds_->Observe(absl::ToDoubleSeconds(elapsed));
  in_flight_->Decrement();
}

prometheus::Counter& RpcInstruments::HandledCounter(int code) {
  if (code < 0 || code >= kCodes) code = 2;  // UNKNOWN
  prometheus::Counter* counter = handled_[code].load(std::memory_order_acquire);
  if (counter != nullptr) return *counter;
  std::lock_guard<std::mutex> lock(handled_mu_);
  counter = handled_[code].load(std::memory_order_relaxed);
  if (counter == nullptr) {
    counter = &owner_->grpc_handled_->Add({{"grpc_type", type_},
                                           {"grpc_service", service_},
                                           {"grpc_method", method_},
                                           {"grpc_code", std::string(GrpcCodeName(code))}});
    handled_[code].store(counter, std::memory_order_release);
  }
  return *counter;
}

void RpcInstruments::FieldDropped(absl::string_view reason) {
  std::lock_guard<std::mutex> lock(dropped_mu_);
  auto [it, inserted] = dropped_.try_emplace(reason, nullptr);
  if (inserted) {
    it->second = &owner_->fields_dropped_->Add(
        {{"rpc", absl::StrCat(service_, ".", method_)}, {"reason", std::string(reason)}});
  }
  it->second->Increment();
}

GatewayMetrics::GatewayMetrics() : registry_(std::make_unique<prometheus::Registry>()) {
  prometheus::Registry& r = *registry_;
  grpc_started_ = &prometheus::BuildCounter()
                       .Name("grpc_server_started_total")
                       .Help("Total number of RPCs started on the server.")
                       .Register(r);
  grpc_handled_ =
      &prometheus::BuildCounter()
           .Name("grpc_server_handled_total")
           .Help("Total number of RPCs completed on the server, regardless of success or failure.")
           .Register(r);
  grpc_seconds_ =
      &prometheus::BuildHistogram()
           .Name("grpc_server_handling_seconds")
           .Help(
               "Histogram of response latency (seconds) of gRPC that had been application-level "
               "handled by the server.")
           .Register(r);
  grpc_received_ = &prometheus::BuildCounter()
                        .Name("grpc_server_msg_received_total")
                        .Help("Total number of RPC stream messages received on the server.")
                        .Register(r);
  grpc_sent_ = &prometheus::BuildCounter()
                    .Name("grpc_server_msg_sent_total")
                    .Help("Total number of gRPC stream messages sent by the server.")
                    .Register(r);
  rpcs_in_flight_ = &prometheus::BuildGauge()
                         .Name("aarthik_rpcs_in_flight")
                         .Help("RPCs being served now (server_stream: open streams).")
                         .Register(r);
  rpcs_shed_ = &prometheus::BuildCounter()
                    .Name("aarthik_rpcs_shed_total")
                    .Help(
                        "RPCs refused with RESOURCE_EXHAUSTED because --max-pending-rpcs calls "
                        "were in progress.")
                    .Register(r)
                    .Add({});
  upstream_requests_ =
      &prometheus::BuildCounter()
           .Name("aarthik_upstream_requests_total")
           .Help(
               "HTTP attempts to the platform by route template and HTTP status or transport "
               "error class.")
           .Register(r);
  upstream_seconds_ = &prometheus::BuildHistogram()
                           .Name("aarthik_upstream_request_seconds")
                           .Help("Duration of one HTTP attempt to the platform, by route template.")
                           .Register(r);
  upstream_retries_ =
      &prometheus::BuildCounter()
           .Name("aarthik_upstream_retries_total")
           .Help("Retries scheduled by the gateway's retry policy, by route template.")
           .Register(r);
  upstream_in_flight_ = &prometheus::BuildGauge()
                             .Name("aarthik_upstream_in_flight")
                             .Help("HTTP requests to the platform in flight now.")
                             .Register(r)
                             .Add({});
  circuit_state_ = &prometheus::BuildGauge()
                        .Name("aarthik_upstream_circuit_state")
                        .Help("Platform circuit breaker: 0 closed, 1 half-open, 2 open.")
                        .Register(r)
                        .Add({});
  fields_dropped_ = &prometheus::BuildCounter()
                         .Name("aarthik_upstream_fields_dropped_total")
                         .Help(
                             "Values of the platform's successful replies the gateway could not "
                             "carry to the caller (unknown field, unknown enum value, shape "
                             "mismatch in a lenient field), by RPC and reason.")
                         .Register(r);
  auto& transitions = prometheus::BuildCounter()
                          .Name("aarthik_upstream_circuit_transitions_total")
                          .Help("Circuit breaker state changes, by the state entered.")
                          .Register(r);
  for (int i = 0; i < 3; ++i)
    circuit_transitions_[i] = &transitions.Add({{"to", kCircuitStateNames[i]}});
  sessions_minted_ = &prometheus::BuildCounter()
                          .Name("aarthik_sessions_minted_total")
                          .Help("Borrower sessions minted (POST /sessions answered with tokens).")
                          .Register(r)
                          .Add({});
  session_mint_failures_ = &prometheus::BuildCounter()
                                .Name("aarthik_session_mint_failures_total")
                                .Help("Borrower session mints that produced no tokens.")
                                .Register(r)
                                .Add({});
  auto& token_store_failures =
      prometheus::BuildCounter()
          .Name("aarthik_token_store_failures_total")
          .Help(
              "Token store operations that failed, by operation (Redis trouble with --redis-url).")
          .Register(r);
  for (int i = 0; i < 3; ++i) {
    token_store_failures_[i] = &token_store_failures.Add({{"operation", kTokenStoreOperations[i]}});
  }
  session_refreshes_ = &prometheus::BuildCounter()
                            .Name("aarthik_session_refreshes_total")
                            .Help("Borrower session refreshes, by result (ok, rejected, failed).")
                            .Register(r);
  webhooks_ = &prometheus::BuildCounter()
                   .Name("aarthik_webhooks_received_total")
                   .Help("Platform web-hook deliveries, by result.")
                   .Register(r);
  webhooks_relayed_ = &prometheus::BuildCounter()
                           .Name("aarthik_webhooks_relayed_total")
                           .Help("Web-hooks shared between replicas through Redis, by result.")
                           .Register(r);
  redis_connected_ = &prometheus::BuildGauge()
                          .Name("aarthik_redis_connected")
                          .Help("1 while the Redis connection is established, by connection.")
                          .Register(r);
  stream_subscribers_ = &prometheus::BuildGauge()
                             .Name("aarthik_stream_subscribers")
                             .Help("Open streams of the gateway's streaming RPCs, by method.")
                             .Register(r);
  grpc_listener_accepting_ =
      &prometheus::BuildGauge()
           .Name("aarthik_grpc_listener_accepting")
           .Help("1 while a fresh loopback connection to the gRPC port gets gRPC's answer.")
           .Register(r)
           .Add({});
  grpc_listener_accepting_->Set(1);
  grpc_listener_check_failures_ =
      &prometheus::BuildCounter()
           .Name("aarthik_grpc_listener_check_failures_total")
           .Help("Checks of the gRPC listener whose connection got no answer from gRPC.")
           .Register(r)
           .Add({});
  authz_decisions_ = &prometheus::BuildCounter()
                          .Name("aarthik_authz_decisions_total")
                          .Help(
                              "Authorization decisions, by decision (allow, deny, unauthenticated, "
                              "audit_deny) and method.")
                          .Register(r);
  authz_reloads_ =
      &prometheus::BuildCounter()
           .Name("aarthik_authz_reloads_total")
           .Help(
               "Re-reads of the authorization policy, JWKS and client CA files that changed "
               "them (ok) or were refused (rejected), by file.")
           .Register(r);
  authz_policy_stale_ = &prometheus::BuildGauge()
                             .Name("aarthik_authz_policy_stale")
                             .Help(
                                 "1 while the policy file is refused and the last good policy "
                                 "is in force.")
                             .Register(r)
                             .Add({});
  audit_records_ = &prometheus::BuildCounter()
                        .Name("aarthik_audit_records_total")
                        .Help("Audit records written to the audit sink.")
                        .Register(r)
                        .Add({});
  audit_dropped_ =
      &prometheus::BuildCounter()
           .Name("aarthik_audit_records_dropped_total")
           .Help("Audit records lost, by reason (queue_full, write_refused, io_error).")
           .Register(r);
  for (const char* reason : {"queue_full", "write_refused", "io_error"}) {
    audit_dropped_->Add({{"reason", reason}});
  }
  stream_overflows_ = &prometheus::BuildCounter()
                           .Name("aarthik_stream_overflows_total")
                           .Help(
                               "WatchJourneyEvents subscribers closed because their caller stopped "
                               "reading: a queue of unsent events was full (RESOURCE_EXHAUSTED).")
                           .Register(r)
                           .Add({});
  heap_allocated_ = &prometheus::BuildGauge()
                         .Name("aarthik_heap_allocated_bytes")
                         .Help("Bytes in live heap allocations (jemalloc's stats.allocated).")
                         .Register(r)
                         .Add({});
  heap_resident_ = &prometheus::BuildGauge()
                        .Name("aarthik_heap_resident_bytes")
                        .Help(
                            "Bytes of the allocator's pages in RAM, its metadata included "
                            "(jemalloc's stats.resident); less aarthik_heap_allocated_bytes: "
                            "what it keeps for reuse.")
                        .Register(r)
                        .Add({});
  http_open_connections_ = &prometheus::BuildGauge()
                                .Name("aarthik_http_open_connections")
                                .Help(
                                    "Connections open on the HTTP listener (--http-max-connections "
                                    "at most).")
                                .Register(r)
                                .Add({});
  http_accept_failures_ = &prometheus::BuildCounter()
                               .Name("aarthik_http_accept_failures_total")
                               .Help(
                                   "Accepts on the HTTP listener that failed for lack of "
                                   "descriptors or buffers (each followed by a pause).")
                               .Register(r)
                               .Add({});
  http_evicted_ = &prometheus::BuildCounter()
                       .Name("aarthik_http_evicted_connections_total")
                       .Help(
                           "Idle HTTP connections closed at the connection cap to let a new "
                           "one in.")
                       .Register(r)
                       .Add({});
  // Present from the first scrape so that rate() and absence alerts see a zero, not a missing
  // series.
  absl::MutexLock lock(&mu_);
  for (const char* result : {"ok", "rejected", "failed"}) {
    refreshes_by_result_[result] = &session_refreshes_->Add({{"result", result}});
  }
}

GatewayMetrics::~GatewayMetrics() = default;

RpcInstruments* GatewayMetrics::Rpc(RpcType type, absl::string_view service,
                                    absl::string_view method) {
  std::string key = absl::StrCat(TypeLabel(type), " ", service, "/", method);
  absl::MutexLock lock(&mu_);
  std::unique_ptr<RpcInstruments>& slot = rpcs_[key];
  if (slot == nullptr) {
    slot.reset(new RpcInstruments(this, type, std::string(service), std::string(method)));
  }
  return slot.get();
}

void GatewayMetrics::RpcShed() { rpcs_shed_->Increment(); }

GatewayMetrics::UpstreamRoute& GatewayMetrics::RouteLocked(absl::string_view route) {
  auto [it, inserted] = upstream_routes_.try_emplace(route);
  if (inserted) {
    const prometheus::Labels labels = {{"route", std::string(route)}};
    it->second.seconds = &upstream_seconds_->Add(labels, LatencyBuckets());
    it->second.retries = &upstream_retries_->Add(labels);
  }
  return it->second;
}

void GatewayMetrics::UpstreamStarted() { upstream_in_flight_->Increment(); }

void GatewayMetrics::UpstreamFinished(absl::string_view route, absl::string_view status,
                                      absl::Duration elapsed) {
  upstream_in_flight_->Decrement();
  prometheus::Counter* requests;
  prometheus::Histogram* seconds;
  {
    absl::MutexLock lock(&mu_);
    UpstreamRoute& instruments = RouteLocked(route);
    seconds = instruments.seconds;
    auto [it, inserted] = instruments.by_status.try_emplace(status, nullptr);
    if (inserted) {
      it->second = &upstream_requests_->Add(
          {{"route", std::string(route)}, {"status", std::string(status)}});
    }
    requests = it->second;
  }
  requests->Increment();
  seconds->Observe(absl::ToDoubleSeconds(elapsed));
}

void GatewayMetrics::UpstreamRetry(absl::string_view route) {
  prometheus::Counter* retries;
  {
    absl::MutexLock lock(&mu_);
    retries = RouteLocked(route).retries;
  }
  retries->Increment();
}

void GatewayMetrics::CircuitStateChanged(CircuitState state) {
  const int index = static_cast<int>(state);
  circuit_state_->Set(index);
  circuit_transitions_[index]->Increment();
}

void GatewayMetrics::SessionMinted() { sessions_minted_->Increment(); }
void GatewayMetrics::SessionMintFailed() { session_mint_failures_->Increment(); }
void GatewayMetrics::TokenStoreFailed(absl::string_view operation) {
  for (int i = 0; i < 3; ++i) {
    if (operation == kTokenStoreOperations[i]) token_store_failures_[i]->Increment();
  }
}

void GatewayMetrics::SessionRefreshed(absl::string_view result) {
  prometheus::Counter* counter;
  {
    absl::MutexLock lock(&mu_);
    counter = ChildLocked(session_refreshes_, refreshes_by_result_, "result", result);
  }
  counter->Increment();
}

void GatewayMetrics::RedisConnected(absl::string_view connection, bool connected) {
  // Family::Add returns the existing child for the same labels and is thread-safe.
  redis_connected_->Add({{"connection", std::string(connection)}}).Set(connected ? 1 : 0);
}

void GatewayMetrics::GrpcListenerChecked(bool accepting) {
  grpc_listener_accepting_->Set(accepting ? 1 : 0);
  if (!accepting) grpc_listener_check_failures_->Increment();
}

void GatewayMetrics::HttpListenerSampled(size_t open_connections, uint64_t accept_failures_total,
                                         uint64_t evicted_total) {
  http_open_connections_->Set(static_cast<double>(open_connections));
  if (accept_failures_total > http_accept_failures_seen_) {
    http_accept_failures_->Increment(
        static_cast<double>(accept_failures_total - http_accept_failures_seen_));
    http_accept_failures_seen_ = accept_failures_total;
  }
  if (evicted_total > http_evicted_seen_) {
    http_evicted_->Increment(static_cast<double>(evicted_total - http_evicted_seen_));
    http_evicted_seen_ = evicted_total;
  }
}

void GatewayMetrics::EventSubscribersOverflowedSampled(uint64_t overflowed_total) {
  if (overflowed_total > stream_overflows_seen_) {
    stream_overflows_->Increment(static_cast<double>(overflowed_total - stream_overflows_seen_));
    stream_overflows_seen_ = overflowed_total;
  }
}

void GatewayMetrics::HeapSampled(size_t allocated_bytes, size_t resident_bytes) {
  heap_allocated_->Set(static_cast<double>(allocated_bytes));
  heap_resident_->Set(static_cast<double>(resident_bytes));
}

void GatewayMetrics::WebhookRelayed(absl::string_view result) {
  prometheus::Counter* counter;
  {
    absl::MutexLock lock(&mu_);
    counter = ChildLocked(webhooks_relayed_, relayed_by_result_, "result", result);
  }
  counter->Increment();
}

void GatewayMetrics::WebhookReceived(absl::string_view result) {
  prometheus::Counter* counter;
  {
    absl::MutexLock lock(&mu_);
    counter = ChildLocked(webhooks_, webhooks_by_result_, "result", result);
  }
  counter->Increment();
}

void GatewayMetrics::StreamSubscribers(absl::string_view rpc, int delta) {
  prometheus::Gauge* gauge;
  {
    absl::MutexLock lock(&mu_);
    gauge = ChildLocked(stream_subscribers_, subscribers_by_rpc_, "rpc", rpc);
  }
  gauge->Increment(delta);
}

void AuthzInstruments::Decided(AuthzDecision decision) {
  decisions_[static_cast<int>(decision)]->Increment();
}

AuthzInstruments* GatewayMetrics::Authz(absl::string_view method) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<AuthzInstruments>& slot = authz_[method];
  if (slot == nullptr) {
    slot.reset(new AuthzInstruments());
    const char* names[] = {"allow", "deny", "unauthenticated", "audit_deny"};
    for (int i = 0; i < 4; ++i) {
      slot->decisions_[i] =
          &authz_decisions_->Add({{"decision", names[i]}, {"method", std::string(method)}});
    }
  }
  return slot.get();
}

void GatewayMetrics::AuthzReloaded(absl::string_view file, absl::string_view result) {
  // Rare (a changed file): Family::Add finds the existing child under its own lock.
  authz_reloads_->Add({{"file", std::string(file)}, {"result", std::string(result)}}).Increment();
}

void GatewayMetrics::AuthzPolicyStale(bool stale) { authz_policy_stale_->Set(stale ? 1 : 0); }

void GatewayMetrics::AuditRecorded() { audit_records_->Increment(); }

void GatewayMetrics::AuditDropped(absl::string_view reason) {
  audit_dropped_->Add({{"reason", std::string(reason)}}).Increment();
}

StreamCall::StreamCall(GatewayMetrics* metrics, RpcInstruments* rpc, absl::string_view rpc_name,
                       bool subscriber)
    : metrics_(metrics),
      rpc_(metrics != nullptr ? rpc : nullptr),
      rpc_name_(rpc_name),
      subscriber_(subscriber && metrics != nullptr),
      started_(absl::Now()) {
  if (rpc_ != nullptr) rpc_->Started();
  if (subscriber_) metrics_->StreamSubscribers(rpc_name_, 1);
}

StreamCall::~StreamCall() {
  if (rpc_ != nullptr) rpc_->Handled(code_, absl::Now() - started_);
  if (subscriber_) metrics_->StreamSubscribers(rpc_name_, -1);
}

void StreamCall::MessageSent() {
  if (rpc_ != nullptr) rpc_->MessageSent();
}

std::string GatewayMetrics::Serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace aarthik::metrics
