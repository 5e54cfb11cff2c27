#include "sandbox/platform.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sandbox/router.h"
#include "sandbox/snapshots.h"
#include "sandbox/validation.h"
#include "sandbox/views.h"

namespace aarthik::sandbox {
namespace http = boost::beast::http;

namespace {

absl::string_view Header(const HttpRequest& request, absl::string_view name) {
  auto it = request.find(boost::beast::string_view(name.data(), name.size()));
  if (it == request.end()) return {};
  return absl::string_view(it->value().data(), it->value().size());
}

absl::string_view BearerToken(const HttpRequest& request) {
  absl::string_view value = Header(request, "Authorization");
  if (value.size() > 7 && absl::EqualsIgnoreCase(value.substr(0, 7), "Bearer ")) {
    return absl::StripAsciiWhitespace(value.substr(7));
  }
  return {};
}

Surface SurfaceForPath(absl::string_view path) {
  if (absl::StartsWith(path, "/api/v1/hybrid/")) return Surface::kHybrid;
  if (absl::StartsWith(path, "/api/v1/headless/")) return Surface::kHeadless;
  if (absl::StartsWith(path, "/api/tenants/")) return Surface::kSubscription;
  return Surface::kHosted;
}

HttpResponse JsonResponse(const HttpRequest& request, int status, std::string body) {
  HttpResponse response{static_cast<http::status>(status), request.version()};
  response.set(http::field::content_type, "application/json");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

}  // namespace

Platform::Platform(Config config)
    : config_(std::move(config)),
      timings_{config_.offer_delay, config_.step_delay, config_.aa_url_ttl},
      clock_(config_.time_scale),
      ids_(config_.seed),
      request_ids_(config_.seed ^ 0x5DEECE66DULL),
      faults_(config_.seed),
      request_log_(config_.control_plane ? static_cast<size_t>(config_.request_log_size) : 0),
      webhooks_(
          &clock_, &counters_,
          WebhookOptions{config_.tenant_id, config_.application_id, config_.webhook_secret,
                         config_.webhook_backoff, config_.webhook_max_attempts,
                         config_.webhook_duplicate_rate, config_.webhook_reorder, config_.seed}),
      tokens_(config_.environment, config_.session_ttl, config_.refresh_ttl, &ids_) {
  faults_.Set(config_.faults);
}

Platform::~Platform() { Stop(); }

void Platform::Start() {
  webhooks_.Start([this] { Tick(); });
}

void Platform::Stop() { webhooks_.Stop(); }

void Platform::Tick() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  for (auto& [id, journey] : journeys_) AdvanceJourney(journey, now);
}

RequestPlan Platform::Plan(const HttpRequest& request) {
  RequestPlan plan;
  absl::string_view target(request.target().data(), request.target().size());
  absl::string_view path = target.substr(0, target.find('?'));
  absl::string_view method(request.method_string().data(), request.method_string().size());
  // As received, before anything below; control calls are the tests talking, not the client.
  if (!absl::StartsWith(path, "/_sandbox/")) request_log_.Record(method, target);
  // The platform's HTTP front end resolves dot segments before routing ([I], like most servers), so
  // "/borrowers/../journey/offers" reaches "/journey/offers" here too.
  std::string resolved;
  if (ResolveDotSegments(path, &resolved)) path = resolved;
  plan.matched = Router::Get().Match(method, path, &plan.match);
  const bool control = absl::StartsWith(path, "/_sandbox/");
  if (!control) plan.faults = faults_.Plan(method, path);
  return plan;
}

void Platform::CountReset(const RequestPlan& plan) {
  counters_.CountRequest(
      plan.matched ? static_cast<int>(plan.match.route->id) : Counters::kUnmatched, 0);
}

HttpResponse Platform::Handle(const HttpRequest& request, const RequestPlan& plan) {
  if (plan.matched && plan.match.route->surface == Surface::kControl) {
    if (!config_.control_plane) {
      return JsonResponse(
          request, 404,
          nlohmann::json{{"error", NotFound("Control plane disabled.").ToJson()}}.dump());
    }
    return HandleControl(request, plan.match);
  }
  HttpResponse response = HandlePlatform(request, plan);
  counters_.CountRequest(
      plan.matched ? static_cast<int>(plan.match.route->id) : Counters::kUnmatched,
      static_cast<int>(response.result_int()));
  const bool success = response.result_int() >= 200 && response.result_int() < 300;
  if (plan.faults.success_body != nullptr && success) {
    response.body() = *plan.faults.success_body;
    response.prepare_payload();
  } else if (plan.faults.malformed_body) {
    std::string& body = response.body();
    body = absl::StrCat(body.substr(0, body.size() / 2), "#!malformed");
    response.prepare_payload();
  } else if (plan.faults.oversize_body && !response.body().empty() &&
             response.body().front() == '{') {
    std::string padded = "{\"_sandbox_padding\":\"";
    padded.append(kOversizeBytes, 'x');
    padded.append("\"");
    if (response.body().size() > 2) padded.append(",");
    padded.append(response.body(), 1, std::string::npos);
    response.body() = std::move(padded);
    response.prepare_payload();
  }
  return response;
}

std::string Platform::RenderBody(Surface surface, const Reply& reply,
                                 const std::string& correlation_id, bool correlation_present,
                                 absl::Time now) {
  nlohmann::json error = reply.error ? reply.error->ToJson() : nlohmann::json(nullptr);
  switch (surface) {
    case Surface::kHeadless:
      return nlohmann::json{{"requestID", absl::StrCat("req_", request_ids_.Ulid(now))},
                            {"correlationID", correlation_present ? nlohmann::json(correlation_id)
                                                                  : nlohmann::json(nullptr)},
                            {"timestamp", IsoTimeMillis(now)},
                            {"data", reply.error ? nlohmann::json(nullptr) : reply.data},
                            {"error", std::move(error)}}
          .dump();
    case Surface::kHybrid:
      return nlohmann::json{{"request_id", request_ids_.Uuid()},
                            {"correlation_id", correlation_id},
                            {"timestamp", IsoTimeMillis(now)},
                            {"data", reply.error ? nlohmann::json(nullptr) : reply.data},
                            {"error", std::move(error)}}
          .dump();
    default:
      if (reply.error) return nlohmann::json{{"error", std::move(error)}}.dump();
      return reply.data.dump();
  }
}

HttpResponse Platform::HandlePlatform(const HttpRequest& request, const RequestPlan& plan) {
  absl::string_view target(request.target().data(), request.target().size());
  const Surface surface =
      plan.matched ? plan.match.route->surface : SurfaceForPath(target.substr(0, target.find('?')));
  const absl::Time now = clock_.Now();

  std::string correlation_id(Header(request, "X-Correlation-ID"));
  bool correlation_present = !correlation_id.empty();
  Reply reply;
  bool have_reply = false;
  if (surface == Surface::kHybrid) {
    if (correlation_id.size() > 128) {
      reply =
          Error(ValidationFailed("x-correlation-id", "x-correlation-id must be 1..128 characters"));
      correlation_id = correlation_id.substr(0, 128);
      have_reply = true;
    }
    if (correlation_id.empty()) correlation_id = request_ids_.Uuid();
    correlation_present = true;
  }

  auto finish = [&](const Reply& r) {
    HttpResponse response = JsonResponse(
        request, r.status, RenderBody(surface, r, correlation_id, correlation_present, now));
    if (r.error && r.error->retry_after_seconds > 0) {
      response.set(http::field::retry_after, std::to_string(r.error->retry_after_seconds));
    }
    if (surface == Surface::kHosted) response.set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : r.headers) response.set(name, value);
    if (correlation_present) response.set("X-Correlation-ID", correlation_id);
    return response;
  };

