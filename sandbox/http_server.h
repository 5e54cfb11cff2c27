// Event-driven HTTP/1.1 server (Boost.Beast on Asio) with keep-alive, serving a Platform.
//
// One io_context runs on N threads; each connection is a chain of async operations on its own
// strand (no thread per connection). With EnableTls the listener serves HTTPS only (TLS 1.2+, the
// handshake first, then the same HTTP/1.1), as the real platform does. The server executes the
// transport-level faults the Platform plans: added latency (an async timer, never a sleeping
// thread), connection reset (RST via SO_LINGER 0) and truncated bodies (Content-Length kept,
// connection closed mid-body).
//
// Example:
//   HttpServer server(&platform, /*threads=*/2);
//   absl::Status tls = server.EnableTls("server.pem", "server.key.pem");  // optional
//   absl::StatusOr<std::string> address = server.Listen("127.0.0.1", 0);   // "127.0.0.1:40123"
//   server.Run();   // returns after Stop() (e.g. from a SIGTERM handler)
//
// Thread-safety: EnableTls, Listen and Run from one thread, in that order; Stop is thread-safe.
#ifndef AARTHIK_SANDBOX_HTTP_SERVER_H_
#define AARTHIK_SANDBOX_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/signal_set.hpp"
#include "boost/asio/ssl/context.hpp"
#include "sandbox/platform.h"

namespace aarthik::sandbox {

class HttpServer {
 public:
  HttpServer(Platform* platform, int threads);
  ~HttpServer();

  // Loads a PEM certificate chain and its private key; fails with a message naming what is wrong.
  absl::Status EnableTls(const std::string& cert_file, const std::string& key_file);
  absl::StatusOr<std::string> Listen(const std::string& host, int port);
  // Serves until Stop() or SIGTERM/SIGINT; returns when every I/O thread has finished.
  void Run();
  void Stop();

 private:
  void Accept();

  Platform* platform_;
  int threads_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::signal_set signals_;
  std::unique_ptr<boost::asio::ssl::context> tls_;  // null: plain HTTP
};

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_HTTP_SERVER_H_
