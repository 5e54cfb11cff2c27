// aarthik-gateway: serves the Aarthik Labs platform's REST API as gRPC. See --help and
// docs/architecture.md.
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <iostream>
#include <thread>

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

  // SIGTERM and SIGINT are blocked in every thread (all start after this) and read from a
  // signalfd on the main thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const int signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) {
    std::cerr << "aarthik-gateway: cannot start: signalfd: " << std::strerror(errno) << "\n";
    return 1;
  }

  aarthik::rpc::Gateway::StartOptions start_options;
  start_options.http_own_thread = false;
  absl::StatusOr<std::unique_ptr<aarthik::rpc::Gateway>> gateway =
      aarthik::rpc::Gateway::Start(*config, start_options);
  if (!gateway.ok()) {
    std::cerr << "aarthik-gateway: cannot start: " << gateway.status().message() << "\n";
    return 1;
  }
  aarthik::rpc::Gateway& running = **gateway;
  // The first stdout line tells scripts and tests where we listen (useful with port 0).
  std::cout << "listening " << running.listen_address() << std::endl;
  // The second line: the HTTP listener (web-hooks, /healthz).
  std::cout << "http " << running.http_address() << std::endl;

  // The main thread runs the HTTP listener and, as tasks of it, re-reads the secret files and
  // hands freed memory back to the system every tick, and starts the drain on a signal. The drain
  // blocks for up to the grace period, during which /healthz and /metrics must still answer: it
  // runs on a thread of its own, which stops the listener once the gRPC server is done.
  aarthik::http::HttpServer& http = running.http_server();
  constexpr absl::Duration kMemoryReleaseInterval = absl::Seconds(5);
  const absl::Duration tick = std::min(config->secret_reload_interval, kMemoryReleaseInterval);
  absl::Time next_secret_poll = absl::Now() + config->secret_reload_interval;
  std::function<void()> housekeeping = [&] {
    if (absl::Now() >= next_secret_poll) {
      running.PollSecrets();
      next_secret_poll = absl::Now() + config->secret_reload_interval;
    }
    aarthik::core::ReleaseFreeMemory();
    http.RunAfter(tick, housekeeping);
  };
  http.RunAfter(tick, housekeeping);
  std::thread drain;
  http.WhenReadable(signal_fd, [&] {
    signalfd_siginfo received{};
    const ssize_t n = read(signal_fd, &received, sizeof(received));
    const int signal = n == sizeof(received) ? static_cast<int>(received.ssi_signo) : SIGTERM;
    aarthik::core::Log(aarthik::core::Severity::kInfo, "shutting down",
                       {{"signal", strsignal(signal)}});
    drain = std::thread([&] {
      running.Shutdown(config->shutdown_grace, config->shutdown_delay);
      running.Wait();
      http.Stop();
    });
  });
  http.Serve();  // until the drain stops the listener
  if (drain.joinable()) drain.join();
  gateway->reset();
  close(signal_fd);
  return 0;
}
