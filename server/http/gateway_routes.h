// The gateway's HTTP routes: POST <webhook path> (platform web-hooks → WebhookReceiver), GET
// /healthz and GET /metrics (Prometheus text format).
//
//   http::Routes routes;
//   http::AddWebhookRoute(&routes, "/webhooks/aarthik", &receiver);
//   http::AddHealthRoute(&routes);
//   http::AddMetricsRoute(&routes, &metrics);
//
// Thread-safety: the handlers call thread-safe objects only.
#ifndef AARTHIK_SERVER_HTTP_GATEWAY_ROUTES_H_
#define AARTHIK_SERVER_HTTP_GATEWAY_ROUTES_H_

#include <string>

#include "server/events/webhook_receiver.h"
#include "server/http/http_server.h"
#include "server/metrics/gateway_metrics.h"

namespace aarthik::http {

void AddWebhookRoute(Routes* routes, const std::string& path, events::WebhookReceiver* receiver);
void AddHealthRoute(Routes* routes);
// GET /metrics: `metrics` serialized at each scrape (text exposition format 0.0.4).
void AddMetricsRoute(Routes* routes, const metrics::GatewayMetrics* metrics);

}  // namespace aarthik::http

#endif  // AARTHIK_SERVER_HTTP_GATEWAY_ROUTES_H_
