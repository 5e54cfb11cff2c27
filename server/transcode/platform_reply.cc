#include "server/transcode/platform_reply.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/duration.pb.h"
#include "server/transcode/rpc_error.h"

namespace aarthik::transcode {
namespace {

using gateway::v1::Envelope;

std::string StringOrEmpty(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<PlatformError> ReadErrorObject(const nlohmann::json& error) {
  if (!error.is_object()) return std::nullopt;
  PlatformError out;
  out.code = StringOrEmpty(error, "code");
  out.message = StringOrEmpty(error, "message");
  if (auto it = error.find("retryable"); it != error.end() && it->is_boolean()) out.retryable = *it;
  if (auto it = error.find("details"); it != error.end() && it->is_object()) out.details = *it;
  return out;
}

struct Mapping {
  absl::StatusCode code;
  bool retry_info;  // attach RetryInfo
};

// One row per platform error code; statuses without a known code fall back to MappingForStatus.
std::optional<Mapping> MappingForCode(absl::string_view code) {
  if (code == "VALIDATION_FAILED") return Mapping{absl::StatusCode::kInvalidArgument, false};
  if (code == "AUTH_INVALID_API_KEY" || code == "AUTH_INVALID_SESSION") {
    return Mapping{absl::StatusCode::kUnauthenticated, false};
  }
  if (code == "ACCESS_SCOPE_MISMATCH") return Mapping{absl::StatusCode::kPermissionDenied, false};
  if (code == "RESOURCE_NOT_FOUND") return Mapping{absl::StatusCode::kNotFound, false};
  if (code == "OFFER_LOCK_CONFLICT" || code == "STATE_PRECONDITION_FAILED") {
    return Mapping{absl::StatusCode::kFailedPrecondition, false};
  }
  if (code == "ASYNC_OPERATION_PENDING") return Mapping{absl::StatusCode::kUnavailable, true};
  if (code == "UPSTREAM_TEMPORARY_FAILURE") return Mapping{absl::StatusCode::kUnavailable, true};
  if (code == "RATE_LIMITED") return Mapping{absl::StatusCode::kResourceExhausted, true};
  return std::nullopt;
}

Mapping MappingForStatus(int status) {
  switch (status) {
    case 400:
      return {absl::StatusCode::kInvalidArgument, false};
    case 401:
      return {absl::StatusCode::kUnauthenticated, false};
    case 403:
      return {absl::StatusCode::kPermissionDenied, false};
    case 404:
      return {absl::StatusCode::kNotFound, false};
    case 409:
    case 412:
    case 422:
      return {absl::StatusCode::kFailedPrecondition, false};
    case 429:
      return {absl::StatusCode::kResourceExhausted, true};
    case 502:
    case 503:
    case 504:
      return {absl::StatusCode::kUnavailable, true};
    default:
      if (status >= 500) return {absl::StatusCode::kInternal, false};
      return {absl::StatusCode::kFailedPrecondition, false};
  }
}

google::rpc::RequestInfo MakeRequestInfo(const PlatformReply* reply, const ErrorContext& context) {
  google::rpc::RequestInfo info;
  if (reply != nullptr) info.set_request_id(reply->request_id);
  info.set_serving_data(reply != nullptr && !reply->correlation_id.empty()
                            ? reply->correlation_id
                            : std::string(context.correlation_id));
  return info;
}

google::protobuf::Any RetryDetail(absl::Duration delay) {
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(absl::ToInt64Seconds(delay));
  retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(delay - absl::Seconds(absl::ToInt64Seconds(delay)))));
  return PackDetail(retry);
}

// The shape checks of the unenveloped kinds (contract §2.2, §3.10, §3.11) on a 2xx JSON object.
absl::Status CheckUnenvelopedShape(Envelope envelope, int http_status, const nlohmann::json& body) {
  switch (envelope) {
    case gateway::v1::ENVELOPE_HOSTED_SESSION:
      // The six documented spellings of embedURL differ only in case.
      for (const auto& [key, value] : body.items()) {
        if (absl::EqualsIgnoreCase(key, "embedURL") && value.is_string() &&
            !value.get_ref<const std::string&>().empty()) {
          return absl::OkStatus();
        }
      }
      return absl::InternalError(absl::StrCat("platform answered HTTP ", http_status,
                                              " without a non-empty embedURL string"));
    case gateway::v1::ENVELOPE_WEBHOOK_SUBSCRIPTION: {
      auto has = [&](const char* key, auto&& type_ok) {
        auto it = body.find(key);
        return it != body.end() && type_ok(*it);
      };
      auto is_string = [](const nlohmann::json& v) { return v.is_string(); };
      std::string missing;
      if (!has("tenant_id", is_string)) absl::StrAppend(&missing, " tenant_id (string)");
      if (!has("application_id", is_string)) absl::StrAppend(&missing, " application_id (string)");
      if (!has("webhook_enabled", [](const nlohmann::json& v) { return v.is_boolean(); })) {
        absl::StrAppend(&missing, " webhook_enabled (boolean)");
      }
      if (!has("webhook_url",
               [](const nlohmann::json& v) { return v.is_string() || v.is_null(); })) {
        absl::StrAppend(&missing, " webhook_url (string or null)");
      }
      if (missing.empty()) return absl::OkStatus();
      return absl::InternalError(absl::StrCat("platform answered HTTP ", http_status,
                                              " without the subscription's", missing));
    }
    default:  // ENVELOPE_NONE: the contract documents no shape, any object is the payload
      return absl::OkStatus();
  }
}

}  // namespace

