// Fuzz target: a caller's request for every route, mapped onto the platform call.
//
// Input: field values, then a byte choosing the route. The route's request message is filled
// field by field from the input (strings of any content, numbers, enums, nested messages and
// repeated fields), keeping only what gRPC itself would deliver (valid UTF-8 in strings), then
// RequestMapper::Map renders it. Properties beyond "no crash, no leak, no UB":
//   - a refusal is INVALID_ARGUMENT (the caller's fault, said so), never anything else;
//   - an accepted call's path has the route template's shape, checked here independently of
//     PathShape: the same segments, literal segments unchanged, each variable segment non-empty,
//     not a dot segment, made only of unreserved characters and %XX escapes, and percent-decoding
//     to the field's value unchanged;
//   - the query has nothing unescaped (no '#', space, control or non-ASCII byte);
//   - a body is one JSON value.
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"
#include "server/transcode/request_mapper.h"
#include "tests/fuzz/fuzz_support.h"

namespace aarthik::fuzz {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool ValidUtf8(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xe  ? 3
                    : (c >> 3) == 0x1e ? 4
                                       : 0;
    if (length == 0 || i + length > text.size()) return false;
    uint32_t code = length == 1 ? c : c & (0x7f >> length);
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return false;  // overlong, out of range, or a surrogate
    }
    i += length;
  }
  return true;
}

// Fills `message` from the input; false when a string is not what gRPC would deliver.
bool Fill(FuzzedDataProvider& input, Message* message, int depth) {
  const Reflection* reflection = message->GetReflection();
  const auto* descriptor = message->GetDescriptor();
  for (int i = 0; i < descriptor->field_count() && input.remaining_bytes() > 0; ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (!input.ConsumeBool()) continue;
    const int count = field->is_repeated() ? input.ConsumeIntegralInRange(0, 3) : 1;
    for (int k = 0; k < count; ++k) {
      const bool add = field->is_repeated();
      switch (field->cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING: {
          std::string value = input.ConsumeRandomLengthString(300);
          if (field->type() == FieldDescriptor::TYPE_STRING && !ValidUtf8(value)) return false;
          add ? reflection->AddString(message, field, std::move(value))
              : reflection->SetString(message, field, std::move(value));
          break;
        }
        case FieldDescriptor::CPPTYPE_INT32: {
          const auto v = input.ConsumeIntegral<int32_t>();
          add ? reflection->AddInt32(message, field, v) : reflection->SetInt32(message, field, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_INT64: {
          const auto v = input.ConsumeIntegral<int64_t>();
          add ? reflection->AddInt64(message, field, v) : reflection->SetInt64(message, field, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_UINT32: {
          const auto v = input.ConsumeIntegral<uint32_t>();
          add ? reflection->AddUInt32(message, field, v) : reflection->SetUInt32(message, field, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_UINT64: {
          const auto v = input.ConsumeIntegral<uint64_t>();
          add ? reflection->AddUInt64(message, field, v) : reflection->SetUInt64(message, field, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_DOUBLE: {
          const auto v = input.ConsumeFloatingPoint<double>();
          add ? reflection->AddDouble(message, field, v) : reflection->SetDouble(message, field, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_FLOAT: {
          const auto v = input.ConsumeFloatingPoint<float>();
          add ? reflection->AddFloat(message, field, v) : reflection->SetFloat(message, field, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_BOOL: {
          const bool v = input.ConsumeBool();
          add ? reflection->AddBool(message, field, v) : reflection->SetBool(message, field, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_ENUM: {
          // Open enums: numbers outside the declared values arrive too.
          const int v = input.ConsumeIntegralInRange(-1, field->enum_type()->value_count());
          add ? reflection->AddEnumValue(message, field, v)
              : reflection->SetEnumValue(message, field, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth >= 4) break;
          if (!Fill(input,
                    add ? reflection->AddMessage(message, field)
                        : reflection->MutableMessage(message, field),
                    depth + 1)) {
            return false;
          }
          break;
      }
    }
  }
  return true;
}

bool Unreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The segment's bytes when it is only unreserved characters and %XX escapes.
std::optional<std::string> PercentDecoded(absl::string_view segment) {
  std::string decoded;
  for (size_t i = 0; i < segment.size(); ++i) {
    if (Unreserved(segment[i])) {
      decoded.push_back(segment[i]);
    } else if (segment[i] == '%' && i + 2 < segment.size() && HexValue(segment[i + 1]) >= 0 &&
               HexValue(segment[i + 2]) >= 0) {
      decoded.push_back(
          static_cast<char>(HexValue(segment[i + 1]) * 16 + HexValue(segment[i + 2])));
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return decoded;
}

void CheckAccepted(const transcode::Route& route, const Message& request,
                   const transcode::PlatformCall& call) {
  const absl::string_view rendered = call.path_and_query;
  const size_t query_start = rendered.find('?');
  const absl::string_view path = rendered.substr(0, query_start);
  const std::vector<absl::string_view> segments = absl::StrSplit(path, '/');
  std::vector<absl::string_view> expected;  // literal text, or empty for a variable
  std::vector<const FieldDescriptor*> variables;
  std::string literal;
  for (const transcode::PathSegment& piece : route.path) {
    if (piece.field == nullptr) {
      literal += piece.literal;
      continue;
    }
    Require(!literal.empty() && literal.back() == '/', "every path variable is a whole segment");
    variables.push_back(piece.field);
    literal += '\x01';  // stands for the variable
  }
  const std::vector<std::string> template_segments = absl::StrSplit(literal, '/');
  Require(segments.size() == template_segments.size(),
          "the path has the template's number of segments");
  size_t variable = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (template_segments[i] != "\x01") {
      Require(segments[i] == template_segments[i], "literal segments are unchanged");
      continue;
    }
    const std::optional<std::string> value = PercentDecoded(segments[i]);
    Require(value.has_value(), "a variable segment is unreserved characters and %XX escapes");
    Require(!value->empty() && *value != "." && *value != "..",
            "a variable segment is not empty nor a dot segment");
    Require(segments[i] != "." && segments[i] != "..", "no dot segment is sent");
    Require(*value == request.GetReflection()->GetString(request, variables[variable++]),
            "a variable segment decodes to the field's value unchanged");
  }
  for (char c :
       rendered.substr(query_start == absl::string_view::npos ? rendered.size() : query_start)) {
    const unsigned char byte = static_cast<unsigned char>(c);
    Require(byte > 0x20 && byte < 0x7f && c != '#', "the query has nothing unescaped");
  }
  if (!call.body.empty()) {
    Require(nlohmann::json::accept(call.body), "a body is one JSON value");
  }
}

void Run(FuzzedDataProvider& input) {
  static const transcode::RequestMapper mapper(
      &Codec(), transcode::EdgeLimits{256, "8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61",
                                      "fbb1fd74-c502-4419-83f3-82a2a019fc9a"});
  const transcode::Route& route = PickRoute(input);
  std::unique_ptr<Message> request(google::protobuf::MessageFactory::generated_factory()
                                       ->GetPrototype(route.method->input_type())
                                       ->New());
  if (!Fill(input, request.get(), 0)) return;
  absl::StatusOr<transcode::PlatformCall> call = mapper.Map(route, *request);
  if (!call.ok()) {
    Require(call.status().code() == absl::StatusCode::kInvalidArgument,
            "a refused request is INVALID_ARGUMENT");
    return;
  }
  CheckAccepted(route, *request, *call);
}

}  // namespace
}  // namespace aarthik::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  aarthik::fuzz::Run(input);
  return 0;
}
