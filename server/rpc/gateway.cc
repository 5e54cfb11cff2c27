#include "server/rpc/gateway.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/support/cpu.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "server/auth/redis_token_store.h"
#include "server/core/fd_limits.h"
#include "server/core/log.h"
#include "server/core/memory.h"
#include "server/http/gateway_routes.h"
#include "server/rpc/busy_poll.h"
#include "server/rpc/grpc_cpu_count.h"
#include "server/transcode/rpc_error.h"

namespace aarthik::rpc {
namespace {

// Re-reads of rotated secret files get the same checks as the reads at start-up.
absl::StatusOr<std::string> ReadApiKeyFile(const std::string& path) {
  absl::StatusOr<std::string> key = core::ReadSecretFile(path);
  if (key.ok() && !absl::StartsWith(*key, "sk_")) {
    return absl::InvalidArgumentError("the API key file does not hold an sk_* key");
  }
  return key;
}

absl::StatusOr<std::string> ReadWebhookSecretFile(const std::string& path) {
  absl::StatusOr<std::vector<std::string>> secrets = events::LoadSecretFiles({path});
  if (!secrets.ok()) return secrets.status();
  return secrets->front();
}

}  // namespace
namespace {

int Milliseconds(absl::Duration duration) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(duration), INT32_MAX));
}

