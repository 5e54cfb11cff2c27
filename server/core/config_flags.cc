// The gateway's flags: names, help, parsing and display (Flags() in config.h). The table is the one
// place a new setting is declared; config.cc validates the combination.
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/core/config.h"

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

absl::Status ParseNonNegativeDurationFlag(absl::string_view flag, absl::string_view value,
                                          absl::Duration* out) {
  if (!absl::ParseDuration(std::string(value), out) || *out < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "='", value, "' is not a duration: use a number with a unit, e.g. 2s, 0s"));
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
std::string ShowValue(bool v) { return v ? "true" : "false"; }
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

// Caller identity, authorization and the audit log (docs/security.md): appended to Flags(), after
// the TLS keys they build on.
std::vector<FlagSpec> AuthzFlags() {
  return {
      {"authz-policy-file",
       "YAML authorization policy: which principals may call which methods "
       "(docs/security.md). "
       "Re-read every --secret-reload-interval; a broken file keeps the last good policy. "
       "None: every caller may call every RPC.",
       [](absl::string_view v, Config& c) {
         c.authz_policy_file = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::authz_policy_file)},
      {"authz-mode",
       "enforce (refuse what the policy does not allow) | audit-only (decide, log and "
       "audit, "
       "refuse nothing: for roll-out) | off (development only). Default enforce.",
       [](absl::string_view v, Config& c) -> absl::Status {
         if (v != "enforce" && v != "audit-only" && v != "off") {
           return absl::InvalidArgumentError(
               absl::StrCat("--authz-mode='", v, "' must be enforce, audit-only or off"));
         }
         c.authz_mode = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::authz_mode)},
      {"jwt-jwks-file",
       "JWKS (JSON) of the keys that sign callers' bearer JWTs (RS256, ES256), e.g. the "
       "cluster's service-account issuer keys. Re-read every --secret-reload-interval. "
       "Needs "
       "--jwt-issuer and --jwt-audience.",
       [](absl::string_view v, Config& c) {
         c.jwt_jwks_file = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::jwt_jwks_file)},
      {"jwt-issuer", "The `iss` callers' JWTs must carry.",
       [](absl::string_view v, Config& c) {
         c.jwt_issuer = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::jwt_issuer)},
      {"jwt-audience", "The audience (`aud`) callers' JWTs must be issued for.",
       [](absl::string_view v, Config& c) {
         c.jwt_audience = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::jwt_audience)},
      {"jwt-principal-claim", "The JWT claim that names the caller. Default sub.",
       [](absl::string_view v, Config& c) {
         c.jwt_principal_claim = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::jwt_principal_claim)},
      {"jwt-leeway", "Clock skew allowed on a JWT's exp and nbf. Default 30s.",
       [](absl::string_view v, Config& c) {
         return ParseNonNegativeDurationFlag("jwt-leeway", v, &c.jwt_leeway);
       },
       Show(&Config::jwt_leeway)},
      {"trust-xfcc",
       "true: Envoy's x-forwarded-client-cert header names the caller. Only when every "
       "connection comes through a sidecar that sets it (a caller could forge it "
       "otherwise). "
       "Default false.",
       [](absl::string_view v, Config& c) -> absl::Status {
         if (v != "true" && v != "false") {
           return absl::InvalidArgumentError(
               absl::StrCat("--trust-xfcc='", v, "' must be true or false"));
         }
         c.trust_xfcc = v == "true";
         return absl::OkStatus();
       },
       Show(&Config::trust_xfcc)},
      {"audit-log",
       "Where the audit log goes: a file (appended to), or stdout (lines tagged "
       "\"log\":\"audit\"). One JSON line per write RPC and per refused call. None: no "
       "audit log.",
       [](absl::string_view v, Config& c) {
         c.audit_log = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::audit_log)},
      {"audit-hash-key-file",
       "File holding the key of the audit log's borrower hash (HMAC-SHA256). Without it a "
       "random "
       "key per process: hashes then differ between replicas and restarts.",
       [](absl::string_view v, Config& c) {
         c.audit_hash_key_file = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::audit_hash_key_file)},
      {"audit-queue-size",
       "Audit records waiting for the sink; when full, writes are refused before they are "
       "sent. "
       "Default 10000.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("audit-queue-size", v, &c.audit_queue_size);
       },
       Show(&Config::audit_queue_size)},
  };
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
       "How often --api-key-file, --webhook-secret-file, --redis-password-file, "
       "--authz-policy-file and --jwt-jwks-file are re-read; a changed file is used without a "
       "restart. Default 10s.",
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
      {"upstream-threads",
       "Upstream event loops (threads that drive platform requests; calls spread over them). "
       "Default 0: one per CPU the process may use (its affinity mask, capped by its cgroup's CPU "
       "quota, such as a pod's CPU limit, or the environment's AARTHIK_CPUS when set), at least "
       "2, at most 8.",
       [](absl::string_view v, Config& c) {
         int64_t parsed = -1;
         if (!absl::SimpleAtoi(v, &parsed) || parsed < 0 || parsed > 64) {
           return absl::InvalidArgumentError(
               absl::StrCat("--upstream-threads='", v, "' must be 0 (automatic) to 64"));
         }
         c.upstream_threads = static_cast<int>(parsed);
         return absl::OkStatus();
       },
       Show(&Config::upstream_threads)},
      {"upstream-protocol",
       "http1 (default): HTTP/1.1 keep-alive on connections libcurl makes (TLS, proxy, CA) with "
       "the gateway's own framing; http2: libcurl's whole HTTP stack, HTTP/2 over TLS when the "
       "platform offers it (several times the CPU per request).",
       [](absl::string_view v, Config& c) {
         if (v != "http1" && v != "http2") {
           return absl::InvalidArgumentError(
               absl::StrCat("--upstream-protocol='", v, "' must be http1 or http2"));
         }
         c.upstream_protocol = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::upstream_protocol)},
      {"upstream-polling",
       "grpc (default): gRPC's polling threads wait for upstream replies and answer them, with no "
       "hand-off between threads (needs Debian bookworm's gRPC 1.51 with its epoll1 poller, else "
       "the gateway logs why and uses own); own: each upstream event loop waits on a thread of its "
       "own.",
       [](absl::string_view v, Config& c) {
         if (v != "grpc" && v != "own") {
           return absl::InvalidArgumentError(
               absl::StrCat("--upstream-polling='", v, "' must be grpc or own"));
         }
         c.upstream_polling = std::string(v);
         return absl::OkStatus();
       },
       Show(&Config::upstream_polling)},
      {"grpc-callback-threads",
       "gRPC threads that poll and run the calls. gRPC starts max(2, CPUs/2); the gateway parks "
       "the rest, since each such thread wakes another for every event it polls. Default 0: one "
       "per two CPUs the process may use (as for --upstream-threads), at least 1. Needs Debian "
       "bookworm's gRPC 1.51; otherwise the gateway logs why and keeps gRPC's threads.",
       [](absl::string_view v, Config& c) {
         int64_t parsed = -1;
         if (!absl::SimpleAtoi(v, &parsed) || parsed < 0 || parsed > 64) {
           return absl::InvalidArgumentError(
               absl::StrCat("--grpc-callback-threads='", v, "' must be 0 (automatic) to 64"));
         }
         c.grpc_callback_threads = static_cast<int>(parsed);
         return absl::OkStatus();
       },
       Show(&Config::grpc_callback_threads)},
      {"busy-poll-us",
       "Microseconds gRPC's polling thread keeps polling before it sleeps, while the gateway "
       "serves at most one call: a lone call's latency is mostly the wake-ups of idle CPUs, and "
       "a thread that is still polling needs none. Costs CPU at low load (at most the polling "
       "thread's core, only while calls come one at a time); never under load. Default 300; 0 "
       "turns it off (for nodes where idle CPU is billed or shared).",
       [](absl::string_view v, Config& c) {
         int64_t parsed = -1;
         if (!absl::SimpleAtoi(v, &parsed) || parsed < 0 || parsed > 10000) {
           return absl::InvalidArgumentError(
               absl::StrCat("--busy-poll-us='", v, "' must be 0 (off) to 10000"));
         }
         c.busy_poll_us = static_cast<int>(parsed);
         return absl::OkStatus();
       },
       Show(&Config::busy_poll_us)},
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
      {"max-watch-streams",
       "WatchJourneyEvents and WatchJourneyState streams open at once; more fail at once with "
       "RESOURCE_EXHAUSTED. Default 4096.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("max-watch-streams", v, &c.max_watch_streams);
       },
       Show(&Config::max_watch_streams)},
      {"grpc-max-concurrent-streams",
       "Calls one client connection may have open at once (HTTP/2 MAX_CONCURRENT_STREAMS; the "
       "client queues the rest). Default 1000.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("grpc-max-concurrent-streams", v, &c.grpc_max_concurrent_streams);
       },
       Show(&Config::grpc_max_concurrent_streams)},
      {"grpc-memory-limit",
       "Bytes gRPC may hold for connections and calls (its ResourceQuota); near it, gRPC shrinks "
       "its buffers and then closes the connections holding the most. Default 268435456.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("grpc-memory-limit", v, &c.grpc_memory_limit);
       },
       Show(&Config::grpc_memory_limit)},
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
      {"http-max-connections",
       "Connections the HTTP listener keeps open at most; beyond it a new connection replaces "
       "the one idle the longest (or waits while all are busy). Lowered at start when the "
       "descriptor limit leaves less (logged). Default 1024.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("http-max-connections", v, &c.http_max_connections);
       },
       Show(&Config::http_max_connections)},
      {"webhook-max-body-bytes",
       "Largest web-hook body accepted; a larger Content-Length is answered 413 before the body "
       "is read, a chunked body is cut off with 413 once it passes it. Platform snapshots are a "
       "few KiB. Default 65536.",
       [](absl::string_view v, Config& c) {
         return ParsePositiveFlag("webhook-max-body-bytes", v, &c.webhook_max_body_bytes);
       },
       Show(&Config::webhook_max_body_bytes)},
      {"grpc-listener-check-interval",
       "How often the gateway checks that a fresh connection to its own gRPC port is accepted "
       "(gRPC 1.51 stops accepting for good after running out of descriptors once); two failed "
       "checks in a row turn health NOT_SERVING. Default 10s.",
       [](absl::string_view v, Config& c) {
         return ParseDurationFlag("grpc-listener-check-interval", v,
                                  &c.grpc_listener_check_interval);
       },
       Show(&Config::grpc_listener_check_interval)},
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
       "PEM CA bundle; when set, every call except health needs a client certificate it signed "
       "(mTLS): a missing, foreign or expired one is UNAUTHENTICATED with the reason. Re-read "
       "every --secret-reload-interval.",
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
      {"shutdown-delay",
       "On SIGTERM: the least time new calls are refused with UNAVAILABLE before the gRPC "
       "server closes, even with nothing in flight (gRPC cancels calls that reach a closed "
       "server; a refused caller goes to another replica). Part of --shutdown-grace. Default 2s.",
       [](absl::string_view v, Config& c) {
         return ParseNonNegativeDurationFlag("shutdown-delay", v, &c.shutdown_delay);
       },
       Show(&Config::shutdown_delay)},
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
  static const auto* const all = [] {
    auto* keys = new std::vector<FlagSpec>(*flags);
    for (FlagSpec& key : AuthzFlags()) keys->push_back(std::move(key));
    return keys;
  }();
  return *all;
}

}  // namespace aarthik::core
