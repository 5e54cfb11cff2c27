// What the two libcurl-based transports (CurlMultiTransport, Http1Transport) share: libcurl's
// one-time global initialisation, the methods they accept, the sockets curl opens, the multi
// handle's timer on the loop, and the destructor's hand-off of the shutdown to the loop.
//
//   InitCurlOnce();
//   if (!IsSupportedMethod(request.method)) { ... }
//   curl_socket_t fd = OpenCurlSocket(*address);     // in a CURLOPT_OPENSOCKETFUNCTION
//   ShutDownOnLoop(loop_, [this] { Shutdown(); });   // from ~Transport
//
// Thread-safety: InitCurlOnce, IsSupportedMethod and OpenCurlSocket from any thread;
// ShutDownOnLoop as a transport's destructor may be called (any thread but a task on another loop).
#ifndef AARTHIK_SERVER_UPSTREAM_CURL_SUPPORT_H_
#define AARTHIK_SERVER_UPSTREAM_CURL_SUPPORT_H_

#include <curl/curl.h>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "server/upstream/event_loop.h"

namespace aarthik::upstream {

// curl_global_init, once per process; aborts when libcurl cannot start.
void InitCurlOnce();

// GET, POST, PUT, PATCH, DELETE and HEAD.
bool IsSupportedMethod(absl::string_view method);

// The socket a CURLOPT_OPENSOCKETFUNCTION is asked for, close-on-exec; CURL_SOCKET_BAD on failure.
//
// Both transports see every socket curl opens because libcurl 7.88 closes a connect attempt that
// never connected with close(2) alone (lib/cf-socket.c, cf_socket_close): no
// CURLOPT_CLOSESOCKETFUNCTION, and no CURL_POLL_REMOVE either when the same transfer's next socket
// takes the number back in the same pass. The kernel drops the closed socket from epoll while the
// transport still counts the number as watched; a number coming back from socket(2) is the one
// moment the transport can tell. Under expiring deadlines the stale count made every transfer of a
// multi handle fail (issue 19).
curl_socket_t OpenCurlSocket(const curl_sockaddr& address);

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
