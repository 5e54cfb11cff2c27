#include "sandbox/views.h"

#include "absl/strings/str_cat.h"
#include "sandbox/journey_machine.h"

namespace aarthik::sandbox {
namespace {

// Simple amortisation numbers for the offer detail and snapshots (flat interest: good enough for
// a simulator and easy to check by hand).
int64_t TotalInterest(const Offer& offer) {
  const Lender& lender = Lenders()[offer.lender];
  double rate = std::stod(lender.interest_rate);
  return static_cast<int64_t>(offer.principal * rate / 100.0 * lender.term_months / 12.0 / 2.0);
}

nlohmann::json AaCardJson(const Journey& journey, const Offer& offer) {
  if (!offer.aa_required) {
    return {{"required", false}, {"state", "NOT_REQUIRED"}, {"actionRequired", "NONE"}};
  }
  if (journey.aa_confirmed) {
    return {{"required", true}, {"state", "CONFIRMED"}, {"actionRequired", "NONE"}};
  }
  std::string state = journey.aa_sessions.empty() ? "REQUIRED" : journey.aa_sessions.back().state;
  std::string action =
      state == "REDIRECT_READY" || state == "REQUIRED" || state == "EXPIRED" || state == "FAILED"
          ? "REDIRECT"
      : state == "USER_RETURNED" || state == "APPROVAL_DISPATCHED" ? "RECONCILE"
                                                                   : "WAIT";
  return {{"required", true}, {"state", state}, {"actionRequired", action}};
}

}  // namespace

std::string IsoTimeMillis(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string IsoTimeSeconds(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", t, absl::UTCTimeZone());
}

nlohmann::json NextActionJson(const Journey& journey) {
  absl::string_view action = NextActionFor(journey.status);
  return action.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::string(action));
}

nlohmann::json JourneyJson(const Journey& j) {
  std::string timeline = j.status == "STARTED" ? "PROFILE_REQUIRED" : j.status;
  return {
      {"journeyID", j.id},
      {"type", j.type},
      {"status", j.status},
      {"updatedAt", IsoTimeMillis(j.updated_at)},
      {"timelineState", timeline},
      {"nextAction", NextActionJson(j)},
      {"capabilities", {{"aaEnabled", true}, {"postDisbursalEnabled", j.status == "DISBURSED"}}},
      {"resume", j.resume}};
}

nlohmann::json JourneySummaryJson(const Journey& j) {
  return {{"journeyID", j.id},
          {"type", j.type},
          {"status", j.status},
          {"nextAction", NextActionJson(j)},
          {"updatedAt", IsoTimeMillis(j.updated_at)}};
}

nlohmann::json StateJson(const Journey& j) {
  nlohmann::json pending = nlohmann::json::array();
  if (j.status == "PROFILE_SUBMITTED") pending.push_back("PROFILE_SUBMISSION");
  if (j.status == "OFFERS_PENDING") {
    pending.push_back("PROFILE_SUBMISSION");
    pending.push_back("SELECT_DISPATCH");
  }
  for (const Operation& op : j.operations) pending.push_back(op.kind);
  return {{"journeyID", j.id},
          {"status", j.status},
          {"nextAction", NextActionJson(j)},
          {"pendingOperations", std::move(pending)},
          {"updatedAt", IsoTimeMillis(j.updated_at)}};
}

std::vector<std::string> MissingProfileFields(const Journey& j) {
  static const std::vector<std::pair<const char*, const char*>> kRequired = {
      {"profile", "contactNumber"},
      {"profile", "pan"},
      {"profile", "panName"},
      {"profile", "dob"},
      {"workProfile", "employmentType"},
      {"workProfile", "income"}};
  std::vector<std::string> missing;
  for (const auto& [section, key] : kRequired) {
    auto s = j.profile.find(section);
    if (s == j.profile.end() || !s->is_object() || !s->contains(key) || (*s)[key].is_null()) {
      missing.push_back(absl::StrCat(section, ".", key));
    }
  }
  return missing;
}

nlohmann::json ProfileJson(const Journey& j) {
  nlohmann::json out = {{"journeyID", j.id}};
  for (const char* section :
       {"profile", "workProfile", "address", "bankingInformation", "journey"}) {
    auto it = j.profile.find(section);
    out[section] = it == j.profile.end() ? nlohmann::json::object() : *it;
  }
  out["requiredFields"] = MissingProfileFields(j);
  out["updatedAt"] = IsoTimeMillis(j.updated_at);
  return out;
}

std::string ProceedBoundaryState(const Journey& j, const Offer& offer) {
  if (j.locked_offer_id.empty()) return "UNLOCKED";
  return j.locked_offer_id == offer.id ? "LOCKED" : "LOCKED_TO_DIFFERENT_OFFER";
}

nlohmann::json OfferCardJson(const Journey& j, const Offer& offer, absl::Time now) {
  const Lender& lender = Lenders()[offer.lender];
  const std::string status(OfferCardStatus(offer, now));
  const bool received = status == "OFFER_RECEIVED";
  nlohmann::json reason = nullptr;
  if (offer.rejected) {
    reason = offer.rejection_reason;
  } else if (status == "NO_OFFER_AVAILABLE") {
    reason = "Lender policy criteria not met";
  } else if (!received) {
    reason = "Awaiting lender decision";
  }
  return {
      {"lenderID", lender.id},
      {"lenderName", lender.name},
      {"offerID", offer.id},
      {"status", status},
      {"amountPrincipal", received ? nlohmann::json(std::to_string(offer.principal)) : nullptr},
      {"interestRate", received ? nlohmann::json(lender.interest_rate) : nullptr},
      {"offerTerm",
       received ? nlohmann::json(absl::StrCat(lender.term_months, " months")) : nullptr},
      {"keyFactsStatementLink",
       received ? nlohmann::json(absl::StrCat("https://sandbox.aarthiklabs.test/kfs/", offer.id))
                : nullptr},
      {"aa", AaCardJson(j, offer)},
      {"lenderStateReason", reason}};
}

nlohmann::json OfferDetailJson(const Journey& j, const Offer& offer, absl::Time now) {
  nlohmann::json out = OfferCardJson(j, offer, now);
  const Lender& lender = Lenders()[offer.lender];
  out["journeyID"] = j.id;
  out["proceedBoundaryState"] = ProceedBoundaryState(j, offer);
  out["offerSelectionLock"] = j.locked_offer_id == offer.id
                                  ? nlohmann::json{{"lockedAt", IsoTimeMillis(j.locked_at)},
                                                   {"lockSource", "OFFER_DETAILS_PROCEED"}}
                                  : nlohmann::json(nullptr);
  if (OfferCardStatus(offer, now) != "OFFER_RECEIVED") {
    out["quoteBreakup"] = nullptr;
    out["installments"] = nlohmann::json::array();
    out["fulfillments"] = nlohmann::json::array();
    return out;
  }
  const int64_t interest = TotalInterest(offer);
  const int64_t processing_fee = offer.principal / 100;
  out["quoteBreakup"] = {{"principal", std::to_string(offer.principal)},
                         {"interest", std::to_string(interest)},
                         {"processingFee", std::to_string(processing_fee)},
                         {"netDisbursedAmount", std::to_string(offer.principal - processing_fee)},
                         {"totalRepayable", std::to_string(offer.principal + interest)}};
  nlohmann::json installments = nlohmann::json::array();
  const int64_t emi = (offer.principal + interest) / lender.term_months;
  for (int i = 1; i <= lender.term_months; ++i) {
    installments.push_back({{"serialNumber", i},
                            {"amount", std::to_string(emi)},
                            {"dueDate", IsoTimeMillis(j.created_at + absl::Hours(24 * 30 * i))}});
  }
  out["installments"] = std::move(installments);
  out["fulfillments"] =
      nlohmann::json::array({{{"type", "DISBURSAL"},
                              {"mode", "BANK_TRANSFER"},
                              {"state", j.status == "DISBURSED" ? "COMPLETED" : "PENDING"}}});
  if (!offer.confirmed_amount.empty()) out["confirmedAmount"] = offer.confirmed_amount;
  return out;
}

nlohmann::json StepJson(const StepState& step) {
  nlohmann::json resource = nullptr;
  if (step.action == "SUBMIT_FORM") {
    nlohmann::json fields = nlohmann::json::array();
    for (const char* name : {"accountHolderName", "accountNumber", "ifsc", "accountType"}) {
      fields.push_back({{"name", name}, {"type", "string"}, {"required", true}});
    }
    resource = {{"type", "FORM"}, {"redirectURL", nullptr}, {"form", {{"fields", fields}}}};
  } else if (step.action == "REDIRECT" && step.redirect_issued) {
    resource = {{"type", "REDIRECT"}, {"redirectURL", step.redirect_url}, {"form", nullptr}};
  }
  return {{"status", step.status},
          {"actionRequired", step.action},
          {"resource", resource},
          {"diagnostics", nullptr}};
}

nlohmann::json StepsJson(const Journey& j) {
  nlohmann::json out = nlohmann::json::object();
  for (int step = 0; step < kStepCount; ++step) out[StepKey(step)] = StepJson(j.steps[step]);
  return out;
}

nlohmann::json AaSessionJson(const Journey& j, const AaSession& aa) {
  return {
      {"aaSessionID", aa.id},
      {"journeyID", j.id},
      {"state", aa.state},
      {"redirectURL",
       aa.redirect_url.empty() ? nlohmann::json(nullptr) : nlohmann::json(aa.redirect_url)},
      {"reqdate", absl::FormatTime("%Y%m%d%H%M%E3S", aa.reqdate, absl::UTCTimeZone()).erase(14, 1)},
      {"txnid", aa.txnid},
      {"expiresAt", IsoTimeMillis(aa.expires_at)},
      {"createdAt", IsoTimeMillis(aa.created_at)},
      {"updatedAt", IsoTimeMillis(aa.updated_at)}};
}

nlohmann::json HybridOffersJson(const Journey& j, absl::Time now) {
  nlohmann::json lenders = nlohmann::json::object();
  const bool offered = j.status != "STARTED" && j.status != "PROFILED";
  if (offered) {
    for (const Offer& offer : j.offers) {
      const Lender& lender = Lenders()[offer.lender];
      std::string status(OfferCardStatus(offer, now));
      nlohmann::json offers = nlohmann::json::array();
      std::string lender_status = status;
      if (offer.aa_required && !j.aa_confirmed && status == "OFFER_RECEIVED") {
        lender_status = "AWAITING_AA_CONSENT";  // offer exists but needs consent first
      } else if (status == "OFFER_RECEIVED") {
        const int64_t interest = TotalInterest(offer);
        offers.push_back({{"offerID", offer.id},
                          {"status", "OFFER_RECEIVED"},
                          {"amount_principal", std::to_string(offer.principal)},
                          {"amount_total_interest_payable", std::to_string(interest)},
                          {"amount_net_disbursed_amount",
                           std::to_string(offer.principal - offer.principal / 100)},
                          {"interest_rate", lender.interest_rate},
                          {"offer_term", absl::StrCat(lender.term_months, " months")},
                          {"number_of_installments", lender.term_months},
                          {"key_facts_statement_link",
                           absl::StrCat("https://sandbox.aarthiklabs.test/kfs/", offer.id)},
                          {"selected", j.handed_off_offer_id == offer.id}});
      }
      lenders[lender.name] = {
          {"lender_id", lender.id}, {"status", lender_status}, {"offers", offers}};
    }
  }
  nlohmann::json data = {{"journey_id", j.id}, {"status", j.status}, {"lenders", lenders}};
  if (j.hybrid_aa_status == "READY") {
    data["account_aggregator"] = {{"status", "READY"},
                                  {"url", j.hybrid_aa_url},
                                  {"expires_at", IsoTimeMillis(j.hybrid_aa_expires_at)}};
  } else if (j.hybrid_aa_status == "PROCESSING") {
    data["account_aggregator"] = {{"status", "PROCESSING"}};
  }
  return data;
}

}  // namespace aarthik::sandbox
