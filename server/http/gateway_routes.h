// The gateway's HTTP routes: POST <webhook path> (platform web-hooks → WebhookReceiver), GET
// /healthz (503 while the gateway is not serving) and GET /metrics (Prometheus text format).
//
//   http::Routes routes;
//   http::AddWebhookRoute(&routes, "/webhooks/aarthik", &receiver, /*max_body_bytes=*/64 << 10);
//   http::AddHealthRoute(&routes);
//   http::AddMetricsRoute(&routes, &metrics);
//
// Thread-safety: the handlers call thread-safe objects only.
#ifndef AARTHIK_SERVER_HTTP_GATEWAY_ROUTES_H_
#define AARTHIK_SERVER_HTTP_GATEWAY_ROUTES_H_

#include <cstddef>
#include <functional>
#include <string>

#include "server/events/webhook_receiver.h"
#include "server/http/http_server.h"
#include "server/metrics/gateway_metrics.h"

namespace aarthik::http {

// Platform snapshots are a few KiB (the largest fixture under ../shared/fixtures/webhooks is
// 3.8 KiB): 64 KiB leaves room for journeys with many lenders and offers, and bounds what an
// unauthenticated sender makes the I/O thread read and hash per request.
inline constexpr size_t kDefaultWebhookMaxBodyBytes = 64 << 10;

// POST `path`: deliveries without their signature headers or with a stale timestamp are refused
// from the headers (WebhookReceiver::CheckHeaders) before the body is read; bodies over
// `max_body_bytes` get 413.
void AddWebhookRoute(Routes* routes, const std::string& path, events::WebhookReceiver* receiver,
                     size_t max_body_bytes = kDefaultWebhookMaxBodyBytes);
// GET /healthz: 200 "ok", or 503 while `serving` (when given) says false.
void AddHealthRoute(Routes* routes, std::function<bool()> serving = nullptr);
// GET /metrics: `metrics` serialized at each scrape (text exposition format 0.0.4), after
// `before_scrape` (when given) has refreshed what is sampled rather than counted as it happens.
void AddMetricsRoute(Routes* routes, const metrics::GatewayMetrics* metrics,
                     std::function<void()> before_scrape = nullptr);

}  // namespace aarthik::http

#endif  // AARTHIK_SERVER_HTTP_GATEWAY_ROUTES_H_
