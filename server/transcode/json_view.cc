#include "server/transcode/json_view.h"

namespace aarthik::transcode {

const char* RapidJsonView::type_name() const {
  // nlohmann's spellings, so that errors read the same whichever parser produced the value.
  switch (value_->GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "boolean";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return "number";
  }
  return "unknown";
}

nlohmann::json RapidJsonView::ToNlohmann() const {
  if (value_->IsNull()) return nullptr;
  if (value_->IsBool()) return value_->GetBool();
  if (value_->IsUint64()) return value_->GetUint64();
  if (value_->IsInt64()) return value_->GetInt64();
  if (value_->IsNumber()) return value_->GetDouble();
  if (value_->IsString()) return std::string(get_string());
  if (value_->IsArray()) {
    nlohmann::json out = nlohmann::json::array();
    for (const rapidjson::Value& element : value_->GetArray()) {
      out.push_back(RapidJsonView(element).ToNlohmann());
    }
    return out;
  }
  nlohmann::json out = nlohmann::json::object();
  for (auto it = value_->MemberBegin(); it != value_->MemberEnd(); ++it) {
    out[std::string(it->name.GetString(), it->name.GetStringLength())] =
        RapidJsonView(it->value).ToNlohmann();
  }
  return out;
}

}  // namespace aarthik::transcode
