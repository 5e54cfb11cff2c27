// The gateway's YAML config file (--config) and the --print-config rendering of the effective
// configuration. Keys are the flag names of Flags() (config.h) without "--"; a repeatable key takes
// a list:
//
//   upstream-url: https://api.credit.aarthiklabs.com
//   api-key-file: /run/secrets/aarthik/api-key
//   retry-max-attempts: 4
//   webhook-secret-file: [/run/secrets/whsec/current, /run/secrets/whsec/next]
//
//   absl::StatusOr<std::vector<ConfigFileSetting>> settings =
//   LoadConfigFile("/etc/aarthik/gateway.yaml"); std::cout << RenderConfig(config);   // YAML
//   again, each key with its source; secrets redacted
//
// LoadConfigFile only checks the file's shape (known keys, one value or a list where allowed, no
// inline secrets); ParseConfig applies the values through the same FlagSpec::apply as flags and
// environment. Every error names the file and line (and column for YAML syntax errors) and says
// what to fix.
//
// Thread-safety: stateless functions; safe from any thread.
#ifndef AARTHIK_SERVER_CORE_CONFIG_FILE_H_
#define AARTHIK_SERVER_CORE_CONFIG_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/config.h"

namespace aarthik::core {

// One key of the config file.
struct ConfigFileSetting {
  std::string key;
  std::vector<std::string> values;  // one, or a repeatable key's list (possibly empty)
  int line = 0;                     // 1-based, for messages
};

// Reads and checks the file at `path`.
absl::StatusOr<std::vector<ConfigFileSetting>> LoadConfigFile(const std::string& path);

// Checks YAML text; `path` is only used in messages.
absl::StatusOr<std::vector<ConfigFileSetting>> ParseConfigYaml(const std::string& yaml,
                                                               absl::string_view path);

// The known key closest to a mistyped one (also for AARTHIK_FOO / foo_bar spellings), or "" when
// none is close.
std::string ClosestConfigKey(absl::string_view key);

// The effective configuration as a YAML config file, each key followed by a comment saying where
// its value came from. The API key appears only as a comment "<redacted: N bytes from SOURCE,
// sha256 XXXXXXXX>".
std::string RenderConfig(const Config& config);

}  // namespace aarthik::core

#endif  // AARTHIK_SERVER_CORE_CONFIG_FILE_H_
