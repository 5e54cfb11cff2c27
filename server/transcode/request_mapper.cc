#include "server/transcode/request_mapper.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/core/id_source.h"
#include "server/transcode/path_shape.h"
#include "server/transcode/rpc_error.h"

namespace aarthik::transcode {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using Violations = std::vector<std::pair<std::string, std::string>>;

const gateway::v1::FieldOptions& FieldOpts(const FieldDescriptor* field) {
  return field->options().GetExtension(gateway::v1::field);
}

// Checks every string in `message` (recursively) against its length limit and UUID format.
void CheckStrings(const Message& message, const std::string& prefix, int default_max,
                  Violations& out) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  std::string scratch;  // GetStringReference may need it; it copies nothing otherwise
  for (const FieldDescriptor* field : fields) {
    // Spelled out only for a violation or a nested message: most requests have neither.
    auto name = [&] {
      return prefix.empty() ? field->name() : absl::StrCat(prefix, ".", field->name());
    };
    const auto& opts = FieldOpts(field);
    size_t max = opts.max_length() > 0 ? opts.max_length() : static_cast<size_t>(default_max);
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      auto check = [&](const std::string& value) {
        if (value.size() > max) {
          out.emplace_back(name(), absl::StrCat("longer than ", max, " characters"));
        } else if (opts.uuid() && !value.empty() && !core::IsUuid(value)) {
          out.emplace_back(name(), "must be a UUID (8-4-4-4-12 hex digits)");
        }
      };
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          check(reflection->GetRepeatedStringReference(message, field, i, &scratch));
        }
      } else {
        check(reflection->GetStringReference(message, field, &scratch));
      }
    } else if (field->type() == FieldDescriptor::TYPE_MESSAGE && !field->is_map()) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          CheckStrings(reflection->GetRepeatedMessage(message, field, i),
                       absl::StrCat(name(), "[", i, "]"), default_max, out);
        }
      } else {
        CheckStrings(reflection->GetMessage(message, field), name(), default_max, out);
      }
    }
  }
}

std::string ScalarToText(const Message& message, const FieldDescriptor* field, int index,
                         const JsonCodec& codec) {
  const Reflection* r = message.GetReflection();
  bool rep = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return rep ? r->GetRepeatedString(message, field, index) : r->GetString(message, field);
    case FieldDescriptor::CPPTYPE_ENUM:
      return codec.WireName(rep ? *r->GetRepeatedEnum(message, field, index)
                                : *r->GetEnum(message, field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(message, field, index)
                              : r->GetInt32(message, field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(message, field, index)
                              : r->GetInt64(message, field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(message, field, index)
                              : r->GetUInt32(message, field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(message, field, index)
                              : r->GetUInt64(message, field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(rep ? r->GetRepeatedDouble(message, field, index)
                              : r->GetDouble(message, field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(rep ? r->GetRepeatedFloat(message, field, index)
                              : r->GetFloat(message, field));
    default:
      return "";
  }
}

}  // namespace

void AppendUrlEscaped(absl::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out->push_back(static_cast<char>(c));
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
    }
  }
}

std::string UrlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendUrlEscaped(text, &out);
  return out;
}

absl::StatusOr<PlatformCall> RequestMapper::Map(const Route& route, Message& request) const {
  const Reflection* reflection = request.GetReflection();
  for (const auto& [field, key] : route.config_defaults) {
    if (reflection->GetString(request, field).empty()) {
      reflection->SetString(&request, field,
                            key == "tenant_id" ? limits_.tenant_id : limits_.application_id);
    }
  }

  Violations violations;
  CheckStrings(request, "", limits_.max_field_length, violations);
  PlatformCall call;
  if (!route.borrower_key_path.empty()) {
    const Message* holder = &request;
    for (size_t i = 0; i + 1 < route.borrower_key_path.size(); ++i) {
      holder = &holder->GetReflection()->GetMessage(*holder, route.borrower_key_path[i]);
    }
    call.borrower_key = holder->GetReflection()->GetString(*holder, route.borrower_key_path.back());
    if (call.borrower_key.empty()) {
      std::string name;
      for (const FieldDescriptor* f : route.borrower_key_path) {
        absl::StrAppend(&name, name.empty() ? "" : ".", f->name());
      }
      violations.emplace_back(name, "required: the borrower's external ID");
    }
  }
  call.path_and_query.reserve(route.path_template.size() + 64);
  for (const PathSegment& segment : route.path) {
    if (segment.field == nullptr) {
      call.path_and_query.append(segment.literal);
      continue;
    }
    const std::string& value = reflection->GetString(request, segment.field);
    if (value.empty()) {
      violations.emplace_back(segment.field->name(), "required (path parameter)");
    } else if (IsDotSegment(value) && !FieldOpts(segment.field).uuid()) {  // UUIDs: refused above
      // Escaping keeps '.', so "." and ".." would become dot segments that HTTP stacks resolve
      // away, sending the call (with the API key) to another platform path.
      violations.emplace_back(segment.field->name(),
                              "must not be \".\" or \"..\" (nor their %-encoded forms): as a "
                              "path segment it would change the platform path");
    }
    AppendUrlEscaped(value, &call.path_and_query);
  }
  if (!violations.empty()) return InvalidRequest("INVALID_REQUEST_FIELD", violations);
  // Defence in depth: whatever the escaping, nothing leaves that does not fit the template.
  if (std::optional<PathMismatch> mismatch = route.path_shape.Check(call.path_and_query)) {
    return InvalidRequest("INVALID_REQUEST_FIELD",
                          {{std::move(mismatch->field), std::move(mismatch->description)}});
  }

  char separator = '?';
  for (const FieldDescriptor* field : route.query_fields) {
    int count = field->is_repeated() ? reflection->FieldSize(request, field)
                                     : (reflection->HasField(request, field) ? 1 : 0);
    for (int i = 0; i < count; ++i) {
      call.path_and_query.push_back(separator);
      AppendUrlEscaped(field->json_name(), &call.path_and_query);
      call.path_and_query.push_back('=');
      AppendUrlEscaped(ScalarToText(request, field, i, *codec_), &call.path_and_query);
      separator = '&';
    }
  }

  if (route.body_field != nullptr) {
    absl::StatusOr<std::string> body =
        codec_->Encode(reflection->GetMessage(request, route.body_field));
    if (!body.ok()) return body.status();
    call.body = *std::move(body);
  } else if (route.http_method != "GET" && route.http_method != "DELETE") {
    call.body = "{}";  // writes always carry a JSON object, even an empty one
  }
  return call;
}

}  // namespace aarthik::transcode
