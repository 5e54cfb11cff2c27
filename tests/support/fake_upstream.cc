#include "tests/support/fake_upstream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "tests/support/sync.h"

namespace aarthik::testing {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "FakeUpstream: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

}  // namespace

struct FakeUpstream::Connection {
  int fd = -1;
  size_t number = 0;
  std::string input;
  std::string output;
  size_t output_offset = 0;
  bool close_after_flush = false;
  bool silent = false;       // Told never to answer: ignore whatever else arrives.
  bool has_pending = false;  // A delayed response waits for `respond_at`.
  FakeResponse pending;
  absl::Time respond_at;
};

std::string_view ReceivedRequest::Header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return {};
}

FakeResponse FakeResponse::Ok(std::string body) { return Status(200, std::move(body)); }

FakeResponse FakeResponse::Status(int status, std::string body) {
  FakeResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

FakeResponse FakeResponse::NeverRespond() {
  FakeResponse response;
  response.action = Action::kNeverRespond;
  return response;
}

FakeResponse FakeResponse::ResetWithoutResponse() {
  FakeResponse response;
  response.action = Action::kResetWithoutResponse;
  return response;
}

FakeResponse FakeResponse::CloseMidBody(std::string full_body) {
  FakeResponse response = Ok(std::move(full_body));
  response.action = Action::kCloseMidBody;
  return response;
}

FakeResponse&& FakeResponse::WithHeader(std::string name, std::string value) && {
  headers.emplace_back(std::move(name), std::move(value));
  return std::move(*this);
}

FakeResponse&& FakeResponse::WithDelay(absl::Duration d) && {
  delay = d;
  return std::move(*this);
}

FakeResponse&& FakeResponse::WithConnectionClose() && {
  close_connection = true;
  return std::move(*this);
}

FakeResponse&& FakeResponse::Chunked() && {
  chunked = true;
  return std::move(*this);
}

FakeUpstream::FakeUpstream() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) Die("socket");
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) Die("bind");
  if (listen(listen_fd_, 1024) != 0) Die("listen");
  socklen_t length = sizeof(address);
  if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    Die("getsockname");
  port_ = ntohs(address.sin_port);
  if (pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) Die("pipe2");
  thread_ = std::thread([this] { Run(); });
}

FakeUpstream::~FakeUpstream() {
  {
    aarthik::testing::MutexLock lock(&mu_);
    stopping_ = true;
  }
  char byte = 1;
  [[maybe_unused]] ssize_t n = write(wake_pipe_[1], &byte, 1);
  thread_.join();
  for (auto& connection : connections_) CloseConnection(*connection, /*reset=*/false);
  close(listen_fd_);
  close(wake_pipe_[0]);
  close(wake_pipe_[1]);
}

std::string FakeUpstream::url() const { return absl::StrCat("http://127.0.0.1:", port_); }

void FakeUpstream::EnqueueResponse(FakeResponse response) {
  aarthik::testing::MutexLock lock(&mu_);
  queued_.push_back(std::move(response));
}

void FakeUpstream::SetDefaultResponse(FakeResponse response) {
  aarthik::testing::MutexLock lock(&mu_);
  default_response_ = std::move(response);
}

void FakeUpstream::SetHandler(Handler handler) {
  aarthik::testing::MutexLock lock(&mu_);
  handler_ = std::move(handler);
}

void FakeUpstream::CloseAllConnections() {
  {
    aarthik::testing::MutexLock lock(&mu_);
    close_all_requested_ = true;
  }
  char byte = 1;
  [[maybe_unused]] ssize_t n = write(wake_pipe_[1], &byte, 1);
}

std::vector<ReceivedRequest> FakeUpstream::requests() const {
  aarthik::testing::MutexLock lock(&mu_);
  return requests_;
}

size_t FakeUpstream::request_count() const {
  aarthik::testing::MutexLock lock(&mu_);
  return requests_.size();
}

size_t FakeUpstream::accepted_connections() const {
  aarthik::testing::MutexLock lock(&mu_);
  return accepted_connections_;
}

