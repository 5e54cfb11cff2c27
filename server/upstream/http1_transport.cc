#include "server/upstream/http1_transport.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/upstream/curl_support.h"
#include "server/upstream/http1_codec.h"
#include "server/upstream/http1_transport_internal.h"

namespace aarthik::upstream {
namespace {

constexpr size_t kReadChunk = 64 << 10;

// Upstreams close kept-alive connections after seconds of idleness (Node 5 s, load balancers 60 s),
// not sooner: one used more recently than this is reused without the syscall of StillOpen. A close
// for another reason (a restart) can race any check, the peek included; the caller's retry policy
// covers it.
constexpr absl::Duration kPeekWhenIdleFor = absl::Seconds(1);

// Whether an idle connection can carry a request: the upstream has not closed it, and over plain
// HTTP has sent nothing (an idle HTTP/1.1 connection has nothing to read; over TLS the bytes may
// be a session ticket OpenSSL reads later). Its close may not have reached our epoll callback yet
// when the loop was asleep, and a request written into a closed connection would fail after it
// might have been seen. One non-blocking peek, as libcurl polls before reuse.
bool StillOpen(int fd, bool tls) {
  char byte;
  const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return tls;
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// "https://host:port/path?q" → origin "https://host:port", target "/path?q".
bool SplitUrl(absl::string_view url, absl::string_view* origin, absl::string_view* target,
              bool* tls) {
  if (absl::StartsWithIgnoreCase(url, "http://")) {
    *tls = false;
  } else if (absl::StartsWithIgnoreCase(url, "https://")) {
    *tls = true;
  } else {
    return false;
  }
  const size_t authority = url.find("://") + 3;
  const size_t slash = url.find_first_of("/?#", authority);
  if (slash == authority || (slash != absl::string_view::npos && url[slash] == '#')) return false;
  *origin = url.substr(0, slash);
  *target = slash == absl::string_view::npos ? absl::string_view() : url.substr(slash);
  return true;
}

}  // namespace

Http1Transport::Http1Transport(EventLoop* loop, Options options)
    : loop_(loop), options_(std::move(options)) {
  InitCurlOnce();
}

Http1Transport::~Http1Transport() {
  ShutDownOnLoop(loop_, [this] { Shutdown(); });
}

void Http1Transport::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  while (!calls_.empty()) {
    Complete(calls_.begin()->second.get(),
             absl::CancelledError("upstream transport shut down before the request completed"));
  }
  while (!connections_.empty()) CloseConnection(connections_.begin()->second.get());
  for (auto& lane : lanes_) {
    if (lane->timer != 0) loop_->CancelTimer(lane->timer);
    curl_multi_cleanup(lane->multi);
  }
  lanes_.clear();
}

HttpTransport::RequestId Http1Transport::Send(HttpRequest request, ResponseCallback done) {
  const RequestId id = next_request_id_.fetch_add(1, std::memory_order_relaxed);
  auto call = std::make_unique<Call>();
  call->id = id;
  call->done = std::move(done);
  absl::Status refused;
  absl::string_view origin;
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= options_.max_in_flight) {
    refused = absl::ResourceExhaustedError(absl::StrCat(
        "upstream transport: ", options_.max_in_flight, " requests already in flight"));
  } else if (!IsSupportedMethod(request.method)) {
    refused = absl::InternalError(
        absl::StrCat("upstream request: unsupported method '", request.method, "'"));
  } else if (!SplitUrl(request.url, &origin, &call->target, &call->tls)) {
    refused = absl::InternalError("upstream request: the URL is not absolute http(s)");
  } else {
    for (const auto& [name, value] : request.headers) {
      if (!HeaderValueIsSafe(name) || !HeaderValueIsSafe(value) ||
          name.find(':') != std::string::npos) {
        refused = absl::InternalError(
            absl::StrCat("upstream request: header '", name, "' would split the request"));
        break;
      }
    }
  }
  if (!refused.ok()) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    // Through the queue: `done` never runs inside Send. ~Call reports if the loop drops the task.
    loop_->Post([call = std::move(call), refused = std::move(refused)]() mutable {
      ResponseCallback done = std::move(call->done);
      call->done = nullptr;
      std::move(done)(std::move(refused));
    });
    return id;
  }
  // Both are views into the URL, re-pointed after the move (a short URL's bytes move with it).
  const size_t origin_size = origin.size();
  call->request = std::move(request);
  const absl::string_view url = call->request.url;
  call->origin_key = url.substr(0, origin_size);
  call->target = url.substr(origin_size);
  // On the loop the request starts (and is written) right here; elsewhere through the queue, so
  // that a Cancel queued later finds it. Either way `done` runs later, never inside Send.
  loop_->RunOrPost([this, call = std::move(call)]() mutable { Start(std::move(call)); });
  return id;
}

void Http1Transport::Cancel(RequestId id) {
  loop_->Post([this, id] { CancelOnLoop(id, absl::CancelledError("upstream request cancelled")); });
}

