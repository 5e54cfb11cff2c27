#include "server/http/grpc_listener_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/core/log.h"

namespace aarthik::http {
namespace {

// The HTTP/2 client connection preface followed by an empty SETTINGS frame (RFC 9113 §3.4).
constexpr char kPreface[] =
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
constexpr size_t kPrefaceSize = sizeof(kPreface) - 1;
constexpr size_t kFrameHeaderSize = 9;
constexpr uint8_t kSettingsFrame = 0x4;

// Loopback address to check for the listener's "HOST:PORT"; false when it is not an IP address.
bool CheckAddress(const std::string& listen, sockaddr_storage* out, socklen_t* length) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port <= 0 || port > 65535) {
    return false;
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "0.0.0.0" || host == "localhost") host = "127.0.0.1";
  if (host == "::") host = "::1";
  *out = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    *length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    *length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

}  // namespace

struct GrpcListenerCheck::State : std::enable_shared_from_this<State> {
  State(upstream::EventLoop* loop, Options options, CheckCallback on_check)
      : loop(loop), options(std::move(options)), on_check(std::move(on_check)) {}
  ~State() {
    if (fd >= 0) ::close(fd);
  }

  upstream::EventLoop* const loop;
  const Options options;
  const CheckCallback on_check;
  // Held while on_check runs and when the owner goes away, so that no callback outlives it.
  std::mutex mu;
  bool stopped = false;
  std::atomic<uint64_t> checks{0};
  std::atomic<uint64_t> failures{0};

  // On the loop only.
  int consecutive_failures = 0;
  bool accepting = true;  // the verdict
  int fd = -1;
  bool sent = false;
  std::string received;
  upstream::EventLoop::TimerId timeout_timer = 0;
  absl::AnyInvocable<void(absl::Status)> done;  // the check in progress

  bool Stopped() {
    std::lock_guard<std::mutex> lock(mu);
    return stopped;
  }

  void ScheduleNext() {
    loop->RunAfter(options.interval, [self = shared_from_this()] {
      if (self->Stopped()) return;
      self->Begin([self](absl::Status result) {
        self->Record(result);
        self->ScheduleNext();
      });
    });
  }

  void Begin(absl::AnyInvocable<void(absl::Status)> on_done) {
    if (done) {
      on_done(absl::FailedPreconditionError("a check is already running"));
      return;
    }
    done = std::move(on_done);
    sockaddr_storage address;
    socklen_t length = 0;
    if (!CheckAddress(options.address, &address, &length)) {
      return Finish(absl::InvalidArgumentError(
          absl::StrCat("not an IP address and port: ", options.address)));
    }
    fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return Finish(absl::UnavailableError(
          absl::StrCat("inconclusive: no socket for the check: ", std::strerror(errno))));
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 &&
        errno != EINPROGRESS) {
      return Finish(absl::UnavailableError(absl::StrCat("connect: ", std::strerror(errno))));
    }
    sent = false;
    received.clear();
    absl::Status watched = loop->Watch(
        fd, EPOLLOUT, [self = shared_from_this()](uint32_t events) { self->OnEvent(events); });
    if (!watched.ok()) return Finish(watched);
    timeout_timer = loop->RunAfter(options.timeout, [self = shared_from_this()] {
      self->timeout_timer = 0;
      if (self->done) {
        self->Finish(absl::DeadlineExceededError(
            absl::StrCat("no answer from gRPC within ", absl::FormatDuration(self->options.timeout),
                         self->sent ? "" : " (not even connected)")));
      }
    });
  }

  void OnEvent(uint32_t events) {
    if (!sent) {
      int error = 0;
      socklen_t size = sizeof(error);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
      if (error != 0)
        return Finish(absl::UnavailableError(absl::StrCat("connect: ", std::strerror(error))));
      if ((events & EPOLLOUT) == 0) return;
      // 33 bytes into an empty socket buffer: written whole or not at all.
      if (::send(fd, kPreface, kPrefaceSize, MSG_NOSIGNAL) != static_cast<ssize_t>(kPrefaceSize)) {
        return Finish(absl::UnavailableError(absl::StrCat("send: ", std::strerror(errno))));
      }
      sent = true;
      if (absl::Status modified = loop->Modify(fd, EPOLLIN); !modified.ok())
        return Finish(modified);
      return;
    }
    char buffer[256];
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) {
      return Finish(absl::UnavailableError(absl::StrCat("recv: ", std::strerror(errno))));
    }
    if (n == 0) {
      // A TLS listener closes a connection that does not start with a ClientHello: it read ours.
      return Finish(options.tls
                        ? absl::OkStatus()
                        : absl::UnavailableError("closed by the server before its SETTINGS"));
    }
    if (options.tls) return Finish(absl::OkStatus());
    received.append(buffer, static_cast<size_t>(n));
    if (received.size() < kFrameHeaderSize) return;
    const uint8_t type = static_cast<uint8_t>(received[3]);
    if (type != kSettingsFrame) {
      return Finish(
          absl::UnavailableError(absl::StrCat("first frame from the server has type ", type)));
    }
    Finish(absl::OkStatus());
  }

  void Finish(absl::Status result) {
    if (fd >= 0) {
      if (loop->IsInLoopThread()) loop->Unwatch(fd);
      ::close(fd);
      fd = -1;
    }
    if (timeout_timer != 0) {
      loop->CancelTimer(timeout_timer);
      timeout_timer = 0;
    }
    auto callback = std::move(done);
    done = nullptr;
    if (callback) callback(std::move(result));
  }

  void Record(const absl::Status& result) {
    if (absl::StartsWith(result.message(), "inconclusive")) {
      core::Log(core::Severity::kWarning, "grpc listener check inconclusive",
                {{"reason", std::string(result.message())}});
      return;
    }
    checks.fetch_add(1);
    bool verdict = accepting;
    if (result.ok()) {
      consecutive_failures = 0;
      verdict = true;
    } else {
      failures.fetch_add(1);
      if (++consecutive_failures >= options.failures_to_report) verdict = false;
    }
    accepting = verdict;
    std::lock_guard<std::mutex> lock(mu);
    if (!stopped) on_check(accepting, result);
  }
};

GrpcListenerCheck::GrpcListenerCheck(upstream::EventLoop* loop, Options options,
                                     CheckCallback on_check)
    : state_(std::make_shared<State>(loop, std::move(options), std::move(on_check))) {}

GrpcListenerCheck::~GrpcListenerCheck() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopped = true;
  }
  // A check in progress ends on the loop; its socket closes with the last reference to the state.
  state_->loop->Post([state = state_] {
    if (state->done) state->Finish(absl::CancelledError("stopped"));
  });
}

uint64_t GrpcListenerCheck::checks() const { return state_->checks.load(); }

uint64_t GrpcListenerCheck::failures() const { return state_->failures.load(); }

void GrpcListenerCheck::Start() {
  sockaddr_storage address;
  socklen_t length = 0;
  if (!CheckAddress(state_->options.address, &address, &length)) {
    core::Log(core::Severity::kWarning,
              "grpc listener check disabled: the listen address is not an IP address",
              {{"listen", state_->options.address}});
    return;
  }
  state_->ScheduleNext();
}

void GrpcListenerCheck::CheckNow(absl::AnyInvocable<void(absl::Status)> done) {
  state_->loop->Post(
      [state = state_, done = std::move(done)]() mutable { state->Begin(std::move(done)); });
}

}  // namespace aarthik::http
