// RpcProxy: serves any routed RPC by calling the platform. One instance serves every method; the
// route (from the proto options) is the only per-method knowledge.
//
// For one call it: identifies the caller and applies the authorization policy (deps.authz: a
// refused call ends here, before anything is decoded or sent), reads x-correlation-id /
// idempotency-key / traceparent + tracestate metadata (generating what is missing; the W3C trace
// continues with a new parent ID for our hop), decodes the request, maps it to the platform call
// (RequestMapper), obtains the credential the route needs (API key, or the borrower's session via
// SessionManager), sends it (PlatformClient), runs the single 401 → refresh → retry path, decodes
// the envelope into the response message (counting and logging, once per JSON path, what the
// message cannot carry: field_drop_log.h), withholds what must not leave the gateway, and finishes
// with the platform's request/correlation IDs in the response metadata and, on failure, a gRPC
// status with google.rpc details. Writes (and refused calls) leave one audit record (deps.audit); a
// write reserves its place before it is sent.
//
//   RpcProxy proxy(deps);
//   grpc::ServerUnaryReactor* reactor = proxy.Handle(*route, context, request, response);
//
// Nothing here blocks: the platform call and the session work run on the upstream event loop, and
// the reactor is finished from there. A cancelled or expired call cancels its upstream request.
//
// Thread-safety: Handle may be called concurrently from any gRPC thread.
#ifndef AARTHIK_SERVER_RPC_RPC_PROXY_H_
#define AARTHIK_SERVER_RPC_RPC_PROXY_H_

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/auth/session_manager.h"
#include "server/authz/audit_log.h"
#include "server/authz/authorizer.h"
#include "server/core/clock.h"
#include "server/core/id_source.h"
#include "server/core/secret.h"
#include "server/metrics/gateway_metrics.h"
#include "server/platform/platform_client.h"
#include "server/rpc/field_drop_log.h"
#include "server/rpc/in_flight_calls.h"
#include "server/transcode/json_codec.h"
#include "server/transcode/request_mapper.h"
#include "server/transcode/route_table.h"
#include "server/upstream/event_loop.h"

namespace aarthik::rpc {

struct RpcProxyDeps {
  const transcode::JsonCodec* codec = nullptr;
  const transcode::RequestMapper* mapper = nullptr;
  platform::PlatformClient* platform = nullptr;
  auth::SessionManager* sessions = nullptr;
  const core::Clock* clock = nullptr;
  core::IdSource* ids = nullptr;
  // Read on every API-key call, so a rotated key file is used at once (core/secret.h).
  std::shared_ptr<const core::Secret> api_key;
  // Upstream timeout when neither the caller's deadline nor the route says otherwise.
  absl::Duration default_timeout = absl::Seconds(10);
  // Calls served at once; beyond it calls are refused at once (load shedding).
  int max_pending_rpcs = 20000;
  // Load-shedding counter; none when null. The per-method RPC metrics come with each Handle call.
  metrics::GatewayMetrics* metrics = nullptr;
  // Caller identity and policy (docs/security.md); none when null: no identity work at all.
  const authz::Authorizer* authz = nullptr;
  // One record per write and per refused call; none when null.
  authz::AuditLog* audit = nullptr;
};

class RpcProxy {
 public:
  explicit RpcProxy(RpcProxyDeps deps) : deps_(std::move(deps)) {}

  // `rpc`, when not null, receives the call's go-grpc-prometheus metrics (started, handled with its
  // code, latency, messages); obtained once per method at start-up (RoutedService), as is
  // `method`, the route's id for the authorizer.
  grpc::ServerUnaryReactor* Handle(const transcode::Route& route,
                                   grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                                   metrics::RpcInstruments* rpc = nullptr,
                                   authz::MethodId method = authz::kUnknownMethod);

  const RpcProxyDeps& deps() const { return deps_; }
  // Calls being served; the drain on SIGTERM refuses new ones through it.
  InFlightCalls& in_flight() { return in_flight_; }

 private:
  RpcProxyDeps deps_;
  InFlightCalls in_flight_;
  // What replies carried that callers did not get: one log line per path (the counts go to each
  // method's RpcInstruments).
  FieldDropLog field_drops_;
};

// absl::Status (with an optional google.rpc.Status payload) → grpc::Status with binary details.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Metadata names the gateway reads and writes.
inline constexpr char kCorrelationIdHeader[] = "x-correlation-id";
inline constexpr char kIdempotencyKeyHeader[] = "idempotency-key";
inline constexpr char kPlatformRequestIdHeader[] = "x-platform-request-id";
inline constexpr char kTraceparentHeader[] = "traceparent";
inline constexpr char kTracestateHeader[] = "tracestate";

}  // namespace aarthik::rpc

#endif  // AARTHIK_SERVER_RPC_RPC_PROXY_H_