// The gRPC listener's credentials: plaintext, TLS, or mutual TLS (ParseConfig checked the files).
// The files are re-read every tls_reload_interval, so a rotated certificate (an updated Kubernetes
// secret, whose files change together) serves new handshakes without a restart. With a client CA
// the handshake asks for a client certificate (and proves the client holds its key) but leaves the
// chain check to each call (authz::ClientCertVerifier, via CallAuthz): a missing or foreign
// certificate is then UNAUTHENTICATED with a reason, not a failed handshake the client sees as
// UNAVAILABLE.
std::shared_ptr<grpc::ServerCredentials> ListenerCredentials(const core::Config& config) {
  if (config.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      config.tls_key_file, config.tls_cert_file,
      static_cast<unsigned int>(
          std::max<int64_t>(1, absl::ToInt64Seconds(config.tls_reload_interval))));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!config.tls_client_ca_file.empty()) {
    options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

// Descriptors one upstream connection may hold: with the HTTP/1.1 transport a TLS connection keeps
// a libcurl multi handle of its own (whose wake-up socketpair is two more), plain connects share
// one per 64; the HTTP/2 transport shares one per 8 connections.
double UpstreamFdsPerConnection(const core::Config& config) {
  if (config.upstream_protocol == "http2") return 1.25;
  return absl::StartsWith(config.upstream_url, "https://") ? 3.0 : 1.05;
}

// Shares the descriptor limit between the HTTP listener, the upstream connections and Redis so
// that they leave a reserve to gRPC's listener (core/fd_limits.h).
core::FdBudget PlanDescriptors(const core::Config& config) {
  core::FdBudget budget = core::PlanFdBudget(
      {.fd_limit = core::CurrentFdLimit(),
       .http_max_connections = static_cast<size_t>(config.http_max_connections),
       .upstream_max_connections = static_cast<size_t>(config.max_in_flight_upstream),
       .upstream_fds_per_connection = UpstreamFdsPerConnection(config),
       .redis = !config.redis_url.empty()});
  core::Log(budget.http_capped || budget.upstream_capped ? core::Severity::kWarning
                                                         : core::Severity::kInfo,
            "descriptor budget",
            {{"fd_limit", absl::StrCat(core::CurrentFdLimit())},
             {"reserve", absl::StrCat(budget.reserve)},
             {"http_max_connections", absl::StrCat(budget.http_max_connections)},
             {"upstream_max_connections", absl::StrCat(budget.upstream_max_connections)},
             {"redis_fds", absl::StrCat(budget.redis_fds)},
             {"capped", budget.http_capped || budget.upstream_capped
                            ? "yes: raise the hard RLIMIT_NOFILE to use the configured bounds"
                            : "no"}});
  return budget;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const core::Config& config,
                                                        StartOptions options) {
  std::unique_ptr<Gateway> gateway(new Gateway());
  gateway->metrics_ = std::make_unique<metrics::GatewayMetrics>();
  absl::StatusOr<transcode::RouteTable> routes =
      transcode::RouteTable::Build(transcode::PlatformServices());
  if (!routes.ok()) return routes.status();
  if (routes->routes().empty())
    return absl::InternalError("no routed services are linked into the gateway");
  gateway->routes_ = std::make_unique<transcode::RouteTable>(*std::move(routes));

  std::vector<const google::protobuf::Descriptor*> messages;
  for (const auto& route : gateway->routes_->routes()) {
    messages.push_back(route->method->input_type());
    messages.push_back(route->method->output_type());
  }
  gateway->codec_ = std::make_unique<transcode::JsonCodec>(messages);
  gateway->mapper_ = std::make_unique<transcode::RequestMapper>(
      gateway->codec_.get(),
      transcode::EdgeLimits{config.max_field_length, config.tenant_id, config.application_id});

  // Upstream shards: each an event loop with its own transport and connections, the caps split
  // between them.
  // gRPC sizes its own threads from the same budget (grpc_cpu_count.h).
  if (absl::Status cpus_override = GrpcCpuOverrideStatus(); !cpus_override.ok()) {
    return cpus_override;
  }
  const core::CpuBudget& cpus = GrpcCpuBudget();
  const int shard_count =
      config.upstream_threads > 0 ? config.upstream_threads : std::clamp(cpus.usable, 2, 8);
  core::Log(core::Severity::kInfo, "upstream event loops",
            {{"loops", absl::StrCat(shard_count)},
             {"grpc_cpus", absl::StrCat(gpr_cpu_num_cores())},
             {"configured", absl::StrCat(config.upstream_threads)},
             {"cpus_online", absl::StrCat(cpus.online)},
             {"cpus_affinity", absl::StrCat(cpus.affinity)},
             {"cpu_quota", cpus.quota ? absl::StrCat(*cpus.quota) : "none"},
             {"cpus_configured", cpus.configured ? absl::StrCat(*cpus.configured) : "none"},
             {"cpus_usable", absl::StrCat(cpus.usable)}});
  const core::FdBudget descriptors = PlanDescriptors(config);
  gateway->http_max_connections_ = descriptors.http_max_connections;
  gateway->http_own_thread_ = options.http_own_thread;
  // Each request in flight holds a connection (HTTP/1.1), so the in-flight cap is also the
  // connection cap; beyond the descriptor budget calls are shed rather than starving gRPC.
  const int per_shard_in_flight =
      std::min((config.max_in_flight_upstream + shard_count - 1) / shard_count,
               std::max(1, static_cast<int>(descriptors.upstream_max_connections) / shard_count));
  std::vector<platform::UpstreamShard> shards;
  for (int i = 0; i < shard_count; ++i) {
    gateway->loops_.push_back(std::make_unique<upstream::EventLoop>());
    upstream::EventLoop* loop = gateway->loops_.back().get();
    if (config.upstream_protocol == "http2") {
      upstream::CurlMultiTransport::Options options;
      options.max_in_flight = static_cast<size_t>(per_shard_in_flight);
      options.max_response_bytes = static_cast<size_t>(config.max_response_bytes);
      // HTTP/1.1 upstreams need a connection per request in flight: a smaller keep-alive cache
      // would close and reopen connections under load.
      options.max_connections = per_shard_in_flight;
      options.ca_bundle_path = config.upstream_ca_file;
      gateway->transports_.push_back(std::make_unique<upstream::CurlMultiTransport>(loop, options));
    } else {
      upstream::Http1Transport::Options options;
      options.max_in_flight = static_cast<size_t>(per_shard_in_flight);
      options.max_response_bytes = static_cast<size_t>(config.max_response_bytes);
      options.max_idle_connections = static_cast<size_t>(per_shard_in_flight);
      options.ca_bundle_path = config.upstream_ca_file;
      gateway->transports_.push_back(std::make_unique<upstream::Http1Transport>(loop, options));
    }
    loop->Start();
    shards.push_back({loop, gateway->transports_.back().get()});
  }
  gateway->loop_ = gateway->loops_.front().get();
  platform::PlatformClientOptions platform_options;
  platform_options.base_url = config.upstream_url;
  platform_options.api_version = config.api_version;
  platform_options.retry.max_attempts = config.retry_max_attempts;
  platform_options.retry.budget_ratio = config.retry_budget_ratio;
  platform_options.breaker.consecutive_failures = config.breaker_consecutive_failures;
  platform_options.breaker.open_for = config.breaker_open_for;
  platform_options.breaker.min_requests = config.breaker_min_requests;
  platform_options.breaker.failure_ratio = config.breaker_failure_ratio;
  platform_options.metrics = gateway->metrics_.get();
  Gateway* self = gateway.get();
  gateway->platform_ = std::make_unique<platform::PlatformClient>(
      std::move(shards), platform_options, core::Clock::Real(),
      [self](platform::CircuitBreaker::State state) {
        // Runs on the upstream loop; the health service is thread-safe. Overall health stays
        // SERVING: a platform outage must not take every replica out of the load balancer.
        core::Log(core::Severity::kWarning, "platform circuit breaker changed state",
                  {{"state", platform::CircuitStateName(state)}});
        metrics::CircuitState gauge = metrics::CircuitState::kClosed;
        if (state == platform::CircuitBreaker::State::kOpen) gauge = metrics::CircuitState::kOpen;
        if (state == platform::CircuitBreaker::State::kHalfOpen)
          gauge = metrics::CircuitState::kHalfOpen;
        self->metrics_->CircuitStateChanged(gauge);
        if (self->server_ != nullptr) {
          self->server_->GetHealthCheckService()->SetServingStatus(
              kUpstreamHealthService, state != platform::CircuitBreaker::State::kOpen);
        }
      });
  auth::SessionManager::Options session_options;
  session_options.refresh_margin = config.session_refresh_margin;
  session_options.call_timeout = config.default_upstream_timeout;
  session_options.metrics = gateway->metrics_.get();
  // Secrets are read on every use from holders the watcher updates when their files change.
  gateway->api_key_ = std::make_shared<core::Secret>(config.api_key);
  gateway->secret_watcher_ = std::make_unique<core::SecretFileWatcher>(core::Clock::Real());
  if (!config.api_key_file.empty()) {
    gateway->secret_watcher_->Watch(config.api_key_file, gateway->api_key_,
                                    {"api key", ReadApiKeyFile});
  }
  if (absl::Status store = gateway->StartTokenStore(config); !store.ok()) return store;
  gateway->sessions_ = std::make_unique<auth::SessionManager>(
      gateway->loop_, gateway->platform_.get(), gateway->tokens_.get(), gateway->api_key_,
      core::Clock::Real(), core::IdSource::Random(), session_options);

  // Caller identity, policy and audit log: the methods it judges are every routed one, the event
  // streams and reflection (health is gRPC's own service and always answers).
  std::vector<std::string> methods;
  for (const auto& route : gateway->routes_->routes())
    methods.push_back(route->grpc_path.substr(1));
  const google::protobuf::ServiceDescriptor* events_service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          events::v1::JourneyEventsService::service_full_name());
  for (int i = 0; i < events_service->method_count(); ++i) {
    methods.push_back(
        absl::StrCat(events_service->full_name(), "/", events_service->method(i)->name()));
  }
  methods.push_back("grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
  absl::StatusOr<std::unique_ptr<CallAuthz>> authz = CallAuthz::Start(
      config, std::move(methods), gateway->metrics_.get(), gateway->secret_watcher_.get());
  if (!authz.ok()) return authz.status();
  gateway->authz_ = *std::move(authz);

  RpcProxyDeps deps;
  if (gateway->authz_ != nullptr) {
    deps.authz = gateway->authz_->authorizer();
    deps.audit = gateway->authz_->audit();
  }
  deps.codec = gateway->codec_.get();
  deps.mapper = gateway->mapper_.get();
  deps.platform = gateway->platform_.get();
  deps.sessions = gateway->sessions_.get();
  deps.clock = &core::Clock::Real();
  deps.ids = &core::IdSource::Random();
  deps.api_key = gateway->api_key_;
  deps.default_timeout = config.default_upstream_timeout;
  deps.max_pending_rpcs = config.max_pending_rpcs;
  deps.metrics = gateway->metrics_.get();
  gateway->proxy_ = std::make_unique<RpcProxy>(std::move(deps));
  if (absl::Status events = gateway->StartEvents(config); !events.ok()) return events;

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.grpc_listen, ListenerCredentials(config), &port);
  builder.SetMaxReceiveMessageSize(config.max_request_bytes);
  // Bounded while under attack: one connection cannot open unbounded streams, and gRPC's buffers
  // (a request is read whole before its size is checked) draw from one quota.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config.grpc_max_concurrent_streams);
  grpc::ResourceQuota quota("aarthik-gateway");
  quota.Resize(static_cast<size_t>(config.grpc_memory_limit));
  builder.SetResourceQuota(quota);
  // Aged connections get a GOAWAY so that clients reconnect and load spreads over new pods;
  // keepalive finds dead peers; clients may ping every 10 s even without calls (stream watchers
  // behind idle NATs).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                             Milliseconds(config.grpc_max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             Milliseconds(config.grpc_max_connection_age_grace));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Milliseconds(config.grpc_keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             Milliseconds(config.grpc_keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  std::vector<std::string> service_names;
  for (const google::protobuf::ServiceDescriptor* service : transcode::PlatformServices()) {
    gateway->services_.push_back(
        std::make_unique<RoutedService>(*service, *gateway->routes_, gateway->proxy_.get()));
    builder.RegisterService(gateway->services_.back().get());
    service_names.push_back(service->full_name());
  }
  builder.RegisterService(gateway->events_service_.get());
  service_names.push_back(events::v1::JourneyEventsService::service_full_name());
  gateway->reflection_ =
      std::make_unique<ReflectionService>(service_names, gateway->StreamAdmission());
  builder.RegisterService(gateway->reflection_.get());
  gateway->server_ = builder.BuildAndStart();
  if (gateway->server_ == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on --grpc-listen=", config.grpc_listen, " (address in use or not local?)"));
  }
  std::string host = config.grpc_listen.substr(0, config.grpc_listen.rfind(':'));
  gateway->listen_address_ = absl::StrCat(host, ":", port);
  gateway->ParkCallbackThreads(config);
  gateway->HandLoopsToGrpc(config);
  if (config.busy_poll_us > 0) {
    BusyPoll::Start(absl::Microseconds(config.busy_poll_us), &gateway->proxy_->in_flight());
  }
  core::Log(core::Severity::kInfo, "grpc busy polling",
            {{"budget_us", absl::StrCat(config.busy_poll_us)},
             {"max_calls_in_flight", absl::StrCat(BusyPoll::kMaxCallsInFlight)}});
  grpc::HealthCheckServiceInterface* health = gateway->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  for (const std::string& name : service_names) health->SetServingStatus(name, true);
  health->SetServingStatus(kUpstreamHealthService, true);
  http::GrpcListenerCheck::Options check_options;
  check_options.address = gateway->listen_address_;
  check_options.interval = config.grpc_listener_check_interval;
  check_options.timeout = std::min(absl::Seconds(5), config.grpc_listener_check_interval / 2);
  check_options.tls = !config.tls_cert_file.empty();
  gateway->listener_check_ = std::make_unique<http::GrpcListenerCheck>(
      gateway->loop_, check_options, [self](bool accepting, const absl::Status& result) {
        self->OnListenerCheck(accepting, result);
      });
  gateway->listener_check_->Start();
  core::Log(core::Severity::kInfo, "gateway started",
            {{"listen", gateway->listen_address_},
             {"routes", absl::StrCat(gateway->routes_->routes().size())},
             {"upstream", config.upstream_url},
             {"token_store", config.redis_url.empty() ? "memory" : "redis"},
             {"grpc_tls", config.tls_cert_file.empty()        ? "off"
                          : config.tls_client_ca_file.empty() ? "tls"
                                                              : "mutual"}});
  return gateway;
}

