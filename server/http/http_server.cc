#include "server/http/http_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <list>
#include <mutex>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "server/core/log.h"
#include "server/http/request_head.h"

namespace aarthik::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

const std::string kEmpty;

}  // namespace

const std::string& HttpRequest::Header(const std::string& lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? kEmpty : it->second;
}

void Routes::Add(const std::string& method, const std::string& path, HttpHandler handler,
                 RouteOptions options) {
  AddAsync(
      method, path,
      [handler = std::move(handler)](const HttpRequest& request, Responder respond) {
        respond(handler(request));
      },
      std::move(options));
}

void Routes::AddAsync(const std::string& method, const std::string& path, AsyncHttpHandler handler,
                      RouteOptions options) {
  routes_[{method, path}] = Route{std::move(handler), std::move(options)};
}

const Routes::Route* Routes::Find(const std::string& method, const std::string& path,
                                  int* status) const {
  auto it = routes_.find({method, path});
  if (it != routes_.end()) return &it->second;
  *status = 404;
  for (const auto& [key, route] : routes_) {
    if (key.second == path) *status = 405;
  }
  return nullptr;
}

namespace {
class Session;
}  // namespace

struct HttpServer::Impl {
  Impl(Options options, Routes routes)
      : options(std::move(options)),
        routes(std::move(routes)),
        acceptor(io),
        accept_pause_timer(io) {}
  // Declared before `io`: sessions destroyed with the context still count themselves out.
  Options options;
  Routes routes;
  std::atomic<bool> stopped{false};
  std::atomic<size_t> connections{0};
  std::atomic<uint64_t> accept_failures{0};
  // I/O thread only.
  bool accept_pending = false;
  bool accept_paused = false;
  bool accept_failing = false;  // since the last failure, nothing was accepted
  int spare_fd = -1;            // given up to shed a connection when descriptors run out
  // Where closing connections' unwanted bytes go; one for all, as only the I/O thread reads.
  std::array<char, 64 << 10> discard;
  // Connections waiting for a request's head (new ones, and kept-alive ones between requests),
  // oldest first. At the connection cap, a connection waiting in the backlog makes the oldest of
  // them close, so that idle connections cannot lock new clients out.
  std::list<std::weak_ptr<Session>> waiting;
  bool backlog_watched = false;
  std::atomic<uint64_t> evicted{0};
  // Whether Serve is running the I/O; Stop waits for it to end. Guarded by serve_mu.
  std::mutex serve_mu;
  std::condition_variable serve_ended;
  bool serving = false;
  asio::io_context io;
  // Keeps io.run() going while nothing is pending on the context: at the connection cap with
  // every connection waiting for an asynchronous handler, no accept, read or timer is.
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  tcp::acceptor acceptor;
  asio::steady_timer accept_pause_timer;

  // Arms one accept unless one is pending, accepting is paused or the connection cap is reached
  // (then watches the backlog instead).
  void Accept();
  // At the cap: once a connection waits in the backlog, closes the oldest waiting session.
  void WatchBacklog();
  void EvictOldestWaiting();
  void OnAcceptError(const beast::error_code& ec);
  void OnSessionClosed();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {}
  ~Session() {
    StopWaiting();
    server_->OnSessionClosed();
  }

  // Closes the connection to make room for a new one (it was waiting for a request).
  void Evict() {
    StopWaiting();
    Close();
  }

