// State machine rules: time-driven transitions, offer generation, steps and status mapping.
#include "sandbox/journey_machine.h"

#include <vector>

#include "gtest/gtest.h"

namespace aarthik::sandbox {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1770000000);

class JourneyMachineTest : public ::testing::Test {
 protected:
  JourneyMachineTest() {
    journey_.surface = Surface::kHeadless;
    journey_.status = "PROFILE_REQUIRED";
    journey_.created_at = journey_.updated_at = kT0;
    observer_ = [this](const Journey& j) { seen_.push_back(j.status); };
  }
  void Submit() {
    journey_.submitted_at = kT0;
    GenerateOffers(journey_, kT0, timings_, ids_);
    SetStatus(journey_, "PROFILE_SUBMITTED", kT0, observer_);
  }

  Timings timings_{absl::Seconds(10), absl::Seconds(5), absl::Minutes(15)};
  IdGenerator ids_{1};
  Journey journey_;
  std::vector<std::string> seen_;
  ChangeObserver observer_;
};

TEST_F(JourneyMachineTest, NextActionMapping) {
  EXPECT_EQ(NextActionFor("STARTED"), "FILL_PROFILE");
  EXPECT_EQ(NextActionFor("OFFERS_PENDING"), "WAIT_FOR_OFFERS");
  EXPECT_EQ(NextActionFor("OFFERS_AVAILABLE"), "VIEW_OFFERS");
  EXPECT_EQ(NextActionFor("AA_REQUIRED"), "COMPLETE_AA");
  EXPECT_EQ(NextActionFor("E_MANDATE_PENDING"), "COMPLETE_STEP");
  EXPECT_EQ(NextActionFor("DISBURSED"), "");
}

TEST_F(JourneyMachineTest, OffersArriveAfterTheDelayAndEveryStatusIsObserved) {
  Submit();
  Advance(journey_, kT0 + absl::Seconds(1), timings_, observer_);
  EXPECT_EQ(journey_.status, "PROFILE_SUBMITTED");
  // A single large jump still reports the intermediate status, stamped at its own time.
  Advance(journey_, kT0 + absl::Seconds(60), timings_, observer_);
  EXPECT_EQ(journey_.status, "OFFERS_AVAILABLE");
  EXPECT_EQ(journey_.updated_at, kT0 + absl::Seconds(10));
  EXPECT_EQ(seen_,
            (std::vector<std::string>{"PROFILE_SUBMITTED", "OFFERS_PENDING", "OFFERS_AVAILABLE"}));
}

TEST_F(JourneyMachineTest, OfferCatalogue) {
  Submit();
  ASSERT_EQ(journey_.offers.size(), 4u);
  const absl::Time at = kT0 + absl::Seconds(10);
  EXPECT_EQ(OfferCardStatus(journey_.offers[0], at), "OFFER_RECEIVED");
  EXPECT_TRUE(journey_.offers[1].aa_required);
  EXPECT_EQ(OfferCardStatus(journey_.offers[2], at), "OFFER_AWAITED");
  EXPECT_EQ(OfferCardStatus(journey_.offers[2], kT0 + absl::Seconds(20)), "OFFER_RECEIVED");
  EXPECT_EQ(OfferCardStatus(journey_.offers[3], at), "NO_OFFER_AVAILABLE");
}

TEST_F(JourneyMachineTest, SameSeedSameOffers) {
  Submit();
  Journey other;
  IdGenerator ids{1};
  GenerateOffers(other, kT0, timings_, ids);
  for (size_t i = 0; i < other.offers.size(); ++i) {
    EXPECT_EQ(other.offers[i].id, journey_.offers[i].id);
    EXPECT_EQ(other.offers[i].principal, journey_.offers[i].principal);
  }
}

TEST_F(JourneyMachineTest, NoOffersEndsRejected) {
  journey_.no_offers = true;
  Submit();
  Advance(journey_, kT0 + absl::Seconds(10), timings_, observer_);
  EXPECT_EQ(journey_.status, "REJECTED");
}

TEST_F(JourneyMachineTest, StepsProgressToDisbursal) {
  Submit();
  Advance(journey_, kT0 + absl::Seconds(10), timings_, observer_);
  journey_.locked_offer_id = journey_.offers[0].id;
  const absl::Time t = kT0 + absl::Seconds(20);
  RecomputeSteps(journey_, t, observer_);
  EXPECT_EQ(journey_.status, "KYC_PENDING");
  EXPECT_EQ(journey_.steps[kKyc].status, "READY");
  EXPECT_EQ(journey_.steps[kKyc].action, "REDIRECT");
  EXPECT_EQ(journey_.steps[kBankMandate].status, "PENDING");
  CompleteStep(journey_, kKyc, t, observer_);
  EXPECT_EQ(journey_.status, "BANK_MANDATE_PENDING");
  EXPECT_EQ(journey_.steps[kBankMandate].action, "SUBMIT_FORM");
  CompleteStep(journey_, kBankMandate, t, observer_);
  EXPECT_EQ(journey_.status, "E_MANDATE_PENDING");
  CompleteStep(journey_, kEMandate, t, observer_);
  EXPECT_EQ(journey_.status, "LOAN_AGREEMENT_PENDING");
  CompleteStep(journey_, kLoanAgreement, t, observer_);
  EXPECT_EQ(journey_.status, "LENDER_PROCESSING");
  EXPECT_EQ(journey_.steps[kDisbursal].status, "IN_PROGRESS");
  Advance(journey_, t + absl::Seconds(5), timings_, observer_);
  EXPECT_EQ(journey_.status, "DISBURSED");
  EXPECT_EQ(journey_.steps[kDisbursal].status, "SUCCESS");
}

TEST_F(JourneyMachineTest, AaLenderBlocksStepsUntilConfirmed) {
  Submit();
  Advance(journey_, kT0 + absl::Seconds(10), timings_, observer_);
  journey_.locked_offer_id = journey_.offers[1].id;  // requires AA
  RecomputeSteps(journey_, kT0 + absl::Seconds(11), observer_);
  EXPECT_EQ(journey_.status, "AA_REQUIRED");
  EXPECT_EQ(journey_.steps[kKyc].status, "PENDING");
  journey_.aa_confirmed = true;
  RecomputeSteps(journey_, kT0 + absl::Seconds(12), observer_);
  EXPECT_EQ(journey_.status, "KYC_PENDING");
}

TEST_F(JourneyMachineTest, HybridLifecycle) {
  Journey hybrid;
  hybrid.surface = Surface::kHybrid;
  hybrid.status = "STARTED";
  hybrid.created_at = kT0;
  GenerateOffers(hybrid, kT0, timings_, ids_);
  Advance(hybrid, kT0 + absl::Seconds(10), timings_, observer_);
  EXPECT_EQ(hybrid.status, "OFFERED");
  hybrid.handed_off_offer_id = hybrid.offers[0].id;
  hybrid.handed_off_at = kT0 + absl::Seconds(10);
  SetStatus(hybrid, "OFFER_SELECTED", kT0 + absl::Seconds(10), observer_);
  Advance(hybrid, kT0 + absl::Seconds(30), timings_, observer_);
  EXPECT_EQ(hybrid.status, "DISBURSED");
  EXPECT_EQ(seen_, (std::vector<std::string>{"PROFILED", "OFFERED", "OFFER_SELECTED",
                                             "OFFER_ACCEPTED", "LENDER_REDIRECTED", "DISBURSED"}));
}

}  // namespace
}  // namespace aarthik::sandbox
