#include "server/rpc/reflection_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "server/rpc/rpc_proxy.h"

namespace aarthik::rpc {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

void NotFound(absl::string_view what, ServerReflectionResponse* response) {
  auto* error = response->mutable_error_response();
  error->set_error_code(static_cast<int32_t>(grpc::StatusCode::NOT_FOUND));
  error->set_error_message(std::string(what));
}

// `file` and, after it, its dependencies the stream has not received yet (an empty list when it
// has them all: the answer still says which kind it is).
void AddFile(const FileDescriptor* file, absl::flat_hash_set<std::string>* sent,
             ServerReflectionResponse* response) {
  response->mutable_file_descriptor_response();
  if (!sent->insert(file->name()).second) return;
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  proto.SerializeToString(
      response->mutable_file_descriptor_response()->add_file_descriptor_proto());
  for (int i = 0; i < file->dependency_count(); ++i) AddFile(file->dependency(i), sent, response);
}

class ReflectionStream
    : public grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse> {
 public:
  explicit ReflectionStream(const ReflectionService* service) : service_(service) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed (or went away): the stream is over
      Finish(grpc::Status::OK);
      return;
    }
    response_.Clear();
    service_->Answer(request_, &sent_files_, &response_);
    StartWrite(&response_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the reflection client went away"));
      return;
    }
    StartRead(&request_);
  }
  void OnDone() override { delete this; }

 private:
  const ReflectionService* service_;
  ServerReflectionRequest request_;
  ServerReflectionResponse response_;
  absl::flat_hash_set<std::string> sent_files_;
};

// A stream the authorizer refused: ends at once.
class RefusedStream
    : public grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse> {
 public:
  explicit RefusedStream(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

ReflectionService::ReflectionService(std::vector<std::string> service_names, Admission admit)
    : service_names_(std::move(service_names)), admit_(std::move(admit)) {
  service_names_.push_back(grpc::reflection::v1alpha::ServerReflection::service_full_name());
}

grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse>*
ReflectionService::ServerReflectionInfo(grpc::CallbackServerContext* context) {
  if (admit_) {
    if (absl::Status admitted =
            admit_(*context, "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
        !admitted.ok()) {
      return new RefusedStream(ToGrpcStatus(admitted));
    }
  }
  return new ReflectionStream(this);
}

void ReflectionService::Answer(const ServerReflectionRequest& request,
                               absl::flat_hash_set<std::string>* sent_files,
                               ServerReflectionResponse* response) const {
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  response->set_valid_host(request.host());
  *response->mutable_original_request() = request;
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kListServices:
      for (const std::string& name : service_names_) {
        response->mutable_list_services_response()->add_service()->set_name(name);
      }
      return;
    case ServerReflectionRequest::kFileByFilename: {
      const FileDescriptor* file = pool->FindFileByName(request.file_by_filename());
      if (file == nullptr) return NotFound("file not found", response);
      return AddFile(file, sent_files, response);
    }
    case ServerReflectionRequest::kFileContainingSymbol: {
      const FileDescriptor* file = pool->FindFileContainingSymbol(request.file_containing_symbol());
      if (file == nullptr) return NotFound("symbol not found", response);
      return AddFile(file, sent_files, response);
    }
    case ServerReflectionRequest::kFileContainingExtension: {
      const auto& wanted = request.file_containing_extension();
      const google::protobuf::Descriptor* type =
          pool->FindMessageTypeByName(wanted.containing_type());
      const google::protobuf::FieldDescriptor* extension =
          type != nullptr ? pool->FindExtensionByNumber(type, wanted.extension_number()) : nullptr;
      if (extension == nullptr) return NotFound("extension not found", response);
      return AddFile(extension->file(), sent_files, response);
    }
    case ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const google::protobuf::Descriptor* type =
          pool->FindMessageTypeByName(request.all_extension_numbers_of_type());
      if (type == nullptr) return NotFound("type not found", response);
      std::vector<const google::protobuf::FieldDescriptor*> extensions;
      pool->FindAllExtensions(type, &extensions);
      auto* numbers = response->mutable_all_extension_numbers_response();
      numbers->set_base_type_name(type->full_name());
      for (const auto* extension : extensions) numbers->add_extension_number(extension->number());
      return;
    }
    default: {
      auto* error = response->mutable_error_response();
      error->set_error_code(static_cast<int32_t>(grpc::StatusCode::UNIMPLEMENTED));
      error->set_error_message("unknown reflection request");
    }
  }
}

}  // namespace aarthik::rpc
