#include "server/transcode/rpc_error.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_join.h"

namespace aarthik::transcode {
namespace {
constexpr char kPayloadUrl[] = "type.googleapis.com/google.rpc.Status";
}  // namespace

absl::Status RpcError(absl::StatusCode code, absl::string_view message,
                      const std::vector<google::protobuf::Any>& details) {
  absl::Status status(code, message);
  google::rpc::Status rpc;
  rpc.set_code(static_cast<int>(code));
  rpc.set_message(std::string(message));
  for (const google::protobuf::Any& detail : details) *rpc.add_details() = detail;
  status.SetPayload(kPayloadUrl, absl::Cord(rpc.SerializeAsString()));
  return status;
}

std::optional<google::rpc::Status> RpcDetails(const absl::Status& status) {
  auto payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  google::rpc::Status rpc;
  if (!rpc.ParseFromString(std::string(*payload))) return std::nullopt;
  rpc.set_code(static_cast<int>(status.code()));
  rpc.set_message(std::string(status.message()));
  return rpc;
}

std::string ErrorReason(const absl::Status& status) {
  std::optional<google::rpc::Status> rpc = RpcDetails(status);
  if (!rpc.has_value()) return "";
  google::rpc::ErrorInfo info;
  for (const google::protobuf::Any& detail : rpc->details()) {
    if (detail.UnpackTo(&info)) return info.reason();
  }
  return "";
}

absl::Status InvalidRequest(absl::string_view reason,
                            const std::vector<std::pair<std::string, std::string>>& violations) {
  google::rpc::BadRequest bad_request;
  std::vector<std::string> summaries;
  for (const auto& [field, description] : violations) {
    auto* violation = bad_request.add_field_violations();
    violation->set_field(field);
    violation->set_description(description);
    summaries.push_back(field + ": " + description);
  }
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(kGatewayDomain);
  return RpcError(absl::StatusCode::kInvalidArgument, absl::StrJoin(summaries, "; "),
                  {PackDetail(info), PackDetail(bad_request)});
}

}  // namespace aarthik::transcode
