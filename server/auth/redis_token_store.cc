#include "server/auth/redis_token_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "server/core/log.h"

namespace aarthik::auth {
namespace {

using redis::RedisReply;

// Takes the lock when free or expired, renews it for its own owner; 1 when held by ARGV[1] now.
constexpr char kLockScript[] = R"(
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
)";

// Deletes the lock only for its owner: a lock that expired and was taken by another replica stays.
constexpr char kUnlockScript[] = R"(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)";

absl::Status ReplyError(const RedisReply& reply) {
  // A Redis error names the command's problem (WRONGTYPE, NOSCRIPT, OOM...), never a stored value.
  return absl::UnavailableError(absl::StrCat("redis refused the command: ", reply.str));
}

// A reply callback for commands whose answer matters only as success or failure.
redis::RedisClient::ReplyCallback StatusOnly(TokenStore::DoneCallback done) {
  return [done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
    if (!reply.ok()) return done(reply.status());
    if (reply->type == RedisReply::kError) return done(ReplyError(*reply));
    done(absl::OkStatus());
  };
}

}  // namespace

std::string EncodeTokens(const BorrowerTokens& tokens) {
  return nlohmann::json{{"session_token", tokens.session_token},
                        {"refresh_token", tokens.refresh_token},
                        {"session_expires_at_ms", absl::ToUnixMillis(tokens.session_expires_at)},
                        {"refresh_expires_at_ms", absl::ToUnixMillis(tokens.refresh_expires_at)},
                        {"obtained_at_ms", absl::ToUnixMillis(tokens.obtained_at)}}
      .dump();
}

std::optional<BorrowerTokens> DecodeTokens(const std::string& text) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return std::nullopt;
  auto string_at = [&json](const char* key) -> const nlohmann::json* {
    auto it = json.find(key);
    return it != json.end() && it->is_string() ? &*it : nullptr;
  };
  auto millis_at = [&json](const char* key) -> std::optional<absl::Time> {
    auto it = json.find(key);
    if (it == json.end() || !it->is_number_integer()) return std::nullopt;
    return absl::FromUnixMillis(it->get<int64_t>());
  };
  const nlohmann::json* session = string_at("session_token");
  const nlohmann::json* refresh = string_at("refresh_token");
  std::optional<absl::Time> session_expires = millis_at("session_expires_at_ms");
  std::optional<absl::Time> refresh_expires = millis_at("refresh_expires_at_ms");
  std::optional<absl::Time> obtained = millis_at("obtained_at_ms");
  if (session == nullptr || refresh == nullptr || !session_expires || !refresh_expires ||
      !obtained) {
    return std::nullopt;
  }
  return BorrowerTokens{session->get<std::string>(), refresh->get<std::string>(), *session_expires,
                        *refresh_expires, *obtained};
}

void RedisTokenStore::Load(const std::string& borrower, LoadCallback done) {
  redis_->Command({"GET", TokensKey(borrower)},
                  [done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
                    if (!reply.ok()) return done(reply.status());
                    if (reply->type == RedisReply::kNil)
                      return done(std::optional<BorrowerTokens>());
                    if (reply->type != RedisReply::kString) return done(ReplyError(*reply));
                    std::optional<BorrowerTokens> tokens = DecodeTokens(reply->str);
                    if (!tokens) {
                      core::Log(core::Severity::kWarning,
                                "stored borrower tokens do not parse; treating them as absent");
                    }
                    done(std::move(tokens));
                  });
}

void RedisTokenStore::Save(const std::string& borrower, const BorrowerTokens& tokens,
                           DoneCallback done) {
  // The entry lives as long as its refresh token can be used, and at least a second.
  int64_t ttl_ms =
      std::max<int64_t>(absl::ToInt64Milliseconds(tokens.refresh_expires_at - absl::Now()), 1000);
  redis_->Command({"SET", TokensKey(borrower), EncodeTokens(tokens), "PX", absl::StrCat(ttl_ms)},
                  StatusOnly(std::move(done)));
}

void RedisTokenStore::Erase(const std::string& borrower, DoneCallback done) {
  redis_->Command({"DEL", TokensKey(borrower)}, StatusOnly(std::move(done)));
}

void RedisTokenStore::TryLockRefresh(const std::string& borrower, const std::string& owner,
                                     absl::Duration ttl, LockCallback done) {
  int64_t ttl_ms = std::max<int64_t>(absl::ToInt64Milliseconds(ttl), 1);
  redis_->Command({"EVAL", kLockScript, "1", LockKey(borrower), owner, absl::StrCat(ttl_ms)},
                  [done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
                    if (!reply.ok()) return done(reply.status());
                    if (reply->type != RedisReply::kInteger) return done(ReplyError(*reply));
                    done(reply->integer == 1);
                  });
}

void RedisTokenStore::UnlockRefresh(const std::string& borrower, const std::string& owner) {
  redis_->Command({"EVAL", kUnlockScript, "1", LockKey(borrower), owner},
                  [](absl::StatusOr<RedisReply> reply) {
                    // A lost unlock costs only the lock's TTL.
                    if (!reply.ok() || reply->type == RedisReply::kError) {
                      core::Log(core::Severity::kWarning, "redis refresh unlock failed");
                    }
                  });
}

}  // namespace aarthik::auth
