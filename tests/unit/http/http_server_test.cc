// The HTTP listener on port 0 with the real web-hook route, driven by libcurl (one connection,
// reused).
#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/http/gateway_routes.h"

namespace aarthik::http {
namespace {

constexpr char kTenant[] = "8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61";
constexpr char kApp[] = "fbb1fd74-c502-4419-83f3-82a2a019fc9a";
constexpr char kSecret[] = "whsec_test_sandbox";

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// A plain connection to the server, for what curl does not do: send a request's head and hold its
// body back, or send a body in chunks of our choosing.
class RawClient {
 public:
  explicit RawClient(const std::string& address) {
    const size_t colon = address.rfind(':');
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
    inet_pton(AF_INET, address.substr(0, colon).c_str(), &to.sin_addr);
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    // A safety net against a hung test, not a synchronisation: every read below expects an answer.
    timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0;
  }
  ~RawClient() { close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    return send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Reads until `until` has arrived (or the connection ends); returns what was read.
  std::string ReadUntil(const std::string& until) {
    while (received_.find(until) == std::string::npos) {
      char buffer[4096];
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      received_.append(buffer, static_cast<size_t>(n));
    }
    std::string out;
    out.swap(received_);
    return out;
  }
  // The next response's status line and headers.
  std::string ReadHead() { return ReadUntil("\r\n\r\n"); }
  // True once the server closed the connection.
  bool ReadsEof() {
    char byte;
    while (true) {
      const ssize_t n = recv(fd_, &byte, 1, 0);
      if (n == 0) return true;
      if (n < 0) return false;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

std::string Head(const std::string& request_line, const std::vector<std::string>& headers) {
  std::string head = request_line + "\r\nHost: gateway\r\nContent-Type: application/json\r\n";
  for (const std::string& header : headers) head += header + "\r\n";
  return head + "\r\n";
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Set(absl::Now());
    verifier_ = std::make_unique<events::WebhookVerifier>(
        events::WebhookVerifier::Options{{kSecret}, kTenant, kApp, absl::Minutes(5)}, clock_);
    log_ = std::make_unique<events::EventLog>(events::EventLog::Options{}, clock_);
    receiver_ = std::make_unique<events::WebhookReceiver>(verifier_.get(), log_.get());
    Routes routes;
    AddWebhookRoute(&routes, "/webhooks/aarthik", receiver_.get());
    AddHealthRoute(&routes);
    // Answers from another thread, after the handler returned (as the relayed web-hook route does).
    routes.AddAsync("GET", "/later", [this](const HttpRequest& request, Responder respond) {
      later_.emplace_back([respond, path = request.path] {
        respond(HttpResponse{202, "text/plain", "answered later for " + path});
      });
    });
    HttpServer::Options options;
    options.listen = "127.0.0.1:0";
    options.max_body_bytes = 64 * 1024;
    auto server = HttpServer::Start(options, std::move(routes));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    curl_ = curl_easy_init();
  }
  void TearDown() override {
    for (std::thread& thread : later_) thread.join();
    curl_easy_cleanup(curl_);
  }

  long Send(const std::string& method, const std::string& path, const std::string& body,
            std::vector<std::string> headers, std::string* response = nullptr) {
    std::string sink;
    curl_easy_setopt(curl_, CURLOPT_URL, absl::StrCat("http://", server_->address(), path).c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, Append);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, response ? response : &sink);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    if (method == "GET") curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
    for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    CURLcode code = curl_easy_perform(curl_);
    curl_slist_free_all(list);
    long status = 0;
    if (code == CURLE_OK) curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }

  std::vector<std::string> Signed(const std::string& id, const std::string& body,
                                  const std::string& secret = kSecret) {
    const std::string ts = absl::StrCat(absl::ToUnixSeconds(clock_.Now()));
    return {"X-AL-Event-ID: " + id, absl::StrCat("X-AL-Tenant-ID: ", kTenant),
            absl::StrCat("X-AL-Application-ID: ", kApp), "X-AL-Webhook-Timestamp: " + ts,
            "X-AL-Webhook-Signature: " + events::HmacSha256Hex(secret, ts + "." + body)};
  }

  core::ManualClock clock_;
  std::unique_ptr<events::WebhookVerifier> verifier_;
  std::unique_ptr<events::EventLog> log_;
  std::unique_ptr<events::WebhookReceiver> receiver_;
  std::unique_ptr<HttpServer> server_;
  CURL* curl_ = nullptr;
  std::vector<std::thread> later_;  // appended on the server's I/O thread, joined in TearDown
};

const char kBody[] =
    R"({"schema_version":"1.0.0","event_type":"journey.snapshot","event_id":"evt_1","sequence":5,)"
    R"("tenant_id":"8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61","application_id":"fbb1fd74-c502-4419-83f3-82a2a019fc9a",)"
    R"("borrower":{"borrowerExternalID":"CUST_1","journeys":[{"journeyID":"j1","status":"STARTED"}]}})";

TEST_F(HttpServerTest, WebhookStatusesOverOneKeepAliveConnection) {
  EXPECT_EQ(Send("GET", "/healthz", "", {}), 200);
  auto sub = log_->Subscribe({}, "");
  EXPECT_EQ(Send("POST", "/webhooks/aarthik", kBody, Signed("evt_1", kBody, "whsec_forged")), 401);
  EXPECT_EQ(Send("POST", "/webhooks/aarthik", kBody, Signed("evt_1", kBody)), 200);
  std::string response;
  EXPECT_EQ(Send("POST", "/webhooks/aarthik", kBody, Signed("evt_1", kBody), &response), 200);
  EXPECT_NE(response.find("duplicate"), std::string::npos);
  EXPECT_EQ(Send("POST", "/webhooks/aarthik", "{", Signed("evt_2", "{")), 400);
  EXPECT_EQ(Send("POST", "/webhooks/aarthik", kBody, {}), 400);
  auto wrong_tenant = Signed("evt_1", kBody);
  wrong_tenant[1] = "X-AL-Tenant-ID: 00000000-0000-4000-8000-000000000000";
  EXPECT_EQ(Send("POST", "/webhooks/aarthik", kBody, wrong_tenant), 403);
  EXPECT_EQ(Send("GET", "/webhooks/aarthik", "", {}), 405);
  EXPECT_EQ(Send("GET", "/nope", "", {}), 404);
  long connects = -1;
  curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &connects);
  EXPECT_EQ(connects, 0);  // the last request reused the connection
  ASSERT_NE((*sub)->Next(), nullptr);
  EXPECT_EQ((*sub)->Next(), nullptr);
}

TEST_F(HttpServerTest, AnAsynchronousHandlerAnswersFromAnotherThreadOnTheSameConnection) {
  std::string response;
  EXPECT_EQ(Send("GET", "/later", "", {}, &response), 202);
  EXPECT_EQ(response, "answered later for /later");
  EXPECT_EQ(Send("GET", "/healthz", "", {}), 200);  // the connection goes on after it
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  std::string big(100 * 1024, 'x');
  EXPECT_EQ(Send("POST", "/webhooks/aarthik", big, Signed("evt_big", big)), 413);
  EXPECT_EQ(log_->stats().accepted, 0);
  EXPECT_EQ(Send("GET", "/healthz", "", {}), 200);  // the server is still fine
}

// The head alone decides: the client sends no body byte and still gets its answer, and the
// connection is closed (its unread body would otherwise be taken for the next request).
TEST_F(HttpServerTest, AWebhookWithoutSignatureIsRefusedBeforeItsBodyIsSent) {
  RawClient client(server_->address());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send(Head("POST /webhooks/aarthik HTTP/1.1", {"Content-Length: 1048576"})));
  const std::string head = client.ReadHead();
  EXPECT_EQ(head.rfind("HTTP/1.1 400", 0), 0u) << head;
  EXPECT_NE(head.find("Connection: close"), std::string::npos) << head;
  EXPECT_TRUE(client.ReadsEof());
}

TEST_F(HttpServerTest, AStaleTimestampIsRefusedBeforeTheBodyIsSent) {
  std::vector<std::string> headers = Signed("evt_stale", kBody);
  clock_.Advance(absl::Minutes(6));
  headers.push_back(absl::StrCat("Content-Length: ", sizeof(kBody) - 1));
  RawClient client(server_->address());
  ASSERT_TRUE(client.Send(Head("POST /webhooks/aarthik HTTP/1.1", headers)));
  const std::string head = client.ReadHead();
  EXPECT_EQ(head.rfind("HTTP/1.1 401", 0), 0u) << head;
  EXPECT_EQ(log_->stats().accepted, 0);
}

TEST_F(HttpServerTest, AContentLengthOverTheRouteLimitIs413BeforeTheBody) {
  std::vector<std::string> headers = Signed("evt_big", kBody);
  headers.push_back("Content-Length: 65537");  // the route's default limit is 64 KiB
  RawClient client(server_->address());
  ASSERT_TRUE(client.Send(Head("POST /webhooks/aarthik HTTP/1.1", headers)));
  const std::string head = client.ReadHead();
  EXPECT_EQ(head.rfind("HTTP/1.1 413", 0), 0u) << head;
}

TEST_F(HttpServerTest, AChunkedBodyIsCutOffWith413OnceItPassesTheLimit) {
  std::vector<std::string> headers = Signed("evt_chunked", kBody);
  headers.push_back("Transfer-Encoding: chunked");
  RawClient client(server_->address());
  ASSERT_TRUE(client.Send(Head("POST /webhooks/aarthik HTTP/1.1", headers)));
  const std::string chunk = absl::StrCat("4000\r\n", std::string(0x4000, ' '), "\r\n");
  std::string head;
  for (int i = 0; i < 8 && head.empty(); ++i) {
    // 5 × 16 KiB pass the 64 KiB limit; the server may answer (and stop reading) before we are
    // done sending, so a failed send ends the loop too.
    if (!client.Send(chunk)) break;
    if (i == 4) head = client.ReadHead();
  }
  if (head.empty()) head = client.ReadHead();
  EXPECT_EQ(head.rfind("HTTP/1.1 413", 0), 0u) << head;
  EXPECT_EQ(log_->stats().accepted, 0);
}

TEST_F(HttpServerTest, UnknownPathsAreAnsweredBeforeTheBody) {
  RawClient client(server_->address());
  ASSERT_TRUE(client.Send(Head("POST /nope HTTP/1.1", {"Content-Length: 1000000"})));
  const std::string head = client.ReadHead();
  EXPECT_EQ(head.rfind("HTTP/1.1 404", 0), 0u) << head;
}

TEST_F(HttpServerTest, ExpectContinueGetsA100OnlyWhenTheHeadPasses) {
  std::vector<std::string> headers = Signed("evt_1", kBody);
  headers.push_back(absl::StrCat("Content-Length: ", sizeof(kBody) - 1));
  headers.push_back("Expect: 100-continue");
  RawClient client(server_->address());
  ASSERT_TRUE(client.Send(Head("POST /webhooks/aarthik HTTP/1.1", headers)));
  const std::string interim = client.ReadHead();
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue", 0), 0u) << interim;
  ASSERT_TRUE(client.Send(kBody));
  const std::string head = client.ReadHead();
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
}

class HttpServerConnectionCap : public ::testing::Test {
 protected:
  void SetUp() override {
    Routes routes;
    AddHealthRoute(&routes);
    routes.AddAsync("GET", "/held", [this](const HttpRequest&, Responder respond) {
      std::lock_guard<std::mutex> lock(mu_);
      held_.push_back(std::move(respond));
      held_changed_.notify_all();
    });
    HttpServer::Options options;
    options.listen = "127.0.0.1:0";
    options.max_connections = 2;
    auto server = HttpServer::Start(options, std::move(routes));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void TearDown() override {
    std::lock_guard<std::mutex> lock(mu_);
    for (Responder& respond : held_) respond(HttpResponse{200, "text/plain", "late\n"});
  }
  void WaitUntilHeld(size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    held_changed_.wait(lock, [&] { return held_.size() >= count; });
  }

  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::condition_variable held_changed_;
  std::vector<Responder> held_;  // guarded by mu_
};

// At the cap, a new client takes the place of the connection idle the longest.
TEST_F(HttpServerConnectionCap, ANewConnectionTakesThePlaceOfTheLongestIdle) {
  const std::string healthz = Head("GET /healthz HTTP/1.1", {});
  RawClient first(server_->address());
  ASSERT_TRUE(first.Send(healthz));
  EXPECT_EQ(first.ReadUntil("ok\n").rfind("HTTP/1.1 200", 0), 0u);
  RawClient second(server_->address());
  ASSERT_TRUE(second.Send(healthz));
  EXPECT_EQ(second.ReadUntil("ok\n").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(server_->open_connections(), 2u);
  RawClient third(server_->address());
  ASSERT_TRUE(third.Send(healthz));
  EXPECT_EQ(third.ReadUntil("ok\n").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_TRUE(first.ReadsEof());  // idle the longest: closed for the third
  EXPECT_EQ(server_->evicted_connections(), 1u);
  EXPECT_LE(server_->open_connections(), 2u);
  ASSERT_TRUE(second.Send(healthz));  // still open
  EXPECT_EQ(second.ReadUntil("ok\n").rfind("HTTP/1.1 200", 0), 0u);
}

// Connections busy with a request are never closed for a new one: it waits in the backlog until
// one of them is done.
TEST_F(HttpServerConnectionCap, BusyConnectionsAreNotClosedForNewOnes) {
  const std::string held = Head("GET /held HTTP/1.1", {});
  RawClient first(server_->address());
  RawClient second(server_->address());
  ASSERT_TRUE(first.Send(held));
  WaitUntilHeld(1);  // held_[0] is the first connection's request
  ASSERT_TRUE(second.Send(held));
  WaitUntilHeld(2);
  RawClient third(server_->address());
  ASSERT_TRUE(third.Send(Head("GET /healthz HTTP/1.1", {})));
  EXPECT_EQ(server_->evicted_connections(), 0u);
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_.front()(HttpResponse{200, "text/plain", "done\n"});
    held_.erase(held_.begin());
  }
  EXPECT_EQ(first.ReadUntil("done\n").rfind("HTTP/1.1 200", 0), 0u);
  // The first connection is now idle, the longest: it makes room for the third.
  EXPECT_EQ(third.ReadUntil("ok\n").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(server_->evicted_connections(), 1u);
}

}  // namespace
}  // namespace aarthik::http
