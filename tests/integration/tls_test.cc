// TLS end to end, with certificates made by `openssl` at test time (tests/support/test_certs.h):
// the gRPC listener with TLS and mutual TLS, certificate rotation without a restart, the upstream
// over TLS (the sandbox's own TLS listener, or a TLS front before the plain-HTTP sandbox) verified
// with --upstream-ca-file or the system store, and start-up refusals of inconsistent TLS flags.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aarthik/client/channel.h"
#include "aarthik/webhooks/v1/subscription.grpc.pb.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"
#include "tests/support/test_certs.h"
#include "tests/support/tls_front.h"

namespace aarthik::testing {
namespace {

namespace wh = aarthik::webhooks::v1;

// Client credentials trusting `ca` and, for mutual TLS, presenting `client` — through the client
// helper.
std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(const std::string& ca,
                                                         const CertFiles* client = nullptr) {
  absl::StatusOr<client::TlsOptions> tls =
      client::TlsOptionsFromFiles(ca, client ? client->cert : "", client ? client->key : "");
  EXPECT_TRUE(tls.ok()) << tls.status();
  if (!tls.ok()) return nullptr;
  client::ChannelOptions options;
  options.use_tls = true;
  options.tls = *tls;
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      client::CreateCredentials(options);
  EXPECT_TRUE(credentials.ok()) << credentials.status();
  return credentials.ok() ? *credentials : nullptr;
}

// A channel with its own subchannel pool: every call below then judges a fresh connection (and
// handshake) rather than one another channel already opened.
std::shared_ptr<grpc::Channel> FreshChannel(const std::string& address,
                                            std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, credentials, args);
}

// A unary call that goes through the gateway to the platform (API-key auth, no session needed).
// The ErrorInfo reason of a failed call, "" without one.
std::string Reason(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return "";
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

grpc::Status GetWebhookConfiguration(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = wh::WebhookSubscriptionService::NewStub(channel);
  grpc::ClientContext context;
  PrepareContext(&context, "", absl::Seconds(5));
  wh::GetWebhookConfigurationResponse response;
  return stub->GetWebhookConfiguration(&context, wh::GetWebhookConfigurationRequest(), &response);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Generate();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *std::move(certs);
  }

  std::vector<std::string> ServerTlsArgs() const {
    return {"--tls-cert-file", certs_->server.cert, "--tls-key-file", certs_->server.key};
  }

  // Options whose upstream is a TLS front (certificate: certs_->server) before the sandbox.
  GatewayEnvOptions BehindTlsFront(std::vector<std::string> gateway_args) {
    GatewayEnvOptions options;
    options.gateway_args = std::move(gateway_args);
    options.upstream_for_sandbox = [this](const std::string& sandbox_address) -> std::string {
      auto front = TlsFront::Start({certs_->server.cert, certs_->server.key, sandbox_address});
      EXPECT_TRUE(front.ok()) << front.status();
      if (!front.ok()) return "https://127.0.0.1:1";
      front_ = *std::move(front);
      return "https://" + front_->address();
    };
    return options;
  }

  std::unique_ptr<TestCerts> certs_;
  std::unique_ptr<TlsFront> front_;
};

TEST_F(TlsTest, ListenerServesTlsToClientsThatTrustItsCa) {
  GatewayEnvOptions options;
  options.gateway_args = ServerTlsArgs();
  options.channel_credentials = TlsCredentials(certs_->ca.cert);
  auto env = GatewayEnv::Start(options);
  ASSERT_NE(env, nullptr);

  grpc::Status trusted = GetWebhookConfiguration(env->channel());
  EXPECT_TRUE(trusted.ok()) << trusted.error_message();

  grpc::Status plaintext = GetWebhookConfiguration(
      FreshChannel(env->gateway_address(), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE) << plaintext.error_message();

  grpc::Status other_ca = GetWebhookConfiguration(
      FreshChannel(env->gateway_address(), TlsCredentials(certs_->other_ca.cert)));
  EXPECT_EQ(other_ca.error_code(), grpc::StatusCode::UNAVAILABLE) << other_ca.error_message();
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificateSignedByTheClientCa) {
  GatewayEnvOptions options;
  options.gateway_args = ServerTlsArgs();
  options.gateway_args.insert(options.gateway_args.end(),
                              {"--tls-client-ca-file", certs_->ca.cert});
  options.channel_credentials = TlsCredentials(certs_->ca.cert, &certs_->client);
  auto env = GatewayEnv::Start(options);
  ASSERT_NE(env, nullptr);

  grpc::Status with_cert = GetWebhookConfiguration(env->channel());
  EXPECT_TRUE(with_cert.ok()) << with_cert.error_message();

  // Without a certificate, or with one from a CA the gateway does not trust for clients, every
  // call is UNAUTHENTICATED with the reason (not a failed handshake, which says nothing), and no
  // policy is needed for that: the client CA alone requires it.
  grpc::Status without_cert = GetWebhookConfiguration(
      FreshChannel(env->gateway_address(), TlsCredentials(certs_->ca.cert)));
  EXPECT_EQ(without_cert.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << without_cert.error_message();
  EXPECT_EQ(Reason(without_cert), "CLIENT_CERT_MISSING") << without_cert.error_message();

  grpc::Status foreign_cert = GetWebhookConfiguration(
      FreshChannel(env->gateway_address(), TlsCredentials(certs_->ca.cert, &certs_->other_client)));
  EXPECT_EQ(foreign_cert.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << foreign_cert.error_message();
  EXPECT_EQ(Reason(foreign_cert), "CLIENT_CERT_UNTRUSTED") << foreign_cert.error_message();
}

TEST_F(TlsTest, ARotatedClientCaBundleAdmitsItsClientsWithoutRestart) {
  const std::string bundle = certs_->dir + "/rotating-client-cas.pem";
  ASSERT_TRUE(ReplaceFileAtomically(bundle, ReadTextFile(certs_->ca.cert)).ok());
  GatewayEnvOptions options;
  options.gateway_args = ServerTlsArgs();
  options.gateway_args.insert(options.gateway_args.end(),
                              {"--tls-client-ca-file", bundle, "--secret-reload-interval", "1s"});
  options.channel_credentials = TlsCredentials(certs_->ca.cert, &certs_->client);
  auto env = GatewayEnv::Start(options);
  ASSERT_NE(env, nullptr);
  auto as_other = [&] {
    return GetWebhookConfiguration(FreshChannel(
        env->gateway_address(), TlsCredentials(certs_->ca.cert, &certs_->other_client)));
  };
  ASSERT_EQ(Reason(as_other()), "CLIENT_CERT_UNTRUSTED");

  ASSERT_TRUE(ReplaceFileAtomically(bundle, ReadTextFile(certs_->other_ca.cert)).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  grpc::Status other = as_other();
  while (!other.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));  // poll interval, not a synchronisation
    other = as_other();
  }
  EXPECT_TRUE(other.ok()) << other.error_message();
  // The old CA's client is out on the same reload, on connections old and new.
  EXPECT_EQ(Reason(GetWebhookConfiguration(env->channel())), "CLIENT_CERT_UNTRUSTED");
}

TEST_F(TlsTest, ClientCaBundleMayHoldSeveralCas) {
  // During a client CA rotation the bundle holds the old and the new CA: clients of both get in.
  const std::string bundle = certs_->dir + "/client-cas.pem";
  ASSERT_TRUE(ReplaceFileAtomically(
                  bundle, ReadTextFile(certs_->other_ca.cert) + ReadTextFile(certs_->ca.cert))
                  .ok());
  GatewayEnvOptions options;
  options.gateway_args = ServerTlsArgs();
  options.gateway_args.insert(options.gateway_args.end(), {"--tls-client-ca-file", bundle});
  options.channel_credentials = TlsCredentials(certs_->ca.cert, &certs_->client);
  auto env = GatewayEnv::Start(options);
  ASSERT_NE(env, nullptr);
  grpc::Status first_ca = GetWebhookConfiguration(env->channel());
  EXPECT_TRUE(first_ca.ok()) << first_ca.error_message();
  grpc::Status second_ca = GetWebhookConfiguration(
      FreshChannel(env->gateway_address(), TlsCredentials(certs_->ca.cert, &certs_->other_client)));
  EXPECT_TRUE(second_ca.ok()) << second_ca.error_message();
}

TEST_F(TlsTest, RotatedServerCertificateIsServedWithoutRestart) {
  GatewayEnvOptions options;
  options.gateway_args = ServerTlsArgs();
  options.gateway_args.insert(options.gateway_args.end(), {"--tls-reload-interval", "1s"});
  options.channel_credentials = TlsCredentials(certs_->ca.cert);
  auto env = GatewayEnv::Start(options);
  ASSERT_NE(env, nullptr);
  ASSERT_TRUE(GetWebhookConfiguration(env->channel()).ok());

  // What a Kubernetes secret update does: new content appears at the same paths.
  ASSERT_TRUE(
      ReplaceFileAtomically(certs_->server.key, ReadTextFile(certs_->other_server.key)).ok());
  ASSERT_TRUE(
      ReplaceFileAtomically(certs_->server.cert, ReadTextFile(certs_->other_server.cert)).ok());

  // New connections present the new certificate once the watcher has re-read the files.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  grpc::Status rotated;
  do {
    rotated = GetWebhookConfiguration(
        FreshChannel(env->gateway_address(), TlsCredentials(certs_->other_ca.cert)));
    if (!rotated.ok()) {
      absl::SleepFor(absl::Milliseconds(100));  // poll interval, not a synchronisation
    }
  } while (!rotated.ok() && absl::Now() < deadline);
  ASSERT_TRUE(rotated.ok()) << "the rotated certificate was not served: "
                            << rotated.error_message();

  grpc::Status old_ca = GetWebhookConfiguration(
      FreshChannel(env->gateway_address(), TlsCredentials(certs_->ca.cert)));
  EXPECT_EQ(old_ca.error_code(), grpc::StatusCode::UNAVAILABLE) << old_ca.error_message();

  // The connection made before the rotation keeps working with the certificate it was made with.
  grpc::Status established = GetWebhookConfiguration(env->channel());
  EXPECT_TRUE(established.ok()) << established.error_message();
}

TEST_F(TlsTest, UpstreamOverTlsIsVerifiedWithTheConfiguredCaBundle) {
  auto env = GatewayEnv::Start(BehindTlsFront({"--upstream-ca-file", certs_->ca.cert}));
  ASSERT_NE(env, nullptr);
  grpc::Status status = GetWebhookConfiguration(env->channel());
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(front_->handshakes_completed(), 1);
  EXPECT_EQ(front_->handshakes_failed(), 0);
}

TEST_F(TlsTest, UpstreamOnTheSandboxesOwnTlsListenerIsVerifiedAndKeptAlive) {
  GatewayEnvOptions options;
  options.sandbox_args = {"--tls-cert", certs_->server.cert, "--tls-key", certs_->server.key};
  // One upstream loop: every loop keeps connections of its own, and a call that finds its loop busy
  // may start on another (RunOnShard), which would open a second connection.
  options.gateway_args = {"--upstream-ca-file", certs_->ca.cert, "--upstream-threads", "1"};
  options.upstream_for_sandbox = [](const std::string& address) { return "https://" + address; };
  auto env = GatewayEnv::Start(options);
  ASSERT_NE(env, nullptr);
  for (int i = 0; i < 10; ++i) {
    grpc::Status status = GetWebhookConfiguration(env->channel());
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  long http_status = 0;
  const nlohmann::json counters = nlohmann::json::parse(
      HttpCall("GET", "https://" + env->sandbox_address() + "/_sandbox/counters", "", {},
               &http_status, certs_->ca.cert),
      nullptr, /*allow_exceptions=*/false);
  ASSERT_EQ(http_status, 200);
  // One kept-alive connection for the ten calls, plus this request's own.
  EXPECT_EQ(counters["tls_handshakes"]["completed"], 2) << counters.dump();
  EXPECT_EQ(counters["tls_handshakes"]["failed"], 0);
}

TEST_F(TlsTest, UpstreamCertificateFromAnotherCaFailsUnavailable) {
  auto env = GatewayEnv::Start(
      BehindTlsFront({"--upstream-ca-file", certs_->other_ca.cert, "--retry-max-attempts", "1"}));
  ASSERT_NE(env, nullptr);
  grpc::Status status = GetWebhookConfiguration(env->channel());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "certificate could not be verified"))
      << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), certs_->other_ca.cert))
      << status.error_message();
  std::optional<google::rpc::ErrorInfo> info = DetailOf<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "UPSTREAM_UNAVAILABLE");
  EXPECT_EQ(front_->handshakes_completed(), 0);
}

