#include "server/events/journey_events_service.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "google/rpc/error_details.pb.h"
#include "server/core/id_source.h"
#include "server/transcode/path_shape.h"
#include "server/transcode/rpc_error.h"

namespace aarthik::events {
namespace {

using aarthik::events::v1::WatchJourneyEventsRequest;
using aarthik::events::v1::WatchJourneyEventsResponse;
using aarthik::events::v1::WatchJourneyStateRequest;
using aarthik::events::v1::WatchJourneyStateResponse;

constexpr char kEventsRpc[] = "WatchJourneyEvents";
constexpr char kStateRpc[] = "WatchJourneyState";
constexpr char kEventsMethod[] = "aarthik.events.v1.JourneyEventsService/WatchJourneyEvents";
constexpr char kStateMethod[] = "aarthik.events.v1.JourneyEventsService/WatchJourneyState";
// The contract's 1–128 characters for borrowerProviderID (and, [I], borrowerExternalID).
constexpr size_t kMaxBorrowerKeyLength = 128;

// One of the service's --max-watch-streams places, held by a stream's reactor until it is done.
class StreamSlot {
 public:
  // Null when the service is at its cap.
  static std::unique_ptr<StreamSlot> Take(std::atomic<int>* open, int max) {
    if (open->fetch_add(1, std::memory_order_relaxed) >= max) {
      open->fetch_sub(1, std::memory_order_relaxed);
      return nullptr;
    }
    return std::unique_ptr<StreamSlot>(new StreamSlot(open));
  }
  ~StreamSlot() { open_->fetch_sub(1, std::memory_order_relaxed); }

 private:
  explicit StreamSlot(std::atomic<int>* open) : open_(open) {}
  std::atomic<int>* open_;
};

absl::Status TooManyStreams(int max) {
  google::rpc::ErrorInfo info;
  info.set_reason("TOO_MANY_STREAMS");
  info.set_domain(transcode::kGatewayDomain);
  (*info.mutable_metadata())["max_watch_streams"] = std::to_string(max);
  return transcode::RpcError(
      absl::StatusCode::kResourceExhausted,
      "this replica serves its most watch streams (--max-watch-streams): retry later or elsewhere",
      {transcode::PackDetail(info)});
}

template <typename Response>
class ErrorReactor : public grpc::ServerWriteReactor<Response> {
 public:
  ErrorReactor(grpc::Status status, metrics::GatewayMetrics* metrics, metrics::RpcInstruments* rpc,
               const char* rpc_name)
      : call_(metrics, rpc, rpc_name, /*subscriber=*/false) {
    call_.SetCode(status.error_code());
    this->Finish(std::move(status));
  }
  void OnDone() override { delete this; }

 private:
  metrics::StreamCall call_;
};

// Streams a subscriber's queue, one write at a time.
class EventsWriter : public grpc::ServerWriteReactor<WatchJourneyEventsResponse> {
 public:
  EventsWriter(std::unique_ptr<StreamSlot> slot, EventLog* log,
               std::shared_ptr<Subscriber> subscriber,
               const JourneyEventsService::StatusConverter& to_grpc,
               metrics::GatewayMetrics* metrics, metrics::RpcInstruments* rpc)
      : slot_(std::move(slot)),
        call_(metrics, rpc, kEventsRpc),
        log_(log),
        subscriber_(std::move(subscriber)),
        to_grpc_(to_grpc) {
    // Initial metadata tells the caller the subscription is live: every event accepted from now on
    // reaches it (ClientReader::WaitForInitialMetadata returns).
    StartSendInitialMetadata();
    subscriber_->SetListener([this] { Pump(); });
    Pump();
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (ok) call_.MessageSent();
      if (!ok) {
        FinishLocked(
            grpc::Status(grpc::StatusCode::CANCELLED, "write failed: the caller went away"));
        return;
      }
    }
    Pump();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the caller"));
  }

  void OnDone() override {
    subscriber_->ClearListener();
    log_->Unsubscribe(subscriber_);
    delete this;
  }

 private:
  void Pump() {
    std::lock_guard<std::mutex> lock(mu_);
    if (writing_ || finished_) return;
    EventPtr event = subscriber_->Next();
    if (event != nullptr) {
      *response_.mutable_event() = event->event;
      writing_ = true;
      StartWrite(&response_);
      return;
    }
    absl::Status status = subscriber_->status();
    if (!status.ok()) FinishLocked(to_grpc_(status));
  }

  void FinishLocked(grpc::Status status) {
    if (finished_) return;
    finished_ = true;
    call_.SetCode(status.error_code());
    Finish(std::move(status));
  }

