// Headless offers and steps handlers (contract §3.4–3.5).
//
// Step rules (docs/sandbox.md): after proceed the first unfinished step becomes READY. A REDIRECT
// step (KYC, e-mandate, loan agreement) issues its redirectURL when its own endpoint is read while
// READY (status → IN_PROGRESS), and completes the next time it is read again (own endpoint,
// /steps/kyc/status or the aggregate). The bank mandate is a SUBMIT_FORM step completed by POST.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "sandbox/platform.h"
#include "sandbox/validation.h"
#include "sandbox/views.h"

namespace aarthik::sandbox {
namespace {

bool OffersStageReached(const Journey& j) {
  return j.status != "STARTED" && j.status != "PROFILE_REQUIRED" &&
         j.status != "PROFILE_SUBMITTED" && j.status != "OFFERS_PENDING";
}

int StepForRoute(RouteId id) {
  switch (id) {
    case RouteId::kStepKyc:
    case RouteId::kStepKycStatus:
      return kKyc;
    case RouteId::kStepBankMandateGet:
      return kBankMandate;
    case RouteId::kStepEMandate:
      return kEMandate;
    case RouteId::kStepLoanAgreement:
      return kLoanAgreement;
    default:
      return -1;
  }
}

const char* RedirectPath(int step) {
  return step == kKyc ? "kyc" : step == kEMandate ? "e-mandate" : "loan-agreement";
}

}  // namespace

Platform::Reply Platform::OffersList(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  nlohmann::json items = nlohmann::json::array();
  for (const Offer& offer : journey->offers)
    items.push_back(OfferCardJson(*journey, offer, call.now));
  return Ok({{"items", std::move(items)}});
}

Platform::Reply Platform::OfferGet(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  Offer* offer = FindOffer(call, *journey, &error);
  if (offer == nullptr) return Error(error);
  return Ok(OfferDetailJson(*journey, *offer, call.now));
}

Platform::Reply Platform::OfferProceed(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  Offer* offer = FindOffer(call, *journey, &error);
  if (offer == nullptr) return Error(error);
  if (!journey->locked_offer_id.empty() && journey->locked_offer_id != offer->id) {
    return Error(OfferLockConflict());
  }
  if (journey->locked_offer_id.empty()) {
    if (!OffersStageReached(*journey) || journey->status == "REJECTED") {
      return Error(StatePreconditionFailed("Offers are not available for this journey yet."));
    }
    if (!OfferSelectable(*journey, *offer, call.now)) {
      return Error(StatePreconditionFailed("This offer cannot be selected."));
    }
    journey->locked_offer_id = offer->id;
    journey->locked_at = call.now;
    journey->steps = {};
    RecomputeSteps(*journey, call.now, Observer());
  }
  return Ok({{"journeyID", journey->id},
             {"offerID", offer->id},
             {"status", "PROCEEDED"},
             {"proceeded", true},
             {"proceedBoundaryState", "LOCKED"},
             {"offerSelectionLock",
              {{"lockedAt", IsoTimeMillis(journey->locked_at)},
               {"lockSource", "OFFER_DETAILS_PROCEED"}}}});
}

Platform::Reply Platform::OfferReject(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  Offer* offer = FindOffer(call, *journey, &error);
  if (offer == nullptr) return Error(error);
  auto stage = call.body.find("rejectedStage");
  static const std::vector<std::string> kStages = {"KYC", "BANK_MANDATE", "E_MANDATE",
                                                   "LOAN_AGREEMENT", "OFFER"};
  if (stage == call.body.end() || !stage->is_string() ||
      std::find(kStages.begin(), kStages.end(), stage->get<std::string>()) == kStages.end()) {
    return Error(ValidationFailed(
        "rejectedStage",
        "rejectedStage must be KYC, BANK_MANDATE, E_MANDATE, LOAN_AGREEMENT or OFFER."));
  }
  if (auto invalid = OptionalString(call.body, "rejectionReason", "rejectionReason", 500)) {
    return Error(*invalid);
  }
  if (!OffersStageReached(*journey) || journey->status == "DISBURSED" ||
      journey->status == "LENDER_PROCESSING" || offer->rejected ||
      OfferCardStatus(*offer, call.now) != "OFFER_RECEIVED") {
    return Error(StatePreconditionFailed("This offer cannot be rejected now."));
  }
  offer->rejected = true;
  offer->rejected_stage = stage->get<std::string>();
  offer->rejection_reason = call.body.value("rejectionReason", "Rejected by borrower");
  if (journey->locked_offer_id == offer->id) {
    // Rejecting the locked offer releases the lock; the borrower may pick another one.
    journey->locked_offer_id.clear();
    journey->steps = {};
    bool other = false;
    for (const Offer& o : journey->offers) other = other || OfferSelectable(*journey, o, call.now);
    SetStatus(*journey, other ? "OFFERS_AVAILABLE" : "REJECTED", call.now, Observer());
  }
  return Ok({{"journeyID", journey->id},
             {"offerID", offer->id},
             {"status", "REJECTED"},
             {"rejectedStage", offer->rejected_stage},
             {"rejectionReason", offer->rejection_reason},
             {"proceedBoundaryState", ProceedBoundaryState(*journey, *offer)}});
}

Platform::Reply Platform::OfferLoanAmount(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  Offer* offer = FindOffer(call, *journey, &error);
  if (offer == nullptr) return Error(error);
  auto amount = call.body.find("amount");
  if (amount == call.body.end() || !amount->is_string() ||
      !IsPositiveDigitString(amount->get<std::string>())) {
    return Error(ValidationFailed("amount", "amount must be a positive digit string."));
  }
  if (journey->locked_offer_id != offer->id) {
    ApiError e = StatePreconditionFailed("Proceed with this offer before confirming an amount.");
    e.details["proceedBoundaryState"] = ProceedBoundaryState(*journey, *offer);
    return Error(e);
  }
  const std::string& value = amount->get_ref<const std::string&>();
  if (value.size() > 12 || std::stoll(value) > offer->principal) {
    return Error(
        ValidationFailed("amount", absl::StrCat("amount must not exceed ", offer->principal, ".")));
  }
  offer->confirmed_amount = value;
  return Ok({{"journeyID", journey->id},
             {"offerID", offer->id},
             {"amount", value},
             {"amountPrincipal", std::to_string(offer->principal)},
             {"status", "AMOUNT_CONFIRMED"}});
}

Platform::Reply Platform::Steps(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  Offer* offer = FindOffer(call, *journey, &error);
  if (offer == nullptr) return Error(error);
  if (journey->locked_offer_id != offer->id) {
    ApiError e = StatePreconditionFailed("Steps exist only for the proceeded offer.");
    e.details["proceedBoundaryState"] = ProceedBoundaryState(*journey, *offer);
    return Error(e);
  }
  const RouteId route = call.match.route->id;
  auto complete_issued = [&](int step) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    StepState& s = journey->steps[step];
    if (s.redirect_issued && (s.status == "READY" || s.status == "IN_PROGRESS")) {
      CompleteStep(*journey, step, call.now, Observer());
    }
  };
  if (route == RouteId::kStepsGet) {
    for (int step : {kKyc, kEMandate, kLoanAgreement}) complete_issued(step);
    return Ok(StepsJson(*journey));
  }
  const int step = StepForRoute(route);
  StepState& s = journey->steps[step];
  if (s.action == "REDIRECT") {
    if (s.redirect_issued) {
      complete_issued(step);
    } else if (s.status == "READY" && route != RouteId::kStepKycStatus) {
      s.redirect_issued = true;
      s.status = "IN_PROGRESS";
      s.updated_at = call.now;
      s.redirect_url = absl::StrCat("https://sandbox.aarthiklabs.test/", RedirectPath(step), "/",
                                    journey->id, "?offerID=", offer->id);
    }
  }
  return Ok(StepJson(journey->steps[step]));
}

