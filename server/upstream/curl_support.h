// What the two libcurl-based transports (CurlMultiTransport, Http1Transport) share: libcurl's
// one-time global initialisation, the methods they accept, the multi handle's timer on the loop,
// and the destructor's hand-off of the shutdown to the loop.
//
//   InitCurlOnce();
//   if (!IsSupportedMethod(request.method)) { ... }
//   ShutDownOnLoop(loop_, [this] { Shutdown(); });   // from ~Transport
//
// Thread-safety: InitCurlOnce and IsSupportedMethod from any thread; ShutDownOnLoop as a
// transport's destructor may be called (any thread but a task on another loop).
#ifndef AARTHIK_SERVER_UPSTREAM_CURL_SUPPORT_H_
#define AARTHIK_SERVER_UPSTREAM_CURL_SUPPORT_H_

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "server/upstream/event_loop.h"

namespace aarthik::upstream {

// curl_global_init, once per process; aborts when libcurl cannot start.
void InitCurlOnce();

// GET, POST, PUT, PATCH, DELETE and HEAD.
bool IsSupportedMethod(absl::string_view method);

// What CURLMOPT_TIMERFUNCTION asks of a multi handle's one timer: `*timer` is cancelled and,
// unless `timeout_ms` < 0, re-armed to run `on_due` on the loop. curl forbids driving it from
// inside that callback, so even a zero timeout fires from the loop.
void RearmCurlTimer(EventLoop* loop, EventLoop::TimerId* timer, long timeout_ms,
                    absl::AnyInvocable<void()> on_due);

// Runs `shutdown` on the loop, after the tasks queued before it (earlier Sends and Cancels), and
// waits for it; runs it right here when the caller is on the loop, the loop is not running, or
// the loop stops before getting to it.
void ShutDownOnLoop(EventLoop* loop, absl::FunctionRef<void()> shutdown);

}  // namespace aarthik::upstream

#endif  // AARTHIK_SERVER_UPSTREAM_CURL_SUPPORT_H_
