// Every headless RPC through the generated stubs, against the real gateway and sandbox processes: a
// full borrower journey (session → journey → profile → offers → steps → disbursal →
// post-disbursal), the AA flow, and the documented error paths on the way.
#include <cstdio>

#include "aarthik/headless/v1/account_aggregator.grpc.pb.h"
#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "aarthik/headless/v1/offers.grpc.pb.h"
#include "aarthik/headless/v1/post_disbursal.grpc.pb.h"
#include "aarthik/headless/v1/profile.grpc.pb.h"
#include "aarthik/headless/v1/sessions.grpc.pb.h"
#include "aarthik/headless/v1/steps.grpc.pb.h"
#include "absl/strings/str_join.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"
#include "tests/integration/log_scan.h"

namespace aarthik::testing {
namespace {

namespace hl = aarthik::headless::v1;
namespace cm = aarthik::common::v1;

// Calls `method` on `stub` with a fresh context; returns the status and fills `response`.
#define CALL(stub, method, request, response)         \
  ([&] {                                              \
    grpc::ClientContext ctx;                          \
    PrepareContext(&ctx);                             \
    return (stub).method(&ctx, request, &(response)); \
  }())

// Borrower data these tests send; none of it may reach the gateway's log (nor may any credential).
const std::vector<std::string> kBorrowerPii = {
    "9876543210",   "ABCDE1234F", "Rahul Sharma", "rahul@example.com", "rahul@acme.com",
    "123456789012", "1995-06-20", "Flat 301",     kGatewayApiKey};

class HeadlessJourneyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The most verbose level, so that every line the gateway can write is checked.
    log_path_ = TestLogPath();
    env_ = GatewayEnv::Start(
        {.gateway_args = {"--log-level", "debug"}, .gateway_log_path = log_path_});
    ASSERT_NE(env_, nullptr);
    sessions_ = hl::SessionsService::NewStub(env_->channel());
    journeys_ = hl::JourneysService::NewStub(env_->channel());
    profile_ = hl::ProfileService::NewStub(env_->channel());
    offers_ = hl::OffersService::NewStub(env_->channel());
    steps_ = hl::StepsService::NewStub(env_->channel());
    aa_ = hl::AccountAggregatorService::NewStub(env_->channel());
    post_ = hl::PostDisbursalService::NewStub(env_->channel());
  }

  // A journey of `borrower` with offers available; returns its ID.
  std::string JourneyWithOffers(const std::string& borrower) {
    hl::CreateJourneyRequest create;
    create.set_borrower_external_id(borrower);
    create.mutable_journey()->set_type(cm::JOURNEY_TYPE_PERSONAL_LOAN);
    hl::CreateJourneyResponse created;
    EXPECT_TRUE(CALL(*journeys_, CreateJourney, create, created).ok());
    const std::string id = created.journey().journey_id();

    const hl::UpdateProfileRequest update = SampleProfileUpdate(borrower, id);
    hl::UpdateProfileResponse updated;
    grpc::Status status = CALL(*profile_, UpdateProfile, update, updated);
    EXPECT_TRUE(status.ok()) << status.error_message();

    hl::SubmitProfileRequest submit;
    submit.set_borrower_external_id(borrower);
    submit.set_journey_id(id);
    submit.mutable_submission()->set_bureau_consent(true);
    hl::SubmitProfileResponse submitted;
    EXPECT_TRUE(CALL(*profile_, SubmitProfile, submit, submitted).ok());
    EXPECT_EQ(submitted.operation().status(), hl::OPERATION_STATUS_ACCEPTED);
    EXPECT_GT(submitted.operation().poll_after_seconds(), 0);
    env_->AdvanceSandboxTime(60);
    return id;
  }

  // Every journey doubles as the log-redaction check: the gateway's log, complete once it has
  // exited.
  void TearDown() override {
    if (env_ == nullptr) return;
    sessions_.reset();
    journeys_.reset();
    profile_.reset();
    offers_.reset();
    steps_.reset();
    aa_.reset();
    post_.reset();
    EXPECT_EQ(env_->StopGateway(), 0);
    LogScan scan = ScanGatewayLog(log_path_, kBorrowerPii);
    EXPECT_TRUE(scan.problems.empty()) << absl::StrJoin(scan.problems, "\n");
    EXPECT_GT(scan.rpc_lines, 0) << "no per-RPC log lines at --log-level debug";
    std::remove(log_path_.c_str());
  }

