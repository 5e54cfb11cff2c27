// JsonCodec: converts between our proto messages and the platform's JSON, spelled as the platform
// spells it, in one pass over protobuf reflection.
//
// The protos declare everything the platform's JSON needs: json_name gives each field's spelling,
// google.protobuf.Struct carries free-form objects, and our options say what proto3 JSON cannot:
//   - enum values travel under the platform's spelling: JOURNEY_LIFECYCLE_STATUS_STARTED <->
//     "STARTED", GENDER_MALE <-> "male" (`(aarthik.gateway.v1.enum_value).wire_value`);
//   - field aliases (`(aarthik.gateway.v1.field).json_aliases`, e.g. embedUrl for embedURL) decode
//     into the field; an alias that is another field's json_name fills both (a
//     google.protobuf.Value twin that carries any shape beside a typed field).
// Unknown fields, unknown enum values and nulls from the platform are dropped instead of failing,
// so a platform that adds a field or a status does not break callers; each drop but a null is
// reported to the caller's FieldDropSink with its JSON path (never the value). A known field with
// the wrong JSON type is an error, unless the field is `(field).lenient` (or its message
// `(message).lenient`): then the field is left unset, reported as a shape mismatch, and decoding
// goes on. Which fields are lenient is per descriptor, indexed once at construction. Otherwise the
// mapping is proto3 JSON's: 64-bit integers print as strings (and parse from strings or numbers),
// bytes as base64, Timestamp as RFC 3339.
//
// Why not protobuf's JSON util: going through it meant JSON text -> nlohmann tree -> rewritten
// tree -> text -> protobuf's own parser, the largest single cost of a proxied RPC (see
// docs/benchmarks.md). Decoding straight from the tree into the message removes two parses and
// most allocations; protobuf's util remains only for the rarer well-known types (Timestamp, ...).
//
//   JsonCodec codec({GetJourneyStateResponse::descriptor()});
//   absl::Status s = codec.Decode(R"({"status":"OFFERS_PENDING"})", &response);
//   CollectingDropSink drops;  // the gateway's ProxyCall counts and logs (field_drop_log.h)
//   s = codec.Decode(R"({"status":"SOMETHING_NEW"})", &response, &drops);
//   // drops.drops == {{FieldDrop::kUnknownEnum, "status"}}
//   absl::StatusOr<std::string> json = codec.Encode(request_body);
//
// Thread-safety: immutable after construction; Encode/Decode may run concurrently from any thread.
#ifndef AARTHIK_SERVER_TRANSCODE_JSON_CODEC_H_
#define AARTHIK_SERVER_TRANSCODE_JSON_CODEC_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"
#include "server/transcode/json_view.h"
#include "server/transcode/simdjson_view.h"

namespace aarthik::transcode {

// Why a value of the platform's JSON did not reach the caller.
enum class FieldDrop {
  kUnknownField,   // the message has no field of that name
  kUnknownEnum,    // an enum field got a string that names none of its values (left UNSPECIFIED)
  kShapeMismatch,  // a lenient field got a JSON value of the wrong shape (left unset)
};

// The metric label and log spelling: "unknown_field", "unknown_enum", "shape_mismatch".
absl::string_view FieldDropName(FieldDrop reason);

// Receives what a Decode could not carry. `json_path` is relative to the decoded object, with
// array indices as `[]` and map keys as `{}` (`items[].status`, `lenders{}.offers[].status`), so
// that it names a place in the shape, never a value. Called on the decoding thread.
class FieldDropSink {
 public:
  virtual ~FieldDropSink() = default;
  virtual void Dropped(FieldDrop reason, absl::string_view json_path) = 0;
};

// Keeps every drop; for tests and tools.
class CollectingDropSink : public FieldDropSink {
 public:
  void Dropped(FieldDrop reason, absl::string_view json_path) override {
    drops.emplace_back(reason, std::string(json_path));
  }
  std::vector<std::pair<FieldDrop, std::string>> drops;
};

class JsonCodec {
 public:
  // Indexes `roots` and every message and enum reachable from them, so that look-ups by JSON key
  // and by wire name are one hash probe. Messages outside that set still work, through slower
  // descriptor look-ups.
  explicit JsonCodec(const std::vector<const google::protobuf::Descriptor*>& roots);

  JsonCodec(const JsonCodec&) = delete;
  JsonCodec& operator=(const JsonCodec&) = delete;

  // `print_defaults` also prints fields at their default value (unset enums as null), as tools and
  // tests comparing against the platform's documented payloads want; requests to the platform omit
  // them.
  absl::StatusOr<nlohmann::json> EncodeJson(const google::protobuf::Message& message,
                                            bool print_defaults = false) const;
  absl::StatusOr<std::string> Encode(const google::protobuf::Message& message) const;

  // Merges `json` into `message`. Fails with INVALID_ARGUMENT when a known strict field has the
  // wrong JSON type or is out of range; the message names the field's path (e.g.
  // `offers[2].amount`) and never the value, which may be borrower data. What is dropped instead
  // (see FieldDrop) goes to `drops` when it is not null.
  absl::Status Decode(const nlohmann::json& json, google::protobuf::Message* message,
                      FieldDropSink* drops = nullptr) const;
  absl::Status Decode(absl::string_view json_text, google::protobuf::Message* message,
                      FieldDropSink* drops = nullptr) const;
  // A field an object sets twice: nlohmann keeps only the last copy of a repeated key, and of a
  // field's several spellings (the Hosted embedURL comes under six) the one decoded last, in
  // nlohmann's key order, counts.
  //
  // The same from a simdjson value (the hot path's parser, simdjson_view.h), which keeps every
  // copy of a repeated key in document order: there a field set twice is ABORTED, so that the
  // reply is read the full way (fast_reply.h) and one reply always decodes to one message.
  absl::Status Decode(SimdjsonView json, google::protobuf::Message* message,
                      FieldDropSink* drops = nullptr) const;

