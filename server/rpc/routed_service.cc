#include "server/rpc/routed_service.h"

#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/impl/rpc_service_method.h"

namespace aarthik::rpc {

RoutedService::RoutedService(const google::protobuf::ServiceDescriptor& service,
                             const transcode::RouteTable& routes, RpcProxy* proxy) {
  for (int i = 0; i < service.method_count(); ++i) {
    const transcode::Route* route =
        routes.Find("/" + service.full_name() + "/" + service.method(i)->name());
    metrics::GatewayMetrics* metrics = proxy->deps().metrics;
    metrics::RpcInstruments* rpc =
        metrics != nullptr
            ? metrics->Rpc(metrics::RpcType::kUnary, service.full_name(), service.method(i)->name())
            : nullptr;
    const authz::Authorizer* authorizer = proxy->deps().authz;
    const authz::MethodId method = authorizer != nullptr
                                       ? authorizer->Method(route->grpc_path.substr(1))
                                       : authz::kUnknownMethod;
    // The route owns the method path string, which gRPC keeps a pointer to.
    AddMethod(new grpc::internal::RpcServiceMethod(route->grpc_path.c_str(),
                                                   grpc::internal::RpcMethod::NORMAL_RPC, nullptr));
    MarkMethodRawCallback(
        i, new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
               [proxy, route, rpc, method](grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) {
                 return proxy->Handle(*route, context, request, response, rpc, method);
               }));
  }
}

}  // namespace aarthik::rpc
