// ParseConfig's TLS flags: their environment names, and the start-up checks that name the flag and
// say what to fix (missing or non-PEM files, key without certificate, client CA without a TLS
// listener, a CA bundle for a plain-HTTP platform).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/core/config.h"

namespace aarthik::core {
namespace {

class TlsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/aarthik-tls-config-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    cert_ = Write("cert.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    key_ = Write("key.pem", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n");
    ec_key_ =
        Write("ec.key.pem", "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n");
    not_pem_ = Write("not.pem", "just text\n");
  }
  void TearDown() override {
    for (const std::string& path : {cert_, key_, ec_key_, not_pem_}) std::remove(path.c_str());
    std::remove(dir_.c_str());
  }

  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }

  // ParseConfig over the minimal valid configuration plus `args` and `env`.
  absl::StatusOr<Config> Parse(std::vector<std::string> args,
                               std::map<std::string, std::string> env = {},
                               const std::string& upstream = "https://platform.test") {
    std::vector<std::string> all = {"aarthik-gateway", "--upstream-url", upstream};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<const char*> argv;
    for (const std::string& arg : all) argv.push_back(arg.c_str());
    env.emplace("AARTHIK_API_KEY", "sk_test_config");
    return ParseConfig(static_cast<int>(argv.size()), argv.data(),
                       [env](absl::string_view name) -> std::optional<std::string> {
                         auto it = env.find(std::string(name));
                         if (it == env.end()) return std::nullopt;
                         return it->second;
                       });
  }

  // The error message of a configuration that must be refused.
  std::string Refusal(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                      const std::string& upstream = "https://platform.test") {
    absl::StatusOr<Config> config = Parse(std::move(args), std::move(env), upstream);
    EXPECT_FALSE(config.ok());
    return config.ok() ? "" : std::string(config.status().message());
  }

  std::string dir_, cert_, key_, ec_key_, not_pem_;
};

