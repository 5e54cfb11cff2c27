#include "server/events/platform_state_fetcher.h"

#include "absl/strings/str_cat.h"
#include "server/transcode/request_mapper.h"

namespace aarthik::events {

struct PlatformStateFetcher::Poll {
  JourneyKey key;
  std::string correlation_id;
  absl::Time deadline;
  std::string bearer;
  bool refreshed = false;
  absl::AnyInvocable<void(absl::StatusOr<FetchedState>)> done;
};

PlatformStateFetcher::PlatformStateFetcher(platform::PlatformClient* platform,
                                           auth::SessionManager* sessions,
                                           std::shared_ptr<const core::Secret> api_key,
                                           const core::Clock& clock, core::IdSource& ids,
                                           absl::Duration timeout)
    : platform_(platform),
      sessions_(sessions),
      api_key_(std::move(api_key)),
      clock_(clock),
      ids_(ids),
      timeout_(timeout),
      codec_(
          std::make_unique<transcode::JsonCodec>(std::vector<const google::protobuf::Descriptor*>{
              aarthik::headless::v1::JourneyState::descriptor(),
              aarthik::hybrid::v1::HybridOffers::descriptor()})) {}

void PlatformStateFetcher::Fetch(const JourneyKey& key,
                                 absl::AnyInvocable<void(absl::StatusOr<FetchedState>)> done) {
  auto poll = std::make_shared<Poll>();
  poll->key = key;
  poll->correlation_id = ids_.NewUuid();
  poll->deadline = clock_.Now() + timeout_;
  poll->done = std::move(done);
  if (key.hybrid()) return Send(std::move(poll), *api_key_->Get());
  sessions_->AcquireSessionToken(key.borrower_external_id, poll->deadline, poll->correlation_id, "",
                                 [this, poll](absl::StatusOr<std::string> token) {
                                   if (!token.ok()) return poll->done(token.status());
                                   Send(poll, *token);
                                 });
}

void PlatformStateFetcher::Send(std::shared_ptr<Poll> poll, const std::string& bearer) {
  poll->bearer = bearer;
  platform::PlatformRequest request;
  request.method = "GET";
  request.bearer = bearer;
  request.correlation_id = poll->correlation_id;
  request.deadline = poll->deadline;
  if (poll->key.hybrid()) {
    request.path_and_query =
        absl::StrCat("/api/v1/hybrid/personal-loan/borrowers/",
                     transcode::UrlEscape(poll->key.borrower_provider_id), "/journey/offers");
    request.route =
        "GET /api/v1/hybrid/personal-loan/borrowers/{borrowerProviderID}/journey/offers";
    request.envelope = aarthik::gateway::v1::ENVELOPE_HYBRID;
  } else {
    request.path_and_query = absl::StrCat("/api/v1/headless/journeys/",
                                          transcode::UrlEscape(poll->key.journey_id), "/state");
    request.route = "GET /api/v1/headless/journeys/{journeyID}/state";
    request.envelope = aarthik::gateway::v1::ENVELOPE_HEADLESS;
  }
  platform_->Call(std::move(request), [this, poll](absl::StatusOr<transcode::PlatformReply> reply) {
    OnReply(poll, std::move(reply));
  });
}

void PlatformStateFetcher::OnReply(std::shared_ptr<Poll> poll,
                                   absl::StatusOr<transcode::PlatformReply> reply) {
  if (!reply.ok()) return poll->done(reply.status());
  transcode::ErrorContext context{
      poll->key.hybrid() ? "GET …/journey/offers" : "GET …/journeys/{journeyID}/state",
      poll->correlation_id};
  if (reply->error) {
    const bool session_rejected =
        reply->http_status == 401 && reply->error->code == "AUTH_INVALID_SESSION";
    if (session_rejected && !poll->key.hybrid() && !poll->refreshed) {
      poll->refreshed = true;
      sessions_->AcquireSessionToken(poll->key.borrower_external_id, poll->deadline,
                                     poll->correlation_id, poll->bearer,
                                     [this, poll](absl::StatusOr<std::string> token) {
                                       if (!token.ok()) return poll->done(token.status());
                                       Send(poll, *token);
                                     });
      return;
    }
    return poll->done(transcode::MapPlatformError(*reply, context));
  }
  FetchedState fetched;
  absl::Status decoded;
  if (poll->key.hybrid()) {
    aarthik::hybrid::v1::HybridOffers* offers = fetched.response.mutable_hybrid();
    decoded = codec_->Decode(reply->data, offers);
    fetched.poll_after = absl::Milliseconds(offers->poll_after_ms());
  } else {
    aarthik::headless::v1::JourneyState* state = fetched.response.mutable_headless();
    decoded = codec_->Decode(reply->data, state);
    fetched.poll_after = absl::Seconds(state->poll_after_seconds());
  }
  if (!decoded.ok())
    return poll->done(transcode::MapBadResponse(decoded.message(), &*reply, context));
  poll->done(std::move(fetched));
}

}  // namespace aarthik::events
