// Secrets rotated under a running gateway, the way Kubernetes does it (a new `..data` directory
// swapped in by renaming a symlink): the API key file and a web-hook secret file are picked up
// without a restart. Also the process-level behaviour of the config file: a bad file exits 2 with
// the error on stderr, and
// --print-config prints the configuration without the key.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "aarthik/events/v1/events.grpc.pb.h"
#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "aarthik/hybrid/v1/hybrid.grpc.pb.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"

namespace aarthik::testing {
namespace {

namespace ho = aarthik::hosted::v1;
namespace hl = aarthik::headless::v1;
namespace hy = aarthik::hybrid::v1;
namespace ev = aarthik::events::v1;

constexpr char kOldApiKey[] =
    "sk_test_rotation_old_key";  // the sandbox accepts only kGatewayApiKey
constexpr char kOldWebhookSecret[] = "whsec_rotation_old";
constexpr char kNewWebhookSecret[] = "whsec_rotation_new";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class SecretRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/aarthik-rotation-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { ASSERT_EQ(std::system(("rm -rf " + dir_).c_str()), 0); }

  std::string Path(const std::string& name) { return dir_ + "/" + name; }

  // A Kubernetes secret volume: NAME -> ..data/NAME, ..data -> ..VERSION/ holding the value.
  std::string MountSecret(const std::string& name, const std::string& value) {
    WriteVersion("v1", name, value);
    EXPECT_EQ(symlink("..v1", Path("..data").c_str()), 0);
    EXPECT_EQ(symlink(("..data/" + name).c_str(), Path(name).c_str()), 0);
    return Path(name);
  }
  // What the kubelet does on a Secret update: a new version directory, then an atomic symlink swap.
  void RotateSecret(const std::string& version, const std::string& name, const std::string& value) {
    WriteVersion(version, name, value);
    ASSERT_EQ(symlink((".." + version).c_str(), Path("..data_tmp").c_str()), 0);
    ASSERT_EQ(std::rename(Path("..data_tmp").c_str(), Path("..data").c_str()), 0);
  }
  void WriteVersion(const std::string& version, const std::string& name, const std::string& value) {
    ASSERT_EQ(mkdir(Path(".." + version).c_str(), 0700), 0);
    std::ofstream(Path(".." + version + "/" + name)) << value << "\n";
  }

