// GrpcListenerCheck against a real gRPC server (answers), a listening socket nobody accepts on
// (the kernel completes the handshake, nobody answers: what gRPC 1.51 leaves after EMFILE) and a
// closed port.
#include "server/http/grpc_listener_check.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>

#include "absl/strings/str_cat.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace aarthik::http {
namespace {

// A loopback socket bound to a free port; listening (never accepting) or closed at once.
class BareSocket {
 public:
  explicit BareSocket(bool listen_on_it) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    if (listen_on_it) {
      listen(fd_, 16);
    } else {
      close(fd_);
      fd_ = -1;
    }
  }
  ~BareSocket() {
    if (fd_ >= 0) close(fd_);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class GrpcListenerCheckTest : public ::testing::Test {
 protected:
  void SetUp() override { loop_.Start(); }

  absl::Status CheckOnce(const std::string& address) {
    GrpcListenerCheck check(&loop_, {.address = address, .timeout = absl::Milliseconds(300)},
                            nullptr);
    std::promise<absl::Status> result;
    check.CheckNow([&result](absl::Status status) { result.set_value(std::move(status)); });
    std::future<absl::Status> future = result.get_future();
    // A safety net; the check itself ends within its timeout.
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
      return absl::InternalError("the check never finished");
    return future.get();
  }

  upstream::EventLoop loop_;
};

TEST_F(GrpcListenerCheckTest, AGrpcServerAnswersWithItsSettings) {
  grpc::ServerBuilder builder;
  grpc::CallbackGenericService service;  // a server needs a service that gRPC polls
  builder.RegisterCallbackGenericService(&service);
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(CheckOnce(absl::StrCat("127.0.0.1:", port)).ok());
  EXPECT_TRUE(CheckOnce(absl::StrCat("0.0.0.0:", port)).ok());  // a wildcard is checked on loopback
  server->Shutdown();
}

TEST_F(GrpcListenerCheckTest, AListenerNobodyAcceptsOnFails) {
  BareSocket listening(/*listen_on_it=*/true);
  absl::Status status = CheckOnce(listening.address());
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
}

TEST_F(GrpcListenerCheckTest, AClosedPortFails) {
  BareSocket closed(/*listen_on_it=*/false);
  absl::Status status = CheckOnce(closed.address());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(GrpcListenerCheckTest, ScheduledChecksReportNotAcceptingAfterTwoFailuresInARow) {
  BareSocket listening(/*listen_on_it=*/true);
  std::promise<int> turned;
  int reports = 0;
  bool done = false;
  GrpcListenerCheck check(&loop_,
                          {.address = listening.address(),
                           .interval = absl::Milliseconds(20),
                           .timeout = absl::Milliseconds(50),
                           .failures_to_report = 2},
                          [&](bool accepting, const absl::Status& result) {
                            EXPECT_FALSE(result.ok());
                            ++reports;
                            if (!accepting && !done) {
                              done = true;
                              turned.set_value(reports);
                            }
                          });
  check.Start();
  std::future<int> future = turned.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(future.get(), 2);  // the first failure alone did not turn the verdict
  EXPECT_GE(check.failures(), 2u);
}

}  // namespace
}  // namespace aarthik::http
