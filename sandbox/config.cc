#include "sandbox/config.h"

#include <cctype>
#include <functional>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace aarthik::sandbox {
namespace {

using Setter = std::function<absl::Status(Config&, absl::string_view)>;

struct Flag {
  std::string name;  // without "--"
  std::string arg;   // "" for boolean flags
  std::string help;
  Setter set;
  bool repeatable = false;
};

absl::Status Invalid(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

absl::StatusOr<bool> ParseBool(absl::string_view text) {
  std::string lower = absl::AsciiStrToLower(text);
  if (lower.empty() || lower == "1" || lower == "true" || lower == "yes") return true;
  if (lower == "0" || lower == "false" || lower == "no") return false;
  return absl::InvalidArgumentError(absl::StrCat("not a boolean: ", text));
}

Setter DurationSetter(std::string name, absl::Duration Config::*field) {
  return [name, field](Config& c, absl::string_view v) -> absl::Status {
    absl::StatusOr<absl::Duration> d = ParseDurationFlag(v);
    if (!d.ok() || *d < absl::ZeroDuration()) return Invalid(name, "expected a duration like 30m");
    c.*field = *d;
    return absl::OkStatus();
  };
}

Setter RateSetter(std::string name, double Config::*field) {
  return [name, field](Config& c, absl::string_view v) -> absl::Status {
    double rate;
    if (!absl::SimpleAtod(v, &rate) || rate < 0 || rate > 1) return Invalid(name, "expected 0..1");
    c.*field = rate;
    return absl::OkStatus();
  };
}

// The fault flags all edit one start-up rule (the first one), which is created on demand.
FaultRule& StartupRule(Config& c) {
  if (c.faults.empty()) c.faults.emplace_back();
  return c.faults.front();
}

Setter FaultRateSetter(std::string name, double FaultRule::*field) {
  return [name, field](Config& c, absl::string_view v) -> absl::Status {
    double rate;
    if (!absl::SimpleAtod(v, &rate) || rate < 0 || rate > 1) return Invalid(name, "expected 0..1");
    StartupRule(c).*field = rate;
    return absl::OkStatus();
  };
}

const std::vector<Flag>& Flags() {
  static const std::vector<Flag>* flags = new std::vector<Flag>{
      {"listen", "HOST:PORT", "address to listen on; port 0 picks a free port (default 127.0.0.1:8088)",
       [](Config& c, absl::string_view v) -> absl::Status {
         size_t colon = v.rfind(':');
         int port;
         if (colon == absl::string_view::npos || !absl::SimpleAtoi(v.substr(colon + 1), &port) ||
             port < 0 || port > 65535) {
           return Invalid("listen", "expected HOST:PORT");
         }
         c.listen_host = std::string(v.substr(0, colon));
         if (c.listen_host.size() > 2 && c.listen_host.front() == '[') {
           c.listen_host = c.listen_host.substr(1, c.listen_host.size() - 2);
         }
         c.listen_port = port;
         return absl::OkStatus();
       }},
      {"api-key", "KEY",
       "accepted platform API key (repeatable; env: comma-separated). Default sk_test_sandbox",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (!absl::StartsWith(v, "sk_")) return Invalid("api-key", "keys start with sk_");
         c.api_keys.emplace_back(v);
         return absl::OkStatus();
       },
       /*repeatable=*/true},
      {"environment", "test|live", "platform environment simulated (default test)",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (v != "test" && v != "live") return Invalid("environment", "test or live");
         c.environment = std::string(v);
         return absl::OkStatus();
       }},
      {"tenant-id", "UUID", "tenant of every API key", [](Config& c, absl::string_view v) {
         c.tenant_id = absl::AsciiStrToLower(v);
         return absl::OkStatus();
       }},
      {"application-id", "UUID", "application of every API key",
       [](Config& c, absl::string_view v) {
         c.application_id = absl::AsciiStrToLower(v);
         return absl::OkStatus();
       }},
      {"webhook-secret-file", "PATH",
       "file holding the web-hook signing secret (trailing newline stripped; default secret "
       "whsec_test_sandbox)",
       [](Config& c, absl::string_view v) -> absl::Status {
         FILE* f = std::fopen(std::string(v).c_str(), "rb");
         if (f == nullptr) return Invalid("webhook-secret-file", "cannot open");
         std::string secret;
         char buf[4096];
         size_t n;
         while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) secret.append(buf, n);
         std::fclose(f);
         while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
           secret.pop_back();
         }
         if (secret.empty()) return Invalid("webhook-secret-file", "empty secret");
         c.webhook_secret = secret;
         return absl::OkStatus();
       }},
      {"seed", "N", "seed for identifiers, offers and fault sampling (default 1)",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (!absl::SimpleAtoi(v, &c.seed)) return Invalid("seed", "expected an integer");
         return absl::OkStatus();
       }},
      {"time-scale", "X", "simulated seconds per real second (default 1)",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (!absl::SimpleAtod(v, &c.time_scale) || c.time_scale <= 0) {
           return Invalid("time-scale", "expected a positive number");
         }
         return absl::OkStatus();
       }},
      {"session-ttl", "DUR", "st_* session token lifetime (default 30m)",
       DurationSetter("session-ttl", &Config::session_ttl)},
      {"refresh-ttl", "DUR", "rt_* refresh token lifetime (default 7d)",
       DurationSetter("refresh-ttl", &Config::refresh_ttl)},
      {"offer-delay", "DUR", "profile submit -> offers available (default 10s)",
       DurationSetter("offer-delay", &Config::offer_delay)},
      {"step-delay", "DUR", "lender processing time per automatic stage, e.g. disbursal (default 5s)",
       DurationSetter("step-delay", &Config::step_delay)},
      {"aa-url-ttl", "DUR", "AA consent redirect URL lifetime (default 15m)",
       DurationSetter("aa-url-ttl", &Config::aa_url_ttl)},
      {"hosted-url-ttl", "DUR", "Hybrid hand-off hosted_url lifetime (default 5m)",
       DurationSetter("hosted-url-ttl", &Config::hosted_url_ttl)},
      {"threads", "N", "I/O threads (default: hardware threads)",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (!absl::SimpleAtoi(v, &c.threads) || c.threads < 0) return Invalid("threads", "N >= 0");
         return absl::OkStatus();
       }},
      {"tls-cert", "PATH", "PEM certificate chain: serve HTTPS (needs --tls-key)",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (v.empty()) return Invalid("tls-cert", "expected a path");
         c.tls_cert_file = std::string(v);
         return absl::OkStatus();
       }},
      {"tls-key", "PATH", "PEM private key of --tls-cert",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (v.empty()) return Invalid("tls-key", "expected a path");
         c.tls_key_file = std::string(v);
         return absl::OkStatus();
       }},
      {"control-plane", "", "enable /_sandbox/* (reset, time, faults, counters, webhooks, requests)",
       [](Config& c, absl::string_view v) -> absl::Status {
         absl::StatusOr<bool> b = ParseBool(v);
         if (!b.ok()) return Invalid("control-plane", "expected a boolean");
         c.control_plane = *b;
         return absl::OkStatus();
       }},
      {"request-log-size", "N",
       "platform requests whose raw target GET /_sandbox/requests keeps (default 256, 0: off)",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (!absl::SimpleAtoi(v, &c.request_log_size) || c.request_log_size < 0 ||
             c.request_log_size > 1000000) {
           return Invalid("request-log-size", "0 <= N <= 1000000");
         }
         return absl::OkStatus();
       }},
      {"webhook-backoff", "DUR", "first web-hook retry delay, doubled per attempt (default 1m)",
       DurationSetter("webhook-backoff", &Config::webhook_backoff)},
      {"webhook-max-attempts", "N", "web-hook attempts per delivery (default 8)",
       [](Config& c, absl::string_view v) -> absl::Status {
         if (!absl::SimpleAtoi(v, &c.webhook_max_attempts) || c.webhook_max_attempts < 1) {
           return Invalid("webhook-max-attempts", "N >= 1");
         }
         return absl::OkStatus();
       }},
      {"webhook-duplicate-rate", "X", "probability a delivery is sent twice (default 0)",
       RateSetter("webhook-duplicate-rate", &Config::webhook_duplicate_rate)},
      {"webhook-reorder", "", "hold each event until the next one and send them newest first",
       [](Config& c, absl::string_view v) -> absl::Status {
         absl::StatusOr<bool> b = ParseBool(v);
         if (!b.ok()) return Invalid("webhook-reorder", "expected a boolean");
         c.webhook_reorder = *b;
         return absl::OkStatus();
       }},
      {"fault-route", "GLOB", "start-up fault rule: glob on 'METHOD PATH' (default *)",
       [](Config& c, absl::string_view v) {
         StartupRule(c).route = std::string(v);
         return absl::OkStatus();
       }},
      {"fault-error-rate", "X", "start-up fault rule: error_rate",
       FaultRateSetter("fault-error-rate", &FaultRule::error_rate)},
      {"fault-error-status", "CODE", "start-up fault rule: error_status (default 503)",
       [](Config& c, absl::string_view v) -> absl::Status {
         int s;
         if (!absl::SimpleAtoi(v, &s) || s < 400 || s > 599) {
           return Invalid("fault-error-status", "400..599");
         }
         StartupRule(c).error_status = s;
         return absl::OkStatus();
       }},
      {"fault-reset-rate", "X", "start-up fault rule: reset_rate",
       FaultRateSetter("fault-reset-rate", &FaultRule::reset_rate)},
      {"fault-latency-ms", "MIN[:MAX]", "start-up fault rule: added latency",
       [](Config& c, absl::string_view v) -> absl::Status {
         std::vector<absl::string_view> parts = absl::StrSplit(v, ':');
         int lo, hi;
         if (!absl::SimpleAtoi(parts[0], &lo) || lo < 0) return Invalid("fault-latency-ms", "MIN");
         hi = lo;
         if (parts.size() > 1 && (!absl::SimpleAtoi(parts[1], &hi) || hi < lo)) {
           return Invalid("fault-latency-ms", "MAX >= MIN");
         }
         StartupRule(c).latency_min_ms = lo;
         StartupRule(c).latency_max_ms = hi;
         return absl::OkStatus();
       }},
      {"fault-truncate-rate", "X", "start-up fault rule: truncate_rate",
       FaultRateSetter("fault-truncate-rate", &FaultRule::truncate_rate)},
      {"fault-malformed-rate", "X", "start-up fault rule: malformed_rate",
       FaultRateSetter("fault-malformed-rate", &FaultRule::malformed_rate)},
      {"fault-oversize-rate", "X", "start-up fault rule: oversize_rate",
       FaultRateSetter("fault-oversize-rate", &FaultRule::oversize_rate)},
      {"fault-rate-limit-rate", "X", "start-up fault rule: rate_limit_rate",
       FaultRateSetter("fault-rate-limit-rate", &FaultRule::rate_limit_rate)},
      {"fault-retry-after-seconds", "N", "start-up fault rule: Retry-After of injected 429s",
       [](Config& c, absl::string_view v) -> absl::Status {
         int s;
         if (!absl::SimpleAtoi(v, &s) || s < 0) return Invalid("fault-retry-after-seconds", "N>=0");
         StartupRule(c).retry_after_seconds = s;
         return absl::OkStatus();
       }},
      {"faults", "JSON", "start-up fault rules as in PUT /_sandbox/faults (object or array)",
       [](Config& c, absl::string_view v) -> absl::Status {
         nlohmann::json json = nlohmann::json::parse(v, nullptr, /*allow_exceptions=*/false);
         if (json.is_discarded()) return Invalid("faults", "not JSON");
         absl::StatusOr<std::vector<FaultRule>> rules = ParseFaultRules(json);
         if (!rules.ok()) return Invalid("faults", rules.status().message());
         c.faults.insert(c.faults.end(), rules->begin(), rules->end());
         return absl::OkStatus();
       }},
      {"help", "", "print this help and exit", [](Config& c, absl::string_view) {
         c.help = true;
         return absl::OkStatus();
       }},
  };
  return *flags;
}

