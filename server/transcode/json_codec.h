// JsonCodec: converts between our proto messages and the platform's JSON, spelled as the platform
// spells it.
//
// Protobuf's JSON util does the heavy lifting (json_name gives the platform's field spellings, and
// google.protobuf.Struct carries free-form objects). This class adds what the proto JSON mapping
// cannot express, all declared in the protos:
//   - enum values travel under the platform's spelling: JOURNEY_LIFECYCLE_STATUS_STARTED <->
//   "STARTED",
//     GENDER_MALE <-> "male" (`(aarthik.gateway.v1.enum_value).wire_value`);
//   - field aliases (`(aarthik.gateway.v1.field).json_aliases`, e.g. embedUrl for embedURL) decode
//   into the field;
//   - unknown fields, unknown enum values and nulls from the platform are dropped instead of
//   failing, so a
//     platform that adds a field or a status does not break callers.
//
//   JsonCodec codec({GetJourneyStateResponse::descriptor()});
//   absl::Status s = codec.Decode(R"({"status":"OFFERS_PENDING"})", &response);
//   absl::StatusOr<std::string> json = codec.Encode(request_body);
//
// Thread-safety: immutable after construction; Encode/Decode may run concurrently from any thread.
#ifndef AARTHIK_SERVER_TRANSCODE_JSON_CODEC_H_
#define AARTHIK_SERVER_TRANSCODE_JSON_CODEC_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"

namespace aarthik::transcode {

class JsonCodec {
 public:
  // Indexes `roots` and every message and enum reachable from them. Messages outside that set are
  // encoded and decoded with protobuf's plain JSON mapping.
  explicit JsonCodec(const std::vector<const google::protobuf::Descriptor*>& roots);

  JsonCodec(const JsonCodec&) = delete;
  JsonCodec& operator=(const JsonCodec&) = delete;

  // `print_defaults` also prints fields at their default value (unset enums as null), as tools and
  // tests comparing against the platform's documented payloads want; requests to the platform omit
  // them.
  absl::StatusOr<nlohmann::json> EncodeJson(const google::protobuf::Message& message,
                                            bool print_defaults = false) const;
  absl::StatusOr<std::string> Encode(const google::protobuf::Message& message) const;

  // Fails with INVALID_ARGUMENT (message says where) when a known field has the wrong JSON type.
  absl::Status Decode(nlohmann::json json, google::protobuf::Message* message) const;
  absl::Status Decode(absl::string_view json_text, google::protobuf::Message* message) const;

  // The platform's spelling of an enum value, e.g. "STARTED" for JOURNEY_LIFECYCLE_STATUS_STARTED.
  std::string WireName(const google::protobuf::EnumValueDescriptor& value) const;

 private:
  struct EnumNames {
    absl::flat_hash_map<std::string, std::string> wire_to_proto;
    absl::flat_hash_map<std::string, std::string> proto_to_wire;
    std::string unspecified;  // the zero value's name, which stands for the platform's null
  };
  // Field lookup by every spelling the platform may use: json_name, proto name, aliases.
  using FieldsByKey = absl::flat_hash_map<std::string, const google::protobuf::FieldDescriptor*>;

  void Index(const google::protobuf::Descriptor* descriptor);
  void IndexEnum(const google::protobuf::EnumDescriptor* descriptor);
  void ToProtoSpelling(nlohmann::json& object,
                       const google::protobuf::Descriptor* descriptor) const;
  void ToWireSpelling(nlohmann::json& object, const google::protobuf::Descriptor* descriptor) const;
  // Rewrites one field value (scalar, list or map) in place. Returns false when it should be
  // dropped.
  bool ValueToProto(nlohmann::json& value, const google::protobuf::FieldDescriptor* field) const;
  void ValueToWire(nlohmann::json& value, const google::protobuf::FieldDescriptor* field) const;
  void EnumToWire(nlohmann::json& value, const google::protobuf::EnumDescriptor* descriptor) const;

  absl::flat_hash_map<const google::protobuf::Descriptor*, FieldsByKey> messages_;
  absl::flat_hash_map<const google::protobuf::EnumDescriptor*, EnumNames> enums_;
};

// The platform's spelling of an enum value without a codec: wire_value when declared, else the
// value's name without the enum's UPPER_SNAKE prefix.
std::string EnumWireName(const google::protobuf::EnumValueDescriptor& value);

}  // namespace aarthik::transcode

#endif  // AARTHIK_SERVER_TRANSCODE_JSON_CODEC_H_
