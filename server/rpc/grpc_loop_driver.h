// GrpcLoopDriver: lets gRPC's own poller wait for the upstream event loops' events, so that an
// upstream reply is read, decoded and answered (ServerUnaryReactor::Finish) on the gRPC thread
// that polled it. With a loop thread in between, each reply cost a hand-off: the loop thread woke
// for the reply, and its Finish then woke a gRPC thread for the completion (docs/benchmarks.md,
// "Fifteenth session": 1.4 context switches per proxied call before, 0.9 after).
//
// Example (after the gRPC server started, so that gRPC's threads poll):
//   GrpcLoopDriver driver;
//   if (absl::Status usable = GrpcLoopDriver::Usable(); usable.ok()) {
//     absl::Status handed = loop.HandOver(&driver);
//   }
//   ...
//   loop.Stop();  // takes the loop back first; `driver` must outlive that
//
// How: gRPC 1.51 offers no public way to put a descriptor on its poller. Its iomgr entry points
// (grpc_fd_create, grpc_fd_notify_on_read, grpc_fd_orphan) are exported by libgrpc, and each
// loop's epoll descriptor is handed to them: readable when the loop has work. Usable() checks
// that this process's gRPC is the one those declarations (rpc/grpc_internals.h) are written for
// (core 29.0.0, gRPC 1.51, Debian bookworm's) and polls with epoll1, which watches every descriptor
// from every polling thread; anything else leaves the loops on their own threads
// (`--upstream-polling own`).
//
// Thread safety: Usable and Watch may be called from any thread. A watched loop is driven on
// gRPC's polling threads until it is taken back, which needs those threads: take every loop back
// (EventLoop::TakeBack or Stop) before the gRPC server is destroyed and before the driver is.
#ifndef AARTHIK_SERVER_RPC_GRPC_LOOP_DRIVER_H_
#define AARTHIK_SERVER_RPC_GRPC_LOOP_DRIVER_H_

#include "absl/status/status.h"
#include "server/upstream/event_loop.h"

namespace aarthik::rpc {

class GrpcLoopDriver : public upstream::EventLoop::Driver {
 public:
  GrpcLoopDriver();  // Holds gRPC initialised (grpc_init) for as long as it lives.
  ~GrpcLoopDriver() override;
  GrpcLoopDriver(const GrpcLoopDriver&) = delete;
  GrpcLoopDriver& operator=(const GrpcLoopDriver&) = delete;

  // OK when this process's gRPC can drive loops; otherwise why not.
  static absl::Status Usable();

  absl::Status Watch(upstream::EventLoop& loop) override;
};

}  // namespace aarthik::rpc

#endif  // AARTHIK_SERVER_RPC_GRPC_LOOP_DRIVER_H_
