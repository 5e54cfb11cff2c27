// gRPC 1.51's non-public core entry points that the gateway uses, declared as that release defines
// them (src/core/lib/iomgr/ev_posix.h, closure.h, surface/completion_queue.h; libgrpc-dev does not
// install those headers, but libgrpc exports the functions). Debian bookworm's libgrpc29 is the
// platform the gateway ships on; GrpcInternalsUsable() refuses any other gRPC core, and each user
// falls back to gRPC's public behaviour when it does.
//
//   if (absl::Status usable = GrpcInternalsUsable(); usable.ok()) {
//     grpc_fd* fd = grpc_fd_create(descriptor, "name", false);
//   }
//
// Users: rpc/grpc_loop_driver.h (iomgr descriptors) and rpc/callback_thread_park.h (completion
// queue operations).
//
// Thread safety: GrpcInternalsUsable may be called from any thread. The declared functions have
// gRPC's own rules; see each user.
#ifndef AARTHIK_SERVER_RPC_GRPC_INTERNALS_H_
#define AARTHIK_SERVER_RPC_GRPC_INTERNALS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "grpc/grpc.h"

struct grpc_fd;
struct grpc_closure {
  uintptr_t next_data;  // gRPC's scratch space
  void (*cb)(void* arg, absl::Status error);
  void* cb_arg;
  uintptr_t error_data;  // gRPC's scratch space
  // Fields that only a libgrpc built without NDEBUG has, and then checks and writes (Debian's
  // has them): kept in every build, so that the structure is never smaller than the library's.
  bool scheduled;
  bool run;
  const char* file_created;
  int line_created;
  const char* file_initiated;
  int line_initiated;
};
grpc_fd* grpc_fd_create(int fd, const char* name, bool track_err);
void grpc_fd_notify_on_read(grpc_fd* fd, grpc_closure* closure);
void grpc_fd_orphan(grpc_fd* fd, grpc_closure* on_done, int* release_fd, const char* reason);
const char* grpc_get_poll_strategy_name();
// True when gRPC runs callbacks on a poller of its own; then the C++ callback API uses a
// GRPC_CQ_CALLBACK queue instead of the "alternative" queue that nexting threads drain.
bool grpc_iomgr_run_in_background();

// A completion queue's storage for one queued event.
struct grpc_cq_completion {
  void* node;  // gRPC's queue link
  void* tag;
  void (*done)(void* done_arg, grpc_cq_completion* storage);
  void* done_arg;
  uintptr_t next;
};
// A queued operation must be begun (grpc_cq_begin_op) before it ends; ending queues `tag` as a
// completed event, and `done` is called once the queue no longer needs `storage`.
bool grpc_cq_begin_op(grpc_completion_queue* cq, void* tag);
void grpc_cq_end_op(grpc_completion_queue* cq, void* tag, absl::Status error,
                    void (*done)(void* done_arg, grpc_cq_completion* storage), void* done_arg,
                    grpc_cq_completion* storage, bool internal);

namespace aarthik::rpc {

// OK when this process's gRPC core is the one the declarations above describe (core 29.0.0,
// gRPC 1.51); otherwise why not, naming `use` (what needs them).
absl::Status GrpcInternalsUsable(const char* use);

}  // namespace aarthik::rpc

#endif  // AARTHIK_SERVER_RPC_GRPC_INTERNALS_H_
