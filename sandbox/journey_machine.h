// The journey state machine: time-driven transitions and step progression.
//
// Time-driven changes (offers arriving, disbursal, Hybrid stages, AA URL expiry) are applied lazily
// by `Advance` whenever a journey is read or the ticker runs, and each intermediate status is
// reported to the observer so web-hooks see every step even after a large time jump.
//
// Headless rules (documented in docs/sandbox.md):
//   STARTED → (PUT profile) PROFILE_REQUIRED → (submit) PROFILE_SUBMITTED → (+dispatch delay)
//   OFFERS_PENDING → (+offer delay) OFFERS_AVAILABLE | REJECTED (no offers) → (proceed) AA_REQUIRED
//   (AA lender, no confirmed AA) | KYC_PENDING → BANK_MANDATE_PENDING → E_MANDATE_PENDING →
//   LOAN_AGREEMENT_PENDING → LENDER_PROCESSING → (+step delay) DISBURSED.
//
// Example:
//   Timings timings{absl::Seconds(10), absl::Seconds(5), absl::Minutes(15)};
//   Advance(journey, clock.Now(), timings, [&](const Journey& j) { webhooks.Notify(j); });
//
// Thread-safety: functions mutate the journey passed in; callers hold the Platform mutex.
#ifndef AARTHIK_SANDBOX_JOURNEY_MACHINE_H_
#define AARTHIK_SANDBOX_JOURNEY_MACHINE_H_

#include <algorithm>
#include <functional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sandbox/ids.h"
#include "sandbox/journey_model.h"

namespace aarthik::sandbox {

struct Timings {
  absl::Duration offer_delay = absl::Seconds(10);
  absl::Duration step_delay = absl::Seconds(5);
  absl::Duration aa_url_ttl = absl::Minutes(15);
  // Submission → OFFERS_PENDING (Hybrid: STARTED → PROFILED): a fifth of the offer delay, ≤ 2 s.
  absl::Duration dispatch_delay() const { return std::min(offer_delay / 5, absl::Seconds(2)); }
};

// Called after each status change with the journey in its new state.
using ChangeObserver = std::function<void(const Journey&)>;

// Headless `nextAction` for a status (null → empty string).
absl::string_view NextActionFor(absl::string_view status);
bool IsTerminalStatus(const Journey& journey);

// Creates the journey's offers (one per lender) when the profile is submitted or a Hybrid journey
// starts. Deterministic for the generator's seed.
void GenerateOffers(Journey& journey, absl::Time submitted_at, const Timings& timings,
                    IdGenerator& ids);

// OfferCardStatus at `now`: OFFER_RECEIVED, OFFER_AWAITED or NO_OFFER_AVAILABLE.
absl::string_view OfferCardStatus(const Offer& offer, absl::Time now);
bool OfferSelectable(const Journey& journey, const Offer& offer, absl::Time now);

// Applies every transition due at `now`.
void Advance(Journey& journey, absl::Time now, const Timings& timings,
             const ChangeObserver& observer);

// Sets `status` (and updated_at) and notifies when it changed.
void SetStatus(Journey& journey, absl::string_view status, absl::Time at,
               const ChangeObserver& observer);

// Headless: after proceed, AA confirmation or a completed step, makes the first unfinished step
// actionable and derives the journey status from the steps.
void RecomputeSteps(Journey& journey, absl::Time now, const ChangeObserver& observer);

// Headless: marks a step SUCCESS and moves on.
void CompleteStep(Journey& journey, int step, absl::Time now, const ChangeObserver& observer);

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_JOURNEY_MACHINE_H_
