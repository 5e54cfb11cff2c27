#include "server/upstream/http1_codec.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace aarthik::upstream {
namespace {

// A status line and headers larger than this are not a platform answer.
constexpr size_t kMaxHeaderBytes = 64 << 10;
// Room for a platform answer's headers without the vector growing (more still fit, by growing).
constexpr size_t kUsualHeaderCount = 8;

absl::Status Malformed(absl::string_view what) {
  return absl::InternalError(absl::StrCat("malformed HTTP response from upstream: ", what));
}

bool SendsBody(absl::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

bool HeaderValueIsSafe(absl::string_view value) {
  // Eight bytes at a time (every header of every upstream request passes here): a lane of
  // `word ^ pattern` is zero where the byte is the pattern's, and HasZeroByte is exact.
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  const auto has_zero_byte = [](uint64_t word) { return (word - kOnes) & ~word & kHighBits; };
  size_t i = 0;
  for (; i + 8 <= value.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, value.data() + i, sizeof(word));
    if (has_zero_byte(word) | has_zero_byte(word ^ (kOnes * '\r')) |
        has_zero_byte(word ^ (kOnes * '\n'))) {
      return false;
    }
  }
  bool unsafe = false;
  for (; i < value.size(); ++i) {
    const char c = value[i];
    unsafe |= (c == '\r') | (c == '\n') | (c == '\0');
  }
  return !unsafe;
}

void RenderRequest(const HttpRequest& request, absl::string_view host,
                   absl::string_view path_and_query, std::string* out) {
  size_t size =
      request.method.size() + path_and_query.size() + host.size() + 40 + request.body.size();
  for (const auto& [name, value] : request.headers) size += name.size() + value.size() + 4;
  out->reserve(out->size() + size);
  out->append(request.method).append(" ");
  // An empty path goes out as "/", also before a query (origin-form, RFC 9112 3.2.1).
  if (path_and_query.empty() || path_and_query.front() != '/') out->push_back('/');
  out->append(path_and_query.data(), path_and_query.size());
  out->append(" HTTP/1.1\r\nHost: ").append(host.data(), host.size()).append("\r\n");
  for (const auto& [name, value] : request.headers) {
    out->append(name).append(": ").append(value).append("\r\n");
  }
  if (!request.body.empty() || SendsBody(request.method)) {
    absl::StrAppend(out, "Content-Length: ", request.body.size(), "\r\n");
  }
  out->append("\r\n").append(request.body);
}

absl::StatusOr<bool> Http1ResponseParser::Feed(absl::string_view bytes) {
  if (!bytes.empty()) started_ = true;
  while (!bytes.empty()) {
    switch (state_) {
      case State::kBody:
      case State::kChunkData: {
        const size_t take = std::min(remaining_, bytes.size());
        if (absl::Status appended = AppendBody(bytes.substr(0, take)); !appended.ok()) {
          return appended;
        }
        bytes.remove_prefix(take);
        remaining_ -= take;
        if (remaining_ == 0) {
          state_ = state_ == State::kBody ? State::kDone : State::kChunkDataEnd;
        }
        break;
      }
      case State::kUntilClose:
        if (absl::Status appended = AppendBody(bytes); !appended.ok()) return appended;
        return false;
      case State::kDone:
        return Malformed("bytes after the end of the response");
      default: {  // line-oriented states
        const size_t newline = bytes.find('\n');
        const size_t taken = newline == absl::string_view::npos ? bytes.size() : newline + 1;
        header_bytes_ += taken;
        if (header_bytes_ > kMaxHeaderBytes) return Malformed("header block over 64 KiB");
        if (newline == absl::string_view::npos) {
          line_.append(bytes.data(), bytes.size());
          return false;
        }
        absl::string_view line = bytes.substr(0, newline);
        if (!line_.empty()) {
          line_.append(line.data(), line.size());
          line = line_;
        }
        bytes.remove_prefix(taken);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        absl::Status handled;
        switch (state_) {
          case State::kStatusLine:
            handled = OnStatusLine(line);
            break;
          case State::kHeaders:
            handled = line.empty() ? OnHeadersEnd() : OnHeaderLine(line);
            break;
          case State::kChunkSize: {
            header_bytes_ = 0;  // the limit is per line here, not per body
            absl::string_view size = line.substr(0, line.find(';'));
            size = absl::StripAsciiWhitespace(size);
            uint64_t parsed = 0;
            if (size.empty() || size.size() > 15 || !absl::SimpleHexAtoi(size, &parsed)) {
              handled = Malformed("bad chunk size");
            } else if (parsed == 0) {
              state_ = State::kTrailers;
            } else {
              remaining_ = parsed;
              state_ = State::kChunkData;
            }
            break;
          }
          case State::kChunkDataEnd:
            if (!line.empty()) handled = Malformed("chunk data longer than its size");
            state_ = State::kChunkSize;
            break;
          case State::kTrailers:
            if (line.empty()) state_ = State::kDone;  // trailer fields are not used
            break;
          default:
            break;
        }
        line_.clear();
        if (!handled.ok()) return handled;
        if (state_ == State::kDone && !bytes.empty()) {
          return Malformed("bytes after the end of the response");
        }
      }
    }
  }
  return state_ == State::kDone;
}

absl::StatusOr<bool> Http1ResponseParser::FeedEof() {
  if (state_ == State::kUntilClose) {
    state_ = State::kDone;
    keep_alive_ = false;
  }
  if (state_ == State::kDone) return true;
  return absl::UnavailableError(started_ ? "upstream closed the connection mid-response"
                                         : "upstream closed the connection before answering");
}

absl::Status Http1ResponseParser::OnStatusLine(absl::string_view line) {
  if (line.empty()) return absl::OkStatus();  // a stray CRLF before the status line
  // "HTTP/1.1 200 OK" or "HTTP/1.1 200"
  if (line.size() < 12 || !absl::StartsWith(line, "HTTP/1.") || line[8] != ' ' ||
      !absl::ascii_isdigit(static_cast<unsigned char>(line[7]))) {
    return Malformed("bad status line");
  }
  minor_version_ = line[7] - '0';
  int status = 0;
  if (!absl::SimpleAtoi(line.substr(9, 3), &status) || status < 100 || status > 999 ||
      (line.size() > 12 && line[12] != ' ')) {
    return Malformed("bad status code");
  }
  if (status == 101) return Malformed("unexpected protocol switch");
  response_.status = status;
  response_.headers.clear();
  response_.headers.reserve(kUsualHeaderCount);
  keep_alive_ = minor_version_ >= 1;
  state_ = State::kHeaders;
  return absl::OkStatus();
}

absl::Status Http1ResponseParser::OnHeaderLine(absl::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') return Malformed("folded header line");
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos || colon == 0) return Malformed("header line without name");
  const absl::string_view raw_name = line.substr(0, colon);
  // Lower-cased straight into the kept name: one string per name, none for the comparisons.
  std::string name(raw_name.size(), '\0');
  for (size_t i = 0; i < raw_name.size(); ++i) {
    const char c = raw_name[i];
    if (c == ' ' || c == '\t') return Malformed("space in header name");
    name[i] = absl::ascii_tolower(static_cast<unsigned char>(c));
  }
  absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
  if (name == "content-length") {
    size_t length = 0;
    if (!absl::SimpleAtoi(value, &length)) return Malformed("bad Content-Length");
    if (has_length_ && length != remaining_) return Malformed("conflicting Content-Length");
    has_length_ = true;
    remaining_ = length;
  } else if (name == "transfer-encoding") {
    // The last coding decides whether the body is chunked; we never ask for others.
    chunked_ = absl::EndsWithIgnoreCase(value, "chunked");
    if (!chunked_) return Malformed("unsupported Transfer-Encoding");
  } else if (name == "connection") {
    const std::string tokens = absl::AsciiStrToLower(value);
    if (absl::StrContains(tokens, "close")) keep_alive_ = false;
    if (minor_version_ == 0 && absl::StrContains(tokens, "keep-alive")) {
      keep_alive_ = true;
    }
  }
  response_.headers.emplace_back(std::move(name), std::string(value));
  return absl::OkStatus();
}

