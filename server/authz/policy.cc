#include "server/authz/policy.h"

#include <yaml-cpp/yaml.h>

#include "absl/strings/str_cat.h"

namespace aarthik::authz {
namespace {

absl::Status Invalid(const YAML::Node& node, absl::string_view what) {
  const YAML::Mark mark = node.Mark();
  return absl::InvalidArgumentError(
      mark.is_null() ? absl::StrCat("authorization policy: ", what)
                     : absl::StrCat("authorization policy line ", mark.line + 1, ": ", what));
}

// A list of non-empty strings (a single string is a list of one).
absl::StatusOr<std::vector<std::string>> Strings(const YAML::Node& node, absl::string_view key) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.as<std::string>());
  } else if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      if (!item.IsScalar()) return Invalid(item, absl::StrCat("`", key, "` must list strings"));
      out.push_back(item.as<std::string>());
    }
  } else {
    return Invalid(node, absl::StrCat("`", key, "` must be a string or a list of strings"));
  }
  if (out.empty()) return Invalid(node, absl::StrCat("`", key, "` is empty"));
  for (const std::string& value : out) {
    if (value.empty()) return Invalid(node, absl::StrCat("`", key, "` holds an empty pattern"));
  }
  return out;
}

}  // namespace

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Iterative matcher with one backtrack point (the last '*'): linear for the patterns we allow.
  size_t p = 0, t = 0, star = absl::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool Policy::Rule::Grants(absl::string_view principal) const {
  if (exact_principals.contains(principal)) return true;
  for (const std::string& glob : principal_globs) {
    if (GlobMatch(glob, principal)) return true;
  }
  return false;
}

absl::StatusOr<Policy> Policy::Compile(absl::string_view yaml,
                                       const std::vector<std::string>& methods,
                                       std::vector<std::string>* warnings) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("authorization policy line ", e.mark.line + 1, ": ", e.msg));
  }
  if (!root.IsMap()) return Invalid(root, "the file must be a map with a `rules` list");
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    if (key != "rules") return Invalid(entry.first, absl::StrCat("unknown key `", key, "`"));
  }
  const YAML::Node rules = root["rules"];
  if (!rules || !rules.IsSequence()) return Invalid(root, "`rules` must be a list");
  Policy policy;
  policy.rules_.reserve(rules.size());
  try {
    for (const YAML::Node& node : rules) {
      if (!node.IsMap()) return Invalid(node, "each rule must be a map");
      Rule rule;
      for (const auto& entry : node) {
        const std::string key = entry.first.as<std::string>();
        if (key != "name" && key != "principals" && key != "methods") {
          return Invalid(entry.first, absl::StrCat("unknown rule key `", key,
                                                   "` (expected name, principals, methods)"));
        }
      }
      rule.name = node["name"] ? node["name"].as<std::string>()
                               : absl::StrCat("rule ", policy.rules_.size() + 1);
      if (!node["principals"]) return Invalid(node, "a rule needs `principals`");
      if (!node["methods"]) return Invalid(node, "a rule needs `methods`");
      absl::StatusOr<std::vector<std::string>> principals =
          Strings(node["principals"], "principals");
      if (!principals.ok()) return principals.status();
      absl::StatusOr<std::vector<std::string>> method_patterns =
          Strings(node["methods"], "methods");
      if (!method_patterns.ok()) return method_patterns.status();
      for (std::string& principal : *principals) {
        if (principal.find('*') == std::string::npos) {
          rule.exact_principals.insert(std::move(principal));
        } else {
          rule.principal_globs.push_back(std::move(principal));
        }
      }
      rule.method_patterns = *std::move(method_patterns);
      policy.rules_.push_back(std::move(rule));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("authorization policy line ", e.mark.line + 1, ": ", e.msg));
  }
  // rules_ no longer grows: pointers into it stay valid.
  policy.by_method_.resize(methods.size());
  for (const Rule& rule : policy.rules_) {
    for (const std::string& pattern : rule.method_patterns) {
      bool matched = false;
      for (size_t m = 0; m < methods.size(); ++m) {
        if (!GlobMatch(pattern, methods[m])) continue;
        matched = true;
        auto& granted = policy.by_method_[m];
        if (granted.empty() || granted.back() != &rule) granted.push_back(&rule);
      }
      if (!matched && warnings != nullptr) {
        warnings->push_back(absl::StrCat("rule \"", rule.name, "\": method pattern \"", pattern,
                                         "\" matches no method of this gateway"));
      }
    }
  }
  return policy;
}

const Policy::Rule* Policy::Judge(absl::string_view principal, int method) const {
  for (const Rule* rule : by_method_[method]) {
    if (rule->Grants(principal)) return rule;
  }
  return nullptr;
}

const Policy::Rule* Policy::Allows(absl::string_view principal, int method) const {
  if (method < 0 || static_cast<size_t>(method) >= by_method_.size()) return nullptr;
  std::lock_guard<std::mutex> lock(cache_->mu);
  auto it = cache_->grants.find(principal);
  if (it != cache_->grants.end()) return it->second[method];
  // Beyond the bound (many distinct principals: a misbehaving or hostile issuer) the rules are
  // walked for each call instead of growing the cache.
  if (cache_->grants.size() >= kCachedPrincipals) return Judge(principal, method);
  std::vector<const Rule*> grants(by_method_.size());
  for (size_t m = 0; m < by_method_.size(); ++m) grants[m] = Judge(principal, static_cast<int>(m));
  const Rule* granted = grants[method];
  cache_->grants.emplace(std::string(principal), std::move(grants));
  return granted;
}

}  // namespace aarthik::authz
