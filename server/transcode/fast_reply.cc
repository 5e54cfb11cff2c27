#include "server/transcode/fast_reply.h"

#include <cstdint>
#include <cstring>

#include "rapidjson/document.h"

namespace aarthik::transcode {
namespace {

using Pool = rapidjson::MemoryPoolAllocator<>;
using Document = rapidjson::GenericDocument<rapidjson::UTF8<>, Pool, Pool>;

// One per thread, reused: both the values and the parser's stack come from pools whose first
// block is inline here, so a typical reply (a few KB) parses without touching malloc.
struct ThreadDocument {
  char value_block[16 << 10];
  char stack_block[4 << 10];
  Pool values{value_block, sizeof(value_block)};
  Pool stack{stack_block, sizeof(stack_block)};
  Document document{&values, sizeof(stack_block) / 2, &stack};
};

// ASCII needs no UTF-8 validation; eight bytes at a time.
bool IsAscii(absl::string_view text) {
  size_t i = 0;
  uint64_t high_bits = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, text.data() + i, 8);
    high_bits |= word;
  }
  for (; i < text.size(); ++i) high_bits |= static_cast<unsigned char>(text[i]);
  return (high_bits & 0x8080808080808080ULL) == 0;
}

// Whether every number in the JSON text is one RapidJSON's default parsing converts exactly, i.e.
// to the correctly rounded double that the full path (nlohmann: strtod) gives: at most 15 digits
// and no exponent part. Such a number is an integer that fits, or a decimal significand below 2^53
// with a power of ten of at most 15, which RapidJSON computes by one exact multiplication or
// division (Clinger's fast path). Others may be one unit in the last place off (found by the reply
// fuzzer), and RapidJSON's full-precision mode, the other cure, divides by zero bits (UB) on a long
// run of zeros: such replies go to the full path. Digits inside strings do not count.
bool NumbersAreExact(absl::string_view text) {
  // Strings are most of a reply: memchr skips them; only the bytes between them are looked at.
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    const char* quote = static_cast<const char*>(std::memchr(p, '"', end - p));
    const char* const stop = quote != nullptr ? quote : end;
    int digits = 0;  // of the number being read
    for (; p < stop; ++p) {
      const char c = *p;
      if (c >= '0' && c <= '9') {
        if (++digits > 15) return false;
      } else if (c == 'e' || c == 'E') {
        if (digits > 0) return false;  // an exponent (`true` and `false` have no digit before)
      } else if (c != '.' && c != '-') {
        digits = 0;
      }
    }
    if (quote == nullptr) return true;
    p = quote + 1;
    for (;;) {  // to the quote that ends the string: one after an even run of backslashes
      const char* close = static_cast<const char*>(std::memchr(p, '"', end - p));
      if (close == nullptr) return true;  // unterminated: RapidJSON refuses the text
      const char* escapes = close;
      while (escapes > p && escapes[-1] == '\\') --escapes;
      p = close + 1;
      if ((close - escapes) % 2 == 0) break;
    }
  }
  return true;
}

// A \u escape of a UTF-16 surrogate (\uD800-\uDFFF). Debian's RapidJSON (1.1) takes a lone low
// surrogate and writes bytes that are not UTF-8 where nlohmann refuses the text (found by
// tests/fuzz/platform_reply_fuzzer.cc); pairs, which both read alike, are rare enough in platform
// replies to be left to the full path with the lone ones.
bool HasSurrogateEscape(absl::string_view text) {
  const char* p = text.data();
  const char* const end = p + text.size();
  while ((p = static_cast<const char*>(std::memchr(p, '\\', end - p))) != nullptr) {
    if (end - p < 4) return false;
    if (p[1] == 'u' && (p[2] | 0x20) == 'd') {
      const char c = static_cast<char>(p[3] | 0x20);
      if (c == '8' || c == '9' || (c >= 'a' && c <= 'f')) return true;
    }
    p += 2;  // the escaped character, a backslash included, cannot start another escape
  }
  return false;
}

