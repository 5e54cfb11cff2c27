// RedisClient: one asynchronous connection to a Redis server, driven by an upstream::EventLoop, so
// that replicas can share state (borrower tokens, refresh locks) without any thread waiting on I/O.
//
//   redis::RedisClient redis(&loop, {.host = "redis.internal", .port = 6379});
//   redis.Start();
//   redis.Command({"GET", "aarthik:tokens:CUST_1"}, [](absl::StatusOr<redis::RedisReply> reply) {
//     // runs on the loop thread; reply->type == RedisReply::kNil when the key is absent
//   });
//
// Behaviour a caller can rely on:
// - Commands sent before the connection is up are queued (within max_pending) and go out once it
//   is; every command ends with exactly one callback: a reply, or UNAVAILABLE when the connection
//   is down, drops, or the command outlives `command_timeout` (which also drops the connection: a
//   server that stopped answering is not waited for twice).
// - After a failure the client reconnects with exponential backoff; while it waits, commands fail
//   at once instead of queueing.
// - A host name is resolved on a helper thread (getaddrinfo blocks), never on the loop thread.
// - AUTH (when a password is set) and SELECT (when db != 0) precede every other command on each
//   new connection; a password from a core::Secret is read anew for each connection.
//
// Thread-safety: Start and Command may be called from any thread; callbacks run on the loop
// thread. Destroy the client after the loop has stopped (pending callbacks are then dropped
// without running) or on the loop thread.
#ifndef AARTHIK_SERVER_REDIS_REDIS_CLIENT_H_
#define AARTHIK_SERVER_REDIS_REDIS_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/core/secret.h"
#include "server/upstream/event_loop.h"

struct redisAsyncContext;

namespace aarthik::redis {

// A Redis reply, copied out of hiredis's.
struct RedisReply {
  enum Type { kString, kArray, kInteger, kNil, kStatus, kError };
  Type type = kNil;
  std::string str;  // kString, kStatus, kError
  int64_t integer = 0;
  std::vector<RedisReply> elements;  // kArray
};

class RedisClient {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string password;  // AUTH when not empty
    // When set, wins over `password` and is read at every (re)connect (a rotated file, see
    // core::SecretFileWatcher).
    std::shared_ptr<const core::Secret> password_secret;
    int db = 0;
    absl::Duration connect_timeout = absl::Seconds(1);
    absl::Duration command_timeout = absl::Milliseconds(500);
    absl::Duration reconnect_backoff_min = absl::Milliseconds(50);
    absl::Duration reconnect_backoff_max = absl::Seconds(2);
    // Commands waiting for a reply; beyond it Command fails at once with UNAVAILABLE.
    size_t max_pending = 10'000;
    // Told (on the loop thread) when a connection is established (true) and when it is lost or
    // given up (false), e.g. for a gauge.
    std::function<void(bool connected)> on_connection_change;
  };
  using ReplyCallback = absl::AnyInvocable<void(absl::StatusOr<RedisReply>)>;

  RedisClient(upstream::EventLoop* loop, Options options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Starts connecting. Commands issued before Start fail with UNAVAILABLE.
  void Start();
  // Sends `args` as one command (binary-safe). A Redis error reply is an ok StatusOr holding a
  // kError reply: the command reached the server.
  void Command(std::vector<std::string> args, ReplyCallback done);

  // Loop thread only: true while a connection is established.
  bool connected() const { return state_ == State::kConnected; }

 private:
  enum class State { kIdle, kResolving, kConnecting, kConnected, kBackingOff };
  struct Pending {
    ReplyCallback done;
    upstream::EventLoop::TimerId timer;
  };

  void Connect();                              // loop thread
  void ConnectTo(const std::string& address);  // loop thread; an IP literal
  void OnConnected(int status);                // hiredis connect callback
  void OnDisconnected();                       // hiredis disconnect or our own teardown
  void Fail(const std::string& why);           // drops the connection, then backs off
  void ScheduleReconnect();
  void Send(uint64_t id, const std::vector<std::string>& args);
  void OnReply(uint64_t id, void* reply);
  void OnCommandTimeout(uint64_t id);
  void FailAllPending(const std::string& why);
  void UpdateWatch();

  static void HiredisConnectCallback(const redisAsyncContext* context, int status);
  static void HiredisDisconnectCallback(const redisAsyncContext* context, int status);
  static void HiredisReplyCallback(redisAsyncContext* context, void* reply, void* privdata);
  // hiredis's event hooks: it asks for read/write readiness; we keep the EventLoop's watch in step.
  static void SetInterest(void* self, bool RedisClient::*want, bool on);
  static void AddRead(void* self);
  static void DelRead(void* self);
  static void AddWrite(void* self);
  static void DelWrite(void* self);
  static void Cleanup(void* self);

  upstream::EventLoop* const loop_;
  const Options options_;

  // Loop thread only.
  State state_ = State::kIdle;
  redisAsyncContext* context_ = nullptr;
  int watched_fd_ = -1;
  uint32_t watched_events_ = 0;
  bool want_read_ = false;
  bool want_write_ = false;
  upstream::EventLoop::TimerId connect_timer_ = 0;
  absl::Duration backoff_ = absl::ZeroDuration();
  uint64_t next_id_ = 0;
  absl::flat_hash_map<uint64_t, Pending> pending_;
  // Commands issued while the host name is being resolved (also in pending_, for their timeouts).
  std::vector<std::pair<uint64_t, std::vector<std::string>>> unsent_;
  std::vector<uint64_t> preamble_ids_;  // AUTH / SELECT of the current connection
  std::thread resolver_;  // at most one resolution at a time; joined before the next and on exit
  // Set to false by the destructor so that a late resolver result is dropped.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// "redis://[:password@]host[:port][/db]" → Options (password, host, port, db). The password may
// also come from a file (see the gateway's --redis-password-file), so the URL usually has none.
absl::StatusOr<RedisClient::Options> ParseRedisUrl(const std::string& url);

}  // namespace aarthik::redis

#endif  // AARTHIK_SERVER_REDIS_REDIS_CLIENT_H_
