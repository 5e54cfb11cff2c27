#include "sandbox/journey_model.h"

namespace aarthik::sandbox {

const std::vector<Lender>& Lenders() {
  // Fictional lenders. The second requires AA consent, the third answers late, the fourth declines.
  static const std::vector<Lender>* lenders = new std::vector<Lender>{
      {"lndr_demo_bank_01", "Aarthik Demo Bank", "Nodal Officer", "gro@demobank.example",
       "+918000000001", "Mumbai, Maharashtra", "https://demobank.example/help", "+918000000002",
       "support@demobank.example", "14.5", 24, 300000, false, 1, true},
      {"lndr_sandbox_finance_01", "Sandbox Finance", "Grievance Cell", "gro@sandboxfin.example",
       "+918000000011", "Bengaluru, Karnataka", "https://sandboxfin.example/contact",
       "+918000000012", "care@sandboxfin.example", "13.25", 36, 400000, true, 1, true},
      {"lndr_test_capital_01", "Test Capital NBFC", "Regional GRO", "gro@testcapital.example",
       "+918000000021", "Pune, Maharashtra", "https://testcapital.example/support", "+918000000022",
       "help@testcapital.example", "16.0", 12, 100000, false, 2, true},
      {"lndr_example_credit_01", "Example Credit", "Nodal Officer", "gro@examplecredit.example",
       "+918000000031", "Chennai, Tamil Nadu", "https://examplecredit.example/help",
       "+918000000032", "support@examplecredit.example", "18.0", 12, 0, false, 1, false},
  };
  return *lenders;
}

const char* StepKey(int step) {
  static constexpr const char* kKeys[] = {"kyc", "bankMandate", "eMandate", "loanAgreement",
                                          "disbursal"};
  return kKeys[step];
}

const Offer* Journey::FindOffer(const std::string& offer_id) const {
  for (const Offer& offer : offers) {
    if (offer.id == offer_id) return &offer;
  }
  return nullptr;
}

Offer* Journey::FindOffer(const std::string& offer_id) {
  for (Offer& offer : offers) {
    if (offer.id == offer_id) return &offer;
  }
  return nullptr;
}

}  // namespace aarthik::sandbox