absl::Status Http1ResponseParser::OnHeadersEnd() {
  const int status = response_.status;
  if (status < 200) {  // interim (100 Continue, 103 Early Hints): the real answer follows
    state_ = State::kStatusLine;
    has_length_ = chunked_ = false;
    remaining_ = 0;
    return absl::OkStatus();
  }
  header_bytes_ = 0;
  if (head_request_ || status == 204 || status == 304) {
    state_ = State::kDone;
    return absl::OkStatus();
  }
  if (chunked_) {
    // Both framings at once is how request smuggling starts: trust the chunks, drop the
    // connection afterwards.
    if (has_length_) keep_alive_ = false;
    state_ = State::kChunkSize;
    return absl::OkStatus();
  }
  if (has_length_) {
    if (remaining_ > max_body_bytes_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("upstream response body over ", max_body_bytes_, " bytes"));
    }
    // Room past the end for a reader that scans in vector-sized blocks (the hot path's simdjson
    // reads up to 64 bytes past its text): it then parses the body where it is, without a copy.
    constexpr size_t kBodySlack = 64;
    response_.body.reserve(remaining_ + kBodySlack);
    state_ = remaining_ == 0 ? State::kDone : State::kBody;
    return absl::OkStatus();
  }
  keep_alive_ = false;
  state_ = State::kUntilClose;
  return absl::OkStatus();
}

absl::Status Http1ResponseParser::AppendBody(absl::string_view bytes) {
  if (response_.body.size() + bytes.size() > max_body_bytes_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("upstream response body over ", max_body_bytes_, " bytes"));
  }
  response_.body.append(bytes.data(), bytes.size());
  return absl::OkStatus();
}

}  // namespace aarthik::upstream
