#include "sandbox/journey_machine.h"

#include "absl/strings/str_cat.h"

namespace aarthik::sandbox {
namespace {

bool IsHeadless(const Journey& j) { return j.surface == Surface::kHeadless; }

const char* StatusForStep(int step) {
  static constexpr const char* kStatus[] = {"KYC_PENDING", "BANK_MANDATE_PENDING",
                                            "E_MANDATE_PENDING", "LOAN_AGREEMENT_PENDING",
                                            "LENDER_PROCESSING"};
  return kStatus[step];
}

// The action a step needs once it is the current one.
const char* ReadyAction(int step) {
  return step == kBankMandate ? "SUBMIT_FORM" : step == kDisbursal ? "WAIT" : "REDIRECT";
}

void AdvanceHeadless(Journey& j, absl::Time now, const Timings& t, const ChangeObserver& observer) {
  if (j.submitted_at) {
    const absl::Time pending_at = *j.submitted_at + t.dispatch_delay();
    const absl::Time offers_at = *j.submitted_at + t.offer_delay;
    if (j.status == "PROFILE_SUBMITTED" && now >= pending_at) {
      SetStatus(j, "OFFERS_PENDING", pending_at, observer);
    }
    if (j.status == "OFFERS_PENDING" && now >= offers_at) {
      bool any = false;
      for (const Offer& offer : j.offers) any = any || !offer.no_offer;
      SetStatus(j, any ? "OFFERS_AVAILABLE" : "REJECTED", offers_at, observer);
    }
  }
  if (j.status == "LENDER_PROCESSING" && j.disbursal_started_at &&
      now >= *j.disbursal_started_at + t.step_delay) {
    const absl::Time at = *j.disbursal_started_at + t.step_delay;
    StepState& disbursal = j.steps[kDisbursal];
    disbursal.status = "SUCCESS";
    disbursal.action = "NONE";
    disbursal.updated_at = at;
    SetStatus(j, "DISBURSED", at, observer);
  }
  for (AaSession& aa : j.aa_sessions) {
    if ((aa.state == "REDIRECT_READY" || aa.state == "IN_PROGRESS") && now >= aa.expires_at) {
      aa.state = "EXPIRED";
      aa.updated_at = aa.expires_at;
    }
  }
  // Finished operations no longer show in pendingOperations.
  std::vector<Operation>& ops = j.operations;
  ops.erase(std::remove_if(ops.begin(), ops.end(),
                           [&](const Operation& op) { return now >= op.completes_at; }),
            ops.end());
}

void AdvanceHybrid(Journey& j, absl::Time now, const Timings& t, const ChangeObserver& observer) {
  if (j.status == "STARTED" && now >= j.created_at + t.dispatch_delay()) {
    SetStatus(j, "PROFILED", j.created_at + t.dispatch_delay(), observer);
  }
  if (j.status == "PROFILED" && now >= j.created_at + t.offer_delay) {
    SetStatus(j, j.no_offers ? "NOT_OFFERED" : "OFFERED", j.created_at + t.offer_delay, observer);
  }
  if (j.hybrid_aa_status == "PROCESSING" && j.hybrid_aa_issued_at &&
      now >= *j.hybrid_aa_issued_at + t.step_delay) {
    j.hybrid_aa_status = "DONE";
    j.aa_confirmed = true;
  }
  if (j.handed_off_at) {
    static constexpr const char* kAfterHandoff[] = {"OFFER_ACCEPTED", "LENDER_REDIRECTED",
                                                    "DISBURSED"};
    for (int i = 0; i < 3; ++i) {
      const absl::Time at = *j.handed_off_at + t.step_delay * (i + 1);
      const char* previous = i == 0 ? "OFFER_SELECTED" : kAfterHandoff[i - 1];
      if (j.status == previous && now >= at) SetStatus(j, kAfterHandoff[i], at, observer);
    }
  }
}

}  // namespace

absl::string_view NextActionFor(absl::string_view s) {
  if (s == "STARTED" || s == "PROFILE_REQUIRED") return "FILL_PROFILE";
  if (s == "PROFILE_SUBMITTED" || s == "OFFERS_PENDING") return "WAIT_FOR_OFFERS";
  if (s == "OFFERS_AVAILABLE") return "VIEW_OFFERS";
  if (s == "AA_REQUIRED") return "COMPLETE_AA";
  if (s == "OFFER_SELECTED" || s == "KYC_PENDING" || s == "BANK_MANDATE_PENDING" ||
      s == "E_MANDATE_PENDING" || s == "LOAN_AGREEMENT_PENDING") {
    return "COMPLETE_STEP";
  }
  return "";
}

bool IsTerminalStatus(const Journey& j) {
  return j.status == "DISBURSED" || j.status == "REJECTED" || j.status == "EXPIRED" ||
         j.status == "CLOSED" || j.status == "NOT_OFFERED";
}

void GenerateOffers(Journey& journey, absl::Time submitted_at, const Timings& timings,
                    IdGenerator& ids) {
  journey.offers.clear();
  const std::vector<Lender>& lenders = Lenders();
  for (int i = 0; i < static_cast<int>(lenders.size()); ++i) {
    const Lender& lender = lenders[i];
    Offer offer;
    offer.id = ids.Uuid();
    offer.lender = i;
    offer.no_offer = !lender.makes_offer || journey.no_offers;
    offer.aa_required = lender.aa_required;
    offer.principal = offer.no_offer ? 0 : lender.base_principal + (ids.Next() % 11) * 10000;
    offer.arrives_at = submitted_at + timings.offer_delay * lender.arrival_multiplier;
    journey.offers.push_back(std::move(offer));
  }
}

absl::string_view OfferCardStatus(const Offer& offer, absl::Time now) {
  if (offer.no_offer) return "NO_OFFER_AVAILABLE";
  return now >= offer.arrives_at ? "OFFER_RECEIVED" : "OFFER_AWAITED";
}

bool OfferSelectable(const Journey& journey, const Offer& offer, absl::Time now) {
  return !offer.rejected && OfferCardStatus(offer, now) == "OFFER_RECEIVED";
}

void SetStatus(Journey& journey, absl::string_view status, absl::Time at,
               const ChangeObserver& observer) {
  if (journey.status == status) return;
  journey.status = std::string(status);
  journey.updated_at = at;
  if (observer) observer(journey);
}

void Advance(Journey& journey, absl::Time now, const Timings& timings,
             const ChangeObserver& observer) {
  if (IsHeadless(journey)) {
    AdvanceHeadless(journey, now, timings, observer);
  } else if (journey.surface == Surface::kHybrid) {
    AdvanceHybrid(journey, now, timings, observer);
  }
}

void RecomputeSteps(Journey& j, absl::Time now, const ChangeObserver& observer) {
  if (j.locked_offer_id.empty()) return;
  const Offer* offer = j.FindOffer(j.locked_offer_id);
  if (offer != nullptr && offer->aa_required && !j.aa_confirmed) {
    SetStatus(j, "AA_REQUIRED", now, observer);
    return;
  }
  for (int step = 0; step < kStepCount; ++step) {
    StepState& s = j.steps[step];
    if (s.status == "SUCCESS" || s.status == "NOT_REQUIRED") continue;
    if (s.status == "PENDING") {
      s.status = step == kDisbursal ? "IN_PROGRESS" : "READY";
      s.action = ReadyAction(step);
      s.updated_at = now;
    }
    SetStatus(j, StatusForStep(step), now, observer);
    return;
  }
  SetStatus(j, "DISBURSED", now, observer);
}

void CompleteStep(Journey& j, int step, absl::Time now, const ChangeObserver& observer) {
  StepState& s = j.steps[step];
  s.status = "SUCCESS";
  s.action = "NONE";
  s.updated_at = now;
  if (step == kLoanAgreement) j.disbursal_started_at = now;
  RecomputeSteps(j, now, observer);
}

}  // namespace aarthik::sandbox
