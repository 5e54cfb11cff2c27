// aarthik-gateway: serves the Aarthik Labs platform's REST API as gRPC. See --help and
// docs/architecture.md.
#include <algorithm>
#include <csignal>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/core/config.h"
#include "server/core/config_file.h"
#include "server/core/fd_limits.h"
#include "server/core/log.h"
#include "server/core/memory.h"
#include "server/rpc/gateway.h"

int main(int argc, char** argv) {
  // Debian's abseil keeps absl::Mutex's deadlock detector on: a lock-order graph updated on every
  // lock of gRPC's mutexes (~3 % of a proxied RPC's instructions). It only ever reports; our locks
  // are std::mutex and never nest.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::StatusOr<aarthik::core::Config> config =
      aarthik::core::ParseConfig(argc, argv, aarthik::core::ProcessEnv());
  if (!config.ok()) {
    if (config.status().code() == absl::StatusCode::kCancelled) {
      std::cout << config.status().message();
      return 0;
    }
    std::cerr << "aarthik-gateway: invalid configuration: " << config.status().message() << "\n";
    return 2;
  }
  if (config->print_config) {
    std::cout << aarthik::core::RenderConfig(*config);
    return 0;
  }
  aarthik::core::SetMinLogSeverity(config->log_level);
  // Before anything opens a descriptor: gRPC 1.51's listener stops for good after one EMFILE, and
  // the gateway sizes its connection caps from this limit (core/fd_limits.h).
  if (absl::StatusOr<aarthik::core::FdLimit> limit = aarthik::core::RaiseFdLimit(); limit.ok()) {
    aarthik::core::Log(aarthik::core::Severity::kInfo, "descriptor limit",
                       {{"soft_at_start", absl::StrCat(limit->soft_before)},
                        {"soft", absl::StrCat(limit->soft)},
                        {"hard", absl::StrCat(limit->hard)}});
  } else {
    aarthik::core::Log(aarthik::core::Severity::kWarning, "cannot raise the descriptor limit",
                       {{"reason", std::string(limit.status().message())}});
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<aarthik::rpc::Gateway>> gateway =
      aarthik::rpc::Gateway::Start(*config);
  if (!gateway.ok()) {
    std::cerr << "aarthik-gateway: cannot start: " << gateway.status().message() << "\n";
    return 1;
  }
  // The first stdout line tells scripts and tests where we listen (useful with port 0).
  std::cout << "listening " << (*gateway)->listen_address() << std::endl;
  // The second line: the HTTP listener (web-hooks, /healthz).
  std::cout << "http " << (*gateway)->http_address() << std::endl;
  // The main thread waits for SIGTERM/SIGINT (blocked everywhere else) and, between signals,
  // re-reads the secret files and hands freed memory back to the system: one thread for all.
  constexpr absl::Duration kMemoryReleaseInterval = absl::Seconds(5);
  const timespec tick =
      absl::ToTimespec(std::min(config->secret_reload_interval, kMemoryReleaseInterval));
  absl::Time next_secret_poll = absl::Now() + config->secret_reload_interval;
  int received = 0;
  while (received <= 0) {
    received = sigtimedwait(&signals, nullptr, &tick);  // -1: timed out or interrupted
    if (received > 0) break;
    if (absl::Now() >= next_secret_poll) {
      (*gateway)->PollSecrets();
      next_secret_poll = absl::Now() + config->secret_reload_interval;
    }
    aarthik::core::ReleaseFreeMemory();
  }
  aarthik::core::Log(aarthik::core::Severity::kInfo, "shutting down",
                     {{"signal", strsignal(received)}});
  (*gateway)->Shutdown(config->shutdown_grace, config->shutdown_delay);
  (*gateway)->Wait();
  gateway->reset();
  return 0;
}
