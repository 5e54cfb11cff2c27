// Route table: the 40 platform endpoints of contract §3.0 plus the /_sandbox control plane.
//
// Matching splits the path on '/' and compares segments against pre-split templates bucketed by
// (method, segment count): no regex and no allocation besides the captured parameters.
//
// Example:
//   const Router& router = Router::Get();
//   RouteMatch match;
//   if (router.Match("GET", "/api/v1/headless/journeys/b7bb.../state", &match)) {
//     match.route->id == RouteId::kJourneyState; match.params.journey_id == "b7bb...";
//   }
//
// Thread-safety: the table is immutable after construction; Match is thread-safe.
#ifndef AARTHIK_SANDBOX_ROUTER_H_
#define AARTHIK_SANDBOX_ROUTER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace aarthik::sandbox {

enum class Surface { kHeadless, kHybrid, kHosted, kSubscription, kControl };

enum class RouteId {
  kSessionsCreate,
  kSessionsRefresh,
  kJourneysList,
  kJourneysCreate,
  kJourneyGet,
  kJourneyState,
  kJourneyResume,
  kProfileGet,
  kProfilePut,
  kProfileSubmit,
  kOffersList,
  kOfferGet,
  kOfferProceed,
  kOfferReject,
  kOfferLoanAmount,
  kStepsGet,
  kStepKyc,
  kStepKycStatus,
  kStepBankMandateGet,
  kStepBankMandatePost,
  kStepEMandate,
  kStepLoanAgreement,
  kAaList,
  kAaCreate,
  kAaGet,
  kAaRedirect,
  kAaComplete,
  kAaReconcile,
  kPdStatus,
  kPdForeclosure,
  kPdPrePartPayment,
  kPdMissedEmiPayment,
  kHybridStart,
  kHybridOffers,
  kHybridHandoff,
  kHostedSessions,
  kHostedFeatures,
  kWebhookConfiguration,
  kWebhookSubscribe,
  kWebhookUnsubscribe,
  kControlReset,
  kControlTimeAdvance,
  kControlFaultsPut,
  kControlFaultsDelete,
  kControlFaultsGet,
  kControlCounters,
  kControlWebhooksPut,
  kControlTimeGet,
  kControlRequestsGet,
  kControlRequestsDelete,
  kCount
};

struct Route {
  RouteId id;
  std::string method;
  std::string path_template;  // contract spelling, e.g. /api/v1/headless/journeys/{journeyID}
  std::string label;          // "METHOD TEMPLATE", used by counters
  Surface surface;
  bool mutating;  // POST/PUT/PATCH
  std::vector<std::string> segments;
};

struct PathParams {
  std::string journey_id;
  std::string offer_id;
  std::string aa_session_id;
  std::string borrower_provider_id;
  std::string tenant_id;
  std::string application_id;
};

struct RouteMatch {
  const Route* route = nullptr;
  PathParams params;
  bool path_known = false;  // the path exists for some other method (→ 405)
};

class Router {
 public:
  static const Router& Get();

  // `path` must not contain the query string. Returns false when no route matches.
  bool Match(absl::string_view method, absl::string_view path, RouteMatch* match) const;

  const std::vector<Route>& routes() const { return routes_; }
  const Route& route(RouteId id) const { return routes_[static_cast<int>(id)]; }

 private:
  Router();
  std::vector<Route> routes_;  // indexed by RouteId
};

// Percent-decodes a path segment ("%20" → " "); invalid escapes are kept verbatim.
std::string PercentDecode(absl::string_view text);

// True when `segment` is "." or ".." in any spelling ("%2e", ".%2E", "%2e%2e", ...).
bool IsDotSegment(absl::string_view segment);

// Resolves dot segments the way HTTP front ends do before routing (RFC 3986 §5.2.4, with %2e read
// as '.'): "/a/b/../c" → "/a/c", "/a/b/.." → "/a/". Returns false, leaving `resolved` untouched,
// when `path` has none (the usual case costs one scan and no allocation).
bool ResolveDotSegments(absl::string_view path, std::string* resolved);

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_ROUTER_H_
