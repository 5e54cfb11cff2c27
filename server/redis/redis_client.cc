#include "server/redis/redis_client.h"

#include <arpa/inet.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/core/log.h"

namespace aarthik::redis {
namespace {

RedisReply CopyReply(const redisReply* reply) {
  RedisReply copy;
  switch (reply->type) {
    case REDIS_REPLY_STRING:
      copy.type = RedisReply::kString;
      copy.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      copy.type = RedisReply::kStatus;
      copy.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      copy.type = RedisReply::kError;
      copy.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_INTEGER:
      copy.type = RedisReply::kInteger;
      copy.integer = reply->integer;
      break;
    case REDIS_REPLY_ARRAY:
      copy.type = RedisReply::kArray;
      copy.elements.reserve(reply->elements);
      for (size_t i = 0; i < reply->elements; ++i) {
        copy.elements.push_back(CopyReply(reply->element[i]));
      }
      break;
    default:
      copy.type = RedisReply::kNil;
  }
  return copy;
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

// Blocking; runs on the resolver thread. IPv4 first: a name like "localhost" often lists ::1 first
// while Redis listens on 127.0.0.1 only; IPv6 when the name has no IPv4 address.
absl::StatusOr<std::string> Resolve(const std::string& host) {
  int last_error = 0;
  for (int family : {AF_INET, AF_INET6}) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
      last_error = rc;
      continue;
    }
    char text[INET6_ADDRSTRLEN] = {};
    const void* address =
        family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr);
    inet_ntop(family, address, text, sizeof(text));
    freeaddrinfo(found);
    return std::string(text);
  }
  return absl::UnavailableError(
      absl::StrCat("cannot resolve ", host, ": ", gai_strerror(last_error)));
}

}  // namespace

RedisClient::RedisClient(upstream::EventLoop* loop, Options options)
    : loop_(loop), options_(std::move(options)) {}

RedisClient::~RedisClient() {
  *alive_ = false;
  if (resolver_.joinable()) resolver_.join();
  if (connect_timer_ != 0) loop_->CancelTimer(connect_timer_);
  for (auto& [id, pending] : pending_) loop_->CancelTimer(pending.timer);
  pending_.clear();  // dropped without running: the loop is stopped or we are being torn down
  if (context_ != nullptr) {
    redisAsyncContext* context = context_;
    context->data = nullptr;  // callbacks hiredis runs while freeing find no client
    context_ = nullptr;
    redisAsyncFree(context);
  }
  if (watched_fd_ >= 0) loop_->Unwatch(watched_fd_);
}

void RedisClient::Start() {
  loop_->Post([this, alive = alive_] {
    if (!*alive || state_ != State::kIdle) return;
    Connect();
  });
}

void RedisClient::Connect() {
  if (IsIpLiteral(options_.host)) {
    ConnectTo(options_.host);
    return;
  }
  state_ = State::kResolving;
  if (resolver_.joinable()) resolver_.join();
  resolver_ = std::thread([this, host = options_.host, alive = alive_] {
    absl::StatusOr<std::string> address = Resolve(host);
    loop_->Post([this, alive, address = std::move(address)] {
      if (!*alive || state_ != State::kResolving) return;
      if (!address.ok()) {
        Fail(std::string(address.status().message()));
        return;
      }
      ConnectTo(*address);
    });
  });
}

void RedisClient::ConnectTo(const std::string& address) {
  state_ = State::kConnecting;
  redisAsyncContext* context = redisAsyncConnect(address.c_str(), options_.port);
  if (context == nullptr || context->err) {
    std::string why = context == nullptr ? "out of memory" : context->errstr;
    if (context != nullptr) redisAsyncFree(context);
    Fail(absl::StrCat("cannot connect: ", why));
    return;
  }
  context_ = context;
  context->data = this;
  context->ev.data = this;
  context->ev.addRead = &RedisClient::AddRead;
  context->ev.delRead = &RedisClient::DelRead;
  context->ev.addWrite = &RedisClient::AddWrite;
  context->ev.delWrite = &RedisClient::DelWrite;
  context->ev.cleanup = &RedisClient::Cleanup;
  redisAsyncSetConnectCallback(context, &RedisClient::HiredisConnectCallback);
  redisAsyncSetDisconnectCallback(context, &RedisClient::HiredisDisconnectCallback);
  // The connection's own preamble, ahead of any command queued meanwhile. Their replies are
  // checked: a wrong password or db fails the connection.
  preamble_ids_.clear();
  std::string password =
      options_.password_secret != nullptr ? *options_.password_secret->Get() : options_.password;
  if (!password.empty()) {
    preamble_ids_.push_back(++next_id_);
    Send(next_id_, {"AUTH", std::move(password)});
  }
  if (options_.db != 0) {
    preamble_ids_.push_back(++next_id_);
    Send(next_id_, {"SELECT", absl::StrCat(options_.db)});
  }
  for (auto& [id, args] : unsent_) Send(id, args);
  unsent_.clear();
  connect_timer_ = loop_->RunAfter(options_.connect_timeout, [this] {
    connect_timer_ = 0;
    if (state_ == State::kConnecting) Fail("connect timed out");
  });
  // hiredis learns that a non-blocking connect finished from the first writable event.
  want_write_ = true;
  UpdateWatch();
}

