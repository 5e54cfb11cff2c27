// The HTTP listener on port 0 with the real web-hook route, driven by libcurl (one connection,
// reused).
#include "server/http/http_server.h"

#include <curl/curl.h>

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

}  // namespace
}  // namespace aarthik::http
