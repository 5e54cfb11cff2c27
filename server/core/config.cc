#include "server/core/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/core/id_source.h"

namespace aarthik::core {
namespace {

struct FlagSpec {
  const char* name;  // without the leading "--"
  const char* help;
  std::function<absl::Status(absl::string_view value, Config&)> apply;
};

absl::Status ParseDurationFlag(absl::string_view flag, absl::string_view value, absl::Duration* out) {
  if (!absl::ParseDuration(std::string(value), out) || *out <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "='", value, "' is not a positive duration: use a number with a unit, e.g. 10s, 500ms"));
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

const std::vector<FlagSpec>& Flags() {
  static const auto* const flags = new std::vector<FlagSpec>{
      {"grpc-listen", "HOST:PORT for the gRPC server (port 0 picks a free port). Default 0.0.0.0:50051.",
       [](absl::string_view v, Config& c) {
         c.grpc_listen = std::string(v);
         return absl::OkStatus();
       }},
      {"upstream-url", "Base URL of the Aarthik Labs platform, e.g. https://api.credit.aarthiklabs.com. "
                       "Required.",
       [](absl::string_view v, Config& c) {
         c.upstream_url = std::string(absl::StripSuffix(v, "/"));
         return absl::OkStatus();
       }},
      {"api-key-file", "File holding the platform API key (sk_*). Alternatively set AARTHIK_API_KEY.",
       [](absl::string_view v, Config& c) {
         c.api_key_file = std::string(v);
         return absl::OkStatus();
       }},
      {"tenant-id", "The tenant's UUID (web-hook subscription paths, web-hook checks).",
       [](absl::string_view v, Config& c) {
         c.tenant_id = std::string(v);
         return absl::OkStatus();
       }},
      {"application-id", "The application's UUID (web-hook subscription paths, web-hook checks).",
       [](absl::string_view v, Config& c) {
         c.application_id = std::string(v);
         return absl::OkStatus();
       }},
      {"upstream-timeout", "Upstream timeout when the caller sets no deadline. Default 10s.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("upstream-timeout", v, &c.default_upstream_timeout);
       }},
      {"session-refresh-margin", "Refresh borrower session tokens this long before expiry. Default 60s.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("session-refresh-margin", v, &c.session_refresh_margin);
       }},
      {"max-in-flight", "Most upstream requests in flight; more fail with RESOURCE_EXHAUSTED. Default 10000.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("max-in-flight", v, &c.max_in_flight_upstream);
       }},
      {"max-response-bytes", "Largest platform response accepted. Default 4194304.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("max-response-bytes", v, &c.max_response_bytes);
       }},
      {"max-field-length", "Longest string accepted in any request field. Default 4096.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("max-field-length", v, &c.max_field_length);
       }},
      {"max-pending-rpcs", "RPCs served at once; more fail at once with RESOURCE_EXHAUSTED. Default 20000.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("max-pending-rpcs", v, &c.max_pending_rpcs);
       }},
      {"retry-max-attempts", "Attempts per platform call, the first included (1 = no retries). Default 4.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("retry-max-attempts", v, &c.retry_max_attempts);
       }},
      {"retry-budget-ratio", "Retries allowed as a share of requests over 10 s (plus 10/s). Default 0.2.",
       [](absl::string_view v, Config& c) -> absl::Status {
         if (!absl::SimpleAtod(v, &c.retry_budget_ratio) || c.retry_budget_ratio < 0 ||
             c.retry_budget_ratio > 10) {
           return absl::InvalidArgumentError(
               absl::StrCat("--retry-budget-ratio='", v, "' must be a number between 0 and 10, e.g. 0.2"));
         }
         return absl::OkStatus();
       }},
      {"breaker-failures", "Consecutive platform failures that open the circuit breaker. Default 5.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("breaker-failures", v, &c.breaker_consecutive_failures);
       }},
      {"breaker-min-requests", "Outcomes in 10 s before the failure ratio can open the breaker. Default 20.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("breaker-min-requests", v, &c.breaker_min_requests);
       }},
      {"breaker-failure-ratio", "Share of failed outcomes in 10 s that opens the breaker. Default 0.5.",
       [](absl::string_view v, Config& c) -> absl::Status {
         if (!absl::SimpleAtod(v, &c.breaker_failure_ratio) || c.breaker_failure_ratio <= 0 ||
             c.breaker_failure_ratio > 1) {
           return absl::InvalidArgumentError(
               absl::StrCat("--breaker-failure-ratio='", v, "' must be a number in (0, 1], e.g. 0.5"));
         }
         return absl::OkStatus();
       }},
      {"breaker-open-for", "How long the open breaker fails calls fast before a probe. Default 5s.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("breaker-open-for", v, &c.breaker_open_for);
       }},
      {"api-version", "Value of X-AL-API-Version sent upstream, e.g. 2026-03-05. Default: not sent.",
       [](absl::string_view v, Config& c) {
         c.api_version = std::string(v);
         return absl::OkStatus();
       }},
      {"log-level", "debug | info | warning | error. Default info.",
       [](absl::string_view v, Config& c) -> absl::Status {
         absl::StatusOr<Severity> level = ParseSeverity(v);
         if (!level.ok()) return absl::InvalidArgumentError(absl::StrCat("--", level.status().message()));
         c.log_level = *level;
         return absl::OkStatus();
       }},
      {"http-listen", "HOST:PORT of the gateway's HTTP listener (web-hooks, /healthz); port 0 picks one. "
                      "Default 0.0.0.0:8080.",
       [](absl::string_view v, Config& c) {
         c.http_listen = std::string(v);
         return absl::OkStatus();
       }},
      {"webhook-path", "Path of the platform web-hook receiver. Default /webhooks/aarthik.",
       [](absl::string_view v, Config& c) -> absl::Status {
         if (!absl::StartsWith(v, "/")) return absl::InvalidArgumentError("--webhook-path must start with /");
         c.webhook_path = std::string(v);
         return absl::OkStatus();
       }},
      {"webhook-secret-file", "File holding the web-hook signing secret; repeat (or comma-separate) to accept "
                              "two during a rotation.",
       [](absl::string_view v, Config& c) {
         for (absl::string_view path : absl::StrSplit(v, ',', absl::SkipEmpty())) {
           c.webhook_secret_files.emplace_back(path);
         }
         return absl::OkStatus();
       }},
      {"webhook-tolerance", "Accepted clock skew of X-AL-Webhook-Timestamp. Default 5m.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("webhook-tolerance", v, &c.webhook_tolerance);
       }},
      {"event-retention", "How long accepted events are kept for dedupe and cursor replay. Default 24h.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("event-retention", v, &c.event_retention);
       }},
  };
  return *flags;
}

