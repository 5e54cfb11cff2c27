#include "sandbox/http_server.h"

#include <csignal>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/asio/ssl.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"

namespace aarthik::sandbox {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kBodyLimit = 1 << 20;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection: plain (`Stream` = beast::tcp_stream) or TLS (TlsStream, after its handshake).
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(tcp::socket socket, Platform* platform)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), platform_(platform) {}
  Session(tcp::socket socket, asio::ssl::context& tls, Platform* platform)
      : stream_(std::move(socket), tls), timer_(stream_.get_executor()), platform_(platform) {}

  void Start() {
    beast::error_code ignored;
    socket().set_option(tcp::no_delay(true), ignored);
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                self->platform_->CountTlsHandshake(!ec);
                                if (ec) {
                                  beast::error_code ignored;
                                  self->socket().close(ignored);
                                  return;
                                }
                                self->Read();
                              });
    } else {
      Read();
    }
  }

 private:
  tcp::socket& socket() { return beast::get_lowest_layer(stream_).socket(); }

  void Read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      HttpRequest request = parser_->release();
      response_ = HttpResponse{http::status::payload_too_large, request.version()};
      response_.set(http::field::content_type, "application/json");
      response_.body() =
          R"({"error":{"code":"VALIDATION_FAILED","message":"Request body too large.","retryable":false,"details":{"field":"body"}}})";
      response_.keep_alive(false);
      response_.prepare_payload();
      Write();
      return;
    }
    if (ec) {
      beast::error_code ignored;
      socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    request_ = parser_->release();
    plan_ = platform_->Plan(request_);
    if (plan_.faults.latency_ms > 0) {
      timer_.expires_after(std::chrono::milliseconds(plan_.faults.latency_ms));
      timer_.async_wait([self = this->shared_from_this()](beast::error_code) { self->Execute(); });
      return;
    }
    Execute();
  }

  void Execute() {
    if (plan_.faults.reset_connection) {
      platform_->CountReset(plan_);
      beast::error_code ignored;
      socket().set_option(asio::socket_base::linger(true, 0), ignored);
      socket().close(ignored);  // RST: the client sees a reset, not a clean close
      return;
    }
    try {
      response_ = platform_->Handle(request_, plan_);
    } catch (const std::exception& e) {
      response_ = HttpResponse{http::status::internal_server_error, request_.version()};
      response_.set(http::field::content_type, "application/json");
      response_.body() = nlohmann::json{{"error",
                                         {{"code", "UPSTREAM_TEMPORARY_FAILURE"},
                                          {"message", absl::StrCat("internal error: ", e.what())},
                                          {"retryable", true},
                                          {"details", nlohmann::json::object()}}}}
                             .dump();
      response_.keep_alive(request_.keep_alive());
      response_.prepare_payload();
    }
    if (plan_.faults.truncate_body) {
      std::ostringstream serialized;
      serialized << response_;
      raw_ = serialized.str();
      raw_.resize(raw_.size() - response_.body().size() / 2 - 1);
      asio::async_write(stream_, asio::buffer(raw_),
                        [self = this->shared_from_this()](beast::error_code, size_t) {
                          beast::error_code ignored;
                          self->socket().shutdown(tcp::socket::shutdown_both, ignored);
                          self->socket().close(ignored);
                        });
      return;
    }
    Write();
  }

  void Write() {
    http::async_write(stream_, response_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec || !self->response_.keep_alive()) {
                          beast::error_code ignored;
                          self->socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->Read();
                      });
  }

  Stream stream_;
  asio::steady_timer timer_;
  Platform* platform_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  RequestPlan plan_;
  HttpResponse response_;
  std::string raw_;
};

}  // namespace

HttpServer::HttpServer(Platform* platform, int threads)
    : platform_(platform),
      threads_(threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency())),
      io_(threads_),
      acceptor_(asio::make_strand(io_)),
      signals_(io_, SIGTERM, SIGINT) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<std::string> HttpServer::Listen(const std::string& host, int port) {
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("bad listen host: ", host));
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("listen ", host, ":", port, ": ", ec.message()));
  tcp::endpoint bound = acceptor_.local_endpoint();
  std::string host_text = bound.address().to_string();
  if (bound.address().is_v6()) host_text = absl::StrCat("[", host_text, "]");
  return absl::StrCat(host_text, ":", bound.port());
}

absl::Status HttpServer::EnableTls(const std::string& cert_file, const std::string& key_file) {
  auto tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
  beast::error_code ec;
  tls->use_certificate_chain_file(cert_file, ec);
  if (ec)
    return absl::InvalidArgumentError(absl::StrCat("--tls-cert ", cert_file, ": ", ec.message()));
  // Also refuses a key that does not match the certificate ("key values mismatch").
  tls->use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec)
    return absl::InvalidArgumentError(absl::StrCat("--tls-key ", key_file, ": ", ec.message()));
  tls_ = std::move(tls);
  return absl::OkStatus();
}

void HttpServer::Accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec && tls_ != nullptr) {
      std::make_shared<Session<TlsStream>>(std::move(socket), *tls_, platform_)->Start();
    } else if (!ec) {
      std::make_shared<Session<beast::tcp_stream>>(std::move(socket), platform_)->Start();
    }
    Accept();
  });
}

void HttpServer::Run() {
  signals_.async_wait([this](beast::error_code ec, int) {
    if (!ec) Stop();
  });
  Accept();
  std::vector<std::thread> workers;
  for (int i = 1; i < threads_; ++i) workers.emplace_back([this] { io_.run(); });
  io_.run();
  for (std::thread& t : workers) t.join();
}

void HttpServer::Stop() {
  asio::post(io_, [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    signals_.cancel(ignored);
  });
  io_.stop();
}

}  // namespace aarthik::sandbox
