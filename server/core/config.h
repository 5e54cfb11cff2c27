// Gateway configuration from command-line flags, environment variables and a YAML config file.
//
//   absl::StatusOr<Config> config = ParseConfig(argc, argv, environ_lookup);
//   if (!config.ok()) { std::cerr << config.status().message(); return 2; }
//
// Every key of the Flags() table can be given three ways: the flag `--upstream-url`, the
// environment variable `AARTHIK_UPSTREAM_URL`, or the key `upstream-url:` in the YAML file named by
// `--config` (or AARTHIK_CONFIG; see config_file.h). Precedence, per key: flags > environment >
// config file > defaults; the winning source replaces the others entirely (also for repeatable keys
// such as webhook-secret-file). All three go through the same FlagSpec::apply, so validation is
// shared. Secrets never come from flags or the config file: the API key is read from
// `--api-key-file` (re-read when it changes, see secret.h) or `AARTHIK_API_KEY` (static: rotating
// it needs a restart). Validation errors name the flag (and the file and line, or the variable) and
// say what to fix.
//
// Thread-safety: a Config is a plain value; ParseConfig is reentrant.
#ifndef AARTHIK_SERVER_CORE_CONFIG_H_
#define AARTHIK_SERVER_CORE_CONFIG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/log.h"

namespace aarthik::core {

struct Config {
  std::string grpc_listen = "0.0.0.0:50051";
  // Base URL of the platform, e.g. https://api.credit.aarthiklabs.com (no trailing slash).
  std::string upstream_url;
  std::string api_key_file;
  // The platform API key (sk_*). Loaded from the file or AARTHIK_API_KEY; never printed.
  std::string api_key;
  std::string tenant_id;
  std::string application_id;
  // Upstream timeout when neither the caller nor the route sets one.
  absl::Duration default_upstream_timeout = absl::Seconds(10);
  // Refresh a session token this long before it expires.
  absl::Duration session_refresh_margin = absl::Seconds(60);
  // Shared token store for several replicas; empty: tokens stay in this process.
  std::string redis_url;
  std::string redis_password_file;
  std::string redis_password;  // read from redis_password_file by Validate; a secret
  std::string redis_key_prefix = "aarthik:";
  absl::Duration redis_timeout = absl::Milliseconds(500);
  // Upstream event loops; 0 = one per usable CPU (core/cpu_budget.h), at least 2, at most 8.
  int upstream_threads = 0;
  // "http1": Http1Transport; "http2": CurlMultiTransport (docs/architecture.md, "Upstream").
  std::string upstream_protocol = "http1";
  // "grpc": gRPC's polling threads wait for the upstream loops' events and run their work
  // (rpc/grpc_loop_driver.h); "own": each loop waits on its own thread.
  std::string upstream_polling = "grpc";
  // gRPC callback threads kept running (rpc/callback_thread_park.h); 0 = one per two usable CPUs,
  // at least 1.
  int grpc_callback_threads = 0;
  // How long gRPC's polling thread polls before it sleeps while at most one call is in flight
  // (rpc/busy_poll.h); 0 = never.
  int busy_poll_us = 300;
  // Upper bounds that keep memory bounded under load.
  int max_in_flight_upstream = 10000;
  int64_t max_response_bytes = 4 << 20;
  int max_request_bytes = 1 << 20;
  // Longest string the gateway accepts in any request field.
  int max_field_length = 4096;
  // RPCs being served at once; more are refused with RESOURCE_EXHAUSTED rather than queued.
  int max_pending_rpcs = 20000;
  // Event and state watch streams open at once (each holds buffers while its reader is slow).
  int max_watch_streams = 4096;
  // Concurrent streams one client connection may open (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).
  int grpc_max_concurrent_streams = 1000;
  // Memory gRPC may use for its connections and calls (its ResourceQuota), in bytes.
  int64_t grpc_memory_limit = int64_t{256} << 20;
  // Attempts per platform call (1 = no retries) and the share of traffic retries may add.
  int retry_max_attempts = 4;
  double retry_budget_ratio = 0.2;
  // Circuit breaker: consecutive failures that open it, and how long it stays open before a probe.
  int breaker_consecutive_failures = 5;
  // ... or when at least breaker_min_requests outcomes in 10 s include breaker_failure_ratio
  // failures.
  int breaker_min_requests = 20;
  double breaker_failure_ratio = 0.5;
  absl::Duration breaker_open_for = absl::Seconds(5);
  // Sent as X-AL-API-Version when set.
  std::string api_version;
  Severity log_level = Severity::kInfo;
  // Live journey events (docs/events.md): the gateway's own HTTP listener and the web-hook
  // receiver.
  std::string http_listen = "0.0.0.0:8080";
  // Bounds under abuse (docs/operations.md, "Limits"): HTTP connections (lowered to the
  // descriptor budget at start, core/fd_limits.h) and web-hook bodies.
  int http_max_connections = 1024;
  int64_t webhook_max_body_bytes = 64 << 10;
  // Self-check of the gRPC listener (http/grpc_listener_check.h).
  absl::Duration grpc_listener_check_interval = absl::Seconds(10);
  std::string webhook_path = "/webhooks/aarthik";
  std::vector<std::string>
      webhook_secret_files;  // none: the web-hook route answers 401 to everything
  absl::Duration webhook_tolerance = absl::Minutes(5);
  absl::Duration event_retention = absl::Hours(24);
  // Config file (--config) and secret rotation (docs/operations.md, "Configuration").
  std::string config_file;
  bool print_config = false;  // --print-config: print the effective configuration and exit
  absl::Duration secret_reload_interval = absl::Seconds(10);
  // Keys set explicitly, with where from ("flag --x", "env AARTHIK_X", "config file PATH line N")
  // and the raw values; keys left at their defaults are absent. For --print-config and error
  // messages.
  struct Origin {
    std::string source;
    std::vector<std::string> values;
  };
  std::map<std::string, Origin> origins;
  // TLS on the gRPC listener (docs/operations.md, "TLS"): PEM files, re-read every
  // tls_reload_interval so a rotated certificate is served without a restart. No cert and key:
  // plaintext. A client CA: mutual TLS.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  absl::Duration tls_reload_interval = absl::Seconds(60);
  // PEM bundle that verifies the platform's certificate instead of the system store (https only).
  std::string upstream_ca_file;
  // Graceful drain on SIGTERM and connection management (docs/operations.md, "Draining").
  absl::Duration shutdown_grace = absl::Seconds(25);
  // Part of the grace: the least time new calls are refused before the gRPC server closes.
  absl::Duration shutdown_delay = absl::Seconds(2);
  absl::Duration grpc_max_connection_age = absl::Minutes(5);
  absl::Duration grpc_max_connection_age_grace = absl::Seconds(30);
  absl::Duration grpc_keepalive_time = absl::Seconds(60);
  absl::Duration grpc_keepalive_timeout = absl::Seconds(20);
  // Caller identity, authorization and the audit log (docs/security.md).
  std::string authz_policy_file;       // none: no policy, every caller may call every RPC
  std::string authz_mode = "enforce";  // enforce | audit-only | off
  std::string jwt_jwks_file;           // bearer JWTs verified against it; none: no JWT identity
  std::string jwt_issuer;
  std::string jwt_audience;
  std::string jwt_principal_claim = "sub";
  absl::Duration jwt_leeway = absl::Seconds(30);
  bool trust_xfcc = false;  // x-forwarded-client-cert names the caller (a trusted sidecar)
  std::string audit_log;    // a file, or "stdout"; none: no audit log
  std::string audit_hash_key_file;
  std::string audit_hash_key;  // read from audit_hash_key_file by Validate; a secret
  int audit_queue_size = 10000;
};

// One configuration key: the flag --name, the variable AARTHIK_NAME and the config-file key
// `name:`.
struct FlagSpec {
  const char* name;  // without the leading "--"
  const char* help;
  std::function<absl::Status(absl::string_view value, Config&)> apply;
  // The effective value as apply accepts it back (repeatable keys: comma-joined), for
  // --print-config. Optional: without it --print-config shows the raw value given, or marks the key
  // as defaulted.
  std::function<std::string(const Config&)> get = nullptr;
  // May be given several times (a YAML list in the config file); apply appends.
  bool repeatable = false;
};

// Every key, in --help order.
const std::vector<FlagSpec>& Flags();

using EnvLookup = std::function<std::optional<std::string>(absl::string_view name)>;

// The process environment.
EnvLookup ProcessEnv();

// Parses flags (argv[1..]) over the environment over the config file and validates the result.
// `--help` yields a status of kCancelled whose message is the help text.
absl::StatusOr<Config> ParseConfig(int argc, const char* const* argv, const EnvLookup& env);

// The help text listing every flag and its environment variable.
std::string ConfigHelp();

}  // namespace aarthik::core

#endif  // AARTHIK_SERVER_CORE_CONFIG_H_
