// Busy polling for the thread that polls gRPC's sockets: before it blocks in epoll_wait, it
// polls without blocking for up to a budget, as long as the gateway serves at most one call.
//
// Why: at one call in flight, a proxied call's latency is mostly wake-ups. The polling thread
// sleeps twice per call (for the caller's request and for the platform's reply), and each
// wake-up of an idle CPU costs tens of microseconds: an interrupt between CPUs, and on a virtual
// machine an exit to the hypervisor (measured: docs/benchmarks.md, "Seventeenth session"). A
// thread that is still polling when the event arrives is not woken at all. Under load the
// thread rarely sleeps and spinning would only burn the gaps, so the gate closes at two calls in
// flight; and spinning for waits that its recent spins show to be longer than the budget would
// burn CPU for nothing, so those block at once (kMaxMissesInARow). Seastar's reactor polls the
// same way before it sleeps (its idle poll time).
//
// How: this module's .cc defines epoll_wait in the executable that links it; the dynamic linker
// binds gRPC's calls to it before libc's (as grpc_cpu_count.h does for gpr_cpu_num_cores). Only
// threads that called EnableOnThisThread() spin: RpcProxy enables the threads its handlers run
// on, which are gRPC's callback threads, the ones that poll. Every other epoll_wait, and any
// call with a zero timeout, goes straight to the kernel (epoll_pwait with no signal mask, the
// same system call).
//
//   BusyPoll::Start(absl::Microseconds(300), &proxy.in_flight());
//   ...
//   BusyPoll::Stop();   // before `in_flight` goes away
//
// Thread-safety: Start and Stop from one thread at a time (the gateway's start and shutdown);
// everything else from any thread.
#ifndef AARTHIK_SERVER_RPC_BUSY_POLL_H_
#define AARTHIK_SERVER_RPC_BUSY_POLL_H_

#include <cstdint>

#include "absl/time/time.h"
#include "server/rpc/in_flight_calls.h"

namespace aarthik::rpc {

class BusyPoll {
 public:
  // Spins happen only while `calls` counts at most kMaxCallsInFlight. A wait that began before
  // Stop() may still read `calls` after it; the gateway stops busy polling first thing in its
  // shutdown, long before the proxy that owns `calls` goes.
  static void Start(absl::Duration budget, const InFlightCalls* calls);
  static void Stop();

  // Lets this thread spin from now on (a thread-local flag; cheap enough for every call).
  static void EnableOnThisThread();

  static constexpr int kMaxCallsInFlight = 1;
  // A thread stops spinning for a kind of wait (no call in flight, or one) after this many spins
  // in a row found nothing, and then spins only on every kProbeEvery-th such wait until one
  // finds its event. So a platform that answers in milliseconds, or callers that pause between
  // calls, cost two spins and then one in 64 waits, not one per wait.
  static constexpr int kMaxMissesInARow = 2;
  static constexpr int kProbeEvery = 64;

  struct Counts {
    uint64_t caught = 0;     // spins that found an event: a sleep and a wake-up saved
    uint64_t timed_out = 0;  // spins that found none within the budget, then blocked
  };
  static Counts counts();
};

}  // namespace aarthik::rpc

#endif  // AARTHIK_SERVER_RPC_BUSY_POLL_H_
