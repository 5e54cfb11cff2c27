#include "tests/integration/log_scan.h"

#include <fstream>
#include <regex>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace aarthik::testing {

LogScan ScanGatewayLog(const std::string& path, const std::vector<std::string>& forbidden) {
  LogScan scan;
  std::ifstream in(path);
  if (!in) {
    scan.problems.push_back(absl::StrCat("cannot read ", path));
    return scan;
  }
  // The platform's credentials: API keys, session and refresh tokens (contract §5).
  const std::regex credential(R"((sk|st|rt)_(test|live)_[A-Za-z0-9]{4,})");
  std::string line;
  while (std::getline(in, line)) {
    ++scan.lines;
    const std::string where = absl::StrCat("line ", scan.lines, ": ");
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!entry.is_object()) {
      scan.problems.push_back(where + "not a JSON object");
    } else {
      for (const char* key : {"ts", "severity", "message"}) {
        if (!entry.contains(key)) scan.problems.push_back(absl::StrCat(where, "no \"", key, "\""));
      }
      if (entry.value("message", "") == "rpc finished") ++scan.rpc_lines;
    }
    for (size_t i = 0; i < forbidden.size(); ++i) {
      if (line.find(forbidden[i]) != std::string::npos) {
        scan.problems.push_back(absl::StrCat(where, "contains forbidden value #", i));
      }
    }
    if (std::regex_search(line, credential))
      scan.problems.push_back(where + "contains a platform credential");
  }
  return scan;
}

nlohmann::json LastLogLine(const std::string& path, const std::string& message) {
  nlohmann::json last;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (entry.is_object() && entry.value("message", "") == message) last = std::move(entry);
  }
  return last;
}

}  // namespace aarthik::testing
