#include "sandbox/router.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace aarthik::sandbox {
namespace {

constexpr absl::string_view kJourney = "/api/v1/headless/journeys/{journeyID}";
constexpr absl::string_view kOffer = "/api/v1/headless/journeys/{journeyID}/offers/{offerID}";
constexpr absl::string_view kAa = "/api/v1/headless/journeys/{journeyID}/aa/sessions";
constexpr absl::string_view kPd = "/api/v1/headless/journeys/{journeyID}/post-disbursal";
constexpr absl::string_view kHybrid =
    "/api/v1/hybrid/personal-loan/borrowers/{borrowerProviderID}/journey";
constexpr absl::string_view kHooks =
    "/api/tenants/{tenantID}/applications/{applicationID}/webhooks";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

namespace {

// 1 for ".", 2 for "..", in any spelling; 0 for anything else.
int DotCount(absl::string_view segment) {
  if (segment.empty() || segment.size() > 6) return 0;
  int dots = 0;
  for (size_t i = 0; i < segment.size(); ++dots) {
    if (segment[i] == '.') {
      ++i;
    } else if (segment[i] == '%' && i + 2 < segment.size() && segment[i + 1] == '2' &&
               (segment[i + 2] == 'e' || segment[i + 2] == 'E')) {
      i += 3;
    } else {
      return 0;
    }
  }
  return dots <= 2 ? dots : 0;
}

}  // namespace

bool IsDotSegment(absl::string_view segment) { return DotCount(segment) > 0; }

bool ResolveDotSegments(absl::string_view path, std::string* resolved) {
  // Every dot segment starts with "/." or "/%2" after its slash.
  if (path.find("/.") == absl::string_view::npos && path.find("/%2") == absl::string_view::npos) {
    return false;
  }
  bool any = false;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (IsDotSegment(segment)) {
      any = true;
      break;
    }
  }
  if (!any) return false;
  std::vector<absl::string_view> kept;
  std::vector<absl::string_view> segments = absl::StrSplit(path.substr(path.empty() ? 0 : 1), '/');
  bool trailing_slash = false;
  for (size_t i = 0; i < segments.size(); ++i) {
    absl::string_view segment = segments[i];
    const bool last = i + 1 == segments.size();
    if (IsDotSegment(segment)) {
      if (DotCount(segment) == 2 && !kept.empty()) kept.pop_back();
      trailing_slash = last;
      continue;
    }
    kept.push_back(segment);
  }
  *resolved =
      absl::StrCat("/", absl::StrJoin(kept, "/"), trailing_slash && !kept.empty() ? "/" : "");
  return true;
}

