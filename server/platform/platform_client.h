// PlatformClient: one call to the Aarthik Labs platform. It adds the headers every call carries
// (Authorization, Content-Type, Idempotency-Key for writes, X-Correlation-ID, X-AL-API-Version), derives the
// attempt's timeout from the caller's deadline, sends it on the HttpTransport and decodes the envelope.
//
//   PlatformClient client(&transport, "https://api.credit.aarthiklabs.com", /*api_version=*/"", clock);
//   client.Call({.method = "GET", .path_and_query = "/api/v1/headless/journeys/…/state", .bearer = token,
//                .correlation_id = id, .deadline = deadline, .route = "GET …/state",
//                .envelope = gateway::v1::ENVELOPE_HEADLESS},
//               [](absl::StatusOr<transcode::PlatformReply> reply) { ... });
//
// The callback gets a PlatformReply for every HTTP answer (a platform error included, so that the caller
// can run the 401 refresh path), or an already-mapped gRPC-ready error for transport failures and
// unreadable 2xx bodies. It runs on the transport's loop thread.
//
// Thread-safety: Call and Cancel may be used from any thread.
#ifndef AARTHIK_SERVER_PLATFORM_PLATFORM_CLIENT_H_
#define AARTHIK_SERVER_PLATFORM_PLATFORM_CLIENT_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "aarthik/gateway/v1/options.pb.h"
#include "server/core/clock.h"
#include "server/transcode/platform_reply.h"
#include "server/upstream/http_transport.h"

namespace aarthik::platform {

struct PlatformRequest {
  std::string method;  // GET, POST, PUT, PATCH, DELETE
  std::string path_and_query;
  std::string body;  // JSON; empty for none
  std::string bearer;
  std::string idempotency_key;  // sent when not empty
  std::string correlation_id;
  std::string traceparent;  // W3C trace context, sent when not empty
  absl::Time deadline = absl::InfiniteFuture();
  absl::Duration max_timeout = absl::Seconds(10);
  std::string route;  // Route::label, for errors
  aarthik::gateway::v1::Envelope envelope = aarthik::gateway::v1::ENVELOPE_HEADLESS;
};

using ReplyCallback = absl::AnyInvocable<void(absl::StatusOr<transcode::PlatformReply>)>;

class PlatformClient {
 public:
  PlatformClient(upstream::HttpTransport* transport, std::string base_url, std::string api_version,
                 const core::Clock& clock)
      : transport_(transport),
        base_url_(std::move(base_url)),
        api_version_(std::move(api_version)),
        clock_(clock) {}

  upstream::HttpTransport::RequestId Call(PlatformRequest request, ReplyCallback done);
  void Cancel(upstream::HttpTransport::RequestId id) { transport_->Cancel(id); }

 private:
  upstream::HttpTransport* transport_;
  const std::string base_url_;
  const std::string api_version_;
  const core::Clock& clock_;
};

}  // namespace aarthik::platform

#endif  // AARTHIK_SERVER_PLATFORM_PLATFORM_CLIENT_H_
