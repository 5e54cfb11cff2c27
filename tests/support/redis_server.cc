#include "tests/support/redis_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace aarthik::testing {
namespace {

// A port the kernel just handed out for 127.0.0.1; redis-server binds it right after (a rare clash
// with another test is retried by Start).
absl::StatusOr<int> FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return absl::InternalError("cannot bind a loopback port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(
    std::vector<std::string> extra_args) {
  absl::Status last = absl::UnknownError("not started");
  for (int attempt = 0; attempt < 5; ++attempt) {
    absl::StatusOr<int> port = FreeLoopbackPort();
    if (!port.ok()) return port.status();
    std::unique_ptr<RedisServer> server(new RedisServer(*port, extra_args));
    last = server->Launch();
    if (last.ok()) return server;
  }
  return last;
}

absl::Status RedisServer::Launch() {
  // Nothing persisted; DEBUG SLEEP allowed, so that tests can make the server stop answering.
  std::vector<std::string> argv = {AARTHIK_REDIS_SERVER, "--port", std::to_string(port_)};
  for (const char* arg : {"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize",
                          "no", "--loglevel", "notice", "--enable-debug-command", "yes"}) {
    argv.emplace_back(arg);
  }
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(argv);
  if (!process.ok()) return process.status();
  // redis-server logs to stdout; this line means the port is bound and commands are served.
  for (;;) {
    absl::StatusOr<std::string> line = (*process)->ReadLine(absl::Seconds(10));
    if (!line.ok()) {
      return absl::UnavailableError(
          absl::StrCat("redis-server did not become ready: ", line.status().message()));
    }
    if (absl::StrContains(*line, "Ready to accept connections")) break;
  }
  process_ = std::move(*process);
  return absl::OkStatus();
}

void RedisServer::Stop() {
  if (process_ != nullptr) process_->Terminate();
  process_.reset();
}

absl::Status RedisServer::Restart() {
  Stop();
  return Launch();
}

}  // namespace aarthik::testing