  // The platform's spelling of an enum value, e.g. "STARTED" for JOURNEY_LIFECYCLE_STATUS_STARTED.
  std::string WireName(const google::protobuf::EnumValueDescriptor& value) const;

 private:
  struct EnumNames {
    absl::flat_hash_map<std::string, int> wire_to_number;
    absl::flat_hash_map<int, std::string> number_to_wire;
  };
  // What one JSON key of a message decodes into, computed once per descriptor.
  struct KeyedField {
    const google::protobuf::FieldDescriptor* field = nullptr;  // null: unknown key
    bool lenient = false;
    // A second field the same key also fills (an alias naming another field's json_name).
    const google::protobuf::FieldDescriptor* also = nullptr;
    bool also_lenient = false;
  };
  // Field lookup by every spelling the platform may use: json_name, proto name, aliases.
  using FieldsByKey = absl::flat_hash_map<std::string, KeyedField>;
  // Where the decoder is, for naming a drop's path; built on the stack, one node per level, and
  // turned into text only when something is dropped.
  struct Walk {
    FieldDropSink* drops;
    const Walk* parent;
    absl::string_view segment;  // a key, or "[]" / "{}"
    std::string Path() const;
    void Drop(FieldDrop reason) const {
      if (drops != nullptr) drops->Dropped(reason, Path());
    }
    Walk Member(absl::string_view key) const { return Walk{drops, this, key}; }
  };

  void Index(const google::protobuf::Descriptor* descriptor);
  void IndexEnum(const google::protobuf::EnumDescriptor* descriptor);
  // A message's key table; null for a message outside the indexed roots. Looked up once per JSON
  // object, not once per key.
  const FieldsByKey* FieldsOf(const google::protobuf::Descriptor* descriptor) const;
  // Null for an unknown key. `fields` is FieldsOf(descriptor); when it is null the answer is
  // built in `scratch` the slow way.
  const KeyedField* FindField(const google::protobuf::Descriptor* descriptor,
                              const FieldsByKey* fields, absl::string_view key,
                              KeyedField* scratch) const;
  // Empty when the platform's spelling names no value of `descriptor`.
  std::optional<int> FindEnumNumber(const google::protobuf::EnumDescriptor* descriptor,
                                    absl::string_view wire) const;

  // Decoding (json_codec_decode.cc), written once over json_view.h's views and instantiated for
  // both. `depth` bounds recursion on hostile nesting.
  template <typename View>
  absl::Status DecodeRoot(View json, google::protobuf::Message* message,
                          FieldDropSink* drops) const;
  template <typename View>
  absl::Status DecodeObject(View object, google::protobuf::Message* message, int depth,
                            const Walk& at) const;
  // A member that is unknown, lenient or fills two fields: out of line, so that the plain member's
  // loop stays as short as it was before leniency existed (the hot path's instruction budget).
  template <typename View>
  absl::Status DecodeUncommonMember(View value, absl::string_view key, const KeyedField* keyed,
                                    google::protobuf::Message* message, int depth,
                                    const Walk& here) const;
  // One member: `field` strict, or lenient (a misfit is cleared and reported unless `quiet`).
  // Returns whether the value was carried; an error only for a strict field.
  template <typename View>
  absl::StatusOr<bool> DecodeMember(View value, const google::protobuf::FieldDescriptor* field,
                                    bool lenient, bool quiet, google::protobuf::Message* message,
                                    int depth, const Walk& at) const;
  // `reflection` is message's: taken once per object, since each GetReflection() goes through the
  // generated code's once-only descriptor check.
  template <typename View>
  absl::Status DecodeField(View value, const google::protobuf::FieldDescriptor* field, bool lenient,
                           google::protobuf::Message* message,
                           const google::protobuf::Reflection* reflection, int depth,
                           const Walk& at) const;
  // Stores one value (appending when the field is repeated). Returns false when the value is
  // dropped: an enum value this codec does not know.
  template <typename View>
  absl::StatusOr<bool> DecodeValue(View value, const google::protobuf::FieldDescriptor* field,
                                   google::protobuf::Message* message,
                                   const google::protobuf::Reflection* reflection, int depth,
                                   const Walk& at) const;

  // Encoding (json_codec_encode.cc).
  absl::Status EncodeObject(const google::protobuf::Message& message, bool print_defaults,
                            nlohmann::json* out) const;
  absl::StatusOr<nlohmann::json> EncodeField(const google::protobuf::Message& message,
                                             const google::protobuf::FieldDescriptor* field,
                                             bool print_defaults) const;
  // One value of `field`; `index` < 0 for a singular field.
  absl::StatusOr<nlohmann::json> EncodeValue(const google::protobuf::Message& message,
                                             const google::protobuf::FieldDescriptor* field,
                                             int index, bool print_defaults) const;

  absl::flat_hash_map<const google::protobuf::Descriptor*, FieldsByKey> messages_;
  absl::flat_hash_map<const google::protobuf::EnumDescriptor*, EnumNames> enums_;
};

// The platform's spelling of an enum value without a codec: wire_value when declared, else the
// value's name without the enum's UPPER_SNAKE prefix.
std::string EnumWireName(const google::protobuf::EnumValueDescriptor& value);

}  // namespace aarthik::transcode

#endif  // AARTHIK_SERVER_TRANSCODE_JSON_CODEC_H_