void RedisClient::OnConnected(int status) {
  if (connect_timer_ != 0) {
    loop_->CancelTimer(connect_timer_);
    connect_timer_ = 0;
  }
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    context_ = nullptr;
    Fail("connect failed");
    return;
  }
  state_ = State::kConnected;
  backoff_ = absl::ZeroDuration();
  if (options_.on_connection_change) options_.on_connection_change(true);
}

void RedisClient::OnDisconnected() {
  context_ = nullptr;
  if (state_ == State::kConnected || state_ == State::kConnecting) {
    Fail("connection lost");
  }
}

void RedisClient::Fail(const std::string& why) {
  if (state_ == State::kBackingOff) return;
  const bool was_connected = state_ == State::kConnected;
  state_ = State::kBackingOff;
  if (connect_timer_ != 0) {
    loop_->CancelTimer(connect_timer_);
    connect_timer_ = 0;
  }
  // Only a reason of ours: hiredis's error strings name addresses, never a value we stored.
  core::Log(core::Severity::kWarning, "redis unavailable",
            {{"reason", why}, {"host", options_.host}});
  if (context_ != nullptr) {
    redisAsyncContext* context = context_;
    context_ = nullptr;
    context->data = nullptr;
    redisAsyncFree(
        context);  // runs the pending hiredis callbacks with no reply; they find no client
  }
  unsent_.clear();
  // Before the callers hear of it: whoever sees a failed command also sees the gauge down.
  if (was_connected && options_.on_connection_change) options_.on_connection_change(false);
  FailAllPending(absl::StrCat("redis unavailable: ", why));
  ScheduleReconnect();
}

void RedisClient::ScheduleReconnect() {
  backoff_ = backoff_ == absl::ZeroDuration()
                 ? options_.reconnect_backoff_min
                 : std::min(backoff_ * 2, options_.reconnect_backoff_max);
  loop_->RunAfter(backoff_, [this, alive = alive_] {
    if (!*alive || state_ != State::kBackingOff) return;
    Connect();
  });
}

void RedisClient::Command(std::vector<std::string> args, ReplyCallback done) {
  loop_->Post([this, alive = alive_, args = std::move(args), done = std::move(done)]() mutable {
    if (!*alive) return;
    if (state_ != State::kConnected && state_ != State::kConnecting &&
        state_ != State::kResolving) {
      done(absl::UnavailableError("redis unavailable: not connected"));
      return;
    }
    if (pending_.size() >= options_.max_pending) {
      done(absl::UnavailableError("redis unavailable: too many commands waiting"));
      return;
    }
    uint64_t id = ++next_id_;
    upstream::EventLoop::TimerId timer =
        loop_->RunAfter(options_.command_timeout, [this, id] { OnCommandTimeout(id); });
    pending_.emplace(id, Pending{std::move(done), timer});
    if (context_ != nullptr) {
      Send(id, args);
    } else {
      unsent_.push_back({id, std::move(args)});  // still resolving the host name
    }
  });
}

void RedisClient::Send(uint64_t id, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  int rc = redisAsyncCommandArgv(context_, &RedisClient::HiredisReplyCallback,
                                 reinterpret_cast<void*>(static_cast<uintptr_t>(id)),
                                 static_cast<int>(argv.size()), argv.data(), lengths.data());
  if (rc != REDIS_OK) OnReply(id, nullptr);
}

void RedisClient::OnReply(uint64_t id, void* raw) {
  const redisReply* reply = static_cast<const redisReply*>(raw);
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    // The connection preamble (AUTH, SELECT) or a command that already timed out.
    bool preamble =
        std::find(preamble_ids_.begin(), preamble_ids_.end(), id) != preamble_ids_.end();
    if (preamble && reply != nullptr && reply->type == REDIS_REPLY_ERROR &&
        state_ != State::kBackingOff) {
      Fail("the server refused AUTH or SELECT (check the password and db)");
    }
    return;
  }
  ReplyCallback done = std::move(it->second.done);
  loop_->CancelTimer(it->second.timer);
  pending_.erase(it);
  if (reply == nullptr) {
    done(absl::UnavailableError("redis unavailable: connection lost"));
    return;
  }
  done(CopyReply(reply));
}