TEST_F(TlsConfigTest, PlaintextByDefault) {
  absl::StatusOr<Config> config = Parse({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->tls_cert_file.empty());
  EXPECT_TRUE(config->tls_key_file.empty());
  EXPECT_TRUE(config->tls_client_ca_file.empty());
  EXPECT_TRUE(config->upstream_ca_file.empty());
  EXPECT_EQ(config->tls_reload_interval, absl::Seconds(60));
}

TEST_F(TlsConfigTest, FlagsAndEnvironment) {
  absl::StatusOr<Config> config =
      Parse({"--tls-cert-file", cert_, "--tls-key-file", ec_key_, "--tls-reload-interval", "5s"},
            {{"AARTHIK_TLS_CLIENT_CA_FILE", cert_}, {"AARTHIK_UPSTREAM_CA_FILE", cert_}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls_cert_file, cert_);
  EXPECT_EQ(config->tls_key_file, ec_key_);
  EXPECT_EQ(config->tls_client_ca_file, cert_);
  EXPECT_EQ(config->upstream_ca_file, cert_);
  EXPECT_EQ(config->tls_reload_interval, absl::Seconds(5));
}

TEST_F(TlsConfigTest, CertificateAndKeyComeTogether) {
  EXPECT_TRUE(absl::StrContains(Refusal({"--tls-key-file", key_}),
                                "--tls-key-file is set without --tls-cert-file"));
  EXPECT_TRUE(absl::StrContains(Refusal({"--tls-cert-file", cert_}),
                                "--tls-cert-file is set without --tls-key-file"));
}

TEST_F(TlsConfigTest, ClientCaNeedsATlsListener) {
  EXPECT_TRUE(absl::StrContains(Refusal({"--tls-client-ca-file", cert_}),
                                "--tls-client-ca-file needs --tls-cert-file and --tls-key-file"));
}

TEST_F(TlsConfigTest, UnreadableFilesAreNamedWithTheirFlag) {
  const std::string missing = dir_ + "/missing.pem";
  EXPECT_TRUE(absl::StartsWith(Refusal({"--tls-cert-file", missing, "--tls-key-file", key_}),
                               "--tls-cert-file='" + missing +
                                   "' cannot be read: check the path and the file's permissions"));
  EXPECT_TRUE(absl::StartsWith(Refusal({"--tls-cert-file", cert_, "--tls-key-file", missing}),
                               "--tls-key-file='" + missing + "' cannot be read"));
  EXPECT_TRUE(absl::StartsWith(
      Refusal({"--tls-cert-file", cert_, "--tls-key-file", key_, "--tls-client-ca-file", missing}),
      "--tls-client-ca-file='" + missing + "' cannot be read"));
  EXPECT_TRUE(absl::StartsWith(Refusal({"--upstream-ca-file", missing}),
                               "--upstream-ca-file='" + missing + "' cannot be read"));
}

TEST_F(TlsConfigTest, FilesMustHoldTheRightPemBlock) {
  EXPECT_TRUE(absl::StartsWith(Refusal({"--tls-cert-file", not_pem_, "--tls-key-file", key_}),
                               "--tls-cert-file='" + not_pem_ +
                                   "' holds no PEM CERTIFICATE (-----BEGIN ... CERTIFICATE-----)"));
  // Swapped certificate and key: each file is refused for what it lacks.
  EXPECT_TRUE(absl::StartsWith(Refusal({"--tls-cert-file", key_, "--tls-key-file", cert_}),
                               "--tls-cert-file='" + key_ + "' holds no PEM CERTIFICATE"));
  EXPECT_TRUE(absl::StartsWith(Refusal({"--tls-cert-file", cert_, "--tls-key-file", cert_}),
                               "--tls-key-file='" + cert_ + "' holds no PEM PRIVATE KEY"));
  EXPECT_TRUE(absl::StartsWith(Refusal({"--upstream-ca-file", key_}),
                               "--upstream-ca-file='" + key_ + "' holds no PEM CERTIFICATE"));
}

TEST_F(TlsConfigTest, KeyContentNeverAppearsInErrors) {
  const std::string secret_key = Write("secret.key.pem", "sk_live_do_not_print\n");
  const std::string message = Refusal({"--tls-cert-file", cert_, "--tls-key-file", secret_key});
  EXPECT_FALSE(absl::StrContains(message, "do_not_print")) << message;
  std::remove(secret_key.c_str());
}

TEST_F(TlsConfigTest, UpstreamCaBundleOnlyForHttps) {
  const std::string message = Refusal({"--upstream-ca-file", cert_}, {}, "http://127.0.0.1:8080");
  EXPECT_TRUE(absl::StrContains(message, "--upstream-ca-file only applies to an https:// platform"))
      << message;
  EXPECT_TRUE(absl::StrContains(message, "--upstream-url='http://127.0.0.1:8080'")) << message;
  EXPECT_TRUE(Parse({"--upstream-ca-file", cert_}).ok());
}

TEST_F(TlsConfigTest, ReloadIntervalIsAtLeastASecond) {
  EXPECT_TRUE(
      absl::StrContains(Refusal({"--tls-reload-interval", "500ms"}), "--tls-reload-interval"));
  EXPECT_TRUE(
      absl::StrContains(Refusal({"--tls-reload-interval", "soon"}), "--tls-reload-interval"));
}

TEST_F(TlsConfigTest, HelpListsTheTlsFlags) {
  const std::string help = ConfigHelp();
  for (const char* flag :
       {"--tls-cert-file [AARTHIK_TLS_CERT_FILE]", "--tls-key-file [AARTHIK_TLS_KEY_FILE]",
        "--tls-client-ca-file [AARTHIK_TLS_CLIENT_CA_FILE]",
        "--tls-reload-interval [AARTHIK_TLS_RELOAD_INTERVAL]",
        "--upstream-ca-file [AARTHIK_UPSTREAM_CA_FILE]"}) {
    EXPECT_TRUE(absl::StrContains(help, flag)) << flag;
  }
}

}  // namespace
}  // namespace aarthik::core
