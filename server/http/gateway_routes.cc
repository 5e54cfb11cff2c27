#include "server/http/gateway_routes.h"

#include "nlohmann/json.hpp"

namespace aarthik::http {

void AddWebhookRoute(Routes* routes, const std::string& path, events::WebhookReceiver* receiver) {
  routes->Add("POST", path, [receiver](const HttpRequest& request) {
    events::WebhookHeaders headers{
        request.Header(events::kEventIdHeader), request.Header(events::kTenantHeader),
        request.Header(events::kApplicationHeader), request.Header(events::kTimestampHeader),
        request.Header(events::kSignatureHeader)};
    events::WebhookReceiver::Result result = receiver->Handle(headers, request.body);
    nlohmann::json body = {{result.http_status < 300 ? "status" : "error", result.message}};
    return HttpResponse{result.http_status, "application/json", body.dump() + "\n"};
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
