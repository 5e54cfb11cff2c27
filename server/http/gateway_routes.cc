#include "server/http/gateway_routes.h"

#include "nlohmann/json.hpp"

namespace aarthik::http {

void AddWebhookRoute(Routes* routes, const std::string& path, events::WebhookReceiver* receiver) {
  routes->AddAsync("POST", path, [receiver](const HttpRequest& request, Responder respond) {
    events::WebhookHeaders headers{
        request.Header(events::kEventIdHeader), request.Header(events::kTenantHeader),
        request.Header(events::kApplicationHeader), request.Header(events::kTimestampHeader),
        request.Header(events::kSignatureHeader)};
    receiver->HandleAsync(
        headers, request.body,
        [respond = std::move(respond)](events::WebhookReceiver::Result result) {
          nlohmann::json body = {{result.http_status < 300 ? "status" : "error", result.message}};
          respond(HttpResponse{result.http_status, "application/json", body.dump() + "\n"});
        });
  });
}

void AddHealthRoute(Routes* routes) {
  routes->Add("GET", "/healthz", [](const HttpRequest&) {
    return HttpResponse{200, "text/plain", "ok\n"};
  });
}

void AddMetricsRoute(Routes* routes, const metrics::GatewayMetrics* metrics) {
  routes->Add("GET", "/metrics", [metrics](const HttpRequest&) {
    return HttpResponse{200, metrics::GatewayMetrics::kContentType, metrics->Serialize()};
  });
}

}  // namespace aarthik::http
