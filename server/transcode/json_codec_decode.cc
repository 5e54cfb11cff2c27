// JsonCodec's decoding half: one pass from a parsed JSON value (json_view.h: an nlohmann tree, or
// a simdjson document on the hot path) into a message through reflection.
//
// Errors travel up as INVALID_ARGUMENT whose message is "<path>: <what>"; a leaf starts with an
// empty path (": expected ...") and each level prepends its segment, so the caller reads
// `kids[0].embedURL: expected a string, got number`.
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/transcode/json_codec.h"
#include "server/transcode/well_known_json.h"

namespace aarthik::transcode {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Platform payloads nest a handful of levels; this only stops hostile input from exhausting the
// stack.
constexpr int kMaxDepth = 64;

absl::Status Leaf(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(": ", what));
}

template <typename View>
absl::Status Expected(absl::string_view what, View got) {
  return Leaf(absl::StrCat("expected ", what, ", got ", got.type_name()));
}

absl::Status AtPath(absl::string_view segment, const absl::Status& inner) {
  absl::string_view rest = inner.message();
  const bool joins =
      rest.empty() || rest.front() == ':' || rest.front() == '[' || rest.front() == '{';
  return absl::Status(inner.code(), absl::StrCat(segment, joins ? "" : ".", rest));
}

// The fields of one message an object has set so far: a bit each, heap only past 64 fields.
class SetFields {
 public:
  // False when the field was set before.
  bool Insert(int index) {
    if (ABSL_PREDICT_TRUE(index < 64)) {
      const uint64_t bit = uint64_t{1} << index;
      const bool fresh = (low_ & bit) == 0;
      low_ |= bit;
      return fresh;
    }
    const size_t high = static_cast<size_t>(index - 64);
    if (high >= high_.size()) high_.resize(high + 1);
    const bool fresh = !high_[high];
    high_[high] = true;
    return fresh;
  }

 private:
  uint64_t low_ = 0;
  std::vector<bool> high_;
};

// proto3 JSON integers: a JSON integer, an integral double, or a decimal string, in range.
template <typename T, typename View>
absl::StatusOr<T> ToInteger(View value) {
  constexpr T kMin = std::numeric_limits<T>::min();
  constexpr T kMax = std::numeric_limits<T>::max();
  const absl::Status out_of_range =
      Leaf(std::is_unsigned_v<T> ? "out of range for an unsigned integer"
                                 : "out of range for an integer");
  if (value.is_number_unsigned()) {
    const uint64_t u = value.get_uint64();
    if (u > static_cast<uint64_t>(kMax)) return out_of_range;
    return static_cast<T>(u);
  }
  if (value.is_number_integer()) {
    const int64_t i = value.get_int64();
    if (i < 0 && std::is_unsigned_v<T>) return out_of_range;
    if (!std::is_unsigned_v<T> &&
        (i < static_cast<int64_t>(kMin) || i > static_cast<int64_t>(kMax)))
      return out_of_range;
    return static_cast<T>(i);
  }
  if (value.is_number_float()) {
    const double d = value.get_double();
    if (!std::isfinite(d) || std::trunc(d) != d) return Leaf("expected an integer, got a fraction");
    // 2^bits (2^(bits-1) when signed) is exact as a double, unlike kMax.
    const double limit = 2.0 * static_cast<double>(kMax / 2 + 1);
    if (d < static_cast<double>(kMin) || d >= limit) return out_of_range;
    return static_cast<T>(d);
  }
  if (value.is_string()) {
    T parsed;
    if (!absl::SimpleAtoi(value.get_string(), &parsed)) {
      return Leaf("expected an integer in the string");
    }
    return parsed;
  }
  return Expected("an integer", value);
}

template <typename View>
absl::StatusOr<double> ToDouble(View value, bool is_float) {
  double d;
  if (value.is_number()) {
    d = value.get_double();
  } else if (value.is_string()) {
    const absl::string_view text = value.get_string();
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (text == "Infinity") return std::numeric_limits<double>::infinity();
    if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
    if (!absl::SimpleAtod(text, &d)) return Leaf("expected a number in the string");
  } else {
    return Expected("a number", value);
  }
  if (is_float && std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max()) {
    return Leaf("out of range for a float");
  }
  return d;
}

