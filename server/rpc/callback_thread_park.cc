#include "server/rpc/callback_thread_park.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpc/support/cpu.h"

namespace aarthik::rpc {

namespace {

// grpc::Server::CallbackCQ, the server's callback queue, is private. Naming a private member in an
// explicit instantiation is allowed ([temp.spec]: access is not checked there), and the friend
// defined by that instantiation hands the member pointer out.
struct ServerCallbackQueue {
  using Type = grpc::CompletionQueue* (grpc::Server::*)();
  friend Type MemberOf(ServerCallbackQueue);
};
template <typename Tag, typename Tag::Type kMember>
struct ExposeMember {
  friend typename Tag::Type MemberOf(Tag) { return kMember; }
};
template struct ExposeMember<ServerCallbackQueue, &grpc::Server::CallbackCQ>;

// How many nexting threads gRPC 1.51 starts (src/cpp/common/completion_queue_cc.cc); the
// gateway's gpr_cpu_num_cores is its CPU budget (rpc/grpc_cpu_count.h). Counting the threads
// instead would race with their start: gRPC names each from inside it.
int GrpcCallbackThreads() { return std::clamp<int>(gpr_cpu_num_cores() / 2, 2, 16); }

// How long Start waits for the threads to take their functors: idle threads take them at once.
constexpr absl::Duration kParkTimeout = absl::Seconds(10);

}  // namespace

absl::StatusOr<std::unique_ptr<CallbackThreadPark>> CallbackThreadPark::Start(grpc::Server& server,
                                                                              int keep) {
  if (keep < 1) return absl::InvalidArgumentError("keep at least one callback thread");
  if (absl::Status usable = GrpcInternalsUsable("parking gRPC's callback threads"); !usable.ok()) {
    return usable;
  }
  if (grpc_iomgr_run_in_background()) {
    return absl::FailedPreconditionError(
        "this gRPC runs callbacks on its own poller, not on nexting threads");
  }
  const int started = GrpcCallbackThreads();
  grpc_completion_queue* queue = (server.*MemberOf(ServerCallbackQueue{}))()->cq();
  std::unique_ptr<CallbackThreadPark> park(
      new CallbackThreadPark(queue, started, std::max(0, started - keep)));
  {
    absl::MutexLock lock(&park->mu_);
    park->unstarted_ = static_cast<int>(park->parking_.size());
  }
  for (Slot& slot : park->parking_) {
    if (!park->Queue(slot)) {
      absl::MutexLock lock(&park->mu_);
      --park->unstarted_;
    }
  }
  int parked = 0;
  {
    absl::MutexLock lock(&park->mu_);
    park->mu_.AwaitWithTimeout(absl::Condition(park.get(), &CallbackThreadPark::AllTaken),
                               kParkTimeout);
    parked = park->parked_;
  }
  const int wanted = static_cast<int>(park->parking_.size());
  if (parked < wanted) {
    // Let the parked go; the functors still queued hold pointers into `park`, so it must outlive
    // them, and waiting for threads that did not come could hang the start: it is left behind.
    {
      absl::MutexLock lock(&park->mu_);
      park->released_ = true;
    }
    [[maybe_unused]] CallbackThreadPark* left_behind = park.release();
    return absl::DeadlineExceededError(absl::StrCat(parked, " of ", wanted,
                                                    " callback threads parked in ",
                                                    absl::FormatDuration(kParkTimeout)));
  }
  return park;
}

CallbackThreadPark::CallbackThreadPark(grpc_completion_queue* queue, int started, int to_park)
    : queue_(queue), started_(started), parking_(to_park) {
  for (Slot& slot : parking_) {
    slot = Slot{};
    slot.functor.functor_run = &RunParked;
    slot.park = this;
  }
  keep_awake_ = Slot{};
  keep_awake_.functor.functor_run = &RunKeepAwake;
  keep_awake_.park = this;
}

CallbackThreadPark::~CallbackThreadPark() { Release(); }

bool CallbackThreadPark::Queue(Slot& slot) {
  // A queue already shutting down takes no new operation (and ending one would assert).
  if (!grpc_cq_begin_op(queue_, &slot.functor)) return false;
  grpc_cq_end_op(queue_, &slot.functor, absl::OkStatus(), &QueueDone, nullptr, &slot.storage,
                 /*internal=*/false);
  return true;
}

void CallbackThreadPark::RunParked(grpc_completion_queue_functor* functor, int /*ok*/) {
  CallbackThreadPark* park = reinterpret_cast<Slot*>(functor)->park;
  absl::MutexLock lock(&park->mu_);
  --park->unstarted_;
  ++park->parked_;
  while (!park->mu_.AwaitWithTimeout(absl::Condition(&park->released_), kKeepAwakeInterval)) {
    if (park->keep_awake_queued_) continue;
    // Queueing only takes gRPC's queue lock and wakes the kept thread: safe under mu_.
    park->keep_awake_queued_ = park->Queue(park->keep_awake_);
    if (park->keep_awake_queued_) ++park->keep_awake_events_;
  }
  --park->parked_;
}

void CallbackThreadPark::RunKeepAwake(grpc_completion_queue_functor* functor, int /*ok*/) {
  CallbackThreadPark* park = reinterpret_cast<Slot*>(functor)->park;
  absl::MutexLock lock(&park->mu_);
  park->keep_awake_queued_ = false;
}

void CallbackThreadPark::Release() {
  absl::MutexLock lock(&mu_);
  released_ = true;
  // Functors still queued run on the threads not parked, and return at once.
  mu_.Await(absl::Condition(this, &CallbackThreadPark::AllBack));
}

int CallbackThreadPark::parked() const {
  absl::MutexLock lock(&mu_);
  return parked_;
}

bool CallbackThreadPark::WaitForKeepAwakeEvents(int64_t events, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const auto reached = [this, events]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return keep_awake_events_ >= events;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

}  // namespace aarthik::rpc