  if (have_reply) return finish(reply);
  if (!plan.matched) {
    return finish(Error(plan.match.path_known ? [] {
      ApiError e = NotFound("Method not allowed for this path.");
      e.http_status = 405;
      return e;
    }()
                                              : NotFound("No such endpoint.")));
  }
  if (plan.faults.rate_limited_retry_after > 0) {
    return finish(Error(RateLimited(plan.faults.rate_limited_retry_after)));
  }
  if (plan.faults.error_status > 0) return finish(Error(InjectedError(plan.faults.error_status)));

  const Route& route = *plan.match.route;
  Call call{request, plan.match, now, nlohmann::json::object(), std::string()};
  absl::MutexLock lock(&mu_);

  // Credentials first; the refresh endpoint authenticates inside its handler, after the
  // idempotency lookup, so that a retried refresh replays instead of tripping reuse detection.
  std::string scope;
  if (route.id == RouteId::kSessionsRefresh) {
    scope = absl::StrCat("refresh:", BearerToken(request));
  } else if (route.surface == Surface::kHeadless && route.id != RouteId::kSessionsCreate) {
    if (std::optional<ApiError> error = AuthenticateSession(call)) return finish(Error(*error));
    scope = call.borrower_id;
  } else {
    if (std::optional<ApiError> error = AuthenticateApiKey(request)) return finish(Error(*error));
    scope = std::string(BearerToken(request));
  }

