// Read-only views of a parsed JSON value, one interface over two parsers, so that JsonCodec's
// decoder is written once: NlohmannView (the trees the rest of the gateway builds) and
// SimdjsonView (simdjson_view.h: the platform's success replies on the hot path, parsed into a
// flat tape several times faster than nlohmann's tree).
//
//   nlohmann::json tree = nlohmann::json::parse(text);
//   codec.Decode(NlohmannView(tree["data"]), &response);
//
// A view does not own its value; it is valid while the value is. Number kinds follow nlohmann's
// split: is_number_unsigned (a non-negative integer), is_number_integer (any integer),
// is_number_float (a fraction or an exponent).
//
// Thread-safety: as the viewed value (read-only use from any thread is fine).
#ifndef AARTHIK_SERVER_TRANSCODE_JSON_VIEW_H_
#define AARTHIK_SERVER_TRANSCODE_JSON_VIEW_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace aarthik::transcode {

class NlohmannView {
 public:
  explicit NlohmannView(const nlohmann::json& json) : json_(&json) {}

  bool is_null() const { return json_->is_null(); }
  bool is_object() const { return json_->is_object(); }
  bool is_array() const { return json_->is_array(); }
  bool is_string() const { return json_->is_string(); }
  bool is_boolean() const { return json_->is_boolean(); }
  bool is_number() const { return json_->is_number(); }
  bool is_number_integer() const { return json_->is_number_integer(); }
  bool is_number_unsigned() const { return json_->is_number_unsigned(); }
  bool is_number_float() const { return json_->is_number_float(); }
  const char* type_name() const { return json_->type_name(); }

  bool get_bool() const { return json_->get<bool>(); }
  int64_t get_int64() const { return json_->get<int64_t>(); }
  uint64_t get_uint64() const { return json_->get<uint64_t>(); }
  double get_double() const { return json_->get<double>(); }
  absl::string_view get_string() const { return json_->get_ref<const std::string&>(); }

  size_t size() const { return json_->size(); }
  // `visit(key, value_view)` for each member in order; stops at the first error.
  template <typename Visit>
  absl::Status ForEachMember(Visit&& visit) const {
    for (auto it = json_->begin(); it != json_->end(); ++it) {
      if (absl::Status s = visit(absl::string_view(it.key()), NlohmannView(it.value())); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }
  // `visit(index, element_view)` for each element; stops at the first error.
  template <typename Visit>
  absl::Status ForEachElement(Visit&& visit) const {
    for (size_t i = 0; i < json_->size(); ++i) {
      if (absl::Status s = visit(i, NlohmannView((*json_)[i])); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  nlohmann::json ToNlohmann() const { return *json_; }

 private:
  const nlohmann::json* json_;
};

}  // namespace aarthik::transcode

#endif  // AARTHIK_SERVER_TRANSCODE_JSON_VIEW_H_
