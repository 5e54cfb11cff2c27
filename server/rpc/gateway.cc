#include "server/rpc/gateway.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/core/log.h"
#include "server/http/gateway_routes.h"

namespace aarthik::rpc {

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const core::Config& config) {
  std::unique_ptr<Gateway> gateway(new Gateway());
  absl::StatusOr<transcode::RouteTable> routes = transcode::RouteTable::Build(transcode::PlatformServices());
  if (!routes.ok()) return routes.status();
  if (routes->routes().empty()) return absl::InternalError("no routed services are linked into the gateway");
  gateway->routes_ = std::make_unique<transcode::RouteTable>(*std::move(routes));

  std::vector<const google::protobuf::Descriptor*> messages;
  for (const auto& route : gateway->routes_->routes()) {
    messages.push_back(route->method->input_type());
    messages.push_back(route->method->output_type());
  }
  gateway->codec_ = std::make_unique<transcode::JsonCodec>(messages);
  gateway->mapper_ = std::make_unique<transcode::RequestMapper>(
      gateway->codec_.get(), transcode::EdgeLimits{config.max_field_length, config.tenant_id, config.application_id});

  gateway->loop_ = std::make_unique<upstream::EventLoop>();
  upstream::CurlMultiTransport::Options transport_options;
  transport_options.max_in_flight = static_cast<size_t>(config.max_in_flight_upstream);
  transport_options.max_response_bytes = static_cast<size_t>(config.max_response_bytes);
  // HTTP/1.1 upstreams need a connection per request in flight: a smaller keep-alive cache would close and
  // reopen connections under load.
  transport_options.max_connections = config.max_in_flight_upstream;
  gateway->transport_ = std::make_unique<upstream::CurlMultiTransport>(gateway->loop_.get(), transport_options);
  gateway->loop_->Start();
  platform::PlatformClientOptions platform_options;
  platform_options.base_url = config.upstream_url;
  platform_options.api_version = config.api_version;
  platform_options.retry.max_attempts = config.retry_max_attempts;
  platform_options.retry.budget_ratio = config.retry_budget_ratio;
  platform_options.breaker.consecutive_failures = config.breaker_consecutive_failures;
  platform_options.breaker.open_for = config.breaker_open_for;
  platform_options.breaker.min_requests = config.breaker_min_requests;
  platform_options.breaker.failure_ratio = config.breaker_failure_ratio;
  Gateway* self = gateway.get();
  gateway->platform_ = std::make_unique<platform::PlatformClient>(
      gateway->loop_.get(), gateway->transport_.get(), platform_options, core::Clock::Real(),
      [self](platform::CircuitBreaker::State state) {
        // Runs on the upstream loop; the health service is thread-safe. Overall health stays SERVING: a
        // platform outage must not take every replica out of the load balancer.
        core::Log(core::Severity::kWarning, "platform circuit breaker changed state",
                  {{"state", platform::CircuitStateName(state)}});
        if (self->server_ != nullptr) {
          self->server_->GetHealthCheckService()->SetServingStatus(
              kUpstreamHealthService, state != platform::CircuitBreaker::State::kOpen);
        }
      });
  gateway->tokens_ = std::make_unique<auth::MemoryTokenStore>();
  auth::SessionManager::Options session_options;
  session_options.refresh_margin = config.session_refresh_margin;
  session_options.call_timeout = config.default_upstream_timeout;
  gateway->sessions_ = std::make_unique<auth::SessionManager>(
      gateway->loop_.get(), gateway->platform_.get(), gateway->tokens_.get(), config.api_key, core::Clock::Real(),
      core::IdSource::Random(), session_options);

  RpcProxyDeps deps;
  deps.codec = gateway->codec_.get();
  deps.mapper = gateway->mapper_.get();
  deps.platform = gateway->platform_.get();
  deps.sessions = gateway->sessions_.get();
  deps.loop = gateway->loop_.get();
  deps.clock = &core::Clock::Real();
  deps.ids = &core::IdSource::Random();
  deps.api_key = config.api_key;
  deps.default_timeout = config.default_upstream_timeout;
  deps.max_pending_rpcs = config.max_pending_rpcs;
  gateway->proxy_ = std::make_unique<RpcProxy>(std::move(deps));
  if (absl::Status events = gateway->StartEvents(config); !events.ok()) return events;

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.grpc_listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(config.max_request_bytes);
  std::vector<std::string> service_names;
  for (const google::protobuf::ServiceDescriptor* service : transcode::PlatformServices()) {
    gateway->services_.push_back(std::make_unique<RoutedService>(*service, *gateway->routes_, gateway->proxy_.get()));
    builder.RegisterService(gateway->services_.back().get());
    service_names.push_back(service->full_name());
  }
  builder.RegisterService(gateway->events_service_.get());
  service_names.push_back(events::v1::JourneyEventsService::service_full_name());
  gateway->server_ = builder.BuildAndStart();
  if (gateway->server_ == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on --grpc-listen=", config.grpc_listen, " (address in use or not local?)"));
  }
  std::string host = config.grpc_listen.substr(0, config.grpc_listen.rfind(':'));
  gateway->listen_address_ = absl::StrCat(host, ":", port);
  grpc::HealthCheckServiceInterface* health = gateway->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  for (const std::string& name : service_names) health->SetServingStatus(name, true);
  health->SetServingStatus(kUpstreamHealthService, true);
  core::Log(core::Severity::kInfo, "gateway started",
            {{"listen", gateway->listen_address_}, {"routes", absl::StrCat(gateway->routes_->routes().size())},
             {"upstream", config.upstream_url}});
  return gateway;
}

