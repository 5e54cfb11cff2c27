// RequestMapper: turns a decoded RPC request into the platform call it stands for (path with
// URL-escaped parameters, query string, JSON body), after checking it at the edge so that bad input
// never reaches the platform: missing borrower key or path parameter, malformed UUIDs, oversized
// strings, path parameters that are dot segments ("." / "..") → INVALID_ARGUMENT with a
// google.rpc.BadRequest naming each field. The rendered path is checked against the route's
// template (PathShape) before it is returned.
//
//   RequestMapper mapper(&codec, {.max_field_length = 4096, .tenant_id = "…", .application_id =
//   "…"}); absl::StatusOr<PlatformCall> call = mapper.Map(*route, request);
//   // call->path_and_query == "/api/v1/headless/journeys/5f0c…/state", call->borrower_key ==
//   "CUST_0012"
//
// Thread-safety: immutable after construction; Map may run concurrently (it mutates only
// `request`).
#ifndef AARTHIK_SERVER_TRANSCODE_REQUEST_MAPPER_H_
#define AARTHIK_SERVER_TRANSCODE_REQUEST_MAPPER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "server/transcode/json_codec.h"
#include "server/transcode/route_table.h"

namespace aarthik::transcode {

struct PlatformCall {
  std::string path_and_query;
  // JSON body; empty for routes without one.
  std::string body;
  // The borrower the call is for (empty for routes that name none).
  std::string borrower_key;
};

struct EdgeLimits {
  int max_field_length = 4096;
  // Values for fields marked config_default.
  std::string tenant_id;
  std::string application_id;
};

class RequestMapper {
 public:
  RequestMapper(const JsonCodec* codec, EdgeLimits limits)
      : codec_(codec), limits_(std::move(limits)) {}

  // Fills config defaults into `request`, validates it and maps it.
  absl::StatusOr<PlatformCall> Map(const Route& route, google::protobuf::Message& request) const;

 private:
  const JsonCodec* codec_;
  EdgeLimits limits_;
};

// RFC 3986 percent-encoding of everything but unreserved characters. Note that '.' is unreserved:
// a whole value of "." or ".." must be refused before it becomes a path segment (IsDotSegment).
std::string UrlEscape(absl::string_view text);
// The same, appended to `out` (no temporary string).
void AppendUrlEscaped(absl::string_view text, std::string* out);

}  // namespace aarthik::transcode

#endif  // AARTHIK_SERVER_TRANSCODE_REQUEST_MAPPER_H_
