// Gateway: the assembled server. Owns the upstream event loop and transport, the route table, the
// session manager and the gRPC server with one RoutedService per platform service, health
// (grpc.health.v1, per service and overall) and server reflection.
//
//   absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(config);
//   std::cout << "listening " << (*gateway)->listen_address() << std::endl;
//   (*gateway)->Wait();        // until Shutdown() from another thread (e.g. on SIGTERM)
//
// main.cc starts it with StartOptions::http_own_thread false and runs the HTTP listener's I/O on
// the main thread (http_server().Serve()), with the signals and the housekeeping ticks as tasks of
// that thread: one thread fewer than a listener thread plus a main thread that waits.
//
// Thread-safety: Shutdown may be called from any thread; the rest is for the owning thread.
#ifndef AARTHIK_SERVER_RPC_GATEWAY_H_
#define AARTHIK_SERVER_RPC_GATEWAY_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "server/auth/session_manager.h"
#include "server/auth/token_store.h"
#include "server/core/config.h"
#include "server/core/secret.h"
#include "server/events/event_log.h"
#include "server/events/event_relay.h"
#include "server/events/journey_events_service.h"
#include "server/events/platform_state_fetcher.h"
#include "server/events/shared_state_fetcher.h"
#include "server/events/state_poller.h"
#include "server/events/webhook_receiver.h"
#include "server/http/grpc_listener_check.h"
#include "server/http/http_server.h"
#include "server/metrics/gateway_metrics.h"
#include "server/platform/platform_client.h"
#include "server/redis/redis_client.h"
#include "server/rpc/call_authz.h"
#include "server/rpc/callback_thread_park.h"
#include "server/rpc/grpc_loop_driver.h"
#include "server/rpc/reflection_service.h"
#include "server/rpc/routed_service.h"
#include "server/rpc/rpc_proxy.h"
#include "server/transcode/json_codec.h"
#include "server/transcode/request_mapper.h"
#include "server/transcode/route_table.h"
#include "server/upstream/curl_multi_transport.h"
#include "server/upstream/event_loop.h"
#include "server/upstream/http1_transport.h"

namespace aarthik::rpc {

// Health-check service name whose status follows the platform circuit breaker (NOT_SERVING while
// open).
inline constexpr char kUpstreamHealthService[] = "aarthik.gateway.upstream";

class Gateway {
 public:
  struct StartOptions {
    // false: the HTTP listener starts no thread; the owner runs it with http_server().Serve().
    bool http_own_thread = true;
  };
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(const core::Config& config,
                                                        StartOptions options);
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(const core::Config& config) {
    return Start(config, StartOptions());
  }
  ~Gateway();

  // "HOST:PORT" actually bound (the port is resolved when the config asked for port 0).
  const std::string& listen_address() const { return listen_address_; }
  // "HOST:PORT" of the HTTP listener (web-hooks, /healthz).
  const std::string& http_address() const { return http_->address(); }
  // The HTTP listener (web-hooks, /healthz, /metrics): its Serve, RunAfter, WhenReadable and Stop.
  http::HttpServer& http_server() { return *http_; }
  void Wait();
  // Drains: health turns NOT_SERVING, event streams end with UNAVAILABLE (reason
  // GATEWAY_SHUTTING_DOWN; clients resume elsewhere with their cursor), new calls are refused with
  // the same status for at least `delay` (gRPC cancels calls that reach a closed server, which
  // callers would see as CANCELLED), and in-flight unary calls get up to `grace` to finish before
  // they are cancelled. Blocks until they have finished and the delay has passed (or the grace is
  // over) and the gRPC server is shutting down; Wait() returns once all calls are done.
  // Idempotent; not from a gRPC, upstream or HTTP listener thread (main.cc calls it from a thread
  // it starts once a signal arrived).
  void Shutdown(absl::Duration grace = absl::Seconds(5),
                absl::Duration delay = absl::ZeroDuration());
  // Re-reads the secret files (API key, web-hook secrets, Redis password) and swaps in changed
  // values. The owner calls it every --secret-reload-interval from one thread: main.cc's main
  // thread, which also runs the HTTP listener, so that no thread exists for it alone (the
  // gateway's thread count is part of what benchmark c holds it to).
  void PollSecrets();

  const auth::SessionManager& sessions() const { return *sessions_; }
  const platform::PlatformClient& platform() const { return *platform_; }
  const metrics::GatewayMetrics& metrics() const { return *metrics_; }

