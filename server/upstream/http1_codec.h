// HTTP/1.1 on the wire for the keep-alive transport (http1_transport.h): rendering a request into
// one buffer and parsing a response incrementally, as bytes arrive.
//
// Why our own framing: libcurl 7.88 builds every request through its printf engine one byte at a
// time (~100 instructions per header byte, ~45 k per platform request: docs/benchmarks.md), more
// than everything else the gateway does for a call. libcurl still makes every connection (TCP,
// proxy tunnel, TLS with the configured CA) and moves the bytes; only the HTTP/1.1 text is ours.
//
//   std::string wire;
//   RenderRequest(request, "api.example.com", /*path_and_query=*/"/v1/x?y=1", &wire);
//   Http1ResponseParser parser(/*max_body_bytes=*/4 << 20);
//   absl::StatusOr<bool> done = parser.Feed(bytes);   // true once the response is complete
//   HttpResponse response = parser.TakeResponse();
//
// The parser accepts what a platform behind a CDN or load balancer sends: any status with a
// reason phrase or none, headers folded to lower case, Content-Length, chunked transfer coding
// (extensions and trailers skipped), 1xx interim responses (skipped), and a body delimited by the
// connection closing. It refuses with INTERNAL what it cannot frame safely (conflicting lengths, a
// bad chunk size, a header block over 64 KiB) and with RESOURCE_EXHAUSTED a body over the limit.
//
// Thread-safety: RenderRequest is a pure function; a parser is used by one thread at a time.
#ifndef AARTHIK_SERVER_UPSTREAM_HTTP1_CODEC_H_
#define AARTHIK_SERVER_UPSTREAM_HTTP1_CODEC_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/upstream/http_transport.h"

namespace aarthik::upstream {

// Appends `request` as HTTP/1.1 to `out`: the request line with `path_and_query` (after a "/"
// when it is empty or starts with the query), Host, the request's headers in order,
// Content-Length when there is a body or the method sends one, and the body. Header values must
// not contain CR or LF (the caller checks: HeaderValueIsSafe).
void RenderRequest(const HttpRequest& request, absl::string_view host,
                   absl::string_view path_and_query, std::string* out);

// False for a value that would split the header block (CR, LF or NUL).
bool HeaderValueIsSafe(absl::string_view value);

class Http1ResponseParser {
 public:
  // `head_request`: the response to a HEAD has no body whatever its headers say.
  explicit Http1ResponseParser(size_t max_body_bytes, bool head_request = false)
      : max_body_bytes_(max_body_bytes), head_request_(head_request) {}

  // Consumes `bytes` (all of them). Returns true once the response is complete; bytes after the
  // end of the response are a protocol error (we never pipeline).
  absl::StatusOr<bool> Feed(absl::string_view bytes);
  // The peer closed the connection: completes a close-delimited body, else fails.
  absl::StatusOr<bool> FeedEof();

  // Whether any byte of a response arrived (a connection that dies before is a failed send).
  bool started() const { return started_; }
  // After completion: whether the connection may carry another request.
  bool keep_alive() const { return keep_alive_; }
  HttpResponse TakeResponse() { return std::move(response_); }

 private:
  enum class State {
    kStatusLine,
    kHeaders,
    kBody,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailers,
    kUntilClose,
    kDone
  };

  absl::Status OnStatusLine(absl::string_view line);
  absl::Status OnHeaderLine(absl::string_view line);
  absl::Status OnHeadersEnd();
  absl::Status AppendBody(absl::string_view bytes);

  const size_t max_body_bytes_;
  const bool head_request_;
  State state_ = State::kStatusLine;
  bool started_ = false;
  bool keep_alive_ = true;
  bool chunked_ = false;
  bool has_length_ = false;
  size_t remaining_ = 0;  // body or chunk bytes still expected
  std::string line_;      // a line split across reads
  size_t header_bytes_ = 0;
  int minor_version_ = 1;
  HttpResponse response_;
};

}  // namespace aarthik::upstream

#endif  // AARTHIK_SERVER_UPSTREAM_HTTP1_CODEC_H_
