#include "server/upstream/curl_multi_transport.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/upstream/curl_support.h"

namespace aarthik::upstream {

// One request from Send to its callback. Owned by the posted start task, then by `calls_`.
struct CurlMultiTransport::Call {
  ~Call() {
    curl_slist_free_all(header_list);
    // Only reached with a callback left when the loop stopped before the request could finish: keep
    // the exactly-once promise on whichever thread is tearing down.
    if (done)
      std::move(done)(absl::CancelledError("upstream transport shut down before the request ran"));
  }

  RequestId id = 0;
  Lane* lane = nullptr;  // set once added to a multi handle
  size_t max_response_bytes = 0;
  HttpRequest request;
  ResponseCallback done;
  HttpResponse response;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  bool body_too_large = false;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

namespace {

// The URL without its query string: enough to say which call failed, without leaking query
// parameters.
absl::string_view UrlForMessages(absl::string_view url) { return url.substr(0, url.find('?')); }

}  // namespace

CurlMultiTransport::CurlMultiTransport(EventLoop* loop, Options options)
    : loop_(loop), options_(std::move(options)) {
  InitCurlOnce();
}

CurlMultiTransport::Lane& CurlMultiTransport::LaneWithRoom() {
  if (!lanes_with_room_.empty()) return *lanes_[*lanes_with_room_.begin()];
  auto lane = std::make_unique<Lane>();
  lane->transport = this;
  lane->index = lanes_.size();
  lane->multi = curl_multi_init();
  if (lane->multi == nullptr) {
    std::fprintf(stderr, "curl_multi_init failed\n");
    std::abort();
  }
  CURLM* multi = lane->multi;
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &CurlMultiTransport::CurlSocketCallback);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, lane.get());
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &CurlMultiTransport::CurlTimerCallback);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, lane.get());
  const long capacity = static_cast<long>(std::max<size_t>(1, options_.lane_capacity));
  // Each lane keeps its share of the connection budget.
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, std::min(capacity, options_.max_connections));
  if (options_.max_total_connections > 0) {
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      std::min(capacity, options_.max_total_connections));
  }
  curl_multi_setopt(multi, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
  lanes_with_room_.insert(lane->index);
  lanes_.push_back(std::move(lane));
  return *lanes_.back();
}

CurlMultiTransport::~CurlMultiTransport() {
  ShutDownOnLoop(loop_, [this] { Shutdown(); });
}

void CurlMultiTransport::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& lane : lanes_) {
    if (lane->timer != 0) loop_->CancelTimer(lane->timer);
    lane->timer = 0;
  }
  while (!calls_.empty()) {
    Complete(calls_.begin()->second.get(),
             absl::CancelledError("upstream transport shut down before the request completed"));
  }
  // Closes the cached connections; curl reports each socket's removal through CurlSocketCallback.
  for (auto& lane : lanes_) {
    curl_multi_cleanup(lane->multi);
    lane->multi = nullptr;
  }
  for (CURL* easy : idle_easy_handles_) curl_easy_cleanup(easy);
  idle_easy_handles_.clear();
}

HttpTransport::RequestId CurlMultiTransport::Send(HttpRequest request, ResponseCallback done) {
  const RequestId id = next_request_id_.fetch_add(1, std::memory_order_relaxed);
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= options_.max_in_flight) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    // Held by a Call so that, should the loop drop the task (stopped), ~Call still reports once.
    auto refused = std::make_unique<Call>();
    refused->done = std::move(done);
    loop_->Post([refused = std::move(refused), limit = options_.max_in_flight]() mutable {
      ResponseCallback done = std::move(refused->done);
      refused->done = nullptr;
      std::move(done)(absl::ResourceExhaustedError(
          absl::StrCat("upstream transport: ", limit, " requests already in flight")));
    });
    return id;
  }
  auto call = std::make_unique<Call>();
  call->id = id;
  call->max_response_bytes = options_.max_response_bytes;
  call->request = std::move(request);
  call->done = std::move(done);
  // On the loop the request starts here (curl sends it when its zero timeout fires, before the loop
  // sleeps or the caller leaves the loop); from elsewhere through the queue, so that Cancel(id)
  // (queued later) finds the call registered. Either way `done` never runs inside Send.
  loop_->RunOrPost([this, call = std::move(call)]() mutable { StartCall(std::move(call)); });
  return id;
}

