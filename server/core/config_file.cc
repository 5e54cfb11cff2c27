#include "server/core/config_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/core/secret.h"

namespace aarthik::core {
namespace {

const FlagSpec* FindFlag(absl::string_view key) {
  for (const FlagSpec& flag : Flags()) {
    if (key == flag.name) return &flag;
  }
  return nullptr;
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const char* KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return "a value";
  }
}

// Why a secret-looking key is refused, or "" for an ordinary key.
std::string InlineSecretAdvice(absl::string_view key) {
  const std::string normal = absl::StrReplaceAll(absl::AsciiStrToLower(key), {{"_", "-"}});
  if (normal == "api-key" || normal == "apikey" || normal == "aarthik-api-key") {
    return "the API key is a secret and is never accepted inline: put it in a file (e.g. a mounted "
           "Kubernetes secret) and set api-key-file: /path/to/file";
  }
  if (normal == "webhook-secret" || normal == "webhook-secrets") {
    return "web-hook secrets are never accepted inline: put each in a file and list them under "
           "webhook-secret-file";
  }
  return "";
}

// Plain YAML when unambiguous, else a double-quoted scalar.
std::string YamlScalar(absl::string_view value) {
  const std::string lower = absl::AsciiStrToLower(value);
  bool plain = !value.empty() &&
               (absl::ascii_isalnum(value[0]) || value[0] == '/' || value[0] == '.') &&
               value.back() != ':' && lower != "null" && lower != "true" && lower != "false" &&
               lower != "yes" && lower != "no" && lower != "on" && lower != "off";
  for (char c : value) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && !absl::StrContains("_./:@+=-", c))
      plain = false;
  }
  if (plain) return std::string(value);
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      absl::StrAppend(&quoted, "\\", std::string(1, c));
    } else if (c == '\n') {
      quoted += "\\n";
    } else if (c == '\t') {
      quoted += "\\t";
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

}  // namespace

std::string ClosestConfigKey(absl::string_view key) {
  std::string normal = absl::StrReplaceAll(absl::AsciiStrToLower(key), {{"_", "-"}});
  absl::string_view trimmed = normal;
  absl::ConsumePrefix(&trimmed, "--");
  absl::ConsumePrefix(&trimmed, "aarthik-");
  std::string best;
  size_t best_distance = std::max<size_t>(3, trimmed.size() / 3) + 1;
  for (const FlagSpec& flag : Flags()) {
    // The distance is at least the difference in length: skip what cannot be closer, so that a
    // long unknown key costs nothing (a quadratic comparison with every flag otherwise).
    const size_t length = absl::string_view(flag.name).size();
    const size_t apart =
        trimmed.size() > length ? trimmed.size() - length : length - trimmed.size();
    if (apart >= best_distance) continue;
    const size_t distance = EditDistance(trimmed, flag.name);
    if (distance < best_distance) {
      best = flag.name;
      best_distance = distance;
    }
  }
  return best;
}

