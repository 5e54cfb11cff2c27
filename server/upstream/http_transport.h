// HttpTransport: the gateway's asynchronous HTTP client interface. The transcoding and retry layers
// build an HttpRequest, Send it, and receive the HttpResponse (any HTTP status) or a transport
// error in a callback that runs on the transport's event-loop thread. Implementations:
// CurlMultiTransport (libcurl multi on an EventLoop); tests may substitute a gmock of this
// interface.
//
// Example:
//   HttpRequest request;
//   request.method = "GET";
//   request.url = "http://platform/v1/journeys/42";
//   transport.Send(std::move(request), [](absl::StatusOr<HttpResponse> response) {
//     if (!response.ok()) { /* transport error: see the status codes below */ return; }
//     int status = response->status;  std::string_view id = response->Header("x-request-id");
//   });
//
// Thread safety: implementations must make Send and Cancel safe to call from any thread,
// concurrently. HttpRequest and HttpResponse are plain values (not synchronised).
#ifndef AARTHIK_SERVER_UPSTREAM_HTTP_TRANSPORT_H_
#define AARTHIK_SERVER_UPSTREAM_HTTP_TRANSPORT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace aarthik::upstream {

struct HttpRequest {
  std::string method;  // "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  std::string url;     // Absolute: scheme://host[:port]/path[?query].
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  absl::Duration timeout = absl::Seconds(10);  // Whole attempt, connect included.
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // Names lower-cased, in arrival order.
  std::string body;
  // The first value of the header named `lower_case_name`; "" when absent.
  std::string_view Header(std::string_view lower_case_name) const;
};

using ResponseCallback = absl::AnyInvocable<void(absl::StatusOr<HttpResponse>)>;

// Transport errors (absl statuses, never HTTP statuses; an HTTP 503 is an OK HttpResponse with
// status 503):
//   UNAVAILABLE        connect failure (refused, unreachable, DNS, TLS handshake, connect timeout)
//   or a
//                      connection reset/closed mid-exchange. GetFailurePhase() / IsConnectFailure()
//                      tell "request never sent" from "connection lost after the request may have
//                      been sent".
//   DEADLINE_EXCEEDED  the request's timeout passed.
//   CANCELLED          Cancel() was called, or the transport shut down first.
//   RESOURCE_EXHAUSTED too many requests in flight, or the response body is larger than allowed.
//   INTERNAL           anything else (malformed request, unsupported method or scheme, library
//   error).
enum class FailurePhase {
  kUnknown,   // No phase recorded (not a transport error, or not attributable).
  kConnect,   // Failed before the request was written: safe to retry any method.
  kExchange,  // Failed after the connection was up: the upstream may have seen the request.
};

// The phase recorded on a transport error status; kUnknown when none is.
FailurePhase GetFailurePhase(const absl::Status& status);
// True for UNAVAILABLE errors raised before the request was sent (connect refused, DNS, TLS, ...).
bool IsConnectFailure(const absl::Status& status);
// Records `phase` on `status` as a payload (used by transports; exposed for fakes in tests).
void SetFailurePhase(absl::Status& status, FailurePhase phase);
// `status` with `phase` recorded.
absl::Status WithPhase(absl::Status status, FailurePhase phase);

class HttpTransport {
 public:
  using RequestId = uint64_t;
  virtual ~HttpTransport() = default;
  // Starts `request`; `done` runs exactly once, on the transport's loop thread, never inline inside
  // Send.
  virtual RequestId Send(HttpRequest request, ResponseCallback done) = 0;
  // Cancels if still in flight: `done` then runs with CANCELLED. Any thread; no-op when already
  // finished.
  virtual void Cancel(RequestId id) = 0;
  // Reserves a kept-alive connection waiting for a request for a task that RunReserved will run on
  // the transport's loop (any thread): false when none is free, or the transport does not pool. A
  // dispatcher that reserves before it picks a loop cannot pick the same last free connection as
  // another one (which would then open a connection while another loop's stays idle).
  // CancelReservation gives an unused reservation back.
  virtual bool ReserveConnection() { return false; }
  virtual void CancelReservation() {}
  // On the loop thread: runs `task`, whose first Send takes the reserved connection; a reservation
  // the task does not use is given back after it.
  virtual void RunReserved(absl::FunctionRef<void()> task) { task(); }
};

}  // namespace aarthik::upstream

#endif  // AARTHIK_SERVER_UPSTREAM_HTTP_TRANSPORT_H_