void CurlMultiTransport::Cancel(RequestId id) {
  loop_->Post([this, id] { CancelOnLoop(id, absl::CancelledError("upstream request cancelled")); });
}

void CurlMultiTransport::CancelOnLoop(RequestId id, absl::Status status) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;  // Already finished (or never started).
  Complete(it->second.get(), std::move(status));
}

void CurlMultiTransport::StartCall(std::unique_ptr<Call> call) {
  Call* raw = call.get();
  if (shut_down_) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    return;  // ~Call reports CANCELLED.
  }
  raw->easy = AcquireEasyHandle();
  calls_.emplace(raw->id, std::move(call));
  absl::Status started = ConfigureEasyHandle(*raw);
  if (started.ok()) {
    Lane& lane = LaneWithRoom();
    if (CURLMcode code = curl_multi_add_handle(lane.multi, raw->easy); code != CURLM_OK) {
      started =
          absl::InternalError(absl::StrCat("curl_multi_add_handle: ", curl_multi_strerror(code)));
    } else {
      raw->lane = &lane;
      if (++lane.in_flight >= options_.lane_capacity) lanes_with_room_.erase(lane.index);
    }
  }
  if (!started.ok()) {
    // Possibly inside Send: complete from the queue.
    loop_->Post([this, id = raw->id, started = std::move(started)] {
      if (auto it = calls_.find(id); it != calls_.end()) Complete(it->second.get(), started);
    });
  }
  // curl asks for an immediate timeout through CurlTimerCallback; the transfer starts from there.
}

absl::Status CurlMultiTransport::ConfigureEasyHandle(Call& call) {
  // Only what differs between requests: the rest was set once when the handle was created, because
  // curl_easy_reset plus a full setup costs more than a whole loopback round trip's user time.
  CURL* easy = call.easy;
  const HttpRequest& request = call.request;
  if (!IsSupportedMethod(request.method)) {
    return absl::InternalError(
        absl::StrCat("upstream request: unsupported method '", request.method, "'"));
  }
  if (curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str()) != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("upstream request: bad URL '", UrlForMessages(request.url), "'"));
  }
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &call);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &call);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, call.error_buffer);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &call);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &call);

  const long timeout_ms = std::max<long>(1, absl::ToInt64Milliseconds(request.timeout));
  const long connect_ms = std::max<long>(
      1, std::min<long>(timeout_ms, absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);

  // HTTPGET also clears what an earlier request on this handle set: POST mode, upload and NOBODY.
  curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    // POSTFIELDS points into the call's request, which outlives the transfer: curl copies nothing.
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
  }
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST,
                   request.method == "GET" || request.method == "POST" || request.method == "HEAD"
                       ? static_cast<const char*>(nullptr)
                       : request.method.c_str());

  bool has_content_type = false;
  std::string line;
  for (const auto& [name, value] : request.headers) {
    if (absl::EqualsIgnoreCase(name, "content-type")) has_content_type = true;
    line.assign(name);
    // curl drops a header given as "Name:"; "Name;" is its spelling for "send it with no value".
    line.append(value.empty() ? ";" : ": ");
    line.append(value);
    curl_slist* appended = curl_slist_append(call.header_list, line.c_str());
    if (appended == nullptr)
      return absl::InternalError("upstream request: out of memory for headers");
    call.header_list = appended;
  }
  // "Expect:" stops curl from waiting a round trip for 100-continue on large bodies; an empty
  // Content-Type stops it from labelling bodies as form data when the caller named none.
  call.header_list = curl_slist_append(call.header_list, "Expect:");
  if (!has_content_type && !request.body.empty()) {
    call.header_list = curl_slist_append(call.header_list, "Content-Type:");
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, call.header_list);

  if (options_.http2_over_tls && absl::StartsWithIgnoreCase(request.url, "https:")) {
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    // Wait for a connection in progress to say whether it multiplexes rather than open another.
    // Only for TLS: over plain HTTP/1.1 it would serialise concurrent requests behind the first
    // connect.
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 0L);
  }
  return absl::OkStatus();
}

