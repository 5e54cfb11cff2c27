// aarthik-tls-front: the TLS front of the tests (tests/support/tls_front.h) as a program, so that
// the gateway benchmark can put an https:// upstream in front of the plain-HTTP sandbox without
// teaching the sandbox TLS. It accepts TLS on a free loopback port with the given certificate and
// relays the decrypted bytes to the backend, and it counts TLS handshakes: the benchmark reads the
// count before and after its measured window to show that keep-alive upstream connections are
// reused (no handshake per RPC).
//
// Example:
//
//   aarthik-tls-front --cert server.pem --key server.key.pem --backend 127.0.0.1:8080
//   # stdout: listening 127.0.0.1:41234          (first line, flushed once the port is open)
//   kill -USR1 <pid>
//   # stdout: {"handshakes_completed": 64, "handshakes_failed": 0}
//   kill -TERM <pid>                              # or SIGINT: the same line once more, exit 0
//   # stdout: {"handshakes_completed": 64, "handshakes_failed": 0}
//
// Signals are taken synchronously (sigwait on the main thread), so a SIGUSR1 sent any time after
// the `listening` line has been read is answered, never lost. POSIX does not queue a signal that
// is already pending: two SIGUSR1 sent before the first is answered get one line, so wait for each
// answer before sending the next.
//
// Thread-safety: a single-purpose program. The relay runs on TlsFront's own thread; the main thread
// only waits for signals and reads TlsFront's atomic counters.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "tests/support/tls_front.h"

namespace {

using aarthik::testing::TlsFront;

[[noreturn]] void Usage(const std::string& message) {
  std::fprintf(stderr,
               "%s\nusage: aarthik-tls-front --cert FILE --key FILE --backend HOST:PORT\n"
               "  --cert     PEM certificate chain the front presents\n"
               "  --key      its PEM private key\n"
               "  --backend  numeric HOST:PORT of the plain TCP backend (e.g. the sandbox)\n",
               message.c_str());
  std::exit(2);
}

TlsFront::Options ParseFlags(int argc, char** argv) {
  TlsFront::Options options;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view flag = argv[i];
    if (i + 1 >= argc) Usage(std::string(flag) + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--cert") {
      options.cert_file = value;
    } else if (flag == "--key") {
      options.key_file = value;
    } else if (flag == "--backend") {
      options.backend = value;
    } else {
      Usage("unknown flag " + std::string(flag));
    }
  }
  if (options.cert_file.empty() || options.key_file.empty() || options.backend.empty()) {
    Usage("--cert, --key and --backend are required");
  }
  return options;
}

void PrintHandshakes(const TlsFront& front) {
  std::printf("{\"handshakes_completed\": %d, \"handshakes_failed\": %d}\n",
              front.handshakes_completed(), front.handshakes_failed());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const TlsFront::Options options = ParseFlags(argc, argv);

  // Blocked before TlsFront starts its thread (which inherits the mask), so every one of these
  // signals reaches the sigwait below instead of killing the process or interrupting the relay.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<TlsFront>> front = TlsFront::Start(options);
  if (!front.ok()) {
    std::fprintf(stderr, "aarthik-tls-front: %s\n", front.status().ToString().c_str());
    return 1;
  }
  std::printf("listening %s\n", (*front)->address().c_str());
  std::fflush(stdout);

  while (true) {
    int received = 0;
    if (sigwait(&signals, &received) != 0) continue;
    PrintHandshakes(**front);
    if (received != SIGUSR1) break;
  }
  front->reset();  // stops the relay thread and closes every connection
  return 0;
}