std::string EnvName(const std::string& flag) {
  std::string name = "AARTHIK_SANDBOX_";
  for (char ch : flag) name.push_back(ch == '-' ? '_' : static_cast<char>(std::toupper(ch)));
  return name;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view text) {
  if (absl::EndsWith(text, "d")) {
    double days;
    if (!absl::SimpleAtod(text.substr(0, text.size() - 1), &days)) {
      return absl::InvalidArgumentError(absl::StrCat("bad duration: ", text));
    }
    return absl::Hours(24) * days;
  }
  absl::Duration d;
  if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(absl::StrCat("bad duration: ", text));
  }
  return d;
}

absl::StatusOr<Config> ParseConfig(int argc, const char* const* argv, const char* const* envp) {
  Config config;
  std::map<std::string, const Flag*> by_name;
  for (const Flag& flag : Flags()) by_name[flag.name] = &flag;

  // Environment first, so that flags override it.
  std::map<std::string, std::string> env;
  for (const char* const* e = envp; e != nullptr && *e != nullptr; ++e) {
    absl::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq != absl::string_view::npos) {
      env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
    }
  }
  for (const Flag& flag : Flags()) {
    if (flag.name == "help") continue;
    auto it = env.find(EnvName(flag.name));
    if (it == env.end()) continue;
    std::vector<std::string> values;
    if (flag.repeatable) {
      values = absl::StrSplit(it->second, ',', absl::SkipWhitespace());
    } else {
      values.push_back(it->second);
    }
    for (const std::string& value : values) {
      absl::Status status = flag.set(config, absl::StripAsciiWhitespace(value));
      if (!status.ok())
        return absl::InvalidArgumentError(absl::StrCat(EnvName(flag.name), ": ", status.message()));
    }
  }

  bool api_keys_from_flags = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg(argv[i]);
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument: ", arg));
    }
    arg.remove_prefix(2);
    std::string name(arg);
    std::string value;
    bool has_inline_value = false;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
      has_inline_value = true;
    }
    auto it = by_name.find(name);
    if (it == by_name.end())
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    const Flag& flag = *it->second;
    if (!has_inline_value && !flag.arg.empty()) {
      if (i + 1 >= argc) return Invalid(name, "missing value");
      value = argv[++i];
    }
    if (flag.name == "api-key" && !api_keys_from_flags) {
      config.api_keys.clear();  // flags replace keys given by the environment
      api_keys_from_flags = true;
    }
    absl::Status status = flag.set(config, value);
    if (!status.ok()) return status;
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (config.api_keys.empty()) config.api_keys.push_back("sk_" + config.environment + "_sandbox");
  return config;
}

std::string HelpText() {
  std::string out =
      "aarthik-sandbox: simulator of the Aarthik Labs REST platform (see docs/sandbox.md)\n\n"
      "Usage: aarthik-sandbox [--flag value]...\n"
      "Every flag --some-name may also be set with env AARTHIK_SANDBOX_SOME_NAME.\n\n";
  for (const Flag& flag : Flags()) {
    std::string left = absl::StrCat("  --", flag.name, flag.arg.empty() ? "" : " ", flag.arg);
    if (left.size() < 34) left.resize(34, ' ');
    absl::StrAppend(&out, left, " ", flag.help, "\n");
  }
  absl::StrAppend(&out,
                  "\nDurations: 500ms, 2s, 30m, 1.5h, 7d. Exits 0 on SIGTERM/SIGINT.\n"
                  "First stdout line: 'listening HOST:PORT'.\n");
  return out;
}

}  // namespace aarthik::sandbox
