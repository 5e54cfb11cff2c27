// PlatformStateFetcher: the StateFetcher that reads the platform, on the upstream event loop.
//   headless: SessionManager::AcquireSessionToken(borrower) → GET
//   /api/v1/headless/journeys/{id}/state
//             (headless envelope; one refresh and resend on 401 AUTH_INVALID_SESSION), hint
//             pollAfterSeconds;
//   Hybrid:   GET /api/v1/hybrid/personal-loan/borrowers/{id}/journey/offers with the API key
//   (Hybrid
//             envelope), hint poll_after_ms.
// Errors come back as the gRPC-ready statuses of transcode::MapPlatformError / MapTransportError.
//
//   PlatformStateFetcher fetcher(&platform, &sessions, api_key /* shared_ptr<core::Secret> */,
//                                core::Clock::Real(), core::IdSource::Random());
//   StatePoller poller(&scheduler, &fetcher, {});
//
// Thread-safety: Fetch runs on the event loop thread (as PlatformClient and SessionManager
// require).
#ifndef AARTHIK_SERVER_EVENTS_PLATFORM_STATE_FETCHER_H_
#define AARTHIK_SERVER_EVENTS_PLATFORM_STATE_FETCHER_H_

#include <memory>
#include <string>

#include "server/auth/session_manager.h"
#include "server/core/clock.h"
#include "server/core/id_source.h"
#include "server/core/secret.h"
#include "server/events/state_poller.h"
#include "server/platform/platform_client.h"
#include "server/transcode/json_codec.h"

namespace aarthik::events {

class PlatformStateFetcher : public StateFetcher {
 public:
  PlatformStateFetcher(platform::PlatformClient* platform, auth::SessionManager* sessions,
                       std::shared_ptr<const core::Secret> api_key, const core::Clock& clock,
                       core::IdSource& ids, absl::Duration timeout = absl::Seconds(10));

  void Fetch(const JourneyKey& key,
             absl::AnyInvocable<void(absl::StatusOr<FetchedState>)> done) override;

 private:
  struct Poll;
  void Send(std::shared_ptr<Poll> poll, const std::string& bearer);
  void OnReply(std::shared_ptr<Poll> poll, absl::StatusOr<transcode::PlatformReply> reply);

  platform::PlatformClient* platform_;
  auth::SessionManager* sessions_;
  const std::shared_ptr<const core::Secret> api_key_;  // read per poll: it may be rotated
  const core::Clock& clock_;
  core::IdSource& ids_;
  const absl::Duration timeout_;
  std::unique_ptr<transcode::JsonCodec> codec_;
};

}  // namespace aarthik::events

#endif  // AARTHIK_SERVER_EVENTS_PLATFORM_STATE_FETCHER_H_