  // Hot path (the benchmark's poll): render the state envelope without building a JSON tree.
  if (route.id == RouteId::kJourneyState) {
    ApiError error;
    Journey* journey = FindJourney(call, &error);
    if (journey == nullptr) return finish(Error(error));
    std::string body;
    body.reserve(320);
    absl::StrAppend(&body, "{\"requestID\":\"req_", request_ids_.Ulid(now), "\",\"correlationID\":",
                    correlation_present ? nlohmann::json(correlation_id).dump() : "null",
                    ",\"timestamp\":\"", IsoTimeMillis(now), "\",\"data\":{\"journeyID\":\"",
                    journey->id, "\",\"status\":\"", journey->status, "\",\"nextAction\":");
    absl::string_view action = NextActionFor(journey->status);
    if (action.empty()) {
      body.append("null");
    } else {
      absl::StrAppend(&body, "\"", action, "\"");
    }
    body.append(",\"pendingOperations\":[");
    bool first = true;
    auto add = [&](absl::string_view op) {
      absl::StrAppend(&body, first ? "\"" : ",\"", op, "\"");
      first = false;
    };
    if (journey->status == "PROFILE_SUBMITTED" || journey->status == "OFFERS_PENDING") {
      add("PROFILE_SUBMISSION");
    }
    if (journey->status == "OFFERS_PENDING") add("SELECT_DISPATCH");
    for (const Operation& op : journey->operations) add(op.kind);
    body.append("]");
    absl::StrAppend(&body, ",\"updatedAt\":\"", IsoTimeMillis(journey->updated_at),
                    "\"},\"error\":null}");
    HttpResponse response = JsonResponse(request, 200, std::move(body));
    if (correlation_present) response.set("X-Correlation-ID", correlation_id);
    return response;
  }

  // Idempotency (§2.4): mandatory for headless writes, honoured when sent elsewhere.
  std::string idempotency_key(Header(request, "Idempotency-Key"));
  std::string record_key, fingerprint;
  if (route.mutating) {
    if (idempotency_key.empty() && route.surface == Surface::kHeadless) {
      return finish(Error(
          ValidationFailed("Idempotency-Key", "Idempotency-Key header is required for writes.")));
    }
    if (idempotency_key.size() > 255) {
      return finish(
          Error(ValidationFailed("Idempotency-Key", "Idempotency-Key is at most 255 characters.")));
    }
    if (!idempotency_key.empty()) {
      record_key = IdempotencyStore::RecordKey(scope, route.method, target, idempotency_key);
      fingerprint = IdempotencyStore::Fingerprint(request.body());
      StoredResponse stored;
      switch (idempotency_.Find(record_key, fingerprint, now, &stored)) {
        case IdempotencyStore::Lookup::kReplay: {
          HttpResponse response = JsonResponse(request, stored.status, stored.body);
          for (const auto& [name, value] : stored.headers) response.set(name, value);
          response.set("Idempotent-Replayed", "true");
          return response;
        }
        case IdempotencyStore::Lookup::kMismatch: {
          ApiError e = ValidationFailed("Idempotency-Key",
                                        "Idempotency-Key was already used with a different body.");
          e.http_status = 409;
          return finish(Error(e));
        }
        case IdempotencyStore::Lookup::kMiss:
          break;
      }
    }
  }

  // Body: empty means {}; anything else must be a JSON object.
  if (!request.body().empty()) {
    call.body = nlohmann::json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
    if (call.body.is_discarded() || !call.body.is_object()) {
      return finish(Error(ValidationFailed("body", "Request body must be a JSON object.")));
    }
  }

