#include "server/platform/platform_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/transcode/rpc_error.h"

namespace aarthik::platform {
namespace {

absl::Status CircuitOpen(const PlatformRequest& request, absl::Duration retry_in) {
  google::rpc::ErrorInfo info;
  info.set_reason("UPSTREAM_CIRCUIT_OPEN");
  info.set_domain(transcode::kGatewayDomain);
  (*info.mutable_metadata())["route"] = request.route;
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(std::max<int64_t>(1, absl::ToInt64Seconds(retry_in)));
  google::rpc::RequestInfo request_info;
  request_info.set_serving_data(request.correlation_id);
  return transcode::RpcError(
      absl::StatusCode::kUnavailable,
      "the platform is failing; the gateway is not sending requests for a few seconds",
      {transcode::PackDetail(info), transcode::PackDetail(retry),
       transcode::PackDetail(request_info)});
}

// The `status` label of an attempt that got no HTTP answer.
absl::string_view TransportErrorClass(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      return upstream::IsConnectFailure(status) ? "connect_error" : "connection_lost";
    case absl::StatusCode::kDeadlineExceeded:
      return "timeout";
    case absl::StatusCode::kCancelled:
      return "cancelled";
    case absl::StatusCode::kResourceExhausted:  // the transport's in-flight cap, or an oversized
                                                // response
      return "resource_exhausted";
    default:
      return "transport_error";
  }
}

}  // namespace

PlatformClient::PlatformClient(upstream::EventLoop* loop, upstream::HttpTransport* transport,
                               PlatformClientOptions options, const core::Clock& clock,
                               CircuitBreaker::StateListener on_breaker_change)
    : loop_(loop),
      transport_(transport),
      options_(std::move(options)),
      clock_(clock),
      retry_policy_(options_.retry),
      breaker_(options_.breaker, std::move(on_breaker_change)),
      random_(std::random_device{}()) {}

PlatformClient::CallId PlatformClient::Call(PlatformRequest request, ReplyCallback done) {
  auto call = std::make_shared<PendingCall>();
  call->id = ++next_id_;
  upstream::HttpRequest& http = call->http;
  http.method = request.method;
  http.url = options_.base_url + request.path_and_query;
  http.headers.reserve(7);
  http.headers.emplace_back("Authorization", "Bearer " + request.bearer);
  http.headers.emplace_back("Accept", "application/json");
  if (!request.body.empty()) http.headers.emplace_back("Content-Type", "application/json");
  if (!request.idempotency_key.empty())
    http.headers.emplace_back("Idempotency-Key", request.idempotency_key);
  if (!request.correlation_id.empty())
    http.headers.emplace_back("X-Correlation-ID", request.correlation_id);
  if (!request.traceparent.empty()) http.headers.emplace_back("traceparent", request.traceparent);
  if (!request.tracestate.empty()) http.headers.emplace_back("tracestate", request.tracestate);
  if (!options_.api_version.empty())
    http.headers.emplace_back("X-AL-API-Version", options_.api_version);
  http.body = std::move(request.body);
  call->request = std::move(request);
  call->done = std::move(done);
  calls_.emplace(call->id, call);
  retry_policy_.RecordRequest(clock_.Now());
  Attempt(call);
  return call->id;
}

void PlatformClient::Attempt(const std::shared_ptr<PendingCall>& call) {
  call->retry_timer = 0;
  absl::Time now = clock_.Now();
  transcode::ErrorContext context{call->request.route, call->request.correlation_id};
  absl::Duration remaining = call->request.deadline - now;
  if (remaining <= absl::ZeroDuration()) {
    Finish(call, transcode::MapTransportError(
                     absl::DeadlineExceededError("deadline passed before the call"), context));
    return;
  }
  absl::Duration retry_in;
  if (!breaker_.Allow(now, &retry_in)) {
    Finish(call, CircuitOpen(call->request, retry_in));
    return;
  }
  ++call->attempt;
  ++attempts_;
  upstream::HttpRequest http = call->http;  // kept for a possible retry
  http.timeout = std::min(call->request.max_timeout, remaining);
  call->attempt_started = now;
  if (options_.metrics != nullptr) options_.metrics->UpstreamStarted();
  call->transport_id = transport_->Send(
      std::move(http),
      [alive = std::weak_ptr(alive_), call](absl::StatusOr<upstream::HttpResponse> r) {
        std::shared_ptr<PlatformClient*> self = alive.lock();
        if (!self) return;
        call->transport_id = 0;
        (*self)->OnAttempt(call, std::move(r));
      });
}

void PlatformClient::OnAttempt(const std::shared_ptr<PendingCall>& call,
                               absl::StatusOr<upstream::HttpResponse> response) {
  if (options_.metrics != nullptr) {
    const std::string status = response.ok() ? metrics::UpstreamHttpStatus(response->status)
                                             : std::string(TransportErrorClass(response.status()));
    options_.metrics->UpstreamFinished(call->request.route, status,
                                       clock_.Now() - call->attempt_started);
  }
  if (!calls_.contains(call->id)) return;  // cancelled meanwhile
  absl::Time now = clock_.Now();
  transcode::ErrorContext context{call->request.route, call->request.correlation_id};
  absl::StatusOr<transcode::PlatformReply> outcome;
  if (!response.ok()) {
    if (response.status().code() == absl::StatusCode::kUnavailable) breaker_.Record(false, now);
    outcome = transcode::MapTransportError(response.status(), context);
  } else {
    breaker_.Record(response->status < 500, now);
    absl::StatusOr<transcode::PlatformReply> reply =
        transcode::DecodeReply(call->request.envelope, response->status, response->body);
    if (!reply.ok()) {
      outcome = transcode::MapBadResponse(reply.status().message(), nullptr, context);
    } else {
      if (std::string_view retry_after = response->Header("retry-after"); !retry_after.empty()) {
        reply->retry_after =
            transcode::ParseRetryAfter(absl::string_view(retry_after.data(), retry_after.size()));
      }
      reply->attempts = call->attempt;
      outcome = std::move(reply);
    }
  }
  if (IsRetryable(outcome) && call->attempt < options_.retry.max_attempts) {
    std::optional<absl::Duration> wait = retry_policy_.Backoff(
        call->attempt, outcome.ok() ? outcome->retry_after : std::nullopt, random_);
    if (wait && now + *wait < call->request.deadline && retry_policy_.TryAcquireRetry(now)) {
      ++retries_;
      if (options_.metrics != nullptr) options_.metrics->UpstreamRetry(call->request.route);
      call->retry_timer = loop_->RunAfter(*wait, [alive = std::weak_ptr(alive_), call] {
        std::shared_ptr<PlatformClient*> self = alive.lock();
        if (self && (*self)->calls_.contains(call->id)) (*self)->Attempt(call);
      });
      return;
    }
  }
  Finish(call, std::move(outcome));
}

void PlatformClient::Finish(const std::shared_ptr<PendingCall>& call,
                            absl::StatusOr<transcode::PlatformReply> outcome) {
  calls_.erase(call->id);
  ReplyCallback done = std::move(call->done);
  done(std::move(outcome));
}

void PlatformClient::Cancel(CallId id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  std::shared_ptr<PendingCall> call = it->second;
  if (call->retry_timer != 0) loop_->CancelTimer(call->retry_timer);
  if (call->transport_id != 0) transport_->Cancel(call->transport_id);
  transcode::ErrorContext context{call->request.route, call->request.correlation_id};
  Finish(call,
         transcode::MapTransportError(absl::CancelledError("cancelled by the caller"), context));
}

}  // namespace aarthik::platform