void CurlMultiTransport::SetPerHandleOptions(CURL* easy) const {
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  // The request target goes out exactly as the route table rendered and checked it: no dot-segment
  // removal that could turn it into another platform path.
  curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
  // An explicit proxy setting (even "none") spares curl reading the *_proxy environment per
  // request.
  curl_easy_setopt(easy, CURLOPT_PROXY, options_.proxy.c_str());
  curl_easy_setopt(easy, CURLOPT_NOPROXY, "");
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &CurlMultiTransport::CurlHeaderCallback);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &CurlMultiTransport::CurlBodyCallback);
  // Lets curl refuse a too-large body from its Content-Length before reading it; the write callback
  // still enforces the limit for bodies without one.
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options_.max_response_bytes));
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &CurlMultiTransport::CurlCloseSocketCallback);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, const_cast<CurlMultiTransport*>(this));
  curl_opensocket_callback open_socket = [](void* call_ptr, curlsocktype,
                                            curl_sockaddr* address) -> curl_socket_t {
    const curl_socket_t fd = OpenCurlSocket(*address);
    Lane* lane = static_cast<Call*>(call_ptr)->lane;
    if (fd != CURL_SOCKET_BAD) lane->transport->OnSocketOpened(fd, lane);
    return fd;
  };
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  if (!options_.ca_bundle_path.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_bundle_path.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
}

size_t CurlMultiTransport::CurlHeaderCallback(char* data, size_t size, size_t count, void* userp) {
  Call& call = *static_cast<Call*>(userp);
  const size_t length = size * count;
  absl::string_view line(data, length);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new status line (after a 1xx interim response): only the final response's headers count.
    call.response.headers.clear();
    return length;
  }
  line = absl::StripAsciiWhitespace(line);
  const size_t colon = line.find(':');
  if (line.empty() || colon == absl::string_view::npos) return length;
  std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon)));
  absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
  if (name == "content-length") {
    size_t declared = 0;
    // Pre-size the body once; never beyond the limit, whatever the upstream claims.
    if (absl::SimpleAtoi(value, &declared)) {
      call.response.body.reserve(std::min(declared, call.max_response_bytes));
    }
  }
  call.response.headers.emplace_back(std::move(name), std::string(value));
  return length;
}

size_t CurlMultiTransport::CurlBodyCallback(char* data, size_t size, size_t count, void* userp) {
  Call& call = *static_cast<Call*>(userp);
  const size_t length = size * count;
  if (call.response.body.size() + length > call.max_response_bytes) {
    call.body_too_large = true;
    return 0;  // Any short count makes curl abort the transfer with CURLE_WRITE_ERROR.
  }
  call.response.body.append(data, length);
  return length;
}

int CurlMultiTransport::CurlSocketCallback(CURL* easy, int fd, int what, void* lane_ptr,
                                           void* socket_data) {
  Lane* lane = static_cast<Lane*>(lane_ptr);
  CurlMultiTransport* transport = lane->transport;
  if (fd < 0) return 0;
  if (static_cast<size_t>(fd) >= transport->sockets_.size()) transport->sockets_.resize(fd + 1);
  SocketWatch& watch = transport->sockets_[fd];
  if (watch.lane != lane && watch.lane != nullptr) {
    // Another lane's socket has the number now: this lane's one under it was closed since.
    if (what == CURL_POLL_REMOVE) return 0;
    if (watch.registered) transport->loop_->Unwatch(fd);
    watch = SocketWatch();
  }
  if (what == CURL_POLL_REMOVE) {
    // curl says this for every keep-alive connection it parks in its cache between requests.
    // Keeping the epoll registration saves two epoll_ctl calls per request; OnSocketEvent drops it
    // if the idle socket becomes ready, and CurlCloseSocketCallback before curl closes it.
    watch.parked = true;
    return 0;
  }
  uint32_t events = 0;
  if (what & CURL_POLL_IN) events |= EPOLLIN;
  if (what & CURL_POLL_OUT) events |= EPOLLOUT;
  watch.parked = false;
  watch.lane = lane;
  if (watch.registered && watch.events == events) return 0;
  absl::Status watched =
      watch.registered ? transport->loop_->Modify(fd, events) : transport->WatchSocket(fd, events);
  if (!watched.ok()) {
    // Never -1: curl would mark the whole multi handle dead and fail every transfer in the lane.
    transport->loop_->Unwatch(fd);
    watch = SocketWatch();
    transport->FailTransfer(easy, watched);
    return 0;
  }
  watch.registered = true;
  watch.events = events;
  return 0;
}