void Http1Transport::Start(std::unique_ptr<Call> owned) {
  if (shut_down_) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    return;  // ~Call reports CANCELLED.
  }
  Call* call = owned.get();
  calls_.emplace(call->id, std::move(owned));
  const absl::Duration timeout = std::max(call->request.timeout, absl::Milliseconds(1));
  call->timer = loop_->RunAfter(timeout, [this, id = call->id, timeout] {
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    it->second->timer = 0;
    const Connection* connection = it->second->connection;
    const bool connecting =
        connection == nullptr || connection->state == Connection::State::kConnecting;
    CancelOnLoop(id,
                 WithPhase(absl::DeadlineExceededError(absl::StrCat(
                               "upstream request timed out after ", absl::FormatDuration(timeout),
                               connecting ? " while connecting" : "")),
                           connecting ? FailurePhase::kConnect : FailurePhase::kExchange));
  });

  Dispatch(call);
}

void Http1Transport::Dispatch(Call* call) {
  auto slot = origins_.find(call->origin_key);
  if (slot == origins_.end()) {
    auto created = std::make_unique<Origin>();
    created->key = std::string(call->origin_key);
    created->host_header = created->key.substr(created->key.find("://") + 3);
    created->tls = call->tls;
    slot = origins_.emplace(created->key, std::move(created)).first;
  }
  Origin& origin = *slot->second;
  const absl::Time now = options_.clock->Now();
  bool reserved = std::exchange(reservation_held_, false);
  while (!origin.idle.empty()) {
    // Without a reservation, only a connection no queued task has reserved.
    if (!reserved && !TakeFreeIdle()) break;
    reserved = false;
    Connection* connection = origin.idle.back();
    origin.idle.pop_back();
    idle_count_.fetch_sub(1, std::memory_order_relaxed);
    const absl::Duration idle_for = now - connection->idle_since;
    if (idle_for > options_.idle_timeout ||
        (idle_for >= kPeekWhenIdleFor && !StillOpen(connection->fd, origin.tls))) {
      connection->state = Connection::State::kBusy;  // off the idle stack already
      CloseConnection(connection);
      continue;
    }
    connection->state = Connection::State::kBusy;
    connection->call = call;
    call->connection = connection;
    Write(connection);
    return;
  }
  Connect(origin, call);
}