TEST_F(TlsTest, UpstreamVerificationIsOnWithoutACaBundle) {
  // No --upstream-ca-file: the system store, which does not know the test CA, must refuse the
  // front.
  auto env = GatewayEnv::Start(BehindTlsFront({"--retry-max-attempts", "1"}));
  ASSERT_NE(env, nullptr);
  grpc::Status status = GetWebhookConfiguration(env->channel());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(),
                                "could not be verified against the system CA store"))
      << status.error_message();
  EXPECT_EQ(front_->handshakes_completed(), 0);
}

// Runs the gateway with `args` (stderr merged into stdout) until it exits; returns its exit code
// and output.
int RunGateway(const std::vector<std::string>& args, std::string* output) {
  std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1",
                                   std::string(AARTHIK_BIN_DIR) + "/aarthik-gateway"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto gateway = Subprocess::Start(argv, {std::string("AARTHIK_API_KEY=") + kGatewayApiKey});
  if (!gateway.ok()) return -1000;
  for (absl::StatusOr<std::string> line = (*gateway)->ReadLine(absl::Seconds(20)); line.ok();
       line = (*gateway)->ReadLine(absl::Seconds(20))) {
    absl::StrAppend(output, *line, "\n");
    if (absl::StartsWith(*line, "listening ")) break;  // it started: the test fails below
  }
  return (*gateway)->Terminate();
}

