// Http1Transport's connect phase: libcurl makes each connection (DNS, TCP, proxy tunnel, TLS with
// verification) through a multi handle driven by the loop, then hands it over (http1_transport.h).
#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/upstream/curl_support.h"
#include "server/upstream/http1_transport.h"
#include "server/upstream/http1_transport_internal.h"

namespace aarthik::upstream {
namespace {

// OpenSSL otherwise reads a TLS record's header and its body with two recv calls: one syscall per
// response saved.
CURLcode ReadAheadOnTls(CURL*, void* ssl_ctx, void*) {
  SSL_CTX_set_read_ahead(static_cast<SSL_CTX*>(ssl_ctx), 1);
  return CURLE_OK;
}

}  // namespace

Http1Transport::Lane& Http1Transport::LaneWithRoom(bool tls) {
  std::set<size_t>& with_room = lanes_with_room_[tls];
  if (!with_room.empty()) return *lanes_[*with_room.begin()];
  auto lane = std::make_unique<Lane>();
  lane->transport = this;
  lane->index = lanes_.size();
  lane->multi = curl_multi_init();
  if (lane->multi == nullptr) {
    std::fprintf(stderr, "curl_multi_init failed\n");
    std::abort();
  }
  curl_multi_setopt(lane->multi, CURLMOPT_SOCKETFUNCTION, &Http1Transport::CurlSocketCallback);
  curl_multi_setopt(lane->multi, CURLMOPT_SOCKETDATA, lane.get());
  curl_multi_setopt(lane->multi, CURLMOPT_TIMERFUNCTION, &Http1Transport::CurlTimerCallback);
  curl_multi_setopt(lane->multi, CURLMOPT_TIMERDATA, lane.get());
  lane->tls = tls;
  with_room.insert(lane->index);
  lanes_.push_back(std::move(lane));
  return *lanes_.back();
}

void Http1Transport::Connect(Origin& origin, Call* call) {
  Lane& lane = LaneWithRoom(origin.tls);
  CURL* easy = curl_easy_init();
  if (easy == nullptr) {
    std::fprintf(stderr, "curl_easy_init failed: out of memory\n");
    std::abort();
  }
  auto owned = std::make_unique<Connection>();
  Connection* connection = owned.get();
  connection->easy = easy;
  connection->lane = &lane;
  connection->origin = &origin;
  connection->call = call;
  call->connection = connection;
  connections_.emplace(connection, std::move(owned));
  if (++lane.connections >= LaneCapacity(lane)) lanes_with_room_[lane.tls].erase(lane.index);

  const std::string url = origin.key + "/";
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_CONNECT_ONLY, 1L);
  // curl's own transfer buffer (16 KiB by default, per handle) goes unused: bytes are read into
  // the transport's one buffer. The smallest curl accepts keeps 5,000 connections light.
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 1024L);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, connection);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, connection->error_buffer);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_opensocket_callback open_socket = [](void* connection, curlsocktype,
                                            curl_sockaddr* address) -> curl_socket_t {
    const curl_socket_t fd = OpenCurlSocket(*address);
    Lane* lane = static_cast<Connection*>(connection)->lane;
    if (fd != CURL_SOCKET_BAD) lane->transport->OnCurlSocketOpened(fd, lane);
    return fd;
  };
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, connection);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  // ALPN offers only http/1.1: the bytes that follow are ours, in HTTP/1.1.
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(easy, CURLOPT_PROXY, options_.proxy.c_str());
  curl_easy_setopt(easy, CURLOPT_NOPROXY, "");
  if (!options_.proxy.empty()) curl_easy_setopt(easy, CURLOPT_HTTPPROXYTUNNEL, 1L);
  if (!options_.ca_bundle_path.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_bundle_path.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (origin.tls) curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, &ReadAheadOnTls);
  const long timeout_ms = std::max<long>(1, absl::ToInt64Milliseconds(call->request.timeout));
  curl_easy_setopt(
      easy, CURLOPT_CONNECTTIMEOUT_MS,
      std::max<long>(
          1, std::min<long>(timeout_ms, absl::ToInt64Milliseconds(options_.connect_timeout))));
  if (CURLMcode code = curl_multi_add_handle(lane.multi, easy); code != CURLM_OK) {
    // Complete from the queue: we may be inside Send.
    loop_->Post([this, id = call->id, message = std::string(curl_multi_strerror(code))] {
      CancelOnLoop(id, absl::InternalError(absl::StrCat("curl_multi_add_handle: ", message)));
    });
  }
  // curl starts connecting when its zero timeout fires, from the loop.
}

