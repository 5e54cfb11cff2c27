// CurlMultiTransport: the HttpTransport the gateway uses in production. It drives one libcurl multi
// handle with curl_multi_socket_action from an EventLoop (epoll for sockets, the loop's timers for
// curl's timeout), reuses easy handles from a pool and keeps upstream connections alive in curl's
// connection cache, so a proxied request costs no thread, no connect and (after warm-up) few
// allocations.
//
// Example:
//   EventLoop loop;
//   loop.Start();
//   CurlMultiTransport::Options options;
//   options.max_in_flight = 4096;
//   CurlMultiTransport transport(&loop, options);
//   HttpRequest request;
//   request.method = "GET";
//   request.url = "http://127.0.0.1:8080/v1/offers";
//   auto id = transport.Send(std::move(request), [](absl::StatusOr<HttpResponse> response) { ...
//   }); transport.Cancel(id);  // optional; `done` then gets CANCELLED unless it already ran
//
// Bounds: at most Options::max_in_flight requests are in flight (beyond: RESOURCE_EXHAUSTED at
// once, still through the callback); a response body over Options::max_response_bytes fails with
// RESOURCE_EXHAUSTED.
//
// Thread safety: Send, Cancel and the accessors may be called from any thread. Callbacks run on the
// loop thread. Destroy the transport while its loop is running (from any thread, including the loop
// thread) or after the loop has stopped; requests still in flight then complete with CANCELLED. A
// request sent after the loop has stopped completes with CANCELLED on the thread that destroys its
// pending task.
#ifndef AARTHIK_SERVER_UPSTREAM_CURL_MULTI_TRANSPORT_H_
#define AARTHIK_SERVER_UPSTREAM_CURL_MULTI_TRANSPORT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "server/upstream/event_loop.h"
#include "server/upstream/http_transport.h"

// libcurl's handle types, declared here so that users of this header need not include
// <curl/curl.h>.
typedef void CURL;
typedef void CURLM;

namespace aarthik::upstream {

class CurlMultiTransport : public HttpTransport {
 public:
  struct Options {
    // Requests in flight at once (started, not yet completed); Send beyond it fails
    // RESOURCE_EXHAUSTED.
    size_t max_in_flight = 4096;
    // Largest response body accepted; a larger one fails the request with RESOURCE_EXHAUSTED.
    size_t max_response_bytes = 8 << 20;
    // Connections curl keeps in its cache (CURLMOPT_MAXCONNECTS). Idle keep-alive connections
    // beyond it are closed; size it to the expected concurrency towards the upstream so bursts do
    // not churn connections.
    long max_connections = 1024;
    // Hard cap on open connections (CURLMOPT_MAX_TOTAL_CONNECTIONS); 0 = none. With a cap, requests
    // beyond it wait inside curl for a free connection (their timeout keeps running).
    long max_total_connections = 0;
    // Connect phase budget (TCP + TLS), capped by each request's own timeout. A connect that times
    // out earlier than the request's timeout fails UNAVAILABLE (a connect failure, safe to retry).
    absl::Duration connect_timeout = absl::Seconds(2);
    // TLS: the CA bundle file that verifies https:// peers ("" = the system store). The peer's
    // certificate and host name are always verified; there is deliberately no switch to turn that
    // off.
    std::string ca_bundle_path;
    // Negotiate HTTP/2 over TLS (ALPN) and multiplex requests on one connection; http:// stays
    // HTTP/1.1.
    bool http2_over_tls = true;
    // Idle easy handles kept for reuse; 0 = max_in_flight.
    size_t max_pooled_handles = 0;
    // Requests per libcurl multi handle ("lane"). curl looks for a reusable connection by walking
    // every connection of its cache (libcurl 7.88: a few hundred instructions each), so one multi
    // handle holding thousands of keep-alive connections makes every request pay for all of them;
    // lanes of a few connections each keep that walk short. Requests fill the lowest lane with
    // room, so each lane's connections stay warm.
    size_t lane_capacity = 8;
    std::string user_agent = "aarthik-gateway";
    // Proxy URL ("" = connect directly). The *_proxy environment variables are deliberately
    // ignored.
    std::string proxy;
  };

