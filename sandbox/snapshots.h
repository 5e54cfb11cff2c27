// `journey.snapshot` web-hook payloads (§4.3).
//
// Variant A (headless journeys): schema_version envelope with borrower.journeys[].
// Variant B (Hybrid and Hosted journeys): the credit "OutBound journey snapshot" with
// borrower.journey, ONDC ids and the origin_experience / current_experience_surface fields.
//
// Example:
//   nlohmann::json body = VariantASnapshot(ctx, borrower, journeys, changed);
//   std::string raw = body.dump();   // signed and delivered by WebhookDispatcher
//
// Thread-safety: pure functions.
#ifndef AARTHIK_SANDBOX_SNAPSHOTS_H_
#define AARTHIK_SANDBOX_SNAPSHOTS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "sandbox/journey_model.h"

namespace aarthik::sandbox {

struct SnapshotContext {
  std::string tenant_id;
  std::string application_id;
  std::string event_id;
  absl::Time now;
  int64_t sequence;  // monotonic, epoch-ms-like
};

// `journeys`: every headless journey of the borrower (the changed one included).
nlohmann::json VariantASnapshot(const SnapshotContext& ctx, const Borrower& borrower,
                                const std::vector<const Journey*>& journeys,
                                const Journey& changed);

nlohmann::json VariantBSnapshot(const SnapshotContext& ctx, const Borrower& borrower,
                                const Journey& journey);

// issuer.trigger for a headless status, e.g. "journey.offer.updated".
std::string TriggerFor(const Journey& journey);

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_SNAPSHOTS_H_
