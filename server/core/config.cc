#include "server/core/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/core/config_file.h"
#include "server/core/id_source.h"

namespace aarthik::core {
namespace {

absl::Status ParseDurationFlag(absl::string_view flag, absl::string_view value,
                               absl::Duration* out) {
  if (!absl::ParseDuration(std::string(value), out) || *out <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "='", value,
                     "' is not a positive duration: use a number with a unit, e.g. 10s, 500ms"));
  }
  return absl::OkStatus();
}

template <typename Int>
absl::Status ParsePositiveFlag(absl::string_view flag, absl::string_view value, Int* out) {
  int64_t parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed) || parsed <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "='", value, "' must be a positive integer"));
  }
  *out = static_cast<Int>(parsed);
  return absl::OkStatus();
}

// FlagSpec::get for a plain field: its value spelled the way apply accepts it back.
std::string ShowValue(const std::string& v) { return v; }
std::string ShowValue(absl::Duration v) { return absl::FormatDuration(v); }
std::string ShowValue(const std::vector<std::string>& v) { return absl::StrJoin(v, ","); }
std::string ShowValue(Severity v) {
  switch (v) {
    case Severity::kDebug:
      return "debug";
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "info";
}
template <typename Number>
std::string ShowValue(Number v) {
  return absl::StrCat(v);
}
template <typename T>
std::function<std::string(const Config&)> Show(T Config::*field) {
  return [field](const Config& c) { return ShowValue(c.*field); };
}

}  // namespace

