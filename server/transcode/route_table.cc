#include "server/transcode/route_table.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/api/annotations.pb.h"

namespace aarthik::transcode {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

absl::Status RouteError(const MethodDescriptor* method, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("route of ", method->full_name(), ": ", what));
}

bool IsScalar(const FieldDescriptor* field) {
  return field->type() != FieldDescriptor::TYPE_MESSAGE &&
         field->type() != FieldDescriptor::TYPE_GROUP &&
         field->type() != FieldDescriptor::TYPE_BYTES;
}

absl::Status ParsePath(const MethodDescriptor* method, absl::string_view text,
                       std::vector<PathSegment>* segments) {
  const Descriptor* request = method->input_type();
  if (!absl::StartsWith(text, "/")) return RouteError(method, "path template must start with '/'");
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '{') {
      size_t end = text.find('}', i);
      if (end == absl::string_view::npos)
        return RouteError(method, "unclosed '{' in path template");
      absl::string_view name = text.substr(i + 1, end - i - 1);
      if (name.find_first_of("=.*") != absl::string_view::npos) {
        return RouteError(method,
                          absl::StrCat("path variable {", name,
                                       "} must name a top-level string field (no '.', '=', '*')"));
      }
      const FieldDescriptor* field = request->FindFieldByName(std::string(name));
      if (field == nullptr || field->type() != FieldDescriptor::TYPE_STRING ||
          field->is_repeated()) {
        return RouteError(method,
                          absl::StrCat("path variable {", name, "} is not a string field of ",
                                       request->full_name()));
      }
      if (!literal.empty()) segments->push_back({std::move(literal), nullptr});
      literal.clear();
      segments->push_back({"", field});
      i = end + 1;
    } else {
      literal.push_back(text[i++]);
    }
  }
  if (!literal.empty()) segments->push_back({std::move(literal), nullptr});
  return absl::OkStatus();
}

// Finds fields marked borrower_key at the top level or inside the body message.
absl::Status FindBorrowerKey(Route& route) {
  const Descriptor* request = route.method->input_type();
  auto is_key = [](const FieldDescriptor* f) {
    return f->options().GetExtension(gateway::v1::field).borrower_key();
  };
  std::vector<std::vector<const FieldDescriptor*>> found;
  for (int i = 0; i < request->field_count(); ++i) {
    const FieldDescriptor* field = request->field(i);
    if (is_key(field)) found.push_back({field});
  }
  if (route.body_field != nullptr) {
    const Descriptor* body = route.body_field->message_type();
    for (int i = 0; i < body->field_count(); ++i) {
      if (is_key(body->field(i))) found.push_back({route.body_field, body->field(i)});
    }
  }
  if (found.size() > 1)
    return RouteError(route.method, "more than one field is marked borrower_key");
  if (!found.empty()) {
    const FieldDescriptor* key = found[0].back();
    if (key->type() != FieldDescriptor::TYPE_STRING || key->is_repeated()) {
      return RouteError(route.method, "the borrower_key field must be a singular string");
    }
    route.borrower_key_path = std::move(found[0]);
  }
  return absl::OkStatus();
}

void FindWithheld(const Descriptor* message, std::vector<const FieldDescriptor*>& prefix,
                  std::vector<std::vector<const FieldDescriptor*>>& out, int depth) {
  if (depth > 8) return;  // our responses are shallow; this only guards recursive types
  for (int i = 0; i < message->field_count(); ++i) {
    const FieldDescriptor* field = message->field(i);
    prefix.push_back(field);
    if (field->options().GetExtension(gateway::v1::field).withheld()) out.push_back(prefix);
    if (field->type() == FieldDescriptor::TYPE_MESSAGE && !field->is_repeated() &&
        !absl::StartsWith(field->message_type()->full_name(), "google.protobuf.")) {
      FindWithheld(field->message_type(), prefix, out, depth + 1);
    }
    prefix.pop_back();
  }
}

