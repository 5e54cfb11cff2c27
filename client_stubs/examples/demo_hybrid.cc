// Demo's Hybrid journey: start, poll for offers, and the hand-off to Hosted; see demo.h.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "demo.h"

namespace aarthik::demo {

bool Demo::RunHybrid() {
  const std::string borrower = absl::StrCat(flags_.borrower, "-HYBRID");
  Say(absl::StrCat("\n== Hybrid journey: borrower_provider_id ", borrower));

  hy::StartJourneyRequest start;
  start.set_borrower_provider_id(borrower);
  cm::PersonalProfile* personal = start.mutable_prefill()->mutable_personal();
  personal->set_contact_number("9876543211");
  personal->set_pan_name("Asha Verma");
  hy::StartJourneyResponse started;
  milliseconds hint = kDefaultPollHint;
  if (!Step(
          "StartJourney", Kind::kWrite,
          [&](grpc::ClientContext* c) { return hybrid_->StartJourney(c, start, &started); },
          [&] {
            const hy::HybridJourney& journey = started.journey();
            if (journey.poll_after_ms() > 0) hint = milliseconds(journey.poll_after_ms());
            return absl::StrCat("journey ", journey.journey_id(), " ", Name(journey.status()),
                                journey.resumed() ? " (resumed)" : "", WaitNote(hint));
          })) {
    return false;
  }

  // Polls until an offer can be handed off: OFFERED with a received offer, or, for a journey
  // resumed after an earlier hand-off (same --borrower), the offer it selected then.
  std::string offer_id;
  std::string offer_lender;
  for (;;) {
    if (!Wait(hint, "Hybrid offers")) return false;
    hy::PollOffersRequest poll;
    poll.set_borrower_provider_id(borrower);
    hy::PollOffersResponse polled;
    bool ready = false;
    if (!Step(
            "PollOffers", Kind::kRead,
            [&](grpc::ClientContext* c) { return hybrid_->PollOffers(c, poll, &polled); },
            [&] {
              const hy::HybridOffers& offers = polled.offers();
              if (offers.poll_after_ms() > 0) hint = milliseconds(offers.poll_after_ms());
              // Lender names sorted, so that the chosen offer does not depend on map order.
              std::vector<std::string> names;
              for (const auto& [name, lender] : offers.lenders()) names.push_back(name);
              std::sort(names.begin(), names.end());
              int received = 0;
              bool selected = false;
              offer_id.clear();
              for (const std::string& name : names) {
                for (const hy::HybridOffer& offer : offers.lenders().at(name).offers()) {
                  if (offer.status() != hy::HYBRID_OFFER_STATUS_OFFER_RECEIVED) continue;
                  ++received;
                  if (offer_id.empty() || (offer.selected() && !selected)) {
                    offer_id = offer.offer_id();
                    offer_lender = name;
                    selected = offer.selected();
                  }
                }
              }
              ready = offers.status() == cm::EXPERIENCE_STATUS_OFFERED ? received > 0 : selected;
              std::string text = Name(offers.status());
              if (offers.lenders_size() > 0) {
                absl::StrAppend(&text, ", ", offers.lenders_size(), " lenders, ", received,
                                received == 1 ? " offer" : " offers", " received");
              }
              if (selected) absl::StrAppend(&text, ", ", offer_lender, " selected earlier");
              if (offers.has_account_aggregator()) {
                absl::StrAppend(
                    &text, ", AA ",
                    Short(hy::AccountAggregatorStatus_Name(offers.account_aggregator().status()),
                          "ACCOUNT_AGGREGATOR_STATUS_"));
              }
              if (!ready && offers.status() != cm::EXPERIENCE_STATUS_NOT_OFFERED) {
                absl::StrAppend(&text, WaitNote(hint));
              }
              return text;
            })) {
      return false;
    }
    if (ready) break;
    switch (polled.offers().status()) {
      case cm::EXPERIENCE_STATUS_NOT_OFFERED:
        return Fail("the Hybrid journey ended NOT_OFFERED: no lender made an offer");
      case cm::EXPERIENCE_STATUS_REJECTED:
      case cm::EXPERIENCE_STATUS_DISBURSED:
        return Fail(absl::StrCat("the Hybrid journey is already ", Name(polled.offers().status()),
                                 " with no offer to hand off"));
      default:
        break;
    }
  }

  hy::GetHostedUrlRequest hand_off;
  hand_off.set_borrower_provider_id(borrower);
  hand_off.set_offer_id(offer_id);
  hy::GetHostedUrlResponse url;
  if (!Step(
          "GetHostedUrl", Kind::kRead,
          [&](grpc::ClientContext* c) { return hybrid_->GetHostedUrl(c, hand_off, &url); },
          [&] {
            return absl::StrCat(offer_lender, " offer: hosted URL ",
                                UrlHost(url.hand_off().hosted_url()), " until ",
                                url.hand_off().expires_at());
          })) {
    return false;
  }
  // The web-hook for OFFERED left the platform when the journey got there; give it a moment to
  // show up in the transcript. Not a failure when it does not: the headless journey proved the
  // path.
  if (!streams_.empty()) {
    AwaitEvent([this] { return hybrid_seen_.count("OFFERED") > 0; });
  }
  return true;
}

}  // namespace aarthik::demo
