#include "server/http/request_head.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace aarthik::http {

namespace bhttp = boost::beast::http;

HttpResponse ErrorResponse(int status, absl::string_view message) {
  return {status, "application/json", absl::StrCat(R"({"error":")", message, "\"}\n")};
}

HttpRequest RequestFromHead(const bhttp::request_header<>& head) {
  HttpRequest request;
  request.method = std::string(head.method_string());
  const absl::string_view target(head.target().data(), head.target().size());
  const size_t query = target.find('?');
  request.path = std::string(target.substr(0, query));
  if (query != absl::string_view::npos) request.query = std::string(target.substr(query + 1));
  for (const auto& field : head) {
    request.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
        std::string(field.value());
  }
  return request;
}

HeadVerdict JudgeHead(const Routes& routes, const HttpRequest& request, size_t max_body_bytes,
                      std::optional<uint64_t> content_length) {
  HeadVerdict verdict;
  int status = 404;
  const Routes::Route* route = routes.Find(request.method, request.path, &status);
  if (route == nullptr) {
    verdict.refusal = ErrorResponse(status, status == 404 ? "not found" : "method not allowed");
    return verdict;
  }
  if (route->options.check_head) {
    if (std::optional<HttpResponse> refused = route->options.check_head(request)) {
      verdict.refusal = std::move(refused);
      return verdict;
    }
  }
  size_t limit = max_body_bytes;
  if (route->options.max_body_bytes != 0) limit = std::min(limit, route->options.max_body_bytes);
  if (content_length.has_value() && *content_length > limit) {
    verdict.refusal = ErrorResponse(413, absl::StrCat("request body over ", limit, " bytes"));
    verdict.close = true;
    return verdict;
  }
  verdict.route = route;
  verdict.body_limit = limit;
  return verdict;
}

std::optional<HttpResponse> ReadErrorResponse(const boost::beast::error_code& ec) {
  if (ec == bhttp::error::body_limit) return ErrorResponse(413, "request body too large");
  if (ec == bhttp::error::header_limit) return ErrorResponse(431, "request headers too large");
  if (ec.category() == boost::beast::error_code(bhttp::error::bad_target).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    return ErrorResponse(400, "malformed HTTP request");
  }
  return std::nullopt;
}

}  // namespace aarthik::http