  std::string log_path_;
  std::unique_ptr<GatewayEnv> env_;
  std::unique_ptr<hl::SessionsService::Stub> sessions_;
  std::unique_ptr<hl::JourneysService::Stub> journeys_;
  std::unique_ptr<hl::ProfileService::Stub> profile_;
  std::unique_ptr<hl::OffersService::Stub> offers_;
  std::unique_ptr<hl::StepsService::Stub> steps_;
  std::unique_ptr<hl::AccountAggregatorService::Stub> aa_;
  std::unique_ptr<hl::PostDisbursalService::Stub> post_;
};

TEST_F(HeadlessJourneyTest, FullJourneyThroughEveryHeadlessRpc) {
  const std::string borrower = "CUST_GW_0012";
  // CreateSession: the caller gets a session token; the refresh token stays in the gateway.
  hl::CreateSessionRequest session;
  session.mutable_session()->set_borrower_external_id(borrower);
  session.mutable_session()->set_journey_type(cm::JOURNEY_TYPE_PERSONAL_LOAN);
  hl::CreateSessionResponse created_session;
  grpc::ClientContext session_context;
  PrepareContext(&session_context, "demo-corr-1");
  grpc::Status status = sessions_->CreateSession(&session_context, session, &created_session);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created_session.session_token().rfind("st_test_", 0), 0u);
  EXPECT_TRUE(created_session.refresh_token().empty());
  EXPECT_EQ(ServerMetadata(session_context, "x-correlation-id"), "demo-corr-1");
  EXPECT_EQ(ServerMetadata(session_context, "x-platform-request-id").rfind("req_", 0), 0u);

  const std::string id = JourneyWithOffers(borrower);

  hl::GetJourneyStateRequest state_request;
  state_request.set_borrower_external_id(borrower);
  state_request.set_journey_id(id);
  hl::GetJourneyStateResponse state;
  ASSERT_TRUE(CALL(*journeys_, GetJourneyState, state_request, state).ok());
  EXPECT_EQ(state.state().status(), hl::JOURNEY_LIFECYCLE_STATUS_OFFERS_AVAILABLE);
  EXPECT_EQ(state.state().next_action(), hl::JOURNEY_ACTION_VIEW_OFFERS);

  hl::ListJourneysRequest list_request;
  list_request.set_borrower_external_id(borrower);
  list_request.set_type(cm::JOURNEY_TYPE_PERSONAL_LOAN);
  hl::ListJourneysResponse list;
  ASSERT_TRUE(CALL(*journeys_, ListJourneys, list_request, list).ok());
  ASSERT_EQ(list.items_size(), 1);
  EXPECT_EQ(list.items(0).journey_id(), id);

  hl::ResumeJourneyRequest resume;
  resume.set_borrower_external_id(borrower);
  resume.set_journey_id(id);
  (*resume.mutable_markers()->mutable_resume()->mutable_fields())["lastCompletedStep"]
      .set_string_value("profile");
  hl::ResumeJourneyResponse resumed;
  ASSERT_TRUE(CALL(*journeys_, ResumeJourney, resume, resumed).ok());
  hl::GetJourneyRequest get_journey;
  get_journey.set_borrower_external_id(borrower);
  get_journey.set_journey_id(id);
  hl::GetJourneyResponse journey;
  ASSERT_TRUE(CALL(*journeys_, GetJourney, get_journey, journey).ok());
  EXPECT_EQ(journey.journey().resume().fields().at("lastCompletedStep").string_value(), "profile");
  EXPECT_TRUE(journey.journey().capabilities().aa_enabled());

  hl::GetProfileRequest get_profile;
  get_profile.set_borrower_external_id(borrower);
  get_profile.set_journey_id(id);
  hl::GetProfileResponse profile;
  ASSERT_TRUE(CALL(*profile_, GetProfile, get_profile, profile).ok());
  EXPECT_EQ(profile.profile().profile().pan(), "ABCDE1234F");
  EXPECT_EQ(profile.profile().profile().gender(), cm::GENDER_MALE);
  EXPECT_EQ(profile.profile().work_profile().employment_type(), cm::EMPLOYMENT_TYPE_SALARIED);

  hl::ListOffersRequest list_offers;
  list_offers.set_borrower_external_id(borrower);
  list_offers.set_journey_id(id);
  hl::ListOffersResponse offers;
  ASSERT_TRUE(CALL(*offers_, ListOffers, list_offers, offers).ok());
  std::string plain, other;
  for (const auto& card : offers.items()) {
    if (card.status() != hl::OFFER_CARD_STATUS_OFFER_RECEIVED) continue;
    (card.aa().required() || !plain.empty() ? other : plain) = card.offer_id();
  }
  ASSERT_FALSE(plain.empty());
  ASSERT_FALSE(other.empty());

  hl::GetOfferRequest get_offer;
  get_offer.set_borrower_external_id(borrower);
  get_offer.set_journey_id(id);
  get_offer.set_offer_id(plain);
  hl::GetOfferResponse offer;
  ASSERT_TRUE(CALL(*offers_, GetOffer, get_offer, offer).ok());
  EXPECT_EQ(offer.offer().offer_id(), plain);
  EXPECT_FALSE(offer.offer().amount_principal().empty());

  hl::ProceedOfferRequest proceed;
  proceed.set_borrower_external_id(borrower);
  proceed.set_journey_id(id);
  proceed.set_offer_id(plain);
  hl::ProceedOfferResponse proceeded;
  ASSERT_TRUE(CALL(*offers_, ProceedOffer, proceed, proceeded).ok());
  EXPECT_EQ(proceeded.proceed_boundary_state(), hl::PROCEED_BOUNDARY_STATE_LOCKED);
  EXPECT_EQ(proceeded.offer_selection_lock().lock_source(), hl::LOCK_SOURCE_OFFER_DETAILS_PROCEED);

  hl::UpdateLoanAmountRequest amount;
  amount.set_borrower_external_id(borrower);
  amount.set_journey_id(id);
  amount.set_offer_id(plain);
  amount.mutable_loan_amount()->set_amount("100000");
  hl::UpdateLoanAmountResponse amount_response;
  grpc::Status amount_status = CALL(*offers_, UpdateLoanAmount, amount, amount_response);
  EXPECT_TRUE(amount_status.ok()) << amount_status.error_message();

  // Proceeding on another offer: FAILED_PRECONDITION with the platform's code and boundary state.
  proceed.set_offer_id(other);
  status = CALL(*offers_, ProceedOffer, proceed, proceeded);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  auto info = DetailOf<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "OFFER_LOCK_CONFLICT");
  EXPECT_EQ(info->metadata().at("proceedBoundaryState"), "LOCKED_TO_DIFFERENT_OFFER");
  EXPECT_EQ(info->metadata().at("upstream_status"), "409");
  auto request_info = DetailOf<google::rpc::RequestInfo>(status);
  ASSERT_TRUE(request_info.has_value());
  EXPECT_EQ(request_info->request_id().rfind("req_", 0), 0u);

  hl::RejectOfferRequest reject;
  reject.set_borrower_external_id(borrower);
  reject.set_journey_id(id);
  reject.set_offer_id(other);
  reject.mutable_rejection()->set_rejected_stage(hl::REJECTED_STAGE_OFFER);
  reject.mutable_rejection()->set_rejection_reason("Borrower chose another lender");
  hl::RejectOfferResponse rejected;
  status = CALL(*offers_, RejectOffer, reject, rejected);
  EXPECT_TRUE(status.ok()) << status.error_message();

  // Steps: KYC (redirect, then status), bank mandate (form), e-mandate and loan agreement
  // (redirects).
  auto step_request = [&](auto& request) {
    request.set_borrower_external_id(borrower);
    request.set_journey_id(id);
    request.set_offer_id(plain);
  };
  hl::ListStepsRequest list_steps;
  step_request(list_steps);
  hl::ListStepsResponse all_steps;
  ASSERT_TRUE(CALL(*steps_, ListSteps, list_steps, all_steps).ok());
  EXPECT_NE(all_steps.kyc().status(), hl::STEP_STATUS_UNSPECIFIED);

  hl::GetKycStepRequest kyc_request;
  step_request(kyc_request);
  hl::GetKycStepResponse kyc;
  ASSERT_TRUE(CALL(*steps_, GetKycStep, kyc_request, kyc).ok());
  EXPECT_EQ(kyc.step().action_required(), hl::ACTION_REQUIRED_REDIRECT);
  EXPECT_FALSE(kyc.step().resource().redirect_url().empty());
  hl::GetKycStatusRequest kyc_status_request;
  step_request(kyc_status_request);
  hl::GetKycStatusResponse kyc_status;
  ASSERT_TRUE(CALL(*steps_, GetKycStatus, kyc_status_request, kyc_status).ok());
  EXPECT_EQ(kyc_status.step().status(), hl::STEP_STATUS_SUCCESS);

  hl::GetBankMandateStepRequest mandate_request;
  step_request(mandate_request);
  hl::GetBankMandateStepResponse mandate;
  ASSERT_TRUE(CALL(*steps_, GetBankMandateStep, mandate_request, mandate).ok());
  EXPECT_EQ(mandate.step().action_required(), hl::ACTION_REQUIRED_SUBMIT_FORM);
  EXPECT_EQ(mandate.step().resource().type(), hl::STEP_RESOURCE_TYPE_FORM);

  hl::SubmitBankMandateRequest submit_mandate;
  step_request(submit_mandate);
  submit_mandate.mutable_bank_account()->set_account_holder_name("Rahul Sharma");
  submit_mandate.mutable_bank_account()->set_account_number("123456789012");
  submit_mandate.mutable_bank_account()->set_ifsc("NOTANIFSC");
  submit_mandate.mutable_bank_account()->set_account_type("saving");
  hl::SubmitBankMandateResponse submitted_mandate;
  status = CALL(*steps_, SubmitBankMandate, submit_mandate, submitted_mandate);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_request = DetailOf<google::rpc::BadRequest>(status);
  ASSERT_TRUE(bad_request.has_value());
  EXPECT_EQ(bad_request->field_violations(0).field(), "ifsc");
  submit_mandate.mutable_bank_account()->set_ifsc("HDFC0000123");
  ASSERT_TRUE(CALL(*steps_, SubmitBankMandate, submit_mandate, submitted_mandate).ok());
  EXPECT_EQ(submitted_mandate.step().status(), hl::STEP_STATUS_SUCCESS);

  for (int round = 0; round < 2; ++round) {
    hl::GetEMandateStepRequest e_request;
    step_request(e_request);
    hl::GetEMandateStepResponse e_mandate;
    ASSERT_TRUE(CALL(*steps_, GetEMandateStep, e_request, e_mandate).ok());
    EXPECT_EQ(e_mandate.step().status(),
              round == 0 ? hl::STEP_STATUS_IN_PROGRESS : hl::STEP_STATUS_SUCCESS);
  }
  for (int round = 0; round < 2; ++round) {
    hl::GetLoanAgreementStepRequest agreement_request;
    step_request(agreement_request);
    hl::GetLoanAgreementStepResponse agreement;
    ASSERT_TRUE(CALL(*steps_, GetLoanAgreementStep, agreement_request, agreement).ok());
    EXPECT_EQ(agreement.step().status(),
              round == 0 ? hl::STEP_STATUS_IN_PROGRESS : hl::STEP_STATUS_SUCCESS);
  }

  // Before disbursal, post-disbursal actions are refused by the platform.
  hl::RefreshLoanStatusRequest loan_status;
  loan_status.set_borrower_external_id(borrower);
  loan_status.set_journey_id(id);
  hl::RefreshLoanStatusResponse loan_status_response;
  EXPECT_EQ(CALL(*post_, RefreshLoanStatus, loan_status, loan_status_response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  env_->AdvanceSandboxTime(30);
  ASSERT_TRUE(CALL(*journeys_, GetJourney, get_journey, journey).ok());
  EXPECT_EQ(journey.journey().status(), hl::JOURNEY_LIFECYCLE_STATUS_DISBURSED);

  ASSERT_TRUE(CALL(*post_, RefreshLoanStatus, loan_status, loan_status_response).ok());
  EXPECT_EQ(loan_status_response.operation().status(), hl::OPERATION_STATUS_ACCEPTED);
  hl::RequestPrePartPaymentRequest prepay;
  prepay.set_borrower_external_id(borrower);
  prepay.set_journey_id(id);
  prepay.mutable_payment()->set_amount("10000");
  hl::RequestPrePartPaymentResponse prepaid;
  EXPECT_TRUE(CALL(*post_, RequestPrePartPayment, prepay, prepaid).ok());
  prepay.mutable_payment()->set_amount("ten");
  EXPECT_EQ(CALL(*post_, RequestPrePartPayment, prepay, prepaid).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  hl::RequestForeclosureRequest foreclose;
  foreclose.set_borrower_external_id(borrower);
  foreclose.set_journey_id(id);
  hl::RequestForeclosureResponse foreclosed;
  EXPECT_TRUE(CALL(*post_, RequestForeclosure, foreclose, foreclosed).ok());
  hl::PayMissedEmiRequest emi;
  emi.set_borrower_external_id(borrower);
  emi.set_journey_id(id);
  hl::PayMissedEmiResponse emi_paid;
  EXPECT_TRUE(CALL(*post_, PayMissedEmi, emi, emi_paid).ok());

  // RefreshSession rotates the borrower's tokens inside the gateway; later calls keep working.
  hl::RefreshSessionRequest refresh;
  refresh.set_borrower_external_id(borrower);
  hl::RefreshSessionResponse refreshed;
  status = CALL(*sessions_, RefreshSession, refresh, refreshed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(refreshed.session_token(), created_session.session_token());
  EXPECT_TRUE(refreshed.refresh_token().empty());
  ASSERT_TRUE(CALL(*journeys_, GetJourneyState, state_request, state).ok());
}

TEST_F(HeadlessJourneyTest, AccountAggregatorFlow) {
  const std::string borrower = "CUST_GW_AA";
  const std::string id = JourneyWithOffers(borrower);
  hl::ListOffersRequest list_offers;
  list_offers.set_borrower_external_id(borrower);
  list_offers.set_journey_id(id);
  hl::ListOffersResponse offers;
  ASSERT_TRUE(CALL(*offers_, ListOffers, list_offers, offers).ok());
  std::string aa_offer;
  for (const auto& card : offers.items()) {
    if (card.aa().required()) aa_offer = card.offer_id();
  }
  ASSERT_FALSE(aa_offer.empty());
  hl::ProceedOfferRequest proceed;
  proceed.set_borrower_external_id(borrower);
  proceed.set_journey_id(id);
  proceed.set_offer_id(aa_offer);
  hl::ProceedOfferResponse proceeded;
  ASSERT_TRUE(CALL(*offers_, ProceedOffer, proceed, proceeded).ok());

  hl::CreateAaSessionRequest create;
  create.set_borrower_external_id(borrower);
  create.set_journey_id(id);
  hl::CreateAaSessionResponse created;
  grpc::Status status = CALL(*aa_, CreateAaSession, create, created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created.aa_session().state(), hl::AA_SESSION_STATE_REDIRECT_READY);
  EXPECT_EQ(created.aa_session().reqdate().size(), 17u);
  const std::string aa_id = created.aa_session().aa_session_id();

  auto aa_request = [&](auto& request) {
    request.set_borrower_external_id(borrower);
    request.set_journey_id(id);
    request.set_aa_session_id(aa_id);
  };
  env_->AdvanceSandboxTime(15 * 60);
  hl::GetAaSessionRequest get;
  aa_request(get);
  hl::GetAaSessionResponse got;
  ASSERT_TRUE(CALL(*aa_, GetAaSession, get, got).ok());
  EXPECT_EQ(got.aa_session().state(), hl::AA_SESSION_STATE_EXPIRED);

  hl::CreateAaRedirectRequest redirect;
  aa_request(redirect);
  hl::CreateAaRedirectResponse redirected;
  ASSERT_TRUE(CALL(*aa_, CreateAaRedirect, redirect, redirected).ok());
  EXPECT_EQ(redirected.aa_session().state(), hl::AA_SESSION_STATE_REDIRECT_READY);
  EXPECT_NE(redirected.aa_session().redirect_url(), created.aa_session().redirect_url());

  hl::CompleteAaSessionRequest complete;
  aa_request(complete);
  hl::CompleteAaSessionResponse completed;
  ASSERT_TRUE(CALL(*aa_, CompleteAaSession, complete, completed).ok());
  hl::ReconcileAaSessionRequest reconcile;
  aa_request(reconcile);
  hl::ReconcileAaSessionResponse reconciled;
  ASSERT_TRUE(CALL(*aa_, ReconcileAaSession, reconcile, reconciled).ok());
  EXPECT_EQ(reconciled.aa_session().state(), hl::AA_SESSION_STATE_CONFIRMED);

  hl::ListAaSessionsRequest list;
  list.set_borrower_external_id(borrower);
  list.set_journey_id(id);
  hl::ListAaSessionsResponse sessions;
  ASSERT_TRUE(CALL(*aa_, ListAaSessions, list, sessions).ok());
  EXPECT_EQ(sessions.items_size(), 1);
}

TEST_F(HeadlessJourneyTest, PlatformErrorsMapToGrpcCodes) {
  const std::string id = JourneyWithOffers("CUST_GW_OWNER");
  hl::GetJourneyStateRequest request;
  request.set_journey_id(id);

  // Another borrower's journey: PERMISSION_DENIED (ACCESS_SCOPE_MISMATCH).
  request.set_borrower_external_id("CUST_GW_STRANGER");
  hl::GetJourneyStateResponse response;
  grpc::Status status = CALL(*journeys_, GetJourneyState, request, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(DetailOf<google::rpc::ErrorInfo>(status)->reason(), "ACCESS_SCOPE_MISMATCH");

  // An unknown journey: NOT_FOUND.
  request.set_borrower_external_id("CUST_GW_OWNER");
  request.set_journey_id("00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(CALL(*journeys_, GetJourneyState, request, response).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Bad input never reaches the platform.
  int64_t before = env_->SandboxRequests("GET /api/v1/headless/journeys/{journeyID}/state");
  request.set_journey_id("not-a-uuid");
  status = CALL(*journeys_, GetJourneyState, request, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(DetailOf<google::rpc::BadRequest>(status)->field_violations(0).field(), "journey_id");
  request.set_journey_id(id);
  request.clear_borrower_external_id();
  EXPECT_EQ(CALL(*journeys_, GetJourneyState, request, response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(env_->SandboxRequests("GET /api/v1/headless/journeys/{journeyID}/state"), before);

  // Submitting an incomplete profile: INVALID_ARGUMENT naming the platform's field.
  hl::CreateJourneyRequest create;
  create.set_borrower_external_id("CUST_GW_OWNER");
  create.mutable_journey()->set_type(cm::JOURNEY_TYPE_PERSONAL_LOAN);
  hl::CreateJourneyResponse created;
  ASSERT_TRUE(CALL(*journeys_, CreateJourney, create, created).ok());
  hl::SubmitProfileRequest submit;
  submit.set_borrower_external_id("CUST_GW_OWNER");
  submit.set_journey_id(created.journey().journey_id());
  submit.mutable_submission()->set_bureau_consent(true);
  hl::SubmitProfileResponse submitted;
  status = CALL(*profile_, SubmitProfile, submit, submitted);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_request = DetailOf<google::rpc::BadRequest>(status);
  ASSERT_TRUE(bad_request.has_value());
  EXPECT_EQ(bad_request->field_violations(0).field().rfind("profile.", 0), 0u)
      << bad_request->field_violations(0).field();
}

}  // namespace
}  // namespace aarthik::testing
