// GrpcLoopDriver against this machine's gRPC: a real callback server, whose polling threads then
// run an upstream EventLoop's work, and real calls answered from that loop.
#include "server/rpc/grpc_loop_driver.h"

#include <pthread.h>

#include <memory>
#include <string>
#include <thread>

#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "gtest/gtest.h"
#include "server/upstream/event_loop.h"
#include "tests/support/generic_grpc.h"
#include "tests/support/sync.h"

namespace aarthik::rpc {
namespace {

constexpr char kMethod[] = "/aarthik.test.Loop/Answer";

// One unary method whose calls are answered from `loop`, after `delay` (a timer on the loop).
class AnsweredOnTheLoop : public grpc::Service {
 public:
  AnsweredOnTheLoop(upstream::EventLoop* loop, absl::Duration delay) {
    AddMethod(new grpc::internal::RpcServiceMethod(kMethod, grpc::internal::RpcMethod::NORMAL_RPC,
                                                   nullptr));
    MarkMethodRawCallback(
        0, new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
               [loop, delay](grpc::CallbackServerContext* context, const grpc::ByteBuffer*,
                             grpc::ByteBuffer* response) {
                 grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
                 loop->RunAfter(delay, [reactor, response] {
                   grpc::Slice empty("");
                   *response = grpc::ByteBuffer(&empty, 1);
                   reactor->Finish(grpc::Status::OK);
                 });
                 return reactor;
               }));
  }
};

std::string ThreadName() {
  char name[32] = {};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  return name;
}

class GrpcLoopDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(GrpcLoopDriver::Usable().ok()) << GrpcLoopDriver::Usable();
    loop_.Start();
    own_thread_ = RunOnLoop().first;
    grpc_ = aarthik::testing::LoopbackGrpc::Start(&service_);
    ASSERT_NE(grpc_.server, nullptr);
  }
  void TearDown() override {
    loop_.Stop();  // Takes the loop back while gRPC's threads still poll.
    if (grpc_.server != nullptr) grpc_.server->Shutdown();
  }

  // The thread that runs the loop's next task, and that thread's name.
  std::pair<std::thread::id, std::string> RunOnLoop() {
    std::pair<std::thread::id, std::string> ran;
    aarthik::testing::Notification done;
    loop_.Post([&] {
      ran = {std::this_thread::get_id(), ThreadName()};
      done.Notify();
    });
    done.WaitForNotification();
    return ran;
  }

  int Call(int n) { return aarthik::testing::CallAtOnce(*grpc_.stub, kMethod, n); }

  GrpcLoopDriver driver_;  // Outlives the loop, which it drives until TearDown takes it back.
  upstream::EventLoop loop_;
  std::thread::id own_thread_;
  AnsweredOnTheLoop service_{&loop_, absl::Milliseconds(1)};
  aarthik::testing::LoopbackGrpc grpc_;
};

TEST_F(GrpcLoopDriverTest, GrpcsPollingThreadsRunTheLoopsWork) {
  ASSERT_TRUE(loop_.HandOver(&driver_).ok());
  EXPECT_TRUE(loop_.IsDriven());
  const auto [thread, name] = RunOnLoop();
  EXPECT_NE(thread, own_thread_);
  EXPECT_EQ(name, "nexting_thread");  // gRPC 1.51's callback threads, which poll.
}

TEST_F(GrpcLoopDriverTest, CallsAnsweredFromTheDrivenLoopAllEndOk) {
  ASSERT_TRUE(loop_.HandOver(&driver_).ok());
  EXPECT_EQ(Call(200), 200);
  EXPECT_EQ(Call(1), 1);
}

TEST_F(GrpcLoopDriverTest, TheLoopIsTakenBackAndHandedOverAgain) {
  for (int round = 0; round < 10; ++round) {
    ASSERT_TRUE(loop_.HandOver(&driver_).ok());
    EXPECT_NE(RunOnLoop().first, own_thread_);
    EXPECT_EQ(Call(20), 20);
    loop_.TakeBack();
    EXPECT_NE(RunOnLoop().second, "nexting_thread");  // a thread of the loop's own again
    EXPECT_EQ(Call(20), 20);
  }
}

TEST_F(GrpcLoopDriverTest, StoppingADrivenLoopTakesItBackFirst) {
  ASSERT_TRUE(loop_.HandOver(&driver_).ok());
  EXPECT_EQ(Call(10), 10);
  loop_.Stop();
  EXPECT_FALSE(loop_.IsDriven());
}

}  // namespace
}  // namespace aarthik::rpc
