// The sandbox's platform data: borrowers, journeys, offers, steps, AA sessions, and the simulated
// lender catalogue.
//
// Journeys of all three surfaces share one struct; `surface` says which status vocabulary `status`
// uses (headless §3.8 for kHeadless; the Hybrid/Hosted lifecycle of §4.3 otherwise).
//
// Example:
//   Journey journey;
//   journey.surface = Surface::kHeadless;
//   journey.status = "STARTED";
//   const Lender& lender = Lenders()[journey.offers[0].lender];
//
// Thread-safety: plain data; the Platform guards every instance with its mutex.
#ifndef AARTHIK_SANDBOX_JOURNEY_MODEL_H_
#define AARTHIK_SANDBOX_JOURNEY_MODEL_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "sandbox/router.h"

namespace aarthik::sandbox {

struct Lender {
  const char* id;
  const char* name;
  const char* gro_name;
  const char* gro_email;
  const char* gro_contact_number;
  const char* gro_address;
  const char* support_link;
  const char* support_contact_number;
  const char* support_email;
  const char* interest_rate;  // decimal string
  int term_months;
  int64_t base_principal;
  bool aa_required;        // offer is only actionable after AA consent
  int arrival_multiplier;  // offer arrives after arrival_multiplier × offer delay
  bool makes_offer;        // false: NO_OFFER_AVAILABLE
};

// The fixed simulated lenders, in display order.
const std::vector<Lender>& Lenders();

enum StepIndex { kKyc = 0, kBankMandate, kEMandate, kLoanAgreement, kDisbursal, kStepCount };
// Keys of the aggregate steps object, in order: kyc, bankMandate, eMandate, loanAgreement,
// disbursal.
const char* StepKey(int step);

struct StepState {
  std::string status = "PENDING";  // StepStatus
  std::string action = "WAIT";     // ActionRequired
  std::string redirect_url;        // REDIRECT steps, once issued
  bool redirect_issued = false;
  nlohmann::json submitted;  // SUBMIT_FORM steps: the accepted form
  absl::Time updated_at;
};

struct Offer {
  std::string id;
  int lender = 0;
  int64_t principal = 0;
  absl::Time arrives_at;
  bool no_offer = false;
  bool aa_required = false;
  bool rejected = false;
  std::string rejected_stage;
  std::string rejection_reason;
  std::string confirmed_amount;  // loan-amount
};

struct AaSession {
  std::string id;
  std::string state;  // AASessionState
  std::string redirect_url;
  std::string txnid;
  absl::Time reqdate;
  absl::Time expires_at;
  absl::Time created_at;
  absl::Time updated_at;
};

struct Operation {
  std::string id;
  std::string kind;  // pendingOperations value while running
  absl::Time completes_at;
};

struct Journey {
  std::string id;
  Surface surface = Surface::kHeadless;
  std::string type = "PERSONAL_LOAN";
  std::string borrower_id;
  std::string status;
  absl::Time created_at;
  absl::Time updated_at;
  nlohmann::json metadata = nlohmann::json::object();
  nlohmann::json resume = nlohmann::json::object();
  // Sections profile, workProfile, address, bankingInformation, journey (headless spelling; the
  // Hybrid start body is stored under the same names).
  nlohmann::json profile = nlohmann::json::object();
  std::optional<absl::Time> submitted_at;
  bool no_offers = false;  // magic: contact number ending in 0000 gets no offers
  std::vector<Offer> offers;
  std::string locked_offer_id;
  absl::Time locked_at;
  std::array<StepState, kStepCount> steps;
  std::optional<absl::Time> disbursal_started_at;
  std::vector<AaSession> aa_sessions;
  bool aa_confirmed = false;
  std::vector<Operation> operations;
  // Hybrid: hand-off and the AA readiness of the poll response.
  std::string handed_off_offer_id;
  std::optional<absl::Time> handed_off_at;
  std::string hybrid_aa_status;  // "", "READY", "PROCESSING", "DONE"
  std::string hybrid_aa_url;
  absl::Time hybrid_aa_expires_at;
  std::optional<absl::Time> hybrid_aa_issued_at;
  // Hosted: origin of the journey for web-hook routing fields.
  std::string origin_experience;  // "HYBRID" or "HOSTED" for non-headless journeys
  // Web-hooks.
  int lifecycle_events = 0;

  const Offer* FindOffer(const std::string& offer_id) const;
  Offer* FindOffer(const std::string& offer_id);
};

struct Borrower {
  std::string id;
  std::string external_id;                            // headless borrowerExternalID
  std::string provider_id;                            // Hybrid/Hosted borrowerProviderID
  nlohmann::json prefill = nlohmann::json::object();  // POST /sessions profile
  std::vector<std::string> journey_ids;               // oldest first
};

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_JOURNEY_MODEL_H_
