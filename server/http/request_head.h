// What the gateway's HTTP listener decides about a request from its line and headers alone,
// before any byte of the body is read, and how it answers a request it could not read. HttpServer's
// sessions call these for every request; tests/fuzz/http_request_fuzzer.cc drives them with
// Beast's parser configured as the listener configures it, without sockets.
//
//   HttpRequest request = RequestFromHead(parser.get());
//   HeadVerdict verdict = JudgeHead(routes, request, options.max_body_bytes,
//                                   parser.content_length());
//   if (verdict.refusal) { answer *verdict.refusal; close when verdict.close }
//   else { parser.body_limit(verdict.body_limit); read the body; verdict.route->handler(...) }
//
// Thread-safety: free functions; `routes` is only read.
#ifndef AARTHIK_SERVER_HTTP_REQUEST_HEAD_H_
#define AARTHIK_SERVER_HTTP_REQUEST_HEAD_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "boost/beast/http/error.hpp"
#include "boost/beast/http/message.hpp"
#include "server/http/http_server.h"

namespace aarthik::http {

// A JSON error answer: {"error":"<message>"}.
HttpResponse ErrorResponse(int status, absl::string_view message);

// The request as handlers see it (header names lowercased, the target split at '?'), body empty.
HttpRequest RequestFromHead(const boost::beast::http::request_header<>& head);

struct HeadVerdict {
  // The route whose handler gets the request once its body (at most `body_limit` bytes) is read;
  // null when the request is refused from its head.
  const Routes::Route* route = nullptr;
  size_t body_limit = 0;
  std::optional<HttpResponse> refusal;
  // The refusal leaves the connection unusable (the announced body will not be read).
  bool close = false;
};

// No route (404/405), the route's head check, or a Content-Length over the route's limit (413).
HeadVerdict JudgeHead(const Routes& routes, const HttpRequest& request, size_t max_body_bytes,
                      std::optional<uint64_t> content_length);

// The answer to a request that could not be read (413 body too large, 431 headers too large, 400
// malformed), after which the connection closes; nullopt when there is no one to answer (the
// client went away or stopped mid-request).
std::optional<HttpResponse> ReadErrorResponse(const boost::beast::error_code& ec);

}  // namespace aarthik::http

#endif  // AARTHIK_SERVER_HTTP_REQUEST_HEAD_H_
