// Reading the gateway's log in tests: every line must be one JSON object with the common fields,
// and none may contain a secret or a piece of borrower PII; and the start-up lines that say what
// the gateway chose.
//
//   LogScan scan = ScanGatewayLog(path, {"ABCDE1234F", "9876543210"});
//   EXPECT_TRUE(scan.problems.empty()) << absl::StrJoin(scan.problems, "\n");
//   nlohmann::json polling = LastLogLine(path, "upstream polling");
//
// Thread-safety: a pure function.
#ifndef AARTHIK_TESTS_INTEGRATION_LOG_SCAN_H_
#define AARTHIK_TESTS_INTEGRATION_LOG_SCAN_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace aarthik::testing {

struct LogScan {
  int lines = 0;
  int rpc_lines = 0;  // "rpc finished" lines
  // What is wrong, without quoting the secret: "line 12: contains forbidden value #3".
  std::vector<std::string> problems;
};

// Checks each line of the file at `path`: a JSON object with ts, severity and message; no value of
// `forbidden` in it; no platform credential (sk_…, st_…, rt_…) anywhere.
LogScan ScanGatewayLog(const std::string& path, const std::vector<std::string>& forbidden);

// The last line of the log at `path` whose "message" is `message`, parsed; null when none is.
nlohmann::json LastLogLine(const std::string& path, const std::string& message);

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_INTEGRATION_LOG_SCAN_H_
