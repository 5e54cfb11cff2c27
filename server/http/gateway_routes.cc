#include "server/http/gateway_routes.h"

#include "nlohmann/json.hpp"

namespace aarthik::http {

namespace {

events::WebhookHeaders WebhookHeadersOf(const HttpRequest& request) {
  return {request.Header(events::kEventIdHeader), request.Header(events::kTenantHeader),
          request.Header(events::kApplicationHeader), request.Header(events::kTimestampHeader),
          request.Header(events::kSignatureHeader)};
}

HttpResponse WebhookResponse(const events::WebhookReceiver::Result& result) {
  nlohmann::json body = {{result.http_status < 300 ? "status" : "error", result.message}};
  return HttpResponse{result.http_status, "application/json", body.dump() + "\n"};
}

}  // namespace

void AddWebhookRoute(Routes* routes, const std::string& path, events::WebhookReceiver* receiver,
                     size_t max_body_bytes) {
  RouteOptions options;
  options.max_body_bytes = max_body_bytes;
  options.check_head = [receiver](const HttpRequest& head) -> std::optional<HttpResponse> {
    std::optional<events::WebhookReceiver::Result> refused =
        receiver->CheckHeaders(WebhookHeadersOf(head));
    if (!refused.has_value()) return std::nullopt;
    return WebhookResponse(*refused);
  };
  routes->AddAsync(
      "POST", path,
      [receiver](const HttpRequest& request, Responder respond) {
        receiver->HandleAsync(
            WebhookHeadersOf(request), request.body,
            [respond = std::move(respond)](events::WebhookReceiver::Result result) {
              respond(WebhookResponse(result));
            });
      },
      std::move(options));
}

void AddHealthRoute(Routes* routes, std::function<bool()> serving) {
  routes->Add("GET", "/healthz", [serving = std::move(serving)](const HttpRequest&) {
    if (serving && !serving()) return HttpResponse{503, "text/plain", "not serving\n"};
    return HttpResponse{200, "text/plain", "ok\n"};
  });
}

void AddMetricsRoute(Routes* routes, const metrics::GatewayMetrics* metrics,
                     std::function<void()> before_scrape) {
  routes->Add("GET", "/metrics", [metrics, before_scrape](const HttpRequest&) {
    if (before_scrape) before_scrape();
    return HttpResponse{200, metrics::GatewayMetrics::kContentType, metrics->Serialize()};
  });
}

}  // namespace aarthik::http
