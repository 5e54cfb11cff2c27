#include "server/core/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "server/core/config_file.h"
#include "server/core/id_source.h"

namespace aarthik::core {

namespace {

std::string EnvName(absl::string_view flag) {
  return "AARTHIK_" + absl::AsciiStrToUpper(absl::StrReplaceAll(flag, {{"-", "_"}}));
}

// Checks that `path` (given as --`flag`) can be read and holds a PEM block whose BEGIN line ends
// with `label` (e.g. "CERTIFICATE", "PRIVATE KEY"). Never echoes the file's content: it may be a
// key.
absl::Status CheckPemFile(absl::string_view flag, const std::string& path,
                          absl::string_view label) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "='", path, "' cannot be read: check the path and the file's permissions"));
  }
  std::stringstream text;
  text << in.rdbuf();
  const std::string pem = text.str();
  for (size_t begin = pem.find("-----BEGIN "); begin != std::string::npos;
       begin = pem.find("-----BEGIN ", begin + 1)) {
    const size_t end = pem.find("-----", begin + 11);
    if (end != std::string::npos &&
        absl::EndsWith(pem.substr(begin + 11, end - begin - 11), label)) {
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("--", flag, "='", path, "' holds no PEM ", label,
                                                 " (-----BEGIN ... ", label, "-----)"));
}

absl::Status ValidateTls(const Config& config) {
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError(config.tls_cert_file.empty()
                                          ? "--tls-key-file is set without --tls-cert-file: set "
                                            "both (PEM) to serve TLS, or neither"
                                          : "--tls-cert-file is set without --tls-key-file: set "
                                            "both (PEM) to serve TLS, or neither");
  }
  if (!config.tls_client_ca_file.empty() && config.tls_cert_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca-file needs --tls-cert-file and --tls-key-file: mutual TLS needs a TLS "
        "listener");
  }
  if (!config.tls_cert_file.empty()) {
    if (absl::Status s = CheckPemFile("tls-cert-file", config.tls_cert_file, "CERTIFICATE");
        !s.ok())
      return s;
    if (absl::Status s = CheckPemFile("tls-key-file", config.tls_key_file, "PRIVATE KEY"); !s.ok())
      return s;
  }
  if (!config.tls_client_ca_file.empty()) {
    if (absl::Status s =
            CheckPemFile("tls-client-ca-file", config.tls_client_ca_file, "CERTIFICATE");
        !s.ok()) {
      return s;
    }
  }
  if (!config.upstream_ca_file.empty()) {
    if (!absl::StartsWith(config.upstream_url, "https://")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--upstream-ca-file only applies to an https:// platform, but --upstream-url='",
          config.upstream_url, "' is plain HTTP: use https:// or drop --upstream-ca-file"));
    }
    if (absl::Status s = CheckPemFile("upstream-ca-file", config.upstream_ca_file, "CERTIFICATE");
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// A secret file's content without surrounding whitespace (a trailing newline is the usual case).
absl::StatusOr<std::string> ReadSecretFlagFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "='", path, "' cannot be read"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

// The part of `url` between "scheme://" and the path ("" when there is no scheme).
absl::string_view UrlAuthority(absl::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return "";
  absl::string_view rest = url.substr(scheme_end + 3);
  return rest.substr(0, rest.find_first_of("/?#"));
}

absl::Status Validate(Config& config, const EnvLookup& env) {
  if (config.upstream_url.empty()) {
    return absl::InvalidArgumentError(
        "--upstream-url is required: the platform's base URL, e.g. "
        "https://api.credit.aarthiklabs.com");
  }
  // Checked first so that no later message echoes a password: the URL is also logged at start.
  if (absl::string_view authority = UrlAuthority(config.upstream_url);
      absl::StrContains(authority, '@')) {
    return absl::InvalidArgumentError(
        "--upstream-url must not carry credentials (user:password@host): the gateway "
        "authenticates with the API key (--api-key-file)");
  }
  if (!absl::StartsWith(config.upstream_url, "http://") &&
      !absl::StartsWith(config.upstream_url, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat("--upstream-url='", config.upstream_url,
                                                   "' must start with http:// or https://"));
  }
  if (!config.api_key_file.empty()) {
    absl::StatusOr<std::string> key = ReadSecretFlagFile("api-key-file", config.api_key_file);
    if (!key.ok()) return key.status();
    config.api_key = *std::move(key);
  } else if (std::optional<std::string> key = env("AARTHIK_API_KEY")) {
    config.api_key = std::string(absl::StripAsciiWhitespace(*key));
  }
  if (config.api_key.empty()) {
    return absl::InvalidArgumentError(
        "no platform API key: set --api-key-file to a file holding the sk_* key, or "
        "AARTHIK_API_KEY");
  }
  if (!absl::StartsWith(config.api_key, "sk_")) {
    // Say what is wrong without echoing any part of the secret.
    return absl::InvalidArgumentError(
        "the platform API key must start with sk_ (check the key file)");
  }
  for (const auto& [flag, value] :
       {std::pair<const char*, const std::string&>{"tenant-id", config.tenant_id},
        {"application-id", config.application_id}}) {
    if (!value.empty() && !IsUuid(value)) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, "='", value, "' is not a UUID"));
    }
  }
  if (!config.redis_url.empty()) {
    if (absl::StrContains(UrlAuthority(config.redis_url), '@')) {
      return absl::InvalidArgumentError(
          "--redis-url must not carry a password: put it in --redis-password-file");
    }
    if (!absl::StartsWith(config.redis_url, "redis://")) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis-url='", config.redis_url,
                       "' must start with redis://, e.g. redis://redis:6379/0"));
    }
  }
  if (!config.redis_password_file.empty()) {
    absl::StatusOr<std::string> password =
        ReadSecretFlagFile("redis-password-file", config.redis_password_file);
    if (!password.ok()) return password.status();
    config.redis_password = *std::move(password);
  }
  if (config.grpc_listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--grpc-listen='", config.grpc_listen,
                                                   "' must be HOST:PORT, e.g. 0.0.0.0:50051"));
  }
  if (absl::Status tls = ValidateTls(config); !tls.ok()) return tls;
  if (!config.jwt_jwks_file.empty() && (config.jwt_issuer.empty() || config.jwt_audience.empty())) {
    return absl::InvalidArgumentError(
        "--jwt-jwks-file needs --jwt-issuer and --jwt-audience: a token is accepted only from "
        "the expected issuer, for this gateway");
  }
  if (!config.audit_hash_key_file.empty()) {
    absl::StatusOr<std::string> key =
        ReadSecretFlagFile("audit-hash-key-file", config.audit_hash_key_file);
    if (!key.ok()) return key.status();
    config.audit_hash_key = *std::move(key);
  }
  return absl::OkStatus();
}

