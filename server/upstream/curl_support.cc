#include "server/upstream/curl_support.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/synchronization/notification.h"

namespace aarthik::upstream {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      std::fprintf(stderr, "curl_global_init failed\n");
      std::abort();
    }
  });
}

bool IsSupportedMethod(absl::string_view method) {
  return method == "GET" || method == "POST" || method == "PUT" || method == "PATCH" ||
         method == "DELETE" || method == "HEAD";
}

curl_socket_t OpenCurlSocket(const curl_sockaddr& address) {
  const int fd = socket(address.family, address.socktype | SOCK_CLOEXEC, address.protocol);
  return fd < 0 ? CURL_SOCKET_BAD : fd;
}

void RearmCurlTimer(EventLoop* loop, EventLoop::TimerId* timer, long timeout_ms,
                    absl::AnyInvocable<void()> on_due) {
  if (*timer != 0) loop->CancelTimer(*timer);
  *timer = 0;
  if (timeout_ms < 0) return;
  *timer = loop->RunAfter(absl::Milliseconds(timeout_ms), std::move(on_due));
}

void ShutDownOnLoop(EventLoop* loop, absl::FunctionRef<void()> shutdown) {
  if (loop->IsInLoopThread() || !loop->IsRunning()) {
    shutdown();
    return;
  }
  // If the loop stops before running the task, the task is destroyed instead, which also
  // notifies; then no loop thread is left and the shutdown runs here.
  absl::Notification task_gone;
  std::atomic<bool> shut_down_on_loop{false};
  loop->Post([&shutdown, &shut_down_on_loop,
              notify = absl::Cleanup([&task_gone] { task_gone.Notify(); })] {
    shutdown();
    shut_down_on_loop.store(true, std::memory_order_release);
  });
  task_gone.WaitForNotification();
  if (!shut_down_on_loop.load(std::memory_order_acquire)) shutdown();
}

}  // namespace aarthik::upstream
