// Unit tests of the client helper (client_stubs/): UUIDs, per-call deadline and metadata as a real
// in-process gateway stand-in sees them, channel and TLS option validation.
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "aarthik/client/client.h"
#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "gtest/gtest.h"

namespace aarthik::client {
namespace {

using ::aarthik::headless::v1::GetJourneyRequest;
using ::aarthik::headless::v1::GetJourneyResponse;
using ::aarthik::headless::v1::JourneysService;

const std::regex& UuidV4Pattern() {
  static const auto* pattern =
      new std::regex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  return *pattern;
}

TEST(UuidTest, HasVersion4FormatAndDoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = NewUuidV4();
    ASSERT_TRUE(std::regex_match(id, UuidV4Pattern())) << id;
    ASSERT_TRUE(seen.insert(id).second) << "repeated " << id;
  }
  EXPECT_TRUE(std::regex_match(NewCorrelationId(), UuidV4Pattern()));
  EXPECT_TRUE(std::regex_match(NewIdempotencyKey(), UuidV4Pattern()));
  EXPECT_NE(NewIdempotencyKey(), NewIdempotencyKey());
}

TEST(UuidTest, UsesAllHexDigitsAndBothVariantNibbles) {
  // A broken generator (e.g. constant bytes or a stuck nibble) would not cover these in 500 draws.
  std::set<char> digits;
  std::set<char> variants;
  for (int i = 0; i < 500; ++i) {
    const std::string id = NewUuidV4();
    digits.insert(id.begin(), id.end());
    variants.insert(id[19]);
  }
  digits.erase('-');
  EXPECT_EQ(digits.size(), 16u);
  EXPECT_EQ(variants, (std::set<char>{'8', '9', 'a', 'b'}));
}

TEST(PrepareTest, SetsDeadlineFromTimeout) {
  grpc::ClientContext context;
  CallOptions options;
  options.timeout = std::chrono::milliseconds(1500);
  const auto before = std::chrono::system_clock::now();
  Prepare(&context, options);
  const auto after = std::chrono::system_clock::now();
  EXPECT_GE(context.deadline(), before + std::chrono::milliseconds(1500));
  EXPECT_LE(context.deadline(), after + std::chrono::milliseconds(1500));
}

TEST(PrepareTest, DefaultDeadlineIsTenSeconds) {
  grpc::ClientContext context;
  const auto before = std::chrono::system_clock::now();
  Prepare(&context, CallOptions{});
  EXPECT_GE(context.deadline(), before + kDefaultTimeout);
  EXPECT_LE(context.deadline(), std::chrono::system_clock::now() + kDefaultTimeout);
  EXPECT_EQ(kDefaultTimeout, std::chrono::seconds(10));
}

TEST(PrepareTest, ZeroTimeoutLeavesNoDeadline) {
  grpc::ClientContext context;
  CallOptions options;
  options.timeout = std::chrono::milliseconds(0);
  Prepare(&context, options);
  EXPECT_GT(context.deadline(), std::chrono::system_clock::now() + std::chrono::hours(24 * 365));
}

TEST(WriteOptionsTest, CarriesAFreshIdempotencyKey) {
  const CallOptions a = WriteOptions();
  const CallOptions b = WriteOptions();
  EXPECT_TRUE(std::regex_match(a.idempotency_key, UuidV4Pattern()));
  EXPECT_NE(a.idempotency_key, b.idempotency_key);
  EXPECT_EQ(a.timeout, kDefaultTimeout);
  EXPECT_TRUE(a.correlation_id.empty());
}

// Records what the server side of one call saw.
class RecordingJourneys final : public JourneysService::Service {
 public:
  grpc::Status GetJourney(grpc::ServerContext* context, const GetJourneyRequest* request,
                          GetJourneyResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    metadata_.clear();
    for (const auto& [key, value] : context->client_metadata()) {
      metadata_.emplace(std::string(key.data(), key.size()),
                        std::string(value.data(), value.size()));
    }
    remaining_ = context->deadline() - std::chrono::system_clock::now();
    response->mutable_journey()->set_journey_id(request->journey_id());
    return grpc::Status::OK;
  }

  std::multimap<std::string, std::string> metadata() {
    std::lock_guard<std::mutex> lock(mu_);
    return metadata_;
  }
  std::chrono::system_clock::duration remaining() {
    std::lock_guard<std::mutex> lock(mu_);
    return remaining_;
  }

