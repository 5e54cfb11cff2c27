#include "tests/integration/gateway_env.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace aarthik::testing {
namespace {

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

std::unique_ptr<GatewayEnv> GatewayEnv::Start(GatewayEnvOptions options) {
  auto env = std::unique_ptr<GatewayEnv>(new GatewayEnv());
  std::vector<std::string> sandbox_argv = {std::string(AARTHIK_BIN_DIR) + "/aarthik-sandbox",
                                           "--listen",
                                           "127.0.0.1:0",
                                           "--threads",
                                           "2",
                                           "--control-plane",
                                           "--api-key",
                                           kGatewayApiKey,
                                           "--tenant-id",
                                           kTenantId,
                                           "--application-id",
                                           kApplicationId,
                                           "--seed",
                                           "7"};
  sandbox_argv.insert(sandbox_argv.end(), options.sandbox_args.begin(), options.sandbox_args.end());
  env->sandbox_argv_ = sandbox_argv;
  auto sandbox = Subprocess::Start(sandbox_argv);
  if (!sandbox.ok()) return nullptr;
  env->sandbox_ = *std::move(sandbox);
  absl::StatusOr<std::string> sandbox_address = ReadListenAddress(*env->sandbox_);
  if (!sandbox_address.ok()) return nullptr;
  env->sandbox_address_ = *sandbox_address;

  char key_template[] = "/tmp/aarthik-key-XXXXXX";
  int fd = mkstemp(key_template);
  if (fd < 0) return nullptr;
  std::string key = absl::StrCat(kGatewayApiKey, "\n");
  if (write(fd, key.data(), key.size()) != static_cast<ssize_t>(key.size())) return nullptr;
  close(fd);
  env->key_file_ = key_template;

  std::string upstream_url =
      options.upstream_override.empty() ? env->sandbox_url() : options.upstream_override;
  if (options.upstream_for_sandbox)
    upstream_url = options.upstream_for_sandbox(env->sandbox_address_);
  std::vector<std::string> gateway_argv = {
      std::string(AARTHIK_BIN_DIR) + "/aarthik-gateway", "--grpc-listen", "127.0.0.1:0",
      "--upstream-url", upstream_url, "--api-key-file",
      options.api_key_file.empty() ? env->key_file_ : options.api_key_file, "--tenant-id",
      kTenantId, "--application-id", kApplicationId, "--http-listen", "127.0.0.1:0",
      // Tests stop gateways with SIGTERM by the hundred: no refusal period unless a test sets one.
      "--shutdown-delay", "0s"};
  gateway_argv.insert(gateway_argv.end(), options.gateway_args.begin(), options.gateway_args.end());
  gateway_argv.insert(gateway_argv.begin(), options.gateway_launcher.begin(),
                      options.gateway_launcher.end());
  env->gateway_argv_ = gateway_argv;
  env->channel_credentials_ = options.channel_credentials != nullptr
                                  ? options.channel_credentials
                                  : grpc::InsecureChannelCredentials();
  std::optional<Replica> gateway = env->LaunchGateway(gateway_argv, options.gateway_log_path);
  if (!gateway) return nullptr;
  env->gateway_ = std::move(gateway->process);
  env->gateway_address_ = gateway->address;
  env->http_address_ = gateway->http_address;
  env->channel_ = std::move(gateway->channel);
  return env;
}

std::optional<GatewayEnv::Replica> GatewayEnv::LaunchGateway(const std::vector<std::string>& argv,
                                                             const std::string& log_path) {
  auto process = Subprocess::Start(argv, {}, log_path);
  if (!process.ok()) return std::nullopt;
  Replica replica;
  replica.process = *std::move(process);
  absl::StatusOr<std::string> address = ReadListenAddress(*replica.process);
  if (!address.ok()) return std::nullopt;
  replica.address = *address;
  // The second stdout line: "http HOST:PORT".
  absl::StatusOr<std::string> http_line = replica.process->ReadLine(absl::Seconds(10));
  if (!http_line.ok() || http_line->rfind("http ", 0) != 0) return std::nullopt;
  replica.http_address = http_line->substr(5);
  replica.channel = grpc::CreateChannel(replica.address, channel_credentials_);
  if (!replica.channel->WaitForConnected(std::chrono::system_clock::now() +
                                         std::chrono::seconds(10))) {
    return std::nullopt;
  }
  return replica;
}

std::shared_ptr<grpc::Channel> GatewayEnv::StartReplica() {
  std::optional<Replica> replica = LaunchGateway(gateway_argv_, "");
  if (!replica) return nullptr;
  std::shared_ptr<grpc::Channel> channel = replica->channel;
  replicas_.push_back(std::move(*replica));
  return channel;
}

std::vector<std::string> GatewayEnv::replica_addresses() const {
  std::vector<std::string> addresses;
  for (const Replica& replica : replicas_) addresses.push_back(replica.address);
  return addresses;
}

GatewayEnv::~GatewayEnv() {
  // Close our connections first: a gateway's graceful shutdown waits for open client connections.
  for (Replica& replica : replicas_) {
    replica.channel.reset();
    replica.process->Terminate();
  }
  channel_.reset();
  if (gateway_) gateway_->Terminate();
  if (sandbox_) sandbox_->Terminate();
  if (!key_file_.empty()) std::remove(key_file_.c_str());
}

void GatewayEnv::StopSandbox() {
  sandbox_->Terminate();
  sandbox_.reset();
}

bool GatewayEnv::RestartSandbox() {
  std::vector<std::string> argv = sandbox_argv_;
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--listen") argv[i + 1] = sandbox_address_;
  }
  auto sandbox = Subprocess::Start(argv);
  if (!sandbox.ok()) return false;
  sandbox_ = *std::move(sandbox);
  absl::StatusOr<std::string> address = ReadListenAddress(*sandbox_);
  return address.ok() && *address == sandbox_address_;
}

