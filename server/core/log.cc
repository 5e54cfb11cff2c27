#include "server/core/log.h"

#include <unistd.h>

#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace aarthik::core {
namespace {

std::atomic<int> min_severity{static_cast<int>(Severity::kInfo)};

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kDebug:
      return "DEBUG";
    case Severity::kInfo:
      return "INFO";
    case Severity::kWarning:
      return "WARNING";
    case Severity::kError:
      return "ERROR";
  }
  return "INFO";
}

}  // namespace

void SetMinLogSeverity(Severity severity) { min_severity = static_cast<int>(severity); }

bool LogEnabled(Severity severity) { return static_cast<int>(severity) >= min_severity.load(); }

absl::StatusOr<Severity> ParseSeverity(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "debug") return Severity::kDebug;
  if (lower == "info") return Severity::kInfo;
  if (lower == "warning" || lower == "warn") return Severity::kWarning;
  if (lower == "error") return Severity::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("log level '", name, "' is not one of debug, info, warning, error"));
}

void Log(Severity severity, absl::string_view message, std::initializer_list<LogField> fields) {
  if (!LogEnabled(severity)) return;
  nlohmann::json line;
  line["ts"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  line["severity"] = SeverityName(severity);
  line["message"] = message;
  for (const auto& [key, value] : fields) line[std::string(key)] = value;
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  // One write per line keeps lines from different threads whole.
  ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
}

}  // namespace aarthik::core