void Gateway::ParkCallbackThreads(const core::Config& config) {
  const int keep = config.grpc_callback_threads > 0 ? config.grpc_callback_threads
                                                    : std::max(1, GrpcCpuBudget().usable / 2);
  absl::StatusOr<std::unique_ptr<CallbackThreadPark>> park =
      CallbackThreadPark::Start(*server_, keep);
  if (!park.ok()) {
    core::Log(core::Severity::kWarning, "grpc callback threads",
              {{"wanted", absl::StrCat(keep)}, {"why_not", park.status().message()}});
    return;
  }
  callback_park_ = *std::move(park);
  core::Log(core::Severity::kInfo, "grpc callback threads",
            {{"started", absl::StrCat(callback_park_->started())},
             {"parked", absl::StrCat(callback_park_->parked())},
             {"configured", absl::StrCat(config.grpc_callback_threads)}});
}

void Gateway::HandLoopsToGrpc(const core::Config& config) {
  if (config.upstream_polling != "grpc") {
    core::Log(core::Severity::kInfo, "upstream polling", {{"polling", "own"}});
    return;
  }
  absl::Status usable = GrpcLoopDriver::Usable();
  if (usable.ok()) {
    loop_driver_ = std::make_unique<GrpcLoopDriver>();
    for (auto& loop : loops_) {
      usable = loop->HandOver(loop_driver_.get());
      if (!usable.ok()) break;
    }
  }
  size_t driven = 0;
  for (auto& loop : loops_) driven += loop->IsDriven() ? 1 : 0;
  const std::string polling = driven == loops_.size() ? "grpc" : driven == 0 ? "own" : "mixed";
  if (usable.ok()) {
    core::Log(core::Severity::kInfo, "upstream polling",
              {{"polling", polling}, {"loops_on_grpc", absl::StrCat(driven)}});
    return;
  }
  // A loop gRPC cannot poll keeps its own thread: slower, never wrong.
  core::Log(core::Severity::kWarning, "upstream polling",
            {{"polling", polling},
             {"loops_on_grpc", absl::StrCat(driven)},
             {"why_not", usable.message()}});
}

