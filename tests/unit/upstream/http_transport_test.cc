// The behaviour every HttpTransport promises (http_transport.h), checked against each
// implementation: Http1Transport (the default) and CurlMultiTransport (HTTP/2).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/clock.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/sync.h"
#include "tests/unit/upstream/transport_implementations.h"

namespace aarthik::upstream {
namespace {

using ::aarthik::testing::FakeResponse;
using ::aarthik::testing::FakeUpstream;
using ::testing::HasSubstr;
using ::testing::Pair;

// Collects one response; waits without sleeping.
class ResponseSlot {
 public:
  ResponseCallback Callback(EventLoop* loop) {
    return [this, loop](absl::StatusOr<HttpResponse> response) {
      on_loop_thread_ = loop->IsInLoopThread();
      result_ = std::move(response);
      done_.Notify();
    };
  }
  absl::StatusOr<HttpResponse>& Wait() {
    done_.WaitForNotification();
    return result_;
  }
  bool HasRun() const { return done_.HasBeenNotified(); }
  bool ran_on_loop_thread() const { return on_loop_thread_; }

 private:
  aarthik::testing::Notification done_;
  absl::StatusOr<HttpResponse> result_ = absl::UnknownError("callback never ran");
  bool on_loop_thread_ = false;
};

// A listener whose accept queue is full: the kernel drops further SYNs, so a connect to it hangs
// (the first retransmission is a second away) without a packet leaving the machine.
class UnansweredListener {
 public:
  UnansweredListener() {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(listener_, 0) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
    // A backlog of 0 queues one connection; it is never accepted, so the queue stays full.
    filler_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const timeval bound{2, 0};  // connect() gives up after SO_SNDTIMEO: no hang if it is not queued
    setsockopt(filler_, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof(bound));
    if (connect(filler_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) port_ = 0;
  }
  ~UnansweredListener() {
    close(filler_);
    close(listener_);
  }
  int port() const { return port_; }  // 0 when the set-up failed

 private:
  int listener_ = -1;
  int filler_ = -1;
  int port_ = 0;
};

template <typename Transport>
class HttpTransportTest : public ::testing::Test {
 protected:
  HttpTransportTest() { loop_.Start(); }

  Transport& transport(typename Transport::Options options = {}) {
    if (transport_ == nullptr) transport_ = std::make_unique<Transport>(&loop_, options);
    return *transport_;
  }

  HttpRequest Request(std::string method, std::string path, std::string body = "") {
    HttpRequest request;
    request.method = std::move(method);
    request.url = upstream_.url() + path;
    request.body = std::move(body);
    return request;
  }

  absl::StatusOr<HttpResponse> SendAndWait(HttpRequest request) {
    ResponseSlot slot;
    transport().Send(std::move(request), slot.Callback(&loop_));
    return std::move(slot.Wait());
  }

  // A GET whose connect never completes (UnansweredListener), on a transport whose connect
  // timeout is `connect_timeout`; how it ended.
  absl::StatusOr<HttpResponse> SendUnanswered(absl::Duration connect_timeout,
                                              absl::Duration request_timeout) {
    UnansweredListener platform;
    if (platform.port() == 0) return absl::InternalError("cannot set up the listener");
    typename Transport::Options options;
    options.connect_timeout = connect_timeout;
    transport(options);
    HttpRequest request;
    request.method = "GET";
    request.url = absl::StrCat("http://127.0.0.1:", platform.port(), "/state");
    request.timeout = request_timeout;
    return SendAndWait(std::move(request));
  }