const std::vector<FlagSpec>& Flags() {
  static const auto* const flags = new std::vector<FlagSpec>{
      {"grpc-listen",
       "HOST:PORT for the gRPC server (port 0 picks a free port). Default 0.0.0.0:50051.",
       [](absl::string_view v, Config& c) {
         c.grpc_listen = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::grpc_listen)},
      {"upstream-url",
       "Base URL of the Aarthik Labs platform, e.g. https://api.credit.aarthiklabs.com. "
       "Required.",
       [](absl::string_view v, Config& c) {
         c.upstream_url = std::string(absl::StripSuffix(v, "/"));
         return absl::OkStatus();
       },
       Show(&Config::upstream_url)},
      {"api-key-file",
       "File holding the platform API key (sk_*). Alternatively set AARTHIK_API_KEY.",
       [](absl::string_view v, Config& c) {
         c.api_key_file = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::api_key_file)},
      {"secret-reload-interval",
       "How often --api-key-file and --webhook-secret-file are re-read; a "
       "changed file is used without a restart. Default 10s.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("secret-reload-interval", v, &c.secret_reload_interval);
       },
       Show(&Config::secret_reload_interval)},
      {"tenant-id", "The tenant's UUID (web-hook subscription paths, web-hook checks).",
       [](absl::string_view v, Config& c) {
         c.tenant_id = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::tenant_id)},
      {"application-id", "The application's UUID (web-hook subscription paths, web-hook checks).",
       [](absl::string_view v, Config& c) {
         c.application_id = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::application_id)},
      {"upstream-timeout", "Upstream timeout when the caller sets no deadline. Default 10s.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("upstream-timeout", v, &c.default_upstream_timeout);
       },
       Show(&Config::default_upstream_timeout)},
      {"session-refresh-margin",
       "Refresh borrower session tokens this long before expiry. Default 60s.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("session-refresh-margin", v, &c.session_refresh_margin);
       },
       Show(&Config::session_refresh_margin)},
      {"redis-url",
       "redis://HOST[:PORT][/DB] that replicas share borrower tokens and refresh locks through "
       "(required for more than one replica). Empty (default): tokens stay in this process.",
       [](absl::string_view v, Config& c) {
         c.redis_url = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::redis_url)},
      {"redis-password-file", "File holding the Redis password (AUTH), if it has one.",
       [](absl::string_view v, Config& c) {
         c.redis_password_file = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::redis_password_file)},
      {"redis-key-prefix",
       "Prefix of every Redis key the gateway writes (one per deployment). Default aarthik:.",
       [](absl::string_view v, Config& c) {
         c.redis_key_prefix = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::redis_key_prefix)},
      {"redis-timeout",
       "Redis connect and command timeout; past it the call fails UNAVAILABLE. Default 500ms.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("redis-timeout", v, &c.redis_timeout);
       },
       Show(&Config::redis_timeout)},
      {"max-in-flight",
       "Most upstream requests in flight; more fail with RESOURCE_EXHAUSTED. Default 10000.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("max-in-flight", v, &c.max_in_flight_upstream);
       },
       Show(&Config::max_in_flight_upstream)},
      {"max-response-bytes", "Largest platform response accepted. Default 4194304.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("max-response-bytes", v, &c.max_response_bytes);
       },
       Show(&Config::max_response_bytes)},
      {"max-field-length", "Longest string accepted in any request field. Default 4096.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("max-field-length", v, &c.max_field_length);
       },
       Show(&Config::max_field_length)},
      {"max-pending-rpcs",
       "RPCs served at once; more fail at once with RESOURCE_EXHAUSTED. Default 20000.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("max-pending-rpcs", v, &c.max_pending_rpcs);
       },
       Show(&Config::max_pending_rpcs)},
      {"retry-max-attempts",
       "Attempts per platform call, the first included (1 = no retries). Default 4.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("retry-max-attempts", v, &c.retry_max_attempts);
       },
       Show(&Config::retry_max_attempts)},
      {"retry-budget-ratio",
       "Retries allowed as a share of requests over 10 s (plus 10/s). Default 0.2.",
       [](absl::string_view v, Config& c) -> absl::Status {
         if (!absl::SimpleAtod(v, &c.retry_budget_ratio) || c.retry_budget_ratio < 0 ||
             c.retry_budget_ratio > 10) {
           return absl::InvalidArgumentError(absl::StrCat(
               "--retry-budget-ratio='", v, "' must be a number between 0 and 10, e.g. 0.2"));
         }
         return absl::OkStatus();
       },
       Show(&Config::retry_budget_ratio)},
      {"breaker-failures",
       "Consecutive platform failures that open the circuit breaker. Default 5.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("breaker-failures", v, &c.breaker_consecutive_failures);
       },
       Show(&Config::breaker_consecutive_failures)},
      {"breaker-min-requests",
       "Outcomes in 10 s before the failure ratio can open the breaker. Default 20.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("breaker-min-requests", v, &c.breaker_min_requests);
       },
       Show(&Config::breaker_min_requests)},
      {"breaker-failure-ratio",
       "Share of failed outcomes in 10 s that opens the breaker. Default 0.5.",
       [](absl::string_view v, Config& c) -> absl::Status {
         if (!absl::SimpleAtod(v, &c.breaker_failure_ratio) || c.breaker_failure_ratio <= 0 ||
             c.breaker_failure_ratio > 1) {
           return absl::InvalidArgumentError(absl::StrCat(
               "--breaker-failure-ratio='", v, "' must be a number in (0, 1], e.g. 0.5"));
         }
         return absl::OkStatus();
       },
       Show(&Config::breaker_failure_ratio)},
      {"breaker-open-for", "How long the open breaker fails calls fast before a probe. Default 5s.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("breaker-open-for", v, &c.breaker_open_for);
       },
       Show(&Config::breaker_open_for)},
      {"api-version",
       "Value of X-AL-API-Version sent upstream, e.g. 2026-03-05. Default: not sent.",
       [](absl::string_view v, Config& c) {
         c.api_version = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::api_version)},
      {"log-level", "debug | info | warning | error. Default info.",
       [](absl::string_view v, Config& c) -> absl::Status {
         absl::StatusOr<Severity> level = ParseSeverity(v);
         if (!level.ok())
           return absl::InvalidArgumentError(absl::StrCat("--", level.status().message()));
         c.log_level = *level;
         return absl::OkStatus();
       },
       Show(&Config::log_level)},
      {"http-listen",
       "HOST:PORT of the gateway's HTTP listener (web-hooks, /healthz); port 0 picks one. "
       "Default 0.0.0.0:8080.",
       [](absl::string_view v, Config& c) {
         c.http_listen = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::http_listen)},
      {"webhook-path", "Path of the platform web-hook receiver. Default /webhooks/aarthik.",
       [](absl::string_view v, Config& c) -> absl::Status {
         if (!absl::StartsWith(v, "/"))
           return absl::InvalidArgumentError("--webhook-path must start with /");
         c.webhook_path = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::webhook_path)},
      {"webhook-secret-file",
       "File holding the web-hook signing secret; repeat (or comma-separate) to accept "
       "two during a rotation.",
       [](absl::string_view v, Config& c) {
         for (absl::string_view path : absl::StrSplit(v, ',', absl::SkipEmpty())) {
           c.webhook_secret_files.emplace_back(path);
         }
         return absl::OkStatus();
       },
       Show(&Config::webhook_secret_files), /*repeatable=*/true},
      {"webhook-tolerance", "Accepted clock skew of X-AL-Webhook-Timestamp. Default 5m.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("webhook-tolerance", v, &c.webhook_tolerance);
       },
       Show(&Config::webhook_tolerance)},
      {"event-retention",
       "How long accepted events are kept for dedupe and cursor replay. Default 24h.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("event-retention", v, &c.event_retention);
       },
       Show(&Config::event_retention)},
      {"tls-cert-file",
       "PEM certificate chain of the gRPC listener; with --tls-key-file turns on TLS. "
       "Re-read every --tls-reload-interval (rotation without restart).",
       [](absl::string_view v, Config& c) {
         c.tls_cert_file = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::tls_cert_file)},
      {"tls-key-file", "PEM private key of --tls-cert-file.",
       [](absl::string_view v, Config& c) {
         c.tls_key_file = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::tls_key_file)},
      {"tls-client-ca-file",
       "PEM CA bundle; when set, clients must present a certificate it signed (mTLS).",
       [](absl::string_view v, Config& c) {
         c.tls_client_ca_file = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::tls_client_ca_file)},
      {"tls-reload-interval",
       "How often the TLS files are re-read for a rotated certificate. Default 60s.",
       [](absl::string_view v, Config& c) -> absl::Status {
         if (absl::Status s = ParseDurationFlag("tls-reload-interval", v, &c.tls_reload_interval);
             !s.ok()) {
           return s;
         }
         if (c.tls_reload_interval < absl::Seconds(1)) {
           return absl::InvalidArgumentError(
               absl::StrCat("--tls-reload-interval='", v, "' must be at least 1s"));
         }
         return absl::OkStatus();
       },
       Show(&Config::tls_reload_interval)},
      {"upstream-ca-file",
       "PEM CA bundle that verifies the platform's certificate instead of the system "
       "store (https:// upstreams only; verification is always on).",
       [](absl::string_view v, Config& c) {
         c.upstream_ca_file = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::upstream_ca_file)},
      {"shutdown-grace",
       "On SIGTERM: how long in-flight RPCs may take to finish before they are cancelled. "
       "Keep it below the pod's terminationGracePeriodSeconds. Default 25s.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("shutdown-grace", v, &c.shutdown_grace);
       },
       Show(&Config::shutdown_grace)},
      {"grpc-max-connection-age",
       "Clients are asked to reconnect after this long (GOAWAY), so that load "
       "spreads over new pods. Default 5m.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("grpc-max-connection-age", v, &c.grpc_max_connection_age);
       },
       Show(&Config::grpc_max_connection_age)},
      {"grpc-max-connection-age-grace",
       "Time calls on an aged connection get to finish; longer streams end "
       "with UNAVAILABLE and resume on a new connection. Default 30s.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("grpc-max-connection-age-grace", v,
                                  &c.grpc_max_connection_age_grace);
       },
       Show(&Config::grpc_max_connection_age_grace)},
      {"grpc-keepalive-time",
       "Idle time after which the gateway pings a client to detect dead peers. "
       "Default 60s.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("grpc-keepalive-time", v, &c.grpc_keepalive_time);
       },
       Show(&Config::grpc_keepalive_time)},
      {"grpc-keepalive-timeout",
       "How long a keepalive ping may go unanswered before the connection is "
       "closed. Default 20s.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("grpc-keepalive-timeout", v, &c.grpc_keepalive_timeout);
       },
       Show(&Config::grpc_keepalive_timeout)},
  };
  return *flags;
}

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
    std::ifstream in(config.api_key_file);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("--api-key-file='", config.api_key_file, "' cannot be read"));
    }
    std::stringstream text;
    text << in.rdbuf();
    config.api_key = std::string(absl::StripAsciiWhitespace(text.str()));
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
    std::ifstream in(config.redis_password_file);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("--redis-password-file='", config.redis_password_file, "' cannot be read"));
    }
    std::stringstream text;
    text << in.rdbuf();
    config.redis_password = std::string(absl::StripAsciiWhitespace(text.str()));
  }
  if (config.grpc_listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--grpc-listen='", config.grpc_listen,
                                                   "' must be HOST:PORT, e.g. 0.0.0.0:50051"));
  }
  if (absl::Status tls = ValidateTls(config); !tls.ok()) return tls;
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
