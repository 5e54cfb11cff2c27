// Headless Account Aggregator and post-disbursal handlers (contract §3.6–3.7).
//
// AA model: create → REDIRECT_READY (redirectURL valid for --aa-url-ttl, then EXPIRED) →
// complete → USER_RETURNED → APPROVAL_DISPATCHED → reconcile → RECONCILING → CONFIRMED. /redirect
// re-issues a URL (after expiry too). complete with {"status":"FAILED"} simulates a refused
// consent.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "sandbox/platform.h"
#include "sandbox/validation.h"
#include "sandbox/views.h"

namespace aarthik::sandbox {
namespace {

void IssueAaUrl(AaSession& aa, absl::Time now, absl::Duration ttl, IdGenerator& ids) {
  aa.txnid = absl::StrCat("sbx_txn_", ids.Ulid(now));
  aa.reqdate = now;
  aa.expires_at = now + ttl;
  aa.redirect_url =
      absl::StrCat("https://aa.sandbox.aarthiklabs.test/consent/", aa.id, "?txnid=", aa.txnid);
  aa.state = "REDIRECT_READY";
  aa.updated_at = now;
}

}  // namespace

Platform::Reply Platform::AaList(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  nlohmann::json items = nlohmann::json::array();
  for (const AaSession& aa : journey->aa_sessions) items.push_back(AaSessionJson(*journey, aa));
  return Ok({{"items", std::move(items)}});
}

Platform::Reply Platform::AaCreate(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  static const std::vector<std::string> kAllowed = {"OFFERS_AVAILABLE", "AA_REQUIRED"};
  if (std::find(kAllowed.begin(), kAllowed.end(), journey->status) == kAllowed.end()) {
    return Error(StatePreconditionFailed("AA consent is possible once offers are available."));
  }
  if (journey->aa_confirmed)
    return Error(StatePreconditionFailed("AA consent is already confirmed."));
  AaSession aa;
  aa.id = ids_.Uuid();
  aa.created_at = call.now;
  IssueAaUrl(aa, call.now, timings_.aa_url_ttl, ids_);
  journey->aa_sessions.push_back(aa);
  return Ok(AaSessionJson(*journey, journey->aa_sessions.back()));
}

Platform::Reply Platform::AaSessionAction(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  const std::string& id = call.match.params.aa_session_id;
  if (!IsUuid(id)) return Error(ValidationFailed("aaSessionID", "aaSessionID must be a UUID."));
  AaSession* aa = nullptr;
  for (AaSession& candidate : journey->aa_sessions) {
    if (candidate.id == absl::AsciiStrToLower(id)) aa = &candidate;
  }
  if (aa == nullptr) return Error(NotFound("AA session not found."));
  auto conflict = [&](absl::string_view what) {
    ApiError e =
        StatePreconditionFailed(absl::StrCat(what, " is not possible in state ", aa->state, "."));
    e.details["state"] = aa->state;
    return Error(e);
  };
  switch (call.match.route->id) {
    case RouteId::kAaRedirect:
      if (aa->state != "REQUIRED" && aa->state != "REDIRECT_READY" && aa->state != "IN_PROGRESS" &&
          aa->state != "EXPIRED" && aa->state != "FAILED") {
        return conflict("A new redirect");
      }
      IssueAaUrl(*aa, call.now, timings_.aa_url_ttl, ids_);
      break;
    case RouteId::kAaComplete: {
      if (aa->state != "REDIRECT_READY" && aa->state != "IN_PROGRESS")
        return conflict("Completion");
      auto status = call.body.find("status");
      const bool failed = status != call.body.end() && status->is_string() && *status == "FAILED";
      // USER_RETURNED is passed through at once: the sandbox dispatches the approval immediately.
      aa->state = failed ? "FAILED" : "APPROVAL_DISPATCHED";
      aa->updated_at = call.now;
      break;
    }
    case RouteId::kAaReconcile:
      if (aa->state == "CONFIRMED") break;
      if (aa->state != "USER_RETURNED" && aa->state != "APPROVAL_DISPATCHED") {
        return conflict("Reconciliation");
      }
      aa->state = "CONFIRMED";  // RECONCILING completes within the call
      aa->updated_at = call.now;
      journey->aa_confirmed = true;
      RecomputeSteps(*journey, call.now, Observer());
      break;
    default:
      break;
  }
  return Ok(AaSessionJson(*journey, *aa));
}

Platform::Reply Platform::PostDisbursal(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  const RouteId route = call.match.route->id;
  if (route == RouteId::kPdPrePartPayment) {
    auto amount = call.body.find("amount");
    if (amount == call.body.end() || !amount->is_string() ||
        !IsPositiveDigitString(amount->get<std::string>())) {
      return Error(ValidationFailed("amount", "amount must be a positive digit string."));
    }
  }
  if (journey->status != "DISBURSED") {
    return Error(StatePreconditionFailed("Post-disbursal operations need a DISBURSED journey."));
  }
  const char* purpose = route == RouteId::kPdStatus           ? "status"
                        : route == RouteId::kPdForeclosure    ? "foreclosure"
                        : route == RouteId::kPdPrePartPayment ? "prepart"
                                                              : "missed_emi";
  const char* kind = route == RouteId::kPdStatus           ? "POST_DISBURSAL_STATUS"
                     : route == RouteId::kPdForeclosure    ? "FORECLOSURE"
                     : route == RouteId::kPdPrePartPayment ? "PRE_PART_PAYMENT"
                                                           : "MISSED_EMI_PAYMENT";
  Operation op{absl::StrCat("op_pd_", purpose, "_", ids_.Ulid(call.now)), kind,
               call.now + absl::Seconds(5)};
  journey->operations.push_back(op);
  nlohmann::json data = {{"operationID", op.id}, {"status", "ACCEPTED"}, {"pollAfterSeconds", 5}};
  if (route != RouteId::kPdStatus) {
    data["redirectURL"] =
        absl::StrCat("https://pay.sandbox.aarthiklabs.test/", purpose, "/", op.id);
  }
  return Ok(std::move(data), 202);
}

}  // namespace aarthik::sandbox
