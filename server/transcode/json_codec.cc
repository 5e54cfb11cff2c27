#include "server/transcode/json_codec.h"

#include "aarthik/gateway/v1/options.pb.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "server/transcode/well_known_json.h"

namespace aarthik::transcode {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;

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
  if (IsWellKnownType(descriptor) || messages_.contains(descriptor)) return;
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
    if (value->number() == 0) continue;  // UNSPECIFIED stands for null/absent; never on the wire.
    std::string wire = EnumWireName(*value);
    names.wire_to_number.emplace(wire, value->number());
    names.number_to_wire.emplace(value->number(), std::move(wire));
  }
}

const FieldDescriptor* JsonCodec::FindField(const Descriptor* descriptor,
                                            absl::string_view key) const {
  if (auto fields = messages_.find(descriptor); fields != messages_.end()) {
    auto field = fields->second.find(key);
    return field == fields->second.end() ? nullptr : field->second;
  }
  for (int i = 0; i < descriptor->field_count(); ++i) {
    if (descriptor->field(i)->json_name() == key) return descriptor->field(i);
  }
  return descriptor->FindFieldByName(std::string(key));
}

std::optional<int> JsonCodec::FindEnumNumber(const EnumDescriptor* descriptor,
                                             absl::string_view wire) const {
  if (auto names = enums_.find(descriptor); names != enums_.end()) {
    auto number = names->second.wire_to_number.find(wire);
    if (number == names->second.wire_to_number.end()) return std::nullopt;
    return number->second;
  }
  for (int i = 0; i < descriptor->value_count(); ++i) {
    const EnumValueDescriptor* value = descriptor->value(i);
    if (value->number() != 0 && EnumWireName(*value) == wire) return value->number();
  }
  return std::nullopt;
}

std::string JsonCodec::WireName(const EnumValueDescriptor& value) const {
  if (auto names = enums_.find(value.type()); names != enums_.end()) {
    auto wire = names->second.number_to_wire.find(value.number());
    if (wire != names->second.number_to_wire.end()) return wire->second;
  }
  return EnumWireName(value);
}

}  // namespace aarthik::transcode