  // Declared first so it is destroyed last: the transport and the fake need it running.
  EventLoop loop_;
  FakeUpstream upstream_;
  std::unique_ptr<Transport> transport_;
};

TYPED_TEST_SUITE(HttpTransportTest, TransportImplementations, TransportNames);

TYPED_TEST(HttpTransportTest, RoundTripsMethodTargetHeadersAndBody) {
  int sent = 0;
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    SCOPED_TRACE(method);
    this->upstream_.EnqueueResponse(FakeResponse::Status(201, absl::StrCat("reply to ", method))
                                        .WithHeader("X-Request-ID", "req-42")
                                        .WithHeader("Content-Type", "application/json"));
    HttpRequest request = this->Request(method, "/v1/journeys/j-1?expand=offers&x=%20y",
                                        std::string(method) == "GET" ? "" : R"({"amount":5000})");
    request.headers = {{"Authorization", "Bearer sk_test"},
                       {"X-Correlation-ID", "c-1"},
                       {"Content-Type", "application/json"}};
    absl::StatusOr<HttpResponse> response = this->SendAndWait(std::move(request));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 201);
    EXPECT_EQ(response->body, absl::StrCat("reply to ", method));
    EXPECT_EQ(response->Header("x-request-id"), "req-42");
    EXPECT_EQ(response->Header("content-type"), "application/json");
    EXPECT_EQ(response->Header("absent"), "");
    EXPECT_THAT(response->headers, ::testing::Contains(Pair("x-request-id", "req-42")));

    ASSERT_TRUE(this->upstream_.WaitForRequests(++sent));
    const auto received = this->upstream_.requests().back();
    EXPECT_EQ(received.method, method);
    EXPECT_EQ(received.target, "/v1/journeys/j-1?expand=offers&x=%20y");
    EXPECT_EQ(received.Header("authorization"), "Bearer sk_test");
    EXPECT_EQ(received.Header("x-correlation-id"), "c-1");
    EXPECT_EQ(received.Header("expect"), "");  // No 100-continue round trip.
    if (std::string(method) != "GET") {
      EXPECT_EQ(received.body, R"({"amount":5000})");
      EXPECT_EQ(received.Header("content-type"), "application/json");
    }
  }
}

TYPED_TEST(HttpTransportTest, UrlWithoutAPathAsksForTheRoot) {
  int sent = 0;
  for (const auto& [path, target] :
       {std::pair<std::string, std::string>{"", "/"}, {"?page=2", "/?page=2"}}) {
    SCOPED_TRACE(path);
    this->upstream_.EnqueueResponse(FakeResponse::Status(200, "root"));
    absl::StatusOr<HttpResponse> response = this->SendAndWait(this->Request("GET", path));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->body, "root");
    ASSERT_TRUE(this->upstream_.WaitForRequests(++sent));
    EXPECT_EQ(this->upstream_.requests().back().target, target);
  }
}

TYPED_TEST(HttpTransportTest, LargeRequestBodyAndChunkedResponseRoundTrip) {
  const std::string big_body(3 << 20, 'b');
  const std::string big_reply(2 << 20, 'r');
  this->upstream_.EnqueueResponse(FakeResponse::Ok(big_reply).Chunked());
  HttpRequest request = this->Request("POST", "/upload", big_body);
  request.timeout = absl::Minutes(2);  // Megabytes through sanitizer builds can be slow.
  absl::StatusOr<HttpResponse> response = this->SendAndWait(std::move(request));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, big_reply);
  EXPECT_EQ(this->upstream_.requests().at(0).body, big_body);
  EXPECT_EQ(this->upstream_.requests().at(0).Header("content-type"),
            "");  // Not labelled form data.
}

TYPED_TEST(HttpTransportTest, NonSuccessHttpStatusesAreResponsesNotErrors) {
  this->upstream_.EnqueueResponse(FakeResponse::Status(503, R"({"error":{"code":"X"}})"));
  absl::StatusOr<HttpResponse> response = this->SendAndWait(this->Request("GET", "/"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 503);
}

TYPED_TEST(HttpTransportTest, SequentialRequestsReuseOneKeepAliveConnection) {
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<HttpResponse> response =
        this->SendAndWait(this->Request("GET", absl::StrCat("/n/", i)));
    ASSERT_TRUE(response.ok()) << response.status();
  }
  EXPECT_EQ(this->upstream_.accepted_connections(), 1u);
  EXPECT_EQ(this->transport().connections_opened(), 1u);
}

