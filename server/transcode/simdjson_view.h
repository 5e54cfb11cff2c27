// SimdjsonView: json_view.h's read-only view interface over a simdjson DOM element, the hot path's
// parse of the platform's success replies (fast_reply.h). simdjson validates the whole text (UTF-8,
// escapes, numbers correctly rounded, no unescaped control characters) while it builds a flat
// tape, several times cheaper than RapidJSON's DOM and an order of magnitude cheaper than
// nlohmann's tree. Its own header because simdjson.h is large: only the hot path's files need it.
//
//   simdjson::dom::parser parser;
//   simdjson::dom::element root;
//   if (parser.parse(body.data(), body.size()).get(root) == simdjson::SUCCESS) {
//     codec.Decode(SimdjsonView(root), &response);
//   }
//
// Number kinds follow nlohmann's split, as the other views: is_number_unsigned (a non-negative
// integer), is_number_integer (any integer), is_number_float (a fraction or an exponent; `-0` is
// the integer 0 in both parsers). Object members come in document order, a repeated key each
// time (nlohmann keeps only the last: JsonCodec declines such a reply, see json_codec.h).
//
// A view does not own its value: it is valid while the parser that produced it is not reused.
// Thread-safety: as the viewed value (read-only use from any thread is fine).
#ifndef AARTHIK_SERVER_TRANSCODE_SIMDJSON_VIEW_H_
#define AARTHIK_SERVER_TRANSCODE_SIMDJSON_VIEW_H_

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace aarthik::transcode {

class SimdjsonView {
 public:
  explicit SimdjsonView(simdjson::dom::element value) : value_(value) {}

  bool is_null() const { return type() == Type::NULL_VALUE; }
  bool is_object() const { return type() == Type::OBJECT; }
  bool is_array() const { return type() == Type::ARRAY; }
  bool is_string() const { return type() == Type::STRING; }
  bool is_boolean() const { return type() == Type::BOOL; }
  bool is_number() const { return is_number_integer() || type() == Type::DOUBLE; }
  bool is_number_integer() const { return type() == Type::INT64 || type() == Type::UINT64; }
  bool is_number_unsigned() const {
    return type() == Type::UINT64 || (type() == Type::INT64 && get_int64() >= 0);
  }
  bool is_number_float() const { return type() == Type::DOUBLE; }
  const char* type_name() const;

  // Each getter is for the kind its predicate said, as NlohmannView's.
  bool get_bool() const { return value_.get_bool().value_unsafe(); }
  int64_t get_int64() const { return value_.get_int64().value_unsafe(); }
  uint64_t get_uint64() const { return value_.get_uint64().value_unsafe(); }
  double get_double() const { return value_.get_double().value_unsafe(); }
  absl::string_view get_string() const {
    const std::string_view text = value_.get_string().value_unsafe();
    return absl::string_view(text.data(), text.size());
  }

  size_t size() const {
    const simdjson::dom::array array = value_.get_array().value_unsafe();
    return array.size();
  }
  // `visit(key, value_view)` for each member in order; stops at the first error.
  template <typename Visit>
  absl::Status ForEachMember(Visit&& visit) const {
    // A copy: the result's value dies with the temporary that holds it.
    const simdjson::dom::object object = value_.get_object().value_unsafe();
    for (const simdjson::dom::key_value_pair member : object) {
      const absl::string_view key(member.key.data(), member.key.size());
      if (absl::Status s = visit(key, SimdjsonView(member.value)); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  // `visit(index, element_view)` for each element; stops at the first error.
  template <typename Visit>
  absl::Status ForEachElement(Visit&& visit) const {
    size_t index = 0;
    const simdjson::dom::array array = value_.get_array().value_unsafe();
    for (const simdjson::dom::element element : array) {
      if (absl::Status s = visit(index++, SimdjsonView(element)); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  // For the rare well-known types decoded through protobuf's JSON util.
  nlohmann::json ToNlohmann() const;

 private:
  using Type = simdjson::dom::element_type;
  Type type() const { return value_.type(); }

  simdjson::dom::element value_;
};

}  // namespace aarthik::transcode

#endif  // AARTHIK_SERVER_TRANSCODE_SIMDJSON_VIEW_H_
