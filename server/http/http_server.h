// HttpServer: the gateway's own small HTTP/1.1 listener (web-hooks, /healthz, /metrics), on
// Boost.Beast/Asio: one I/O thread, asynchronous accept/read/write, keep-alive, a header limit,
// a request body limit per route (413) and an idle timeout. Routes are exact (method, path) pairs
// whose handlers run on the I/O thread and must not block (they do CPU work only). An asynchronous
// handler answers later, from any thread, through its `respond` callback (e.g. once Redis has
// acknowledged a write); the connection waits for that answer.
//
// Bounded under abuse: the request line and headers are read first, and a request is refused
// before any byte of its body is read when no route matches, when the route's `check_head` says
// so (e.g. a web-hook without its signature headers) or when its Content-Length is over the
// route's limit (a chunked body is cut off with 413 once it passes it); such an answer closes the
// connection after draining, briefly, what the client still sends. At most
// Options::max_connections connections are open; beyond it new ones wait in the kernel's backlog.
// When accept fails for lack of descriptors or buffers the listener sheds one pending connection
// with a reserved descriptor and pauses accepting for Options::accept_pause instead of retrying
// at once (which would spin the I/O thread).
//
//   HttpServer::Options options;  options.listen = "127.0.0.1:0";
//   HttpServer::Routes routes;
//   routes.Add("GET", "/healthz", [](const HttpRequest&) {
//     return HttpResponse{200, "text/plain", "ok\n"};
//   });
//   routes.AddAsync("POST", "/hook", handler, {.max_body_bytes = 64 << 10});
//   absl::StatusOr<std::unique_ptr<HttpServer>> server =
//       HttpServer::Start(options, std::move(routes));
//   std::cout << (*server)->address();   // "127.0.0.1:41234"
//   (*server)->Stop();                    // or destroy
//
// With Options::own_thread false the server starts no thread: its owner runs the I/O with Serve
// on a thread it has anyway (the gateway's main thread, which also schedules the process's
// housekeeping on it with RunAfter and WhenReadable), and Serve returns once Stop was called.
//
// Thread-safety: Start/Stop/RunAfter/WhenReadable/address/open_connections from any thread;
// handlers, head checks and the tasks of RunAfter and WhenReadable run on the I/O thread, one at a
// time. Stop must not be called on the I/O thread (it waits for the I/O to end).
#ifndef AARTHIK_SERVER_HTTP_HTTP_SERVER_H_
#define AARTHIK_SERVER_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace aarthik::http {

struct HttpRequest {
  std::string method;                                     // "GET", "POST", ...
  std::string path;                                       // target without the query string
  std::string query;                                      // after '?', possibly empty
  absl::flat_hash_map<std::string, std::string> headers;  // names lowercased
  std::string body;

  // The header's value, or "" (name lowercased).
  const std::string& Header(const std::string& lowercase_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// Must call `respond` exactly once, on any thread; `request` is valid only during the call.
using Responder = std::function<void(HttpResponse)>;
using AsyncHttpHandler = std::function<void(const HttpRequest& request, Responder respond)>;

// Looks at a request's line and headers (`head.body` is empty) before its body is read; a
// response refuses the request without reading the body.
using HeadCheck = std::function<std::optional<HttpResponse>(const HttpRequest& head)>;

struct RouteOptions {
  // Largest body the route accepts (413 above it); 0: the server's Options::max_body_bytes. Also
  // capped by it.
  size_t max_body_bytes = 0;
  HeadCheck check_head;  // optional
};

// Exact-match routes: (method, path) → handler. A known path with another method answers 405.
class Routes {
 public:
  struct Route {
    AsyncHttpHandler handler;
    RouteOptions options;
  };

  void Add(const std::string& method, const std::string& path, HttpHandler handler,
           RouteOptions options = {});
  void AddAsync(const std::string& method, const std::string& path, AsyncHttpHandler handler,
                RouteOptions options = {});
  // Null with *status = 404 or 405 when nothing matches.
  const Route* Find(const std::string& method, const std::string& path, int* status) const;

 private:
  std::map<std::pair<std::string, std::string>, Route> routes_;
};

class HttpServer {
 public:
  struct Options {
    std::string listen = "0.0.0.0:8080";  // HOST:PORT; port 0 picks a free port
    size_t max_body_bytes = 1 << 20;      // any route; RouteOptions may set less
    size_t max_header_bytes = 16 << 10;
    absl::Duration idle_timeout = absl::Seconds(30);  // per read of one request
    // Open connections at most (each is a descriptor); at the cap a new one takes the place of
    // the one that has waited longest for a request, or waits in the backlog while all are busy.
    size_t max_connections = 1024;
    // How long accepting pauses after accept failed for lack of descriptors or buffers.
    absl::Duration accept_pause = absl::Milliseconds(100);
    // false: no I/O thread of its own; the owner calls Serve.
    bool own_thread = true;
  };

  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(Options options, Routes routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // "HOST:PORT" actually bound.
  const std::string& address() const { return address_; }
  // Closes the listener and every connection and waits until the I/O has ended (joins the I/O
  // thread, or waits until Serve's I/O has: no handler or task runs after). Idempotent.
  void Stop();
  // Runs the I/O on the calling thread until Stop (Options::own_thread false; otherwise, or after
  // Stop, returns at once).
  void Serve();
  // Runs `task` on the I/O thread once `delay` has passed. Tasks still pending at Stop never run.
  void RunAfter(absl::Duration delay, absl::AnyInvocable<void()> task);
  // Runs `task` on the I/O thread once `fd` is readable, once. The caller keeps `fd` open until
  // Stop has returned.
  void WhenReadable(int fd, absl::AnyInvocable<void()> task);
  // Connections open now.
  size_t open_connections() const;
  // Times accept failed for lack of descriptors or buffers (each followed by a pause).
  uint64_t accept_failures() const;
  // Connections closed at the cap, while waiting for a request, to let a new one in.
  uint64_t evicted_connections() const;

  struct Impl;

 private:
  HttpServer() = default;
  std::unique_ptr<Impl> impl_;
  std::string address_;
  std::thread thread_;
};

}  // namespace aarthik::http

#endif  // AARTHIK_SERVER_HTTP_HTTP_SERVER_H_