TYPED_TEST(HttpTransportTest, IdleConnectionClosedByTheUpstreamIsReplacedTransparently) {
  // Http1Transport checks a connection before reuse only once it has been idle for a second
  // (upstreams close idle connections after seconds, not sooner): a second passes here.
  core::ManualClock clock(absl::Now());
  typename TypeParam::Options options;
  if constexpr (std::is_same_v<TypeParam, Http1Transport>) options.clock = &clock;
  this->transport(options);
  ASSERT_TRUE(this->SendAndWait(this->Request("GET", "/first")).ok());
  this->upstream_.CloseAllConnections();  // The parked keep-alive socket sees EOF while idle.
  ASSERT_TRUE(this->upstream_.WaitForOpenConnections(0));
  clock.Advance(absl::Seconds(1));
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<HttpResponse> response = this->SendAndWait(this->Request("GET", "/again"));
    ASSERT_TRUE(response.ok()) << response.status();
  }
  EXPECT_EQ(this->upstream_.accepted_connections(), 2u);
}

TYPED_TEST(HttpTransportTest, ConnectionCloseFromTheUpstreamIsHonoured) {
  this->upstream_.EnqueueResponse(FakeResponse::Ok("bye").WithConnectionClose());
  ASSERT_TRUE(this->SendAndWait(this->Request("GET", "/closing")).ok());
  ASSERT_TRUE(this->SendAndWait(this->Request("GET", "/next")).ok());
  EXPECT_EQ(this->upstream_.accepted_connections(), 2u);
}

TYPED_TEST(HttpTransportTest, HeadRequestHasNoBodyAndTheHandleIsReusableAfterwards) {
  this->upstream_.EnqueueResponse(FakeResponse::Ok());
  HttpRequest head = this->Request("HEAD", "/exists");
  absl::StatusOr<HttpResponse> response = this->SendAndWait(std::move(head));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(this->upstream_.requests().at(0).method, "HEAD");
  // The pooled handle served a HEAD: a POST and a GET after it must not inherit NOBODY or the
  // method.
  this->upstream_.EnqueueResponse(FakeResponse::Ok("posted"));
  this->upstream_.EnqueueResponse(FakeResponse::Ok("got"));
  response = this->SendAndWait(this->Request("POST", "/p", "x"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "posted");
  response = this->SendAndWait(this->Request("GET", "/g"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "got");
  const auto requests = this->upstream_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].body, "x");
  EXPECT_EQ(requests[2].method, "GET");
  EXPECT_EQ(requests[2].body, "");
}

TYPED_TEST(HttpTransportTest, ManyConcurrentRequestsFromSeveralThreadsAllComplete) {
  this->upstream_.SetHandler([](const aarthik::testing::ReceivedRequest& request) {
    return FakeResponse::Ok(request.target);
  });
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  aarthik::testing::Mutex mu;
  int remaining = kThreads * kPerThread;
  int mismatches = 0;
  this->transport();  // Create it before the threads race to.
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string path = absl::StrCat("/t", t, "/r", i);
        this->transport().Send(this->Request("GET", path),
                               [&, path](absl::StatusOr<HttpResponse> response) {
                                 aarthik::testing::MutexLock lock(&mu);
                                 if (!response.ok() || response->body != path) ++mismatches;
                                 --remaining;
                               });
      }
    });
  }
  for (auto& sender : senders) sender.join();
  aarthik::testing::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](int* left) { return *left == 0; }, &remaining));
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(this->transport().in_flight(), 0u);
}

TYPED_TEST(HttpTransportTest, SilentUpstreamEndsWithDeadlineExceeded) {
  this->upstream_.SetDefaultResponse(FakeResponse::NeverRespond());
  HttpRequest request = this->Request("GET", "/slow");
  request.timeout = absl::Milliseconds(200);
  absl::StatusOr<HttpResponse> response = this->SendAndWait(std::move(request));
  EXPECT_TRUE(absl::IsDeadlineExceeded(response.status())) << response.status();
  EXPECT_FALSE(IsConnectFailure(response.status()));
  EXPECT_EQ(GetFailurePhase(response.status()), FailurePhase::kExchange);
}

