#include "server/http/http_server.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace aarthik::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

const std::string kEmpty;

HttpResponse ErrorResponse(int status, absl::string_view message) {
  return {status, "application/json", absl::StrCat(R"({"error":")", message, "\"}\n")};
}

}  // namespace

const std::string& HttpRequest::Header(const std::string& lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? kEmpty : it->second;
}

void Routes::Add(const std::string& method, const std::string& path, HttpHandler handler) {
  AddAsync(method, path,
           [handler = std::move(handler)](const HttpRequest& request, Responder respond) {
             respond(handler(request));
           });
}

void Routes::AddAsync(const std::string& method, const std::string& path,
                      AsyncHttpHandler handler) {
  handlers_[{method, path}] = std::move(handler);
}

const AsyncHttpHandler* Routes::Find(const std::string& method, const std::string& path,
                                     int* status) const {
  auto it = handlers_.find({method, path});
  if (it != handlers_.end()) return &it->second;
  *status = 404;
  for (const auto& [key, handler] : handlers_) {
    if (key.second == path) *status = 405;
  }
  return nullptr;
}

struct HttpServer::Impl {
  Impl(Options options, Routes routes)
      : options(std::move(options)), routes(std::move(routes)), acceptor(io) {}
  Options options;
  Routes routes;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::atomic<bool> stopped{false};
  void Accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {}

  void Read() {
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_->options.max_header_bytes));
    stream_.expires_after(absl::ToChronoNanoseconds(server_->options.idle_timeout));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::body_limit)
      return Reply(ErrorResponse(413, "request body too large"), false);
    if (ec == bhttp::error::header_limit)
      return Reply(ErrorResponse(431, "request headers too large"), false);
    if (ec && ec.category() == beast::error_code(bhttp::error::bad_target).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return Reply(ErrorResponse(400, "malformed HTTP request"), false);
    }
    if (ec) return Close();
    bhttp::request<bhttp::string_body> request = parser_->release();
    HttpRequest view;
    view.method = std::string(request.method_string());
    std::string target(request.target());
    const size_t query = target.find('?');
    view.path = target.substr(0, query);
    if (query != std::string::npos) view.query = target.substr(query + 1);
    for (const auto& field : request) {
      view.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
          std::string(field.value());
    }
    view.body = std::move(request.body());
    int status = 404;
    const AsyncHttpHandler* handler = server_->routes.Find(view.method, view.path, &status);
    const bool keep_alive = request.keep_alive();
    if (handler == nullptr) {
      return Reply(ErrorResponse(status, status == 404 ? "not found" : "method not allowed"),
                   keep_alive);
    }
    // Synchronous handlers answer right here; a later answer from another thread is posted to
    // the I/O thread, which alone writes to the stream.
    (*handler)(view, [self = shared_from_this(), keep_alive](HttpResponse response) {
      if (self->server_->io.get_executor().running_in_this_thread()) {
        return self->Reply(std::move(response), keep_alive);
      }
      asio::post(self->stream_.get_executor(),
                 [self, keep_alive, response = std::move(response)]() mutable {
                   self->Reply(std::move(response), keep_alive);
                 });
    });
  }

  void Reply(HttpResponse response, bool keep_alive) {
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(response.status));
    response_.set(bhttp::field::server, "aarthik-gateway");
    response_.set(bhttp::field::content_type, response.content_type);
    response_.keep_alive(keep_alive);
    response_.body() = std::move(response.body);
    response_.prepare_payload();
    bhttp::async_write(stream_, response_,
                       [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                         if (ec || !keep_alive || self->server_->stopped.load())
                           return self->Close();
                         self->Read();
                       });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(io, [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!stopped.load() && ec != asio::error::operation_aborted) Accept();
      return;
    }
    std::make_shared<Session>(std::move(socket), this)->Read();
    Accept();
  });
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(Options options, Routes routes) {
  const size_t colon = options.listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(options.listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http-listen must be HOST:PORT, got ", options.listen));
  }
  std::string host = options.listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec)
    return absl::InvalidArgumentError(
        absl::StrCat("--http-listen host is not an IP address: ", host));

  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>(std::move(options), std::move(routes));
  Impl& impl = *server->impl_;
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on --http-listen=", impl.options.listen, ": ", ec.message()));
  }
  const unsigned short bound = impl.acceptor.local_endpoint().port();
  std::string shown =
      address.is_v6() ? absl::StrCat("[", address.to_string(), "]") : address.to_string();
  server->address_ = absl::StrCat(shown, ":", bound);
  impl.Accept();
  server->thread_ = std::thread([&impl] { impl.io.run(); });
  return server;
}

void HttpServer::Stop() {
  if (impl_ == nullptr || impl_->stopped.exchange(true)) return;
  asio::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
  // Sessions still reading hold no more than their timeout; stopping the context drops them.
  impl_->io.stop();
  if (thread_.joinable()) thread_.join();
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace aarthik::http
