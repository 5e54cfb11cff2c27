// A headless journey.snapshot web-hook body (contract §4.3, variant A) for the events tests: one
// borrower "CUST_<journey>" with one journey in `status`.
//
//   std::string body = HeadlessSnapshotBody("evt_1", /*sequence=*/100, "j1");
//
// Thread-safety: a pure function.
#ifndef AARTHIK_TESTS_UNIT_EVENTS_SNAPSHOT_BODY_H_
#define AARTHIK_TESTS_UNIT_EVENTS_SNAPSHOT_BODY_H_

#include <cstdint>
#include <string>

#include "nlohmann/json.hpp"

namespace aarthik::events {

// `tenant` and `application` are left out of the body when empty.
inline std::string HeadlessSnapshotBody(const std::string& event_id, int64_t sequence,
                                        const std::string& journey,
                                        const std::string& status = "OFFERS_PENDING",
                                        const std::string& tenant = "",
                                        const std::string& application = "") {
  nlohmann::json body = {
      {"schema_version", "1.0.0"},
      {"event_type", "journey.snapshot"},
      {"event_id", event_id},
      {"event_at", "2026-03-05T16:48:20.000Z"},
      {"snapshot_generated_at", "2026-03-05T16:48:20.000Z"},
      {"sequence", sequence},
      {"issuer", {{"source", "credit-api"}, {"trigger", "journey.offer.updated"}}},
      {"borrower",
       {{"borrowerExternalID", "CUST_" + journey},
        {"journeys", {{{"journeyID", journey}, {"status", status}, {"nextAction", "WAIT"}}}}}}};
  if (!tenant.empty()) body["tenant_id"] = tenant;
  if (!application.empty()) body["application_id"] = application;
  return body.dump();
}

}  // namespace aarthik::events

#endif  // AARTHIK_TESTS_UNIT_EVENTS_SNAPSHOT_BODY_H_