Platform::Reply Platform::BankMandateSubmit(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  Offer* offer = FindOffer(call, *journey, &error);
  if (offer == nullptr) return Error(error);
  nlohmann::json& body = call.body;
  for (const char* field : {"accountHolderName", "accountNumber", "ifsc", "accountType"}) {
    if (!body.contains(field) || !body[field].is_string() ||
        body[field].get<std::string>().empty()) {
      return Error(ValidationFailed(field, absl::StrCat(field, " is required.")));
    }
  }
  const std::string number = body["accountNumber"];
  if (number.size() < 9 || number.size() > 18 ||
      number.find_first_not_of("0123456789") != std::string::npos) {
    return Error(ValidationFailed("accountNumber", "accountNumber must be 9..18 digits."));
  }
  const std::string ifsc = absl::AsciiStrToUpper(body["ifsc"].get<std::string>());
  if (!IsIfsc(ifsc)) return Error(ValidationFailed("ifsc", "ifsc must look like HDFC0000123."));
  const std::string type = absl::AsciiStrToLower(body["accountType"].get<std::string>());
  if (type != "saving" && type != "savings" && type != "current") {
    return Error(ValidationFailed("accountType", "accountType must be saving or current."));
  }
  if (journey->locked_offer_id != offer->id) {
    ApiError e = StatePreconditionFailed("Steps exist only for the proceeded offer.");
    e.details["proceedBoundaryState"] = ProceedBoundaryState(*journey, *offer);
    return Error(e);
  }
  StepState& step = journey->steps[kBankMandate];
  if (step.status != "READY" || step.action != "SUBMIT_FORM") {
    return Error(StatePreconditionFailed("The bank mandate step is not awaiting a form."));
  }
  body["ifsc"] = ifsc;
  step.submitted = body;
  CompleteStep(*journey, kBankMandate, call.now, Observer());
  return Ok(StepJson(step));
}

}  // namespace aarthik::sandbox
