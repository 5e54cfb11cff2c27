// A gRPC server on a loopback port for tests of the gateway's gRPC plumbing, and concurrent raw
// unary calls to it through a generic stub (empty requests; only the status counts).
//
//   LoopbackGrpc grpc = LoopbackGrpc::Start(&service);   // service: a grpc::Service with raw
//   methods EXPECT_EQ(CallAtOnce(*grpc.stub, "/pkg.Service/Method", 200), 200);
//   grpc.server->Shutdown();
//
// Thread-safety: CallAtOnce may run on several threads at once with one stub.
#ifndef AARTHIK_TESTS_SUPPORT_GENERIC_GRPC_H_
#define AARTHIK_TESTS_SUPPORT_GENERIC_GRPC_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "tests/support/sync.h"

namespace aarthik::testing {

struct LoopbackGrpc {
  std::unique_ptr<grpc::Server> server;  // null when it could not start
  std::unique_ptr<grpc::GenericStub> stub;

  static LoopbackGrpc Start(grpc::Service* service) {
    LoopbackGrpc started;
    int port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service);
    started.server = builder.BuildAndStart();
    if (started.server == nullptr) return started;
    started.stub = std::make_unique<grpc::GenericStub>(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    return started;
  }
};

// Makes `n` calls of `method` at once; returns how many ended OK.
inline int CallAtOnce(grpc::GenericStub& stub, const std::string& method, int n) {
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<grpc::ByteBuffer> responses(n);
  std::atomic<int> ok{0};
  Mutex mu;
  int pending = n;
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  for (int i = 0; i < n; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    stub.UnaryCall(contexts.back().get(), method, grpc::StubOptions(), &request, &responses[i],
                   [&](grpc::Status status) {
                     if (status.ok()) ok.fetch_add(1);
                     MutexLock lock(&mu);
                     --pending;
                   });
  }
  MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](int* left) { return *left == 0; }, &pending));
  return ok.load();
}

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_SUPPORT_GENERIC_GRPC_H_