absl::StatusOr<PlatformReply> DecodeReply(Envelope envelope, int http_status,
                                          absl::string_view body) {
  PlatformReply reply;
  reply.http_status = http_status;
  bool success = http_status >= 200 && http_status < 300;
  const bool unenveloped =
      envelope != gateway::v1::ENVELOPE_HEADLESS && envelope != gateway::v1::ENVELOPE_HYBRID;
  nlohmann::json json =
      nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || (!json.is_object() && !(body.empty() && success))) {
    if (success && !(body.empty() && envelope == gateway::v1::ENVELOPE_NONE)) {
      return absl::InternalError(
          absl::StrCat("platform answered HTTP ", http_status, " with ",
                       body.empty() ? "an empty body" : "a body that is not a JSON object", " (",
                       body.size(), " bytes)"));
    }
    if (!success) {
      reply.error = PlatformError{};  // unreadable error body: mapped by HTTP status alone
      return reply;
    }
    json = nlohmann::json::object();
  }
  if (unenveloped) {
    if (!success) {
      auto it = json.find("error");
      std::optional<PlatformError> error =
          it != json.end() ? ReadErrorObject(*it) : ReadErrorObject(json);
      reply.error = error.value_or(PlatformError{});
      return reply;
    }
    if (absl::Status shape = CheckUnenvelopedShape(envelope, http_status, json); !shape.ok()) {
      return shape;
    }
    reply.data = std::move(json);
    return reply;
  }
  bool headless = envelope == gateway::v1::ENVELOPE_HEADLESS;
  const char* request_id_key = headless ? "requestID" : "request_id";
  reply.request_id = StringOrEmpty(json, request_id_key);
  reply.correlation_id = StringOrEmpty(json, headless ? "correlationID" : "correlation_id");
  auto error = json.find("error");
  if (error != json.end() && !error->is_null()) {
    if (success && !error->is_object()) {
      return absl::InternalError(absl::StrCat("platform answered HTTP ", http_status,
                                              " with an envelope whose error is a JSON ",
                                              error->type_name(), ", not an object or null"));
    }
    reply.error = ReadErrorObject(*error).value_or(PlatformError{});
    return reply;
  }
  if (!success) {
    reply.error = PlatformError{};
    return reply;
  }
  // A success is the documented envelope or nothing: without these, `{"unexpected":"shape"}` would
  // read as an empty payload and the caller would get OK with default values.
  auto id = json.find(request_id_key);
  if (id == json.end() || !id->is_string()) {
    return absl::InternalError(absl::StrCat(
        "platform answered HTTP ", http_status, " without the ", headless ? "headless" : "Hybrid",
        " envelope: ", request_id_key,
        id == json.end() ? " is missing" : absl::StrCat(" is a JSON ", id->type_name())));
  }
  auto data = json.find("data");
  if (data == json.end() || !data->is_object()) {
    return absl::InternalError(absl::StrCat(
        "platform answered HTTP ", http_status, " without the envelope's data object (data ",
        data == json.end() ? "is missing" : absl::StrCat("is a JSON ", data->type_name()), ")"));
  }
  reply.data = std::move(*data);
  return reply;
}