void Gateway::Wait() { server_->Wait(); }

void Gateway::OnListenerCheck(bool accepting, const absl::Status& result) {
  metrics_->GrpcListenerChecked(result.ok());
  if (grpc_listener_accepting_.exchange(accepting) == accepting) return;
  if (!accepting) {
    core::Log(core::Severity::kError,
              "grpc listener is not accepting connections; health NOT_SERVING (restart the pod)",
              {{"reason", std::string(result.message())}, {"listen", listen_address_}});
  } else {
    core::Log(core::Severity::kInfo, "grpc listener accepting connections again", {});
  }
  // Shutdown stops the check before it turns health NOT_SERVING itself.
  server_->GetHealthCheckService()->SetServingStatus(accepting);
}

void Gateway::Shutdown(absl::Duration grace, absl::Duration delay) {
  if (server_ == nullptr || shutting_down_.exchange(true)) return;
  BusyPoll::Stop();  // before anything it reads (the proxy's call count) can go
  core::Log(core::Severity::kInfo, "draining",
            {{"grace", absl::FormatDuration(grace)}, {"delay", absl::FormatDuration(delay)}});
  listener_check_.reset();  // no check may turn health back to SERVING from here on
  google::rpc::ErrorInfo info;
  info.set_reason("GATEWAY_SHUTTING_DOWN");
  info.set_domain(transcode::kGatewayDomain);
  google::rpc::RetryInfo retry;  // at once: another replica takes the stream over
  absl::Status draining =
      transcode::RpcError(absl::StatusCode::kUnavailable,
                          "the gateway is shutting down: reconnect and resume with the cursor of "
                          "the last event received",
                          {transcode::PackDetail(info), transcode::PackDetail(retry)});
  const absl::Time deadline = absl::Now() + grace;
  const absl::Time refuse_until = std::min(absl::Now() + delay, deadline);
  // New unary calls are refused by the gateway itself while the server still accepts them (see
  // in_flight_calls.h for why), and the ones in flight get the grace period to finish.
  proxy_->in_flight().StartDraining(draining);
  // Then health: readiness probes and health watchers see NOT_SERVING while calls still finish.
  // Not before the refusal: a caller that saw NOT_SERVING and called anyway would be proxied
  // (DrainTest.CallArrivingAfterSigtermOnAnIdleGatewayIsRefusedNotCancelled saw it on a loaded
  // machine).
  server_->GetHealthCheckService()->SetServingStatus(false);
  // Watch streams never end by themselves: end them now rather than have them cancelled at the
  // deadline.
  event_log_->CloseAll(draining);
  state_poller_->EndAll(draining);
  if (!proxy_->in_flight().WaitUntilIdle(deadline)) {
    core::Log(core::Severity::kWarning, "grace period over: cancelling the calls still in flight",
              {{"in_flight", absl::StrCat(proxy_->in_flight().count())}});
  }
  // Callers still sending get the refusal above (and go elsewhere) rather than gRPC's CANCELLED
  // for calls that reach a closed server. The main thread has nothing else to do meanwhile.
  absl::SleepFor(refuse_until - absl::Now());
  // gRPC's polling threads stop with the server, and it joins the parked ones: the loops wait on
  // their own threads from here.
  if (callback_park_ != nullptr) callback_park_->Release();
  for (auto& loop : loops_) loop->TakeBack();
  server_->Shutdown(absl::ToChronoTime(deadline));
}

