// CallbackThreadPark against this machine's gRPC: a real callback server whose handlers record
// the thread they run on, and real calls.
#include "server/rpc/callback_thread_park.h"

#include <memory>
#include <set>
#include <string>
#include <thread>

#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "gtest/gtest.h"
#include "tests/support/generic_grpc.h"
#include "tests/support/sync.h"

namespace aarthik::rpc {
namespace {

constexpr char kMethod[] = "/aarthik.test.Threads/Record";

// One unary method that records which thread ran each call's handler and answers at once.
class RecordsItsThreads : public grpc::Service {
 public:
  RecordsItsThreads() {
    AddMethod(new grpc::internal::RpcServiceMethod(kMethod, grpc::internal::RpcMethod::NORMAL_RPC,
                                                   nullptr));
    MarkMethodRawCallback(
        0, new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
               [this](grpc::CallbackServerContext* context, const grpc::ByteBuffer*,
                      grpc::ByteBuffer* response) {
                 {
                   aarthik::testing::MutexLock lock(&mu_);
                   threads_.insert(std::this_thread::get_id());
                 }
                 grpc::Slice empty("");
                 *response = grpc::ByteBuffer(&empty, 1);
                 grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
                 reactor->Finish(grpc::Status::OK);
                 return reactor;
               }));
  }

  // The threads that ran handlers since the last call.
  std::set<std::thread::id> TakeThreads() {
    aarthik::testing::MutexLock lock(&mu_);
    return std::move(threads_);
  }

 private:
  aarthik::testing::Mutex mu_;
  std::set<std::thread::id> threads_;
};

class CallbackThreadParkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc_ = aarthik::testing::LoopbackGrpc::Start(&service_);
    ASSERT_NE(grpc_.server, nullptr);
  }
  void TearDown() override {
    // The server joins gRPC's callback threads when it goes: a thread still parked would hang it.
    park_.reset();
    if (grpc_.server != nullptr) grpc_.server->Shutdown();
  }

  int Call(int n) { return aarthik::testing::CallAtOnce(*grpc_.stub, kMethod, n); }

  void Park(int keep) {
    absl::StatusOr<std::unique_ptr<CallbackThreadPark>> park =
        CallbackThreadPark::Start(*grpc_.server, keep);
    ASSERT_TRUE(park.ok()) << park.status();
    park_ = *std::move(park);
  }

  RecordsItsThreads service_;
  aarthik::testing::LoopbackGrpc grpc_;
  std::unique_ptr<CallbackThreadPark> park_;
};

TEST_F(CallbackThreadParkTest, OneThreadKeptRunsEveryHandler) {
  ASSERT_NO_FATAL_FAILURE(Park(1));
  EXPECT_GE(park_->started(), 2);  // gRPC 1.51 starts at least two
  EXPECT_EQ(park_->parked(), park_->started() - 1);
  for (int round = 0; round < 5; ++round) EXPECT_EQ(Call(200), 200);
  EXPECT_EQ(service_.TakeThreads().size(), 1u);
}

TEST_F(CallbackThreadParkTest, KeepingAsManyAsGrpcStartedParksNone) {
  ASSERT_NO_FATAL_FAILURE(Park(1000));
  EXPECT_EQ(park_->parked(), 0);
  EXPECT_EQ(Call(50), 50);
}

TEST_F(CallbackThreadParkTest, ReleasedThreadsGoBackToGrpc) {
  ASSERT_NO_FATAL_FAILURE(Park(1));
  EXPECT_EQ(Call(20), 20);
  park_->Release();
  EXPECT_EQ(park_->parked(), 0);
  park_->Release();  // idempotent
  EXPECT_EQ(Call(200), 200);
  // TearDown then shuts the server down, which joins every callback thread.
}

TEST_F(CallbackThreadParkTest, AParkedThreadKeepsTheKeptOneFromGrpcsIdleSleep) {
  // gRPC's nexting thread sleeps 100 ms after a second without events; the parked thread queues
  // a no-op event every kKeepAwakeInterval, so the kept thread never goes a second without one.
  ASSERT_NO_FATAL_FAILURE(Park(1));
  EXPECT_TRUE(park_->WaitForKeepAwakeEvents(4, absl::Seconds(30)));  // ~1 s of real time
  EXPECT_EQ(Call(10), 10);
}

TEST_F(CallbackThreadParkTest, KeepingNoThreadIsRefused) {
  absl::StatusOr<std::unique_ptr<CallbackThreadPark>> park =
      CallbackThreadPark::Start(*grpc_.server, 0);
  EXPECT_EQ(park.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace aarthik::rpc
