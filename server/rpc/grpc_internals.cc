#include "server/rpc/grpc_internals.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"

namespace aarthik::rpc {

namespace {

// The gRPC core whose internals grpc_internals.h declares.
constexpr char kCoreVersion[] = "29.0.0";

}  // namespace

absl::Status GrpcInternalsUsable(const char* use) {
  const std::string core = grpc_version_string();
  if (core == kCoreVersion) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("gRPC core ", core, " (gRPC ", grpc::Version(),
                                                    "): ", use, " needs gRPC core ", kCoreVersion,
                                                    " (gRPC 1.51)"));
}

}  // namespace aarthik::rpc
