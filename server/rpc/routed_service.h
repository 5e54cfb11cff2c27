// RoutedService: a gRPC service assembled at run time from a ServiceDescriptor, so that serving a
// new RPC needs no C++. Each method is registered as a raw callback method (request and response
// stay serialized bytes until RpcProxy decodes them with the method's descriptors), exactly as
// generated code registers its raw callback methods. The service keeps its real name, so health
// checks and server reflection see it.
//
//   RoutedService service(*descriptor, route_table, &proxy);
//   builder.RegisterService(&service);
//
// Thread-safety: immutable after construction; gRPC calls its handlers concurrently.
#ifndef AARTHIK_SERVER_RPC_ROUTED_SERVICE_H_
#define AARTHIK_SERVER_RPC_ROUTED_SERVICE_H_

#include "google/protobuf/descriptor.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/service_type.h"
#include "server/rpc/rpc_proxy.h"
#include "server/transcode/route_table.h"

namespace aarthik::rpc {

class RoutedService : public grpc::Service {
 public:
  // Every method of `service` must have a route in `routes`.
  RoutedService(const google::protobuf::ServiceDescriptor& service,
                const transcode::RouteTable& routes, RpcProxy* proxy);
};

}  // namespace aarthik::rpc

#endif  // AARTHIK_SERVER_RPC_ROUTED_SERVICE_H_