size_t FakeUpstream::open_connections() const {
  aarthik::testing::MutexLock lock(&mu_);
  return open_connections_;
}

bool FakeUpstream::WaitForRequests(size_t count, absl::Duration timeout) const {
  aarthik::testing::MutexLock lock(&mu_);
  auto arrived = [this, count]()
                     ABSL_SHARED_LOCKS_REQUIRED(mu_) { return requests_.size() >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&arrived), timeout);
}

bool FakeUpstream::WaitForOpenConnections(size_t count, absl::Duration timeout) const {
  aarthik::testing::MutexLock lock(&mu_);
  auto reached = [this, count]()
                     ABSL_SHARED_LOCKS_REQUIRED(mu_) { return open_connections_ == count; };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

FakeResponse FakeUpstream::ChooseResponse(const ReceivedRequest& request) {
  Handler handler;
  {
    aarthik::testing::MutexLock lock(&mu_);
    if (!handler_) {
      if (queued_.empty()) return default_response_;
      FakeResponse next = std::move(queued_.front());
      queued_.pop_front();
      return next;
    }
    handler = handler_;
  }
  return handler(request);
}

void FakeUpstream::Run() {
  std::vector<pollfd> poll_fds;
  for (;;) {
    bool close_all = false;
    {
      aarthik::testing::MutexLock lock(&mu_);
      if (stopping_) return;
      close_all = close_all_requested_;
      close_all_requested_ = false;
    }
    if (close_all) {
      for (auto& connection : connections_) CloseConnection(*connection, /*reset=*/false);
      connections_.clear();
    }
    poll_fds.clear();
    poll_fds.push_back({wake_pipe_[0], POLLIN, 0});
    poll_fds.push_back({listen_fd_, POLLIN, 0});
    int timeout_ms = -1;
    const absl::Time now = absl::Now();
    for (const auto& connection : connections_) {
      short events = POLLIN;
      if (connection->output_offset < connection->output.size()) events |= POLLOUT;
      poll_fds.push_back({connection->fd, events, 0});
      if (connection->has_pending) {
        const int64_t wait_ms = absl::ToInt64Milliseconds(absl::Ceil(
            std::max(connection->respond_at - now, absl::ZeroDuration()), absl::Milliseconds(1)));
        timeout_ms = timeout_ms < 0 ? static_cast<int>(wait_ms)
                                    : std::min(timeout_ms, static_cast<int>(wait_ms));
      }
    }
    if (poll(poll_fds.data(), poll_fds.size(), timeout_ms) < 0 && errno != EINTR) Die("poll");
    if (poll_fds[1].revents & POLLIN) AcceptAll();
    const size_t polled = poll_fds.size() - 2;  // AcceptAll may have appended new connections.
    for (size_t i = 0; i < polled; ++i) {
      Connection& connection = *connections_[i];
      const short revents = poll_fds[i + 2].revents;
      bool keep = true;
      if (revents & (POLLIN | POLLHUP | POLLERR)) keep = ReadFrom(connection);
      if (keep && (revents & POLLOUT)) keep = FlushOutput(connection);
      if (keep && connection.has_pending && absl::Now() >= connection.respond_at) {
        connection.has_pending = false;
        keep =
            StartResponse(connection, std::move(connection.pending)) && ParseRequests(connection);
      }
      if (!keep) CloseConnection(connection, /*reset=*/false);
    }
    connections_.erase(std::remove_if(connections_.begin(), connections_.end(),
                                      [](const auto& c) { return c->fd < 0; }),
                       connections_.end());
  }
}

void FakeUpstream::AcceptAll() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;  // EAGAIN: accepted everything pending.
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto connection = std::make_unique<Connection>();
    connection->fd = fd;
    {
      aarthik::testing::MutexLock lock(&mu_);
      connection->number = ++accepted_connections_;
      ++open_connections_;
    }
    connections_.push_back(std::move(connection));
  }
}

bool FakeUpstream::ReadFrom(Connection& connection) {
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = recv(connection.fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      if (!connection.silent) connection.input.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return false;  // Peer closed.
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno == EINTR) continue;
    return false;  // Reset by the peer.
  }
  return ParseRequests(connection);
}