void Http1Transport::Write(Connection* connection) {
  Call* call = connection->call;
  if (connection->sent == 0 && connection->out.empty()) {
    RenderRequest(call->request, connection->origin->host_header, call->target, &connection->out);
    connection->parser.emplace(options_.max_response_bytes, call->request.method == "HEAD");
  }
  while (connection->sent < connection->out.size()) {
    const char* data = connection->out.data() + connection->sent;
    const size_t length = connection->out.size() - connection->sent;
    size_t written = 0;
    bool again = false;
    bool failed = false;
    if (connection->origin->tls) {
      const CURLcode code = curl_easy_send(connection->easy, data, length, &written);
      again = code == CURLE_AGAIN;
      failed = code != CURLE_OK && !again;
    } else {
      const ssize_t n = send(connection->fd, data, length, MSG_NOSIGNAL);
      if (n >= 0) {
        written = static_cast<size_t>(n);
      } else {
        again = errno == EAGAIN || errno == EWOULDBLOCK;
        failed = !again && errno != EINTR;
      }
    }
    if (failed) {
      // Nothing written yet: the upstream cannot have seen the request (a kept-alive connection
      // it had just closed, most likely). On a reused connection that is no attempt of the
      // caller's: take another connection.
      const bool unsent = connection->sent == 0;
      if (unsent && connection->reused) {
        CloseConnection(connection);
        Dispatch(call);
        return;
      }
      FailOnConnection(
          connection,
          WithPhase(absl::UnavailableError(absl::StrCat(
                        unsent ? "upstream connection lost before the request was sent: "
                               : "upstream connection lost mid-request: ",
                        call->request.method, " ", connection->origin->key)),
                    unsent ? FailurePhase::kConnect : FailurePhase::kExchange));
      return;
    }
    connection->sent += written;
    if (again) {
      if (!connection->watching_out) {
        connection->watching_out = true;
        (void)loop_->Modify(connection->fd, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
      }
      return;
    }
  }
  if (connection->watching_out) {
    connection->watching_out = false;
    (void)loop_->Modify(connection->fd, EPOLLIN | EPOLLRDHUP);
  }
}

void Http1Transport::OnConnectionEvent(Connection* connection, uint32_t events) {
  if (connection->state == Connection::State::kIdle) {
    if (connection->origin->tls && !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
      // Possibly a record for OpenSSL alone (a TLS 1.3 session ticket): it reads it and has no
      // application data for us.
      char byte;
      size_t received = 0;
      if (curl_easy_recv(connection->easy, &byte, 1, &received) == CURLE_AGAIN) return;
    }
    // The upstream closed (or spoke on) a connection we were not using: it cannot be reused.
    CloseConnection(connection);
    return;
  }
  if (connection->call == nullptr) return;
  if ((events & EPOLLOUT) && connection->sent < connection->out.size()) {
    Write(connection);
    if (connection->call == nullptr) return;  // failed and closed
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) OnReadable(connection);
}

void Http1Transport::OnReadable(Connection* connection) {
  if (read_buffer_.size() < kReadChunk) read_buffer_.resize(kReadChunk);
  for (;;) {
    size_t received = 0;
    bool again = false;
    bool failed = false;
    if (connection->origin->tls) {
      const CURLcode code =
          curl_easy_recv(connection->easy, read_buffer_.data(), read_buffer_.size(), &received);
      again = code == CURLE_AGAIN;
      failed = code != CURLE_OK && !again;
    } else {
      const ssize_t n = recv(connection->fd, read_buffer_.data(), read_buffer_.size(), 0);
      if (n >= 0) {
        received = static_cast<size_t>(n);
      } else {
        again = errno == EAGAIN || errno == EWOULDBLOCK;
        failed = !again && errno != EINTR;
      }
    }
    if (again) return;
    Http1ResponseParser& parser = *connection->parser;
    absl::StatusOr<bool> complete;
    if (failed || received == 0) {
      complete = parser.FeedEof();
      if (!complete.ok()) {
        FailOnConnection(
            connection,
            WithPhase(absl::UnavailableError(absl::StrCat(
                          parser.started() ? "upstream connection lost mid-exchange: "
                                           : "upstream connection lost before an answer: ",
                          connection->call->request.method, " ", connection->origin->key)),
                      connection->sent == 0 ? FailurePhase::kConnect : FailurePhase::kExchange));
        return;
      }
    } else {
      complete = parser.Feed(absl::string_view(read_buffer_.data(), received));
      if (!complete.ok()) {
        absl::Status status = complete.status();
        if (!absl::IsResourceExhausted(status)) {
          status = WithPhase(absl::UnavailableError(status.message()), FailurePhase::kExchange);
        }
        FailOnConnection(connection, std::move(status));
        return;
      }
    }
    if (*complete) {
      const bool keep = parser.keep_alive() && !failed && received != 0;
      Complete(connection->call, parser.TakeResponse(), keep);
      return;  // the connection may already carry another request
    }
  }
}

void Http1Transport::FailOnConnection(Connection* connection, absl::Status status) {
  if (connection->call != nullptr) {
    Complete(connection->call, std::move(status));
  } else {
    CloseConnection(connection);
  }
}

void Http1Transport::Release(Connection* connection) {
  connection->state = Connection::State::kIdle;
  connection->call = nullptr;
  connection->out.clear();
  connection->sent = 0;
  connection->parser.reset();
  connection->reused = true;
  connection->idle_since = options_.clock->Now();
  if (idle_count_.load(std::memory_order_relaxed) >= options_.max_idle_connections || shut_down_) {
    CloseConnection(connection);
    return;
  }
  connection->origin->idle.push_back(connection);
  idle_count_.fetch_add(1, std::memory_order_relaxed);
  free_idle_.fetch_add(1, std::memory_order_relaxed);
}

bool Http1Transport::TakeFreeIdle() {
  int64_t free = free_idle_.load(std::memory_order_relaxed);
  do {
    if (free <= 0) return false;
  } while (!free_idle_.compare_exchange_weak(free, free - 1, std::memory_order_relaxed));
  return true;
}

void Http1Transport::RunReserved(absl::FunctionRef<void()> task) {
  reservation_held_ = true;
  task();
  if (std::exchange(reservation_held_, false)) CancelReservation();
}

void Http1Transport::CloseConnection(Connection* connection) {
  if (connection->state == Connection::State::kIdle) {
    auto& idle = connection->origin->idle;
    if (auto it = std::find(idle.begin(), idle.end(), connection); it != idle.end()) {
      idle.erase(it);
      idle_count_.fetch_sub(1, std::memory_order_relaxed);
      // When every idle connection was reserved, one reservation now finds none and connects.
      TakeFreeIdle();
    }
  }
  if (connection->call != nullptr) connection->call->connection = nullptr;
  if (connection->fd >= 0) loop_->Unwatch(connection->fd);
  if (connection->easy != nullptr) {
    ReleaseCurl(connection);  // closes the socket; curl reports a connecting socket's removal
  } else if (connection->fd >= 0) {
    close(connection->fd);
  }
  connections_.erase(connection);
}

void Http1Transport::Complete(Call* call, absl::StatusOr<HttpResponse> result,
                              bool keep_connection) {
  if (call->timer != 0) loop_->CancelTimer(call->timer);
  if (Connection* connection = call->connection; connection != nullptr) {
    call->connection = nullptr;
    connection->call = nullptr;
    if (keep_connection) {
      Release(connection);
    } else {
      CloseConnection(connection);
    }
  }
  auto node = calls_.extract(call->id);
  ResponseCallback done = std::move(call->done);
  call->done = nullptr;
  // Free the slot before the callback, so a retry sent from inside it is not refused.
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  std::move(done)(std::move(result));
}

void Http1Transport::CancelOnLoop(RequestId id, absl::Status status) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;  // finished already
  Complete(it->second.get(), std::move(status));
}

}  // namespace aarthik::upstream