int Http1Transport::CurlSocketCallback(CURL* easy, int fd, int what, void* lane_ptr, void*) {
  Lane* lane = static_cast<Lane*>(lane_ptr);
  Http1Transport* transport = lane->transport;
  if (fd < 0) return 0;
  if (static_cast<size_t>(fd) >= transport->curl_sockets_.size()) {
    transport->curl_sockets_.resize(fd + 1);
  }
  CurlSocket& socket = transport->curl_sockets_[fd];
  if (socket.lane != lane && socket.lane != nullptr) {
    // Another lane's socket has the number now: this lane's one under it was closed since.
    if (what == CURL_POLL_REMOVE) return 0;
    if (socket.watched) transport->loop_->Unwatch(fd);
    socket = CurlSocket();
  }
  if (what == CURL_POLL_REMOVE) {
    if (socket.watched) transport->loop_->Unwatch(fd);
    socket = CurlSocket();
    return 0;
  }
  uint32_t events = 0;
  if (what & CURL_POLL_IN) events |= EPOLLIN;
  if (what & CURL_POLL_OUT) events |= EPOLLOUT;
  absl::Status watched = socket.watched ? transport->loop_->Modify(fd, events)
                                        : transport->WatchCurlSocket(fd, lane, events);
  if (!watched.ok()) {
    // Never -1: curl would mark the multi handle dead and fail every connect in the lane.
    transport->loop_->Unwatch(fd);
    socket = CurlSocket();
    transport->FailConnect(easy, watched);
    return 0;
  }
  socket = {.lane = lane, .watched = true, .events = events};
  return 0;
}

absl::Status Http1Transport::WatchCurlSocket(int fd, Lane* lane, uint32_t events) {
  return loop_->WatchReplacing(fd, events, [this, lane, fd](uint32_t ready) {
    int action = 0;
    if (ready & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) action |= CURL_CSELECT_IN;
    if (ready & EPOLLOUT) action |= CURL_CSELECT_OUT;
    if (ready & EPOLLERR) action |= CURL_CSELECT_ERR;
    int running = 0;
    curl_multi_socket_action(lane->multi, fd, action, &running);
    ProcessConnects(*lane);
  });
}

void Http1Transport::OnCurlSocketOpened(int fd, Lane* lane) {
  if (static_cast<size_t>(fd) >= curl_sockets_.size()) curl_sockets_.resize(fd + 1);
  CurlSocket& socket = curl_sockets_[fd];
  // A socket watched under this number was closed without a word to us (curl_support.h), and
  // epoll forgot it. Curl may still count on the interest it declared for the number if the
  // socket was its lane's, and will not declare it again: the new socket takes it over.
  const bool keep =
      socket.watched && socket.lane == lane && WatchCurlSocket(fd, lane, socket.events).ok();
  if (!keep) {
    if (socket.watched) loop_->Unwatch(fd);
    socket = {.lane = lane};
  }
}

void Http1Transport::FailConnect(CURL* easy, const absl::Status& why) {
  Connection* connection = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &connection);
  if (connection == nullptr) return;
  loop_->Post([this, connection, easy,
               status = WithPhase(
                   absl::UnavailableError(absl::StrCat(
                       "upstream connect failed (request not sent): its socket cannot be watched: ",
                       why.message())),
                   FailurePhase::kConnect)] {
    // The connection may have ended meanwhile; its address may even have been reused.
    if (connections_.contains(connection) && connection->easy == easy) {
      FailOnConnection(connection, status);
    }
  });
}

int Http1Transport::CurlTimerCallback(CURLM*, long timeout_ms, void* lane_ptr) {
  Lane* lane = static_cast<Lane*>(lane_ptr);
  Http1Transport* transport = lane->transport;
  RearmCurlTimer(transport->loop_, &lane->timer, transport->shut_down_ ? -1 : timeout_ms,
                 [transport, lane] { transport->OnLaneTimer(*lane); });
  return 0;
}

void Http1Transport::OnLaneTimer(Lane& lane) {
  lane.timer = 0;
  int running = 0;
  curl_multi_socket_action(lane.multi, CURL_SOCKET_TIMEOUT, 0, &running);
  ProcessConnects(lane);
}

void Http1Transport::ProcessConnects(Lane& lane) {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(lane.multi, &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    const int code = message->data.result;
    Connection* connection = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &connection);
    if (connection == nullptr || !connections_.contains(connection)) continue;
    OnConnected(connection, code);
  }
}

