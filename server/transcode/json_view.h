// Read-only views of a parsed JSON value, one interface over two parsers, so that JsonCodec's
// decoder is written once: NlohmannView (the trees the rest of the gateway builds) and
// RapidJsonView (the platform's success replies on the hot path: RapidJSON parses into a pooled
// document without an allocation per node, several times faster than nlohmann's tree).
//
//   rapidjson::Document document;
//   document.Parse(body.data(), body.size());
//   codec.Decode(RapidJsonView(document["data"]), &response);
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
#include "rapidjson/document.h"

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

class RapidJsonView {
 public:
  explicit RapidJsonView(const rapidjson::Value& value) : value_(&value) {}

  bool is_null() const { return value_->IsNull(); }
  bool is_object() const { return value_->IsObject(); }
  bool is_array() const { return value_->IsArray(); }
  bool is_string() const { return value_->IsString(); }
  bool is_boolean() const { return value_->IsBool(); }
  bool is_number() const { return value_->IsNumber(); }
  bool is_number_integer() const { return value_->IsInt64() || value_->IsUint64(); }
  bool is_number_unsigned() const { return value_->IsUint64(); }
  bool is_number_float() const { return value_->IsDouble(); }
  const char* type_name() const;

  bool get_bool() const { return value_->GetBool(); }
  int64_t get_int64() const { return value_->GetInt64(); }
  uint64_t get_uint64() const { return value_->GetUint64(); }
  double get_double() const { return value_->GetDouble(); }
  absl::string_view get_string() const {
    return absl::string_view(value_->GetString(), value_->GetStringLength());
  }

  size_t size() const { return value_->Size(); }
  template <typename Visit>
  absl::Status ForEachMember(Visit&& visit) const {
    for (auto it = value_->MemberBegin(); it != value_->MemberEnd(); ++it) {
      absl::string_view key(it->name.GetString(), it->name.GetStringLength());
      if (absl::Status s = visit(key, RapidJsonView(it->value)); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  template <typename Visit>
  absl::Status ForEachElement(Visit&& visit) const {
    for (rapidjson::SizeType i = 0; i < value_->Size(); ++i) {
      if (absl::Status s = visit(static_cast<size_t>(i), RapidJsonView((*value_)[i])); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }
  // For the rare well-known types decoded through protobuf's JSON util.
  nlohmann::json ToNlohmann() const;

 private:
  const rapidjson::Value* value_;
};

}  // namespace aarthik::transcode

#endif  // AARTHIK_SERVER_TRANSCODE_JSON_VIEW_H_
