// JourneyEventsService: the gateway's own gRPC service (aarthik.events.v1), on the callback API.
// Each stream is a ServerWriteReactor that writes one message at a time and is woken by the
// EventLog (web-hook events) or the StatePoller (polled state); no gRPC thread ever waits.
//
//   JourneyEventsService service(&log, &poller, rpc::ToGrpcStatus);
//   builder.RegisterService(&service);
//
// Thread-safety: the service is stateless beyond its dependencies (thread-safe); each reactor
// guards its own state with a mutex.
#ifndef AARTHIK_SERVER_EVENTS_JOURNEY_EVENTS_SERVICE_H_
#define AARTHIK_SERVER_EVENTS_JOURNEY_EVENTS_SERVICE_H_

#include <atomic>
#include <functional>

#include "aarthik/events/v1/events.grpc.pb.h"
#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "server/events/event_log.h"
#include "server/events/state_poller.h"
#include "server/metrics/gateway_metrics.h"

namespace aarthik::events {

class JourneyEventsService final
    : public aarthik::events::v1::JourneyEventsService::CallbackService {
 public:
  using StatusConverter = std::function<grpc::Status(const absl::Status&)>;
  // Decides whether a call of `method` ("<package>.<Service>/<Method>") may start (the gateway's
  // authorization, rpc/call_authz.h); not OK: the stream ends at once with that status.
  using Admission =
      std::function<absl::Status(const grpc::ServerContextBase& context, absl::string_view method)>;

  // `to_grpc` turns internal errors into RPC statuses (with their details); null: code and message
  // only. `metrics`, when not null, gets the go-grpc-prometheus server_stream metrics and the
  // subscriber gauges. Beyond `max_streams` open streams (both methods together) a new one fails
  // at once with RESOURCE_EXHAUSTED (ErrorInfo reason TOO_MANY_STREAMS). `admit`, when set, is
  // asked first.
  JourneyEventsService(EventLog* log, StatePoller* poller, StatusConverter to_grpc = nullptr,
                       metrics::GatewayMetrics* metrics = nullptr, int max_streams = 4096,
                       Admission admit = nullptr);

  grpc::ServerWriteReactor<aarthik::events::v1::WatchJourneyEventsResponse>* WatchJourneyEvents(
      grpc::CallbackServerContext* context,
      const aarthik::events::v1::WatchJourneyEventsRequest* request) override;

  grpc::ServerWriteReactor<aarthik::events::v1::WatchJourneyStateResponse>* WatchJourneyState(
      grpc::CallbackServerContext* context,
      const aarthik::events::v1::WatchJourneyStateRequest* request) override;

 private:
  EventLog* log_;
  StatePoller* poller_;
  StatusConverter to_grpc_;
  metrics::GatewayMetrics* metrics_;
  metrics::RpcInstruments* events_rpc_ = nullptr;
  metrics::RpcInstruments* state_rpc_ = nullptr;
  const int max_streams_;
  Admission admit_;
  std::atomic<int> open_streams_{0};
};

}  // namespace aarthik::events

#endif  // AARTHIK_SERVER_EVENTS_JOURNEY_EVENTS_SERVICE_H_