Router::Router() {
  struct Spec {
    RouteId id;
    const char* method;
    std::string path;
    Surface surface;
  };
  using S = Surface;
  const std::vector<Spec> specs = {
      {RouteId::kSessionsCreate, "POST", "/api/v1/headless/sessions", S::kHeadless},
      {RouteId::kSessionsRefresh, "POST", "/api/v1/headless/sessions/refresh", S::kHeadless},
      {RouteId::kJourneysList, "GET", "/api/v1/headless/journeys", S::kHeadless},
      {RouteId::kJourneysCreate, "POST", "/api/v1/headless/journeys", S::kHeadless},
      {RouteId::kJourneyGet, "GET", std::string(kJourney), S::kHeadless},
      {RouteId::kJourneyState, "GET", absl::StrCat(kJourney, "/state"), S::kHeadless},
      {RouteId::kJourneyResume, "PATCH", absl::StrCat(kJourney, "/resume"), S::kHeadless},
      {RouteId::kProfileGet, "GET", absl::StrCat(kJourney, "/profile"), S::kHeadless},
      {RouteId::kProfilePut, "PUT", absl::StrCat(kJourney, "/profile"), S::kHeadless},
      {RouteId::kProfileSubmit, "POST", absl::StrCat(kJourney, "/profile/submit"), S::kHeadless},
      {RouteId::kOffersList, "GET", absl::StrCat(kJourney, "/offers"), S::kHeadless},
      {RouteId::kOfferGet, "GET", std::string(kOffer), S::kHeadless},
      {RouteId::kOfferProceed, "POST", absl::StrCat(kOffer, "/proceed"), S::kHeadless},
      {RouteId::kOfferReject, "POST", absl::StrCat(kOffer, "/reject"), S::kHeadless},
      {RouteId::kOfferLoanAmount, "POST", absl::StrCat(kOffer, "/loan-amount"), S::kHeadless},
      {RouteId::kStepsGet, "GET", absl::StrCat(kOffer, "/steps"), S::kHeadless},
      {RouteId::kStepKyc, "GET", absl::StrCat(kOffer, "/steps/kyc"), S::kHeadless},
      {RouteId::kStepKycStatus, "GET", absl::StrCat(kOffer, "/steps/kyc/status"), S::kHeadless},
      {RouteId::kStepBankMandateGet, "GET", absl::StrCat(kOffer, "/steps/bank-mandate"),
       S::kHeadless},
      {RouteId::kStepBankMandatePost, "POST", absl::StrCat(kOffer, "/steps/bank-mandate"),
       S::kHeadless},
      {RouteId::kStepEMandate, "GET", absl::StrCat(kOffer, "/steps/e-mandate"), S::kHeadless},
      {RouteId::kStepLoanAgreement, "GET", absl::StrCat(kOffer, "/steps/loan-agreement"),
       S::kHeadless},
      {RouteId::kAaList, "GET", std::string(kAa), S::kHeadless},
      {RouteId::kAaCreate, "POST", std::string(kAa), S::kHeadless},
      {RouteId::kAaGet, "GET", absl::StrCat(kAa, "/{aaSessionID}"), S::kHeadless},
      {RouteId::kAaRedirect, "POST", absl::StrCat(kAa, "/{aaSessionID}/redirect"), S::kHeadless},
      {RouteId::kAaComplete, "POST", absl::StrCat(kAa, "/{aaSessionID}/complete"), S::kHeadless},
      {RouteId::kAaReconcile, "POST", absl::StrCat(kAa, "/{aaSessionID}/reconcile"), S::kHeadless},
      {RouteId::kPdStatus, "POST", absl::StrCat(kPd, "/status"), S::kHeadless},
      {RouteId::kPdForeclosure, "POST", absl::StrCat(kPd, "/foreclosure"), S::kHeadless},
      {RouteId::kPdPrePartPayment, "POST", absl::StrCat(kPd, "/pre-part-payment"), S::kHeadless},
      {RouteId::kPdMissedEmiPayment, "POST", absl::StrCat(kPd, "/missed-emi-payment"),
       S::kHeadless},
      {RouteId::kHybridStart, "POST", std::string(kHybrid), S::kHybrid},
      {RouteId::kHybridOffers, "GET", absl::StrCat(kHybrid, "/offers"), S::kHybrid},
      {RouteId::kHybridHandoff, "GET", absl::StrCat(kHybrid, "/offers/{offerID}"), S::kHybrid},
      {RouteId::kHostedSessions, "POST", "/api/lab/sessions", S::kHosted},
      {RouteId::kHostedFeatures, "GET", "/api/lab/features", S::kHosted},
      {RouteId::kWebhookConfiguration, "GET", absl::StrCat(kHooks, "/configuration"),
       S::kSubscription},
      {RouteId::kWebhookSubscribe, "POST", absl::StrCat(kHooks, "/subscribe"), S::kSubscription},
      {RouteId::kWebhookUnsubscribe, "POST", absl::StrCat(kHooks, "/unsubscribe"),
       S::kSubscription},
      {RouteId::kControlReset, "POST", "/_sandbox/reset", S::kControl},
      {RouteId::kControlTimeAdvance, "POST", "/_sandbox/time/advance", S::kControl},
      {RouteId::kControlFaultsPut, "PUT", "/_sandbox/faults", S::kControl},
      {RouteId::kControlFaultsDelete, "DELETE", "/_sandbox/faults", S::kControl},
      {RouteId::kControlFaultsGet, "GET", "/_sandbox/faults", S::kControl},
      {RouteId::kControlCounters, "GET", "/_sandbox/counters", S::kControl},
      {RouteId::kControlWebhooksPut, "PUT", "/_sandbox/webhooks", S::kControl},
      {RouteId::kControlTimeGet, "GET", "/_sandbox/time", S::kControl},
      {RouteId::kControlRequestsGet, "GET", "/_sandbox/requests", S::kControl},
      {RouteId::kControlRequestsDelete, "DELETE", "/_sandbox/requests", S::kControl},
  };
  routes_.resize(static_cast<size_t>(RouteId::kCount));
  for (const Spec& spec : specs) {
    Route& r = routes_[static_cast<int>(spec.id)];
    r.id = spec.id;
    r.method = spec.method;
    r.path_template = spec.path;
    r.label = absl::StrCat(spec.method, " ", spec.path);
    r.surface = spec.surface;
    r.mutating = r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
    r.segments = absl::StrSplit(absl::string_view(spec.path).substr(1), '/');
  }
}

const Router& Router::Get() {
  static const Router* router = new Router();
  return *router;
}

bool Router::Match(absl::string_view method, absl::string_view path, RouteMatch* match) const {
  if (path.empty() || path[0] != '/') return false;
  absl::string_view segments[12];
  size_t count = 0;
  absl::string_view rest = path.substr(1);
  while (true) {
    if (count == 12) return false;
    size_t slash = rest.find('/');
    segments[count++] = rest.substr(0, slash);
    if (slash == absl::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  match->path_known = false;
  for (const Route& route : routes_) {
    if (route.segments.size() != count) continue;
    bool ok = true;
    for (size_t i = 0; i < count && ok; ++i) {
      const std::string& t = route.segments[i];
      if (t.front() == '{') {
        ok = !segments[i].empty();
      } else {
        ok = t == segments[i];
      }
    }
    if (!ok) continue;
    if (route.method != method) {
      match->path_known = true;
      continue;
    }
    match->route = &route;
    for (size_t i = 0; i < count; ++i) {
      const std::string& t = route.segments[i];
      if (t.front() != '{') continue;
      std::string value = segments[i].find('%') == absl::string_view::npos
                              ? std::string(segments[i])
                              : PercentDecode(segments[i]);
      if (t == "{journeyID}")
        match->params.journey_id = std::move(value);
      else if (t == "{offerID}")
        match->params.offer_id = std::move(value);
      else if (t == "{aaSessionID}")
        match->params.aa_session_id = std::move(value);
      else if (t == "{borrowerProviderID}")
        match->params.borrower_provider_id = std::move(value);
      else if (t == "{tenantID}")
        match->params.tenant_id = std::move(value);
      else if (t == "{applicationID}")
        match->params.application_id = std::move(value);
    }
    return true;
  }
  return false;
}

}  // namespace aarthik::sandbox