// Adds where a failing value came from (a flag's message already says).
std::string WithOrigin(absl::string_view message, absl::string_view key,
                       const Config::Origin& origin) {
  if (absl::StartsWith(origin.source, "flag ")) return std::string(message);
  if (absl::StartsWith(origin.source, "env ")) {
    return absl::StrCat(message, " (from ", origin.source.substr(4), ")");
  }
  return absl::StrCat(origin.source, ", key ", key, ": ", message);
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](absl::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string ConfigHelp() {
  std::string help =
      "aarthik-gateway: gRPC gateway for the Aarthik Labs lending platform.\n\n"
      "Each flag may also be set in the environment (shown in brackets) or as a key of the YAML "
      "file\n"
      "named by --config. Precedence: flags > environment > config file > defaults.\n\n"
      "  --config FILE [AARTHIK_CONFIG]\n"
      "      YAML file of flag-name: value pairs, e.g. retry-max-attempts: 4.\n"
      "  --print-config\n      Print the effective configuration as YAML (secrets redacted) and "
      "exit.\n";
  for (const FlagSpec& flag : Flags()) {
    absl::StrAppend(&help, "  --", flag.name, " [", EnvName(flag.name), "]\n      ", flag.help,
                    "\n");
  }
  absl::StrAppend(
      &help,
      "  [AARTHIK_API_KEY]\n      The platform API key, when --api-key-file is not set. Read once: "
      "rotating it\n      needs a restart (a changed --api-key-file is picked up without one).\n");
  return help;
}

absl::StatusOr<Config> ParseConfig(int argc, const char* const* argv, const EnvLookup& env) {
  Config config;
  // Flags are collected first and applied last, per key, in precedence order (see config.h).
  std::map<std::string, std::vector<std::string>> flag_values;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return absl::CancelledError(ConfigHelp());
    if (arg == "--print-config") {
      config.print_config = true;
      continue;
    }
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "'; see --help"));
    }
    absl::string_view name = arg;
    std::string value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string(arg.substr(eq + 1));
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
    if (name == "config") {
      config.config_file = value;
      continue;
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& flag : Flags()) {
      if (name == flag.name) spec = &flag;
    }
    if (spec == nullptr) {
      if (name == "api-key") {
        return absl::InvalidArgumentError(
            "--api-key is not accepted (it would show in process listings): use --api-key-file or "
            "AARTHIK_API_KEY");
      }
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, "; see --help"));
    }
    flag_values[spec->name].push_back(std::move(value));
  }
  if (config.config_file.empty()) config.config_file = env("AARTHIK_CONFIG").value_or("");
  std::map<std::string, ConfigFileSetting> file_values;
  if (!config.config_file.empty()) {
    absl::StatusOr<std::vector<ConfigFileSetting>> settings = LoadConfigFile(config.config_file);
    if (!settings.ok()) return settings.status();
    for (ConfigFileSetting& setting : *settings) file_values[setting.key] = std::move(setting);
  }
  for (const FlagSpec& flag : Flags()) {
    Config::Origin origin;
    if (auto it = flag_values.find(flag.name); it != flag_values.end()) {
      origin = {absl::StrCat("flag --", flag.name), it->second};
    } else if (std::optional<std::string> value = env(EnvName(flag.name))) {
      origin = {absl::StrCat("env ", EnvName(flag.name)), {*std::move(value)}};
    } else if (auto it = file_values.find(flag.name); it != file_values.end()) {
      origin = {absl::StrCat("config file ", config.config_file, " line ", it->second.line),
                it->second.values};
    } else {
      continue;
    }
    for (const std::string& value : origin.values) {
      if (absl::Status status = flag.apply(value, config); !status.ok()) {
        return absl::InvalidArgumentError(WithOrigin(status.message(), flag.name, origin));
      }
    }
    config.origins[flag.name] = std::move(origin);
  }
  if (absl::Status status = Validate(config, env); !status.ok()) {
    // Cross-field checks name the flag first ("--upstream-url='...' must ..."): say where it was
    // set.
    for (const auto& [name, origin] : config.origins) {
      absl::string_view rest = status.message();
      if (absl::ConsumePrefix(&rest, absl::StrCat("--", name)) && !rest.empty() &&
          (rest[0] == '=' || rest[0] == ' ')) {
        return absl::InvalidArgumentError(WithOrigin(status.message(), name, origin));
      }
    }
    return status;
  }
  return config;
}

}  // namespace aarthik::core
