// HttpServer: the gateway's own small HTTP/1.1 listener (web-hooks, health; later /metrics), on
// Boost.Beast/Asio: one I/O thread, asynchronous accept/read/write, keep-alive, a request body
// limit (413), a header limit and an idle timeout. Routes are exact (method, path) pairs whose
// handlers run on the I/O thread and must not block (they do CPU work only). An asynchronous
// handler answers later, from any thread, through its `respond` callback (e.g. once Redis has
// acknowledged a write); the connection waits for that answer.
//
//   HttpServer::Options options;  options.listen = "127.0.0.1:0";
//   HttpServer::Routes routes;
//   routes.Add("GET", "/healthz", [](const HttpRequest&) { return HttpResponse{200, "text/plain",
//   "ok\n"}; }); absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(options,
//   std::move(routes)); std::cout << (*server)->address();   // "127.0.0.1:41234"
//   (*server)->Stop();                    // or destroy
//
// Thread-safety: Start/Stop/address from any thread; handlers run on the server's I/O thread, one
// at a time.
#ifndef AARTHIK_SERVER_HTTP_HTTP_SERVER_H_
#define AARTHIK_SERVER_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
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

// Exact-match routes: (method, path) → handler. A known path with another method answers 405.
class Routes {
 public:
  void Add(const std::string& method, const std::string& path, HttpHandler handler);
  void AddAsync(const std::string& method, const std::string& path, AsyncHttpHandler handler);
  // Null with *status = 404 or 405 when nothing matches.
  const AsyncHttpHandler* Find(const std::string& method, const std::string& path,
                               int* status) const;

 private:
  std::map<std::pair<std::string, std::string>, AsyncHttpHandler> handlers_;
};

class HttpServer {
 public:
  struct Options {
    std::string listen = "0.0.0.0:8080";  // HOST:PORT; port 0 picks a free port
    size_t max_body_bytes = 1 << 20;
    size_t max_header_bytes = 16 << 10;
    absl::Duration idle_timeout = absl::Seconds(30);  // per read of one request
  };

  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(Options options, Routes routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // "HOST:PORT" actually bound.
  const std::string& address() const { return address_; }
  // Closes the listener and every connection, joins the I/O thread. Idempotent.
  void Stop();

  struct Impl;

 private:
  HttpServer() = default;
  std::unique_ptr<Impl> impl_;
  std::string address_;
  std::thread thread_;
};

}  // namespace aarthik::http

#endif  // AARTHIK_SERVER_HTTP_HTTP_SERVER_H_