absl::Status CurlMultiTransport::WatchSocket(int fd, uint32_t events) {
  return loop_->WatchReplacing(fd, events,
                               [this, fd](uint32_t ready) { OnSocketEvent(fd, ready); });
}

void CurlMultiTransport::FailTransfer(CURL* easy, const absl::Status& why) {
  Call* call = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &call);
  if (call == nullptr) return;  // curl's own handle, closing a connection: nothing to end
  loop_->Post([this, id = call->id,
               status = absl::UnavailableError(
                   absl::StrCat("upstream socket cannot be watched: ", why.message()))] {
    CancelOnLoop(id, status);
  });
}

void CurlMultiTransport::OnSocketOpened(int fd, Lane* lane) {
  if (static_cast<size_t>(fd) >= sockets_.size()) sockets_.resize(fd + 1);
  SocketWatch& watch = sockets_[fd];
  // A socket watched under this number was closed without a word to us (curl_support.h), and
  // epoll forgot it. Only an active one of the same multi handle may still have curl's interest,
  // which curl will not declare again: the new socket takes it over.
  const bool keep =
      watch.registered && !watch.parked && watch.lane == lane && WatchSocket(fd, watch.events).ok();
  if (!keep) {
    if (watch.registered) loop_->Unwatch(fd);
    watch = SocketWatch();
    watch.lane = lane;
  }
}

int CurlMultiTransport::CurlCloseSocketCallback(void* transport_ptr, int fd) {
  auto* transport = static_cast<CurlMultiTransport*>(transport_ptr);
  if (fd >= 0 && static_cast<size_t>(fd) < transport->sockets_.size()) {
    SocketWatch& watch = transport->sockets_[fd];
    if (watch.registered) transport->loop_->Unwatch(fd);
    watch = SocketWatch();
  }
  return close(fd);
}

int CurlMultiTransport::CurlTimerCallback(CURLM* multi, long timeout_ms, void* lane_ptr) {
  Lane* lane = static_cast<Lane*>(lane_ptr);
  CurlMultiTransport* transport = lane->transport;
  RearmCurlTimer(transport->loop_, &lane->timer, transport->shut_down_ ? -1 : timeout_ms,
                 [transport, lane] { transport->OnCurlTimer(*lane); });
  return 0;
}

void CurlMultiTransport::OnCurlTimer(Lane& lane) {
  lane.timer = 0;
  int running = 0;
  curl_multi_socket_action(lane.multi, CURL_SOCKET_TIMEOUT, 0, &running);
  ProcessCompletedTransfers(lane);
}

void CurlMultiTransport::OnSocketEvent(int fd, uint32_t events) {
  SocketWatch& watch = sockets_[fd];
  if (watch.parked) {
    // An idle cached connection became ready (the upstream closed it, most likely). curl finds out
    // when it next considers reusing it; until then stop watching, or level-triggered epoll would
    // spin.
    loop_->Unwatch(fd);
    watch = SocketWatch();
    return;
  }
  int action = 0;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) action |= CURL_CSELECT_IN;
  if (events & EPOLLOUT) action |= CURL_CSELECT_OUT;
  if (events & EPOLLERR) action |= CURL_CSELECT_ERR;
  if (watch.lane == nullptr) return;
  Lane& lane = *watch.lane;
  int running = 0;
  curl_multi_socket_action(lane.multi, fd, action, &running);
  ProcessCompletedTransfers(lane);
}

void CurlMultiTransport::ProcessCompletedTransfers(Lane& lane) {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(lane.multi, &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    Call* call = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &call);
    const CURLcode code = message->data.result;  // `message` is invalid once the handle is removed.
    long new_connections = 0;
    curl_easy_getinfo(call->easy, CURLINFO_NUM_CONNECTS, &new_connections);
    connections_opened_.fetch_add(static_cast<uint64_t>(new_connections),
                                  std::memory_order_relaxed);
    if (code != CURLE_OK) {
      Complete(call, StatusFromCurl(code, *call));
      continue;
    }
    long http_status = 0;
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &http_status);
    call->response.status = static_cast<int>(http_status);
    HttpResponse response = std::move(call->response);
    Complete(call, std::move(response));
  }
}

