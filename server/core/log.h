// Structured logging: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-22T02:40:00.123Z","severity":"INFO","message":"rpc
//   done","correlation_id":"…","code":"OK"}
//
//   Log(Severity::kInfo, "rpc done", {{"correlation_id", id}, {"rpc", "GetJourneyState"}});
//
// Redaction is by construction: callers pass only fields that are safe to log (IDs, routes, codes,
// latencies). Request and response bodies, tokens, keys and borrower data are never given to the
// logger.
//
// Thread-safety: Log() may be called from any thread; each line is written with one write(2).
#ifndef AARTHIK_SERVER_CORE_LOG_H_
#define AARTHIK_SERVER_CORE_LOG_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aarthik::core {

enum class Severity { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

using LogField = std::pair<absl::string_view, absl::string_view>;

// Lines below `severity` are dropped. Default: kInfo.
void SetMinLogSeverity(Severity severity);
bool LogEnabled(Severity severity);
absl::StatusOr<Severity> ParseSeverity(absl::string_view name);  // debug | info | warning | error

void Log(Severity severity, absl::string_view message, std::initializer_list<LogField> fields = {});

}  // namespace aarthik::core

#endif  // AARTHIK_SERVER_CORE_LOG_H_
