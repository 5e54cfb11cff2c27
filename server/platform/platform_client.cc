#include "server/platform/platform_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/transcode/fast_reply.h"
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

// The platform request as HTTP, built afresh for each attempt from the kept PlatformRequest: one
// build per attempt, and nothing held twice for a retry.
upstream::HttpRequest ToHttp(const PlatformRequest& request, const PlatformClientOptions& options) {
  upstream::HttpRequest http;
  http.method = request.method;
  http.url = options.base_url + request.path_and_query;
  http.headers.reserve(8);
  http.headers.emplace_back("Authorization", absl::StrCat("Bearer ", request.bearer));
  http.headers.emplace_back("Accept", "application/json");
  if (!request.body.empty()) http.headers.emplace_back("Content-Type", "application/json");
  if (!request.idempotency_key.empty())
    http.headers.emplace_back("Idempotency-Key", request.idempotency_key);
  if (!request.correlation_id.empty())
    http.headers.emplace_back("X-Correlation-ID", request.correlation_id);
  if (!request.traceparent.empty()) http.headers.emplace_back("traceparent", request.traceparent);
  if (!request.tracestate.empty()) http.headers.emplace_back("tracestate", request.tracestate);
  if (!options.api_version.empty())
    http.headers.emplace_back("X-AL-API-Version", options.api_version);
  http.body = request.body;
  return http;
}

}  // namespace

PlatformClient::PlatformClient(std::vector<UpstreamShard> shards, PlatformClientOptions options,
                               const core::Clock& clock,
                               CircuitBreaker::StateListener on_breaker_change)
    : options_(std::move(options)),
      clock_(clock),
      retry_policy_(options_.retry),
      breaker_(options_.breaker, std::move(on_breaker_change)) {
  std::random_device seed;
  for (const UpstreamShard& spec : shards) {
    auto shard = std::make_unique<Shard>();
    shard->loop = spec.loop;
    shard->transport = spec.transport;
    shard->index = shards_.size();
    shard->random.seed(seed());
    shards_.push_back(std::move(shard));
  }
}

PlatformClient::Shard& PlatformClient::CurrentShard() {
  for (const auto& shard : shards_) {
    if (shard->loop->IsInLoopThread()) return *shard;
  }
  // A caller off every loop breaks the contract; shard 0's state is then at least consistent with
  // single-loop tests that drive the client before the loop starts.
  return *shards_.front();
}

PlatformClient::CallId PlatformClient::Call(PlatformRequest request, ReplyCallback done) {
  Shard& shard = CurrentShard();
  auto call = std::make_shared<PendingCall>();
  call->id = (++shard.next_sequence << kShardBits) | shard.index;
  call->request = std::move(request);
  call->done = std::move(done);
  shard.calls.emplace(call->id, call);
  {
    std::lock_guard<std::mutex> lock(budget_mu_);
    retry_policy_.RecordRequest(clock_.Now());
  }
  Attempt(shard, call);
  return call->id;
}

void PlatformClient::Attempt(Shard& shard, const std::shared_ptr<PendingCall>& call) {
  call->retry_timer = 0;
  absl::Time now = clock_.Now();
  transcode::ErrorContext context{call->request.route, call->request.correlation_id};
  absl::Duration remaining = call->request.deadline - now;
  if (remaining <= absl::ZeroDuration()) {
    Finish(shard, call,
           transcode::MapTransportError(
               absl::DeadlineExceededError("deadline passed before the call"), context));
    return;
  }
  absl::Duration retry_in;
  bool allowed;
  {
    std::lock_guard<std::mutex> lock(budget_mu_);
    allowed = breaker_.Allow(now, &retry_in);
  }
  if (!allowed) {
    Finish(shard, call, CircuitOpen(call->request, retry_in));
    return;
  }
  ++call->attempt;
  ++attempts_;
  upstream::HttpRequest http = ToHttp(call->request, options_);
  http.timeout = std::min(call->request.max_timeout, remaining);
  call->attempt_started = now;
  if (options_.metrics != nullptr) options_.metrics->UpstreamStarted();
  call->transport_id =
      shard.transport->Send(std::move(http), [alive = std::weak_ptr(alive_), shard = &shard,
                                              call](absl::StatusOr<upstream::HttpResponse> r) {
        std::shared_ptr<PlatformClient*> self = alive.lock();
        if (!self) return;
        call->transport_id = 0;
        (*self)->OnAttempt(*shard, call, std::move(r));
      });
}

