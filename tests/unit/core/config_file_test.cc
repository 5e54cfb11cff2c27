// The YAML config file (--config / AARTHIK_CONFIG): keys go through the flags' own validation,
// precedence is flags > environment > config file > defaults per key, every kind of mistake gets a
// message saying where and what to fix, and --print-config renders every key with its source and
// never a secret.
#include "server/core/config_file.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/core/config.h"
#include "server/core/secret.h"

namespace aarthik::core {
namespace {

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/aarthik-config-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    key_file_ = Write("api-key", std::string(kApiKey) + "\n");
  }
  void TearDown() override { ASSERT_EQ(std::system(("rm -rf " + dir_).c_str()), 0); }

  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }

  absl::StatusOr<Config> Parse(std::vector<std::string> args,
                               std::map<std::string, std::string> env = {}) {
    std::vector<std::string> all = {"aarthik-gateway"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<const char*> argv;
    for (const std::string& arg : all) argv.push_back(arg.c_str());
    return ParseConfig(static_cast<int>(argv.size()), argv.data(),
                       [env](absl::string_view name) -> std::optional<std::string> {
                         auto it = env.find(std::string(name));
                         if (it == env.end()) return std::nullopt;
                         return it->second;
                       });
  }

  // A config file holding the required keys plus `extra`.
  std::string Minimal(const std::string& extra = "") {
    return Write(
        "gateway.yaml",
        absl::StrCat("upstream-url: http://platform.test\napi-key-file: ", key_file_, "\n", extra));
  }

  // The refusal message for a config file with `yaml`.
  std::string Refusal(const std::string& yaml) {
    absl::StatusOr<Config> config = Parse({"--config", Write("bad.yaml", yaml)});
    EXPECT_FALSE(config.ok());
    return config.ok() ? "" : std::string(config.status().message());
  }

  static constexpr char kApiKey[] = "sk_test_do_not_print_4d1f";
  std::string dir_, key_file_;
};

TEST_F(ConfigFileTest, KeysAreTheFlagNamesAndGoThroughTheSameValidation) {
  const std::string path = Minimal(
      "retry-max-attempts: 7\n"
      "upstream-timeout: 3s\n"
      "retry-budget-ratio: 0.5\n"
      "log-level: debug\n"
      "grpc-listen: 127.0.0.1:0\n"
      "webhook-secret-file: [/run/a, /run/b]\n"
      "secret-reload-interval: 250ms\n"
      "# a comment\n");
  absl::StatusOr<Config> config = Parse({"--config", path});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->upstream_url, "http://platform.test");
  EXPECT_EQ(config->api_key, kApiKey);
  EXPECT_EQ(config->retry_max_attempts, 7);
  EXPECT_EQ(config->default_upstream_timeout, absl::Seconds(3));
  EXPECT_EQ(config->retry_budget_ratio, 0.5);
  EXPECT_EQ(config->log_level, Severity::kDebug);
  EXPECT_EQ(config->grpc_listen, "127.0.0.1:0");
  EXPECT_EQ(config->webhook_secret_files, (std::vector<std::string>{"/run/a", "/run/b"}));
  EXPECT_EQ(config->secret_reload_interval, absl::Milliseconds(250));
  EXPECT_EQ(config->config_file, path);
  EXPECT_EQ(config->origins.at("retry-max-attempts").source,
            absl::StrCat("config file ", path, " line 3"));
}

TEST_F(ConfigFileTest, EmptyFileSetsNothing) {
  EXPECT_TRUE(ParseConfigYaml("", "x.yaml")->empty());
  EXPECT_TRUE(ParseConfigYaml("# only a comment\n", "x.yaml")->empty());
}