 private:
  std::mutex mu_;
  std::multimap<std::string, std::string> metadata_;
  std::chrono::system_clock::duration remaining_{};
};

class PrepareOnTheWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    stub_ = JourneysService::NewStub(CreateInsecureChannel("127.0.0.1:" + std::to_string(port_)));
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  grpc::Status Call(const CallOptions& options) {
    grpc::ClientContext context;
    Prepare(&context, options);
    GetJourneyRequest request;
    request.set_borrower_external_id("9876543210");
    request.set_journey_id("3f2b8c1e-9d4a-4f6b-8e2a-1c5d7f9a0b3c");
    GetJourneyResponse response;
    grpc::Status status = stub_->GetJourney(&context, request, &response);
    EXPECT_EQ(response.journey().journey_id(), request.journey_id());
    return status;
  }

  RecordingJourneys service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<JourneysService::Stub> stub_;
};

TEST_F(PrepareOnTheWireTest, SendsGivenCorrelationIdAndIdempotencyKey) {
  CallOptions options;
  options.correlation_id = "corr-123";
  options.idempotency_key = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  options.timeout = std::chrono::seconds(5);
  ASSERT_TRUE(Call(options).ok());
  const auto metadata = service_.metadata();
  EXPECT_EQ(metadata.count("x-correlation-id"), 1u);
  EXPECT_EQ(metadata.find("x-correlation-id")->second, "corr-123");
  ASSERT_EQ(metadata.count("idempotency-key"), 1u);
  EXPECT_EQ(metadata.find("idempotency-key")->second, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
  // The server sees the deadline (minus transit): between 4 and 5 seconds left.
  EXPECT_LE(service_.remaining(), std::chrono::seconds(5));
  EXPECT_GT(service_.remaining(), std::chrono::seconds(4));
}

TEST_F(PrepareOnTheWireTest, GeneratesCorrelationIdAndOmitsEmptyIdempotencyKey) {
  ASSERT_TRUE(Call(CallOptions{}).ok());
  const auto metadata = service_.metadata();
  ASSERT_EQ(metadata.count("x-correlation-id"), 1u);
  const std::string first = metadata.find("x-correlation-id")->second;
  EXPECT_TRUE(std::regex_match(first, UuidV4Pattern())) << first;
  EXPECT_EQ(metadata.count("idempotency-key"), 0u);

  ASSERT_TRUE(Call(CallOptions{}).ok());
  EXPECT_NE(service_.metadata().find("x-correlation-id")->second, first);
}

TEST(ChannelTest, RejectsEmptyTarget) {
  EXPECT_EQ(CreateChannel(ChannelOptions{}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChannelTest, RejectsClientCertificateWithoutKeyAndViceVersa) {
  ChannelOptions options;
  options.target = "localhost:1";
  options.use_tls = true;
  options.tls.cert_chain_pem = "-----BEGIN CERTIFICATE-----\n";
  EXPECT_EQ(CreateChannel(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.tls.cert_chain_pem.clear();
  options.tls.private_key_pem = "-----BEGIN PRIVATE KEY-----\n";
  EXPECT_EQ(CreateCredentials(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChannelTest, CreatesInsecureAndTlsChannels) {
  ChannelOptions options;
  options.target = "localhost:1";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> plain = CreateChannel(options);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_NE(*plain, nullptr);
  options.use_tls = true;
  options.tls.target_name_override = "gateway.test";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> tls = CreateChannel(options);
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_NE(*tls, nullptr);
}

TEST(ChannelTest, UnreachableGatewayFailsWithUnavailableBeforeTheDeadline) {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  auto stub = JourneysService::NewStub(CreateInsecureChannel("127.0.0.1:1"));
  grpc::ClientContext context;
  CallOptions options;
  options.timeout = std::chrono::seconds(10);
  Prepare(&context, options);
  GetJourneyResponse response;
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status = stub->GetJourney(&context, GetJourneyRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// End-to-end TLS: certificates from make_test_certs.sh (a ctest fixture sets
// AARTHIK_TEST_CERTS_DIR).
class TlsEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("AARTHIK_TEST_CERTS_DIR");
    if (dir == nullptr || *dir == '\0')
      GTEST_SKIP() << "AARTHIK_TEST_CERTS_DIR not set (run through ctest)";
    dir_ = dir;
  }

  std::string Read(const std::string& name) {
    std::ifstream in(dir_ + "/" + name);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Starts a TLS server on 127.0.0.1; with `require_client_cert` it demands a CA-signed client
  // cert.
  void StartServer(bool require_client_cert) {
    grpc::SslServerCredentialsOptions ssl(
        require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    ssl.pem_root_certs = Read("ca.pem");
    ssl.pem_key_cert_pairs.push_back({Read("server.key.pem"), Read("server.pem")});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  grpc::Status Call(const ChannelOptions& options) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateChannel(options);
    EXPECT_TRUE(channel.ok()) << channel.status();
    if (!channel.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no channel");
    grpc::ClientContext context;
    CallOptions call;
    call.timeout = std::chrono::seconds(5);
    Prepare(&context, call);
    GetJourneyResponse response;
    return JourneysService::NewStub(*channel)->GetJourney(&context, GetJourneyRequest(), &response);
  }

  ChannelOptions TlsTo(const std::string& host) {
    ChannelOptions options;
    options.target = host + ":" + std::to_string(port_);
    options.use_tls = true;
    return options;
  }

  std::string dir_;
  RecordingJourneys service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(TlsEndToEndTest, TrustsThePrivateCaFromAFile) {
  StartServer(/*require_client_cert=*/false);
  ChannelOptions options = TlsTo("127.0.0.1");
  absl::StatusOr<TlsOptions> tls = TlsOptionsFromFiles(dir_ + "/ca.pem");
  ASSERT_TRUE(tls.ok()) << tls.status();
  options.tls = *tls;
  options.tls.target_name_override = "gateway.test";
  grpc::Status status = Call(options);
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
}

TEST_F(TlsEndToEndTest, RejectsAServerSignedByAnUnknownCa) {
  StartServer(/*require_client_cert=*/false);
  ChannelOptions options = TlsTo("127.0.0.1");
  options.tls.root_certs_pem = Read("client.pem");  // a certificate, but not the server's CA
  options.tls.target_name_override = "gateway.test";
  EXPECT_EQ(Call(options).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsEndToEndTest, MutualTlsNeedsTheClientCertificate) {
  StartServer(/*require_client_cert=*/true);
  ChannelOptions options = TlsTo("127.0.0.1");
  options.tls.root_certs_pem = Read("ca.pem");
  options.tls.target_name_override = "gateway.test";
  EXPECT_EQ(Call(options).error_code(), grpc::StatusCode::UNAVAILABLE);

  absl::StatusOr<TlsOptions> tls =
      TlsOptionsFromFiles(dir_ + "/ca.pem", dir_ + "/client.pem", dir_ + "/client.key.pem");
  ASSERT_TRUE(tls.ok()) << tls.status();
  options.tls = *tls;
  options.tls.target_name_override = "gateway.test";
  grpc::Status status = Call(options);
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
}

class TlsFilesTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + "/client_helper_test_" + name;
    std::ofstream(path) << text;
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& path : paths_) std::remove(path.c_str());
  }
  std::vector<std::string> paths_;
};

TEST_F(TlsFilesTest, ReadsPemFilesAndLeavesUnnamedOnesEmpty) {
  const std::string ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const std::string key = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
  absl::StatusOr<TlsOptions> tls = TlsOptionsFromFiles(Write("ca.pem", ca));
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ(tls->root_certs_pem, ca);
  EXPECT_TRUE(tls->cert_chain_pem.empty());
  EXPECT_TRUE(tls->private_key_pem.empty());

  tls = TlsOptionsFromFiles("", Write("cert.pem", ca), Write("key.pem", key));
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_TRUE(tls->root_certs_pem.empty());
  EXPECT_EQ(tls->cert_chain_pem, ca);
  EXPECT_EQ(tls->private_key_pem, key);
}

TEST_F(TlsFilesTest, ReportsMissingAndNonPemFiles) {
  absl::StatusOr<TlsOptions> missing = TlsOptionsFromFiles("/nonexistent/ca.pem");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/ca.pem"), std::string::npos);
  EXPECT_EQ(TlsOptionsFromFiles(Write("junk.pem", "not a certificate")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace aarthik::client