// RFC 3629 UTF-8: no overlong forms, surrogates or code points past U+10FFFF, and no sequence cut
// short by the end of the text. Ours, not RapidJSON's kParseValidateEncodingFlag: that one reads a
// multi-byte sequence's continuation bytes without looking for the end, so a body ending inside
// one made it read past the string's NUL (found by tests/fuzz/platform_reply_fuzzer.cc).
bool IsUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p < end) {
    const unsigned char lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }
    size_t length;
    uint32_t code;
    if ((lead & 0xe0) == 0xc0) {
      length = 2;
      code = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3;
      code = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4;
      code = lead & 0x07;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) < length) return false;
    for (size_t i = 1; i < length; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3f);
    }
    static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    p += length;
  }
  return true;
}

std::string StringOf(const rapidjson::Value* value) {
  return value == nullptr ? std::string()
                          : std::string(value->GetString(), value->GetStringLength());
}

}  // namespace

bool DecodeSuccessFast(gateway::v1::Envelope envelope, int http_status, const std::string& body,
                       DataDecoder decode, PlatformReply* reply) {
  const bool headless = envelope == gateway::v1::ENVELOPE_HEADLESS;
  const bool enveloped = headless || envelope == gateway::v1::ENVELOPE_HYBRID;
  // Parsed as a NUL-terminated string, which RapidJSON scans 16 bytes at a time (RAPIDJSON_SSE2)
  // where a sized buffer goes byte by byte; a NUL inside the body would end that string early.
  if (http_status < 200 || http_status >= 300 || body.empty() ||
      (!enveloped && envelope != gateway::v1::ENVELOPE_NONE) ||
      std::memchr(body.data(), '\0', body.size()) != nullptr) {
    return false;
  }
  thread_local ThreadDocument parsed;
  parsed.values.Clear();
  parsed.stack.Clear();
  Document& document = parsed.document;
  // Valid UTF-8 only, as nlohmann checks (validation costs ~10 instructions a byte, so only when a
  // byte is not ASCII); anything else is for DecodeReply to word. Iterative: hostile nesting
  // cannot exhaust the stack. Numbers RapidJSON might round differently from nlohmann are left to
  // DecodeReply too (NumbersAreExact), as are surrogate escapes (HasSurrogateEscape).
  if (!IsAscii(body) && !IsUtf8(body)) return false;
  if (!NumbersAreExact(body) || HasSurrogateEscape(body)) return false;
  document.Parse<rapidjson::kParseIterativeFlag>(body.c_str());
  if (document.HasParseError() || !document.IsObject()) return false;
  if (!enveloped) {
    if (!decode(RapidJsonView(document)).ok()) return false;  // see DataDecoder
    reply->http_status = http_status;
    return true;
  }
  // One pass over the envelope. A key given twice is left to DecodeReply: parsers differ on which
  // copy counts (RapidJSON's FindMember finds the first, nlohmann keeps the last), and both paths
  // must read a reply the same way.
  const char* const request_id_key = headless ? "requestID" : "request_id";
  const char* const correlation_id_key = headless ? "correlationID" : "correlation_id";
  const rapidjson::Value* request_id = nullptr;
  const rapidjson::Value* correlation_id = nullptr;
  const rapidjson::Value* data = nullptr;
  const rapidjson::Value* error = nullptr;
  for (const auto& member : document.GetObject()) {
    const rapidjson::Value** slot = member.name == request_id_key       ? &request_id
                                    : member.name == "data"             ? &data
                                    : member.name == "error"            ? &error
                                    : member.name == correlation_id_key ? &correlation_id
                                                                        : nullptr;
    if (slot == nullptr) continue;
    if (*slot != nullptr) return false;
    *slot = &member.value;
  }
  if (request_id == nullptr || !request_id->IsString() || data == nullptr || !data->IsObject() ||
      (error != nullptr && !error->IsNull())) {
    return false;
  }
  if (!decode(RapidJsonView(*data)).ok()) return false;  // see DataDecoder
  reply->http_status = http_status;
  reply->request_id = StringOf(request_id);
  reply->correlation_id =
      StringOf(correlation_id != nullptr && correlation_id->IsString() ? correlation_id : nullptr);
  return true;
}

}  // namespace aarthik::transcode