void PlatformClient::OnAttempt(Shard& shard, const std::shared_ptr<PendingCall>& call,
                               absl::StatusOr<upstream::HttpResponse> response) {
  if (options_.metrics != nullptr) {
    const std::string status = response.ok() ? metrics::UpstreamHttpStatus(response->status)
                                             : std::string(TransportErrorClass(response.status()));
    options_.metrics->UpstreamFinished(call->request.route, status,
                                       clock_.Now() - call->attempt_started);
  }
  if (!shard.calls.contains(call->id)) return;  // cancelled meanwhile
  absl::Time now = clock_.Now();
  transcode::ErrorContext context{call->request.route, call->request.correlation_id};
  absl::StatusOr<transcode::PlatformReply> outcome;
  bool unreadable_write_answer = false;
  if (!response.ok()) {
    if (response.status().code() == absl::StatusCode::kUnavailable) {
      std::lock_guard<std::mutex> lock(budget_mu_);
      breaker_.Record(false, now);
    }
    outcome = transcode::MapTransportError(response.status(), context);
  } else {
    {
      std::lock_guard<std::mutex> lock(budget_mu_);
      breaker_.Record(response->status < 500, now);
    }
    absl::StatusOr<transcode::PlatformReply> reply;
    transcode::PlatformReply fast;
    if (call->request.decode_data &&
        transcode::DecodeSuccessFast(
            call->request.envelope, response->status, response->body,
            [&](transcode::SimdjsonView data) { return call->request.decode_data(data); }, &fast)) {
      fast.data_decoded = true;
      reply = std::move(fast);
    } else {
      reply = transcode::DecodeReply(call->request.envelope, response->status, response->body);
    }
    if (!reply.ok()) {
      transcode::PlatformReply answered;  // for the error's upstream_status
      answered.http_status = response->status;
      answered.attempts = call->attempt;
      outcome = transcode::MapBadResponse(reply.status().message(), &answered, context);
      // A write the platform acted on but whose answer we could not read: the same
      // Idempotency-Key gets the stored answer replayed, where a caller retrying with a new key
      // would write twice.
      unreadable_write_answer = !call->request.idempotency_key.empty();
    } else {
      if (std::string_view retry_after = response->Header("retry-after"); !retry_after.empty()) {
        reply->retry_after =
            transcode::ParseRetryAfter(absl::string_view(retry_after.data(), retry_after.size()));
      }
      reply->attempts = call->attempt;
      outcome = std::move(reply);
    }
  }
  if ((IsRetryable(outcome) || unreadable_write_answer) &&
      call->attempt < options_.retry.max_attempts) {
    std::optional<absl::Duration> wait = retry_policy_.Backoff(
        call->attempt, outcome.ok() ? outcome->retry_after : std::nullopt, shard.random);
    bool retry = false;
    if (wait && now + *wait < call->request.deadline) {
      std::lock_guard<std::mutex> lock(budget_mu_);
      retry = retry_policy_.TryAcquireRetry(now);
    }
    if (retry) {
      ++retries_;
      if (options_.metrics != nullptr) options_.metrics->UpstreamRetry(call->request.route);
      call->retry_timer =
          shard.loop->RunAfter(*wait, [alive = std::weak_ptr(alive_), shard = &shard, call] {
            std::shared_ptr<PlatformClient*> self = alive.lock();
            if (self && shard->calls.contains(call->id)) (*self)->Attempt(*shard, call);
          });
      return;
    }
  }
  Finish(shard, call, std::move(outcome));
}

void PlatformClient::Finish(Shard& shard, const std::shared_ptr<PendingCall>& call,
                            absl::StatusOr<transcode::PlatformReply> outcome) {
  shard.calls.erase(call->id);
  ReplyCallback done = std::move(call->done);
  done(std::move(outcome));
}

void PlatformClient::Cancel(CallId id) {
  Shard& shard = ShardOf(id);
  shard.loop->RunOrPost([this, &shard, id] { CancelOnShard(shard, id); });
}

void PlatformClient::CancelOnShard(Shard& shard, CallId id) {
  auto it = shard.calls.find(id);
  if (it == shard.calls.end()) return;
  std::shared_ptr<PendingCall> call = it->second;
  if (call->retry_timer != 0) shard.loop->CancelTimer(call->retry_timer);
  if (call->transport_id != 0) shard.transport->Cancel(call->transport_id);
  transcode::ErrorContext context{call->request.route, call->request.correlation_id};
  Finish(shard, call,
         transcode::MapTransportError(absl::CancelledError("cancelled by the caller"), context));
}

}  // namespace aarthik::platform
