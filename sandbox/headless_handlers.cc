// Headless sessions, journeys and profile handlers (contract §3.1–3.3).
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sandbox/platform.h"
#include "sandbox/validation.h"
#include "sandbox/views.h"

namespace aarthik::sandbox {
namespace {

// Value of query parameter `name` in `target` ("" when absent).
std::string QueryParam(absl::string_view target, absl::string_view name) {
  size_t q = target.find('?');
  if (q == absl::string_view::npos) return "";
  absl::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    absl::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == absl::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
    }
    if (amp == absl::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

}  // namespace

Platform::Reply Platform::SessionsCreate(Call& call) {
  nlohmann::json& body = call.body;
  auto external = body.find("borrowerExternalID");
  if (external == body.end() || !external->is_string() ||
      external->get_ref<const std::string&>().empty() ||
      external->get_ref<const std::string&>().size() > 128) {
    return Error(ValidationFailed("borrowerExternalID",
                                  "borrowerExternalID is required (1..128 characters)."));
  }
  if (body.contains("journeyType") && !body["journeyType"].is_null() &&
      (!body["journeyType"].is_string() ||
       !IsJourneyType(body["journeyType"].get<std::string>()))) {
    return Error(
        ValidationFailed("journeyType", "journeyType must be PERSONAL_LOAN or GOLD_LOAN."));
  }
  if (body.contains("profile") && !body["profile"].is_null()) {
    if (auto error = ValidatePersonal(body["profile"], "profile")) return Error(*error);
  }
  const std::string external_id = external->get<std::string>();
  auto it = borrower_by_external_id_.find(external_id);
  Borrower* borrower;
  if (it == borrower_by_external_id_.end()) {
    Borrower fresh;
    fresh.id = ids_.Uuid();
    fresh.external_id = external_id;
    borrower_by_external_id_[external_id] = fresh.id;
    std::string id = fresh.id;
    borrower = &(borrowers_[id] = std::move(fresh));
  } else {
    borrower = &borrowers_[it->second];
  }
  if (body.contains("profile") && body["profile"].is_object()) {
    borrower->prefill.update(body["profile"]);
  }
  SessionGrant grant = tokens_.Mint(borrower->id, call.now);
  counters_.CountSessionMinted();

  nlohmann::json active = nullptr;
  for (auto id = borrower->journey_ids.rbegin(); id != borrower->journey_ids.rend(); ++id) {
    auto j = journeys_.find(*id);
    if (j == journeys_.end() || j->second.surface != Surface::kHeadless) continue;
    AdvanceJourney(j->second, call.now);
    if (IsTerminalStatus(j->second)) continue;
    active = {{"journeyID", j->second.id},
              {"status", j->second.status},
              {"nextAction", NextActionJson(j->second)}};
    break;
  }
  return Ok({{"borrowerID", borrower->id},
             {"borrowerExternalID", borrower->external_id},
             {"sessionToken", grant.session_token},
             {"refreshToken", grant.refresh_token},
             {"sessionExpiresAt", IsoTimeMillis(grant.session_expires_at)},
             {"refreshExpiresAt", IsoTimeMillis(grant.refresh_expires_at)},
             {"activeJourney", active}});
}

Platform::Reply Platform::SessionsRefresh(Call& call) {
  std::string token;
  auto in_body = call.body.find("refreshToken");
  if (in_body != call.body.end() && in_body->is_string()) {
    token = in_body->get<std::string>();
  } else {
    absl::string_view header(call.http["Authorization"].data(), call.http["Authorization"].size());
    if (header.size() > 7 && absl::EqualsIgnoreCase(header.substr(0, 7), "Bearer ")) {
      token = std::string(absl::StripAsciiWhitespace(header.substr(7)));
    }
  }
  if (token.empty()) return Error(InvalidSession("Missing session or refresh token."));
  TokenRefresh refreshed = tokens_.Refresh(token, call.now);
  if (refreshed.error) return Error(*refreshed.error);
  counters_.CountRefresh();
  const SessionGrant& grant = refreshed.grant;
  return Ok({{"sessionToken", grant.session_token},
             {"refreshToken", grant.refresh_token},
             {"sessionExpiresAt", IsoTimeMillis(grant.session_expires_at)},
             {"refreshExpiresAt", IsoTimeMillis(grant.refresh_expires_at)}});
}

Platform::Reply Platform::JourneysList(Call& call) {
  absl::string_view target(call.http.target().data(), call.http.target().size());
  const std::string type = QueryParam(target, "type");
  if (!type.empty() && !IsJourneyType(type)) {
    return Error(ValidationFailed("type", "type must be PERSONAL_LOAN or GOLD_LOAN."));
  }
  nlohmann::json items = nlohmann::json::array();
  auto borrower = borrowers_.find(call.borrower_id);
  if (borrower != borrowers_.end()) {
    for (const std::string& id : borrower->second.journey_ids) {
      auto j = journeys_.find(id);
      if (j == journeys_.end() || j->second.surface != Surface::kHeadless) continue;
      if (!type.empty() && j->second.type != type) continue;
      AdvanceJourney(j->second, call.now);
      items.push_back(JourneySummaryJson(j->second));
    }
  }
  return Ok({{"items", std::move(items)}});
}

Platform::Reply Platform::JourneysCreate(Call& call) {
  auto type = call.body.find("type");
  if (type == call.body.end() || !type->is_string() || !IsJourneyType(type->get<std::string>())) {
    return Error(ValidationFailed("type", "type is required: PERSONAL_LOAN or GOLD_LOAN."));
  }
  auto metadata = call.body.find("metadata");
  if (metadata != call.body.end() && !metadata->is_null() && !metadata->is_object()) {
    return Error(ValidationFailed("metadata", "metadata must be an object."));
  }
  Journey& journey = NewJourney(Surface::kHeadless, call.borrower_id, call.now);
  journey.type = type->get<std::string>();
  if (metadata != call.body.end() && metadata->is_object()) journey.metadata = *metadata;
  const Borrower& borrower = borrowers_[call.borrower_id];
  if (!borrower.prefill.empty()) journey.profile["profile"] = borrower.prefill;
  OnJourneyChanged(journey);
  return Ok(JourneyJson(journey));
}

Platform::Reply Platform::JourneyRead(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  return Ok(call.match.route->id == RouteId::kJourneyState ? StateJson(*journey)
                                                           : JourneyJson(*journey));
}

Platform::Reply Platform::JourneyResume(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  auto resume = call.body.find("resume");
  if (resume == call.body.end() || !resume->is_object()) {
    return Error(ValidationFailed("resume", "resume must be an object."));
  }
  journey->resume.update(*resume);
  journey->updated_at = call.now;
  return Ok(JourneyJson(*journey));
}

Platform::Reply Platform::ProfileGet(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  return Ok(ProfileJson(*journey));
}

Platform::Reply Platform::ProfilePut(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  if (auto invalid = ValidateProfileUpsert(call.body)) return Error(*invalid);
  if (journey->status != "STARTED" && journey->status != "PROFILE_REQUIRED") {
    return Error(StatePreconditionFailed("The profile can only change before it is submitted."));
  }
  for (const char* section :
       {"profile", "workProfile", "address", "bankingInformation", "journey"}) {
    auto it = call.body.find(section);
    if (it == call.body.end() || !it->is_object()) continue;
    nlohmann::json& stored = journey->profile[section];
    if (!stored.is_object()) stored = nlohmann::json::object();
    stored.update(*it);
  }
  journey->updated_at = call.now;
  SetStatus(*journey, "PROFILE_REQUIRED", call.now, Observer());
  return Ok(ProfileJson(*journey));
}

Platform::Reply Platform::ProfileSubmit(Call& call) {
  ApiError error;
  Journey* journey = FindJourney(call, &error);
  if (journey == nullptr) return Error(error);
  auto consent = call.body.find("bureauConsent");
  if (consent == call.body.end() || !consent->is_boolean() || !consent->get<bool>()) {
    return Error(ValidationFailed("bureauConsent", "bureauConsent must be true to submit."));
  }
  if (journey->status == "PROFILE_SUBMITTED" || journey->status == "OFFERS_PENDING") {
    ApiError pending{409, "ASYNC_OPERATION_PENDING", "Profile submission is still running.", true};
    return Error(pending);
  }
  if (journey->status != "STARTED" && journey->status != "PROFILE_REQUIRED") {
    return Error(StatePreconditionFailed("The profile was already submitted."));
  }
  std::vector<std::string> missing = MissingProfileFields(*journey);
  if (!missing.empty()) {
    return Error(ValidationFailed(missing.front(),
                                  absl::StrCat(missing.front(), " is required to submit.")));
  }
  const std::string contact = journey->profile["profile"].value("contactNumber", "");
  journey->no_offers = absl::EndsWith(contact, "0000");
  journey->submitted_at = call.now;
  GenerateOffers(*journey, call.now, timings_, ids_);
  SetStatus(*journey, "PROFILE_SUBMITTED", call.now, Observer());
  return Ok({{"operationID", absl::StrCat("op_profile_submit_", ids_.Ulid(call.now))},
             {"status", "ACCEPTED"},
             {"pollAfterSeconds", 3}},
            202);
}

}  // namespace aarthik::sandbox
