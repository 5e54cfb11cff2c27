// Http1Transport: the gateway's default HttpTransport. HTTP/1.1 with keep-alive on connections that
// libcurl makes (DNS, TCP, proxy tunnel, TLS with the configured CA and full verification) and
// then hands over (CURLOPT_CONNECT_ONLY): the request and response text is ours (http1_codec.h),
// the bytes go through the socket directly for http:// and through libcurl's TLS for https://.
//
// Why: with libcurl's own HTTP layer a request costs ~100 k instructions (its request builder
// formats every header byte through its printf engine), more than the rest of a proxied RPC; here
// it costs a few thousand. CurlMultiTransport remains for HTTP/2 (`--upstream-http2`).
//
// Example:
//   EventLoop loop;
//   loop.Start();
//   Http1Transport transport(&loop, Http1Transport::Options{});
//   HttpRequest request;
//   request.method = "GET";
//   request.url = "http://127.0.0.1:8080/v1/offers";
//   auto id = transport.Send(std::move(request), [](absl::StatusOr<HttpResponse> response) { ...
//   }); transport.Cancel(id);  // optional; `done` then gets CANCELLED unless it already ran
//
// Connections: one request at a time each (no pipelining); an idle connection goes back on a
// last-in-first-out stack per origin, so the warmest is reused; one the upstream closes while idle
// is dropped at once (it is watched; one idle for a second or more is also peeked at before
// reuse, in case its loop has not seen the close yet), one idle longer than Options::idle_timeout
// is closed instead of reused. A request that fails on a reused connection is reported like any
// other (the caller's retry policy decides: nothing is re-sent behind its back), with
// FailurePhase::kConnect when not a byte of it was written.
//
// Bounds: Options::max_in_flight requests (beyond: RESOURCE_EXHAUSTED through the callback);
// response bodies up to Options::max_response_bytes (beyond: RESOURCE_EXHAUSTED); idle connections
// up to Options::max_idle_connections.
//
// Thread safety: Send, Cancel and the accessors may be called from any thread; callbacks run on
// the loop, never inside Send. Destroy the transport while its loop runs, or after it stopped;
// requests in flight then complete with CANCELLED.
#ifndef AARTHIK_SERVER_UPSTREAM_HTTP1_TRANSPORT_H_
#define AARTHIK_SERVER_UPSTREAM_HTTP1_TRANSPORT_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "server/core/clock.h"
#include "server/upstream/event_loop.h"
#include "server/upstream/http_transport.h"

typedef void CURL;
typedef void CURLM;

namespace aarthik::upstream {

class Http1Transport : public HttpTransport {
 public:
  struct Options {
    size_t max_in_flight = 4096;
    size_t max_response_bytes = 8 << 20;
    // Idle keep-alive connections kept (all origins together); more are closed when released.
    size_t max_idle_connections = 1024;
    // An idle connection older than this is closed rather than reused: it may be about to be
    // closed by the upstream (load balancers commonly drop idle connections after 60 s).
    absl::Duration idle_timeout = absl::Seconds(30);
    // Connect phase budget (TCP + proxy + TLS), capped by each request's timeout; running out
    // earlier than the request's timeout is UNAVAILABLE, a connect failure (safe to retry).
    absl::Duration connect_timeout = absl::Seconds(2);
    // CA bundle that verifies https:// peers ("" = the system store). Verification (peer and host
    // name) is always on.
    std::string ca_bundle_path;
    std::string user_agent = "aarthik-gateway";
    // Proxy URL ("" = connect directly); requests go through a CONNECT tunnel. The *_proxy
    // environment variables are deliberately ignored.
    std::string proxy;
    // How long connections have been idle (a seam for tests).
    const core::Clock* clock = &core::Clock::Real();
  };

  // `loop` must outlive the transport. Does not start the loop.
  Http1Transport(EventLoop* loop, Options options);
  ~Http1Transport() override;
  Http1Transport(const Http1Transport&) = delete;
  Http1Transport& operator=(const Http1Transport&) = delete;

  RequestId Send(HttpRequest request, ResponseCallback done) override;
  void Cancel(RequestId id) override;

