#include "server/events/event_relay.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/core/log.h"
#include "server/events/webhook_receiver.h"

namespace aarthik::events {

using aarthik::events::v1::JourneyEvent;
using redis::RedisReply;

EventRelay::EventRelay(upstream::EventLoop* loop, redis::RedisClient* publisher,
                       redis::RedisClient* reader, EventLog* log, std::string stream_key,
                       AcceptedCallback on_accepted, Options options)
    : loop_(loop),
      publisher_(publisher),
      reader_(reader),
      log_(log),
      stream_key_(std::move(stream_key)),
      on_accepted_(std::move(on_accepted)),
      options_(options),
      codec_(SnapshotCodec()) {}

void EventRelay::Start() {
  loop_->Post([this] { Read(); });
}

void EventRelay::Publish(const std::string& event_id, absl::string_view verified_body,
                         absl::AnyInvocable<void(absl::Status)> done) {
  publisher_->Command(
      {"XADD", stream_key_, "MAXLEN", "~", absl::StrCat(options_.max_len), "*", "id", event_id,
       "body", std::string(verified_body)},
      [this, done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
        absl::Status shared = absl::OkStatus();
        if (!reply.ok()) {
          shared = reply.status();
        } else if (reply->type != RedisReply::kString) {
          shared = absl::UnavailableError(absl::StrCat("redis refused XADD: ", reply->str));
        }
        if (shared.ok()) {
          Count(published_, "published");
        } else {
          Count(publish_failures_, "publish_failed");
          core::Log(core::Severity::kWarning, "web-hook not shared with the other replicas",
                    {{"reason", shared.ToString()}});
        }
        if (done) done(std::move(shared));
      });
}

void EventRelay::Count(std::atomic<int64_t>& counter, absl::string_view result) {
  ++counter;
  if (options_.metrics != nullptr) options_.metrics->WebhookRelayed(result);
}

EventRelay::Stats EventRelay::stats() const {
  return {published_.load(), publish_failures_.load(), relayed_.load(), malformed_.load()};
}

void EventRelay::Read() {
  reader_->Command(
      {"XREAD", "COUNT", absl::StrCat(options_.batch), "BLOCK",
       absl::StrCat(absl::ToInt64Milliseconds(options_.block)), "STREAMS", stream_key_, last_id_},
      [this](absl::StatusOr<RedisReply> reply) { OnRead(std::move(reply)); });
}

void EventRelay::OnRead(absl::StatusOr<RedisReply> reply) {
  if (!reply.ok() || reply->type == RedisReply::kError) {
    // The reader client logs connection trouble itself; read again once it may have recovered.
    loop_->RunAfter(options_.retry_after_error, [this] { Read(); });
    return;
  }
  // [[stream, [[id, [field, value, ...]], ...]]]; nil when BLOCK passed with nothing new.
  if (reply->type == RedisReply::kArray) {
    for (const RedisReply& stream : reply->elements) {
      if (stream.elements.size() != 2) continue;
      for (const RedisReply& entry : stream.elements[1].elements) AcceptEntry(entry);
    }
  }
  Read();
}

void EventRelay::AcceptEntry(const RedisReply& entry) {
  if (entry.elements.size() != 2 || entry.elements[0].type != RedisReply::kString) return;
  last_id_ = entry.elements[0].str;
  std::string event_id, body;
  const std::vector<RedisReply>& fields = entry.elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "id") event_id = fields[i + 1].str;
    if (fields[i].str == "body") body = fields[i + 1].str;
  }
  absl::StatusOr<IncomingEvent> incoming = ParseSnapshot(codec_, event_id, body);
  if (!incoming.ok()) {
    // Only a gateway writes the stream; an entry that does not parse came from another version or
    // another hand. Its content is borrower data: not logged.
    Count(malformed_, "malformed");
    core::Log(core::Severity::kWarning, "shared web-hook entry does not parse; skipped",
              {{"stream_id", last_id_}});
    return;
  }
  JourneyEvent copy_for_callback;
  if (on_accepted_) copy_for_callback = incoming->event;
  if (log_->Accept(*std::move(incoming)) != AcceptOutcome::kAccepted) return;
  Count(relayed_, "relayed");
  if (on_accepted_) on_accepted_(copy_for_callback);
}

}  // namespace aarthik::events
