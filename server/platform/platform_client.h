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
// Several upstream shards: each is an event loop with its own transport (a libcurl multi handle
// and its connections), so that no single upstream thread caps the gateway. A call runs on the
// shard whose loop it is made on; the circuit breaker and the retry budget are shared by all
// shards (one platform, one health picture).
//
// Thread-safety: Call must run on one of the shards' loops (callbacks run on that loop too).
// Cancel, breaker_state() and the counters may be called from any thread. Destroy the client once
// every shard's loop has stopped, or on the only shard's loop: completions and retry timers that
// arrive later (a transport shutting down after the client completes its calls with CANCELLED)
// are dropped, and the callers' callbacks of calls still pending are destroyed without running.
#ifndef AARTHIK_SERVER_PLATFORM_PLATFORM_CLIENT_H_
#define AARTHIK_SERVER_PLATFORM_PLATFORM_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

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
#include "server/transcode/simdjson_view.h"
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
  // Optional: decodes a plain success's payload straight from the parsed body (fast_reply.h), on
  // the loop, before the reply callback; the reply's data_decoded then says that it succeeded (a
  // payload it fails on is decoded again the full way).
  absl::AnyInvocable<absl::Status(transcode::SimdjsonView data)> decode_data;
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

// One event loop and the transport driven from it.
struct UpstreamShard {
  upstream::EventLoop* loop = nullptr;
  upstream::HttpTransport* transport = nullptr;
};

class PlatformClient {
 public:
  using CallId = uint64_t;

  PlatformClient(std::vector<UpstreamShard> shards, PlatformClientOptions options,
                 const core::Clock& clock,
                 CircuitBreaker::StateListener on_breaker_change = nullptr);
  // One shard.
  PlatformClient(upstream::EventLoop* loop, upstream::HttpTransport* transport,
                 PlatformClientOptions options, const core::Clock& clock,
                 CircuitBreaker::StateListener on_breaker_change = nullptr)
      : PlatformClient({UpstreamShard{loop, transport}}, std::move(options), clock,
                       std::move(on_breaker_change)) {}

  // On a shard's loop.
  CallId Call(PlatformRequest request, ReplyCallback done);
  // Ends the call with CANCELLED (the attempt in flight is cancelled, a pending retry dropped).
  // Any thread: runs on the call's shard.
  void Cancel(CallId id);

  // Runs `task` on one of the shards' loops, where it may Call: right here on an idle loop whose
  // transport has a kept-alive connection free (from a rotating start, so calls spread over the
  // shards), else queued on a loop that has one. Only when no loop has one does the call run on
  // any idle loop, there to open a connection. Every loop keeps connections of its own: taking
  // free ones, and waiting for a busy loop's rather than opening one on an idle loop, keeps the
  // total near the calls in flight instead of a full set per loop (each a TLS handshake). The
  // connection is reserved before the loop is picked (HttpTransport::ReserveConnection), so two
  // calls cannot both count on the last free one, and a burst of queued calls spreads over the
  // idle connections of all loops. Any thread.
  template <typename Task>
  void RunOnShard(Task&& task) {
    const size_t count = shards_.size();
    const size_t start = next_shard_.fetch_add(1, std::memory_order_relaxed) % count;
    for (size_t i = 0; i < count; ++i) {
      Shard& shard = *shards_[(start + i) % count];
      if (!shard.transport->ReserveConnection()) continue;
      auto reserved = [&] { shard.transport->RunReserved(task); };
      if (shard.loop->RunIfIdle(reserved)) return;
      shard.transport->CancelReservation();
    }
    for (size_t i = 0; i < count; ++i) {
      Shard& shard = *shards_[(start + i) % count];
      if (!shard.transport->ReserveConnection()) continue;
      // Should the loop drop the task (it is stopping), the reservation goes with its transport.
      shard.loop->Post([transport = shard.transport, task = std::forward<Task>(task)]() mutable {
        transport->RunReserved(task);
      });
      return;
    }
    for (size_t i = 0; i < count; ++i) {
      if (shards_[(start + i) % count]->loop->RunIfIdle(task)) return;
    }
    shards_[start]->loop->Post(std::forward<Task>(task));
  }
  size_t shard_count() const { return shards_.size(); }

  PlatformClient(const PlatformClient&) = delete;
  PlatformClient& operator=(const PlatformClient&) = delete;

  CircuitBreaker::State breaker_state() const { return breaker_.state(); }
  int64_t retries() const { return retries_.load(); }
  int64_t attempts() const { return attempts_.load(); }

 private:
  struct PendingCall {
    CallId id = 0;
    PlatformRequest request;  // each attempt's HTTP request is built from it
    ReplyCallback done;
    int attempt = 0;
    upstream::HttpTransport::RequestId transport_id = 0;
    upstream::EventLoop::TimerId retry_timer = 0;
    absl::Time attempt_started;  // for the upstream latency metric
  };

  // A shard's calls; touched only on its loop.
  struct Shard {
    upstream::EventLoop* loop = nullptr;
    upstream::HttpTransport* transport = nullptr;
    CallId index = 0;
    std::mt19937_64 random;
    CallId next_sequence = 0;
    absl::flat_hash_map<CallId, std::shared_ptr<PendingCall>> calls;
  };
  // The shard index lives in a call ID's low bits, so Cancel finds the call's loop.
  static constexpr int kShardBits = 8;

  Shard& CurrentShard();
  Shard& ShardOf(CallId id) { return *shards_[id & ((CallId{1} << kShardBits) - 1)]; }
  void CancelOnShard(Shard& shard, CallId id);
  void Attempt(Shard& shard, const std::shared_ptr<PendingCall>& call);
  void OnAttempt(Shard& shard, const std::shared_ptr<PendingCall>& call,
                 absl::StatusOr<upstream::HttpResponse> response);
  void Finish(Shard& shard, const std::shared_ptr<PendingCall>& call,
              absl::StatusOr<transcode::PlatformReply> outcome);

  const PlatformClientOptions options_;
  const core::Clock& clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<size_t> next_shard_{0};
  // Shared by the shards; guarded by budget_mu_ (held for a few nanoseconds per attempt).
  std::mutex budget_mu_;
  RetryPolicy retry_policy_;
  CircuitBreaker breaker_;
  std::atomic<int64_t> retries_{0};
  std::atomic<int64_t> attempts_{0};
  // Transport callbacks and retry timers hold a weak reference: the transport may complete a
  // request (CANCELLED on its shutdown) after this client is gone.
  std::shared_ptr<PlatformClient*> alive_ = std::make_shared<PlatformClient*>(this);
};

}  // namespace aarthik::platform

#endif  // AARTHIK_SERVER_PLATFORM_PLATFORM_CLIENT_H_
