// A real redis-server for tests, on a free loopback port, with nothing persisted.
//
//   auto redis = RedisServer::Start();
//   ASSERT_TRUE(redis.ok()) << redis.status();
//   std::string url = (*redis)->url();   // "redis://127.0.0.1:PORT"
//   (*redis)->Stop();                    // the platform team's Redis goes down
//   ASSERT_TRUE((*redis)->Restart().ok());  // same port, empty data
//
// Thread-safety: use from one thread.
#ifndef AARTHIK_TESTS_SUPPORT_REDIS_SERVER_H_
#define AARTHIK_TESTS_SUPPORT_REDIS_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/support/subprocess.h"

namespace aarthik::testing {

class RedisServer {
 public:
  // `extra_args` go to redis-server, e.g. {"--requirepass", "pw"}.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      std::vector<std::string> extra_args = {});

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  void Stop();
  absl::Status Restart();

 private:
  RedisServer(int port, std::vector<std::string> extra_args)
      : port_(port), extra_args_(std::move(extra_args)) {}
  absl::Status Launch();

  int port_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_SUPPORT_REDIS_SERVER_H_
