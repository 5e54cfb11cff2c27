// JsonCodec's encoding half: one pass from a message through reflection into an nlohmann tree, in
// proto3 JSON's shapes with the platform's names.
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/transcode/json_codec.h"
#include "server/transcode/well_known_json.h"

namespace aarthik::transcode {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using nlohmann::json;

// A float prints with the digits it was given (0.1f as 0.1, not 0.100000001490116), as protobuf's
// JSON printer does.
json FloatToJson(float value) {
  if (!std::isfinite(value)) return DoubleToJson(value);
  char text[32];
  std::snprintf(text, sizeof(text), "%.*g", FLT_DIG, value);
  if (std::strtof(text, nullptr) != value) {
    std::snprintf(text, sizeof(text), "%.*g", FLT_DIG + 3, value);
  }
  return DoubleToJson(std::strtod(text, nullptr));
}

std::string MapKey(const Message& entry, const FieldDescriptor* key) {
  const Reflection* r = entry.GetReflection();
  switch (key->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(r->GetInt32(entry, key));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(r->GetInt64(entry, key));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(r->GetUInt32(entry, key));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(r->GetUInt64(entry, key));
    case FieldDescriptor::CPPTYPE_BOOL:
      return r->GetBool(entry, key) ? "true" : "false";
    default:
      return r->GetString(entry, key);
  }
}

}  // namespace

absl::StatusOr<json> JsonCodec::EncodeJson(const Message& message, bool print_defaults) const {
  if (IsWellKnownType(message.GetDescriptor())) return EncodeWellKnown(message);
  json out = json::object();
  if (absl::Status s = EncodeObject(message, print_defaults, &out); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> JsonCodec::Encode(const Message& message) const {
  absl::StatusOr<json> json = EncodeJson(message);
  if (!json.ok()) return json.status();
  return json->dump();
}

absl::Status JsonCodec::EncodeObject(const Message& message, bool print_defaults, json* out) const {
  const Reflection* r = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  if (print_defaults) {
    // As protobuf's always_print_primitive_fields: every field without presence, at its default;
    // unset messages, oneof members and proto3 optionals stay absent.
    const auto* descriptor = message.GetDescriptor();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* field = descriptor->field(i);
      if (field->is_repeated() || !field->has_presence() || r->HasField(message, field)) {
        fields.push_back(field);
      }
    }
  } else {
    r->ListFields(message, &fields);
  }
  for (const FieldDescriptor* field : fields) {
    absl::StatusOr<json> value = EncodeField(message, field, print_defaults);
    if (!value.ok()) return value.status();
    out->emplace(field->json_name(), *std::move(value));
  }
  return absl::OkStatus();
}

absl::StatusOr<json> JsonCodec::EncodeField(const Message& message, const FieldDescriptor* field,
                                            bool print_defaults) const {
  if (!field->is_repeated()) return EncodeValue(message, field, -1, print_defaults);
  const Reflection* r = message.GetReflection();
  const int size = r->FieldSize(message, field);
  if (field->is_map()) {
    const FieldDescriptor* key = field->message_type()->map_key();
    const FieldDescriptor* value = field->message_type()->map_value();
    json out = json::object();
    for (int i = 0; i < size; ++i) {
      const Message& entry = r->GetRepeatedMessage(message, field, i);
      absl::StatusOr<json> encoded = EncodeValue(entry, value, -1, print_defaults);
      if (!encoded.ok()) return encoded.status();
      out[MapKey(entry, key)] = *std::move(encoded);
    }
    return out;
  }
  json out = json::array();
  out.get_ref<json::array_t&>().reserve(size);
  for (int i = 0; i < size; ++i) {
    absl::StatusOr<json> encoded = EncodeValue(message, field, i, print_defaults);
    if (!encoded.ok()) return encoded.status();
    out.push_back(*std::move(encoded));
  }
  return out;
}

absl::StatusOr<json> JsonCodec::EncodeValue(const Message& message, const FieldDescriptor* field,
                                            int index, bool print_defaults) const {
  const Reflection* r = message.GetReflection();
  const bool one = index < 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return one ? r->GetInt32(message, field) : r->GetRepeatedInt32(message, field, index);
    case FieldDescriptor::CPPTYPE_UINT32:
      return one ? r->GetUInt32(message, field) : r->GetRepeatedUInt32(message, field, index);
    // proto3 JSON prints 64-bit integers as strings, so no JavaScript reader loses digits.
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(one ? r->GetInt64(message, field)
                              : r->GetRepeatedInt64(message, field, index));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(one ? r->GetUInt64(message, field)
                              : r->GetRepeatedUInt64(message, field, index));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return DoubleToJson(one ? r->GetDouble(message, field)
                              : r->GetRepeatedDouble(message, field, index));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return FloatToJson(one ? r->GetFloat(message, field)
                             : r->GetRepeatedFloat(message, field, index));
    case FieldDescriptor::CPPTYPE_BOOL:
      return one ? r->GetBool(message, field) : r->GetRepeatedBool(message, field, index);
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& text =
          one ? r->GetStringReference(message, field, &scratch)
              : r->GetRepeatedStringReference(message, field, index, &scratch);
      if (field->type() == FieldDescriptor::TYPE_BYTES) return absl::Base64Escape(text);
      return text;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number =
          one ? r->GetEnumValue(message, field) : r->GetRepeatedEnumValue(message, field, index);
      if (number == 0) return nullptr;  // UNSPECIFIED is the platform's null
      if (auto names = enums_.find(field->enum_type()); names != enums_.end()) {
        auto wire = names->second.number_to_wire.find(number);
        if (wire != names->second.number_to_wire.end()) return wire->second;
      }
      const auto* value = field->enum_type()->FindValueByNumber(number);
      if (value == nullptr) return number;  // open enum: a number we have no name for
      return EnumWireName(*value);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return EncodeJson(
          one ? r->GetMessage(message, field) : r->GetRepeatedMessage(message, field, index),
          print_defaults);
  }
  return absl::InternalError(absl::StrCat("unsupported type of field ", field->full_name()));
}

}  // namespace aarthik::transcode