  Reply result = Dispatch(call);
  HttpResponse response = finish(result);
  if (!record_key.empty() && result.status < 500) {
    StoredResponse stored{result.status, response.body(), {}};
    for (const auto& [name, value] : result.headers) stored.headers.emplace_back(name, value);
    if (surface == Surface::kHosted) stored.headers.emplace_back("Cache-Control", "no-store");
    idempotency_.Save(record_key, std::move(fingerprint), std::move(stored), now);
  }
  if (!idempotency_key.empty() && result.status < 300) counters_.CountSideEffect(idempotency_key);
  return response;
}

std::optional<ApiError> Platform::AuthenticateApiKey(const HttpRequest& request) const {
  absl::string_view token = BearerToken(request);
  if (token.empty()) return InvalidApiKey("Missing API key (Authorization: Bearer sk_...).");
  if (!absl::StartsWith(token, "sk_")) return InvalidApiKey("An API key (sk_*) is required.");
  if (!absl::StartsWith(token.substr(3), config_.environment + "_")) {
    return InvalidApiKey("API key belongs to a different environment.");
  }
  for (const std::string& key : config_.api_keys) {
    if (key == token) return std::nullopt;
  }
  return InvalidApiKey("Unknown or revoked API key.");
}

std::optional<ApiError> Platform::AuthenticateSession(Call& call) {
  absl::string_view token = BearerToken(call.http);
  if (token.empty()) return InvalidSession("Missing session token (Authorization: Bearer st_...).");
  TokenCheck check = tokens_.Authenticate(token, call.now);
  if (check.error) return check.error;
  call.borrower_id = *check.borrower_id;
  return std::nullopt;
}

Platform::Reply Platform::Dispatch(Call& call) {
  switch (call.match.route->id) {
    case RouteId::kSessionsCreate:
      return SessionsCreate(call);
    case RouteId::kSessionsRefresh:
      return SessionsRefresh(call);
    case RouteId::kJourneysList:
      return JourneysList(call);
    case RouteId::kJourneysCreate:
      return JourneysCreate(call);
    case RouteId::kJourneyGet:
    case RouteId::kJourneyState:
      return JourneyRead(call);
    case RouteId::kJourneyResume:
      return JourneyResume(call);
    case RouteId::kProfileGet:
      return ProfileGet(call);
    case RouteId::kProfilePut:
      return ProfilePut(call);
    case RouteId::kProfileSubmit:
      return ProfileSubmit(call);
    case RouteId::kOffersList:
      return OffersList(call);
    case RouteId::kOfferGet:
      return OfferGet(call);
    case RouteId::kOfferProceed:
      return OfferProceed(call);
    case RouteId::kOfferReject:
      return OfferReject(call);
    case RouteId::kOfferLoanAmount:
      return OfferLoanAmount(call);
    case RouteId::kStepsGet:
    case RouteId::kStepKyc:
    case RouteId::kStepKycStatus:
    case RouteId::kStepBankMandateGet:
    case RouteId::kStepEMandate:
    case RouteId::kStepLoanAgreement:
      return Steps(call);
    case RouteId::kStepBankMandatePost:
      return BankMandateSubmit(call);
    case RouteId::kAaList:
      return AaList(call);
    case RouteId::kAaCreate:
      return AaCreate(call);
    case RouteId::kAaGet:
    case RouteId::kAaRedirect:
    case RouteId::kAaComplete:
    case RouteId::kAaReconcile:
      return AaSessionAction(call);
    case RouteId::kPdStatus:
    case RouteId::kPdForeclosure:
    case RouteId::kPdPrePartPayment:
    case RouteId::kPdMissedEmiPayment:
      return PostDisbursal(call);
    case RouteId::kHybridStart:
      return HybridStart(call);
    case RouteId::kHybridOffers:
      return HybridOffers(call);
    case RouteId::kHybridHandoff:
      return HybridHandoff(call);
    case RouteId::kHostedSessions:
      return HostedSessions(call);
    case RouteId::kHostedFeatures:
      return HostedFeatures(call);
    case RouteId::kWebhookConfiguration:
    case RouteId::kWebhookSubscribe:
    case RouteId::kWebhookUnsubscribe:
      return WebhookSubscription(call);
    default:
      return Error(NotFound("No such endpoint."));
  }
}

