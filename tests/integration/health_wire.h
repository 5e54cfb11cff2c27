// grpc.health.v1 messages, hand-encoded: the health proto is served by gRPC but Debian ships no
// generated headers for it. Enough for Check and Watch as Kubernetes' gRPC probes call them.
//
//   grpc::ByteBuffer request = HealthRequest("aarthik.headless.v1.JourneysService");
//   ... "/grpc.health.v1.Health/Check" through a grpc::GenericStub ...
//   EXPECT_EQ(HealthStatus(response), kServing);
//   int status = 0;
//   grpc::Status call = CheckHealth(channel, "", &context, &status);  // the same, blocking
//
// Thread-safety: pure functions; CheckHealth blocks its caller only.
#ifndef AARTHIK_TESTS_INTEGRATION_HEALTH_WIRE_H_
#define AARTHIK_TESTS_INTEGRATION_HEALTH_WIRE_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "grpcpp/generic/generic_stub.h"
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

// Health/Check of `service` over `channel` with `context` (deadline, metadata), waited for; on
// success `*status` is the answer's ServingStatus.
inline grpc::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service, grpc::ClientContext* context,
                                int* status) {
  grpc::GenericStub stub(channel);
  grpc::ByteBuffer request = HealthRequest(service);
  grpc::ByteBuffer response;
  grpc::Status result;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  stub.UnaryCall(context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   result = std::move(s);
                   done = true;
                   cv.notify_one();
                 });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  if (result.ok()) *status = HealthStatus(response);
  return result;
}

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_INTEGRATION_HEALTH_WIRE_H_