TYPED_TEST(HttpTransportTest, CancelEndsWithCancelledAndReleasesTheConnection) {
  this->upstream_.SetDefaultResponse(FakeResponse::NeverRespond());
  ResponseSlot slot;
  const HttpTransport::RequestId id =
      this->transport().Send(this->Request("GET", "/hang"), slot.Callback(&this->loop_));
  ASSERT_TRUE(this->upstream_.WaitForRequests(1));
  this->transport().Cancel(id);
  EXPECT_TRUE(absl::IsCancelled(slot.Wait().status())) << slot.Wait().status();
  EXPECT_TRUE(slot.ran_on_loop_thread());
  // A connection with a request half-done cannot be reused: curl must close it, not keep it.
  EXPECT_TRUE(this->upstream_.WaitForOpenConnections(0));
  EXPECT_EQ(this->transport().in_flight(), 0u);
  this->transport().Cancel(id);  // Already finished: no-op, no second callback.

  this->upstream_.SetDefaultResponse(FakeResponse::Ok("after"));
  absl::StatusOr<HttpResponse> response = this->SendAndWait(this->Request("GET", "/after"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "after");
}

TYPED_TEST(HttpTransportTest, RefusedConnectionIsUnavailableAndAConnectFailure) {
  // A bound socket that never listens: connecting to its port is refused, and the port cannot be
  // reused.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  HttpRequest request;
  request.method = "POST";
  request.url = absl::StrCat("http://127.0.0.1:", ntohs(address.sin_port), "/v1/sessions?secret=1");
  absl::StatusOr<HttpResponse> response = this->SendAndWait(std::move(request));
  close(fd);
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  EXPECT_TRUE(IsConnectFailure(response.status()));
  EXPECT_THAT(response.status().message(), HasSubstr("connect"));
  EXPECT_THAT(response.status().message(), ::testing::Not(HasSubstr("secret")));
}

TYPED_TEST(HttpTransportTest, ConnectCutShortByTheRequestsOwnTimeoutIsDeadlineExceeded) {
  // 100.9 ms is what is left of the caller's deadline. libcurl's connect timeout is whole
  // milliseconds, so it fires first (at 100 ms): the transport's own timer for the request, which
  // would have said the same, comes 0.9 ms later.
  absl::StatusOr<HttpResponse> response =
      this->SendUnanswered(absl::Seconds(30), absl::Microseconds(100900));
  // The caller's deadline ran out, not the platform: no UNAVAILABLE (a warning, and retryable).
  EXPECT_TRUE(absl::IsDeadlineExceeded(response.status())) << response.status();
  EXPECT_EQ(GetFailurePhase(response.status()), FailurePhase::kConnect);
  EXPECT_THAT(response.status().message(), HasSubstr("while connecting"));
}

TYPED_TEST(HttpTransportTest, AConnectCutShortLeavesItsDescriptorNumberUsableForTheNext) {
  // libcurl 7.88 closes a connect attempt that never connected with close(2) alone, without
  // CURLOPT_CLOSESOCKETFUNCTION, and the next socket gets its number back. The transport must not
  // take the new socket for the old one, which epoll forgot when it was closed: under expiring
  // deadlines that failed every transfer of a multi handle as INTERNAL (issue 19).
  UnansweredListener platform;  // open throughout: freeing its descriptors would shift numbers
  ASSERT_NE(platform.port(), 0);
  HttpRequest hanging;
  hanging.method = "GET";
  hanging.url = absl::StrCat("http://127.0.0.1:", platform.port(), "/state");
  hanging.timeout = absl::Milliseconds(20);
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    absl::StatusOr<HttpResponse> cut_short = this->SendAndWait(hanging);
    EXPECT_TRUE(absl::IsDeadlineExceeded(cut_short.status())) << cut_short.status();
    this->upstream_.EnqueueResponse(FakeResponse::Ok(absl::StrCat("answer ", round)));
    HttpRequest next_request = this->Request("GET", "/state");
    next_request.timeout = absl::Seconds(5);  // a failure, not a hang, when the socket is lost
    absl::StatusOr<HttpResponse> next = this->SendAndWait(std::move(next_request));
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(next->body, absl::StrCat("answer ", round));
  }
}

TYPED_TEST(HttpTransportTest, ConnectTimeoutShorterThanTheRequestIsUnavailable) {
  absl::StatusOr<HttpResponse> response =
      this->SendUnanswered(absl::Milliseconds(100), absl::Seconds(30));
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  EXPECT_TRUE(IsConnectFailure(response.status()));
  EXPECT_THAT(response.status().message(), HasSubstr("connect timed out"));
}

