// Demo's headless borrower journey: session, journey, profile, offers and the offer lock, Account
// Aggregator consent, the lender's steps, disbursal and post-disbursal status; see demo.h.
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "demo.h"
#include "google/rpc/error_details.pb.h"

namespace aarthik::demo {

template <typename Request, typename Response>
bool Demo::CompleteRedirectStep(absl::string_view name,
                                grpc::Status (hl::StepsService::Stub::*method)(grpc::ClientContext*,
                                                                               const Request&,
                                                                               Response*)) {
  for (int read = 0; read < 3; ++read) {
    Request request;
    OfferScope(&request);
    Response response;
    if (!Step(
            name, Kind::kRead,
            [&](grpc::ClientContext* c) { return (steps_.get()->*method)(c, request, &response); },
            [&] { return DescribeStep(response.step()); })) {
      return false;
    }
    if (response.step().status() == hl::STEP_STATUS_SUCCESS) return true;
  }
  return Fail(absl::StrCat(name, " did not reach SUCCESS after three reads"));
}

bool Demo::RunHeadless() {
  Say(absl::StrCat("\n== Headless journey: borrowerExternalID ", flags_.borrower));

  hl::CreateSessionRequest session_request;
  session_request.mutable_session()->set_borrower_external_id(flags_.borrower);
  session_request.mutable_session()->set_journey_type(cm::JOURNEY_TYPE_PERSONAL_LOAN);
  hl::CreateSessionResponse session;
  if (!Step(
          "CreateSession", Kind::kWrite,
          [&](grpc::ClientContext* c) {
            return sessions_->CreateSession(c, session_request, &session);
          },
          [&] {
            return absl::StrCat("session ", TokenPrefix(session.session_token()), " until ",
                                session.session_expires_at(),
                                session.active_journey().journey_id().empty()
                                    ? ", no active journey"
                                    : ", resumes an active journey");
          })) {
    return false;
  }

  hl::CreateJourneyRequest create;
  create.set_borrower_external_id(flags_.borrower);
  create.mutable_journey()->set_type(cm::JOURNEY_TYPE_PERSONAL_LOAN);
  hl::CreateJourneyResponse created;
  if (!Step(
          "CreateJourney", Kind::kWrite,
          [&](grpc::ClientContext* c) { return journeys_->CreateJourney(c, create, &created); },
          [&] {
            journey_id_ = created.journey().journey_id();
            std::lock_guard<std::mutex> lock(events_mu_);
            watched_journey_ = journey_id_;
            return absl::StrCat("journey ", journey_id_, " ", Name(created.journey().status()),
                                ", next ", Name(created.journey().next_action()));
          })) {
    return false;
  }

  // Sample borrower data; the transcript never prints it.
  hl::UpdateProfileRequest update;
  Scope(&update);
  cm::PersonalProfile* personal = update.mutable_profile()->mutable_profile();
  personal->set_contact_number("9876543210");
  personal->set_pan("ABCDE1234F");
  personal->set_pan_name("Asha Verma");
  personal->set_dob("1992-04-18");
  personal->set_gender(cm::GENDER_FEMALE);
  personal->set_personal_email("asha.verma@example.com");
  cm::WorkProfile* work = update.mutable_profile()->mutable_work_profile();
  work->set_employment_type(cm::EMPLOYMENT_TYPE_SALARIED);
  work->set_income("85000");
  work->set_company_name("Example Analytics Pvt Ltd");
  cm::Address* address = update.mutable_profile()->mutable_address();
  address->set_address_l1("12 MG Road");
  address->set_city("Pune");
  address->set_state("Maharashtra");
  address->set_pincode("411001");
  hl::UpdateProfileResponse updated;
  if (!Step(
          "UpdateProfile", Kind::kWrite,
          [&](grpc::ClientContext* c) { return profile_->UpdateProfile(c, update, &updated); },
          [&] {
            const int missing = updated.profile().required_fields_size();
            return missing == 0
                       ? std::string("profile saved, no required field missing")
                       : absl::StrCat("profile saved, ", missing, " required fields still missing");
          })) {
    return false;
  }

  hl::SubmitProfileRequest submit;
  Scope(&submit);
  submit.mutable_submission()->set_bureau_consent(true);
  hl::SubmitProfileResponse submitted;
  milliseconds hint = kDefaultPollHint;
  if (!Step(
          "SubmitProfile", Kind::kWrite,
          [&](grpc::ClientContext* c) { return profile_->SubmitProfile(c, submit, &submitted); },
          [&] {
            const hl::Operation& op = submitted.operation();
            if (op.poll_after_seconds() > 0) hint = milliseconds(op.poll_after_seconds() * 1000);
            return absl::StrCat(Name(op.status()), " ", op.operation_id(), WaitNote(hint));
          })) {
    return false;
  }
  if (submitted.operation().status() != hl::OPERATION_STATUS_ACCEPTED) {
    return Fail("SubmitProfile was not ACCEPTED");
  }
  if (!AwaitStatus(hl::JOURNEY_LIFECYCLE_STATUS_OFFERS_AVAILABLE, hint)) return false;

  // Offers: prefer one that needs Account Aggregator consent, so that the AA flow is part of
  // the journey; keep another received offer to show the offer lock.
  hl::ListOffersRequest list;
  Scope(&list);
  hl::ListOffersResponse offers;
  std::string other_offer_id;
  bool needs_aa = false;
  if (!Step(
          "ListOffers", Kind::kRead,
          [&](grpc::ClientContext* c) { return offers_->ListOffers(c, list, &offers); },
          [&] {
            int received = 0, awaited = 0, none = 0, with_aa = 0;
            std::string plain;
            for (const hl::OfferCard& card : offers.items()) {
              switch (card.status()) {
                case hl::OFFER_CARD_STATUS_OFFER_RECEIVED:
                  ++received;
                  if (card.aa().required()) {
                    ++with_aa;
                    if (!needs_aa) offer_id_ = card.offer_id();
                    needs_aa = true;
                  } else if (plain.empty()) {
                    plain = card.offer_id();
                  }
                  break;
                case hl::OFFER_CARD_STATUS_OFFER_AWAITED:
                  ++awaited;
                  break;
                default:
                  ++none;
              }
            }
            if (!needs_aa) offer_id_ = plain;
            if (needs_aa) other_offer_id = plain;
            return absl::StrCat(offers.items_size(), " lenders: ", received, " received (", with_aa,
                                " needing AA), ", awaited, " awaited, ", none, " no offer");
          })) {
    return false;
  }
  if (offer_id_.empty()) return Fail("ListOffers returned no received offer to proceed with");

  hl::GetOfferRequest get_offer;
  OfferScope(&get_offer);
  hl::GetOfferResponse offer;
  if (!Step(
          "GetOffer", Kind::kRead,
          [&](grpc::ClientContext* c) { return offers_->GetOffer(c, get_offer, &offer); },
          [&] {
            const hl::OfferDetail& detail = offer.offer();
            return absl::StrCat(detail.lender_name(), ": INR ", detail.amount_principal(), " at ",
                                detail.interest_rate(), "% for ", detail.offer_term(),
                                detail.aa().required() ? ", needs AA" : "", ", ",
                                Name(detail.proceed_boundary_state()));
          })) {
    return false;
  }
  lender_name_ = offer.offer().lender_name();

  hl::ProceedOfferRequest proceed;
  OfferScope(&proceed);
  hl::ProceedOfferResponse proceeded;
  if (!Step(
          "ProceedOffer", Kind::kWrite,
          [&](grpc::ClientContext* c) { return offers_->ProceedOffer(c, proceed, &proceeded); },
          [&] {
            return absl::StrCat(lender_name_, " offer ", Name(proceeded.status()), ", ",
                                Name(proceeded.proceed_boundary_state()));
          })) {
    return false;
  }

  if (!other_offer_id.empty() && !ShowOfferLock(other_offer_id)) return false;
  if (needs_aa && !RunAccountAggregator()) return false;
  if (!RunSteps()) return false;
  if (!AwaitStatus(hl::JOURNEY_LIFECYCLE_STATUS_DISBURSED, milliseconds(0))) return false;
  if (!AwaitHeadlessEvent()) return false;

  hl::RefreshLoanStatusRequest loan_status;
  Scope(&loan_status);
  hl::RefreshLoanStatusResponse loan_status_response;
  return Step(
      "RefreshLoanStatus", Kind::kWrite,
      [&](grpc::ClientContext* c) {
        return post_->RefreshLoanStatus(c, loan_status, &loan_status_response);
      },
      [&] {
        const hl::Operation& op = loan_status_response.operation();
        return absl::StrCat("post-disbursal status ", Name(op.status()), " ", op.operation_id(),
                            ", poll after ", op.poll_after_seconds(), " s");
      });
}

bool Demo::ShowOfferLock(const std::string& other_offer_id) {
  hl::ProceedOfferRequest proceed;
  Scope(&proceed);
  proceed.set_offer_id(other_offer_id);
  hl::ProceedOfferResponse response;
  CallRecord record = Invoke(Kind::kWrite, [&](grpc::ClientContext* c) {
    return offers_->ProceedOffer(c, proceed, &response);
  });
  google::rpc::ErrorInfo info;
  if (record.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
      UnpackDetail(record.status, &info) && info.reason() == "OFFER_LOCK_CONFLICT") {
    Print("ProceedOffer", record, "REFUSED",
          absl::StrCat("another offer (expected, the first proceed holds the lock): ",
                       DescribeError(record.status)));
    return true;
  }
  const std::string outcome = record.status.ok() ? std::string("OK") : DescribeError(record.status);
  Print("ProceedOffer", record, "UNEXPECTED", outcome);
  return Fail(
      absl::StrCat("a second ProceedOffer should fail with OFFER_LOCK_CONFLICT, got ", outcome));
}

bool Demo::RunAccountAggregator() {
  hl::GetJourneyStateRequest state_request;
  Scope(&state_request);
  hl::GetJourneyStateResponse state;
  if (!Step(
          "GetJourneyState", Kind::kRead,
          [&](grpc::ClientContext* c) {
            return journeys_->GetJourneyState(c, state_request, &state);
          },
          [&] { return Describe(state.state()); })) {
    return false;
  }

  hl::CreateAaSessionRequest create;
  Scope(&create);
  create.mutable_aa_session()->set_offer_id(offer_id_);
  hl::CreateAaSessionResponse created;
  if (!Step(
          "CreateAaSession", Kind::kWrite,
          [&](grpc::ClientContext* c) { return aa_->CreateAaSession(c, create, &created); },
          [&] {
            const hl::AaSession& aa = created.aa_session();
            return absl::StrCat("consent ", Name(aa.state()), ", redirect ",
                                UrlHost(aa.redirect_url()), " until ", aa.expires_at());
          })) {
    return false;
  }
  const std::string aa_session_id = created.aa_session().aa_session_id();

  hl::CompleteAaSessionRequest complete;
  Scope(&complete);
  complete.set_aa_session_id(aa_session_id);
  hl::CompleteAaSessionResponse completed;
  if (!Step(
          "CompleteAaSession", Kind::kWrite,
          [&](grpc::ClientContext* c) { return aa_->CompleteAaSession(c, complete, &completed); },
          [&] {
            return absl::StrCat("borrower returned, consent ",
                                Name(completed.aa_session().state()));
          })) {
    return false;
  }

  hl::ReconcileAaSessionRequest reconcile;
  Scope(&reconcile);
  reconcile.set_aa_session_id(aa_session_id);
  hl::ReconcileAaSessionResponse reconciled;
  if (!Step(
          "ReconcileAaSession", Kind::kWrite,
          [&](grpc::ClientContext* c) {
            return aa_->ReconcileAaSession(c, reconcile, &reconciled);
          },
          [&] { return absl::StrCat("consent ", Name(reconciled.aa_session().state())); })) {
    return false;
  }
  if (reconciled.aa_session().state() != hl::AA_SESSION_STATE_CONFIRMED) {
    return Fail("the AA consent was not CONFIRMED after reconciliation");
  }
  return true;
}

bool Demo::RunSteps() {
  hl::ListStepsRequest list;
  OfferScope(&list);
  hl::ListStepsResponse steps;
  if (!Step(
          "ListSteps", Kind::kRead,
          [&](grpc::ClientContext* c) { return steps_->ListSteps(c, list, &steps); },
          [&] {
            return absl::StrCat("kyc ", Name(steps.kyc().status()), ", bank mandate ",
                                Name(steps.bank_mandate().status()), ", e-mandate ",
                                Name(steps.e_mandate().status()), ", agreement ",
                                Name(steps.loan_agreement().status()), ", disbursal ",
                                Name(steps.disbursal().status()));
          })) {
    return false;
  }

  // KYC: reading the step issues the redirect; its status endpoint completes it once the
  // borrower is back.
  hl::GetKycStepRequest kyc_request;
  OfferScope(&kyc_request);
  hl::GetKycStepResponse kyc;
  if (!Step(
          "GetKycStep", Kind::kRead,
          [&](grpc::ClientContext* c) { return steps_->GetKycStep(c, kyc_request, &kyc); },
          [&] { return DescribeStep(kyc.step()); })) {
    return false;
  }
  hl::GetKycStatusRequest kyc_status_request;
  OfferScope(&kyc_status_request);
  hl::GetKycStatusResponse kyc_status;
  if (!Step(
          "GetKycStatus", Kind::kRead,
          [&](grpc::ClientContext* c) {
            return steps_->GetKycStatus(c, kyc_status_request, &kyc_status);
          },
          [&] { return DescribeStep(kyc_status.step()); })) {
    return false;
  }
  if (kyc_status.step().status() != hl::STEP_STATUS_SUCCESS) {
    return Fail("KYC did not reach SUCCESS");
  }

  hl::GetBankMandateStepRequest mandate_request;
  OfferScope(&mandate_request);
  hl::GetBankMandateStepResponse mandate;
  if (!Step(
          "GetBankMandateStep", Kind::kRead,
          [&](grpc::ClientContext* c) {
            return steps_->GetBankMandateStep(c, mandate_request, &mandate);
          },
          [&] {
            std::string text = DescribeStep(mandate.step());
            const auto& form = mandate.step().resource().form().fields();
            auto fields = form.find("fields");
            if (fields != form.end() && fields->second.has_list_value()) {
              absl::StrAppend(&text, ", form with ", fields->second.list_value().values_size(),
                              " fields");
            }
            return text;
          })) {
    return false;
  }
  hl::SubmitBankMandateRequest submit_mandate;
  OfferScope(&submit_mandate);
  hl::BankAccount* account = submit_mandate.mutable_bank_account();
  account->set_account_holder_name("Asha Verma");
  account->set_account_number("501002345678");
  account->set_ifsc("HDFC0001234");
  account->set_account_type("savings");
  hl::SubmitBankMandateResponse submitted_mandate;
  if (!Step(
          "SubmitBankMandate", Kind::kWrite,
          [&](grpc::ClientContext* c) {
            return steps_->SubmitBankMandate(c, submit_mandate, &submitted_mandate);
          },
          [&] { return DescribeStep(submitted_mandate.step()); })) {
    return false;
  }

  return CompleteRedirectStep("GetEMandateStep", &hl::StepsService::Stub::GetEMandateStep) &&
         CompleteRedirectStep("GetLoanAgreementStep",
                              &hl::StepsService::Stub::GetLoanAgreementStep);
}

}  // namespace aarthik::demo
