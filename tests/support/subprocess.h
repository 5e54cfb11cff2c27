// Child processes for integration tests.
//
// `Subprocess` starts a binary with fork/exec, pipes its stdout to the parent (stderr is inherited
// so the child's logs appear in the test output) and makes sure the child never outlives the test.
//
// Example:
//   auto child = Subprocess::Start({AARTHIK_BIN_DIR "/aarthik-sandbox", "--listen",
//   "127.0.0.1:0"}); ASSERT_TRUE(child.ok()) << child.status(); absl::StatusOr<std::string> address
//   = ReadListenAddress(**child);
//   ...
//   EXPECT_EQ((*child)->Terminate(), 0);
//
// Thread-safety: a Subprocess is not thread-safe; use it from one thread at a time.
#ifndef AARTHIK_TESTS_SUPPORT_SUBPROCESS_H_
#define AARTHIK_TESTS_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace aarthik::testing {

// Child process for integration tests: stdout piped to the parent, stderr inherited.
class Subprocess {
 public:
  // Starts argv[0] (a path; PATH is not searched) with argv, the parent's environment plus
  // `extra_env` entries of the form "K=V" (which override inherited ones). With `stderr_path` the
  // child's stderr goes to that file (created or truncated) instead of the test's.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(std::vector<std::string> argv,
                                                           std::vector<std::string> extra_env = {},
                                                           const std::string& stderr_path = "");

  // Returns the next stdout line without its '\n'. DeadlineExceeded when no full line arrives in
  // `timeout`; OutOfRange when the child closed stdout (a final unterminated line is returned
  // first).
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout);

  // Sends SIGTERM, waits up to `grace`, then SIGKILLs. Returns the exit code, or -signal when the
  // child died from a signal. Calling it again returns the same value.
  int Terminate(absl::Duration grace = absl::Seconds(5));

  pid_t pid() const;

  // SIGKILL + reap if still running.
  ~Subprocess();

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

 private:
  Subprocess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}
  // Non-blocking reap; true once the child is gone (exit_code_ set).
  bool TryReap();

  pid_t pid_;
  int stdout_fd_;
  bool reaped_ = false;
  int exit_code_ = 0;
  bool stdout_closed_ = false;
  std::string buffer_;  // stdout bytes read but not yet returned as lines
};

// Starts a server binary that prints "listening HOST:PORT" as its first stdout line; returns
// "HOST:PORT".
absl::StatusOr<std::string> ReadListenAddress(Subprocess& process,
                                              absl::Duration timeout = absl::Seconds(10));

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_SUPPORT_SUBPROCESS_H_
