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

bool IsLenient(const FieldDescriptor* field) {
  return field->options().GetExtension(gateway::v1::field).lenient() ||
         field->containing_type()->options().GetExtension(gateway::v1::message).lenient();
}

}  // namespace

absl::string_view FieldDropName(FieldDrop reason) {
  switch (reason) {
    case FieldDrop::kUnknownField:
      return "unknown_field";
    case FieldDrop::kUnknownEnum:
      return "unknown_enum";
    case FieldDrop::kShapeMismatch:
      return "shape_mismatch";
  }
  return "unknown";
}

std::string JsonCodec::Walk::Path() const {
  std::vector<absl::string_view> segments;
  for (const Walk* w = this; w != nullptr; w = w->parent) {
    if (!w->segment.empty()) segments.push_back(w->segment);
  }
  std::string path;
  for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
    const bool joins = it->front() == '[' || it->front() == '{';
    if (!path.empty() && !joins) path.push_back('.');
    path.append(it->data(), it->size());
  }
  return path;
}

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
    const KeyedField entry{field, IsLenient(field)};
    fields.emplace(field->json_name(), entry);
    fields.emplace(field->name(), entry);
  }
  // Aliases after every field's own names: an alias that is another field's name makes that key
  // fill both fields (options.proto, json_aliases).
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    for (const std::string& alias :
         field->options().GetExtension(gateway::v1::field).json_aliases()) {
      auto [it, added] = fields.emplace(alias, KeyedField{field, IsLenient(field)});
      if (!added && it->second.field != field && it->second.also == nullptr) {
        it->second.also = field;
        it->second.also_lenient = IsLenient(field);
      }
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

const JsonCodec::FieldsByKey* JsonCodec::FieldsOf(const Descriptor* descriptor) const {
  auto fields = messages_.find(descriptor);
  return fields == messages_.end() ? nullptr : &fields->second;
}

const JsonCodec::KeyedField* JsonCodec::FindField(const Descriptor* descriptor,
                                                  const FieldsByKey* fields, absl::string_view key,
                                                  KeyedField* scratch) const {
  if (fields != nullptr) {
    auto field = fields->find(key);
    return field == fields->end() ? nullptr : &field->second;
  }
  // A message outside the indexed roots: the slow way, without aliases.
  const FieldDescriptor* found = nullptr;
  for (int i = 0; i < descriptor->field_count() && found == nullptr; ++i) {
    if (descriptor->field(i)->json_name() == key) found = descriptor->field(i);
  }
  if (found == nullptr) found = descriptor->FindFieldByName(std::string(key));
  if (found == nullptr) return nullptr;
  *scratch = KeyedField{found, IsLenient(found)};
  return scratch;
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