 private:
  Gateway() = default;
  std::atomic<bool> shutting_down_{false};
  absl::Status StartEvents(const core::Config& config);
  // Memory, or with --redis-url the Redis connection and the tiered store in front of it.
  absl::Status StartTokenStore(const core::Config& config);
  // The authorization check of the streaming services; null when nothing is configured.
  std::function<absl::Status(const grpc::ServerContextBase&, absl::string_view)> StreamAdmission()
      const;
  // Hands the upstream loops to gRPC's poller when configured and possible; logs the outcome.
  void HandLoopsToGrpc(const core::Config& config);
  // Parks the gRPC callback threads beyond --grpc-callback-threads; logs the outcome.
  void ParkCallbackThreads(const core::Config& config);
  // A check of the gRPC listener (http/grpc_listener_check.h) decided; on the upstream loop.
  void OnListenerCheck(bool accepting, const absl::Status& result);

  std::string listen_address_;
  // First member: everything below may record into it until it is destroyed.
  std::unique_ptr<metrics::GatewayMetrics> metrics_;
  // With --upstream-polling=grpc (and a gRPC that allows it): polls the loops once the server runs.
  std::unique_ptr<GrpcLoopDriver> loop_driver_;
  // Holds gRPC's callback threads beyond --grpc-callback-threads; released before the server
  // shuts down.
  std::unique_ptr<CallbackThreadPark> callback_park_;
  // Upstream shards (loop + transport each); loop_ is shard 0's loop, which also runs the session
  // manager, Redis and the event machinery.
  std::vector<std::unique_ptr<upstream::EventLoop>> loops_;
  std::vector<std::unique_ptr<upstream::HttpTransport>> transports_;
  upstream::EventLoop* loop_ = nullptr;
  std::unique_ptr<transcode::RouteTable> routes_;
  std::unique_ptr<transcode::JsonCodec> codec_;
  std::unique_ptr<transcode::RequestMapper> mapper_;
  std::unique_ptr<platform::PlatformClient> platform_;
  // With --redis-url: the connection and the shared store behind tokens_ (a TieredTokenStore).
  std::unique_ptr<redis::RedisClient> redis_;
  redis::RedisClient::Options redis_options_;
  // With --redis-url: the web-hook relay's own connection (its XREAD blocks) and the relay.
  std::unique_ptr<redis::RedisClient> relay_redis_;
  std::unique_ptr<events::EventRelay> event_relay_;
  std::unique_ptr<auth::TokenStore> shared_tokens_;
  std::unique_ptr<auth::TokenStore> tokens_;
  std::unique_ptr<auth::SessionManager> sessions_;
  // Caller identity, policy and audit log (null when none is configured); before proxy_, which
  // uses it.
  std::unique_ptr<CallAuthz> authz_;
  std::unique_ptr<RpcProxy> proxy_;
  // Live journey events (docs/events.md).
  std::unique_ptr<events::WebhookVerifier> webhook_verifier_;
  std::unique_ptr<events::EventLog> event_log_;
  std::unique_ptr<events::EventLoopScheduler> poll_scheduler_;
  std::unique_ptr<events::PlatformStateFetcher> state_fetcher_;
  // With --redis-url: one replica polls each journey for all (in front of state_fetcher_).
  std::unique_ptr<events::SharedStateFetcher> shared_state_fetcher_;
  std::unique_ptr<events::StatePoller> state_poller_;
  std::unique_ptr<events::WebhookReceiver> webhook_receiver_;
  std::unique_ptr<events::JourneyEventsService> events_service_;
  std::unique_ptr<http::HttpServer> http_;
  std::atomic<const http::HttpServer*> http_sampled_{nullptr};  // http_, for /metrics scrapes
  std::vector<std::unique_ptr<RoutedService>> services_;
  std::unique_ptr<ReflectionService> reflection_;
  std::unique_ptr<grpc::Server> server_;
  // Whether a fresh connection to the gRPC port gets an answer; overall health (gRPC and
  // /healthz) is NOT_SERVING while it does not. Stopped first in Shutdown.
  std::unique_ptr<http::GrpcListenerCheck> listener_check_;
  std::atomic<bool> grpc_listener_accepting_{true};
  // Descriptor budget shares (core/fd_limits.h) for the HTTP listener, set before StartEvents.
  size_t http_max_connections_ = 0;
  bool http_own_thread_ = true;
  // The API key as the watcher keeps it current (shared with the proxy, sessions and state
  // fetcher).
  std::shared_ptr<core::Secret> api_key_;
  // Polled by PollSecrets (no thread of its own).
  std::unique_ptr<core::SecretFileWatcher> secret_watcher_;
};

}  // namespace aarthik::rpc

#endif  // AARTHIK_SERVER_RPC_GATEWAY_H_