  // `loop` must outlive the transport. Does not start the loop.
  CurlMultiTransport(EventLoop* loop, Options options);
  ~CurlMultiTransport() override;
  CurlMultiTransport(const CurlMultiTransport&) = delete;
  CurlMultiTransport& operator=(const CurlMultiTransport&) = delete;

  RequestId Send(HttpRequest request, ResponseCallback done) override;
  void Cancel(RequestId id) override;

  // Requests accepted by Send and not yet completed.
  size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // New upstream connections opened so far (keep-alive reuse keeps this low). Updated on the loop
  // thread.
  uint64_t connections_opened() const {
    return connections_opened_.load(std::memory_order_relaxed);
  }
  const Options& options() const { return options_; }

 private:
  struct Call;
  // One multi handle with its own connection cache and timer.
  struct Lane {
    CurlMultiTransport* transport = nullptr;
    size_t index = 0;
    CURLM* multi = nullptr;
    size_t in_flight = 0;
    EventLoop::TimerId timer = 0;  // 0: none armed.
  };
  // How a socket curl told us about is registered with the loop.
  struct SocketWatch {
    bool registered = false;  // Watched by the loop with `events`.
    bool parked = false;      // curl removed it (idle keep-alive) but we kept the registration.
    uint32_t events = 0;
    Lane* lane = nullptr;  // whose multi handle the socket under the number belongs to
  };

  // Loop thread only from here on.
  void StartCall(std::unique_ptr<Call> call);
  Lane& LaneWithRoom();
  absl::Status ConfigureEasyHandle(Call& call);
  void SetPerHandleOptions(CURL* easy) const;
  void CancelOnLoop(RequestId id, absl::Status status);
  // Registers `fd` with the loop for `events`, replacing a registration it may have.
  absl::Status WatchSocket(int fd, uint32_t events);
  // For CURLOPT_OPENSOCKETFUNCTION: `fd` is a socket curl has just opened for `lane`.
  void OnSocketOpened(int fd, Lane* lane);
  // Ends the transfer of `easy` with UNAVAILABLE from the loop (not from inside curl's callback).
  void FailTransfer(CURL* easy, const absl::Status& why);
  void OnSocketEvent(int fd, uint32_t events);
  void OnCurlTimer(Lane& lane);
  void ProcessCompletedTransfers(Lane& lane);
  // Detaches `call` from curl and the registry, recycles its handle and runs its callback with
  // `result`.
  void Complete(Call* call, absl::StatusOr<HttpResponse> result);
  absl::Status StatusFromCurl(int curl_code, const Call& call) const;
  CURL* AcquireEasyHandle();
  void ReleaseEasyHandle(CURL* easy);
  void Shutdown();

  // libcurl callbacks (C linkage-compatible statics).
  static int CurlSocketCallback(CURL* easy, int fd, int what, void* lane, void* socket_data);
  static int CurlTimerCallback(CURLM* multi, long timeout_ms, void* lane);
  static size_t CurlHeaderCallback(char* data, size_t size, size_t count, void* call);
  static size_t CurlBodyCallback(char* data, size_t size, size_t count, void* call);
  static int CurlCloseSocketCallback(void* transport, int fd);

  EventLoop* const loop_;
  const Options options_;
  std::atomic<size_t> in_flight_{0};
  std::atomic<RequestId> next_request_id_{1};
  std::atomic<uint64_t> connections_opened_{0};

  // Loop thread only.
  absl::flat_hash_map<RequestId, std::unique_ptr<Call>> calls_;  // Started and not yet completed.
  std::vector<CURL*> idle_easy_handles_;
  std::vector<SocketWatch> sockets_;          // Indexed by fd.
  std::vector<std::unique_ptr<Lane>> lanes_;  // Created on demand, kept for their connections.
  std::set<size_t> lanes_with_room_;          // Indexes into lanes_.
  bool shut_down_ = false;
};

}  // namespace aarthik::upstream

#endif  // AARTHIK_SERVER_UPSTREAM_CURL_MULTI_TRANSPORT_H_