absl::Status Http1Transport::ConnectFailure(int curl_code, const Call& call,
                                            const char* detail) const {
  const auto code = static_cast<CURLcode>(curl_code);
  const std::string what = absl::StrCat(call.request.method, " ", call.origin_key,
                                        call.target.substr(0, call.target.find('?')));
  const absl::string_view why = detail[0] != '\0' ? detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return WithPhase(
          absl::UnavailableError(absl::StrCat(
              "upstream TLS failed (request not sent): the platform's certificate could not be "
              "verified against ",
              options_.ca_bundle_path.empty()
                  ? "the system CA store"
                  : absl::StrCat("the CA bundle ", options_.ca_bundle_path),
              ": ", what, ": ", why)),
          FailurePhase::kConnect);
    case CURLE_OPERATION_TIMEDOUT:
      // Only a connect timeout shorter than the request's says the platform is unreachable. When
      // the request's own time (the caller's deadline, most often) ran out first, it is the
      // request that timed out, as when this transport's timer fires first.
      if (options_.connect_timeout < call.request.timeout) {
        return WithPhase(
            absl::UnavailableError(absl::StrCat("upstream connect timed out after ",
                                                absl::FormatDuration(options_.connect_timeout),
                                                " (request not sent): ", what)),
            FailurePhase::kConnect);
      }
      return WithPhase(
          absl::DeadlineExceededError(absl::StrCat("upstream request timed out after ",
                                                   absl::FormatDuration(call.request.timeout),
                                                   " while connecting: ", what)),
          FailurePhase::kConnect);
    default:
      return WithPhase(absl::UnavailableError(absl::StrCat(
                           "upstream connect failed (request not sent): ", what, ": ", why)),
                       FailurePhase::kConnect);
  }
}

void Http1Transport::OnConnected(Connection* connection, int curl_code) {
  curl_socket_t fd = CURL_SOCKET_BAD;
  if (curl_code == CURLE_OK) {
    curl_easy_getinfo(connection->easy, CURLINFO_ACTIVESOCKET, &fd);
  }
  Call* call = connection->call;
  if (curl_code != CURLE_OK || fd == CURL_SOCKET_BAD) {
    absl::Status failure =
        call != nullptr ? ConnectFailure(curl_code == CURLE_OK ? CURLE_COULDNT_CONNECT : curl_code,
                                         *call, connection->error_buffer)
                        : absl::UnavailableError("connect failed");
    if (call != nullptr) {
      Complete(call, std::move(failure));  // closes the connection
    } else {
      CloseConnection(connection);
    }
    return;
  }
  connections_opened_.fetch_add(1, std::memory_order_relaxed);
  if (static_cast<size_t>(fd) < curl_sockets_.size() && curl_sockets_[fd].watched) {
    loop_->Unwatch(fd);  // curl's registration from the connect phase
  }
  if (static_cast<size_t>(fd) < curl_sockets_.size()) curl_sockets_[fd] = CurlSocket();
  if (!connection->origin->tls) {
    // Plain HTTP needs nothing more from libcurl: keep a descriptor of our own and let its handles
    // go (a multi handle alone is ~36 KiB, which 5,000 connections would pay for nothing).
    const int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) {
      absl::Status failure = WithPhase(
          absl::UnavailableError("upstream connect failed (request not sent): out of descriptors"),
          FailurePhase::kConnect);
      if (call != nullptr) {
        Complete(call, std::move(failure));
      } else {
        CloseConnection(connection);
      }
      return;
    }
    ReleaseCurl(connection);  // closes curl's descriptor
    fd = own;
    // A record under the new number is of a socket curl closed silently (curl_support.h); a late
    // CURL_POLL_REMOVE for it must not unwatch this connection.
    if (static_cast<size_t>(fd) < curl_sockets_.size()) curl_sockets_[fd] = CurlSocket();
  }
  connection->fd = fd;
  absl::Status watched = loop_->WatchReplacing(
      fd, EPOLLIN | EPOLLRDHUP,
      [this, connection](uint32_t events) { OnConnectionEvent(connection, events); });
  if (!watched.ok()) {
    if (call != nullptr) {
      Complete(call, WithPhase(absl::UnavailableError(watched.message()), FailurePhase::kConnect));
    } else {
      CloseConnection(connection);
    }
    return;
  }
  if (call == nullptr) {  // its call was cancelled while connecting: keep it for the next one
    Release(connection);
    return;
  }
  connection->state = Connection::State::kBusy;
  Write(connection);
}

void Http1Transport::ReleaseCurl(Connection* connection) {
  Lane& lane = *connection->lane;
  // Removing a connect-only handle makes libcurl close its connection at once.
  if (lane.multi != nullptr) curl_multi_remove_handle(lane.multi, connection->easy);
  curl_easy_cleanup(connection->easy);
  if (lane.connections-- >= LaneCapacity(lane)) lanes_with_room_[lane.tls].insert(lane.index);
  connection->easy = nullptr;
  connection->lane = nullptr;
}

}  // namespace aarthik::upstream