std::string EnvName(absl::string_view flag) {
  return "AARTHIK_" + absl::AsciiStrToUpper(absl::StrReplaceAll(flag, {{"-", "_"}}));
}

absl::Status Validate(Config& config, const EnvLookup& env) {
  if (config.upstream_url.empty()) {
    return absl::InvalidArgumentError(
        "--upstream-url is required: the platform's base URL, e.g. https://api.credit.aarthiklabs.com");
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
        "no platform API key: set --api-key-file to a file holding the sk_* key, or AARTHIK_API_KEY");
  }
  if (!absl::StartsWith(config.api_key, "sk_")) {
    // Say what is wrong without echoing any part of the secret.
    return absl::InvalidArgumentError("the platform API key must start with sk_ (check the key file)");
  }
  for (const auto& [flag, value] : {std::pair<const char*, const std::string&>{"tenant-id", config.tenant_id},
                                    {"application-id", config.application_id}}) {
    if (!value.empty() && !IsUuid(value)) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, "='", value, "' is not a UUID"));
    }
  }
  if (config.grpc_listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grpc-listen='", config.grpc_listen, "' must be HOST:PORT, e.g. 0.0.0.0:50051"));
  }
  return absl::OkStatus();
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
      "Each flag may also be set in the environment (shown in brackets); flags win.\n\n";
  for (const FlagSpec& flag : Flags()) {
    absl::StrAppend(&help, "  --", flag.name, " [", EnvName(flag.name), "]\n      ", flag.help, "\n");
  }
  absl::StrAppend(&help, "  [AARTHIK_API_KEY]\n      The platform API key, when --api-key-file is not set.\n");
  return help;
}

absl::StatusOr<Config> ParseConfig(int argc, const char* const* argv, const EnvLookup& env) {
  Config config;
  for (const FlagSpec& flag : Flags()) {
    if (std::optional<std::string> value = env(EnvName(flag.name))) {
      if (absl::Status status = flag.apply(*value, config); !status.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(status.message(), " (from ", EnvName(flag.name), ")"));
      }
    }
  }
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return absl::CancelledError(ConfigHelp());
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'; see --help"));
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
    if (absl::Status status = spec->apply(value, config); !status.ok()) return status;
  }
  if (absl::Status status = Validate(config, env); !status.ok()) return status;
  return config;
}

}  // namespace aarthik::core
