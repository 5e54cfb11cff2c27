// The sandbox's HTTPS listener (--tls-cert / --tls-key): the real platform is https://, and the
// gateway's TLS upstream path (bench scenario t) runs against this listener.
#include <curl/curl.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/sandbox/sandbox_harness.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace aarthik::sandbox::testing {
namespace {

using aarthik::testing::Subprocess;
using aarthik::testing::TestCerts;

class SandboxTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Generate();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = std::move(*certs);
  }

  std::unique_ptr<SandboxProcess> StartTls() {
    return SandboxProcess::Start(
        {"--control-plane", "--tls-cert", certs_->server.cert, "--tls-key", certs_->server.key});
  }

  // The TLS counters once `failed` handshakes have been counted. A refused handshake is counted
  // when the sandbox reads the client's alert or close, which may come after the client's next
  // request, so this asks again (each asking is itself one handshake that completes).
  static nlohmann::json CountersOnceFailed(SandboxProcess& sandbox, int failed) {
    nlohmann::json counters;
    for (int attempt = 0; attempt < 200; ++attempt) {
      counters = sandbox.Counters()["tls_handshakes"];
      if (counters["failed"] == failed) break;
    }
    return counters;
  }

  // Starts the sandbox with `args` and returns its exit code once it stopped; its stderr in `err`.
  int ExitCodeOf(std::vector<std::string> args, std::string* err) {
    const std::string err_path = certs_->dir + "/sandbox.err";
    std::vector<std::string> argv = {AARTHIK_BIN_DIR "/aarthik-sandbox", "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start(argv, {}, err_path);
    EXPECT_TRUE(child.ok()) << child.status();
    if (!child.ok()) return -1;
    // It exits before printing its address: stdout closes without a `listening` line.
    absl::StatusOr<std::string> line = (*child)->ReadLine(absl::Seconds(30));
    EXPECT_TRUE(absl::IsOutOfRange(line.status())) << (line.ok() ? *line : "");
    const int code = (*child)->Terminate();
    *err = aarthik::testing::ReadTextFile(err_path);
    return code;
  }

  std::unique_ptr<TestCerts> certs_;
};

TEST_F(SandboxTlsTest, ServesThePlatformOverHttpsAndCountsHandshakes) {
  std::unique_ptr<SandboxProcess> sandbox = StartTls();
  ASSERT_NE(sandbox, nullptr);
  sandbox->UseTls(certs_->ca.cert);
  HeadlessBorrower borrower(sandbox.get(), "TLS_BORROWER_1");
  HttpResult session = borrower.Bootstrap();
  ASSERT_EQ(session.status, 200) << session.body;
  EXPECT_FALSE(borrower.session_token.empty());
  HttpResult journey =
      borrower.Call("POST", "/api/v1/headless/journeys", {{"type", "PERSONAL_LOAN"}});
  EXPECT_EQ(journey.status, 200) << journey.body;
  // This harness opens a connection per request: the bootstrap's, the journey's, the counters'.
  const nlohmann::json counters = sandbox->Counters()["tls_handshakes"];
  EXPECT_EQ(counters["completed"], 3);
  EXPECT_EQ(counters["failed"], 0);
}

TEST_F(SandboxTlsTest, AClientThatDoesNotTrustTheCertificateGetsNothingAndIsCounted) {
  std::unique_ptr<SandboxProcess> sandbox = StartTls();
  ASSERT_NE(sandbox, nullptr);
  sandbox->UseTls(certs_->other_ca.cert);
  HttpResult refused = sandbox->Request("GET", "/_sandbox/counters");
  EXPECT_EQ(refused.status, 0);
  EXPECT_EQ(refused.curl_code, CURLE_PEER_FAILED_VERIFICATION);

  sandbox->UseTls(certs_->ca.cert);
  const nlohmann::json counters = CountersOnceFailed(*sandbox, 1);
  EXPECT_EQ(counters["failed"], 1);
  EXPECT_GE(counters["completed"], 1);
}

TEST_F(SandboxTlsTest, PlainHttpToTheHttpsListenerGetsNoAnswer) {
  std::unique_ptr<SandboxProcess> sandbox = StartTls();
  ASSERT_NE(sandbox, nullptr);
  HttpResult plain = sandbox->Request("GET", "/_sandbox/counters");
  EXPECT_EQ(plain.status, 0) << plain.body;
  EXPECT_NE(plain.curl_code, CURLE_OK);

  sandbox->UseTls(certs_->ca.cert);
  EXPECT_EQ(CountersOnceFailed(*sandbox, 1)["failed"], 1);
}

TEST_F(SandboxTlsTest, ACertificateWithoutItsKeyOrTheWrongKeyStopsTheStart) {
  std::string err;
  EXPECT_EQ(ExitCodeOf({"--tls-cert", certs_->server.cert}, &err), 2);
  EXPECT_NE(err.find("--tls-cert and --tls-key go together"), std::string::npos) << err;

  EXPECT_EQ(
      ExitCodeOf({"--tls-cert", certs_->server.cert, "--tls-key", certs_->other_server.key}, &err),
      2);
  EXPECT_NE(err.find("--tls-key " + certs_->other_server.key), std::string::npos) << err;

  EXPECT_EQ(
      ExitCodeOf({"--tls-cert", certs_->dir + "/missing.pem", "--tls-key", certs_->server.key},
                 &err),
      2);
  EXPECT_NE(err.find("--tls-cert " + certs_->dir + "/missing.pem"), std::string::npos) << err;
}

}  // namespace
}  // namespace aarthik::sandbox::testing
