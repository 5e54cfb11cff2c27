// Integration environment: the real aarthik-sandbox and aarthik-gateway binaries on free loopback
// ports, a gRPC channel to the gateway, and the sandbox's control plane (time, faults, counters)
// over HTTP.
//
//   auto env = GatewayEnv::Start({.sandbox_args = {"--session-ttl", "2m"}});
//   ASSERT_NE(env, nullptr);
//   aarthik::headless::v1::JourneysService::Stub journeys(env->channel());
//   env->AdvanceSandboxTime(31 * 60);
//   EXPECT_EQ(env->SandboxCounters()["refreshes"], 1);
//
// Thread-safety: the control-plane helpers are for the test thread; channel() is thread-safe.
#ifndef AARTHIK_TESTS_INTEGRATION_GATEWAY_ENV_H_
#define AARTHIK_TESTS_INTEGRATION_GATEWAY_ENV_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aarthik/headless/v1/profile.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "tests/support/subprocess.h"

namespace aarthik::testing {

inline constexpr char kTenantId[] = "8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61";
inline constexpr char kApplicationId[] = "fbb1fd74-c502-4419-83f3-82a2a019fc9a";
inline constexpr char kGatewayApiKey[] = "sk_test_gateway_integration";

struct GatewayEnvOptions {
  std::vector<std::string> sandbox_args;
  std::vector<std::string> gateway_args;
  // Point the gateway at this URL instead of the sandbox (e.g. a closed port).
  std::string upstream_override;
  // The gateway's --api-key-file; empty: a temporary file holding kGatewayApiKey (which the sandbox
  // accepts).
  std::string api_key_file;
  // Where the gateway's stderr (its JSON log lines) goes; empty: the test's own stderr.
  std::string gateway_log_path;
  // Builds the gateway's upstream URL from the sandbox's "HOST:PORT" once the sandbox runs (e.g. an
  // https:// URL of a TLS front for it); wins over upstream_override.
  std::function<std::string(const std::string& sandbox_address)> upstream_for_sandbox;
  // Put before the gateway's command line, e.g. {"/usr/bin/prlimit", "--nofile=256:256", "--"} to
  // run it under a low descriptor limit (prlimit execs the gateway: the process stays the same).
  std::vector<std::string> gateway_launcher;
  // Credentials of channel(); plaintext when null. TLS ones for a gateway started with
  // --tls-cert-file.
  std::shared_ptr<grpc::ChannelCredentials> channel_credentials;
};

class GatewayEnv {
 public:
  static std::unique_ptr<GatewayEnv> Start(GatewayEnvOptions options = {});
  ~GatewayEnv();

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  const std::string& gateway_address() const { return gateway_address_; }
  // The gateway's HTTP listener (web-hooks, /healthz), "127.0.0.1:PORT".
  const std::string& http_address() const { return http_address_; }
  std::string sandbox_url() const { return "http://" + sandbox_address_; }
  const std::string& sandbox_address() const { return sandbox_address_; }
  // The gateway process (the first one, not the replicas).
  pid_t gateway_pid() const { return gateway_->pid(); }

  // Raw HTTP to the sandbox; returns the parsed JSON body (null when not JSON) and the status.
  nlohmann::json SandboxHttp(const std::string& method, const std::string& path,
                             const std::string& body = "", long* status = nullptr);
  void AdvanceSandboxTime(double seconds);
  nlohmann::json SandboxCounters();
  // Count of requests the sandbox served for "METHOD /path/template" (any status when status == 0).
  int64_t SandboxRequests(const std::string& route, int status = 0);
  void SetSandboxFaults(const nlohmann::json& faults);
  void ClearSandboxFaults();
  // Stops the gateway with SIGTERM; returns its exit code (-9 when it had to be killed after 20 s).
  // The gateway's drain waits for open client connections to answer its GOAWAY ping, and an idle
  // one in this process answers only when gRPC's backup poller runs (every 5 s): drop the stubs and
  // ClientContexts made from channel() first, and the gateway exits at once.
  int StopGateway();
  // Starts another gateway process with the first one's flags (same sandbox; share state only
  // through what those flags name, e.g. --redis-url); returns a channel to it, null on failure. The
  // environment stops it.
  std::shared_ptr<grpc::Channel> StartReplica();
  // The gRPC addresses of the replicas StartReplica started, in order.
  std::vector<std::string> replica_addresses() const;
  // Sends `signal` to the gateway without waiting (StopGateway() then collects the exit code).
  void SignalGateway(int signal);
  // Stops the sandbox (the platform goes down: connections refused) and starts it again on the same
  // address (state is not kept).
  void StopSandbox();
  bool RestartSandbox();

 private:
  struct Replica {
    std::unique_ptr<Subprocess> process;
    std::string address;
    std::string http_address;
    std::shared_ptr<grpc::Channel> channel;
  };
  std::optional<Replica> LaunchGateway(const std::vector<std::string>& argv,
                                       const std::string& log_path);

  std::vector<std::string> sandbox_argv_;
  std::vector<std::string> gateway_argv_;
  std::shared_ptr<grpc::ChannelCredentials> channel_credentials_;
  std::vector<Replica> replicas_;
  std::unique_ptr<Subprocess> sandbox_;
  std::unique_ptr<Subprocess> gateway_;
  std::string sandbox_address_;
  std::string gateway_address_;
  std::string http_address_;
  std::string key_file_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A blocking HTTP call (JSON content type plus `headers`, "Name: value"); returns the body, sets
// *status (0 when no answer). An https:// URL is verified against `ca_file` (or the system store).
std::string HttpCall(const std::string& method, const std::string& url,
                     const std::string& body = "", const std::vector<std::string>& headers = {},
                     long* status = nullptr, const std::string& ca_file = "");

// Lowercase hex HMAC-SHA256 of `message` under `key`: a web-hook signature as the platform computes
// it (contract §4.2), with OpenSSL rather than the gateway's own verifier code.
std::string HmacSha256Hex(const std::string& key, const std::string& message);

// Posts a signed journey.snapshot web-hook (variant A, one OFFERS_PENDING journey of `borrower`) to
// the gateway's receiver, signed with `secret` and timestamped now; returns the HTTP status.
long PostSignedWebhook(const GatewayEnv& env, const std::string& secret,
                       const std::string& event_id, const std::string& borrower);

// A file for the running test's gateway log, unique per test and process: ctest runs the tests of
// one suite as parallel processes that share TempDir().
std::string TestLogPath();

// An UpdateProfile request that completes the profile of `borrower`'s journey `journey_id` with a
// fictional salaried applicant, enough for the sandbox to make offers.
aarthik::headless::v1::UpdateProfileRequest SampleProfileUpdate(const std::string& borrower,
                                                                const std::string& journey_id);

// Adds x-correlation-id (and idempotency-key when given) and a deadline to a client context.
void PrepareContext(grpc::ClientContext* context, const std::string& correlation_id = "",
                    absl::Duration timeout = absl::Seconds(10),
                    const std::string& idempotency_key = "");

// The metadata value the server sent (initial or trailing), "" when absent.
std::string ServerMetadata(const grpc::ClientContext& context, const std::string& key);

// The first google.rpc detail of type `Detail` in a failed call's status, if any.
template <typename Detail>
std::optional<Detail> DetailOf(const grpc::Status& status) {
  google::rpc::Status rpc;
  if (!rpc.ParseFromString(status.error_details())) return std::nullopt;
  for (const auto& any : rpc.details()) {
    Detail detail;
    if (any.UnpackTo(&detail)) return detail;
  }
  return std::nullopt;
}

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_INTEGRATION_GATEWAY_ENV_H_