void Gateway::Wait() { server_->Wait(); }

void Gateway::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

absl::Status Gateway::StartEvents(const core::Config& config) {
  std::vector<std::string> secrets;
  if (!config.webhook_secret_files.empty()) {
    absl::StatusOr<std::vector<std::string>> loaded = events::LoadSecretFiles(config.webhook_secret_files);
    if (!loaded.ok()) return loaded.status();
    secrets = *std::move(loaded);
  } else {
    core::Log(core::Severity::kWarning, "no --webhook-secret-file: every web-hook delivery will be refused", {});
  }
  webhook_verifier_ = std::make_unique<events::WebhookVerifier>(
      events::WebhookVerifier::Options{std::move(secrets), config.tenant_id, config.application_id,
                                       config.webhook_tolerance},
      core::Clock::Real());
  events::EventLog::Options log_options;
  log_options.retention = config.event_retention;
  event_log_ = std::make_unique<events::EventLog>(log_options, core::Clock::Real());
  poll_scheduler_ = std::make_unique<events::EventLoopScheduler>(loop_.get(), core::Clock::Real());
  state_fetcher_ = std::make_unique<events::PlatformStateFetcher>(
      platform_.get(), sessions_.get(), config.api_key, core::Clock::Real(), core::IdSource::Random(),
      config.default_upstream_timeout);
  state_poller_ = std::make_unique<events::StatePoller>(poll_scheduler_.get(), state_fetcher_.get(),
                                                        events::StatePoller::Options{});
  events::StatePoller* poller = state_poller_.get();
  webhook_receiver_ = std::make_unique<events::WebhookReceiver>(
      webhook_verifier_.get(), event_log_.get(),
      [poller](const events::v1::JourneyEvent& event) { poller->OnWebhook(event); });
  events_service_ = std::make_unique<events::JourneyEventsService>(event_log_.get(), state_poller_.get(),
                                                                   ToGrpcStatus);
  http::Routes routes;
  http::AddWebhookRoute(&routes, config.webhook_path, webhook_receiver_.get());
  http::AddHealthRoute(&routes);
  http::HttpServer::Options http_options;
  http_options.listen = config.http_listen;
  absl::StatusOr<std::unique_ptr<http::HttpServer>> server = http::HttpServer::Start(http_options, std::move(routes));
  if (!server.ok()) return server.status();
  http_ = *std::move(server);
  return absl::OkStatus();
}

Gateway::~Gateway() {
  if (http_ != nullptr) http_->Stop();
  if (server_ != nullptr) {
    Shutdown(absl::ZeroDuration());
    server_->Wait();
  }
  if (loop_ != nullptr) loop_->Stop();
}

}  // namespace aarthik::rpc