bool FakeUpstream::ParseRequests(Connection& connection) {
  while (!connection.silent && !connection.has_pending && connection.fd >= 0) {
    const size_t head_end = connection.input.find("\r\n\r\n");
    if (head_end == std::string::npos) return true;
    ReceivedRequest request;
    size_t content_length = 0;
    std::vector<absl::string_view> lines =
        absl::StrSplit(absl::string_view(connection.input).substr(0, head_end), "\r\n");
    std::vector<absl::string_view> request_line = absl::StrSplit(lines[0], ' ');
    if (request_line.size() != 3) return false;  // Not HTTP: drop the connection.
    request.method = std::string(request_line[0]);
    request.target = std::string(request_line[1]);
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == absl::string_view::npos) continue;
      std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
      absl::string_view value = absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
      if (name == "content-length" && !absl::SimpleAtoi(value, &content_length)) return false;
      request.headers.emplace_back(std::move(name), std::string(value));
    }
    const size_t body_start = head_end + 4;
    if (connection.input.size() < body_start + content_length) return true;  // Body still arriving.
    request.body = connection.input.substr(body_start, content_length);
    connection.input.erase(0, body_start + content_length);
    request.connection_number = connection.number;

    FakeResponse response = ChooseResponse(request);
    {
      aarthik::testing::MutexLock lock(&mu_);
      requests_.push_back(std::move(request));
    }
    if (response.delay > absl::ZeroDuration()) {
      connection.has_pending = true;
      connection.respond_at = absl::Now() + response.delay;
      connection.pending = std::move(response);
      return true;
    }
    if (!StartResponse(connection, std::move(response))) return false;
  }
  return true;
}

bool FakeUpstream::StartResponse(Connection& connection, FakeResponse response) {
  switch (response.action) {
    case FakeResponse::Action::kNeverRespond:
      connection.silent = true;
      connection.input.clear();
      return true;
    case FakeResponse::Action::kResetWithoutResponse:
      CloseConnection(connection, /*reset=*/true);
      return false;
    case FakeResponse::Action::kRespond:
    case FakeResponse::Action::kCloseMidBody:
      break;
  }
  const bool mid_body = response.action == FakeResponse::Action::kCloseMidBody;
  std::string& out = connection.output;
  absl::StrAppend(&out, "HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status), "\r\n");
  if (response.chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else {
    absl::StrAppend(&out, "Content-Length: ", response.body.size(), "\r\n");
  }
  for (const auto& [name, value] : response.headers)
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  if (response.close_connection) out.append("Connection: close\r\n");
  out.append("\r\n");
  const absl::string_view body =
      mid_body ? absl::string_view(response.body).substr(0, response.body.size() / 2)
               : response.body;
  if (response.chunked) {
    if (!body.empty()) absl::StrAppend(&out, absl::Hex(body.size()), "\r\n", body, "\r\n");
    if (!mid_body) out.append("0\r\n\r\n");
  } else {
    out.append(body.data(), body.size());
  }
  connection.close_after_flush = response.close_connection || mid_body;
  return FlushOutput(connection);
}

bool FakeUpstream::FlushOutput(Connection& connection) {
  while (connection.output_offset < connection.output.size()) {
    const ssize_t n = send(connection.fd, connection.output.data() + connection.output_offset,
                           connection.output.size() - connection.output_offset, MSG_NOSIGNAL);
    if (n > 0) {
      connection.output_offset += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;  // POLLOUT resumes.
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  connection.output.clear();
  connection.output_offset = 0;
  return !connection.close_after_flush;
}

void FakeUpstream::CloseConnection(Connection& connection, bool reset) {
  if (connection.fd < 0) return;
  if (reset) {
    // SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    linger abort_on_close{1, 0};
    setsockopt(connection.fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
  }
  close(connection.fd);
  connection.fd = -1;
  aarthik::testing::MutexLock lock(&mu_);
  --open_connections_;
}

}  // namespace aarthik::testing
