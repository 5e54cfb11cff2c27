#include "tests/support/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace aarthik::testing {
namespace {

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

// The child's environment: the parent's, with `extra_env` entries overriding same-named ones.
std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra_env) {
  std::map<std::string, std::string> by_name;
  std::vector<std::string> order;
  auto add = [&](const std::string& entry) {
    std::string name = entry.substr(0, entry.find('='));
    if (by_name.find(name) == by_name.end()) order.push_back(name);
    by_name[name] = entry;
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) add(*e);
  for (const std::string& entry : extra_env) add(entry);
  std::vector<std::string> merged;
  merged.reserve(order.size());
  for (const std::string& name : order) merged.push_back(by_name[name]);
  return merged;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(std::vector<std::string> argv,
                                                              std::vector<std::string> extra_env,
                                                              const std::string& stderr_path) {
  if (argv.empty()) return absl::InvalidArgumentError("Subprocess::Start: empty argv");
  if (access(argv[0].c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("not executable: ", argv[0]));
  }
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<std::string> env = MergedEnvironment(extra_env);
  std::vector<char*> argv_ptrs, env_ptrs;
  for (std::string& a : argv) argv_ptrs.push_back(a.data());
  argv_ptrs.push_back(nullptr);
  for (std::string& e : env) env_ptrs.push_back(e.data());
  env_ptrs.push_back(nullptr);

  int stderr_fd = -1;
  if (!stderr_path.empty()) {
    stderr_fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (stderr_fd < 0) {
      return absl::InternalError(absl::StrCat("open ", stderr_path, ": ", std::strerror(errno)));
    }
  }
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    if (stderr_fd >= 0) close(stderr_fd);
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    if (stderr_fd >= 0) close(stderr_fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    // Die with the test: a crashed or killed test must not leave servers behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(pipe_fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the new descriptor
    if (stderr_fd >= 0) dup2(stderr_fd, STDERR_FILENO);
    execve(argv_ptrs[0], argv_ptrs.data(), env_ptrs.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  if (stderr_fd >= 0) close(stderr_fd);
  return std::unique_ptr<Subprocess>(new Subprocess(pid, pipe_fds[0]));
}

absl::StatusOr<std::string> Subprocess::ReadLine(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (stdout_closed_) {
      if (!buffer_.empty()) {
        std::string line;
        line.swap(buffer_);
        return line;
      }
      return absl::OutOfRangeError("child closed stdout");
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError("no complete stdout line from child in time");
    }
    pollfd pfd{stdout_fd_, POLLIN, 0};
    int ready = poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
    }
    if (ready == 0) continue;  // loop re-checks the deadline
    char chunk[4096];
    ssize_t n = read(stdout_fd_, chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return absl::InternalError(absl::StrCat("read: ", std::strerror(errno)));
    }
    if (n == 0) {
      stdout_closed_ = true;
    } else {
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
}

bool Subprocess::TryReap() {
  if (reaped_) return true;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    exit_code_ = DecodeWaitStatus(status);
  } else if (r < 0 && errno == ECHILD) {
    reaped_ = true;
    exit_code_ = -1;
  }
  return reaped_;
}

int Subprocess::Terminate(absl::Duration grace) {
  if (TryReap()) return exit_code_;
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + grace;
  // Polling waitpid is the portable way to wait with a timeout for one child; 5 ms steps keep
  // the added latency negligible.
  while (!TryReap()) {
    if (absl::Now() >= deadline) {
      kill(pid_, SIGKILL);
      int status = 0;
      if (waitpid(pid_, &status, 0) == pid_) exit_code_ = DecodeWaitStatus(status);
      reaped_ = true;
      break;
    }
    usleep(5000);
  }
  return exit_code_;
}

pid_t Subprocess::pid() const { return pid_; }

Subprocess::~Subprocess() {
  if (!TryReap()) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  close(stdout_fd_);
}

absl::StatusOr<std::string> ReadListenAddress(Subprocess& process, absl::Duration timeout) {
  absl::StatusOr<std::string> line = process.ReadLine(timeout);
  if (!line.ok()) return line.status();
  constexpr absl::string_view kPrefix = "listening ";
  if (!absl::StartsWith(*line, kPrefix)) {
    return absl::FailedPreconditionError(
        absl::StrCat("expected 'listening HOST:PORT' as first stdout line, got: ", *line));
  }
  return line->substr(kPrefix.size());
}

}  // namespace aarthik::testing
