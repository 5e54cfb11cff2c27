#include "server/transcode/fast_reply.h"

#include <optional>
#include <string_view>

#include "server/transcode/simdjson_view.h"

namespace aarthik::transcode {
namespace {

// A reply up to this size is parsed by a parser kept per thread; a bigger one (rare: platform
// replies are a few KB) by a parser of its own, freed after it. A parser's buffers are ~15 times
// the largest text it has parsed (its tape has a slot per byte), so this keeps each loop's share
// below a megabyte.
constexpr size_t kReusedParserCapacity = 64 << 10;
// Past this, the full path (whose tree grows with the content, not the length) reads the reply.
constexpr size_t kMaxFastReplyBytes = 1 << 20;

std::string StringOf(std::optional<simdjson::dom::element> value) {
  if (!value.has_value() || !value->is_string()) return std::string();
  const std::string_view text = value->get_string().value_unsafe();
  return std::string(text);
}

}  // namespace

bool DecodeSuccessFast(gateway::v1::Envelope envelope, int http_status, const std::string& body,
                       DataDecoder decode, PlatformReply* reply) {
  const bool headless = envelope == gateway::v1::ENVELOPE_HEADLESS;
  const bool enveloped = headless || envelope == gateway::v1::ENVELOPE_HYBRID;
  if (http_status < 200 || http_status >= 300 || body.empty() || body.size() > kMaxFastReplyBytes ||
      (!enveloped && envelope != gateway::v1::ENVELOPE_NONE)) {
    return false;
  }
  thread_local simdjson::dom::parser reused_parser(kReusedParserCapacity);
  std::optional<simdjson::dom::parser> own_parser;
  simdjson::dom::parser& parser =
      body.size() <= kReusedParserCapacity ? reused_parser : own_parser.emplace();
  // simdjson reads up to SIMDJSON_PADDING bytes past the text: a body with that much spare
  // capacity (the HTTP/1 transport leaves it) is parsed where it is, any other copied first.
  const bool copy = body.capacity() - body.size() < simdjson::SIMDJSON_PADDING;
  // The whole text is validated, as nlohmann does: UTF-8, escapes (a lone surrogate is refused by
  // both), numbers (both correctly rounded; an integer past 64 bits, which nlohmann would read as a
  // double, is refused here), no unescaped control character. What it refuses is for DecodeReply
  // to word.
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size(), copy).get(root) != simdjson::SUCCESS ||
      !root.is_object()) {
    return false;
  }
  if (!enveloped) {
    if (!decode(SimdjsonView(root)).ok()) return false;  // see DataDecoder
    reply->http_status = http_status;
    return true;
  }
  // One pass over the envelope. A key given twice is left to DecodeReply: parsers differ on which
  // copy counts (simdjson keeps both in order, nlohmann the last), and both paths must read a
  // reply the same way.
  const std::string_view request_id_key = headless ? "requestID" : "request_id";
  const std::string_view correlation_id_key = headless ? "correlationID" : "correlation_id";
  std::optional<simdjson::dom::element> request_id;
  std::optional<simdjson::dom::element> correlation_id;
  std::optional<simdjson::dom::element> data;
  std::optional<simdjson::dom::element> error;
  const simdjson::dom::object envelope_members = root.get_object().value_unsafe();
  for (const simdjson::dom::key_value_pair member : envelope_members) {
    std::optional<simdjson::dom::element>* slot = member.key == request_id_key ? &request_id
                                                  : member.key == "data"       ? &data
                                                  : member.key == "error"      ? &error
                                                  : member.key == correlation_id_key
                                                      ? &correlation_id
                                                      : nullptr;
    if (slot == nullptr) continue;
    if (slot->has_value()) return false;
    *slot = member.value;
  }
  if (!request_id.has_value() || !request_id->is_string() || !data.has_value() ||
      !data->is_object() || (error.has_value() && !error->is_null())) {
    return false;
  }
  if (!decode(SimdjsonView(*data)).ok()) return false;  // see DataDecoder
  reply->http_status = http_status;
  reply->request_id = StringOf(request_id);
  reply->correlation_id = StringOf(correlation_id);
  return true;
}

}  // namespace aarthik::transcode
