// FakeUpstream: a scriptable HTTP/1.1 server on 127.0.0.1:<ephemeral port> for testing HTTP
// clients. It runs its own thread (one poll() loop over plain POSIX sockets), records every request
// it receives and answers each with a scripted FakeResponse: a status, headers and body, optionally
// after a delay, or a misbehaviour (never answer, reset the connection, close it half-way through
// the body). It counts accepted and open TCP connections, so tests can prove keep-alive reuse and
// that cancelled requests release their connection.
//
// Example:
//   aarthik::testing::FakeUpstream upstream;
//   upstream.EnqueueResponse(FakeResponse::Ok(R"({"data":{}})").WithHeader("x-request-id", "r-1"));
//   upstream.SetDefaultResponse(FakeResponse::Status(503));  // used once the queue is empty
//   ... send to upstream.url() + "/v1/journeys" ...
//   ASSERT_TRUE(upstream.WaitForRequests(1));
//   EXPECT_EQ(upstream.requests()[0].target, "/v1/journeys");
//   EXPECT_EQ(upstream.accepted_connections(), 1u);
//
// Response choice, per request: the handler if one is set; else the next enqueued response; else
// the default response (200, empty body, unless changed).
//
// Thread safety: every public method may be called from any thread. The handler runs on the fake's
// own thread, without the fake's lock held, so it may call the fake's methods.
#ifndef AARTHIK_TESTS_SUPPORT_FAKE_UPSTREAM_H_
#define AARTHIK_TESTS_SUPPORT_FAKE_UPSTREAM_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/support/sync.h"

namespace aarthik::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;  // Path and query, as sent: "/v1/offers?limit=2".
  std::vector<std::pair<std::string, std::string>> headers;  // Names lower-cased, in arrival order.
  std::string body;
  size_t connection_number = 0;  // 1 for the first accepted connection, 2 for the next, ...
  // The first value of the header named `lower_case_name`; "" when absent.
  std::string_view Header(std::string_view lower_case_name) const;
};

struct FakeResponse {
  enum class Action {
    kRespond,               // Send the response.
    kNeverRespond,          // Read the request, then stay silent (the connection stays open).
    kResetWithoutResponse,  // Read the request, then reset the connection (RST) without a byte.
    kCloseMidBody,  // Send the head announcing the full body, half the body, then close (FIN).
  };

  Action action = Action::kRespond;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  absl::Duration delay =
      absl::ZeroDuration();       // Before the first byte of the response (or the reset).
  bool close_connection = false;  // Send "Connection: close" and close after the response.
  bool chunked =
      false;  // Send the body with Transfer-Encoding: chunked (no Content-Length up front).

  static FakeResponse Ok(std::string body = "");
  static FakeResponse Status(int status, std::string body = "");
  static FakeResponse NeverRespond();
  static FakeResponse ResetWithoutResponse();
  static FakeResponse CloseMidBody(std::string full_body);

  FakeResponse&& WithHeader(std::string name, std::string value) &&;
  FakeResponse&& WithDelay(absl::Duration d) &&;
  FakeResponse&& WithConnectionClose() &&;
  FakeResponse&& Chunked() &&;
};

class FakeUpstream {
 public:
  using Handler = std::function<FakeResponse(const ReceivedRequest&)>;

  // Binds 127.0.0.1:0, listens and starts the server thread. Aborts if it cannot bind (tests cannot
  // run).
  FakeUpstream();
  ~FakeUpstream();  // Closes every connection and joins the thread.
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  int port() const { return port_; }
  std::string url() const;  // "http://127.0.0.1:<port>"

  void EnqueueResponse(FakeResponse response);
  void SetDefaultResponse(FakeResponse response);
  void SetHandler(Handler handler);

  // Closes every open connection (FIN), as an upstream dropping idle keep-alive connections does.
  void CloseAllConnections();

  std::vector<ReceivedRequest> requests() const;
  size_t request_count() const;
  size_t accepted_connections() const;
  size_t open_connections() const;

  // Block until at least `count` requests have arrived / exactly `count` connections are open;
  // false on timeout. For synchronising tests without sleeping.
  bool WaitForRequests(size_t count, absl::Duration timeout = absl::Seconds(10)) const;
  bool WaitForOpenConnections(size_t count, absl::Duration timeout = absl::Seconds(10)) const;

 private:
  struct Connection;

  void Run();
  void AcceptAll();
  // Returns false when the connection must be closed.
  bool ReadFrom(Connection& connection);
  bool ParseRequests(Connection& connection);
  bool StartResponse(Connection& connection, FakeResponse response);
  bool FlushOutput(Connection& connection);
  void CloseConnection(Connection& connection, bool reset);
  FakeResponse ChooseResponse(const ReceivedRequest& request);

  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::thread thread_;

  // Server thread only.
  std::vector<std::unique_ptr<Connection>> connections_;

  mutable aarthik::testing::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool close_all_requested_ ABSL_GUARDED_BY(mu_) = false;
  Handler handler_ ABSL_GUARDED_BY(mu_);
  std::deque<FakeResponse> queued_ ABSL_GUARDED_BY(mu_);
  FakeResponse default_response_ ABSL_GUARDED_BY(mu_);
  std::vector<ReceivedRequest> requests_ ABSL_GUARDED_BY(mu_);
  size_t accepted_connections_ ABSL_GUARDED_BY(mu_) = 0;
  size_t open_connections_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_SUPPORT_FAKE_UPSTREAM_H_