template <typename View>
absl::StatusOr<std::string> ToBytes(View value) {
  if (!value.is_string()) return Expected("a base64 string", value);
  std::string bytes;
  const absl::string_view text = value.get_string();
  if (!absl::Base64Unescape(text, &bytes) && !absl::WebSafeBase64Unescape(text, &bytes)) {
    return Leaf("expected base64");
  }
  return bytes;
}

// Map keys are JSON strings; an integral or bool key is spelled in decimal or true/false.
absl::Status SetMapKey(absl::string_view key, const FieldDescriptor* field, Message* entry) {
  const Reflection* r = entry->GetReflection();
  const absl::Status bad_key = Leaf(absl::StrCat("a key is not a ", field->type_name()));
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      r->SetString(entry, field, std::string(key));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_BOOL:
      if (key != "true" && key != "false") return bad_key;
      r->SetBool(entry, field, key == "true");
      return absl::OkStatus();
#define AARTHIK_INTEGER_KEY(CPPTYPE, T, Setter)          \
  case FieldDescriptor::CPPTYPE: {                       \
    T parsed;                                            \
    if (!absl::SimpleAtoi(key, &parsed)) return bad_key; \
    r->Setter(entry, field, parsed);                     \
    return absl::OkStatus();                             \
  }
      AARTHIK_INTEGER_KEY(CPPTYPE_INT32, int32_t, SetInt32)
      AARTHIK_INTEGER_KEY(CPPTYPE_INT64, int64_t, SetInt64)
      AARTHIK_INTEGER_KEY(CPPTYPE_UINT32, uint32_t, SetUInt32)
      AARTHIK_INTEGER_KEY(CPPTYPE_UINT64, uint64_t, SetUInt64)
#undef AARTHIK_INTEGER_KEY
    default:
      return bad_key;  // proto forbids other key types
  }
}

}  // namespace