absl::StatusOr<std::vector<ConfigFileSetting>> ParseConfigYaml(const std::string& yaml,
                                                               absl::string_view path) {
  const std::string in_file = absl::StrCat("config file ", path);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(in_file, " line ", e.mark.line + 1, " column ",
                                                   e.mark.column + 1, ": invalid YAML: ", e.msg));
  }
  std::vector<ConfigFileSetting> settings;
  if (root.IsNull()) return settings;  // an empty file (or only comments) sets nothing
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(in_file, " line ", root.Mark().line + 1,
                     ": expected `key: value` lines at the top level, found ", KindName(root)));
  }
  std::map<std::string, int> seen;  // key → line
  for (const auto& entry : root) {
    const int line = entry.first.Mark().line + 1;
    const std::string at = absl::StrCat(in_file, " line ", line);
    if (!entry.first.IsScalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ": keys must be plain names such as upstream-url"));
    }
    const std::string key = entry.first.Scalar();
    if (std::string advice = InlineSecretAdvice(key); !advice.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ": '", key, "' is not accepted: ", advice));
    }
    const FlagSpec* flag = FindFlag(key);
    if (flag == nullptr) {
      std::string message = absl::StrCat(at, ": unknown key '", key, "'");
      if (key == "config" || key == "print-config") {
        absl::StrAppend(&message, ": --", key, " is a command-line option only");
      } else if (std::string closest = ClosestConfigKey(key); !closest.empty()) {
        absl::StrAppend(&message, "; did you mean '", closest, "'?");
      } else {
        absl::StrAppend(&message, "; the keys are the flag names without --, see --help");
      }
      return absl::InvalidArgumentError(message);
    }
    if (auto [it, inserted] = seen.emplace(key, line); !inserted) {
      return absl::InvalidArgumentError(absl::StrCat(in_file, ": key '", key,
                                                     "' appears twice (lines ", it->second, " and ",
                                                     line, "); keep one"));
    }
    const YAML::Node& value = entry.second;
    ConfigFileSetting setting{key, {}, line};
    if (value.IsScalar()) {
      setting.values.push_back(value.Scalar());
    } else if (value.IsSequence() && flag->repeatable) {
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].IsScalar()) {
          return absl::InvalidArgumentError(absl::StrCat(at, ": key '", key,
                                                         "' takes a list of values, but item ",
                                                         i + 1, " is ", KindName(value[i])));
        }
        setting.values.push_back(value[i].Scalar());
      }
    } else if (value.IsNull()) {
      return absl::InvalidArgumentError(absl::StrCat(at, ": key '", key, "' has no value: write `",
                                                     key, ": VALUE` or remove the line"));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ": key '", key, "' takes ",
                       flag->repeatable ? "a value or a list of values" : "a single value",
                       ", not ", KindName(value), value.IsMap() ? " (check the indentation)" : ""));
    }
    settings.push_back(std::move(setting));
  }
  return settings;
}

absl::StatusOr<std::vector<ConfigFileSetting>> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config file ", path,
        " cannot be read: check --config (or AARTHIK_CONFIG) and the file's permissions"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfigYaml(text.str(), path);
}

std::string RenderConfig(const Config& config) {
  std::string out =
      "# aarthik-gateway effective configuration (--print-config); usable as a --config file.\n"
      "# Precedence: flags > environment > config file > defaults. Secrets are never printed.\n";
  if (!config.config_file.empty())
    absl::StrAppend(&out, "# config file: ", config.config_file, "\n");
  for (const FlagSpec& flag : Flags()) {
    auto origin = config.origins.find(flag.name);
    const std::string source = origin == config.origins.end() ? "default" : origin->second.source;
    std::vector<std::string> values;
    if (flag.get) {
      const std::string value = flag.get(config);
      if (!flag.repeatable) {
        values.push_back(value);
      } else if (!value.empty()) {
        values = absl::StrSplit(value, ',');
      }
    } else if (origin != config.origins.end()) {
      values = origin->second.values;
    } else {
      absl::StrAppend(&out, "# ", flag.name, ": (default, see --help)\n");
      continue;
    }
    std::string shown;
    if (flag.repeatable) {
      std::vector<std::string> items;
      for (const std::string& value : values) items.push_back(YamlScalar(value));
      shown = absl::StrCat("[", absl::StrJoin(items, ", "), "]");
    } else {
      shown = YamlScalar(values.empty() ? "" : values.back());
    }
    absl::StrAppend(&out, flag.name, ": ", shown, "  # ", source, "\n");
  }
  if (!config.api_key.empty()) {
    absl::StrAppend(&out, "# api key: <redacted: ", config.api_key.size(), " bytes from ",
                    config.api_key_file.empty() ? "AARTHIK_API_KEY" : config.api_key_file,
                    ", sha256 ", SecretFingerprint(config.api_key), ">\n");
  }
  return out;
}

}  // namespace aarthik::core
