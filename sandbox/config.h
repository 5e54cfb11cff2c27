// Sandbox configuration: command-line flags and their AARTHIK_SANDBOX_* environment equivalents.
//
// Every flag `--some-name` can also be given as the environment variable AARTHIK_SANDBOX_SOME_NAME
// (repeatable flags take a comma-separated list; boolean flags take 1/true/yes). Flags win over
// the environment.
//
// Example:
//   absl::StatusOr<Config> config = ParseConfig(argc, argv, environ);
//   if (!config.ok()) { std::cerr << config.status() << "\n" << HelpText(); return 2; }
//
// Thread-safety: Config is a plain value; share it read-only.
#ifndef AARTHIK_SANDBOX_CONFIG_H_
#define AARTHIK_SANDBOX_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sandbox/faults.h"

namespace aarthik::sandbox {

struct Config {
  std::string listen_host = "127.0.0.1";
  int listen_port = 8088;
  std::vector<std::string> api_keys;  // empty after parsing means {"sk_test_sandbox"} was used
  std::string environment = "test";   // "test" or "live": the token infix and accepted key class
  std::string tenant_id = "8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61";
  std::string application_id = "fbb1fd74-c502-4419-83f3-82a2a019fc9a";
  std::string webhook_secret = "whsec_test_sandbox";
  uint64_t seed = 1;
  double time_scale = 1.0;
  absl::Duration session_ttl = absl::Minutes(30);
  absl::Duration refresh_ttl = absl::Hours(24 * 7);
  absl::Duration offer_delay = absl::Seconds(10);
  absl::Duration step_delay = absl::Seconds(5);
  absl::Duration aa_url_ttl = absl::Minutes(15);
  absl::Duration hosted_url_ttl = absl::Minutes(5);
  absl::Duration bootstrap_ttl = absl::Seconds(120);
  int threads = 0;  // 0: one per hardware thread
  // PEM certificate chain and private key: both set, the listener serves HTTPS only.
  std::string tls_cert_file;
  std::string tls_key_file;
  bool control_plane = false;
  // How many platform requests GET /_sandbox/requests keeps (0: none; only with the control plane).
  int request_log_size = 256;
  absl::Duration webhook_backoff = absl::Minutes(1);
  int webhook_max_attempts = 8;
  double webhook_duplicate_rate = 0;
  bool webhook_reorder = false;
  std::vector<FaultRule> faults;
  bool help = false;
};

// Parses argv (argv[0] skipped) over the defaults and the environment `envp` (may be null).
absl::StatusOr<Config> ParseConfig(int argc, const char* const* argv, const char* const* envp);

// Durations such as "30m", "2s", "1.5h", "500ms", "7d".
absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view text);

std::string HelpText();

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_CONFIG_H_