absl::Status MapPlatformError(const PlatformReply& reply, const ErrorContext& context) {
  const PlatformError empty;
  const PlatformError& error = reply.error ? *reply.error : empty;
  Mapping mapping = MappingForCode(error.code).value_or(MappingForStatus(reply.http_status));

  google::rpc::ErrorInfo info;
  info.set_reason(error.code.empty() ? absl::StrCat("UPSTREAM_HTTP_", reply.http_status)
                                     : error.code);
  info.set_domain(error.code.empty() ? kGatewayDomain : kPlatformDomain);
  auto& metadata = *info.mutable_metadata();
  metadata["upstream_status"] = absl::StrCat(reply.http_status);
  metadata["route"] = std::string(context.route);
  metadata["retryable"] = error.retryable ? "true" : "false";
  if (reply.attempts > 1) metadata["attempts"] = absl::StrCat(reply.attempts);
  if (error.details.is_object()) {
    for (const auto& [key, value] : error.details.items()) {
      if (value.is_string()) metadata[key] = value.get<std::string>();
    }
  }
  std::vector<google::protobuf::Any> details = {PackDetail(info),
                                                PackDetail(MakeRequestInfo(&reply, context))};
  if (mapping.code == absl::StatusCode::kInvalidArgument) {
    google::rpc::BadRequest bad_request;
    auto* violation = bad_request.add_field_violations();
    violation->set_field(error.details.is_object() ? StringOrEmpty(error.details, "field") : "");
    violation->set_description(error.message);
    details.push_back(PackDetail(bad_request));
  }
  if (mapping.retry_info || reply.retry_after) {
    details.push_back(RetryDetail(reply.retry_after.value_or(absl::Seconds(1))));
  }
  std::string message =
      error.message.empty()
          ? absl::StrCat("platform answered HTTP ", reply.http_status, " on ", context.route)
          : error.message;
  return RpcError(mapping.code, message, details);
}

absl::Status MapTransportError(const absl::Status& transport, const ErrorContext& context) {
  absl::StatusCode code = transport.code();
  std::string reason = "UPSTREAM_UNAVAILABLE";
  switch (transport.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      reason = "UPSTREAM_TIMEOUT";
      break;
    case absl::StatusCode::kCancelled:
      reason = "CANCELLED";
      break;
    case absl::StatusCode::kResourceExhausted:
      reason = "GATEWAY_OVERLOADED";
      break;
    case absl::StatusCode::kUnavailable:
      break;
    default:
      code = absl::StatusCode::kInternal;
      reason = "UPSTREAM_TRANSPORT_ERROR";
  }
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  info.set_domain(kGatewayDomain);
  (*info.mutable_metadata())["route"] = std::string(context.route);
  std::vector<google::protobuf::Any> details = {PackDetail(info),
                                                PackDetail(MakeRequestInfo(nullptr, context))};
  if (code == absl::StatusCode::kUnavailable) details.push_back(RetryDetail(absl::Seconds(1)));
  return RpcError(code,
                  absl::StrCat("platform call ", context.route, " failed: ", transport.message()),
                  details);
}

absl::Status MapBadResponse(absl::string_view what, const PlatformReply* reply,
                            const ErrorContext& context) {
  google::rpc::ErrorInfo info;
  info.set_reason("UPSTREAM_BAD_RESPONSE");
  info.set_domain(kGatewayDomain);
  (*info.mutable_metadata())["route"] = std::string(context.route);
  if (reply != nullptr)
    (*info.mutable_metadata())["upstream_status"] = absl::StrCat(reply->http_status);
  return RpcError(absl::StatusCode::kInternal,
                  absl::StrCat("unreadable platform response on ", context.route, ": ", what),
                  {PackDetail(info), PackDetail(MakeRequestInfo(reply, context))});
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value) {
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(value), &seconds) || seconds < 0)
    return std::nullopt;
  return absl::Seconds(std::min<int64_t>(seconds, 3600));
}

}  // namespace aarthik::transcode
