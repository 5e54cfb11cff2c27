// GrpcListenerCheck: tells whether the gateway's own gRPC listener still accepts connections.
// gRPC 1.51 stops accepting for good after accept4 failed once with EMFILE; existing connections
// keep working, so nothing inside the process notices. Every `interval` this opens a fresh
// loopback connection to the gRPC port, sends the HTTP/2 client preface and an empty SETTINGS
// frame, and waits up to `timeout` for gRPC's own SETTINGS frame. Only a server that accepted the
// connection answers: the kernel completes the TCP handshake of a connection nobody accepts (it
// waits in the listen backlog), so "connected" alone proves nothing. With TLS on the listener the
// check cannot speak HTTP/2, and any answer (bytes, or the connection closed by the server after
// reading ours) counts instead. After every check `on_check` gets the verdict, false once
// `failures_to_report` checks in a row failed (the gateway then turns health NOT_SERVING so that
// the liveness probe restarts the pod) and true again after one succeeds, and that check's result.
// A check that cannot even create its socket (the process is out of descriptors) decides nothing
// and is not reported.
//
//   GrpcListenerCheck check(loop, {.address = "127.0.0.1:50051"},
//                           [](bool accepting, const absl::Status& result) { ... });
//   check.Start();  // first check after one interval
//
// Thread-safety: runs on `loop` (no thread of its own, never blocks it: a non-blocking socket
// watched by the loop and a timer). Construct, Start and destroy from any one thread while the
// loop runs; destruction waits for nothing and no callback runs after it returns. `on_check`
// runs on the loop.
#ifndef AARTHIK_SERVER_HTTP_GRPC_LISTENER_CHECK_H_
#define AARTHIK_SERVER_HTTP_GRPC_LISTENER_CHECK_H_

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/upstream/event_loop.h"

namespace aarthik::http {

class GrpcListenerCheck {
 public:
  struct Options {
    // The gRPC listener's "HOST:PORT"; a wildcard host (0.0.0.0, [::]) is checked on loopback.
    std::string address;
    absl::Duration interval = absl::Seconds(10);
    absl::Duration timeout = absl::Seconds(5);
    int failures_to_report = 2;
    bool tls = false;
  };
  using CheckCallback = std::function<void(bool accepting, const absl::Status& result)>;

  GrpcListenerCheck(upstream::EventLoop* loop, Options options, CheckCallback on_check);
  ~GrpcListenerCheck();
  GrpcListenerCheck(const GrpcListenerCheck&) = delete;
  GrpcListenerCheck& operator=(const GrpcListenerCheck&) = delete;

  // Checks decided (inconclusive ones are not counted), and those that failed.
  uint64_t checks() const;
  uint64_t failures() const;

  // Schedules checks every interval from now on.
  void Start();
  // One check now, outside the schedule (tests): `done` gets OK, the reason it failed, or
  // UNAVAILABLE "inconclusive" when no socket could be made. Runs on the loop.
  void CheckNow(absl::AnyInvocable<void(absl::Status)> done);

 private:
  struct State;

  std::shared_ptr<State> state_;  // shared with the loop's tasks, timers and watchers
};

}  // namespace aarthik::http

#endif  // AARTHIK_SERVER_HTTP_GRPC_LISTENER_CHECK_H_
