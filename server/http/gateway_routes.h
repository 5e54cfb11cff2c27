// The gateway's HTTP routes: POST <webhook path> (platform web-hooks → WebhookReceiver) and GET /healthz.
// A later /metrics route is one more Routes::Add.
//
//   http::Routes routes;
//   http::AddWebhookRoute(&routes, "/webhooks/aarthik", &receiver);
//   http::AddHealthRoute(&routes);
//
// Thread-safety: the handlers call thread-safe objects only.
#ifndef AARTHIK_SERVER_HTTP_GATEWAY_ROUTES_H_
#define AARTHIK_SERVER_HTTP_GATEWAY_ROUTES_H_

#include <string>

#include "server/events/webhook_receiver.h"
#include "server/http/http_server.h"

namespace aarthik::http {

void AddWebhookRoute(Routes* routes, const std::string& path, events::WebhookReceiver* receiver);
void AddHealthRoute(Routes* routes);

}  // namespace aarthik::http

#endif  // AARTHIK_SERVER_HTTP_GATEWAY_ROUTES_H_
