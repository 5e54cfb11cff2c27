#include "server/rpc/grpc_loop_driver.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "absl/strings/str_cat.h"
#include "grpc/grpc.h"
#include "server/rpc/grpc_internals.h"

namespace aarthik::rpc {
namespace {

void InitClosure(grpc_closure* closure, void (*cb)(void*, absl::Status), void* arg) {
  *closure = grpc_closure{};
  closure->cb = cb;
  closure->cb_arg = arg;
}

// One watched loop. gRPC calls a closure only from inside its ExecCtx, which the iomgr entry
// points need when they run a closure at once; outside of one (in Watch), notify_on_read is only
// called on a descriptor that cannot be readable yet: a fresh eventfd, written right after, whose
// closure then moves the watch onto the loop's descriptor.
struct LoopWatch {
  upstream::EventLoop* loop;
  grpc_fd* start = nullptr;  // Until OnStart.
  grpc_fd* watched = nullptr;
  grpc_closure on_start;
  grpc_closure on_readable;

  static void OnStart(void* arg, absl::Status) {
    auto* self = static_cast<LoopWatch*>(arg);
    grpc_fd_orphan(self->start, nullptr, nullptr, "started");  // Closes start_fd.
    self->watched = grpc_fd_create(self->loop->pollable_fd(), "aarthik-upstream-loop", false);
    OnReadable(self, absl::OkStatus());
  }

  // Runs on a gRPC polling thread each time the loop's descriptor turned readable.
  static void OnReadable(void* arg, absl::Status) {
    auto* self = static_cast<LoopWatch*>(arg);
    if (self->loop->DriveOnce()) {
      grpc_fd_notify_on_read(self->watched, &self->on_readable);
      return;
    }
    int released = -1;  // gRPC lets go of the descriptor without closing it: the loop owns it.
    grpc_fd_orphan(self->watched, nullptr, &released, "taken back");
    upstream::EventLoop* loop = self->loop;
    delete self;
    loop->Released();
  }
};

}  // namespace

GrpcLoopDriver::GrpcLoopDriver() { grpc_init(); }

GrpcLoopDriver::~GrpcLoopDriver() { grpc_shutdown(); }

absl::Status GrpcLoopDriver::Usable() {
  grpc_init();  // The poll strategy is known once gRPC is initialised.
  absl::Status usable = GrpcInternalsUsable("polling the upstream loops");
  const std::string strategy = grpc_get_poll_strategy_name();
  grpc_shutdown();
  if (usable.ok() && strategy != "epoll1") {
    usable = absl::FailedPreconditionError(
        absl::StrCat("gRPC polls with \"", strategy,
                     "\" (GRPC_POLL_STRATEGY): the upstream loops can only be "
                     "polled by gRPC's epoll1 poller"));
  }
  return usable;
}

absl::Status GrpcLoopDriver::Watch(upstream::EventLoop& loop) {
  const int start_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (start_fd < 0) {
    return absl::ResourceExhaustedError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  auto* watch = new LoopWatch{&loop};
  InitClosure(&watch->on_start, &LoopWatch::OnStart, watch);
  InitClosure(&watch->on_readable, &LoopWatch::OnReadable, watch);
  watch->start = grpc_fd_create(start_fd, "aarthik-upstream-loop-start", false);
  grpc_fd_notify_on_read(watch->start, &watch->on_start);
  const uint64_t one = 1;
  if (write(start_fd, &one, sizeof(one)) != sizeof(one)) {
    // Cannot happen to a fresh eventfd; if it did, the watch would never start.
    std::abort();
  }
  return absl::OkStatus();
}

}  // namespace aarthik::rpc
