#include "server/events/shared_state_fetcher.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace aarthik::events {
namespace {

// A bound on marks whatever the web-hook rate: beyond it the oldest lapse early.
constexpr size_t kMaxWebhookMarks = 10'000;

// Releases the lease only if it is still ours (it may have expired and been taken since).
constexpr char kReleaseScript[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

std::string Millis(absl::Duration d) {
  return absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

// "<poll_after ms>,<terminal 0|1>,<WatchJourneyStateResponse bytes>"
std::string Encode(const FetchedState& state) {
  return absl::StrCat(absl::ToInt64Milliseconds(state.poll_after), ",", state.terminal ? 1 : 0, ",",
                      state.response.SerializeAsString());
}

absl::StatusOr<FetchedState> Decode(const std::string& blob) {
  std::vector<absl::string_view> parts = absl::StrSplit(blob, absl::MaxSplits(',', 2));
  FetchedState state;
  int64_t poll_after_ms = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &poll_after_ms) ||
      (parts[1] != "0" && parts[1] != "1") ||
      !state.response.ParseFromArray(parts[2].data(), static_cast<int>(parts[2].size()))) {
    return absl::DataLossError("malformed shared journey state in Redis");
  }
  state.poll_after = absl::Milliseconds(poll_after_ms);
  state.terminal = parts[1] == "1";
  return state;
}

}  // namespace

SharedStateFetcher::SharedStateFetcher(Scheduler* scheduler, StateFetcher* inner,
                                       redis::RedisClient* redis, Options options)
    : scheduler_(scheduler), inner_(inner), redis_(redis), options_(std::move(options)) {}

std::string SharedStateFetcher::KeyOf(const JourneyKey& key) {
  // Journey IDs are UUIDs (no ':'), so the borrower may follow unambiguously.
  return key.hybrid() ? absl::StrCat("hy:", key.borrower_provider_id)
                      : absl::StrCat("hl:", key.journey_id, ":", key.borrower_external_id);
}

void SharedStateFetcher::OnWebhook(const aarthik::events::v1::JourneyEvent& event) {
  const absl::Time now = scheduler_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  ExpireWebhookMarks(now);
  auto mark = [&](std::string id) {
    webhook_marks_[id] = now;
    mark_order_.emplace_back(now, std::move(id));
  };
  for (const std::string& journey : event.journey_ids()) mark("hl:" + journey);
  if (!event.borrower_provider_id().empty()) mark("hy:" + event.borrower_provider_id());
}

void SharedStateFetcher::ExpireWebhookMarks(absl::Time now) {
  while (!mark_order_.empty() && (mark_order_.front().first + options_.webhook_mark_ttl <= now ||
                                  mark_order_.size() > kMaxWebhookMarks)) {
    auto& [marked_at, id] = mark_order_.front();
    if (auto it = webhook_marks_.find(id); it != webhook_marks_.end() && it->second == marked_at) {
      webhook_marks_.erase(it);
    }
    mark_order_.pop_front();
  }
}

bool SharedStateFetcher::TakeWebhookMark(const JourneyKey& key) {
  const absl::Time now = scheduler_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  ExpireWebhookMarks(now);
  return webhook_marks_.erase(key.Id()) > 0;
}

SharedStateFetcher::Stats SharedStateFetcher::stats() const {
  int64_t marks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    marks = static_cast<int64_t>(webhook_marks_.size());
  }
  return {polled_.load(), shared_.load(), not_ready_.load(), redis_errors_.load(), marks};
}

void SharedStateFetcher::Fetch(const JourneyKey& key, Done done) {
  if (TakeWebhookMark(key)) return Poll(key, std::move(done));
  const std::string lease = absl::StrCat(options_.key_prefix, "poll:lease:", KeyOf(key));
  redis_->Command(
      {"SET", lease, options_.replica_id, "NX", "PX", Millis(options_.in_flight_lease)},
      [this, key, done = std::move(done)](absl::StatusOr<redis::RedisReply> reply) mutable {
        scheduler_->Post([this, key = std::move(key), done = std::move(done),
                          reply = std::move(reply)]() mutable {
          if (!reply.ok() || reply->type == redis::RedisReply::kError) {
            ++redis_errors_;
            return Poll(key, std::move(done));
          }
          if (reply->type == redis::RedisReply::kStatus) return Poll(key, std::move(done));  // OK
          ReadShared(key, std::move(done));  // nil: another replica holds the lease
        });
      });
}

void SharedStateFetcher::ReadShared(const JourneyKey& key, Done done) {
  redis_->Command(
      {"GET", absl::StrCat(options_.key_prefix, "poll:state:", KeyOf(key))},
      [this, key, done = std::move(done)](absl::StatusOr<redis::RedisReply> reply) mutable {
        scheduler_->Post([this, key = std::move(key), done = std::move(done),
                          reply = std::move(reply)]() mutable {
          if (!reply.ok() || reply->type == redis::RedisReply::kError) {
            ++redis_errors_;
            return Poll(key, std::move(done));
          }
          if (reply->type != redis::RedisReply::kString) {
            ++not_ready_;
            return done(absl::UnavailableError(
                "another gateway replica is polling this journey; its result is not stored yet"));
          }
          absl::StatusOr<FetchedState> state = Decode(reply->str);
          if (!state.ok()) {
            ++redis_errors_;
            return Poll(key, std::move(done));
          }
          ++shared_;
          done(*std::move(state));
        });
      });
}

void SharedStateFetcher::Poll(const JourneyKey& key, Done done) {
  ++polled_;
  inner_->Fetch(
      key, [this, key, done = std::move(done)](absl::StatusOr<FetchedState> fetched) mutable {
        const std::string suffix = KeyOf(key);
        const std::string lease = absl::StrCat(options_.key_prefix, "poll:lease:", suffix);
        if (fetched.ok()) {
          // Store first, then hold the lease for the interval: a replica that finds the lease finds
          // the result (both commands go out in order on one connection).
          redis_->Command({"SET", absl::StrCat(options_.key_prefix, "poll:state:", suffix),
                           Encode(*fetched), "PX", Millis(options_.result_ttl)},
                          [](absl::StatusOr<redis::RedisReply>) {});
          const absl::Duration hold = PollInterval(*fetched, options_.intervals) - options_.margin;
          redis_->Command({"SET", lease, options_.replica_id, "PX", Millis(hold)},
                          [](absl::StatusOr<redis::RedisReply>) {});
        } else {
          redis_->Command({"EVAL", kReleaseScript, "1", lease, options_.replica_id},
                          [](absl::StatusOr<redis::RedisReply>) {});
        }
        done(std::move(fetched));
      });
}

}  // namespace aarthik::events