  std::unique_ptr<StreamSlot> slot_;
  metrics::StreamCall call_;  // guarded by mu_; handled when the reactor is deleted (OnDone)
  EventLog* log_;
  std::shared_ptr<Subscriber> subscriber_;
  const JourneyEventsService::StatusConverter& to_grpc_;
  std::mutex mu_;
  bool writing_ = false;   // guarded by mu_
  bool finished_ = false;  // guarded by mu_
  WatchJourneyEventsResponse response_;
};

// Streams the poller's updates for one journey: only the latest pending state is kept (a watcher
// that reads slowly skips intermediate states instead of buffering them).
class StateWriter : public grpc::ServerWriteReactor<WatchJourneyStateResponse> {
 public:
  StateWriter(std::unique_ptr<StreamSlot> slot, StatePoller* poller, JourneyKey key,
              const JourneyEventsService::StatusConverter& to_grpc,
              metrics::GatewayMetrics* metrics, metrics::RpcInstruments* rpc)
      : slot_(std::move(slot)),
        call_(metrics, rpc, kStateRpc),
        poller_(poller),
        to_grpc_(to_grpc),
        core_(std::make_shared<Core>()) {
    core_->writer = this;
    std::shared_ptr<Core> core = core_;
    id_ = poller_->Watch(
        std::move(key),
        [core](StatePoller::StatePtr state) {
          std::lock_guard<std::mutex> lock(core->mu);
          if (core->writer == nullptr) return;
          core->pending = std::move(state);
          core->writer->PumpLocked();
        },
        [core](absl::Status status) {
          std::lock_guard<std::mutex> lock(core->mu);
          if (core->writer == nullptr) return;
          core->end = std::move(status);
          core->writer->PumpLocked();
        });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(core_->mu);
    writing_ = false;
    if (ok) call_.MessageSent();
    if (!ok)
      return FinishLocked(
          grpc::Status(grpc::StatusCode::CANCELLED, "write failed: the caller went away"));
    PumpLocked();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(core_->mu);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the caller"));
  }

  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      core_->writer = nullptr;
    }
    poller_->Unwatch(id_);
    delete this;
  }

 private:
  struct Core {
    std::mutex mu;
    StateWriter* writer = nullptr;  // null once the reactor is done
    StatePoller::StatePtr pending;
    std::optional<absl::Status> end;
  };

  void PumpLocked() {
    if (writing_ || finished_) return;
    if (core_->pending != nullptr) {
      response_ = *core_->pending;
      core_->pending = nullptr;
      writing_ = true;
      StartWrite(&response_);
      return;
    }
    if (core_->end.has_value())
      FinishLocked(core_->end->ok() ? grpc::Status::OK : to_grpc_(*core_->end));
  }

  void FinishLocked(grpc::Status status) {
    if (finished_) return;
    finished_ = true;
    call_.SetCode(status.error_code());
    Finish(std::move(status));
  }

  std::unique_ptr<StreamSlot> slot_;
  metrics::StreamCall call_;  // guarded by core_->mu; handled when the reactor is deleted (OnDone)
  StatePoller* poller_;
  const JourneyEventsService::StatusConverter& to_grpc_;
  std::shared_ptr<Core> core_;
  StatePoller::WatchId id_ = 0;
  bool writing_ = false;   // guarded by core_->mu
  bool finished_ = false;  // guarded by core_->mu
  WatchJourneyStateResponse response_;
};

grpc::Status PlainStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace

JourneyEventsService::JourneyEventsService(EventLog* log, StatePoller* poller,
                                           StatusConverter to_grpc,
                                           metrics::GatewayMetrics* metrics, int max_streams,
                                           Admission admit)
    : log_(log),
      poller_(poller),
      to_grpc_(to_grpc ? std::move(to_grpc) : StatusConverter(PlainStatus)),
      metrics_(metrics),
      max_streams_(max_streams),
      admit_(std::move(admit)) {
  if (metrics_ != nullptr) {
    const std::string service = aarthik::events::v1::JourneyEventsService::service_full_name();
    events_rpc_ = metrics_->Rpc(metrics::RpcType::kServerStream, service, kEventsRpc);
    state_rpc_ = metrics_->Rpc(metrics::RpcType::kServerStream, service, kStateRpc);
  }
}

