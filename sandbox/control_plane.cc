// The /_sandbox control plane (enabled by --control-plane): reset, simulated time, faults,
// counters, web-hook delivery options and the log of raw request targets. Plain JSON, never
// faulted, not counted, not logged.
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "sandbox/platform.h"
#include "sandbox/views.h"

namespace aarthik::sandbox {
namespace http = boost::beast::http;

namespace {

HttpResponse ControlResponse(const HttpRequest& request, int status, const nlohmann::json& body) {
  HttpResponse response{static_cast<http::status>(status), request.version()};
  response.set(http::field::content_type, "application/json");
  response.keep_alive(request.keep_alive());
  // Replace rather than throw on invalid UTF-8: a raw target or an injected body may hold any
  // bytes.
  response.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  response.prepare_payload();
  return response;
}

nlohmann::json BadRequest(absl::string_view message) {
  return {{"error",
           {{"code", "VALIDATION_FAILED"},
            {"message", message},
            {"retryable", false},
            {"details", nlohmann::json::object()}}}};
}

}  // namespace

HttpResponse Platform::HandleControl(const HttpRequest& request, const RouteMatch& match) {
  nlohmann::json body = nlohmann::json::object();
  if (!request.body().empty()) {
    body = nlohmann::json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return ControlResponse(request, 400, BadRequest("body is not JSON"));
  }
  switch (match.route->id) {
    case RouteId::kControlReset: {
      {
        absl::MutexLock lock(&mu_);
        ResetState();
      }
      request_log_.Clear();
      faults_.Set(config_.faults);
      webhooks_.SetDeliveryOptions(config_.webhook_duplicate_rate, config_.webhook_reorder);
      return ControlResponse(request, 200, {{"reset", true}});
    }
    case RouteId::kControlTimeAdvance: {
      auto seconds = body.find("seconds");
      if (seconds == body.end() || !seconds->is_number() || seconds->get<double>() < 0) {
        return ControlResponse(request, 400, BadRequest("seconds must be a non-negative number"));
      }
      clock_.Advance(absl::Seconds(seconds->get<double>()));
      Tick();  // make the new state visible before answering
      webhooks_.Wake();
      return ControlResponse(
          request, 200,
          {{"now", IsoTimeMillis(clock_.Now())}, {"advanced_seconds", seconds->get<double>()}});
    }
    case RouteId::kControlTimeGet:
      return ControlResponse(
          request, 200,
          {{"now", IsoTimeMillis(clock_.Now())}, {"time_scale", clock_.time_scale()}});
    case RouteId::kControlFaultsPut: {
      absl::StatusOr<std::vector<FaultRule>> rules =
          ParseFaultRules(body.contains("rules") ? body["rules"] : body);
      if (!rules.ok()) return ControlResponse(request, 400, BadRequest(rules.status().message()));
      faults_.Set(*rules);
      [[fallthrough]];
    }
    case RouteId::kControlFaultsGet: {
      nlohmann::json list = nlohmann::json::array();
      for (const FaultRule& rule : faults_.rules()) list.push_back(FaultRuleToJson(rule));
      return ControlResponse(request, 200, {{"rules", list}});
    }
    case RouteId::kControlFaultsDelete:
      faults_.Clear();
      return ControlResponse(request, 200, {{"rules", nlohmann::json::array()}});
    case RouteId::kControlCounters:
      return ControlResponse(request, 200, counters_.ToJson(Router::Get()));
    case RouteId::kControlWebhooksPut: {
      double duplicate_rate = body.value("duplicate_rate", 0.0);
      bool reorder = body.value("reorder", false);
      if (duplicate_rate < 0 || duplicate_rate > 1) {
        return ControlResponse(request, 400, BadRequest("duplicate_rate must be in [0,1]"));
      }
      webhooks_.SetDeliveryOptions(duplicate_rate, reorder);
      return ControlResponse(request, 200,
                             {{"duplicate_rate", duplicate_rate},
                              {"reorder", reorder},
                              {"pending", webhooks_.pending()}});
    }
    case RouteId::kControlRequestsGet: {
      // ?since=SEQ: only requests after that one (a test keeps the last seq it has seen).
      uint64_t since = 0;
      absl::string_view target(request.target().data(), request.target().size());
      if (size_t query = target.find('?'); query != absl::string_view::npos) {
        for (absl::string_view pair : absl::StrSplit(target.substr(query + 1), '&')) {
          if (absl::ConsumePrefix(&pair, "since=") && !absl::SimpleAtoi(pair, &since)) {
            return ControlResponse(request, 400, BadRequest("since must be a sequence number"));
          }
        }
      }
      nlohmann::json list = nlohmann::json::array();
      uint64_t last_seq = 0;
      for (const LoggedRequest& logged : request_log_.Since(since, &last_seq)) {
        list.push_back({{"seq", logged.seq}, {"method", logged.method}, {"target", logged.target}});
      }
      return ControlResponse(request, 200,
                             {{"requests", std::move(list)},
                              {"last_seq", last_seq},
                              {"capacity", request_log_.capacity()}});
    }
    case RouteId::kControlRequestsDelete:
      request_log_.Clear();
      return ControlResponse(request, 200, {{"last_seq", request_log_.last_seq()}});
    default:
      return ControlResponse(request, 404, BadRequest("unknown control route"));
  }
}

}  // namespace aarthik::sandbox