absl::Status Gateway::StartEvents(const core::Config& config) {
  std::vector<std::shared_ptr<const core::Secret>> secrets;
  if (!config.webhook_secret_files.empty()) {
    absl::StatusOr<std::vector<std::string>> loaded =
        events::LoadSecretFiles(config.webhook_secret_files);
    if (!loaded.ok()) return loaded.status();
    for (size_t i = 0; i < loaded->size(); ++i) {
      auto secret = std::make_shared<core::Secret>((*loaded)[i]);
      // A replaced secret stays accepted for one tolerance window: deliveries signed just before
      // the platform switched may still arrive.
      secret_watcher_->Watch(config.webhook_secret_files[i], secret,
                             {"web-hook secret", ReadWebhookSecretFile, config.webhook_tolerance});
      secrets.push_back(std::move(secret));
    }
  } else {
    core::Log(core::Severity::kWarning,
              "no --webhook-secret-file: every web-hook delivery will be refused", {});
  }
  webhook_verifier_ = std::make_unique<events::WebhookVerifier>(
      events::WebhookVerifier::Options{{},
                                       config.tenant_id,
                                       config.application_id,
                                       config.webhook_tolerance,
                                       std::move(secrets)},
      core::Clock::Real());
  events::EventLog::Options log_options;
  log_options.retention = config.event_retention;
  event_log_ = std::make_unique<events::EventLog>(log_options, core::Clock::Real());
  poll_scheduler_ = std::make_unique<events::EventLoopScheduler>(loop_, core::Clock::Real());
  state_fetcher_ = std::make_unique<events::PlatformStateFetcher>(
      platform_.get(), sessions_.get(), api_key_, core::Clock::Real(), core::IdSource::Random(),
      config.default_upstream_timeout);
  events::StateFetcher* fetcher = state_fetcher_.get();
  if (redis_ != nullptr) {
    // Replicas share each journey's poll through a Redis lease (docs/events.md).
    shared_state_fetcher_ = std::make_unique<events::SharedStateFetcher>(
        poll_scheduler_.get(), state_fetcher_.get(), redis_.get(),
        events::SharedStateFetcher::Options{.key_prefix = config.redis_key_prefix,
                                            .replica_id = core::IdSource::Random().NewUuid()});
    fetcher = shared_state_fetcher_.get();
  }
  state_poller_ = std::make_unique<events::StatePoller>(poll_scheduler_.get(), fetcher,
                                                        events::StatePoller::Options{});
  events::StatePoller* poller = state_poller_.get();
  events::SharedStateFetcher* shared = shared_state_fetcher_.get();
  auto on_event = [poller, shared](const events::v1::JourneyEvent& event) {
    if (shared != nullptr) shared->OnWebhook(event);  // before the poll it triggers
    poller->OnWebhook(event);
  };
  webhook_receiver_ = std::make_unique<events::WebhookReceiver>(
      webhook_verifier_.get(), event_log_.get(), on_event, metrics_.get());
  if (redis_ != nullptr) {
    // Deliveries reach one replica; the relay shares them with the others (docs/events.md).
    redis::RedisClient::Options reader_options = redis_options_;
    reader_options.command_timeout = events::EventRelay::Options{}.block + config.redis_timeout;
    metrics::GatewayMetrics* metrics = metrics_.get();
    metrics->RedisConnected("relay", false);
    reader_options.on_connection_change = [metrics](bool up) {
      metrics->RedisConnected("relay", up);
    };
    relay_redis_ = std::make_unique<redis::RedisClient>(loop_, std::move(reader_options));
    relay_redis_->Start();
    event_relay_ = std::make_unique<events::EventRelay>(
        loop_, redis_.get(), relay_redis_.get(), event_log_.get(),
        config.redis_key_prefix + "webhooks", on_event,
        events::EventRelay::Options{.metrics = metrics_.get()});
    events::EventRelay* relay = event_relay_.get();
    webhook_receiver_->SetRelay([relay](const std::string& event_id, absl::string_view body,
                                        absl::AnyInvocable<void(absl::Status)> done) {
      relay->Publish(event_id, body, std::move(done));
    });
    event_relay_->Start();
  }
  events_service_ = std::make_unique<events::JourneyEventsService>(
      event_log_.get(), state_poller_.get(), ToGrpcStatus, metrics_.get(), config.max_watch_streams,
      StreamAdmission());
  http::Routes routes;
  http::AddWebhookRoute(&routes, config.webhook_path, webhook_receiver_.get(),
                        static_cast<size_t>(config.webhook_max_body_bytes));
  http::AddHealthRoute(&routes, [this] { return grpc_listener_accepting_.load(); });
  // Scrapes run on the HTTP I/O thread, which may serve one before `http_` is assigned below.
  http::AddMetricsRoute(&routes, metrics_.get(), [this] {
    if (const http::HttpServer* server = http_sampled_.load(std::memory_order_acquire)) {
      metrics_->HttpListenerSampled(server->open_connections(), server->accept_failures(),
                                    server->evicted_connections());
    }
    metrics_->EventSubscribersOverflowedSampled(
        static_cast<uint64_t>(event_log_->stats().overflowed_subscribers));
    if (const std::optional<core::HeapStats> heap = core::ReadHeapStats()) {
      metrics_->HeapSampled(heap->allocated, heap->resident);
    }
  });
  http::HttpServer::Options http_options;
  http_options.listen = config.http_listen;
  http_options.max_connections = http_max_connections_;
  http_options.own_thread = http_own_thread_;
  absl::StatusOr<std::unique_ptr<http::HttpServer>> server =
      http::HttpServer::Start(http_options, std::move(routes));
  if (!server.ok()) return server.status();
  http_ = *std::move(server);
  http_sampled_.store(http_.get(), std::memory_order_release);
  return absl::OkStatus();
}

