#include "server/transcode/json_codec.h"

#include "aarthik/gateway/v1/options.pb.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace aarthik::transcode {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;

// Well-known types (Struct, Value, Timestamp, ...) have their own JSON mapping: never rewrite
// inside them.
bool IsWellKnown(const Descriptor* descriptor) {
  return absl::StartsWith(descriptor->full_name(), "google.protobuf.");
}

std::string UpperSnake(absl::string_view camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    char c = camel[i];
    if (absl::ascii_isupper(c) && i > 0 && absl::ascii_islower(camel[i - 1])) out.push_back('_');
    out.push_back(absl::ascii_toupper(c));
  }
  return out;
}

}  // namespace

std::string EnumWireName(const EnumValueDescriptor& value) {
  const auto& options = value.options().GetExtension(gateway::v1::enum_value);
  if (!options.wire_value().empty()) return options.wire_value();
  std::string prefix = UpperSnake(value.type()->name()) + "_";
  absl::string_view name = value.name();
  if (absl::StartsWith(name, prefix)) name.remove_prefix(prefix.size());
  return std::string(name);
}

JsonCodec::JsonCodec(const std::vector<const Descriptor*>& roots) {
  for (const Descriptor* root : roots) Index(root);
}

void JsonCodec::Index(const Descriptor* descriptor) {
  if (IsWellKnown(descriptor) || messages_.contains(descriptor)) return;
  FieldsByKey& fields = messages_[descriptor];
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    fields.emplace(field->json_name(), field);
    fields.emplace(field->name(), field);
    for (const std::string& alias :
         field->options().GetExtension(gateway::v1::field).json_aliases()) {
      fields.emplace(alias, field);
    }
  }
  // Recurse after this message's entry exists, so recursive types terminate.
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->type() == FieldDescriptor::TYPE_ENUM) IndexEnum(field->enum_type());
    if (field->type() == FieldDescriptor::TYPE_MESSAGE) Index(field->message_type());
  }
}

void JsonCodec::IndexEnum(const EnumDescriptor* descriptor) {
  if (enums_.contains(descriptor)) return;
  EnumNames& names = enums_[descriptor];
  for (int i = 0; i < descriptor->value_count(); ++i) {
    const EnumValueDescriptor* value = descriptor->value(i);
    if (value->number() == 0) {  // UNSPECIFIED stands for null/absent; never on the wire.
      names.unspecified = value->name();
      continue;
    }
    std::string wire = EnumWireName(*value);
    names.wire_to_proto.emplace(wire, value->name());
    names.proto_to_wire.emplace(value->name(), wire);
  }
}

std::string JsonCodec::WireName(const EnumValueDescriptor& value) const {
  auto it = enums_.find(value.type());
  if (it != enums_.end()) {
    auto wire = it->second.proto_to_wire.find(value.name());
    if (wire != it->second.proto_to_wire.end()) return wire->second;
  }
  return EnumWireName(value);
}

bool JsonCodec::ValueToProto(nlohmann::json& value, const FieldDescriptor* field) const {
  if (value.is_null()) return false;
  if (field->is_map()) {
    if (!value.is_object()) return true;  // let the parser report the type error
    const FieldDescriptor* value_field = field->message_type()->map_value();
    for (auto it = value.begin(); it != value.end();) {
      if (!ValueToProto(it.value(), value_field)) {
        it = value.erase(it);
      } else {
        ++it;
      }
    }
    return true;
  }
  if (field->is_repeated() && value.is_array()) {
    nlohmann::json kept = nlohmann::json::array();
    for (nlohmann::json& element : value) {
      if (element.is_null()) continue;
      if (field->type() == FieldDescriptor::TYPE_ENUM ||
          field->type() == FieldDescriptor::TYPE_MESSAGE) {
        // Elements are rewritten as if each were a singular field.
        if (field->type() == FieldDescriptor::TYPE_ENUM) {
          auto names = enums_.find(field->enum_type());
          if (names == enums_.end() || !element.is_string()) continue;
          auto proto = names->second.wire_to_proto.find(element.get_ref<const std::string&>());
          if (proto == names->second.wire_to_proto.end()) continue;  // unknown future value: drop
          element = proto->second;
        } else if (!IsWellKnown(field->message_type()) && element.is_object()) {
          ToProtoSpelling(element, field->message_type());
        }
      }
      kept.push_back(std::move(element));
    }
    value = std::move(kept);
    return true;
  }
  if (field->type() == FieldDescriptor::TYPE_ENUM) {
    auto names = enums_.find(field->enum_type());
    if (names == enums_.end() || !value.is_string()) return value.is_number_integer();
    auto proto = names->second.wire_to_proto.find(value.get_ref<const std::string&>());
    if (proto == names->second.wire_to_proto.end())
      return false;  // unknown future value: UNSPECIFIED
    value = proto->second;
    return true;
  }
  if (field->type() == FieldDescriptor::TYPE_MESSAGE && !IsWellKnown(field->message_type()) &&
      value.is_object()) {
    ToProtoSpelling(value, field->message_type());
  }
  return true;
}