grpc::ServerWriteReactor<WatchJourneyEventsResponse>* JourneyEventsService::WatchJourneyEvents(
    grpc::CallbackServerContext* context, const WatchJourneyEventsRequest* request) {
  if (admit_) {
    if (absl::Status admitted = admit_(*context, kEventsMethod); !admitted.ok()) {
      return new ErrorReactor<WatchJourneyEventsResponse>(to_grpc_(admitted), metrics_, events_rpc_,
                                                          kEventsRpc);
    }
  }
  const int keys = !request->journey_id().empty() + !request->borrower_external_id().empty() +
                   !request->borrower_provider_id().empty();
  if (keys > 1) {
    return new ErrorReactor<WatchJourneyEventsResponse>(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                     "set at most one of journey_id, borrower_external_id, borrower_provider_id"),
        metrics_, events_rpc_, kEventsRpc);
  }
  std::unique_ptr<StreamSlot> slot = StreamSlot::Take(&open_streams_, max_streams_);
  if (slot == nullptr) {
    if (metrics_ != nullptr) metrics_->RpcShed();
    return new ErrorReactor<WatchJourneyEventsResponse>(to_grpc_(TooManyStreams(max_streams_)),
                                                        metrics_, events_rpc_, kEventsRpc);
  }
  absl::StatusOr<std::shared_ptr<Subscriber>> subscriber =
      log_->Subscribe(EventFilter{request->journey_id(), request->borrower_external_id(),
                                  request->borrower_provider_id()},
                      request->cursor());
  if (!subscriber.ok()) {
    return new ErrorReactor<WatchJourneyEventsResponse>(to_grpc_(subscriber.status()), metrics_,
                                                        events_rpc_, kEventsRpc);
  }
  return new EventsWriter(std::move(slot), log_, *std::move(subscriber), to_grpc_, metrics_,
                          events_rpc_);
}

grpc::ServerWriteReactor<WatchJourneyStateResponse>* JourneyEventsService::WatchJourneyState(
    grpc::CallbackServerContext* context, const WatchJourneyStateRequest* request) {
  if (admit_) {
    if (absl::Status admitted = admit_(*context, kStateMethod); !admitted.ok()) {
      return new ErrorReactor<WatchJourneyStateResponse>(to_grpc_(admitted), metrics_, state_rpc_,
                                                         kStateRpc);
    }
  }
  const bool headless = !request->borrower_external_id().empty() && !request->journey_id().empty();
  const bool hybrid = !request->borrower_provider_id().empty();
  if (headless == hybrid ||
      (hybrid && (!request->borrower_external_id().empty() || !request->journey_id().empty()))) {
    return new ErrorReactor<WatchJourneyStateResponse>(
        grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            "set borrower_external_id and journey_id (headless), or borrower_provider_id (Hybrid)"),
        metrics_, state_rpc_, kStateRpc);
  }
  // The poller puts these values into platform paths (PlatformStateFetcher): refuse what the
  // unary routes refuse at their edge (RequestMapper), so a watch cannot reach another platform
  // path with the gateway's credentials either.
  std::vector<std::pair<std::string, std::string>> violations;
  if (hybrid) {
    if (request->borrower_provider_id().size() > kMaxBorrowerKeyLength) {
      violations.emplace_back("borrower_provider_id", "longer than 128 characters");
    } else if (transcode::IsDotSegment(request->borrower_provider_id())) {
      violations.emplace_back("borrower_provider_id",
                              "must not be \".\" or \"..\" (nor their %-encoded forms): as a "
                              "path segment it would change the platform path");
    }
  } else {
    if (!core::IsUuid(request->journey_id())) {
      violations.emplace_back("journey_id", "must be a UUID (8-4-4-4-12 hex digits)");
    }
    if (request->borrower_external_id().size() > kMaxBorrowerKeyLength) {
      violations.emplace_back("borrower_external_id", "longer than 128 characters");
    }
  }
  if (!violations.empty()) {
    return new ErrorReactor<WatchJourneyStateResponse>(
        to_grpc_(transcode::InvalidRequest("INVALID_REQUEST_FIELD", violations)), metrics_,
        state_rpc_, kStateRpc);
  }
  std::unique_ptr<StreamSlot> slot = StreamSlot::Take(&open_streams_, max_streams_);
  if (slot == nullptr) {
    if (metrics_ != nullptr) metrics_->RpcShed();
    return new ErrorReactor<WatchJourneyStateResponse>(to_grpc_(TooManyStreams(max_streams_)),
                                                       metrics_, state_rpc_, kStateRpc);
  }
  JourneyKey key{request->borrower_external_id(), request->journey_id(),
                 request->borrower_provider_id()};
  return new StateWriter(std::move(slot), poller_, std::move(key), to_grpc_, metrics_, state_rpc_);
}

}  // namespace aarthik::events