  void Read() {
    parser_.emplace();
    // Checked in OnHead once the route is known: the parser would refuse a long Content-Length
    // with 413 before a route could refuse the request from its headers. (Not boost::none:
    // Beast 1.74 compares lengths with the optional, and every length is more than none.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    parser_->header_limit(static_cast<uint32_t>(server_->options.max_header_bytes));
    stream_.expires_after(absl::ToChronoNanoseconds(server_->options.idle_timeout));
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHead(ec); });
    waiting_ = server_->waiting.insert(server_->waiting.end(), weak_from_this());
    server_->WatchBacklog();
  }

 private:
  // Answers a read error; false when there was none.
  bool ReplyToReadError(const beast::error_code& ec) {
    if (!ec) return false;
    // After any of these the rest of the request is unread: answer and close.
    if (std::optional<HttpResponse> answer = ReadErrorResponse(ec)) {
      Reply(*std::move(answer), false);
    } else {
      Close();
    }
    return true;
  }

  void StopWaiting() {
    if (!waiting_.has_value()) return;
    server_->waiting.erase(*waiting_);
    waiting_.reset();
  }

  void OnHead(beast::error_code ec) {
    StopWaiting();
    if (ReplyToReadError(ec)) return;
    request_ = RequestFromHead(parser_->get());
    keep_alive_ = parser_->get().keep_alive();
    // Refusals from the head alone close the connection when a body follows: it is never read.
    const bool body_pending = !parser_->is_done();
    const auto length = parser_->content_length();  // boost::optional
    HeadVerdict verdict = JudgeHead(server_->routes, request_, server_->options.max_body_bytes,
                                    length ? std::optional<uint64_t>(*length) : std::nullopt);
    if (verdict.refusal.has_value()) {
      return Reply(*std::move(verdict.refusal), keep_alive_ && !body_pending && !verdict.close);
    }
    route_ = verdict.route;
    parser_->body_limit(verdict.body_limit);  // a chunked body counts down from here
    if (!body_pending) return OnBody({});
    if (absl::EqualsIgnoreCase(request_.Header("expect"), "100-continue")) {
      // The client waits for this before sending the body (curl: up to a second).
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      return asio::async_write(stream_, asio::buffer(kContinue, sizeof(kContinue) - 1),
                               [self = shared_from_this()](beast::error_code ec, size_t) {
                                 if (ec) return self->Close();
                                 self->ReadBody();
                               });
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ReplyToReadError(ec)) return;
    request_.body = std::move(parser_->get().body());
    // Synchronous handlers answer right here; a later answer from another thread is posted to
    // the I/O thread, which alone writes to the stream.
    route_->handler(request_,
                    [self = shared_from_this(), keep_alive = keep_alive_](HttpResponse response) {
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
                         if (ec) return self->Close();
                         if (!keep_alive || self->server_->stopped.load())
                           return self->LingeringClose();
                         self->Read();
                       });
  }

  // Closing a socket with unread bytes makes the kernel reset the connection, which can destroy
  // the answer before the client reads it: stop sending, then discard what the client still
  // sends for a moment.
  void LingeringClose() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerFor);
    Discard();
  }

  void Discard() {
    stream_.async_read_some(asio::buffer(server_->discard),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->discarded_ += n;
                              if (ec || self->discarded_ > kLingerBytes) return self->Close();
                              self->Discard();
                            });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  static constexpr std::chrono::seconds kLingerFor{2};
  static constexpr size_t kLingerBytes = 1 << 20;

  beast::tcp_stream stream_;
  HttpServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  HttpRequest request_;
  const Routes::Route* route_ = nullptr;
  bool keep_alive_ = false;
  bhttp::response<bhttp::string_body> response_;
  size_t discarded_ = 0;
  // This session's entry in the server's `waiting` list while it waits for a request's head.
  std::optional<std::list<std::weak_ptr<Session>>::iterator> waiting_;
};

bool OutOfResources(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors ||  // EMFILE
         ec == beast::error_code(ENFILE, beast::system_category()) ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

}  // namespace

void HttpServer::Impl::Accept() {
  if (accept_pending || accept_paused || stopped.load()) return;
  if (connections.load(std::memory_order_relaxed) >= options.max_connections) {
    return WatchBacklog();
  }
  accept_pending = true;
  acceptor.async_accept(io, [this](beast::error_code ec, tcp::socket socket) {
    accept_pending = false;
    if (stopped.load() || ec == asio::error::operation_aborted) return;
    if (ec) return OnAcceptError(ec);
    if (accept_failing) {
      accept_failing = false;
      core::Log(core::Severity::kInfo, "http listener accepting again",
                {{"accept_failures", absl::StrCat(accept_failures.load())}});
    }
    connections.fetch_add(1, std::memory_order_relaxed);
    std::make_shared<Session>(std::move(socket), this)->Read();
    Accept();
  });
}

