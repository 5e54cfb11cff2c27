// Integration-test harness: runs the real aarthik-sandbox binary on port 0 and talks HTTP to it
// with libcurl; plus a loopback web-hook receiver.
//
// Example:
//   auto sandbox = SandboxProcess::Start({"--control-plane"});
//   ASSERT_NE(sandbox, nullptr);
//   HttpResult r = sandbox->Request("POST", "/api/v1/headless/sessions", body,
//                                   {"Authorization: Bearer sk_test_sandbox", "Idempotency-Key:
//                                   k"});
//   EXPECT_EQ(r.status, 200);
//
// Thread-safety: SandboxProcess is for one test thread; WebhookReceiver is thread-safe.
#ifndef AARTHIK_TESTS_SANDBOX_SANDBOX_HARNESS_H_
#define AARTHIK_TESTS_SANDBOX_SANDBOX_HARNESS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "nlohmann/json.hpp"
#include "tests/support/subprocess.h"

namespace aarthik::sandbox::testing {

inline constexpr char kApiKey[] = "sk_test_sandbox";

struct HttpResult {
  long status = 0;  // 0 when the transfer failed
  int curl_code = 0;
  std::string body;
  nlohmann::json json;                         // discarded when the body is not JSON
  std::map<std::string, std::string> headers;  // lower-case names
  const nlohmann::json& data() const { return json["data"]; }
  const nlohmann::json& error() const { return json["error"]; }
};

class SandboxProcess {
 public:
  // Starts the binary with --listen 127.0.0.1:0 --threads 2 plus `args`; nullptr on failure.
  static std::unique_ptr<SandboxProcess> Start(std::vector<std::string> args = {});

  // Requests go over https from now on, verifying the sandbox (--tls-cert) against `ca_file`.
  void UseTls(std::string ca_file) { tls_ca_file_ = std::move(ca_file); }
  HttpResult Request(const std::string& method, const std::string& path,
                     const std::string& body = "", const std::vector<std::string>& headers = {});
  // Control plane helpers (need --control-plane).
  void AdvanceTime(double seconds);
  nlohmann::json Counters();
  int Terminate() { return process_->Terminate(); }
  const std::string& address() const { return address_; }

 private:
  std::unique_ptr<aarthik::testing::Subprocess> process_;
  std::string address_;
  std::string tls_ca_file_;  // "" = plain http
};

// A borrower driving the headless API: holds its session and adds Idempotency-Keys to writes.
class HeadlessBorrower {
 public:
  HeadlessBorrower(SandboxProcess* sandbox, std::string external_id);
  // POST /sessions; returns the response.
  HttpResult Bootstrap(const nlohmann::json& profile = nullptr);
  HttpResult Call(const std::string& method, const std::string& path,
                  const nlohmann::json& body = nullptr, const std::string& idempotency_key = "");
  // Creates a journey, fills the fixture profile, submits, advances time; returns the journey id
  // with offers available.
  std::string JourneyWithOffers();
  std::string session_token;
  std::string refresh_token;

 private:
  SandboxProcess* sandbox_;
  std::string external_id_;
  int next_key_ = 0;
};

nlohmann::json LoadFixture(const std::string& relative_path);

struct ReceivedWebhook {
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// HTTP server on 127.0.0.1:0 that records POSTs and answers with `status_for(n)` (n = 0-based
// index of the request).
class WebhookReceiver {
 public:
  explicit WebhookReceiver(std::function<int(int)> status_for = [](int) { return 200; });
  ~WebhookReceiver();
  std::string url() const;
  // Waits (condition variable, no sleeping) until at least `count` requests arrived.
  bool WaitFor(size_t count, absl::Duration timeout);
  std::vector<ReceivedWebhook> received() const;

 private:
  void Serve();
  std::function<int(int)> status_for_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::vector<ReceivedWebhook> received_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aarthik::sandbox::testing

#endif  // AARTHIK_TESTS_SANDBOX_SANDBOX_HARNESS_H_