TEST_F(ConfigFileTest, PrecedenceIsFlagsThenEnvironmentThenFileThenDefaults) {
  const std::string path = Minimal(
      "retry-max-attempts: 2\n"
      "breaker-failures: 3\n"
      "max-field-length: 100\n"
      "webhook-secret-file: [/run/a, /run/b]\n");
  absl::StatusOr<Config> config =
      Parse({"--config", path, "--retry-max-attempts", "9", "--webhook-secret-file", "/run/c"},
            {{"AARTHIK_RETRY_MAX_ATTEMPTS", "8"}, {"AARTHIK_BREAKER_FAILURES", "6"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->retry_max_attempts, 9);            // flag > env > file
  EXPECT_EQ(config->breaker_consecutive_failures, 6);  // env > file
  EXPECT_EQ(config->max_field_length, 100);            // file > default
  EXPECT_EQ(config->max_pending_rpcs, 20000);          // default
  // A repeatable key is replaced as a whole by the winning source, not merged.
  EXPECT_EQ(config->webhook_secret_files, (std::vector<std::string>{"/run/c"}));
  EXPECT_EQ(config->origins.at("retry-max-attempts").source, "flag --retry-max-attempts");
  EXPECT_EQ(config->origins.at("breaker-failures").source, "env AARTHIK_BREAKER_FAILURES");
  EXPECT_EQ(config->origins.count("max-pending-rpcs"), 0u);
}

TEST_F(ConfigFileTest, ConfigFileFromTheEnvironmentAndTheFlagWins) {
  const std::string from_env = Minimal("retry-max-attempts: 2\n");
  const std::string from_flag = Write(
      "flag.yaml", absl::StrCat("upstream-url: http://flag.test\napi-key-file: ", key_file_, "\n"));
  absl::StatusOr<Config> config = Parse({}, {{"AARTHIK_CONFIG", from_env}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->retry_max_attempts, 2);
  config = Parse({"--config", from_flag}, {{"AARTHIK_CONFIG", from_env}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->upstream_url, "http://flag.test");
  EXPECT_EQ(config->retry_max_attempts, 4);
}

TEST_F(ConfigFileTest, UnknownKeySuggestsTheClosestKnownOne) {
  EXPECT_EQ(Refusal("upstream-url: http://x\nretry-max-attempt: 3\n"),
            absl::StrCat("config file ", dir_,
                         "/bad.yaml line 2: unknown key 'retry-max-attempt'; did you mean "
                         "'retry-max-attempts'?"));
  EXPECT_TRUE(
      absl::StrContains(Refusal("retry_max_attempts: 3\n"), "did you mean 'retry-max-attempts'?"));
  EXPECT_TRUE(absl::StrContains(Refusal("AARTHIK_UPSTREAM_URL: http://x\n"),
                                "did you mean 'upstream-url'?"));
  EXPECT_TRUE(
      absl::StrContains(Refusal("zzzzzzzzzzzz: 1\n"), "the keys are the flag names without --"));
  EXPECT_TRUE(absl::StrContains(Refusal("config: other.yaml\n"), "command-line option only"));
}

TEST_F(ConfigFileTest, WrongShapesSayWhatIsExpected) {
  EXPECT_EQ(Refusal("upstream-url:\n  host: x\n  port: 1\n"),
            absl::StrCat(
                "config file ", dir_,
                "/bad.yaml line 1: key 'upstream-url' takes a single value, not a map (check the "
                "indentation)"));
  EXPECT_TRUE(
      absl::StrContains(Refusal("retry-max-attempts: [1, 2]\n"),
                        "line 1: key 'retry-max-attempts' takes a single value, not a list"));
  EXPECT_TRUE(
      absl::StrContains(Refusal("webhook-secret-file: [a, {b: c}]\n"),
                        "key 'webhook-secret-file' takes a list of values, but item 2 is a map"));
  EXPECT_TRUE(absl::StrContains(Refusal("webhook-secret-file:\n  a: b\n"),
                                "takes a value or a list of values, not a map"));
  EXPECT_TRUE(absl::StrContains(Refusal("log-level: debug\nupstream-url:\n"),
                                "line 2: key 'upstream-url' has no value"));
  EXPECT_TRUE(absl::StrContains(Refusal("- upstream-url\n"),
                                "expected `key: value` lines at the top level"));
  EXPECT_TRUE(absl::StrContains(Refusal("log-level: debug\nlog-level: info\n"),
                                "key 'log-level' appears twice (lines 1 and 2)"));
}

TEST_F(ConfigFileTest, YamlSyntaxErrorsGiveLineAndColumn) {
  const std::string message = Refusal("log-level: debug\nupstream-url: [http://x\n");
  EXPECT_TRUE(absl::StartsWith(message, absl::StrCat("config file ", dir_, "/bad.yaml line ")))
      << message;
  EXPECT_TRUE(absl::StrContains(message, " column ")) << message;
  EXPECT_TRUE(absl::StrContains(message, "invalid YAML")) << message;
  EXPECT_TRUE(absl::StrContains(Refusal("a: b: c\n"), "line 1 column")) << Refusal("a: b: c\n");
}

TEST_F(ConfigFileTest, FailingValuesNameFileKeyAndLine) {
  EXPECT_EQ(Refusal("upstream-url: http://x\n\nretry-max-attempts: many\n"),
            absl::StrCat("config file ", dir_, "/bad.yaml line 3, key retry-max-attempts: ",
                         "--retry-max-attempts='many' must be a positive integer"));
  // Checks that run after all keys are applied also say where the value came from.
  const std::string message =
      Refusal(absl::StrCat("api-key-file: ", key_file_, "\nupstream-url: ftp://x\n"));
  EXPECT_EQ(message, absl::StrCat("config file ", dir_,
                                  "/bad.yaml line 2, key upstream-url: --upstream-url="
                                  "'ftp://x' must start with http:// or https://"));
  // The environment's errors still name the variable.
  absl::StatusOr<Config> config =
      Parse({"--config", Minimal()}, {{"AARTHIK_UPSTREAM_TIMEOUT", "soon"}});
  ASSERT_FALSE(config.ok());
  EXPECT_TRUE(absl::StrContains(config.status().message(), "(from AARTHIK_UPSTREAM_TIMEOUT)"));
}

TEST_F(ConfigFileTest, CredentialsInTheUpstreamUrlAreRefusedWithoutBeingEchoed) {
  for (const char* url : {"https://svc:s3cret@api.example", "ftp://svc:s3cret@x/path"}) {
    const std::string message =
        Refusal(absl::StrCat("api-key-file: ", key_file_, "\nupstream-url: ", url, "\n"));
    EXPECT_TRUE(absl::StrContains(message, "must not carry credentials")) << message;
    EXPECT_FALSE(absl::StrContains(message, "s3cret")) << message;
  }
  // An '@' in the path is not userinfo.
  absl::StatusOr<Config> config =
      Parse({"--api-key-file", key_file_, "--upstream-url", "https://api.example/a@b"});
  EXPECT_TRUE(config.ok()) << config.status();
}

TEST_F(ConfigFileTest, RedisUrlAndPasswordFile) {
  const std::string password_file = Write("redis-password", "redis-pw-do-not-print\n");
  absl::StatusOr<Config> config =
      Parse({"--api-key-file", key_file_, "--upstream-url", "http://x", "--redis-url",
             "redis://redis:6379/1", "--redis-password-file", password_file});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->redis_url, "redis://redis:6379/1");
  EXPECT_EQ(config->redis_password, "redis-pw-do-not-print");

  config = Parse({"--api-key-file", key_file_, "--upstream-url", "http://x", "--redis-url",
                  "redis://:redis-pw-inline@redis:6379"});
  ASSERT_FALSE(config.ok());
  EXPECT_TRUE(absl::StrContains(config.status().message(), "--redis-password-file"));
  EXPECT_FALSE(absl::StrContains(config.status().message(), "redis-pw-inline"));

  config = Parse({"--api-key-file", key_file_, "--upstream-url", "http://x", "--redis-url",
                  "http://redis:6379"});
  ASSERT_FALSE(config.ok());
  EXPECT_TRUE(absl::StrContains(config.status().message(), "must start with redis://"));
}

TEST_F(ConfigFileTest, UnreadableFileIsNamed) {
  absl::StatusOr<Config> config = Parse({"--config", dir_ + "/missing.yaml"});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            absl::StrCat(
                "config file ", dir_,
                "/missing.yaml cannot be read: check --config (or AARTHIK_CONFIG) and the file's "
                "permissions"));
}

TEST_F(ConfigFileTest, SecretsAreNeverAcceptedInline) {
  for (const char* key : {"api-key", "api_key", "AARTHIK_API_KEY"}) {
    const std::string message =
        Refusal(absl::StrCat("upstream-url: http://x\n", key, ": sk_live_inline_value\n"));
    EXPECT_TRUE(absl::StrContains(message, "line 2")) << message;
    EXPECT_TRUE(absl::StrContains(message, "set api-key-file")) << message;
    EXPECT_FALSE(absl::StrContains(message, "sk_live_inline_value")) << message;
  }
  EXPECT_TRUE(absl::StrContains(Refusal("webhook-secret: whsec_x\n"), "webhook-secret-file"));
}

TEST_F(ConfigFileTest, TheApiKeyFlagMissingKeysAndWrongKeysAreRefusedWithoutEchoingThem) {
  absl::StatusOr<Config> config =
      Parse({"--upstream-url", "http://x", "--api-key", "sk_live_on_the_command_line"});
  ASSERT_FALSE(config.ok());
  EXPECT_TRUE(absl::StrContains(config.status().message(), "--api-key is not accepted"))
      << config.status();
  EXPECT_FALSE(absl::StrContains(config.status().message(), "sk_live_on_the_command_line"));

  config = Parse({"--upstream-url", "http://x"});
  ASSERT_FALSE(config.ok());
  EXPECT_TRUE(absl::StrContains(config.status().message(), "no platform API key"))
      << config.status();

  config = Parse({"--upstream-url", "http://x"}, {{"AARTHIK_API_KEY", "pk_wrong_kind_1234"}});
  ASSERT_FALSE(config.ok());
  EXPECT_TRUE(absl::StrContains(config.status().message(), "must start with sk_"))
      << config.status();
  EXPECT_FALSE(absl::StrContains(config.status().message(), "pk_wrong_kind_1234"));
}

TEST_F(ConfigFileTest, TheHelpFlagStopsParsingWithTheHelpText) {
  absl::StatusOr<Config> config = Parse({"--upstream-url", "http://x", "--help"});
  ASSERT_TRUE(absl::IsCancelled(config.status())) << config.status();
  EXPECT_EQ(config.status().message(), ConfigHelp());
}

TEST_F(ConfigFileTest, PrintConfigShowsEveryKeyWithItsSourceAndNoSecret) {
  absl::StatusOr<Config> config = Parse({"--config", Minimal("retry-max-attempts: 2\n"),
                                         "--print-config", "--max-field-length", "77"},
                                        {{"AARTHIK_BREAKER_FAILURES", "6"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->print_config);
  const std::string out = RenderConfig(*config);
  EXPECT_FALSE(absl::StrContains(out, kApiKey)) << out;
  EXPECT_FALSE(absl::StrContains(out, "do_not_print")) << out;
  EXPECT_TRUE(absl::StrContains(
      out, absl::StrCat("# api key: <redacted: ", sizeof(kApiKey) - 1, " bytes from ", key_file_,
                        ", sha256 ", SecretFingerprint(kApiKey), ">")))
      << out;
  for (const FlagSpec& flag : Flags()) {
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("\n", flag.name, ": ")) ||
                absl::StrContains(out, absl::StrCat("\n# ", flag.name, ": ")))
        << flag.name << "\n"
        << out;
  }
  EXPECT_TRUE(absl::StrContains(out, "\nretry-max-attempts: 2  # config file ")) << out;
  EXPECT_TRUE(absl::StrContains(out, "\nmax-field-length: 77  # flag --max-field-length\n")) << out;
  EXPECT_TRUE(absl::StrContains(out, "\nbreaker-failures: 6  # env AARTHIK_BREAKER_FAILURES\n"))
      << out;
  EXPECT_TRUE(absl::StrContains(out, "\nmax-pending-rpcs: 20000  # default\n")) << out;
  EXPECT_TRUE(absl::StrContains(out, "\nupstream-timeout: 10s  # default\n")) << out;
  EXPECT_TRUE(absl::StrContains(out, "\nwebhook-secret-file: []  # default\n")) << out;

  // The environment's key is redacted the same way.
  config = Parse({"--upstream-url", "http://x", "--print-config"}, {{"AARTHIK_API_KEY", kApiKey}});
  ASSERT_TRUE(config.ok()) << config.status();
  const std::string from_env = RenderConfig(*config);
  EXPECT_FALSE(absl::StrContains(from_env, kApiKey)) << from_env;
  EXPECT_TRUE(absl::StrContains(from_env, "bytes from AARTHIK_API_KEY")) << from_env;
}

TEST_F(ConfigFileTest, PrintedConfigLoadsBackToTheSameConfiguration) {
  absl::StatusOr<Config> first = Parse(
      {"--config",
       Minimal("webhook-secret-file: [/run/a b, /run/c]\nlog-level: warning\napi-version: \"\"\n"),
       "--retry-budget-ratio", "0.25", "--webhook-path", "/hooks/#1", "--event-retention", "90m"});
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string printed = Write("printed.yaml", RenderConfig(*first));
  absl::StatusOr<Config> second = Parse({"--config", printed});
  ASSERT_TRUE(second.ok()) << second.status() << "\n" << RenderConfig(*first);
  for (const FlagSpec& flag : Flags()) {
    if (flag.get) {
      EXPECT_EQ(flag.get(*second), flag.get(*first)) << flag.name;
    }
  }
  EXPECT_EQ(second->webhook_secret_files, (std::vector<std::string>{"/run/a b", "/run/c"}));
  EXPECT_EQ(second->webhook_path, "/hooks/#1");
}

TEST_F(ConfigFileTest, HelpDocumentsTheFileAndThePrecedence) {
  const std::string help = ConfigHelp();
  EXPECT_TRUE(absl::StrContains(help, "--config FILE [AARTHIK_CONFIG]"));
  EXPECT_TRUE(absl::StrContains(help, "--print-config"));
  EXPECT_TRUE(absl::StrContains(help, "flags > environment > config file > defaults"));
  EXPECT_TRUE(absl::StrContains(help, "--secret-reload-interval [AARTHIK_SECRET_RELOAD_INTERVAL]"));
}

// The operations guide's key reference must not fall behind the Flags() table.
TEST_F(ConfigFileTest, OperationsGuideListsEveryKey) {
  std::ifstream in(std::string(AARTHIK_SOURCE_DIR) + "/docs/operations.md");
  ASSERT_TRUE(in) << "docs/operations.md not found";
  std::stringstream text;
  text << in.rdbuf();
  for (const FlagSpec& flag : Flags()) {
    EXPECT_TRUE(absl::StrContains(text.str(), absl::StrCat("`", flag.name, "`")))
        << "docs/operations.md (Configuration) does not list the key `" << flag.name << "`";
  }
}

}  // namespace
}  // namespace aarthik::core
