// Fuzz target: bytes arriving on the gateway's HTTP listener, read the way its sessions read them:
// Beast's request parser with the listener's header limit and no body limit until the head is
// judged (request_head.h: route, head check, Content-Length against the route's limit), then the
// body with the route's limit, then the handler. The routes are the gateway's own (web-hook,
// /healthz, /metrics), the web-hook one wired to a real receiver. Seeds (make_seeds.py) are
// well-formed requests for each route. Properties beyond "no crash, no leak, no UB": every
// request gets an answer with a status the listener documents, and a refusal from the head comes
// before any byte of a body is looked at.
#include <string>

#include "boost/asio/buffer.hpp"
#include "boost/beast/http/parser.hpp"
#include "boost/beast/http/string_body.hpp"
#include "server/core/clock.h"
#include "server/events/event_log.h"
#include "server/events/webhook_receiver.h"
#include "server/events/webhook_verifier.h"
#include "server/http/gateway_routes.h"
#include "server/http/request_head.h"
#include "server/metrics/gateway_metrics.h"
#include "tests/fuzz/fuzz_support.h"

namespace aarthik::fuzz {
namespace {

namespace bhttp = boost::beast::http;

constexpr size_t kMaxHeaderBytes = 16 << 10;  // HttpServer::Options' defaults
constexpr size_t kMaxBodyBytes = 1 << 20;

struct Listener {
  core::ManualClock clock{absl::FromUnixSeconds(1741179022)};
  events::WebhookVerifier verifier{{{"whsec_fuzz"}, "", ""}, clock};
  events::EventLog log{{}, clock};
  events::WebhookReceiver receiver{&verifier, &log};
  metrics::GatewayMetrics metrics;
  http::Routes routes;

  Listener() {
    http::AddWebhookRoute(&routes, "/webhooks/aarthik", &receiver);
    http::AddHealthRoute(&routes);
    http::AddMetricsRoute(&routes, &metrics);
  }
};

bool Documented(int status) {
  switch (status) {
    case 200:
    case 400:
    case 401:
    case 403:
    case 404:
    case 405:
    case 413:
    case 431:
      return true;
    default:
      return false;
  }
}

// Feeds `bytes` to the parser until it stops: false with `ec` set when it failed, false with `ec`
// clear when the input ended before what the parser waits for.
bool Feed(bhttp::request_parser<bhttp::string_body>& parser, std::string_view& bytes,
          bool until_done, boost::beast::error_code& ec) {
  while (until_done ? !parser.is_done() : !parser.is_header_done()) {
    if (bytes.empty()) {
      if (!until_done) return false;  // a client that stops mid-head: the idle timeout closes it
      parser.put_eof(ec);
      return !ec && parser.is_done();
    }
    const size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    bytes.remove_prefix(used);
    if (ec == bhttp::error::need_more) {
      ec = {};
      if (used == 0 && !until_done) return false;  // Beast wants the whole head in one buffer
      if (used == 0) {
        parser.put_eof(ec);
        return !ec && parser.is_done();
      }
      continue;
    }
    if (ec) return false;
  }
  return true;
}

void Run(const uint8_t* data, size_t size) {
  static Listener* const listener = new Listener();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  bhttp::request_parser<bhttp::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.header_limit(static_cast<uint32_t>(kMaxHeaderBytes));
  boost::beast::error_code ec;
  if (!Feed(parser, bytes, /*until_done=*/false, ec)) {
    if (ec)
      Require(!http::ReadErrorResponse(ec) || Documented(http::ReadErrorResponse(ec)->status),
              "an unreadable head gets a documented status");
    return;
  }
  const http::HttpRequest head = http::RequestFromHead(parser.get());
  const auto length = parser.content_length();  // boost::optional
  http::HeadVerdict verdict =
      http::JudgeHead(listener->routes, head, kMaxBodyBytes,
                      length ? std::optional<uint64_t>(*length) : std::nullopt);
  if (verdict.refusal.has_value()) {
    Require(Documented(verdict.refusal->status), "a refusal from the head has a documented status");
    Require(verdict.route == nullptr, "a refused request reaches no handler");
    return;
  }
  Require(verdict.route != nullptr && verdict.body_limit <= kMaxBodyBytes,
          "an accepted head has a route and a bounded body");
  parser.body_limit(verdict.body_limit);
  if (!Feed(parser, bytes, /*until_done=*/true, ec)) {
    if (ec) {
      const std::optional<http::HttpResponse> answer = http::ReadErrorResponse(ec);
      Require(!answer || Documented(answer->status), "an unreadable body gets a documented status");
    }
    return;
  }
  http::HttpRequest request = head;
  request.body = std::move(parser.get().body());
  Require(request.body.size() <= verdict.body_limit, "no body beyond the route's limit is read");
  int answered = 0;
  verdict.route->handler(request, [&](http::HttpResponse response) {
    ++answered;
    Require(Documented(response.status), "a handled request gets a documented status");
  });
  Require(answered == 1, "every handled request is answered once");
}

}  // namespace
}  // namespace aarthik::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  aarthik::fuzz::Run(data, size);
  return 0;
}
