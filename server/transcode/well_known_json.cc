#include "server/transcode/well_known_json.h"

#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace aarthik::transcode {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Message;
using google::protobuf::Struct;
using google::protobuf::Value;
using nlohmann::json;

absl::Status TooDeep() { return absl::InvalidArgumentError("nested too deeply"); }

template <typename View>
absl::Status ToValue(View in, Value* out, int depth_left);

template <typename View>
absl::Status ToStruct(View in, Struct* out, int depth_left) {
  if (!in.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("expected an object, got ", in.type_name()));
  }
  if (depth_left <= 0) return TooDeep();
  auto& fields = *out->mutable_fields();
  return in.ForEachMember([&](absl::string_view key, View value) {
    // A key given twice: the last copy is the value, as nlohmann keeps it (simdjson hands every
    // copy over, and decoding into the kept Value would merge a list into the first one's).
    Value& slot = fields[std::string(key)];
    slot.Clear();
    return ToValue(value, &slot, depth_left - 1);
  });
}

template <typename View>
absl::Status ToList(View in, ListValue* out, int depth_left) {
  if (!in.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("expected an array, got ", in.type_name()));
  }
  if (depth_left <= 0) return TooDeep();
  out->mutable_values()->Reserve(static_cast<int>(in.size()));
  return in.ForEachElement(
      [&](size_t, View element) { return ToValue(element, out->add_values(), depth_left - 1); });
}

template <typename View>
absl::Status ToValue(View in, Value* out, int depth_left) {
  if (in.is_null()) {
    out->set_null_value(google::protobuf::NULL_VALUE);
  } else if (in.is_boolean()) {
    out->set_bool_value(in.get_bool());
  } else if (in.is_number()) {
    out->set_number_value(in.get_double());
  } else if (in.is_string()) {
    out->set_string_value(std::string(in.get_string()));
  } else if (in.is_object()) {
    return ToStruct(in, out->mutable_struct_value(), depth_left);
  } else if (in.is_array()) {
    return ToList(in, out->mutable_list_value(), depth_left);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unsupported JSON ", in.type_name()));
  }
  return absl::OkStatus();
}

// Bounded by `limit`, so it is safe on hostile input (converters recurse without bound).
template <typename View>
bool NestsDeeperThan(View value, int limit) {
  if (!value.is_object() && !value.is_array()) return false;
  if (limit <= 0) return true;
  bool deeper = false;
  auto check = [&](View element) {
    if (NestsDeeperThan(element, limit - 1)) deeper = true;
    return deeper ? absl::CancelledError("") : absl::OkStatus();
  };
  if (value.is_object()) {
    (void)value.ForEachMember([&](absl::string_view, View element) { return check(element); });
  } else {
    (void)value.ForEachElement([&](size_t, View element) { return check(element); });
  }
  return deeper;
}

template <typename View>
absl::Status DecodeWellKnownView(View json, Message* message, int depth_left) {
  // The generated classes, when that is what `message` is: the fast path.
  if (auto* s = dynamic_cast<Struct*>(message)) return ToStruct(json, s, depth_left);
  if (auto* v = dynamic_cast<Value*>(message)) return ToValue(json, v, depth_left);
  if (auto* l = dynamic_cast<ListValue*>(message)) return ToList(json, l, depth_left);
  if (NestsDeeperThan(json, depth_left)) return TooDeep();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  message->Clear();
  if (!google::protobuf::util::JsonStringToMessage(json.ToNlohmann().dump(), message, options)
           .ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid ", message->GetDescriptor()->full_name()));
  }
  return absl::OkStatus();
}

json FromValue(const Value& value);

json FromStruct(const Struct& in) {
  json out = json::object();
  for (const auto& [key, value] : in.fields()) out.emplace(key, FromValue(value));
  return out;
}

json FromList(const ListValue& in) {
  json out = json::array();
  for (const Value& value : in.values()) out.push_back(FromValue(value));
  return out;
}

json FromValue(const Value& value) {
  switch (value.kind_case()) {
    case Value::kNumberValue:
      return DoubleToJson(value.number_value());
    case Value::kStringValue:
      return value.string_value();
    case Value::kBoolValue:
      return value.bool_value();
    case Value::kStructValue:
      return FromStruct(value.struct_value());
    case Value::kListValue:
      return FromList(value.list_value());
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      return nullptr;
  }
  return nullptr;
}

}  // namespace

bool IsWellKnownType(const google::protobuf::Descriptor* descriptor) {
  return absl::StartsWith(descriptor->full_name(), "google.protobuf.");
}

json DoubleToJson(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  // Below 2^53 an integral double is exactly an int64, and prints as proto3 JSON prints it.
  if (std::trunc(value) == value && std::fabs(value) < 9007199254740992.0) {
    return static_cast<int64_t>(value);
  }
  return value;
}

absl::Status DecodeWellKnown(const json& json, Message* message, int depth_left) {
  return DecodeWellKnownView(NlohmannView(json), message, depth_left);
}

absl::Status DecodeWellKnown(NlohmannView json, Message* message, int depth_left) {
  return DecodeWellKnownView(json, message, depth_left);
}

absl::Status DecodeWellKnown(SimdjsonView json, Message* message, int depth_left) {
  return DecodeWellKnownView(json, message, depth_left);
}

absl::StatusOr<json> EncodeWellKnown(const Message& message) {
  if (auto* s = dynamic_cast<const Struct*>(&message)) return FromStruct(*s);
  if (auto* v = dynamic_cast<const Value*>(&message)) return FromValue(*v);
  if (auto* l = dynamic_cast<const ListValue*>(&message)) return FromList(*l);
  std::string text;
  auto status = google::protobuf::util::MessageToJsonString(message, &text);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot encode ", message.GetTypeName(),
                                            " as JSON: ", status.message().ToString()));
  }
  return json::parse(text);
}

}  // namespace aarthik::transcode
