// PlatformClient: one logical call to the Aarthik Labs platform. It adds the headers every call
// carries (Authorization, Content-Type, Idempotency-Key for writes, X-Correlation-ID, traceparent,
// X-AL-API-Version), bounds each attempt by the caller's deadline, retries transient failures with
// backoff within a retry budget (RetryPolicy; the same Idempotency-Key on every attempt), fails
// fast while the circuit breaker is open, and decodes the envelope.
//
//   PlatformClient client(&loop, &transport, {.base_url = "https://api.credit.aarthiklabs.com"},
//   clock); client.Call({.method = "GET", .path_and_query = "/api/v1/headless/journeys/…/state",
//   .bearer = token,
//                .correlation_id = id, .deadline = deadline, .route = "GET …/state",
//                .envelope = gateway::v1::ENVELOPE_HEADLESS},
//               [](absl::StatusOr<transcode::PlatformReply> reply) { ... });
//
// The callback gets a PlatformReply for every HTTP answer (a platform error included, so that the
// caller can run the 401 refresh path), or an already-mapped gRPC-ready error for transport
// failures, an open breaker and unreadable 2xx bodies. Errors describe the last attempt.
//
// Thread-safety: Call and Cancel must run on the event loop's thread (callbacks run there too);
// breaker_state() and the counters may be read from any thread. Destroy the client on the loop's
// thread or once the loop has stopped: completions and retry timers that arrive later (a transport
// shutting down after the client completes its calls with CANCELLED) are dropped, and the callers'
// callbacks of calls still pending are destroyed without running.
#ifndef AARTHIK_SERVER_PLATFORM_PLATFORM_CLIENT_H_
#define AARTHIK_SERVER_PLATFORM_PLATFORM_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "aarthik/gateway/v1/options.pb.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/core/clock.h"
#include "server/metrics/gateway_metrics.h"
#include "server/platform/circuit_breaker.h"
#include "server/platform/retry_policy.h"
#include "server/transcode/platform_reply.h"
#include "server/upstream/event_loop.h"
#include "server/upstream/http_transport.h"

namespace aarthik::platform {

struct PlatformRequest {
  std::string method;  // GET, POST, PUT, PATCH, DELETE
  std::string path_and_query;
  std::string body;  // JSON; empty for none
  std::string bearer;
  std::string idempotency_key;  // sent when not empty
  std::string correlation_id;
  std::string traceparent;  // W3C trace context, sent when not empty
  std::string tracestate;
  absl::Time deadline = absl::InfiniteFuture();
  absl::Duration max_timeout = absl::Seconds(10);
  std::string route;  // Route::label, for errors
  aarthik::gateway::v1::Envelope envelope = aarthik::gateway::v1::ENVELOPE_HEADLESS;
};

using ReplyCallback = absl::AnyInvocable<void(absl::StatusOr<transcode::PlatformReply>)>;

struct PlatformClientOptions {
  std::string base_url;
  std::string api_version;  // X-AL-API-Version, sent when not empty
  RetryOptions retry;
  CircuitBreakerOptions breaker;
  // Upstream request, latency, in-flight and retry metrics; none when null.
  metrics::GatewayMetrics* metrics = nullptr;
};

class PlatformClient {
 public:
  using CallId = uint64_t;

  PlatformClient(upstream::EventLoop* loop, upstream::HttpTransport* transport,
                 PlatformClientOptions options, const core::Clock& clock,
                 CircuitBreaker::StateListener on_breaker_change = nullptr);

  CallId Call(PlatformRequest request, ReplyCallback done);
  // Ends the call with CANCELLED (the attempt in flight is cancelled, a pending retry dropped).
  void Cancel(CallId id);

  PlatformClient(const PlatformClient&) = delete;
  PlatformClient& operator=(const PlatformClient&) = delete;

  CircuitBreaker::State breaker_state() const { return breaker_.state(); }
  int64_t retries() const { return retries_.load(); }
  int64_t attempts() const { return attempts_.load(); }

 private:
  struct PendingCall {
    CallId id = 0;
    upstream::HttpRequest http;
    PlatformRequest
        request;  // path, deadline, route, envelope…; body and headers moved into `http`
    ReplyCallback done;
    int attempt = 0;
    upstream::HttpTransport::RequestId transport_id = 0;
    upstream::EventLoop::TimerId retry_timer = 0;
    absl::Time attempt_started;  // for the upstream latency metric
  };

  void Attempt(const std::shared_ptr<PendingCall>& call);
  void OnAttempt(const std::shared_ptr<PendingCall>& call,
                 absl::StatusOr<upstream::HttpResponse> response);
  void Finish(const std::shared_ptr<PendingCall>& call,
              absl::StatusOr<transcode::PlatformReply> outcome);

  upstream::EventLoop* loop_;
  upstream::HttpTransport* transport_;
  const PlatformClientOptions options_;
  const core::Clock& clock_;
  RetryPolicy retry_policy_;
  CircuitBreaker breaker_;
  std::mt19937_64 random_;
  CallId next_id_ = 0;
  absl::flat_hash_map<CallId, std::shared_ptr<PendingCall>> calls_;
  std::atomic<int64_t> retries_{0};
  std::atomic<int64_t> attempts_{0};
  // Transport callbacks and retry timers hold a weak reference: the transport may complete a
  // request (CANCELLED on its shutdown) after this client is gone.
  std::shared_ptr<PlatformClient*> alive_ = std::make_shared<PlatformClient*>(this);
};

}  // namespace aarthik::platform

#endif  // AARTHIK_SERVER_PLATFORM_PLATFORM_CLIENT_H_
