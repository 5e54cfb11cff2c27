// The simulated platform: request dispatch, credentials, idempotency, envelopes, and the handlers
// of every endpoint in contract §3.0 plus the /_sandbox control plane.
//
// The HTTP server calls Plan() once per request (raw target recorded, dot segments resolved as a
// front end would, route match + fault draw), executes pre-handler
// faults itself (latency, reset), then calls Handle() for the response. All platform data lives
// behind one mutex: the handlers are short and allocation-light, so one lock comfortably serves the
// throughput target on two cores and keeps every write atomic (idempotency, offer lock).
//
// Example:
//   Platform platform(config);
//   platform.Start();                       // web-hook worker + ticker
//   RequestPlan plan = platform.Plan(request);
//   HttpResponse response = platform.Handle(request, plan);
//   platform.Stop();
//
// Thread-safety: Plan() and Handle() are thread-safe and called concurrently by I/O threads.
#ifndef AARTHIK_SANDBOX_PLATFORM_H_
#define AARTHIK_SANDBOX_PLATFORM_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "boost/beast/http.hpp"
#include "nlohmann/json.hpp"
#include "sandbox/api_error.h"
#include "sandbox/config.h"
#include "sandbox/counters.h"
#include "sandbox/faults.h"
#include "sandbox/idempotency_store.h"
#include "sandbox/ids.h"
#include "sandbox/journey_machine.h"
#include "sandbox/journey_model.h"
#include "sandbox/request_log.h"
#include "sandbox/router.h"
#include "sandbox/sim_clock.h"
#include "sandbox/token_store.h"
#include "sandbox/webhook_dispatcher.h"

namespace aarthik::sandbox {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

struct RequestPlan {
  RouteMatch match;
  bool matched = false;
  FaultPlan faults;
};

class Platform {
 public:
  explicit Platform(Config config);
  ~Platform();

  void Start();
  void Stop();

  RequestPlan Plan(const HttpRequest& request);
  HttpResponse Handle(const HttpRequest& request, const RequestPlan& plan);
  // Counts a request that the server answered by resetting the connection.
  void CountReset(const RequestPlan& plan);
  // A TLS handshake on the listener (with --tls-cert) that succeeded or failed.
  void CountTlsHandshake(bool succeeded) { counters_.CountTlsHandshake(succeeded); }

  // Applies time-driven transitions to every journey (run by the web-hook worker).
  void Tick();

  const Config& config() const { return config_; }
  SimClock& clock() { return clock_; }

 private:
  // One request inside the handlers.
  struct Call {
    const HttpRequest& http;
    const RouteMatch& match;
    absl::Time now;
    nlohmann::json body = nlohmann::json::object();
    std::string borrower_id;  // after session-token auth
  };
  // A handler's answer: `data` inside the surface's envelope, or `error`.
  struct Reply {
    int status = 200;
    nlohmann::json data;
    std::optional<ApiError> error;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  static Reply Error(ApiError error) {
    Reply r;
    r.status = error.http_status;
    r.error = std::move(error);
    return r;
  }
  static Reply Ok(nlohmann::json data, int status = 200) {
    Reply r;
    r.status = status;
    r.data = std::move(data);
    return r;
  }

  HttpResponse HandleControl(const HttpRequest& request, const RouteMatch& match);
  HttpResponse HandlePlatform(const HttpRequest& request, const RequestPlan& plan);
  Reply Dispatch(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<ApiError> AuthenticateApiKey(const HttpRequest& request) const;
  std::optional<ApiError> AuthenticateSession(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Envelope + serialisation for the route's surface.
  std::string RenderBody(Surface surface, const Reply& reply, const std::string& correlation_id,
                         bool correlation_present, absl::Time now);

  // Lookup helpers (404 / 403 / validation of path ids).
  Journey* FindJourney(Call& call, ApiError* error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Offer* FindOffer(Call& call, Journey& journey, ApiError* error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ChangeObserver Observer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnJourneyChanged(const Journey& journey) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AdvanceJourney(Journey& journey, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Borrower& ProviderBorrower(const std::string& provider_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Journey& NewJourney(Surface surface, const std::string& borrower_id, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Headless: sessions, journeys, profile (headless_handlers.cc).
  Reply SessionsCreate(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply SessionsRefresh(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply JourneysList(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply JourneysCreate(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply JourneyRead(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply JourneyResume(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply ProfileGet(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply ProfilePut(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply ProfileSubmit(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Offers and steps (offer_handlers.cc).
  Reply OffersList(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply OfferGet(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply OfferProceed(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply OfferReject(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply OfferLoanAmount(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply Steps(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply BankMandateSubmit(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // AA and post-disbursal (aa_handlers.cc).
  Reply AaList(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply AaCreate(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply AaSessionAction(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply PostDisbursal(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hybrid, Hosted, web-hook subscription (partner_handlers.cc).
  Reply HybridStart(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply HybridOffers(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply HybridHandoff(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply HostedSessions(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply HostedFeatures(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Reply WebhookSubscription(Call& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void ResetState() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Config config_;
  const Timings timings_;
  SimClock clock_;
  IdGenerator ids_;          // platform identifiers (deterministic per seed)
  IdGenerator request_ids_;  // requestID values: kept apart so they don't shift platform ids
  Counters counters_;
  FaultInjector faults_;
  RequestLog request_log_;  // raw targets of platform requests (control plane only)
  WebhookDispatcher webhooks_;

  absl::Mutex mu_;
  TokenStore tokens_ ABSL_GUARDED_BY(mu_);
  IdempotencyStore idempotency_ ABSL_GUARDED_BY(mu_);
  absl::node_hash_map<std::string, Borrower> borrowers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> borrower_by_external_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> borrower_by_provider_id_ ABSL_GUARDED_BY(mu_);
  absl::node_hash_map<std::string, Journey> journeys_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> lifecycle_events_ ABSL_GUARDED_BY(mu_);
  bool webhook_enabled_ ABSL_GUARDED_BY(mu_) = false;
  std::string webhook_url_ ABSL_GUARDED_BY(mu_);
  int64_t last_sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_PLATFORM_H_