  // Runs the gateway binary to completion; returns its exit code, stdout and stderr.
  int RunGateway(std::vector<std::string> args, std::string* out, std::string* err) {
    std::vector<std::string> argv = {std::string(AARTHIK_BIN_DIR) + "/aarthik-gateway"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto process = Subprocess::Start(argv, {}, Path("stderr.txt"));
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return -1;
    out->clear();
    // Until it closes stdout, i.e. exits.
    for (absl::StatusOr<std::string> line = (*process)->ReadLine(absl::Seconds(20)); line.ok();
         line = (*process)->ReadLine(absl::Seconds(20))) {
      absl::StrAppend(out, *line, "\n");
    }
    const int code = (*process)->Terminate();
    *err = ReadAll(Path("stderr.txt"));
    return code;
  }

  std::string dir_;
};

grpc::StatusCode GetFeatures(const GatewayEnv& env) {
  auto hosted = ho::HostedService::NewStub(env.channel());
  grpc::ClientContext context;
  PrepareContext(&context);
  ho::GetFeaturesResponse response;
  return hosted->GetFeatures(&context, ho::GetFeaturesRequest(), &response).error_code();
}

TEST_F(SecretRotationTest, RotatedApiKeyFileIsUsedWithoutARestart) {
  const std::string key_file = MountSecret("api-key", kOldApiKey);
  auto env = GatewayEnv::Start({.gateway_args = {"--secret-reload-interval", "100ms"},
                                .api_key_file = key_file,
                                .gateway_log_path = Path("gateway.log")});
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(GetFeatures(*env), grpc::StatusCode::UNAUTHENTICATED);  // the platform refuses key A

  RotateSecret("v2", "api-key", kGatewayApiKey);
  grpc::StatusCode code = grpc::StatusCode::UNAUTHENTICATED;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (code != grpc::StatusCode::OK && absl::Now() < deadline) code = GetFeatures(*env);
  EXPECT_EQ(code, grpc::StatusCode::OK);

  {  // Stubs and contexts hold the env's channel, which StopGateway must close (gateway_env.h).
    // Borrower sessions are minted with the new key too (SessionManager reads it per mint).
    auto journeys = hl::JourneysService::NewStub(env->channel());
    grpc::ClientContext context;
    PrepareContext(&context);
    hl::ListJourneysRequest request;
    request.set_borrower_external_id("CUST_ROTATION");
    hl::ListJourneysResponse response;
    grpc::Status listed = journeys->ListJourneys(&context, request, &response);
    EXPECT_TRUE(listed.ok()) << listed.error_message();

    // So are the state poller's Hybrid polls (PlatformStateFetcher reads it per poll).
    auto hybrid = hy::HybridService::NewStub(env->channel());
    grpc::ClientContext start_context;
    PrepareContext(&start_context);
    hy::StartJourneyRequest start;
    start.set_borrower_provider_id("BORROWER-ROTATION");
    start.mutable_prefill()->mutable_personal()->set_contact_number("9876543210");
    hy::StartJourneyResponse started;
    grpc::Status start_status = hybrid->StartJourney(&start_context, start, &started);
    ASSERT_TRUE(start_status.ok()) << start_status.error_message();
    auto events = ev::JourneyEventsService::NewStub(env->channel());
    grpc::ClientContext watch_context;
    PrepareContext(&watch_context, "", absl::Seconds(20));
    ev::WatchJourneyStateRequest watch;
    watch.set_borrower_provider_id("BORROWER-ROTATION");
    auto reader = events->WatchJourneyState(&watch_context, watch);
    ev::WatchJourneyStateResponse state;
    EXPECT_TRUE(reader->Read(&state)) << reader->Finish().error_message();
    watch_context.TryCancel();
    reader->Finish();
  }
  const int exit_code = env->StopGateway();
  const std::string log = ReadAll(Path("gateway.log"));
  EXPECT_EQ(exit_code, 0) << log;
  EXPECT_TRUE(absl::StrContains(log, "secret reloaded")) << log;
  EXPECT_TRUE(absl::StrContains(log, key_file)) << log;
  EXPECT_FALSE(absl::StrContains(log, kOldApiKey)) << log;
  EXPECT_FALSE(absl::StrContains(log, kGatewayApiKey)) << log;
}

TEST_F(SecretRotationTest, RotatedWebhookSecretIsUsedAndTheOldOneStillAcceptedDuringTheOverlap) {
  const std::string secret_file = MountSecret("webhook-secret", kOldWebhookSecret);
  auto env = GatewayEnv::Start({.gateway_args = {"--secret-reload-interval", "100ms",
                                                 "--webhook-secret-file", secret_file}});
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(PostSignedWebhook(*env, kOldWebhookSecret, "evt_rot_1", "CUST_WHSEC"), 200);
  EXPECT_EQ(PostSignedWebhook(*env, kNewWebhookSecret, "evt_rot_2", "CUST_WHSEC"), 401);

  RotateSecret("v2", "webhook-secret", kNewWebhookSecret);
  long status = 401;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  for (int i = 0; status != 200 && absl::Now() < deadline; ++i) {
    status =
        PostSignedWebhook(*env, kNewWebhookSecret, absl::StrCat("evt_rot_new_", i), "CUST_WHSEC");
  }
  EXPECT_EQ(status, 200);
  // Deliveries the platform signed just before it switched still verify (overlap:
  // --webhook-tolerance).
  EXPECT_EQ(PostSignedWebhook(*env, kOldWebhookSecret, "evt_rot_late", "CUST_WHSEC"), 200);
}

TEST_F(SecretRotationTest, BadConfigFileExitsTwoWithTheErrorOnStderr) {
  std::ofstream(Path("gateway.yaml")) << "upstream-url: http://127.0.0.1:1\nretry-max-attempt: 3\n";
  std::string out, err;
  EXPECT_EQ(RunGateway({"--config", Path("gateway.yaml")}, &out, &err), 2);
  EXPECT_TRUE(absl::StrContains(
      err,
      absl::StrCat("aarthik-gateway: invalid configuration: config file ", Path("gateway.yaml"),
                   " line 2: unknown key "
                   "'retry-max-attempt'; did you mean 'retry-max-attempts'?")))
      << err;
  EXPECT_EQ(out, "");

  std::ofstream(Path("syntax.yaml")) << "upstream-url: [http://127.0.0.1:1\n";
  EXPECT_EQ(RunGateway({"--config", Path("syntax.yaml")}, &out, &err), 2);
  EXPECT_TRUE(absl::StrContains(err, "invalid YAML")) << err;
}

TEST_F(SecretRotationTest, PrintConfigShowsTheConfigurationButNotTheKey) {
  const std::string key_file = MountSecret("api-key", kGatewayApiKey);
  std::ofstream(Path("gateway.yaml"))
      << "upstream-url: http://127.0.0.1:1\napi-key-file: " << key_file
      << "\nretry-max-attempts: 2\n";
  std::string out, err;
  EXPECT_EQ(
      RunGateway({"--config", Path("gateway.yaml"), "--print-config", "--breaker-failures", "9"},
                 &out, &err),
      0)
      << err;
  EXPECT_TRUE(absl::StrContains(out, "\nupstream-url: http://127.0.0.1:1  # config file ")) << out;
  EXPECT_TRUE(absl::StrContains(out, "\nbreaker-failures: 9  # flag --breaker-failures\n")) << out;
  EXPECT_TRUE(absl::StrContains(
      out, absl::StrCat("<redacted: ", sizeof(kGatewayApiKey) - 1, " bytes from ", key_file)))
      << out;
  EXPECT_FALSE(absl::StrContains(out, kGatewayApiKey)) << out;
  EXPECT_FALSE(absl::StrContains(err, kGatewayApiKey)) << err;
}

}  // namespace
}  // namespace aarthik::testing