absl::Status Gateway::StartTokenStore(const core::Config& config) {
  if (config.redis_url.empty()) {
    tokens_ = std::make_unique<auth::MemoryTokenStore>();
    return absl::OkStatus();
  }
  absl::StatusOr<redis::RedisClient::Options> options = redis::ParseRedisUrl(config.redis_url);
  if (!options.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--redis-url ", options.status().message()));
  }
  if (!config.redis_password_file.empty()) {
    // Read at every (re)connect, so a rotated password file is used without a restart.
    auto password = std::make_shared<core::Secret>(config.redis_password);
    secret_watcher_->Watch(config.redis_password_file, password, {"redis password"});
    options->password_secret = std::move(password);
  }
  options->connect_timeout = config.redis_timeout;
  options->command_timeout = config.redis_timeout;
  metrics::GatewayMetrics* metrics = metrics_.get();
  metrics->RedisConnected("tokens", false);
  options->on_connection_change = [metrics](bool up) { metrics->RedisConnected("tokens", up); };
  redis_options_ = *options;
  redis_ = std::make_unique<redis::RedisClient>(loop_, *std::move(options));
  redis_->Start();
  shared_tokens_ = std::make_unique<auth::RedisTokenStore>(redis_.get(), config.redis_key_prefix);
  tokens_ = std::make_unique<auth::TieredTokenStore>(shared_tokens_.get(),
                                                     /*max_cached_borrowers=*/100'000);
  return absl::OkStatus();
}

void Gateway::PollSecrets() { secret_watcher_->Poll(); }

std::function<absl::Status(const grpc::ServerContextBase&, absl::string_view)>
Gateway::StreamAdmission() const {
  if (authz_ == nullptr) return nullptr;
  const CallAuthz* authz = authz_.get();
  return [authz](const grpc::ServerContextBase& context, absl::string_view method) {
    return authz->AdmitStream(context, method);
  };
}

Gateway::~Gateway() {
  if (http_ != nullptr) http_->Stop();
  if (server_ != nullptr) {
    Shutdown(absl::ZeroDuration());
    server_->Wait();
  }
  for (auto& loop : loops_) loop->Stop();
}

}  // namespace aarthik::rpc
