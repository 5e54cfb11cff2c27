#include "server/platform/platform_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace aarthik::platform {

upstream::HttpTransport::RequestId PlatformClient::Call(PlatformRequest request, ReplyCallback done) {
  upstream::HttpRequest http;
  http.method = request.method;
  http.url = base_url_ + request.path_and_query;
  http.timeout = std::min(request.max_timeout, request.deadline - clock_.Now());
  http.headers.reserve(7);
  http.headers.emplace_back("Authorization", "Bearer " + request.bearer);
  http.headers.emplace_back("Accept", "application/json");
  if (!request.body.empty()) http.headers.emplace_back("Content-Type", "application/json");
  if (!request.idempotency_key.empty()) http.headers.emplace_back("Idempotency-Key", request.idempotency_key);
  if (!request.correlation_id.empty()) http.headers.emplace_back("X-Correlation-ID", request.correlation_id);
  if (!request.traceparent.empty()) http.headers.emplace_back("traceparent", request.traceparent);
  if (!api_version_.empty()) http.headers.emplace_back("X-AL-API-Version", api_version_);
  http.body = std::move(request.body);

  transcode::ErrorContext context{request.route, request.correlation_id};
  if (http.timeout <= absl::ZeroDuration()) {
    // The caller's deadline has passed: do not bother the platform.
    done(transcode::MapTransportError(absl::DeadlineExceededError("deadline passed before the call"), context));
    return 0;
  }
  return transport_->Send(
      std::move(http), [envelope = request.envelope, context = std::move(context),
                        done = std::move(done)](absl::StatusOr<upstream::HttpResponse> response) mutable {
        if (!response.ok()) {
          done(transcode::MapTransportError(response.status(), context));
          return;
        }
        absl::StatusOr<transcode::PlatformReply> reply =
            transcode::DecodeReply(envelope, response->status, response->body);
        if (!reply.ok()) {
          done(transcode::MapBadResponse(reply.status().message(), nullptr, context));
          return;
        }
        if (std::string_view retry_after = response->Header("retry-after"); !retry_after.empty()) {
          reply->retry_after =
              transcode::ParseRetryAfter(absl::string_view(retry_after.data(), retry_after.size()));
        }
        done(std::move(reply));
      });
}

}  // namespace aarthik::platform