TEST_F(TlsTest, InconsistentTlsFlagsStopTheGatewayAtStartWithTheFlagNamed) {
  const std::string missing = certs_->dir + "/missing.pem";
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--tls-cert-file", missing, "--tls-key-file", certs_->server.key},
       "--tls-cert-file='" + missing},
      {{"--tls-cert-file", certs_->server.cert, "--tls-key-file", missing},
       "--tls-key-file='" + missing},
      {{"--tls-key-file", certs_->server.key}, "--tls-key-file is set without --tls-cert-file"},
      {{"--tls-client-ca-file", certs_->ca.cert}, "--tls-client-ca-file needs --tls-cert-file"},
      {{"--tls-cert-file", certs_->server.key, "--tls-key-file", certs_->server.key},
       "--tls-cert-file='" + certs_->server.key + "' holds no PEM CERTIFICATE"},
      {{"--upstream-url", "http://127.0.0.1:1", "--upstream-ca-file", certs_->ca.cert},
       "--upstream-ca-file"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--grpc-listen", "127.0.0.1:0",    "--http-listen",
                                     "127.0.0.1:0",   "--upstream-url", "https://127.0.0.1:1"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    std::string output;
    EXPECT_EQ(RunGateway(args, &output), 2) << absl::StrJoin(c.args, " ") << "\n" << output;
    EXPECT_TRUE(absl::StrContains(output, c.expected)) << c.expected << "\nnot in:\n" << output;
  }
}

TEST_F(TlsTest, StartUpLogSaysWhetherTheListenerUsesTls) {
  const std::vector<std::string> base = {"--grpc-listen", "127.0.0.1:0",    "--http-listen",
                                         "127.0.0.1:0",   "--upstream-url", "https://127.0.0.1:1"};
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, R"("grpc_tls":"off")"},
      {ServerTlsArgs(), R"("grpc_tls":"tls")"},
      {{"--tls-cert-file", certs_->server.cert, "--tls-key-file", certs_->server.key,
        "--tls-client-ca-file", certs_->ca.cert},
       R"("grpc_tls":"mutual")"}};
  for (const auto& [tls_args, expected] : cases) {
    std::vector<std::string> args = base;
    args.insert(args.end(), tls_args.begin(), tls_args.end());
    std::string output;
    RunGateway(args, &output);
    EXPECT_TRUE(absl::StrContains(output, "listening ")) << output;
    EXPECT_TRUE(absl::StrContains(output, expected)) << expected << "\nnot in:\n" << output;
  }
}

}  // namespace
}  // namespace aarthik::testing