void RedisClient::OnCommandTimeout(uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  ReplyCallback done = std::move(it->second.done);
  pending_.erase(it);
  unsent_.erase(std::remove_if(unsent_.begin(), unsent_.end(),
                               [id](const auto& entry) { return entry.first == id; }),
                unsent_.end());
  done(absl::UnavailableError("redis unavailable: command timed out"));
  if (state_ == State::kConnected || state_ == State::kConnecting) Fail("command timed out");
}

void RedisClient::FailAllPending(const std::string& why) {
  absl::flat_hash_map<uint64_t, Pending> pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, entry] : pending) {
    loop_->CancelTimer(entry.timer);
    entry.done(absl::UnavailableError(why));
  }
}

void RedisClient::UpdateWatch() {
  int fd = context_ != nullptr ? context_->c.fd : -1;
  uint32_t events = (want_read_ ? uint32_t{EPOLLIN} : 0u) | (want_write_ ? uint32_t{EPOLLOUT} : 0u);
  if (watched_fd_ >= 0 && (fd != watched_fd_ || events == 0)) {
    loop_->Unwatch(watched_fd_);
    watched_fd_ = -1;
    watched_events_ = 0;
  }
  if (fd < 0 || events == 0) return;
  if (watched_fd_ < 0) {
    absl::Status watched = loop_->Watch(fd, events, [this](uint32_t ready) {
      // Either handler may end the connection (context_ becomes null).
      if ((ready & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0 && context_ != nullptr) {
        redisAsyncHandleRead(context_);
      }
      if ((ready & (EPOLLOUT | EPOLLERR)) != 0 && context_ != nullptr) {
        redisAsyncHandleWrite(context_);
      }
    });
    if (!watched.ok()) return;
    watched_fd_ = fd;
    watched_events_ = events;
  } else if (events != watched_events_) {
    if (loop_->Modify(fd, events).ok()) watched_events_ = events;
  }
}

void RedisClient::HiredisConnectCallback(const redisAsyncContext* context, int status) {
  auto* self = static_cast<RedisClient*>(context->data);
  if (self != nullptr) self->OnConnected(status);
}

void RedisClient::HiredisDisconnectCallback(const redisAsyncContext* context, int status) {
  auto* self = static_cast<RedisClient*>(context->data);
  if (self != nullptr) self->OnDisconnected();
}

void RedisClient::HiredisReplyCallback(redisAsyncContext* context, void* reply, void* privdata) {
  auto* self = static_cast<RedisClient*>(context->data);
  if (self == nullptr) return;
  self->OnReply(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(privdata)), reply);
}

void RedisClient::SetInterest(void* self, bool RedisClient::*want, bool on) {
  auto* client = static_cast<RedisClient*>(self);
  client->*want = on;
  client->UpdateWatch();
}
void RedisClient::AddRead(void* self) { SetInterest(self, &RedisClient::want_read_, true); }
void RedisClient::DelRead(void* self) { SetInterest(self, &RedisClient::want_read_, false); }
void RedisClient::AddWrite(void* self) { SetInterest(self, &RedisClient::want_write_, true); }
void RedisClient::DelWrite(void* self) { SetInterest(self, &RedisClient::want_write_, false); }
void RedisClient::Cleanup(void* self) {
  auto* client = static_cast<RedisClient*>(self);
  client->want_read_ = false;
  client->want_write_ = false;
  if (client->watched_fd_ >= 0) {
    client->loop_->Unwatch(client->watched_fd_);
    client->watched_fd_ = -1;
    client->watched_events_ = 0;
  }
}

absl::StatusOr<RedisClient::Options> ParseRedisUrl(const std::string& url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "redis://")) {
    return absl::InvalidArgumentError("must start with redis:// (e.g. redis://redis:6379/0)");
  }
  RedisClient::Options options;
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    // redis://:password@host or redis://user:password@host (the user is ignored: AUTH password).
    size_t colon = userinfo.find(':');
    options.password =
        std::string(colon == absl::string_view::npos ? userinfo : userinfo.substr(colon + 1));
  }
  absl::string_view authority = rest.substr(0, rest.find('/'));
  if (size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    absl::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!absl::SimpleAtoi(db, &options.db) || options.db < 0)) {
      return absl::InvalidArgumentError("the database after the host must be a number, e.g. /0");
    }
  }
  absl::string_view host = authority;
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {  // [IPv6]:port
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) return absl::InvalidArgumentError("has an unclosed '['");
    host = authority.substr(1, close - 1);
    port = authority.substr(close + 1);
    if (!port.empty() && !absl::ConsumePrefix(&port, ":")) {
      return absl::InvalidArgumentError("has text after ']' that is not :port");
    }
  } else if (size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (!port.empty() &&
      (!absl::SimpleAtoi(port, &options.port) || options.port <= 0 || options.port > 65535)) {
    return absl::InvalidArgumentError("the port must be a number in 1..65535");
  }
  if (host.empty()) return absl::InvalidArgumentError("names no host");
  options.host = std::string(host);
  return options;
}

}  // namespace aarthik::redis
