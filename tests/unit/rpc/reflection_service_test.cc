// ReflectionService's answers (the wire protocol is exercised by buf curl in
// integration/buf_curl_test.sh): services listed, files sent with their dependencies once per
// stream, symbols and extensions found, unknown names NOT_FOUND.
#include "server/rpc/reflection_service.h"

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"

namespace aarthik::rpc {
namespace {

using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;
using ::testing::Contains;

std::vector<std::string> FileNames(const ServerReflectionResponse& response) {
  std::vector<std::string> names;
  for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    EXPECT_TRUE(file.ParseFromString(bytes));
    names.push_back(file.name());
  }
  return names;
}

TEST(ReflectionServiceTest, ListsTheGivenServicesAndItself) {
  ReflectionService service({"aarthik.headless.v1.JourneysService"});
  ServerReflectionRequest request;
  request.set_list_services("");
  absl::flat_hash_set<std::string> sent;
  ServerReflectionResponse response;
  service.Answer(request, &sent, &response);
  std::vector<std::string> names;
  for (const auto& s : response.list_services_response().service()) names.push_back(s.name());
  EXPECT_THAT(names, Contains("aarthik.headless.v1.JourneysService"));
  EXPECT_THAT(names, Contains("grpc.reflection.v1alpha.ServerReflection"));
}

TEST(ReflectionServiceTest, SymbolsComeWithTheirDependenciesOncePerStream) {
  ReflectionService service({});
  absl::flat_hash_set<std::string> sent;
  ServerReflectionRequest request;
  request.set_file_containing_symbol("aarthik.headless.v1.JourneysService");
  ServerReflectionResponse first;
  service.Answer(request, &sent, &first);
  std::vector<std::string> files = FileNames(first);
  ASSERT_GE(files.size(), 2u);
  EXPECT_EQ(files[0], "aarthik/headless/v1/journeys.proto");
  EXPECT_THAT(files, Contains("google/api/annotations.proto"));

  ServerReflectionResponse again;  // same stream: nothing new to send
  service.Answer(request, &sent, &again);
  EXPECT_TRUE(FileNames(again).empty());
  EXPECT_TRUE(again.has_file_descriptor_response());
}

TEST(ReflectionServiceTest, ExtensionsOfTheRouteOptionAreFound) {
  ReflectionService service({});
  absl::flat_hash_set<std::string> sent;
  ServerReflectionRequest request;
  request.set_all_extension_numbers_of_type("google.protobuf.MethodOptions");
  ServerReflectionResponse response;
  service.Answer(request, &sent, &response);
  EXPECT_EQ(response.all_extension_numbers_response().base_type_name(),
            "google.protobuf.MethodOptions");
  EXPECT_FALSE(response.all_extension_numbers_response().extension_number().empty());
}

TEST(ReflectionServiceTest, UnknownNamesAreNotFound) {
  ReflectionService service({});
  absl::flat_hash_set<std::string> sent;
  for (const char* symbol : {"no.such.Service", ""}) {
    ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    ServerReflectionResponse response;
    service.Answer(request, &sent, &response);
    EXPECT_EQ(response.error_response().error_code(),
              static_cast<int>(grpc::StatusCode::NOT_FOUND));
  }
  ServerReflectionRequest by_name;
  by_name.set_file_by_filename("missing.proto");
  ServerReflectionResponse response;
  service.Answer(by_name, &sent, &response);
  EXPECT_EQ(response.error_response().error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(response.original_request().file_by_filename(), "missing.proto");
}

}  // namespace
}  // namespace aarthik::rpc