absl::StatusOr<std::unique_ptr<Route>> BuildRoute(const MethodDescriptor* method) {
  const auto& method_options = method->options();
  if (!method_options.HasExtension(google::api::http)) {
    return RouteError(method, "missing option (google.api.http)");
  }
  if (!method_options.HasExtension(gateway::v1::route)) {
    return RouteError(method, "missing option (aarthik.gateway.v1.route)");
  }
  if (method->client_streaming() || method->server_streaming()) {
    return RouteError(method, "streaming methods cannot be mapped onto REST calls");
  }
  const google::api::HttpRule& http = method_options.GetExtension(google::api::http);
  auto route = std::make_unique<Route>();
  route->method = method;
  route->request_prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(method->input_type());
  route->response_prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(method->output_type());
  route->grpc_path = absl::StrCat("/", method->service()->full_name(), "/", method->name());
  route->options = method_options.GetExtension(gateway::v1::route);
  if (!http.additional_bindings().empty()) {
    return RouteError(method, "additional_bindings are not supported: one REST call per RPC");
  }
  switch (http.pattern_case()) {
    case google::api::HttpRule::kGet:
      route->http_method = "GET", route->path_template = http.get();
      break;
    case google::api::HttpRule::kPost:
      route->http_method = "POST", route->path_template = http.post();
      break;
    case google::api::HttpRule::kPut:
      route->http_method = "PUT", route->path_template = http.put();
      break;
    case google::api::HttpRule::kPatch:
      route->http_method = "PATCH", route->path_template = http.patch();
      break;
    case google::api::HttpRule::kDelete:
      route->http_method = "DELETE", route->path_template = http.delete_();
      break;
    default:
      return RouteError(method, "google.api.http must use get, post, put, patch or delete");
  }
  route->label = absl::StrCat(route->http_method, " ", route->path_template);
  if (absl::Status s = ParsePath(method, route->path_template, &route->path); !s.ok()) return s;
  route->path_shape = PathShape::FromTemplate(route->path_template);

  const gateway::v1::RouteOptions& options = route->options;
  if (options.auth() == gateway::v1::AUTH_MODE_UNSPECIFIED)
    return RouteError(method, "route.auth is not set");
  if (options.envelope() == gateway::v1::ENVELOPE_UNSPECIFIED) {
    return RouteError(method, "route.envelope is not set");
  }
  if (options.mutation() == gateway::v1::MUTATION_UNSPECIFIED) {
    return RouteError(method, "route.mutation is not set");
  }
  if (route->http_method == "GET" && route->is_write()) {
    return RouteError(method, "a GET route cannot be a write");
  }
  route->default_timeout = absl::Milliseconds(options.default_timeout_ms());

  const Descriptor* request = method->input_type();
  if (!http.body().empty()) {
    if (http.body() == "*")
      return RouteError(method, "body \"*\" is not supported: name a body message field");
    if (route->http_method == "GET" || route->http_method == "DELETE") {
      return RouteError(method, "GET and DELETE routes take no body");
    }
    route->body_field = request->FindFieldByName(http.body());
    if (route->body_field == nullptr ||
        route->body_field->type() != FieldDescriptor::TYPE_MESSAGE ||
        route->body_field->is_repeated()) {
      return RouteError(method, absl::StrCat("body '", http.body(), "' is not a message field of ",
                                             request->full_name()));
    }
  }
  if (!http.response_body().empty()) {
    route->response_field = method->output_type()->FindFieldByName(http.response_body());
    if (route->response_field == nullptr ||
        route->response_field->type() != FieldDescriptor::TYPE_MESSAGE ||
        route->response_field->is_repeated()) {
      return RouteError(
          method, absl::StrCat("response_body '", http.response_body(),
                               "' is not a message field of ", method->output_type()->full_name()));
    }
  }
  if (absl::Status s = FindBorrowerKey(*route); !s.ok()) return s;
  bool needs_borrower = options.auth() == gateway::v1::AUTH_MODE_BORROWER_SESSION ||
                        options.auth() == gateway::v1::AUTH_MODE_REFRESH_TOKEN ||
                        options.credential_effect() == gateway::v1::CREDENTIAL_EFFECT_STORE_SESSION;
  if (needs_borrower && route->borrower_key_path.empty()) {
    return RouteError(
        method,
        "borrower-scoped route has no field marked (aarthik.gateway.v1.field).borrower_key");
  }

  absl::flat_hash_set<const FieldDescriptor*> bound;
  for (const PathSegment& segment : route->path) {
    if (segment.field != nullptr) bound.insert(segment.field);
  }
  for (int i = 0; i < request->field_count(); ++i) {
    const FieldDescriptor* field = request->field(i);
    const auto& field_options = field->options().GetExtension(gateway::v1::field);
    if (!field_options.config_default().empty()) {
      if (field_options.config_default() != "tenant_id" &&
          field_options.config_default() != "application_id") {
        return RouteError(method, absl::StrCat("config_default '", field_options.config_default(),
                                               "' is not tenant_id or application_id"));
      }
      route->config_defaults.emplace_back(field, field_options.config_default());
    }
    if (bound.contains(field) || field == route->body_field) continue;
    if (!route->borrower_key_path.empty() && route->borrower_key_path[0] == field) continue;
    if (!IsScalar(field)) {
      return RouteError(
          method, absl::StrCat("field '", field->name(),
                               "' is neither in the path, the body nor a scalar query parameter"));
    }
    route->query_fields.push_back(field);
  }
  const Descriptor* payload = route->response_field != nullptr
                                  ? route->response_field->message_type()
                                  : method->output_type();
  std::vector<const FieldDescriptor*> prefix;
  FindWithheld(payload, prefix, route->withheld_paths, 0);
  return route;
}

}  // namespace

