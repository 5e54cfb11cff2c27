// Rich errors inside the gateway: an absl::Status that carries a google.rpc.Status (ErrorInfo,
// BadRequest, RetryInfo, RequestInfo, ...) as a payload. The RPC edge turns it into a grpc::Status
// with those details.
//
//   google::rpc::BadRequest bad_request;  ... fill ...
//   absl::Status s = RpcError(absl::StatusCode::kInvalidArgument, "journey_id is not a UUID",
//                             {PackDetail(bad_request), PackDetail(error_info)});
//   std::optional<google::rpc::Status> details = RpcDetails(s);
//   std::string reason = ErrorReason(s);  // the ErrorInfo's reason, for the log
//
// Thread-safety: free functions on values.
#ifndef AARTHIK_SERVER_TRANSCODE_RPC_ERROR_H_
#define AARTHIK_SERVER_TRANSCODE_RPC_ERROR_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/any.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace aarthik::transcode {

// The ErrorInfo domain of errors the gateway raises itself (platform errors use kPlatformDomain).
inline constexpr char kGatewayDomain[] = "gateway.aarthik";
inline constexpr char kPlatformDomain[] = "credit.aarthiklabs.com";

template <typename Detail>
google::protobuf::Any PackDetail(const Detail& detail) {
  google::protobuf::Any any;
  any.PackFrom(detail);
  return any;
}

absl::Status RpcError(absl::StatusCode code, absl::string_view message,
                      const std::vector<google::protobuf::Any>& details);

// The google.rpc.Status carried by `status`, if any (code and message filled from `status`).
std::optional<google::rpc::Status> RpcDetails(const absl::Status& status);

// The reason of the google.rpc.ErrorInfo `status` carries ("UPSTREAM_TIMEOUT", ...); empty when it
// carries none. A word from a closed set, never a value: fit for logs, unlike the message.
std::string ErrorReason(const absl::Status& status);

// INVALID_ARGUMENT with a BadRequest listing (field, description) violations and an ErrorInfo.
absl::Status InvalidRequest(absl::string_view reason,
                            const std::vector<std::pair<std::string, std::string>>& violations);

}  // namespace aarthik::transcode

#endif  // AARTHIK_SERVER_TRANSCODE_RPC_ERROR_H_