void HttpServer::Impl::OnAcceptError(const beast::error_code& ec) {
  if (!OutOfResources(ec)) {
    // ECONNABORTED and the like concern one connection that gave up while queued.
    return Accept();
  }
  accept_failures.fetch_add(1, std::memory_order_relaxed);
  if (!accept_failing) {
    accept_failing = true;
    core::Log(core::Severity::kWarning, "http listener cannot accept; pausing",
              {{"error", ec.message()},
               {"open_connections", absl::StrCat(connections.load())},
               {"pause", absl::FormatDuration(options.accept_pause)}});
  }
  if (spare_fd >= 0) {
    // Shed one queued connection (the client sees it closed at once instead of hanging) with the
    // descriptor kept for that, then take the descriptor back.
    ::close(spare_fd);
    const int shed =
        ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (shed >= 0) ::close(shed);
    spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  accept_paused = true;
  accept_pause_timer.expires_after(absl::ToChronoNanoseconds(options.accept_pause));
  accept_pause_timer.async_wait([this](beast::error_code wait_error) {
    accept_paused = false;
    if (wait_error != asio::error::operation_aborted) Accept();
  });
}

void HttpServer::Impl::WatchBacklog() {
  if (backlog_watched || accept_pending || stopped.load() || waiting.empty() ||
      connections.load(std::memory_order_relaxed) < options.max_connections) {
    return;
  }
  // A connection may already wait (its readiness reported while nothing watched for it).
  pollfd listener{acceptor.native_handle(), POLLIN, 0};
  if (::poll(&listener, 1, 0) == 1 && (listener.revents & POLLIN) != 0) return EvictOldestWaiting();
  backlog_watched = true;
  acceptor.async_wait(tcp::acceptor::wait_read, [this](beast::error_code ec) {
    backlog_watched = false;
    if (ec || stopped.load()) return;
    if (connections.load(std::memory_order_relaxed) < options.max_connections) return Accept();
    EvictOldestWaiting();
  });
}

void HttpServer::Impl::EvictOldestWaiting() {
  // The evicted session's end re-arms Accept, which takes the waiting connection. With nothing
  // to evict, the next session that finishes or starts waiting for a request watches again.
  while (!waiting.empty()) {
    std::shared_ptr<Session> oldest = waiting.front().lock();
    if (oldest == nullptr) {
      waiting.pop_front();
      continue;
    }
    evicted.fetch_add(1, std::memory_order_relaxed);
    oldest->Evict();
    return;
  }
}

void HttpServer::Impl::OnSessionClosed() {
  connections.fetch_sub(1, std::memory_order_relaxed);
  if (stopped.load()) return;
  // May run while a handler of this connection is still on the stack: accept on the next turn.
  asio::post(io, [this] { Accept(); });
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
  // OnAcceptError's accept4 must never block the I/O thread.
  if (!ec) impl.acceptor.native_non_blocking(true, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on --http-listen=", impl.options.listen, ": ", ec.message()));
  }
  impl.spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const unsigned short bound = impl.acceptor.local_endpoint().port();
  std::string shown =
      address.is_v6() ? absl::StrCat("[", address.to_string(), "]") : address.to_string();
  server->address_ = absl::StrCat(shown, ":", bound);
  impl.Accept();
  if (impl.options.own_thread) server->thread_ = std::thread([&impl] { impl.io.run(); });
  return server;
}

void HttpServer::Serve() {
  if (impl_->options.own_thread) return;
  {
    std::lock_guard<std::mutex> lock(impl_->serve_mu);
    if (impl_->stopped.load()) return;
    impl_->serving = true;
  }
  impl_->io.run();  // returns at once if Stop came in between: the context is stopped
  std::lock_guard<std::mutex> lock(impl_->serve_mu);
  impl_->serving = false;
  impl_->serve_ended.notify_all();
}

void HttpServer::RunAfter(absl::Duration delay, absl::AnyInvocable<void()> task) {
  auto timer = std::make_shared<asio::steady_timer>(impl_->io, absl::ToChronoNanoseconds(delay));
  timer->async_wait([timer, task = std::move(task)](const beast::error_code& ec) mutable {
    if (!ec) task();
  });
}

void HttpServer::WhenReadable(int fd, absl::AnyInvocable<void()> task) {
  // The caller owns `fd`: the descriptor object lets go of it without closing it, whenever the
  // wait ends (including at Stop, when the context destroys the pending wait).
  std::shared_ptr<asio::posix::stream_descriptor> descriptor(
      new asio::posix::stream_descriptor(impl_->io, fd), [](asio::posix::stream_descriptor* d) {
        d->release();
        delete d;
      });
  descriptor->async_wait(asio::posix::stream_descriptor::wait_read,
                         [descriptor, task = std::move(task)](const beast::error_code& ec) mutable {
                           if (!ec) task();
                         });
}

void HttpServer::Stop() {
  if (impl_ == nullptr || impl_->stopped.exchange(true)) return;
  asio::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
  // Sessions still reading hold no more than their timeout; stopping the context drops them.
  impl_->io.stop();
  if (thread_.joinable()) {
    thread_.join();
  } else {
    std::unique_lock<std::mutex> lock(impl_->serve_mu);
    impl_->serve_ended.wait(lock, [this] { return !impl_->serving; });
  }
  if (impl_->spare_fd >= 0) ::close(impl_->spare_fd);
  impl_->spare_fd = -1;
}

size_t HttpServer::open_connections() const { return impl_->connections.load(); }

uint64_t HttpServer::accept_failures() const { return impl_->accept_failures.load(); }

uint64_t HttpServer::evicted_connections() const { return impl_->evicted.load(); }

HttpServer::~HttpServer() { Stop(); }

}  // namespace aarthik::http