  // Kept-alive connections waiting for a request and not reserved, as last seen (any thread).
  size_t idle_connections() const {
    return static_cast<size_t>(std::max<int64_t>(0, free_idle_.load(std::memory_order_relaxed)));
  }
  bool ReserveConnection() override { return TakeFreeIdle(); }
  void CancelReservation() override { free_idle_.fetch_add(1, std::memory_order_relaxed); }
  void RunReserved(absl::FunctionRef<void()> task) override;
  size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  uint64_t connections_opened() const {
    return connections_opened_.load(std::memory_order_relaxed);
  }

 private:
  struct Call;
  struct Connection;
  struct Origin;
  // A curl multi handle that makes connections. A TLS connection stays in its lane for good
  // (libcurl needs a connect-only handle in its multi handle for send/recv), alone: libcurl prunes
  // "dead" idle connections of a multi handle by polling them, and ours would look dead whenever a
  // response is waiting to be read. A plain connection leaves its lane once connected, so plain
  // lanes are shared by many connects (a multi handle is ~36 KiB).
  struct Lane {
    Http1Transport* transport = nullptr;
    size_t index = 0;
    bool tls = false;
    CURLM* multi = nullptr;
    size_t connections = 0;
    EventLoop::TimerId timer = 0;
  };
  static size_t LaneCapacity(const Lane& lane) { return lane.tls ? 1 : 64; }

  // On the loop from here on.
  void Start(std::unique_ptr<Call> call);
  // Puts `call` on an idle connection of its origin, or a new one.
  void Dispatch(Call* call);
  void Connect(Origin& origin, Call* call);
  void OnConnected(Connection* connection, int curl_code);
  void Write(Connection* connection);
  void OnReadable(Connection* connection);
  void OnConnectionEvent(Connection* connection, uint32_t events);
  void Release(Connection* connection);
  void CloseConnection(Connection* connection);
  // Lets go of the connection's libcurl handles (its multi handle's slot is free again).
  void ReleaseCurl(Connection* connection);
  // Ends `call` with `result`; its connection, if any, is closed unless `keep_connection`.
  void Complete(Call* call, absl::StatusOr<HttpResponse> result, bool keep_connection = false);
  void FailOnConnection(Connection* connection, absl::Status status);
  void CancelOnLoop(RequestId id, absl::Status status);
  Lane& LaneWithRoom(bool tls);
  void OnLaneTimer(Lane& lane);
  void ProcessConnects(Lane& lane);
  absl::Status ConnectFailure(int curl_code, const Call& call, const char* detail) const;
  void Shutdown();
  // Takes one idle connection that no one reserved (any thread); false when there is none.
  bool TakeFreeIdle();

  // The socket of a connect in progress under a descriptor number, as curl last asked the loop
  // to watch it.
  struct CurlSocket {
    Lane* lane = nullptr;  // whose multi handle the socket belongs to
    bool watched = false;
    uint32_t events = 0;
  };
  absl::Status WatchCurlSocket(int fd, Lane* lane, uint32_t events);
  // For CURLOPT_OPENSOCKETFUNCTION: `fd` is a socket curl has just opened for `lane`.
  void OnCurlSocketOpened(int fd, Lane* lane);
  // Ends the connect of `easy` with UNAVAILABLE from the loop (not from inside curl's callback).
  void FailConnect(CURL* easy, const absl::Status& why);
  static int CurlSocketCallback(CURL* easy, int fd, int what, void* lane, void* socket_data);
  static int CurlTimerCallback(CURLM* multi, long timeout_ms, void* lane);

  EventLoop* const loop_;
  const Options options_;
  std::atomic<size_t> in_flight_{0};
  std::atomic<RequestId> next_request_id_{1};
  std::atomic<uint64_t> connections_opened_{0};
  std::atomic<size_t> idle_count_{0};  // written on the loop only
  // Idle connections less the reservations that will take them (any thread).
  std::atomic<int64_t> free_idle_{0};

  // Loop only.
  absl::flat_hash_map<RequestId, std::unique_ptr<Call>> calls_;
  absl::flat_hash_map<std::string, std::unique_ptr<Origin>> origins_;
  absl::flat_hash_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::set<size_t> lanes_with_room_[2];   // [plain, tls]: indexes into lanes_
  std::vector<CurlSocket> curl_sockets_;  // indexed by fd

  std::string read_buffer_;
  bool shut_down_ = false;
  bool reservation_held_ = false;  // by the RunReserved task running now
};

}  // namespace aarthik::upstream

#endif  // AARTHIK_SERVER_UPSTREAM_HTTP1_TRANSPORT_H_
