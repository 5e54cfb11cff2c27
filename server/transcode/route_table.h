// RouteTable: every RPC's REST mapping, built once at start-up from the proto options.
//
// For each method of the given services it reads `google.api.http` (verb, path template, body,
// response_body) and `(aarthik.gateway.v1.route)` (auth, envelope, mutation, credential effect),
// checks them, and precomputes what the hot path needs: path segments, query fields, the
// borrower-key field, fields to withhold. A malformed mapping is an error that names the method and
// what to fix; the gateway does not start with it.
//
//   absl::StatusOr<RouteTable> table = RouteTable::Build(services);
//   const Route* route = table->Find("/aarthik.headless.v1.JourneysService/GetJourneyState");
//
// Thread-safety: immutable after Build; safe to share across threads.
#ifndef AARTHIK_SERVER_TRANSCODE_ROUTE_TABLE_H_
#define AARTHIK_SERVER_TRANSCODE_ROUTE_TABLE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aarthik/gateway/v1/options.pb.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "server/transcode/path_shape.h"

namespace aarthik::transcode {

// One piece of a path template: literal text, or a request field whose value is URL-escaped into
// the path.
struct PathSegment {
  std::string literal;
  const google::protobuf::FieldDescriptor* field = nullptr;
};

struct Route {
  const google::protobuf::MethodDescriptor* method = nullptr;
  // The generated default instances of the method's messages, looked up once rather than per call;
  // null for messages not compiled into the binary (a test's scratch descriptor pool).
  const google::protobuf::Message* request_prototype = nullptr;
  const google::protobuf::Message* response_prototype = nullptr;
  // gRPC method path, e.g. "/aarthik.headless.v1.JourneysService/GetJourneyState".
  std::string grpc_path;
  // "GET", "POST", "PUT", "PATCH" or "DELETE".
  std::string http_method;
  // The declared template, e.g. "/api/v1/headless/journeys/{journey_id}/state".
  std::string path_template;
  // "GET /api/v1/headless/journeys/{journey_id}/state": the route's name in logs, metrics and
  // errors.
  std::string label;
  std::vector<PathSegment> path;
  // The template's segments, against which the rendered path is checked before it is sent.
  PathShape path_shape;
  // The request field sent as the JSON body; null when the request has no body.
  const google::protobuf::FieldDescriptor* body_field = nullptr;
  // The response field that receives the platform's payload; null when it fills the whole response.
  const google::protobuf::FieldDescriptor* response_field = nullptr;
  // Top-level request fields sent as query parameters (under their json_name).
  std::vector<const google::protobuf::FieldDescriptor*> query_fields;
  // Field path from the request root to the borrower key (empty when the route names no borrower).
  std::vector<const google::protobuf::FieldDescriptor*> borrower_key_path;
  // Top-level request fields filled from configuration when empty: (field, config key).
  std::vector<std::pair<const google::protobuf::FieldDescriptor*, std::string>> config_defaults;
  // Response fields (any depth) that are cleared before the response reaches the caller.
  std::vector<std::vector<const google::protobuf::FieldDescriptor*>> withheld_paths;
  aarthik::gateway::v1::RouteOptions options;
  // Upstream timeout when the caller sets no deadline; zero means the gateway default.
  absl::Duration default_timeout;

  bool is_write() const {
    return options.mutation() == gateway::v1::MUTATION_IDEMPOTENT_WRITE ||
           options.mutation() == gateway::v1::MUTATION_WRITE;
  }
};

class RouteTable {
 public:
  static absl::StatusOr<RouteTable> Build(
      const std::vector<const google::protobuf::ServiceDescriptor*>& services);

  // Null when the method is unknown.
  const Route* Find(absl::string_view grpc_path) const;
  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  std::vector<std::unique_ptr<Route>> routes_;
  absl::flat_hash_map<std::string, const Route*> by_grpc_path_;
};

// Every service in the generated pool whose package starts with "aarthik." and that declares
// routes.
std::vector<const google::protobuf::ServiceDescriptor*> PlatformServices();

}  // namespace aarthik::transcode

#endif  // AARTHIK_SERVER_TRANSCODE_ROUTE_TABLE_H_
