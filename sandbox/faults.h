// Fault injection: rules that make the sandbox misbehave on purpose, for resilience tests.
//
// A rule applies to requests whose "METHOD PATH" matches its glob (`*` matches any run of
// characters, including '/'; an absent route matches everything). Pre-handler faults (latency,
// connection reset, 429, error status) are decided BEFORE the handler runs, so a faulted write has
// no side effect. Post-handler faults (truncated, malformed, oversized body, a 2xx body replaced by
// a given one) corrupt the response of a handler that DID run. Control-plane paths (/_sandbox/...)
// are never faulted.
//
// Example:
//   FaultInjector faults(/*seed=*/7);
//   faults.Set({*ParseFaultRule(nlohmann::json::parse(R"({"error_rate":1,"error_status":503})"))});
//   FaultPlan plan = faults.Plan("GET", "/api/v1/headless/journeys");   // plan.error_status == 503
//
// Thread-safety: FaultInjector is thread-safe. FaultRule/FaultPlan are plain values.
#ifndef AARTHIK_SANDBOX_FAULTS_H_
#define AARTHIK_SANDBOX_FAULTS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace aarthik::sandbox {

struct FaultRule {
  std::string route = "*";  // glob on "METHOD PATH"
  double error_rate = 0;
  int error_status = 503;
  double reset_rate = 0;
  int latency_min_ms = 0;
  int latency_max_ms = 0;
  double truncate_rate = 0;
  double malformed_rate = 0;
  double oversize_rate = 0;
  double rate_limit_rate = 0;
  int retry_after_seconds = 1;
  // When set: the body of a 2xx answer is replaced by this text (status and headers kept), with
  // probability success_body_rate. Reproduces a platform that answers success with the wrong shape.
  std::shared_ptr<const std::string> success_body;
  double success_body_rate = 1;
  // When > 0: the rule applies to the first `times` requests it matches, then no more (a fault
  // that hits an answer once and lets the retry through).
  int times = 0;
};

// What to do to one request. Default-constructed = no fault.
struct FaultPlan {
  int latency_ms = 0;
  bool reset_connection = false;
  int rate_limited_retry_after = 0;  // > 0: answer 429 RATE_LIMITED with this Retry-After
  int error_status = 0;              // > 0: answer this status instead of running the handler
  bool truncate_body = false;        // after the handler: send half the body, then close
  bool malformed_body = false;       // after the handler: replace the body with invalid JSON
  bool oversize_body = false;        // after the handler: pad the body to kOversizeBytes
  // After the handler: a 2xx answer's body becomes this (the other body faults then do not apply).
  std::shared_ptr<const std::string> success_body;
  bool any() const {
    return latency_ms || reset_connection || rate_limited_retry_after || error_status ||
           truncate_body || malformed_body || oversize_body || success_body != nullptr;
  }
};

inline constexpr size_t kOversizeBytes = 16 * 1024 * 1024;

// Parses one rule from the control-plane JSON (see docs/sandbox.md). Unknown keys are rejected so
// that a typo in a test does not silently disable a fault.
absl::StatusOr<FaultRule> ParseFaultRule(const nlohmann::json& json);
// Accepts one rule object or an array of them.
absl::StatusOr<std::vector<FaultRule>> ParseFaultRules(const nlohmann::json& json);
nlohmann::json FaultRuleToJson(const FaultRule& rule);

// Glob match where '*' matches any sequence of characters.
bool GlobMatch(absl::string_view pattern, absl::string_view text);

class FaultInjector {
 public:
  explicit FaultInjector(uint64_t seed) : rng_(seed) {}

  void Set(std::vector<FaultRule> rules);
  void Clear() { Set({}); }
  std::vector<FaultRule> rules() const;

  // Draws the faults for one request. Cheap when no rule is set (one relaxed atomic load).
  FaultPlan Plan(absl::string_view method, absl::string_view path);

 private:
  mutable absl::Mutex mu_;
  std::vector<FaultRule> rules_ ABSL_GUARDED_BY(mu_);
  std::vector<int> matched_ ABSL_GUARDED_BY(mu_);  // requests each rule matched, for `times`
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> has_rules_{false};
};

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_FAULTS_H_
