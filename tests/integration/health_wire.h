// grpc.health.v1 messages, hand-encoded: the health proto is served by gRPC but Debian ships no
// generated headers for it. Enough for Check and Watch as Kubernetes' gRPC probes call them.
//
//   grpc::ByteBuffer request = HealthRequest("aarthik.headless.v1.JourneysService");
//   ... "/grpc.health.v1.Health/Check" through a grpc::GenericStub ...
//   EXPECT_EQ(HealthStatus(response), kServing);
//
// Thread-safety: pure functions.
#ifndef AARTHIK_TESTS_INTEGRATION_HEALTH_WIRE_H_
#define AARTHIK_TESTS_INTEGRATION_HEALTH_WIRE_H_

#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"

namespace aarthik::testing {

// HealthCheckResponse.ServingStatus values.
inline constexpr int kServing = 1;
inline constexpr int kNotServing = 2;

// HealthCheckRequest{service}; "" asks for the server as a whole.
inline grpc::ByteBuffer HealthRequest(const std::string& service) {
  std::string bytes;
  if (!service.empty()) {
    bytes.push_back(0x0a);  // field 1, length-delimited
    bytes.push_back(static_cast<char>(service.size()));
    bytes += service;
  }
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// The status of a HealthCheckResponse; 0 when unreadable (or UNKNOWN).
inline int HealthStatus(const grpc::ByteBuffer& response) {
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return 0;
  std::string bytes;
  for (const auto& slice : slices)
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0;
}

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_INTEGRATION_HEALTH_WIRE_H_