absl::Status CurlMultiTransport::StatusFromCurl(int curl_code, const Call& call) const {
  const auto code = static_cast<CURLcode>(curl_code);
  const absl::string_view detail =
      call.error_buffer[0] != '\0' ? call.error_buffer : curl_easy_strerror(code);
  const std::string what = absl::StrCat(call.request.method, " ", UrlForMessages(call.request.url));
  // Bytes of the request written so far: zero means the upstream cannot have seen it.
  long request_bytes = 0;
  curl_easy_getinfo(call.easy, CURLINFO_REQUEST_SIZE, &request_bytes);
  const FailurePhase phase = request_bytes > 0 ? FailurePhase::kExchange : FailurePhase::kConnect;
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
      return WithPhase(absl::UnavailableError(absl::StrCat(
                           "upstream connect failed (request not sent): ", what, ": ", detail)),
                       FailurePhase::kConnect);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      // Says which trust store failed: the usual fix is the CA bundle, not the network.
      return WithPhase(absl::UnavailableError(absl::StrCat(
                           "upstream TLS failed (request not sent): the platform's certificate "
                           "could not be verified "
                           "against ",
                           options_.ca_bundle_path.empty()
                               ? "the system CA store"
                               : absl::StrCat("the CA bundle ", options_.ca_bundle_path),
                           ": ", what, ": ", detail)),
                       FailurePhase::kConnect);
    case CURLE_OPERATION_TIMEDOUT: {
      const absl::Duration connect_budget =
          std::min(call.request.timeout, options_.connect_timeout);
      if (phase == FailurePhase::kConnect && connect_budget < call.request.timeout) {
        return WithPhase(absl::UnavailableError(absl::StrCat("upstream connect timed out after ",
                                                             absl::FormatDuration(connect_budget),
                                                             " (request not sent): ", what)),
                         FailurePhase::kConnect);
      }
      return WithPhase(
          absl::DeadlineExceededError(absl::StrCat(
              "upstream request timed out after ", absl::FormatDuration(call.request.timeout),
              phase == FailurePhase::kConnect ? " while connecting: " : ": ", what)),
          phase);
    }
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return WithPhase(absl::UnavailableError(absl::StrCat(
                           phase == FailurePhase::kConnect
                               ? "upstream connection lost before the request was sent: "
                               : "upstream connection lost mid-exchange: ",
                           what, ": ", detail)),
                       phase);
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
      if (code == CURLE_FILESIZE_EXCEEDED || call.body_too_large) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "upstream response body over ", call.max_response_bytes, " bytes: ", what));
      }
      [[fallthrough]];
    default:
      return absl::InternalError(absl::StrCat("upstream transfer failed: ", what, ": ", detail));
  }
}

void CurlMultiTransport::Complete(Call* call, absl::StatusOr<HttpResponse> result) {
  if (Lane* lane = call->lane; lane != nullptr) {
    if (lane->multi != nullptr) curl_multi_remove_handle(lane->multi, call->easy);
    if (lane->in_flight-- >= options_.lane_capacity) lanes_with_room_.insert(lane->index);
    call->lane = nullptr;
  }
  ReleaseEasyHandle(call->easy);
  call->easy = nullptr;
  auto node = calls_.extract(call->id);
  ResponseCallback done = std::move(call->done);
  call->done = nullptr;
  // Free the slot before the callback, so a retry sent from inside it is not refused.
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  std::move(done)(std::move(result));
  // `node` (and the request it owns) is destroyed here, after the callback.
}

CURL* CurlMultiTransport::AcquireEasyHandle() {
  if (!idle_easy_handles_.empty()) {
    CURL* easy = idle_easy_handles_.back();
    idle_easy_handles_.pop_back();
    return easy;
  }
  CURL* easy = curl_easy_init();
  if (easy == nullptr) {
    std::fprintf(stderr, "curl_easy_init failed: out of memory\n");
    std::abort();
  }
  SetPerHandleOptions(easy);
  return easy;
}

void CurlMultiTransport::ReleaseEasyHandle(CURL* easy) {
  const size_t pool_cap =
      options_.max_pooled_handles != 0 ? options_.max_pooled_handles : options_.max_in_flight;
  if (idle_easy_handles_.size() >= pool_cap) {
    curl_easy_cleanup(easy);
    return;
  }
  // No curl_easy_reset (see ConfigureEasyHandle): drop only the pointers into the finished call, so
  // that nothing in the idle handle refers to freed memory. Connections live in the multi handle's
  // cache.
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, nullptr);
  idle_easy_handles_.push_back(easy);
}

}  // namespace aarthik::upstream
