// RedisClient against a real redis-server on a free loopback port: replies of every type, binary
// safety, AUTH, a server that goes away and comes back, a server that stops answering, the pending
// cap, and the URL parser.
#include "server/redis/redis_client.h"

#include <condition_variable>
#include <mutex>
#include <optional>

#include "gtest/gtest.h"
#include "server/upstream/event_loop.h"
#include "tests/support/redis_server.h"

namespace aarthik::redis {
namespace {

using ::aarthik::testing::RedisServer;

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Start(server_args_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    loop_.Start();
  }
  void TearDown() override {
    loop_.Stop();  // the client is destroyed after its loop stopped, as documented
    client_.reset();
  }

  RedisClient& Client(RedisClient::Options options = {}) {
    if (options.host == RedisClient::Options{}.host) options.host = "127.0.0.1";
    options.port = server_->port();
    client_ = std::make_unique<RedisClient>(&loop_, options);
    client_->Start();
    return *client_;
  }

  // Runs one command and waits for its callback.
  absl::StatusOr<RedisReply> Run(std::vector<std::string> args) {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<absl::StatusOr<RedisReply>> result;
    client_->Command(std::move(args), [&](absl::StatusOr<RedisReply> reply) {
      std::lock_guard<std::mutex> lock(mu);
      result = std::move(reply);
      cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return result.has_value(); });
    return *std::move(result);
  }

  // Commands until one succeeds (the client reconnects on its own backoff); false once `patience`
  // has passed.
  bool EventuallyServes(absl::Duration patience = absl::Seconds(10)) {
    for (absl::Time give_up = absl::Now() + patience; absl::Now() < give_up;) {
      absl::StatusOr<RedisReply> reply = Run({"PING"});
      if (reply.ok() && reply->type == RedisReply::kStatus) return true;
    }
    return false;
  }

  std::vector<std::string> server_args_;
  std::unique_ptr<RedisServer> server_;
  upstream::EventLoop loop_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(RedisClientTest, RepliesOfEveryType) {
  Client();
  absl::StatusOr<RedisReply> set = Run({"SET", "k", "v"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->type, RedisReply::kStatus);
  EXPECT_EQ(set->str, "OK");

  absl::StatusOr<RedisReply> get = Run({"GET", "k"});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->type, RedisReply::kString);
  EXPECT_EQ(get->str, "v");

  EXPECT_EQ(Run({"GET", "absent"})->type, RedisReply::kNil);
  absl::StatusOr<RedisReply> incr = Run({"INCRBY", "n", "41"});
  EXPECT_EQ(incr->type, RedisReply::kInteger);
  EXPECT_EQ(incr->integer, 41);

  ASSERT_TRUE(Run({"RPUSH", "list", "a", "b"}).ok());
  absl::StatusOr<RedisReply> range = Run({"LRANGE", "list", "0", "-1"});
  ASSERT_EQ(range->type, RedisReply::kArray);
  ASSERT_EQ(range->elements.size(), 2u);
  EXPECT_EQ(range->elements[1].str, "b");

  // A Redis error reply reached the server: an ok status holding kError.
  absl::StatusOr<RedisReply> wrong = Run({"INCR", "k"});
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->type, RedisReply::kError);
  EXPECT_NE(wrong->str.find("not an integer"), std::string::npos) << wrong->str;
}

TEST_F(RedisClientTest, AHostNameIsResolvedOffTheLoopAndCommandsWaitForIt) {
  Client({.host = "localhost"});
  // Issued at once, while the helper thread resolves the name: held, then sent.
  absl::StatusOr<RedisReply> reply = Run({"PING"});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->str, "PONG");
}

TEST_F(RedisClientTest, AnUnknownHostIsUnavailable) {
  Client({.host = "no-such-host.invalid", .reconnect_backoff_min = absl::Seconds(10)});
  absl::StatusOr<RedisReply> reply = Run({"PING"});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable) << reply.status();
}

TEST_F(RedisClientTest, ArgumentsAreBinarySafe) {
  Client();
  const std::string value("a\0b\r\n%s c", 9);
  ASSERT_TRUE(Run({"SET", "bin key", value}).ok());
  EXPECT_EQ(Run({"GET", "bin key"})->str, value);
}

TEST_F(RedisClientTest, CommandsBeforeTheConnectionIsUpAreQueued) {
  Client();
  // No wait between Start and these: they go out once the connection is established.
  EXPECT_EQ(Run({"PING"})->str, "PONG");
}

TEST_F(RedisClientTest, ServerDownFailsFastThenTheClientReconnects) {
  Client({.reconnect_backoff_min = absl::Milliseconds(5),
          .reconnect_backoff_max = absl::Milliseconds(20)});
  ASSERT_TRUE(Run({"SET", "k", "v"}).ok());
  server_->Stop();
  absl::StatusOr<RedisReply> down = Run({"GET", "k"});
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  EXPECT_NE(down.status().message().find("redis unavailable"), std::string::npos);

  ASSERT_TRUE(server_->Restart().ok());
  EXPECT_TRUE(EventuallyServes());
  EXPECT_EQ(Run({"GET", "k"})->type, RedisReply::kNil);  // a new, empty server
}

