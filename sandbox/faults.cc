#include "sandbox/faults.h"

#include "absl/strings/str_cat.h"

namespace aarthik::sandbox {
namespace {

absl::StatusOr<double> Rate(const nlohmann::json& value, absl::string_view name) {
  if (!value.is_number())
    return absl::InvalidArgumentError(absl::StrCat(name, " must be a number"));
  double rate = value.get<double>();
  if (rate < 0 || rate > 1)
    return absl::InvalidArgumentError(absl::StrCat(name, " must be in [0,1]"));
  return rate;
}

absl::StatusOr<int> NonNegativeInt(const nlohmann::json& value, absl::string_view name) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(name, " must be a non-negative integer"));
  }
  return value.get<int>();
}

}  // namespace

absl::StatusOr<FaultRule> ParseFaultRule(const nlohmann::json& json) {
  if (!json.is_object()) return absl::InvalidArgumentError("a fault rule must be a JSON object");
  FaultRule rule;
  for (const auto& [key, value] : json.items()) {
    if (key == "route") {
      if (!value.is_string()) return absl::InvalidArgumentError("route must be a string");
      rule.route = value.get<std::string>();
    } else if (key == "error_rate" || key == "reset_rate" || key == "truncate_rate" ||
               key == "malformed_rate" || key == "oversize_rate" || key == "rate_limit_rate") {
      absl::StatusOr<double> rate = Rate(value, key);
      if (!rate.ok()) return rate.status();
      double& target = key == "error_rate"       ? rule.error_rate
                       : key == "reset_rate"     ? rule.reset_rate
                       : key == "truncate_rate"  ? rule.truncate_rate
                       : key == "malformed_rate" ? rule.malformed_rate
                       : key == "oversize_rate"  ? rule.oversize_rate
                                                 : rule.rate_limit_rate;
      target = *rate;
    } else if (key == "success_body") {
      // A string is sent verbatim (it need not be JSON); any other JSON value is sent serialised.
      rule.success_body = std::make_shared<const std::string>(
          value.is_string() ? value.get<std::string>() : value.dump());
    } else if (key == "success_body_rate") {
      absl::StatusOr<double> rate = Rate(value, key);
      if (!rate.ok()) return rate.status();
      rule.success_body_rate = *rate;
    } else if (key == "error_status") {
      absl::StatusOr<int> status = NonNegativeInt(value, key);
      if (!status.ok()) return status.status();
      if (*status < 400 || *status > 599) {
        return absl::InvalidArgumentError("error_status must be in [400,599]");
      }
      rule.error_status = *status;
    } else if (key == "retry_after_seconds") {
      absl::StatusOr<int> seconds = NonNegativeInt(value, key);
      if (!seconds.ok()) return seconds.status();
      rule.retry_after_seconds = *seconds;
    } else if (key == "times") {
      absl::StatusOr<int> times = NonNegativeInt(value, key);
      if (!times.ok()) return times.status();
      rule.times = *times;
    } else if (key == "latency_ms") {
      if (value.is_number_integer()) {
        rule.latency_min_ms = rule.latency_max_ms = value.get<int>();
      } else if (value.is_object()) {
        for (const auto& [lk, lv] : value.items()) {
          absl::StatusOr<int> ms = NonNegativeInt(lv, absl::StrCat("latency_ms.", lk));
          if (!ms.ok()) return ms.status();
          if (lk == "fixed") {
            rule.latency_min_ms = rule.latency_max_ms = *ms;
          } else if (lk == "min") {
            rule.latency_min_ms = *ms;
          } else if (lk == "max") {
            rule.latency_max_ms = *ms;
          } else {
            return absl::InvalidArgumentError(absl::StrCat("unknown latency_ms key: ", lk));
          }
        }
        if (rule.latency_max_ms < rule.latency_min_ms) rule.latency_max_ms = rule.latency_min_ms;
      } else {
        return absl::InvalidArgumentError("latency_ms must be an integer or {min,max} / {fixed}");
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown fault rule key: ", key));
    }
  }
  return rule;
}

absl::StatusOr<std::vector<FaultRule>> ParseFaultRules(const nlohmann::json& json) {
  std::vector<FaultRule> rules;
  if (json.is_array()) {
    for (const auto& item : json) {
      absl::StatusOr<FaultRule> rule = ParseFaultRule(item);
      if (!rule.ok()) return rule.status();
      rules.push_back(*rule);
    }
    return rules;
  }
  absl::StatusOr<FaultRule> rule = ParseFaultRule(json);
  if (!rule.ok()) return rule.status();
  rules.push_back(*rule);
  return rules;
}

nlohmann::json FaultRuleToJson(const FaultRule& rule) {
  nlohmann::json json = {
      {"route", rule.route},
      {"error_rate", rule.error_rate},
      {"error_status", rule.error_status},
      {"reset_rate", rule.reset_rate},
      {"latency_ms", {{"min", rule.latency_min_ms}, {"max", rule.latency_max_ms}}},
      {"truncate_rate", rule.truncate_rate},
      {"malformed_rate", rule.malformed_rate},
      {"oversize_rate", rule.oversize_rate},
      {"rate_limit_rate", rule.rate_limit_rate},
      {"retry_after_seconds", rule.retry_after_seconds}};
  if (rule.times > 0) json["times"] = rule.times;
  if (rule.success_body != nullptr) {
    json["success_body"] = *rule.success_body;
    json["success_body_rate"] = rule.success_body_rate;
  }
  return json;
}

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Iterative matcher with single-star backtracking: linear for the patterns used here.
  size_t p = 0, t = 0, star = absl::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

void FaultInjector::Set(std::vector<FaultRule> rules) {
  absl::MutexLock lock(&mu_);
  has_rules_.store(!rules.empty(), std::memory_order_relaxed);
  rules_ = std::move(rules);
  matched_.assign(rules_.size(), 0);
}

std::vector<FaultRule> FaultInjector::rules() const {
  absl::MutexLock lock(&mu_);
  return rules_;
}

FaultPlan FaultInjector::Plan(absl::string_view method, absl::string_view path) {
  FaultPlan plan;
  if (!has_rules_.load(std::memory_order_relaxed)) return plan;
  std::string route = absl::StrCat(method, " ", path);
  absl::MutexLock lock(&mu_);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  auto hit = [&](double rate) { return rate > 0 && uniform(rng_) < rate; };
  for (size_t i = 0; i < rules_.size(); ++i) {
    const FaultRule& rule = rules_[i];
    if (rule.route != "*" && !GlobMatch(rule.route, route)) continue;
    if (rule.times > 0 && matched_[i]++ >= rule.times) continue;
    if (rule.latency_max_ms > 0) {
      std::uniform_int_distribution<int> latency(rule.latency_min_ms, rule.latency_max_ms);
      plan.latency_ms += latency(rng_);
    }
    // The first matching pre-handler fault wins; later rules may still add latency.
    bool decided = plan.reset_connection || plan.rate_limited_retry_after || plan.error_status;
    if (!decided && hit(rule.reset_rate)) plan.reset_connection = true;
    decided = decided || plan.reset_connection;
    if (!decided && hit(rule.rate_limit_rate)) {
      plan.rate_limited_retry_after = rule.retry_after_seconds > 0 ? rule.retry_after_seconds : 1;
    }
    decided = decided || plan.rate_limited_retry_after;
    if (!decided && hit(rule.error_rate)) plan.error_status = rule.error_status;
    if (!plan.truncate_body && hit(rule.truncate_rate)) plan.truncate_body = true;
    if (!plan.malformed_body && hit(rule.malformed_rate)) plan.malformed_body = true;
    if (!plan.oversize_body && hit(rule.oversize_rate)) plan.oversize_body = true;
    if (plan.success_body == nullptr && rule.success_body != nullptr &&
        hit(rule.success_body_rate)) {
      plan.success_body = rule.success_body;
    }
  }
  return plan;
}

}  // namespace aarthik::sandbox
