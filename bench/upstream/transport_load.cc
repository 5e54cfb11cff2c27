// transport_load: measures the CPU the upstream transport spends per request. A child process
// serves HTTP with tests/support's FakeUpstream (so its CPU is not counted); this process keeps
// `--concurrency` requests in flight through CurlMultiTransport until `--requests` have completed,
// then prints wall time, requests per second and CPU microseconds per request: for the whole
// process and for the loop thread.
//
// Usage: transport_load [--requests=N] [--concurrency=C] [--body_bytes=B] [--senders=T]
//   --senders=0 (default) sends the next request from each completion callback, on the loop thread;
//   --senders=T>0 sends from T other threads (as gRPC handler threads would), paced by a semaphore.
//
// Thread safety: a single-purpose program; see the comments at each shared variable.
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "server/upstream/curl_multi_transport.h"
#include "tests/support/fake_upstream.h"

namespace {

using aarthik::upstream::CurlMultiTransport;
using aarthik::upstream::EventLoop;
using aarthik::upstream::HttpRequest;
using aarthik::upstream::HttpResponse;

struct Flags {
  int64_t requests = 200000;
  int64_t concurrency = 64;
  int64_t body_bytes = 256;
  int64_t senders = 0;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    auto take = [&](absl::string_view name, int64_t* value) {
      const std::string prefix = absl::StrCat("--", name, "=");
      if (arg.substr(0, prefix.size()) != prefix) return false;
      if (!absl::SimpleAtoi(arg.substr(prefix.size()), value)) {
        std::fprintf(stderr, "bad value in %s\n", argv[i]);
        std::exit(2);
      }
      return true;
    };
    if (!take("requests", &flags.requests) && !take("concurrency", &flags.concurrency) &&
        !take("body_bytes", &flags.body_bytes) && !take("senders", &flags.senders)) {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      std::exit(2);
    }
  }
  return flags;
}

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double ProcessSystemCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Runs the fake upstream in a child process; returns its port. The child exits when `stop_fd`
// closes.
int StartUpstreamProcess(int body_bytes, pid_t* child, int* stop_fd) {
  int port_pipe[2], stop_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(stop_pipe) != 0) std::abort();
  *child = fork();
  if (*child == 0) {
    close(port_pipe[0]);
    close(stop_pipe[1]);
    aarthik::testing::FakeUpstream upstream;
    upstream.SetDefaultResponse(aarthik::testing::FakeResponse::Ok(std::string(body_bytes, 'x'))
                                    .WithHeader("Content-Type", "application/json")
                                    .WithHeader("X-Request-ID", "req-0123456789"));
    const int port = upstream.port();
    if (write(port_pipe[1], &port, sizeof(port)) != sizeof(port)) _exit(1);
    char byte;
    while (read(stop_pipe[0], &byte, 1) > 0) {
    }
    _exit(0);  // Skip destructors: the parent is done with us.
  }
  close(port_pipe[1]);
  close(stop_pipe[0]);
  int port = 0;
  if (read(port_pipe[0], &port, sizeof(port)) != sizeof(port)) std::abort();
  close(port_pipe[0]);
  *stop_fd = stop_pipe[1];
  return port;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  pid_t child = 0;
  int stop_fd = -1;
  const int port = StartUpstreamProcess(static_cast<int>(flags.body_bytes), &child, &stop_fd);
  const std::string url = absl::StrCat("http://127.0.0.1:", port, "/v1/journeys/j-1?view=full");

  EventLoop loop;
  loop.Start();
  CurlMultiTransport::Options options;
  options.max_in_flight = static_cast<size_t>(flags.concurrency) * 2;
  CurlMultiTransport transport(&loop, options);

  auto make_request = [&url] {
    HttpRequest request;
    request.method = "GET";
    request.url = url;
    request.headers = {{"Authorization", "Bearer sk_test_0123456789abcdef"},
                       {"X-Correlation-ID", "0f8fad5b-d9cb-469f-a165-70867728950e"},
                       {"X-AL-API-Version", "2024-01-01"}};
    return request;
  };

  absl::Mutex mu;
  int64_t completed = 0;  // Guarded by mu.
  int64_t failed = 0;     // Guarded by mu.
  int64_t started = 0;    // Loop thread only (senders == 0) or guarded by mu (senders > 0).
  double loop_cpu_start = 0,
         loop_cpu_end = 0;  // Written on the loop thread, read after `finished`.
  absl::Notification finished;

  // Warm-up: open the connections and fill the handle pool, outside the measurement.
  {
    absl::Notification warm;
    std::atomic<int64_t> left{flags.concurrency};
    for (int64_t i = 0; i < flags.concurrency; ++i) {
      transport.Send(make_request(), [&](absl::StatusOr<HttpResponse>) {
        if (--left == 0) warm.Notify();
      });
    }
    warm.WaitForNotification();
  }
  absl::Notification measured_start;
  loop.Post([&] {
    loop_cpu_start = ThreadCpuSeconds();
    measured_start.Notify();
  });
  measured_start.WaitForNotification();
  const double cpu_start = ProcessCpuSeconds();
  const double system_cpu_start = ProcessSystemCpuSeconds();
  const absl::Time wall_start = absl::Now();

  auto record = [&](const absl::StatusOr<HttpResponse>& response) {
    absl::MutexLock lock(&mu);
    if (!response.ok() || response->status != 200) ++failed;
    if (++completed == flags.requests) {
      loop_cpu_end = ThreadCpuSeconds();  // Completions run on the loop thread.
      finished.Notify();
    }
  };

  std::vector<std::thread> senders;
  std::function<void()> send_one;  // Outlives the run: completions call it on the loop thread.
  if (flags.senders == 0) {
    // Closed loop on the loop thread: each completion sends the next request.
    send_one = [&] {
      if (started >= flags.requests) return;
      ++started;
      transport.Send(make_request(), [&](absl::StatusOr<HttpResponse> response) {
        record(response);
        send_one();
      });
    };
    loop.Post([&] {
      for (int64_t i = 0; i < flags.concurrency; ++i) send_one();
    });
  } else {
    // Other threads send; a window of `concurrency` permits bounds what is in flight.
    int64_t permits = flags.concurrency;  // Guarded by mu.
    for (int64_t t = 0; t < flags.senders; ++t) {
      senders.emplace_back([&] {
        for (;;) {
          {
            absl::MutexLock lock(&mu);
            auto has_permit = [&permits]() { return permits > 0; };
            mu.Await(absl::Condition(&has_permit));
            if (started >= flags.requests) return;
            ++started;
            --permits;
          }
          transport.Send(make_request(), [&](absl::StatusOr<HttpResponse> response) {
            {
              absl::MutexLock lock(&mu);
              ++permits;
            }
            record(response);
          });
        }
      });
    }
  }
  finished.WaitForNotification();
  const double wall = absl::ToDoubleSeconds(absl::Now() - wall_start);
  const double cpu = ProcessCpuSeconds() - cpu_start;
  const double system_cpu = ProcessSystemCpuSeconds() - system_cpu_start;
  for (auto& sender : senders) sender.join();

  std::printf(
      "requests=%lld concurrency=%lld body_bytes=%lld senders=%lld failed=%lld connections=%llu\n",
      static_cast<long long>(flags.requests), static_cast<long long>(flags.concurrency),
      static_cast<long long>(flags.body_bytes), static_cast<long long>(flags.senders),
      static_cast<long long>(failed),
      static_cast<unsigned long long>(transport.connections_opened()));
  std::printf(
      "wall_s=%.3f req_per_s=%.0f process_cpu_us_per_req=%.2f (kernel %.2f) "
      "loop_thread_cpu_us_per_req=%.2f\n",
      wall, flags.requests / wall, cpu * 1e6 / flags.requests, system_cpu * 1e6 / flags.requests,
      (loop_cpu_end - loop_cpu_start) * 1e6 / flags.requests);
  close(stop_fd);
  waitpid(child, nullptr, 0);
  return failed == 0 ? 0 : 1;
}
