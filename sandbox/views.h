// JSON views of the sandbox's data, spelled exactly as the contract spells them (headless camelCase
// `data` objects of §3.2–3.8, Hybrid snake_case poll data of §3.9, web-hook payloads of §4.3).
//
// Example:
//   nlohmann::json data = StateJson(journey);          // {journeyID,status,nextAction,...}
//   std::string when = IsoTimeMillis(clock.Now());     // "2026-03-05T15:15:00.000Z"
//
// Thread-safety: pure functions over values the caller keeps stable (Platform mutex held).
#ifndef AARTHIK_SANDBOX_VIEWS_H_
#define AARTHIK_SANDBOX_VIEWS_H_

#include <string>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "sandbox/journey_model.h"

namespace aarthik::sandbox {

std::string IsoTimeMillis(absl::Time t);   // 2026-03-05T15:15:00.000Z
std::string IsoTimeSeconds(absl::Time t);  // 2026-01-05T12:45:00Z (Variant B samples)

nlohmann::json NextActionJson(const Journey& journey);  // string or null
nlohmann::json JourneyJson(const Journey& journey);
nlohmann::json JourneySummaryJson(const Journey& journey);
nlohmann::json StateJson(const Journey& journey);
// The stored profile plus `requiredFields` still missing for submission.
nlohmann::json ProfileJson(const Journey& journey);
// Fields that must be filled before POST /profile/submit, in check order.
std::vector<std::string> MissingProfileFields(const Journey& journey);

std::string ProceedBoundaryState(const Journey& journey, const Offer& offer);
nlohmann::json OfferCardJson(const Journey& journey, const Offer& offer, absl::Time now);
nlohmann::json OfferDetailJson(const Journey& journey, const Offer& offer, absl::Time now);
nlohmann::json StepJson(const StepState& step);
nlohmann::json StepsJson(const Journey& journey);
nlohmann::json AaSessionJson(const Journey& journey, const AaSession& aa);

// Hybrid: `data` of the poll response (without poll_after_ms).
nlohmann::json HybridOffersJson(const Journey& journey, absl::Time now);

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_VIEWS_H_