template <typename View>
absl::Status JsonCodec::DecodeRoot(View json, Message* message, FieldDropSink* drops) const {
  if (!json.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a JSON object for ", message->GetTypeName(), ", got ", json.type_name()));
  }
  // A reply decoded straight into a free-form field (`response_body: "features"`) is a Struct.
  const Walk root{drops, nullptr, {}};
  absl::Status s = IsWellKnownType(message->GetDescriptor())
                       ? DecodeWellKnown(json, message, kMaxDepth)
                       : DecodeObject(json, message, kMaxDepth, root);
  if (!s.ok()) {
    return absl::Status(
        s.code() == absl::StatusCode::kAborted ? s.code() : absl::StatusCode::kInvalidArgument,
        absl::StrCat("JSON does not fit ", message->GetTypeName(), ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status JsonCodec::Decode(const nlohmann::json& json, Message* message,
                               FieldDropSink* drops) const {
  return DecodeRoot(NlohmannView(json), message, drops);
}

absl::Status JsonCodec::Decode(SimdjsonView json, Message* message, FieldDropSink* drops) const {
  return DecodeRoot(json, message, drops);
}

absl::Status JsonCodec::Decode(absl::string_view json_text, Message* message,
                               FieldDropSink* drops) const {
  nlohmann::json parsed = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr,
                                                /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  return Decode(parsed, message, drops);
}

template <typename View>
absl::Status JsonCodec::DecodeObject(View object, Message* message, int depth,
                                     const Walk& at) const {
  if (!object.is_object()) return Expected("an object", object);
  if (depth <= 0) return Leaf("nested too deeply");
  const Descriptor* descriptor = message->GetDescriptor();
  const FieldsByKey* fields = FieldsOf(descriptor);
  const Reflection* reflection = message->GetReflection();
  KeyedField scratch;
  SetFields set;  // the hot path's only: see Decode(SimdjsonView)
  return object.ForEachMember([&](absl::string_view key, View value) -> absl::Status {
    const KeyedField* keyed = FindField(descriptor, fields, key, &scratch);
    if constexpr (std::is_same_v<View, SimdjsonView>) {
      if (keyed != nullptr && ABSL_PREDICT_FALSE(!set.Insert(keyed->field->index()))) {
        return absl::AbortedError(absl::StrCat(key, ": the field is given twice"));
      }
    }
    if (value.is_null()) return absl::OkStatus();  // absent, whether we know the key or not
    const Walk here = at.Member(key);
    if (ABSL_PREDICT_FALSE(keyed == nullptr || keyed->lenient || keyed->also != nullptr)) {
      return DecodeUncommonMember(value, key, keyed, message, depth, here);
    }
    if (absl::Status s = DecodeField(value, keyed->field, false, message, reflection, depth, here);
        !s.ok()) {
      return AtPath(key, s);
    }
    return absl::OkStatus();
  });
}

template <typename View>
ABSL_ATTRIBUTE_NOINLINE absl::Status JsonCodec::DecodeUncommonMember(View value,
                                                                     absl::string_view key,
                                                                     const KeyedField* keyed,
                                                                     Message* message, int depth,
                                                                     const Walk& here) const {
  if (keyed == nullptr) {
    here.Drop(FieldDrop::kUnknownField);
    return absl::OkStatus();
  }
  bool carried = false;
  if (keyed->also != nullptr) {
    // The any-shape field first, so that the typed one's misfit is not reported as a loss when
    // this one carried the value.
    absl::StatusOr<bool> also =
        DecodeMember(value, keyed->also, keyed->also_lenient, false, message, depth, here);
    if (!also.ok()) return AtPath(key, also.status());
    carried = *also;
  }
  absl::StatusOr<bool> kept =
      DecodeMember(value, keyed->field, keyed->lenient, carried, message, depth, here);
  if (!kept.ok()) return AtPath(key, kept.status());
  return absl::OkStatus();
}

template <typename View>
absl::StatusOr<bool> JsonCodec::DecodeMember(View value, const FieldDescriptor* field, bool lenient,
                                             bool quiet, Message* message, int depth,
                                             const Walk& at) const {
  // `quiet`: another field carried this value whole, so nothing inside this copy is a loss.
  const Walk muted{nullptr, at.parent, at.segment};
  absl::Status s = DecodeField(value, field, lenient, message, message->GetReflection(), depth,
                               quiet ? muted : at);
  if (s.ok()) return true;
  if (!lenient || s.code() == absl::StatusCode::kAborted) return s;
  // A shape the contract does not promise: leave the field as if the platform had not sent it.
  message->GetReflection()->ClearField(message, field);
  if (!quiet) at.Drop(FieldDrop::kShapeMismatch);
  return false;
}

template <typename View>
absl::Status JsonCodec::DecodeField(View value, const FieldDescriptor* field, bool lenient,
                                    Message* message, const Reflection* r, int depth,
                                    const Walk& at) const {
  if (field->is_map()) {
    if (!value.is_object()) return Expected("an object", value);
    const FieldDescriptor* key_field = field->message_type()->map_key();
    const FieldDescriptor* value_field = field->message_type()->map_value();
    const Walk entries{at.drops, &at, "{}"};
    return value.ForEachMember([&](absl::string_view key, View item) -> absl::Status {
      if (item.is_null()) return absl::OkStatus();
      Message* entry = r->AddMessage(message, field);
      absl::Status s = SetMapKey(key, key_field, entry);
      absl::StatusOr<bool> kept =
          s.ok() ? DecodeValue(item, value_field, entry, entry->GetReflection(), depth - 1, entries)
                 : s;
      if (!kept.ok() && lenient) {
        // One entry that does not fit is left out; the others stay.
        r->RemoveLast(message, field);
        entries.Drop(FieldDrop::kShapeMismatch);
        return absl::OkStatus();
      }
      if (!kept.ok()) return AtPath("{}", kept.status());
      if (!*kept) r->RemoveLast(message, field);
      return absl::OkStatus();
    });
  }
  if (field->is_repeated()) {
    if (!value.is_array()) return Expected("an array", value);
    const Walk elements{at.drops, &at, "[]"};
    return value.ForEachElement([&](size_t i, View element) -> absl::Status {
      if (element.is_null()) return absl::OkStatus();
      const int size = lenient ? r->FieldSize(*message, field) : 0;  // strict: not needed
      absl::StatusOr<bool> kept = DecodeValue(element, field, message, r, depth - 1, elements);
      if (!kept.ok() && lenient) {
        // One element that does not fit is left out; the others stay.
        while (r->FieldSize(*message, field) > size) r->RemoveLast(message, field);
        elements.Drop(FieldDrop::kShapeMismatch);
        return absl::OkStatus();
      }
      if (!kept.ok()) return AtPath(absl::StrCat("[", i, "]"), kept.status());
      return absl::OkStatus();
    });
  }
  return DecodeValue(value, field, message, r, depth - 1, at).status();
}

template <typename View>
absl::StatusOr<bool> JsonCodec::DecodeValue(View value, const FieldDescriptor* field,
                                            Message* message, const Reflection* r, int depth,
                                            const Walk& at) const {
  const bool add = field->is_repeated();
  switch (field->cpp_type()) {
#define AARTHIK_STORE_INTEGER(CPPTYPE, T, Name)                                          \
  case FieldDescriptor::CPPTYPE: {                                                       \
    absl::StatusOr<T> parsed = ToInteger<T>(value);                                      \
    if (!parsed.ok()) return parsed.status();                                            \
    add ? r->Add##Name(message, field, *parsed) : r->Set##Name(message, field, *parsed); \
    return true;                                                                         \
  }
    AARTHIK_STORE_INTEGER(CPPTYPE_INT32, int32_t, Int32)
    AARTHIK_STORE_INTEGER(CPPTYPE_INT64, int64_t, Int64)
    AARTHIK_STORE_INTEGER(CPPTYPE_UINT32, uint32_t, UInt32)
    AARTHIK_STORE_INTEGER(CPPTYPE_UINT64, uint64_t, UInt64)
#undef AARTHIK_STORE_INTEGER
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      const bool is_float = field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT;
      absl::StatusOr<double> parsed = ToDouble(value, is_float);
      if (!parsed.ok()) return parsed.status();
      if (is_float) {
        add ? r->AddFloat(message, field, static_cast<float>(*parsed))
            : r->SetFloat(message, field, static_cast<float>(*parsed));
      } else {
        add ? r->AddDouble(message, field, *parsed) : r->SetDouble(message, field, *parsed);
      }
      return true;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      if (!value.is_boolean()) return Expected("true or false", value);
      add ? r->AddBool(message, field, value.get_bool())
          : r->SetBool(message, field, value.get_bool());
      return true;
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string text;
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        absl::StatusOr<std::string> bytes = ToBytes(value);
        if (!bytes.ok()) return bytes.status();
        text = *std::move(bytes);
      } else if (value.is_string()) {
        text = std::string(value.get_string());
      } else {
        return Expected("a string", value);
      }
      add ? r->AddString(message, field, std::move(text))
          : r->SetString(message, field, std::move(text));
      return true;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      int number;
      if (value.is_string()) {
        std::optional<int> known = FindEnumNumber(field->enum_type(), value.get_string());
        if (!known) {  // a value the platform added later: dropped, the field stays UNSPECIFIED
          at.Drop(FieldDrop::kUnknownEnum);
          return false;
        }
        number = *known;
      } else if (value.is_number_integer()) {
        absl::StatusOr<int32_t> parsed = ToInteger<int32_t>(value);
        if (!parsed.ok()) return parsed.status();
        number = *parsed;
      } else {
        return Expected("an enum name", value);
      }
      add ? r->AddEnumValue(message, field, number) : r->SetEnumValue(message, field, number);
      return true;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message* sub = add ? r->AddMessage(message, field) : r->MutableMessage(message, field);
      absl::Status s = IsWellKnownType(field->message_type()) ? DecodeWellKnown(value, sub, depth)
                                                              : DecodeObject(value, sub, depth, at);
      if (!s.ok()) {
        // Well-known types say what was wrong without a path; ours carry theirs.
        return IsWellKnownType(field->message_type()) ? Leaf(s.message()) : s;
      }
      return true;
    }
  }
  return Leaf("unsupported field type");
}

}  // namespace aarthik::transcode