TYPED_TEST(HttpTransportTest, ResetWithoutAnswerIsUnavailableButNotAConnectFailure) {
  this->upstream_.EnqueueResponse(FakeResponse::ResetWithoutResponse());
  absl::StatusOr<HttpResponse> response =
      this->SendAndWait(this->Request("POST", "/v1/offers/proceed", "{}"));
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  EXPECT_FALSE(IsConnectFailure(response.status()));
  EXPECT_EQ(GetFailurePhase(response.status()), FailurePhase::kExchange);
  EXPECT_THAT(response.status().message(), HasSubstr("connection lost"));
}

TYPED_TEST(HttpTransportTest, ConnectionClosedMidBodyIsUnavailableConnectionLost) {
  this->upstream_.EnqueueResponse(FakeResponse::CloseMidBody(std::string(10000, 'x')));
  absl::StatusOr<HttpResponse> response = this->SendAndWait(this->Request("GET", "/truncated"));
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  EXPECT_FALSE(IsConnectFailure(response.status()));
  EXPECT_THAT(response.status().message(), HasSubstr("connection lost"));
}

TYPED_TEST(HttpTransportTest, OversizedBodyIsResourceExhaustedWithOrWithoutContentLength) {
  typename TypeParam::Options options;
  options.max_response_bytes = 1024;
  this->transport(options);
  this->upstream_.EnqueueResponse(FakeResponse::Ok(std::string(4096, 'x')));
  this->upstream_.EnqueueResponse(FakeResponse::Ok(std::string(4096, 'x')).Chunked());
  this->upstream_.EnqueueResponse(
      FakeResponse::Ok(std::string(1024, 'x')));  // Exactly at the limit: fine.
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<HttpResponse> response = this->SendAndWait(this->Request("GET", "/big"));
    EXPECT_TRUE(absl::IsResourceExhausted(response.status())) << response.status();
    EXPECT_THAT(response.status().message(), HasSubstr("response body over 1024 bytes"));
  }
  absl::StatusOr<HttpResponse> response = this->SendAndWait(this->Request("GET", "/fits"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body.size(), 1024u);
}

TYPED_TEST(HttpTransportTest, SendsBeyondTheInFlightCapFailFastWithResourceExhausted) {
  typename TypeParam::Options options;
  options.max_in_flight = 2;
  this->transport(options);
  this->upstream_.SetDefaultResponse(FakeResponse::NeverRespond());
  ResponseSlot first, second, third;
  const auto first_id =
      this->transport().Send(this->Request("GET", "/1"), first.Callback(&this->loop_));
  const auto second_id =
      this->transport().Send(this->Request("GET", "/2"), second.Callback(&this->loop_));
  this->transport().Send(this->Request("GET", "/3"), third.Callback(&this->loop_));
  EXPECT_TRUE(absl::IsResourceExhausted(third.Wait().status())) << third.Wait().status();
  EXPECT_TRUE(third.ran_on_loop_thread());
  EXPECT_TRUE(this->upstream_.WaitForRequests(2));
  EXPECT_EQ(this->upstream_.request_count(), 2u);
  this->transport().Cancel(first_id);
  this->transport().Cancel(second_id);
  EXPECT_TRUE(absl::IsCancelled(first.Wait().status()));
  EXPECT_TRUE(absl::IsCancelled(second.Wait().status()));
  EXPECT_EQ(this->transport().in_flight(), 0u);
}

TYPED_TEST(HttpTransportTest, CallbacksNeverRunInsideSendEvenOnTheLoopThread) {
  typename TypeParam::Options options;
  options.max_in_flight = 1;
  this->transport(options);
  this->upstream_.SetDefaultResponse(FakeResponse::NeverRespond());
  std::atomic<bool> inside_send{false};
  std::atomic<bool> ran_inline{false};
  aarthik::testing::Notification both_done;
  std::atomic<int> callbacks{0};
  HttpTransport::RequestId hanging = 0;
  this->loop_.Post([&] {
    auto note = [&](absl::StatusOr<HttpResponse>) {
      if (inside_send) ran_inline = true;
      if (++callbacks == 2) both_done.Notify();
    };
    inside_send = true;
    hanging = this->transport().Send(this->Request("GET", "/hang"), note);
    this->transport().Send(this->Request("GET", "/refused-by-cap"), note);  // Over the cap.
    HttpRequest bad = this->Request("TRACE", "/unsupported-method");
    this->transport().Send(std::move(bad),
                           [](absl::StatusOr<HttpResponse>) {});  // Cap: also refused.
    inside_send = false;
  });
  ASSERT_TRUE(this->upstream_.WaitForRequests(1));
  this->transport().Cancel(hanging);
  both_done.WaitForNotification();
  EXPECT_FALSE(ran_inline);
}

