// Back-end (sk_*) surfaces: Hybrid (§3.9), Hosted (§3.10) and web-hook subscription (§3.11).
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sandbox/platform.h"
#include "sandbox/validation.h"
#include "sandbox/views.h"

namespace aarthik::sandbox {
namespace {

bool IsPresent(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && !it->is_null();
}

std::optional<ApiError> ValidateGoldLoan(nlohmann::json& body, const std::string& type) {
  if (!IsPresent(body, "goldLoan")) return std::nullopt;
  if (type != "GOLD_LOAN") {
    return ValidationFailed("goldLoan", "goldLoan requires journeyType GOLD_LOAN.");
  }
  nlohmann::json& gold = body["goldLoan"];
  if (!gold.is_object()) return ValidationFailed("goldLoan", "goldLoan must be an object.");
  if (IsPresent(gold, "purity")) {
    static const std::vector<std::string> kPurity = {"24K", "22K", "21K", "18K", "14K", "9K"};
    std::string purity =
        gold["purity"].is_string() ? absl::AsciiStrToUpper(gold["purity"].get<std::string>()) : "";
    if (std::find(kPurity.begin(), kPurity.end(), purity) == kPurity.end()) {
      return ValidationFailed("goldLoan.purity",
                              "goldLoan.purity must be one of 24K 22K 21K 18K 14K 9K.");
    }
    gold["purity"] = purity;
  }
  if (IsPresent(gold, "jewelleryWeightGrams")) {
    const nlohmann::json& w = gold["jewelleryWeightGrams"];
    double grams = w.is_number()   ? w.get<double>()
                   : w.is_string() ? std::atof(w.get<std::string>().c_str())
                                   : 0;
    if (grams <= 0) {
      return ValidationFailed("goldLoan.jewelleryWeightGrams",
                              "goldLoan.jewelleryWeightGrams must be > 0.");
    }
  }
  return std::nullopt;
}

std::optional<ApiError> ValidateBureau(const nlohmann::json& body) {
  if (!IsPresent(body, "bureau")) return std::nullopt;
  const bool consent = IsPresent(body, "journey") && body["journey"].is_object() &&
                       body["journey"].value("bureauConsent", false) == true;
  if (!consent) {
    return ValidationFailed("journey.bureauConsent",
                            "bureau data requires journey.bureauConsent = true.");
  }
  return std::nullopt;
}

bool IsLoopbackHost(absl::string_view host) {
  return host == "localhost" || host == "[::1]" || absl::StartsWith(host, "127.");
}

}  // namespace

Platform::Reply Platform::HybridStart(Call& call) {
  const std::string& provider_id = call.match.params.borrower_provider_id;
  if (provider_id.empty() || provider_id.size() > 128) {
    return Error(
        ValidationFailed("borrowerProviderID", "borrowerProviderID must be 1..128 characters."));
  }
  nlohmann::json& body = call.body;
  if (!IsPresent(body, "personal"))
    return Error(ValidationFailed("personal", "personal is required."));
  if (auto e = ValidatePersonal(body["personal"], "personal")) return Error(*e);
  if (!IsPresent(body["personal"], "contactNumber")) {
    return Error(ValidationFailed("personal.contactNumber", "personal.contactNumber is required."));
  }
  std::string type = "PERSONAL_LOAN";
  if (IsPresent(body, "journeyType")) {
    if (!body["journeyType"].is_string() ||
        !IsJourneyType(body["journeyType"].get<std::string>())) {
      return Error(
          ValidationFailed("journeyType", "journeyType must be PERSONAL_LOAN or GOLD_LOAN."));
    }
    type = body["journeyType"];
  }
  if (IsPresent(body, "work")) {
    if (auto e = ValidateWork(body["work"], "work")) return Error(*e);
  }
  if (IsPresent(body, "address")) {
    if (auto e = ValidateAddress(body["address"], "address")) return Error(*e);
  }
  // Both spellings are accepted and normalised to one model (§2.9).
  if (!IsPresent(body, "bankingInformation") && IsPresent(body, "banking_information")) {
    body["bankingInformation"] = body["banking_information"];
  }
  for (const char* key : {"bankingInformation", "journey"}) {
    if (IsPresent(body, key) && !body[key].is_object()) {
      return Error(ValidationFailed(key, absl::StrCat(key, " must be an object.")));
    }
  }
  if (auto e = ValidateGoldLoan(body, type)) return Error(*e);
  if (auto e = ValidateBureau(body)) return Error(*e);

  Borrower& borrower = ProviderBorrower(provider_id);
  Journey* journey = nullptr;
  for (auto id = borrower.journey_ids.rbegin(); id != borrower.journey_ids.rend(); ++id) {
    Journey& candidate = journeys_[*id];
    AdvanceJourney(candidate, call.now);
    if (candidate.surface == Surface::kHybrid && !IsTerminalStatus(candidate)) {
      journey = &candidate;
      break;
    }
  }
  const bool resumed = journey != nullptr;
  if (!resumed) {
    journey = &NewJourney(Surface::kHybrid, borrower.id, call.now);
    journey->type = type;
    journey->origin_experience = "HYBRID";
    journey->profile["profile"] = body["personal"];
    static const std::pair<const char*, const char*> kSections[] = {
        {"work", "workProfile"},
        {"address", "address"},
        {"bankingInformation", "bankingInformation"},
        {"journey", "journey"},
        {"goldLoan", "goldLoan"}};
    for (const auto& [from, to] : kSections) {
      if (IsPresent(body, from)) journey->profile[to] = body[from];
    }
    journey->no_offers = absl::EndsWith(body["personal"].value("contactNumber", ""), "0000");
    GenerateOffers(*journey, call.now, timings_, ids_);
    OnJourneyChanged(*journey);
  }
  return Ok({{"journey_id", journey->id},
             {"borrower_provider_id", provider_id},
             {"status", journey->status},
             {"resumed", resumed},
             {"poll_after_ms", 3000}});
}

Platform::Reply Platform::HybridOffers(Call& call) {
  auto borrower_id = borrower_by_provider_id_.find(call.match.params.borrower_provider_id);
  Journey* journey = nullptr;
  if (borrower_id != borrower_by_provider_id_.end()) {
    for (const std::string& id : borrowers_[borrower_id->second].journey_ids) {
      Journey& candidate = journeys_[id];
      if (candidate.surface == Surface::kHybrid) journey = &candidate;  // the latest one
    }
  }
  if (journey == nullptr && call.match.route->id != RouteId::kHybridHandoff) {
    return Error(NotFound("No Hybrid journey for this borrowerProviderID."));
  }
  if (journey == nullptr) return Error(NotFound("No Hybrid journey for this borrowerProviderID."));
  AdvanceJourney(*journey, call.now);

  if (call.match.route->id == RouteId::kHybridHandoff) {
    const std::string& offer_id = call.match.params.offer_id;
    Offer* offer = journey->FindOffer(offer_id);
    if (offer == nullptr || offer->no_offer) return Error(NotFound("Offer not found."));
    if (!journey->handed_off_offer_id.empty() && journey->handed_off_offer_id != offer_id) {
      return Error(OfferLockConflict());
    }
    if (journey->handed_off_offer_id.empty()) {
      if (journey->status != "OFFERED" || !OfferSelectable(*journey, *offer, call.now) ||
          (offer->aa_required && !journey->aa_confirmed)) {
        return Error(StatePreconditionFailed("This offer is not selectable yet."));
      }
      journey->handed_off_offer_id = offer_id;
      journey->handed_off_at = call.now;
      SetStatus(*journey, "OFFER_SELECTED", call.now, Observer());
    }
    const std::string bootstrap = ids_.Token(absl::StrCat("bt_", config_.environment, "_"));
    return Ok({{"offer_id", offer_id},
               {"journey_id", journey->id},
               {"hosted_url",
                absl::StrCat("https://credit.sandbox.aarthiklabs.test/lab/embed?journey_id=",
                             journey->id, "&offer_id=", offer_id, "#", bootstrap)},
               {"expires_at", IsoTimeMillis(call.now + config_.hosted_url_ttl)}});
  }

  // AA readiness: a READY URL is handed out once; the next poll assumes the borrower is consenting
  // (PROCESSING) unless the URL expired first, in which case a fresh READY URL is issued.
  bool aa_lender = false;
  for (const Offer& offer : journey->offers) {
    aa_lender =
        aa_lender || (offer.aa_required && OfferCardStatus(offer, call.now) == "OFFER_RECEIVED");
  }
  if (journey->status == "OFFERED" && aa_lender && !journey->aa_confirmed) {
    const std::string& aa = journey->hybrid_aa_status;
    if (aa.empty() || (aa == "READY" && call.now >= journey->hybrid_aa_expires_at)) {
      journey->hybrid_aa_status = "READY";
      journey->hybrid_aa_expires_at = call.now + timings_.aa_url_ttl;
      journey->hybrid_aa_url = absl::StrCat("https://aa.sandbox.aarthiklabs.test/consent/",
                                            journey->id, "?txnid=sbx_txn_", ids_.Ulid(call.now));
    } else if (aa == "READY") {
      nlohmann::json data = HybridOffersJson(*journey, call.now);
      journey->hybrid_aa_status = "PROCESSING";
      journey->hybrid_aa_issued_at = call.now;
      data["account_aggregator"] = {{"status", "PROCESSING"}};
      data["poll_after_ms"] = 3000;
      return Ok(std::move(data));
    }
  }
  nlohmann::json data = HybridOffersJson(*journey, call.now);
  const bool busy = journey->status == "STARTED" || journey->status == "PROFILED";
  data["poll_after_ms"] = journey->hybrid_aa_status == "PROCESSING" ? 3000 : busy ? 10000 : 10000;
  return Ok(std::move(data));
}

Platform::Reply Platform::HybridHandoff(Call& call) { return HybridOffers(call); }

Platform::Reply Platform::HostedSessions(Call& call) {
  nlohmann::json& body = call.body;
  auto provider = body.find("borrowerProviderID");
  if (provider == body.end() || !provider->is_string() || provider->get<std::string>().empty() ||
      provider->get<std::string>().size() > 128) {
    return Error(ValidationFailed("borrowerProviderID", "borrowerProviderID is required."));
  }
  std::string type = "PERSONAL_LOAN";
  if (IsPresent(body, "journeyType")) {
    if (!body["journeyType"].is_string() ||
        !IsJourneyType(body["journeyType"].get<std::string>())) {
      return Error(
          ValidationFailed("journeyType", "journeyType must be PERSONAL_LOAN or GOLD_LOAN."));
    }
    type = body["journeyType"];
  }
  if (!IsPresent(body, "profile")) {
    return Error(ValidationFailed("profile.contactNumber", "profile.contactNumber is required."));
  }
  if (auto e = ValidatePersonal(body["profile"], "profile")) return Error(*e);
  if (!IsPresent(body["profile"], "contactNumber")) {
    return Error(ValidationFailed("profile.contactNumber", "profile.contactNumber is required."));
  }
  if (IsPresent(body, "workProfile")) {
    if (auto e = ValidateWork(body["workProfile"], "workProfile")) return Error(*e);
  }
  if (IsPresent(body, "address")) {
    if (auto e = ValidateAddress(body["address"], "address")) return Error(*e);
  }
  if (IsPresent(body, "journey") && !body["journey"].is_object()) {
    return Error(ValidationFailed("journey", "journey must be an object."));
  }
  if (auto e = ValidateGoldLoan(body, type)) return Error(*e);
  if (auto e = ValidateBureau(body)) return Error(*e);

  const std::string provider_id = provider->get<std::string>();
  Borrower& borrower = ProviderBorrower(provider_id);
  Journey* journey = nullptr;
  for (auto id = borrower.journey_ids.rbegin(); id != borrower.journey_ids.rend(); ++id) {
    Journey& candidate = journeys_[*id];
    AdvanceJourney(candidate, call.now);
    if (candidate.surface != Surface::kHeadless && candidate.type == type &&
        !IsTerminalStatus(candidate)) {
      journey = &candidate;
      break;
    }
  }
  if (journey == nullptr) {
    journey = &NewJourney(Surface::kHosted, borrower.id, call.now);
    journey->type = type;
    journey->origin_experience = "HOSTED";
    for (const char* section : {"profile", "workProfile", "address", "journey", "goldLoan"}) {
      if (IsPresent(body, section)) journey->profile[section] = body[section];
    }
    OnJourneyChanged(*journey);
  }
  const std::string bootstrap = ids_.Token(absl::StrCat("bt_", config_.environment, "_"));
  const std::string url = absl::StrCat(
      "https://credit.sandbox.aarthiklabs.test/lab/embed?tenant_id=", config_.tenant_id,
      "&application_id=", config_.application_id, "&borrower_provider_id=", provider_id,
      "&journey_type=", type, "#", bootstrap);
  nlohmann::json data;
  for (const char* alias :
       {"embedURL", "embedUrl", "embedurl", "Embedurl", "EmbedUrl", "EmbedURL"}) {
    data[alias] = url;
  }
  data["bootstrapExpiresAt"] = IsoTimeMillis(call.now + config_.bootstrap_ttl);
  data["borrowerProviderID"] = provider_id;
  data["borrowerID"] = borrower.id;
  data["environment"] = absl::AsciiStrToUpper(config_.environment);
  return Ok(std::move(data));
}

Platform::Reply Platform::HostedFeatures(Call& call) {
  return Ok({{"features", {{"PERSONAL_LOAN", true}, {"GOLD_LOAN", true}}}});
}

Platform::Reply Platform::WebhookSubscription(Call& call) {
  const PathParams& p = call.match.params;
  if (!IsUuid(p.tenant_id)) return Error(ValidationFailed("tenantID", "tenantID must be a UUID."));
  if (!IsUuid(p.application_id)) {
    return Error(ValidationFailed("applicationID", "applicationID must be a UUID."));
  }
  if (absl::AsciiStrToLower(p.tenant_id) != config_.tenant_id ||
      absl::AsciiStrToLower(p.application_id) != config_.application_id) {
    return Error(ScopeMismatch("The API key does not belong to this tenant/application."));
  }
  const RouteId route = call.match.route->id;
  if (route == RouteId::kWebhookSubscribe) {
    auto url = call.body.find("url");
    if (url == call.body.end() || !url->is_string()) {
      return Error(ValidationFailed("url", "url is required."));
    }
    const std::string value = url->get<std::string>();
    absl::string_view rest;
    bool ok = false;
    if (absl::StartsWith(value, "https://")) {
      rest = absl::string_view(value).substr(8);
      ok = !rest.empty() && rest[0] != '/';
    } else if (absl::StartsWith(value, "http://")) {
      rest = absl::string_view(value).substr(7);
      absl::string_view host = rest.substr(0, rest.find_first_of("/?#"));
      if (!absl::StartsWith(host, "["))
        host = host.substr(0, host.rfind(':'));
      else
        host = host.substr(0, host.find(']') + 1);
      ok = IsLoopbackHost(host);
      if (!ok) {
        return Error(ValidationFailed(
            "url", "http:// callback URLs are accepted only for loopback hosts; use https://."));
      }
    }
    if (!ok) return Error(ValidationFailed("url", "url must be an absolute https:// URI."));
    webhook_enabled_ = true;
    webhook_url_ = value;
  } else if (route == RouteId::kWebhookUnsubscribe) {
    webhook_enabled_ = false;
    webhook_url_.clear();
    webhooks_.Clear();
  }
  return Ok(
      {{"tenant_id", config_.tenant_id},
       {"application_id", config_.application_id},
       {"webhook_enabled", webhook_enabled_},
       {"webhook_url", webhook_enabled_ ? nlohmann::json(webhook_url_) : nlohmann::json(nullptr)}});
}

}  // namespace aarthik::sandbox