Journey* Platform::FindJourney(Call& call, ApiError* error) {
  const std::string& id = call.match.params.journey_id;
  if (!IsUuid(id)) {
    *error = ValidationFailed("journeyID", "journeyID must be a UUID.");
    return nullptr;
  }
  auto it = journeys_.find(absl::AsciiStrToLower(id));
  if (it == journeys_.end() || it->second.surface != Surface::kHeadless) {
    *error = NotFound("Journey not found.");
    return nullptr;
  }
  if (it->second.borrower_id != call.borrower_id) {
    *error = ScopeMismatch("This session may not access that journey.");
    return nullptr;
  }
  AdvanceJourney(it->second, call.now);
  return &it->second;
}

Offer* Platform::FindOffer(Call& call, Journey& journey, ApiError* error) {
  const std::string& id = call.match.params.offer_id;
  if (!IsUuid(id)) {
    *error = ValidationFailed("offerID", "offerID must be a UUID.");
    return nullptr;
  }
  Offer* offer = journey.FindOffer(absl::AsciiStrToLower(id));
  if (offer == nullptr) *error = NotFound("Offer not found.");
  return offer;
}

ChangeObserver Platform::Observer() {
  return [this](const Journey& journey)
             ABSL_NO_THREAD_SAFETY_ANALYSIS { OnJourneyChanged(journey); };
}

void Platform::AdvanceJourney(Journey& journey, absl::Time now) {
  Advance(journey, now, timings_, Observer());
}

void Platform::OnJourneyChanged(const Journey& journey) {
  if (!webhook_enabled_) return;
  auto borrower_it = borrowers_.find(journey.borrower_id);
  if (borrower_it == borrowers_.end()) return;
  const Borrower& borrower = borrower_it->second;
  const absl::Time now = clock_.Now();
  SnapshotContext ctx{config_.tenant_id, config_.application_id,
                      absl::StrCat("evt_", ids_.Ulid(now)), now,
                      std::max(last_sequence_ + 1, absl::ToUnixMillis(now))};
  last_sequence_ = ctx.sequence;
  nlohmann::json body;
  if (journey.surface == Surface::kHeadless) {
    std::vector<const Journey*> journeys;
    for (const std::string& id : borrower.journey_ids) {
      auto it = journeys_.find(id);
      if (it != journeys_.end() && it->second.surface == Surface::kHeadless) {
        journeys.push_back(&it->second);
      }
    }
    body = VariantASnapshot(ctx, borrower, journeys, journey);
  } else {
    // The contract caps lifecycle web-hooks at 7 per journey.
    if (++lifecycle_events_[journey.id] > 7) return;
    body = VariantBSnapshot(ctx, borrower, journey);
  }
  webhooks_.Enqueue(webhook_url_, ctx.event_id, body.dump());
}

Borrower& Platform::ProviderBorrower(const std::string& provider_id) {
  auto it = borrower_by_provider_id_.find(provider_id);
  if (it != borrower_by_provider_id_.end()) return borrowers_[it->second];
  Borrower borrower;
  borrower.id = ids_.Uuid();
  borrower.provider_id = provider_id;
  borrower_by_provider_id_[provider_id] = borrower.id;
  std::string id = borrower.id;
  return borrowers_[id] = std::move(borrower);
}

Journey& Platform::NewJourney(Surface surface, const std::string& borrower_id, absl::Time now) {
  Journey journey;
  journey.id = ids_.Uuid();
  journey.surface = surface;
  journey.borrower_id = borrower_id;
  journey.status = "STARTED";
  journey.created_at = journey.updated_at = now;
  borrowers_[borrower_id].journey_ids.push_back(journey.id);
  std::string id = journey.id;
  return journeys_[id] = std::move(journey);
}

void Platform::ResetState() {
  tokens_.Clear();
  idempotency_.Clear();
  borrowers_.clear();
  borrower_by_external_id_.clear();
  borrower_by_provider_id_.clear();
  journeys_.clear();
  lifecycle_events_.clear();
  webhook_enabled_ = false;
  webhook_url_.clear();
  last_sequence_ = 0;
  ids_.Reseed(config_.seed);
  counters_.Reset();
  webhooks_.Clear();
}

}  // namespace aarthik::sandbox