TYPED_TEST(HttpTransportTest, UnsupportedMethodIsInternal) {
  absl::StatusOr<HttpResponse> response = this->SendAndWait(this->Request("TRACE", "/"));
  EXPECT_TRUE(absl::IsInternal(response.status())) << response.status();
  EXPECT_EQ(this->upstream_.request_count(), 0u);
}

TYPED_TEST(HttpTransportTest, DestroyingTheTransportCancelsWhatIsInFlight) {
  this->upstream_.SetDefaultResponse(FakeResponse::NeverRespond());
  ResponseSlot slot;
  this->transport().Send(this->Request("GET", "/hang"), slot.Callback(&this->loop_));
  ASSERT_TRUE(this->upstream_.WaitForRequests(1));
  this->transport_.reset();
  EXPECT_TRUE(slot.HasRun());
  EXPECT_TRUE(absl::IsCancelled(slot.Wait().status())) << slot.Wait().status();
  EXPECT_TRUE(this->upstream_.WaitForOpenConnections(0));
}

TYPED_TEST(HttpTransportTest, SendAfterTheLoopStoppedStillCallsBackOnce) {
  this->transport();
  this->loop_.Stop();
  std::atomic<int> calls{0};
  absl::Status status;
  this->transport().Send(this->Request("GET", "/"), [&](absl::StatusOr<HttpResponse> response) {
    ++calls;
    status = response.status();
  });
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
}

// PlatformClient::RunOnShard reserves a connection before it picks a loop: a reserved idle
// connection waits for the task that reserved it; any other request opens one of its own.
class Http1TransportReservationTest : public HttpTransportTest<Http1Transport> {
 protected:
  absl::StatusOr<HttpResponse> SendReservedAndWait(HttpRequest request) {
    ResponseSlot slot;
    loop_.Post([&] {
      transport().RunReserved([&] { transport().Send(std::move(request), slot.Callback(&loop_)); });
    });
    return std::move(slot.Wait());
  }
};

TEST_F(Http1TransportReservationTest, AReservedConnectionWaitsForTheTaskThatReservedIt) {
  ASSERT_TRUE(SendAndWait(Request("GET", "/first")).ok());
  EXPECT_EQ(transport().idle_connections(), 1u);
  ASSERT_TRUE(transport().ReserveConnection());
  EXPECT_EQ(transport().idle_connections(), 0u);
  EXPECT_FALSE(transport().ReserveConnection());  // the last free one is taken

  ASSERT_TRUE(SendAndWait(Request("GET", "/unreserved")).ok());
  EXPECT_EQ(transport().connections_opened(), 2u);  // did not take the reserved one
  EXPECT_EQ(transport().idle_connections(), 1u);    // its own, back; the reserved one still held

  ASSERT_TRUE(SendReservedAndWait(Request("GET", "/reserved")).ok());
  EXPECT_EQ(transport().connections_opened(), 2u);  // took the reserved one
  EXPECT_EQ(transport().idle_connections(), 2u);
  EXPECT_EQ(upstream_.accepted_connections(), 2u);
}

TEST_F(Http1TransportReservationTest, AnUnusedReservationIsGivenBack) {
  ASSERT_TRUE(SendAndWait(Request("GET", "/first")).ok());
  ASSERT_TRUE(transport().ReserveConnection());
  transport().CancelReservation();
  EXPECT_EQ(transport().idle_connections(), 1u);

  ASSERT_TRUE(transport().ReserveConnection());
  absl::Notification ran;
  loop_.Post([&] { transport().RunReserved([&] { ran.Notify(); }); });  // sends nothing
  ran.WaitForNotification();
  ASSERT_TRUE(SendAndWait(Request("GET", "/second")).ok());
  EXPECT_EQ(transport().connections_opened(), 1u);  // the reservation came back after the task
}

}  // namespace
}  // namespace aarthik::upstream
