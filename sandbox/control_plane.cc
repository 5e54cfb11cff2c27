// The /_sandbox control plane (enabled by --control-plane): reset, simulated time, faults,
// counters and web-hook delivery options. Plain JSON, never faulted, not counted.
#include "absl/strings/str_cat.h"
#include "sandbox/platform.h"
#include "sandbox/views.h"

namespace aarthik::sandbox {
namespace http = boost::beast::http;

namespace {

HttpResponse ControlResponse(const HttpRequest& request, int status, const nlohmann::json& body) {
  HttpResponse response{static_cast<http::status>(status), request.version()};
  response.set(http::field::content_type, "application/json");
  response.keep_alive(request.keep_alive());
  response.body() = body.dump();
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
    default:
      return ControlResponse(request, 404, BadRequest("unknown control route"));
  }
}

}  // namespace aarthik::sandbox
