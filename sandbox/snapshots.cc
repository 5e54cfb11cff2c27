#include "sandbox/snapshots.h"

#include "absl/strings/str_cat.h"
#include "sandbox/journey_machine.h"
#include "sandbox/views.h"

namespace aarthik::sandbox {
namespace {

nlohmann::json StringOrNull(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nlohmann::json(nullptr) : *it;
}

nlohmann::json Section(const Journey& j, const char* section) {
  auto it = j.profile.find(section);
  return it == j.profile.end() ? nlohmann::json::object() : *it;
}

nlohmann::json VariantBOffer(const Journey& j, const Offer& offer) {
  const Lender& lender = Lenders()[offer.lender];
  const double rate = std::stod(lender.interest_rate);
  const int64_t interest =
      static_cast<int64_t>(offer.principal * rate / 100.0 * lender.term_months / 12.0 / 2.0);
  nlohmann::json installments = nlohmann::json::array();
  if (j.status == "DISBURSED") {
    const int64_t emi = (offer.principal + interest) / lender.term_months;
    for (int i = 1; i <= lender.term_months; ++i) {
      installments.push_back(
          {{"serial_number", i},
           {"type", "INSTALLMENT"},
           {"amount", std::to_string(emi)},
           {"status", "NOT-DUE"},
           {"installment_due_date", IsoTimeMillis(j.updated_at + absl::Hours(24 * 30 * i))}});
    }
  }
  const bool accepted = j.handed_off_offer_id == offer.id && j.status != "OFFER_SELECTED";
  return {
      {"id", offer.id},
      {"accepted", accepted},
      {"expired", false},
      {"amount_principal", std::to_string(offer.principal)},
      {"amount_total_interest_payable", std::to_string(interest)},
      {"amount_net_disbursed_amount", std::to_string(offer.principal - offer.principal / 100)},
      {"offer_term", absl::StrCat(lender.term_months, " months")},
      {"interest_rate", lender.interest_rate},
      {"interest_type", "Reducing"},
      {"annual_percentage_rate", absl::StrCat(rate + 0.7)},
      {"number_of_installments", lender.term_months},
      {"cool_off_period", "3 days"},
      {"terms_and_conditions_link", absl::StrCat("https://sandbox.aarthiklabs.test/tc/", offer.id)},
      {"key_facts_statement_link", absl::StrCat("https://sandbox.aarthiklabs.test/kfs/", offer.id)},
      {"application_fees", "0"},
      {"foreclosure_fees", "2000"},
      {"interest_rate_conversion_charges", nullptr},
      {"delay_penalty_fees", "500"},
      {"other_penalty_fees", nullptr},
      {"processing_fees", std::to_string(offer.principal / 100)},
      {"other_upfront_charges", nullptr},
      {"insurance_charges", nullptr},
      {"other_charges", nullptr},
      {"installments", installments}};
}

// Step statuses of Variant B: PENDING until the lender redirect, SUCCESS once disbursed.
nlohmann::json StageStatus(const Journey& j) {
  if (j.status == "DISBURSED") return "SUCCESS";
  if (j.status == "NOT_OFFERED" || j.status == "REJECTED") return nullptr;
  return "PENDING";
}

}  // namespace

std::string TriggerFor(const Journey& j) {
  const std::string& s = j.status;
  if (s == "STARTED" || s == "PROFILE_REQUIRED" || s == "PROFILE_SUBMITTED") {
    return "journey.profile.updated";
  }
  if (s == "OFFERS_PENDING" || s == "OFFERS_AVAILABLE" || s == "OFFER_SELECTED") {
    return "journey.offer.updated";
  }
  if (s == "AA_REQUIRED") return "journey.aa.updated";
  if (s == "KYC_PENDING" || s == "BANK_MANDATE_PENDING" || s == "E_MANDATE_PENDING" ||
      s == "LOAN_AGREEMENT_PENDING") {
    return "journey.step.updated";
  }
  if (s == "LENDER_PROCESSING" || s == "DISBURSED") return "journey.disbursal.updated";
  return "journey.status.updated";
}

nlohmann::json VariantASnapshot(const SnapshotContext& ctx, const Borrower& borrower,
                                const std::vector<const Journey*>& journeys,
                                const Journey& changed) {
  nlohmann::json list = nlohmann::json::array();
  for (const Journey* j : journeys) {
    list.push_back(
        {{"journeyID", j->id}, {"status", j->status}, {"nextAction", NextActionJson(*j)}});
  }
  const std::string at = IsoTimeMillis(ctx.now);
  return {{"schema_version", "1.0.0"},
          {"event_type", "journey.snapshot"},
          {"event_id", ctx.event_id},
          {"event_at", at},
          {"snapshot_generated_at", at},
          {"sequence", ctx.sequence},
          {"issuer", {{"source", "credit-api"}, {"trigger", TriggerFor(changed)}}},
          {"tenant_id", ctx.tenant_id},
          {"application_id", ctx.application_id},
          {"borrower", {{"borrowerExternalID", borrower.external_id}, {"journeys", list}}}};
}

nlohmann::json VariantBSnapshot(const SnapshotContext& ctx, const Borrower& borrower,
                                const Journey& j) {
  const nlohmann::json personal_in = Section(j, "profile");
  const nlohmann::json work_in = Section(j, "workProfile");
  const nlohmann::json address_in = Section(j, "address");
  const nlohmann::json journey_in = Section(j, "journey");
  nlohmann::json contact = StringOrNull(personal_in, "contactNumber");
  if (contact.is_string()) contact = absl::StrCat("+91", contact.get<std::string>());
  nlohmann::json personal = {{"panName", StringOrNull(personal_in, "panName")},
                             {"dob", StringOrNull(personal_in, "dob")},
                             {"gender", StringOrNull(personal_in, "gender")},
                             {"personalemail", StringOrNull(personal_in, "personalemail")},
                             {"contactNumber", contact}};
  if (j.type == "GOLD_LOAN") personal["pan"] = StringOrNull(personal_in, "pan");
  nlohmann::json income = StringOrNull(work_in, "income");
  if (income.is_string()) income = std::stoll(income.get<std::string>());
  nlohmann::json profile = {{"personal", personal},
                            {"work",
                             {{"employmentType", StringOrNull(work_in, "employmentType")},
                              {"officialemail", StringOrNull(work_in, "officialemail")},
                              {"income", income},
                              {"companyName", StringOrNull(work_in, "companyName")},
                              {"udyamNumber", StringOrNull(work_in, "udyamNumber")}}},
                            {"address",
                             {{"addressL1", StringOrNull(address_in, "addressL1")},
                              {"addressL2", StringOrNull(address_in, "addressL2")},
                              {"city", StringOrNull(address_in, "city")},
                              {"state", StringOrNull(address_in, "state")},
                              {"pincode", StringOrNull(address_in, "pincode")}}}};
  if (j.type == "GOLD_LOAN") {
    const nlohmann::json gold = Section(j, "goldLoan");
    profile["gold_loan"] = {{"userType", StringOrNull(gold, "userType")},
                            {"constitution", StringOrNull(gold, "constitution")},
                            {"jewelleryWeightGrams", StringOrNull(gold, "jewelleryWeightGrams")},
                            {"purity", StringOrNull(gold, "purity")}};
  }
  const bool offers_known = j.status != "STARTED" && j.status != "PROFILED";
  nlohmann::json lenders = nlohmann::json::array();
  nlohmann::json offers = nlohmann::json::array();
  if (offers_known) {
    for (const Offer& offer : j.offers) {
      const Lender& l = Lenders()[offer.lender];
      lenders.push_back({{"id", l.id},
                         {"lender_name", l.name},
                         {"lender_gro_name", l.gro_name},
                         {"lender_gro_email", l.gro_email},
                         {"lender_gro_contact_number", l.gro_contact_number},
                         {"lender_gro_designation", "Grievance Officer"},
                         {"lender_gro_address", l.gro_address},
                         {"lender_customer_support_link", l.support_link},
                         {"lender_customer_support_contact_number", l.support_contact_number},
                         {"lender_customer_support_email", l.support_email}});
      if (j.status == "NOT_OFFERED" || offer.no_offer) continue;
      if (!j.handed_off_offer_id.empty() && j.handed_off_offer_id != offer.id) continue;
      offers.push_back(VariantBOffer(j, offer));
    }
  }
  const bool decided =
      j.status == "DISBURSED" || j.status == "LENDER_REDIRECTED" || j.status == "OFFER_ACCEPTED";
  nlohmann::json journey = {
      {"id", absl::StrCat("jrn_", j.id)},
      {"endUse", StringOrNull(journey_in, "endUse")},
      {"bureauConsent", journey_in.value("bureauConsent", true)},
      {"ondc_transaction_id", j.id},
      {"created", IsoTimeSeconds(j.created_at)},
      {"updated", IsoTimeSeconds(j.updated_at)},
      {"type", j.type},
      {"status", j.status},
      {"activity_status", IsTerminalStatus(j) ? "INACTIVE" : "ACTIVE"},
      {"decision_status", decided ? nlohmann::json("APPROVED")
                          : j.status == "REJECTED" || j.status == "NOT_OFFERED"
                              ? nlohmann::json("NOT_APPROVED")
                              : nlohmann::json(nullptr)},
      {"lender_mode", decided ? nlohmann::json("ONLINE") : nlohmann::json(nullptr)},
      {"kyc_status", StageStatus(j)},
      {"kyc_attempts", j.status == "DISBURSED" ? nlohmann::json(1) : nlohmann::json(nullptr)},
      {"emandate_status", StageStatus(j)},
      {"emandate_attempts", j.status == "DISBURSED" ? nlohmann::json(1) : nlohmann::json(nullptr)},
      {"esign_status", StageStatus(j)},
      {"esign_attempts", j.status == "DISBURSED" ? nlohmann::json(1) : nlohmann::json(nullptr)},
      {"change_in_offer", false},
      {"borrower_preferred_amount", nullptr},
      {"borrower_preferred_tenure", nullptr},
      {"lenders", lenders},
      {"offers", offers}};
  return {{"tenant_id", ctx.tenant_id},
          {"application_id", ctx.application_id},
          {"origin_experience", j.origin_experience},
          {"current_experience_surface", j.handed_off_at ? "HOSTED" : j.origin_experience},
          {"borrower",
           {{"id", borrower.id},
            {"provider_id", borrower.provider_id},
            {"profile", profile},
            {"journey", journey}}}};
}

}  // namespace aarthik::sandbox
