// ReflectionService: gRPC server reflection (grpc.reflection.v1alpha, what grpcurl and `buf curl`
// speak) on the callback API. gRPC 1.51's own reflection service is synchronous, which gives the
// server a thread pool of its own (a thread idle at all times, more under concurrent use); this one
// runs on gRPC's callback threads like every other service of the gateway.
//
//   ReflectionService reflection({"aarthik.headless.v1.JourneysService", ...});
//   builder.RegisterService(&reflection);
//
// It answers from the generated descriptor pool: list_services (the names given, and its own),
// file_by_filename, file_containing_symbol, file_containing_extension and
// all_extension_numbers_of_type. A file is sent with the dependencies the stream has not been sent
// yet, as gRPC's implementation does. Unknown names get an error_response NOT_FOUND.
//
// Thread-safety: immutable after construction; each stream is served by its own reactor.
#ifndef AARTHIK_SERVER_RPC_REFLECTION_SERVICE_H_
#define AARTHIK_SERVER_RPC_REFLECTION_SERVICE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpc_reflection_v1alpha/reflection.grpc.pb.h"

namespace aarthik::rpc {

class ReflectionService final
    : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
 public:
  // Decides whether a reflection stream may start (rpc/call_authz.h); not OK: it ends at once.
  using Admission =
      std::function<absl::Status(const grpc::ServerContextBase& context, absl::string_view method)>;
  explicit ReflectionService(std::vector<std::string> service_names, Admission admit = nullptr);

  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

  // One request's answer. `sent_files` holds the files this stream already received.
  void Answer(const grpc::reflection::v1alpha::ServerReflectionRequest& request,
              absl::flat_hash_set<std::string>* sent_files,
              grpc::reflection::v1alpha::ServerReflectionResponse* response) const;

 private:
  std::vector<std::string> service_names_;
  Admission admit_;
};

}  // namespace aarthik::rpc

#endif  // AARTHIK_SERVER_RPC_REFLECTION_SERVICE_H_