TEST_F(RedisClientTest, ConnectionChangesAreReported) {
  std::mutex mu;
  std::vector<bool> changes;
  Client({.reconnect_backoff_min = absl::Milliseconds(5), .on_connection_change = [&](bool up) {
            std::lock_guard<std::mutex> lock(mu);
            changes.push_back(up);
          }});
  ASSERT_TRUE(Run({"PING"}).ok());
  server_->Stop();
  EXPECT_FALSE(Run({"PING"}).ok());
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(EventuallyServes());
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_GE(changes.size(), 3u);
  EXPECT_TRUE(changes[0]);
  EXPECT_FALSE(changes[1]);
  EXPECT_TRUE(changes.back());
}

TEST_F(RedisClientTest, AServerThatStopsAnsweringTimesOutAndTheConnectionIsReplaced) {
  Client(
      {.command_timeout = absl::Milliseconds(100), .reconnect_backoff_min = absl::Milliseconds(5)});
  ASSERT_TRUE(Run({"PING"}).ok());
  // DEBUG SLEEP holds the server for 1 s: longer than the command timeout.
  absl::StatusOr<RedisReply> slow = Run({"DEBUG", "SLEEP", "1"});
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kUnavailable) << (slow.ok() ? slow->str : "");
  EXPECT_NE(slow.status().message().find("timed out"), std::string::npos) << slow.status();
  EXPECT_TRUE(EventuallyServes());
}

TEST_F(RedisClientTest, TooManyWaitingCommandsAreRefusedAtOnce) {
  Client({.max_pending = 1});
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0, refused = 0;
  // Posted back to back: the second arrives while the first is still waiting for its reply.
  for (int i = 0; i < 2; ++i) {
    client_->Command({"DEBUG", "SLEEP", "0.2"}, [&](absl::StatusOr<RedisReply> reply) {
      std::lock_guard<std::mutex> lock(mu);
      (reply.ok() ? answered : refused)++;
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return answered + refused == 2; });
  EXPECT_EQ(answered, 1);
  EXPECT_EQ(refused, 1);
}

class RedisClientAuthTest : public RedisClientTest {
 protected:
  RedisClientAuthTest() { server_args_ = {"--requirepass", "pw-for-tests"}; }
};

TEST_F(RedisClientAuthTest, AuthenticatesEveryConnection) {
  Client({.password = "pw-for-tests"});
  absl::StatusOr<RedisReply> reply = Run({"SET", "k", "v"});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->type, RedisReply::kStatus);
}

TEST_F(RedisClientAuthTest, AWrongPasswordFailsTheConnection) {
  Client({.password = "wrong", .reconnect_backoff_min = absl::Seconds(10)});
  absl::StatusOr<RedisReply> reply = Run({"GET", "k"});
  // Either the command's own NOAUTH error or the connection failing for the refused AUTH.
  EXPECT_TRUE(!reply.ok() || reply->type == RedisReply::kError);
  EXPECT_FALSE(EventuallyServes(absl::Milliseconds(100)));
}

TEST_F(RedisClientAuthTest, ARotatedPasswordIsUsedOnTheNextConnection) {
  auto password = std::make_shared<core::Secret>("the-old-password");
  Client({.password_secret = password,
          .reconnect_backoff_min = absl::Milliseconds(5),
          .reconnect_backoff_max = absl::Milliseconds(20)});
  EXPECT_FALSE(EventuallyServes(absl::Milliseconds(100)));
  password->Set("pw-for-tests");  // what SecretFileWatcher does when the mounted file changes
  EXPECT_TRUE(EventuallyServes());
}

TEST(ParseRedisUrlTest, HostPortDbAndPassword) {
  auto options = ParseRedisUrl("redis://redis.internal:6380/2");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->host, "redis.internal");
  EXPECT_EQ(options->port, 6380);
  EXPECT_EQ(options->db, 2);
  EXPECT_TRUE(options->password.empty());

  options = ParseRedisUrl("redis://:s3cret@10.0.0.5");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->host, "10.0.0.5");
  EXPECT_EQ(options->port, 6379);
  EXPECT_EQ(options->password, "s3cret");

  options = ParseRedisUrl("redis://[::1]:7000");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->host, "::1");
  EXPECT_EQ(options->port, 7000);
}

TEST(ParseRedisUrlTest, RefusalsSayWhatIsWrong) {
  EXPECT_FALSE(ParseRedisUrl("http://redis:6379").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://redis:port").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://redis:70000").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://redis/zero").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://[::1").ok());
}

}  // namespace
}  // namespace aarthik::redis
