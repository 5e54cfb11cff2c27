#include "server/transcode/simdjson_view.h"

#include <string>

namespace aarthik::transcode {

const char* SimdjsonView::type_name() const {
  // nlohmann's spellings, so that errors read the same whichever parser produced the value.
  switch (type()) {
    case Type::NULL_VALUE:
      return "null";
    case Type::BOOL:
      return "boolean";
    case Type::OBJECT:
      return "object";
    case Type::ARRAY:
      return "array";
    case Type::STRING:
      return "string";
    case Type::INT64:
    case Type::UINT64:
    case Type::DOUBLE:
      return "number";
  }
  return "unknown";
}

nlohmann::json SimdjsonView::ToNlohmann() const {
  switch (type()) {
    case Type::NULL_VALUE:
      return nullptr;
    case Type::BOOL:
      return get_bool();
    case Type::INT64:  // nlohmann reads a non-negative integer as unsigned
      return get_int64() >= 0 ? nlohmann::json(static_cast<uint64_t>(get_int64()))
                              : nlohmann::json(get_int64());
    case Type::UINT64:
      return get_uint64();
    case Type::DOUBLE:
      return get_double();
    case Type::STRING:
      return std::string(get_string());
    case Type::ARRAY: {
      nlohmann::json out = nlohmann::json::array();
      (void)ForEachElement([&](size_t, SimdjsonView element) {
        out.push_back(element.ToNlohmann());
        return absl::OkStatus();
      });
      return out;
    }
    case Type::OBJECT:
      break;
  }
  nlohmann::json out = nlohmann::json::object();
  (void)ForEachMember([&](absl::string_view key, SimdjsonView value) {
    out[std::string(key)] = value.ToNlohmann();  // the last of a repeated key, as nlohmann
    return absl::OkStatus();
  });
  return out;
}

}  // namespace aarthik::transcode