void GatewayEnv::SignalGateway(int signal) { kill(gateway_->pid(), signal); }

int GatewayEnv::StopGateway() {
  // An idle client connection answers the gateway's GOAWAY ping only when gRPC's backup poller runs
  // (every 5 s): drop ours, as the destructor does. Callers drop their stubs first.
  channel_.reset();
  int code = gateway_->Terminate(absl::Seconds(20));
  gateway_.reset();
  return code;
}

std::string HmacSha256Hex(const std::string& key, const std::string& message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string HttpCall(const std::string& method, const std::string& url, const std::string& body,
                     const std::vector<std::string>& headers, long* status,
                     const std::string& ca_file) {
  CURL* curl = curl_easy_init();
  std::string response;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (!ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_slist* header_list = curl_slist_append(nullptr, "Content-Type: application/json");
  for (const std::string& header : headers)
    header_list = curl_slist_append(header_list, header.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  if (!body.empty()) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  if (status != nullptr) *status = code;
  curl_slist_free_all(header_list);
  curl_easy_cleanup(curl);
  return response;
}

nlohmann::json GatewayEnv::SandboxHttp(const std::string& method, const std::string& path,
                                       const std::string& body, long* status) {
  return nlohmann::json::parse(HttpCall(method, sandbox_url() + path, body, {}, status), nullptr,
                               /*allow_exceptions=*/false);
}

void GatewayEnv::AdvanceSandboxTime(double seconds) {
  SandboxHttp("POST", "/_sandbox/time/advance", nlohmann::json{{"seconds", seconds}}.dump());
}

nlohmann::json GatewayEnv::SandboxCounters() { return SandboxHttp("GET", "/_sandbox/counters"); }

int64_t GatewayEnv::SandboxRequests(const std::string& route, int status) {
  int64_t total = 0;
  const nlohmann::json counters = SandboxCounters();
  for (const auto& row : counters["requests"]) {
    if (row["route"] == route && (status == 0 || row["status"] == status))
      total += row["count"].get<int64_t>();
  }
  return total;
}

void GatewayEnv::SetSandboxFaults(const nlohmann::json& faults) {
  SandboxHttp("PUT", "/_sandbox/faults", faults.dump());
}

void GatewayEnv::ClearSandboxFaults() { SandboxHttp("DELETE", "/_sandbox/faults"); }

long PostSignedWebhook(const GatewayEnv& env, const std::string& secret,
                       const std::string& event_id, const std::string& borrower) {
  nlohmann::json body = {
      {"schema_version", "1.0.0"},
      {"event_type", "journey.snapshot"},
      {"event_id", event_id},
      {"event_at", "2026-03-05T16:48:20.000Z"},
      {"snapshot_generated_at", "2026-03-05T16:48:20.000Z"},
      {"sequence", 1},
      {"issuer", {{"source", "credit-api"}, {"trigger", "journey.offer.updated"}}},
      {"tenant_id", kTenantId},
      {"application_id", kApplicationId},
      {"borrower",
       {{"borrowerExternalID", borrower},
        {"journeys",
         {{{"journeyID", "0b9f6d0e-4d1e-4c59-9a3c-5c4e7f3b2a10"},
           {"status", "OFFERS_PENDING"},
           {"nextAction", "WAIT"}}}}}}};
  const std::string raw = body.dump();
  const std::string timestamp = absl::StrCat(absl::ToUnixSeconds(absl::Now()));
  long status = 0;
  HttpCall("POST", absl::StrCat("http://", env.http_address(), "/webhooks/aarthik"), raw,
           {"X-AL-Event-ID: " + event_id, absl::StrCat("X-AL-Tenant-ID: ", kTenantId),
            absl::StrCat("X-AL-Application-ID: ", kApplicationId),
            "X-AL-Webhook-Timestamp: " + timestamp,
            "X-AL-Webhook-Signature: " + HmacSha256Hex(secret, timestamp + "." + raw)},
           &status);
  return status;
}

void PrepareContext(grpc::ClientContext* context, const std::string& correlation_id,
                    absl::Duration timeout, const std::string& idempotency_key) {
  if (!correlation_id.empty()) context->AddMetadata("x-correlation-id", correlation_id);
  if (!idempotency_key.empty()) context->AddMetadata("idempotency-key", idempotency_key);
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

std::string TestLogPath() {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  return absl::StrCat(::testing::TempDir(), "gateway-", test->test_suite_name(), "-", test->name(),
                      "-", getpid(), ".log");
}

std::string ServerMetadata(const grpc::ClientContext& context, const std::string& key) {
  for (const auto* metadata :
       {&context.GetServerInitialMetadata(), &context.GetServerTrailingMetadata()}) {
    auto it = metadata->find(key);
    if (it != metadata->end()) return std::string(it->second.data(), it->second.size());
  }
  return "";
}

aarthik::headless::v1::UpdateProfileRequest SampleProfileUpdate(const std::string& borrower,
                                                                const std::string& journey_id) {
  namespace cm = aarthik::common::v1;
  aarthik::headless::v1::UpdateProfileRequest update;
  update.set_borrower_external_id(borrower);
  update.set_journey_id(journey_id);
  auto* p = update.mutable_profile();
  p->mutable_profile()->set_contact_number("9876543210");
  p->mutable_profile()->set_pan("ABCDE1234F");
  p->mutable_profile()->set_pan_name("Rahul Sharma");
  p->mutable_profile()->set_dob("1995-06-20");
  p->mutable_profile()->set_gender(cm::GENDER_MALE);
  p->mutable_profile()->set_personal_email("rahul@example.com");
  p->mutable_work_profile()->set_employment_type(cm::EMPLOYMENT_TYPE_SALARIED);
  p->mutable_work_profile()->set_income("75000");
  p->mutable_work_profile()->set_company_name("Acme Pvt Ltd");
  p->mutable_work_profile()->set_official_email("rahul@acme.com");
  p->mutable_address()->set_address_l1("Flat 301");
  p->mutable_address()->set_city("Bengaluru");
  p->mutable_address()->set_state("Karnataka");
  p->mutable_address()->set_pincode("560001");
  return update;
}

}  // namespace aarthik::testing