void JsonCodec::ToProtoSpelling(nlohmann::json& object, const Descriptor* descriptor) const {
  auto fields = messages_.find(descriptor);
  if (fields == messages_.end()) return;
  nlohmann::json out = nlohmann::json::object();
  for (auto it = object.begin(); it != object.end(); ++it) {
    auto field = fields->second.find(it.key());
    if (field == fields->second.end()) continue;  // unknown field: ignored
    if (!ValueToProto(it.value(), field->second)) continue;
    out[field->second->json_name()] = std::move(it.value());
  }
  object = std::move(out);
}

void JsonCodec::ValueToWire(nlohmann::json& value, const FieldDescriptor* field) const {
  if (field->is_map()) {
    if (!value.is_object()) return;
    const FieldDescriptor* value_field = field->message_type()->map_value();
    for (auto& [key, element] : value.items()) ValueToWire(element, value_field);
    return;
  }
  if (field->is_repeated() && value.is_array()) {
    for (nlohmann::json& element : value) {
      if (field->type() == FieldDescriptor::TYPE_ENUM && element.is_string()) {
        EnumToWire(element, field->enum_type());
      } else if (field->type() == FieldDescriptor::TYPE_MESSAGE && element.is_object() &&
                 !IsWellKnown(field->message_type())) {
        ToWireSpelling(element, field->message_type());
      }
    }
    return;
  }
  if (field->type() == FieldDescriptor::TYPE_ENUM && value.is_string()) {
    EnumToWire(value, field->enum_type());
  } else if (field->type() == FieldDescriptor::TYPE_MESSAGE && value.is_object() &&
             !IsWellKnown(field->message_type())) {
    ToWireSpelling(value, field->message_type());
  }
}

void JsonCodec::EnumToWire(nlohmann::json& value, const EnumDescriptor* descriptor) const {
  auto names = enums_.find(descriptor);
  if (names == enums_.end()) return;
  const std::string& name = value.get_ref<const std::string&>();
  if (name == names->second.unspecified) {
    value = nullptr;
    return;
  }
  auto wire = names->second.proto_to_wire.find(name);
  if (wire != names->second.proto_to_wire.end()) value = wire->second;
}

void JsonCodec::ToWireSpelling(nlohmann::json& object, const Descriptor* descriptor) const {
  auto fields = messages_.find(descriptor);
  if (fields == messages_.end()) return;
  for (auto it = object.begin(); it != object.end(); ++it) {
    auto field = fields->second.find(it.key());
    if (field != fields->second.end()) ValueToWire(it.value(), field->second);
  }
}

absl::StatusOr<nlohmann::json> JsonCodec::EncodeJson(const google::protobuf::Message& message,
                                                     bool print_defaults) const {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = print_defaults;
  options.preserve_proto_field_names = false;  // json_name carries the platform's spelling
  auto status = google::protobuf::util::MessageToJsonString(message, &text, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot encode ", message.GetTypeName(),
                                            " as JSON: ", status.message().ToString()));
  }
  nlohmann::json json = nlohmann::json::parse(text);
  ToWireSpelling(json, message.GetDescriptor());
  return json;
}

absl::StatusOr<std::string> JsonCodec::Encode(const google::protobuf::Message& message) const {
  absl::StatusOr<nlohmann::json> json = EncodeJson(message);
  if (!json.ok()) return json.status();
  return json->dump();
}

absl::Status JsonCodec::Decode(nlohmann::json json, google::protobuf::Message* message) const {
  if (!json.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a JSON object for ", message->GetTypeName(), ", got ", json.type_name()));
  }
  ToProtoSpelling(json, message->GetDescriptor());
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(json.dump(), message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("JSON does not fit ", message->GetTypeName(),
                                                   ": ", status.message().ToString()));
  }
  return absl::OkStatus();
}

absl::Status JsonCodec::Decode(absl::string_view json_text,
                               google::protobuf::Message* message) const {
  nlohmann::json json = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr,
                                              /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  return Decode(std::move(json), message);
}

}  // namespace aarthik::transcode
