// JSON for protobuf's well-known types (google.protobuf.*), as JsonCodec needs them.
//
// Struct, Value and ListValue (the platform's free-form `metadata`, `details`, ...) are converted
// natively, since they appear in many replies; the others (Timestamp, Duration, wrappers, ...) go
// through protobuf's JSON util on just their own sub-tree.
//
//   if (IsWellKnownType(field->message_type())) {
//     absl::Status s = DecodeWellKnown(json, sub_message, /*depth_left=*/64);
//   }
//
// Thread-safety: stateless functions; safe from any thread.
#ifndef AARTHIK_SERVER_TRANSCODE_WELL_KNOWN_JSON_H_
#define AARTHIK_SERVER_TRANSCODE_WELL_KNOWN_JSON_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"
#include "server/transcode/json_view.h"
#include "server/transcode/simdjson_view.h"

namespace aarthik::transcode {

bool IsWellKnownType(const google::protobuf::Descriptor* descriptor);

// Replaces `message` with `json`. On failure the message says what was wrong, never the value;
// `depth_left` bounds nesting inside Struct/ListValue.
absl::Status DecodeWellKnown(const nlohmann::json& json, google::protobuf::Message* message,
                             int depth_left);
absl::Status DecodeWellKnown(NlohmannView json, google::protobuf::Message* message, int depth_left);
absl::Status DecodeWellKnown(SimdjsonView json, google::protobuf::Message* message, int depth_left);

absl::StatusOr<nlohmann::json> EncodeWellKnown(const google::protobuf::Message& message);

// A JSON number for a double, in proto3 JSON's spelling: integral values without a fraction, and
// NaN / Infinity / -Infinity as strings.
nlohmann::json DoubleToJson(double value);

}  // namespace aarthik::transcode

#endif  // AARTHIK_SERVER_TRANSCODE_WELL_KNOWN_JSON_H_
