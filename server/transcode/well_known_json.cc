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

// Bounded by `limit`, so it is safe on hostile input (nlohmann's dump() recurses without bound).
bool NestsDeeperThan(const json& value, int limit) {
  if (!value.is_structured()) return false;
  if (limit <= 0) return true;
  for (const json& element : value) {
    if (NestsDeeperThan(element, limit - 1)) return true;
  }
  return false;
}

absl::Status ToValue(const json& in, Value* out, int depth_left);

absl::Status ToStruct(const json& in, Struct* out, int depth_left) {
  if (!in.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("expected an object, got ", in.type_name()));
  }
  if (depth_left <= 0) return TooDeep();
  auto& fields = *out->mutable_fields();
  for (auto it = in.begin(); it != in.end(); ++it) {
    if (absl::Status s = ToValue(it.value(), &fields[it.key()], depth_left - 1); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ToList(const json& in, ListValue* out, int depth_left) {
  if (!in.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat("expected an array, got ", in.type_name()));
  }
  if (depth_left <= 0) return TooDeep();
  out->mutable_values()->Reserve(static_cast<int>(in.size()));
  for (const json& element : in) {
    if (absl::Status s = ToValue(element, out->add_values(), depth_left - 1); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ToValue(const json& in, Value* out, int depth_left) {
  switch (in.type()) {
    case json::value_t::null:
      out->set_null_value(google::protobuf::NULL_VALUE);
      return absl::OkStatus();
    case json::value_t::boolean:
      out->set_bool_value(in.get<bool>());
      return absl::OkStatus();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      out->set_number_value(in.get<double>());
      return absl::OkStatus();
    case json::value_t::string:
      out->set_string_value(in.get_ref<const std::string&>());
      return absl::OkStatus();
    case json::value_t::object:
      return ToStruct(in, out->mutable_struct_value(), depth_left);
    case json::value_t::array:
      return ToList(in, out->mutable_list_value(), depth_left);
    default:
      return absl::InvalidArgumentError(absl::StrCat("unsupported JSON ", in.type_name()));
  }
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
  // The generated classes, when that is what `message` is: the fast path.
  if (auto* s = dynamic_cast<Struct*>(message)) return ToStruct(json, s, depth_left);
  if (auto* v = dynamic_cast<Value*>(message)) return ToValue(json, v, depth_left);
  if (auto* l = dynamic_cast<ListValue*>(message)) return ToList(json, l, depth_left);
  if (NestsDeeperThan(json, depth_left)) return TooDeep();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  message->Clear();
  if (!google::protobuf::util::JsonStringToMessage(json.dump(), message, options).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid ", message->GetDescriptor()->full_name()));
  }
  return absl::OkStatus();
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