absl::StatusOr<RouteTable> RouteTable::Build(
    const std::vector<const ServiceDescriptor*>& services) {
  RouteTable table;
  absl::flat_hash_set<std::string> rest_routes;
  for (const ServiceDescriptor* service : services) {
    for (int i = 0; i < service->method_count(); ++i) {
      absl::StatusOr<std::unique_ptr<Route>> route = BuildRoute(service->method(i));
      if (!route.ok()) return route.status();
      if (!rest_routes.insert((*route)->label).second) {
        return absl::InvalidArgumentError(absl::StrCat("route of ", service->method(i)->full_name(),
                                                       ": ", (*route)->label,
                                                       " is already mapped by another RPC"));
      }
      table.by_grpc_path_[(*route)->grpc_path] = route->get();
      table.routes_.push_back(*std::move(route));
    }
  }
  return table;
}

const Route* RouteTable::Find(absl::string_view grpc_path) const {
  auto it = by_grpc_path_.find(grpc_path);
  return it == by_grpc_path_.end() ? nullptr : it->second;
}

}  // namespace aarthik::transcode

namespace aarthik::transcode {

std::vector<const google::protobuf::ServiceDescriptor*> PlatformServices() {
  static constexpr const char* kApiFiles[] = {
#include "aarthik/api_files.inc"
  };
  std::vector<const google::protobuf::ServiceDescriptor*> services;
  for (const char* name : kApiFiles) {
    const google::protobuf::FileDescriptor* file =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(name);
    if (file == nullptr) continue;  // not linked in: the build links aarthik_api whole
    for (int i = 0; i < file->service_count(); ++i) {
      const google::protobuf::ServiceDescriptor* service = file->service(i);
      bool mapped = service->method_count() > 0;
      for (int m = 0; m < service->method_count(); ++m) {
        mapped = mapped && service->method(m)->options().HasExtension(google::api::http);
      }
      if (mapped) services.push_back(service);
    }
  }
  return services;
}

}  // namespace aarthik::transcode
