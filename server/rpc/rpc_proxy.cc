#include "server/rpc/rpc_proxy.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "server/core/log.h"
#include "server/rpc/busy_poll.h"
#include "server/rpc/call_authz.h"
#include "server/transcode/rpc_error.h"

namespace aarthik::rpc {
namespace {

using gateway::v1::AUTH_MODE_API_KEY;
using gateway::v1::AUTH_MODE_BORROWER_SESSION;
using gateway::v1::AUTH_MODE_REFRESH_TOKEN;
using gateway::v1::CREDENTIAL_EFFECT_STORE_SESSION;
using google::protobuf::Message;

// A metadata value a caller may choose: 1–max printable ASCII characters.
std::optional<std::string> CallerValue(const grpc::CallbackServerContext& context, const char* key,
                                       size_t max) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return std::nullopt;
  std::string value(it->second.data(), it->second.size());
  if (value.empty() || value.size() > max) return std::nullopt;
  for (char c : value) {
    if (!absl::ascii_isprint(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return value;
}

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

void ClearPath(Message* message,
               const std::vector<const google::protobuf::FieldDescriptor*>& path) {
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    if (!message->GetReflection()->HasField(*message, path[i])) return;
    message = message->GetReflection()->MutableMessage(message, path[i]);
  }
  message->GetReflection()->ClearField(message, path.back());
}

// One RPC in flight. Shared by the reactor and the loop callbacks; the reactor is finished exactly
// once.
class ProxyCall : public std::enable_shared_from_this<ProxyCall>, public transcode::FieldDropSink {
 public:
  ProxyCall(const RpcProxyDeps& deps, InFlightCalls* in_flight, FieldDropLog* drop_log,
            const transcode::Route& route, grpc::CallbackServerContext* context,
            grpc::ByteBuffer* response, grpc::ServerUnaryReactor* reactor,
            metrics::RpcInstruments* rpc, authz::MethodId method)
      : deps_(deps),
        in_flight_(in_flight),
        drop_log_(drop_log),
        route_(route),
        context_(context),
        response_(response),
        reactor_(reactor),
        rpc_metrics_(rpc),
        method_id_(method) {}

  // On the gRPC thread: everything that needs no I/O.
  void Begin(const grpc::ByteBuffer* request_bytes) {
    started_ = absl::Now();
    if (rpc_metrics_ != nullptr) rpc_metrics_->Started();
    // Not value_or: that would draw a UUID for every call, supplied or not.
    std::optional<std::string> given = CallerValue(*context_, kCorrelationIdHeader, 128);
    correlation_id_ = given ? *std::move(given) : deps_.ids->NewUuid();
    if (in_flight_->Enter() >= deps_.max_pending_rpcs) {
      if (deps_.metrics != nullptr) deps_.metrics->RpcShed();
      Finish(Overloaded());
      return;
    }
    if (const absl::Status* refusal = in_flight_->refusal()) {
      Finish(*refusal);
      return;
    }
    if (route_.is_write()) {
      given = CallerValue(*context_, kIdempotencyKeyHeader, 255);
      idempotency_key_ = given ? *std::move(given) : deps_.ids->NewUuid();
    }
    ContinueTrace(CallerValue(*context_, kTraceparentHeader, 55).value_or(""));
    tracestate_ = CallerValue(*context_, kTracestateHeader, 512).value_or("");
    if (deps_.authz != nullptr) {
      authz_ = deps_.authz->Check(deps_.authz->Credentials(*context_), method_id_);
      if (authz_.reason != nullptr) {
        if (authz_.refusal.ok()) {
          core::Log(core::Severity::kWarning, "authorization would refuse this call (audit-only)",
                    {{"rpc", route_.method->full_name()},
                     {"principal", authz_.principal},
                     {"source", authz::IdentitySourceName(authz_.source)},
                     {"reason", authz_.reason},
                     {"correlation_id", correlation_id_}});
        } else {
          // Refused before the request is even decoded: nothing of it reaches the platform.
          Finish(authz_.refusal);
          return;
        }
      }
    }
    if (deps_.audit != nullptr && route_.is_write()) {
      // The write's audit record has its place before anything is sent (audit_log.h).
      if (!deps_.audit->Reserve()) {
        Finish(authz::AuditLog::Backlog());
        return;
      }
      audit_reserved_ = true;
    }

    // No request message at all: the caller reset the stream before sending it (gRPC still runs
    // the handler, often before it has seen the reset). That is a cancellation, not a malformed
    // request; gRPC's client libraries never half-close a unary call without its message.
    if (!request_bytes->Valid()) {
      Finish(absl::CancelledError("the call was reset before its request message arrived"));
      return;
    }
    std::unique_ptr<Message> request(route_.request_prototype->New());
    // The reader only reads; it takes a mutable buffer because grpc_byte_buffer_reader_init is
    // declared so. Reading in place saves a copy of the buffer (and its slices' references).
    grpc::ProtoBufferReader reader(const_cast<grpc::ByteBuffer*>(request_bytes));
    if (!request->ParseFromZeroCopyStream(&reader)) {
      Finish(transcode::InvalidRequest(
          "MALFORMED_REQUEST",
          {{"", "request is not a valid " + route_.method->input_type()->full_name() +
                    " (for example, a string field holding invalid UTF-8)"}}));
      return;
    }
    absl::StatusOr<transcode::PlatformCall> call = deps_.mapper->Map(route_, *request);
    if (!call.ok()) {
      Finish(call.status());
      return;
    }
    call_ = *std::move(call);
    absl::Duration budget = route_.default_timeout > absl::ZeroDuration() ? route_.default_timeout
                                                                          : deps_.default_timeout;
    deadline_ = std::min(DeadlineOf(*context_), deps_.clock->Now() + budget);
    max_timeout_ = budget;
    // A borrower whose session is known fresh needs no token work on the loop: the request can
    // leave from this thread (RunOnShard runs it here when a shard's loop is idle).
    std::optional<std::string> fresh;
    if (route_.options.auth() == AUTH_MODE_BORROWER_SESSION) {
      fresh = deps_.sessions->FreshSessionToken(call_.borrower_key);
    }
    deps_.platform->RunOnShard([self = shared_from_this(), fresh = std::move(fresh)] {
      if (fresh) {
        self->Send(*fresh);
      } else {
        self->Authenticate("");
      }
    });
  }

  // From the codec, on the loop, while the reply is decoded: a value the caller will not get.
  void Dropped(transcode::FieldDrop reason, absl::string_view json_path) override {
    if (rpc_metrics_ != nullptr) rpc_metrics_->FieldDropped(transcode::FieldDropName(reason));
    drop_log_->Record(route_.method->full_name(), reason, json_path, correlation_id_);
  }

  // From the reactor when the caller cancels or its deadline passes.
  void OnCancel() {
    Finish(absl::CancelledError("the caller cancelled the call or its deadline passed"));
    // Send re-checks after publishing the ID, so a request started concurrently is cancelled too.
    if (const auto id = upstream_id_.load(std::memory_order_acquire); id != 0) {
      deps_.platform->Cancel(id);
    }
  }

 private:
  // On a shard's loop from here on (the session manager's callbacks run on its loop, which is
  // shard 0's).
  bool finished() {
    std::lock_guard<std::mutex> lock(finish_mu_);
    return finished_;
  }

  void Authenticate(const std::string& rejected_token) {
    if (finished()) return;
    switch (route_.options.auth()) {
      case AUTH_MODE_API_KEY:
        Send(*deps_.api_key->Get());
        return;
      case AUTH_MODE_BORROWER_SESSION:
        deps_.sessions->AcquireSessionToken(
            call_.borrower_key, deadline_, correlation_id_, rejected_token,
            [self = shared_from_this()](absl::StatusOr<std::string> token) {
              if (!token.ok()) return self->Finish(token.status());
              self->Send(*token);
            });
        return;
      case AUTH_MODE_REFRESH_TOKEN:
        deps_.sessions->AcquireRefreshLease(
            call_.borrower_key, deadline_, correlation_id_,
            [self = shared_from_this()](absl::StatusOr<std::string> token) {
              if (!token.ok()) return self->Finish(token.status());
              self->holds_lease_ = true;
              self->Send(*token);
            });
        return;
      default:
        Finish(absl::InternalError("route has no auth mode"));
    }
  }

  void Send(const std::string& bearer) {
    if (finished()) {
      ReleaseLease(absl::CancelledError("call ended"));
      return;
    }
    // Only a borrower's first send can be followed by another (OnReply's retry after a session
    // refresh); the last one hands over the text nothing else reads.
    const bool may_send_again =
        route_.options.auth() == AUTH_MODE_BORROWER_SESSION && !retried_after_refresh_;
    const auto hand_over = [may_send_again](std::string& text) -> std::string {
      if (may_send_again) return text;
      return std::move(text);
    };
    if (may_send_again) bearer_ = bearer;
    platform::PlatformRequest request;
    request.method = route_.http_method;
    request.path_and_query = hand_over(call_.path_and_query);
    request.body = hand_over(call_.body);
    request.bearer = bearer;
    request.idempotency_key = idempotency_key_;  // the same key on our own retry
    request.correlation_id = correlation_id_;
    request.traceparent = hand_over(traceparent_);
    request.tracestate = hand_over(tracestate_);
    request.deadline = deadline_;
    request.max_timeout = max_timeout_;
    request.route = route_.label;
    request.envelope = route_.options.envelope();
    // Replies whose tokens the gateway keeps are read through the tree (TokensFromPlatformData);
    // the others go from bytes to the response message in one pass.
    if (route_.options.credential_effect() != CREDENTIAL_EFFECT_STORE_SESSION) {
      request.decode_data = [this](transcode::SimdjsonView data) {
        response_message_ = NewResponse();
        // Drops are reported once the decoding stands: a payload the codec fails on is decoded
        // again the full way (fast_reply.h), which reports them itself.
        transcode::CollectingDropSink drops;
        absl::Status decoded = deps_.codec->Decode(data, Payload(response_message_.get()), &drops);
        if (decoded.ok()) {
          for (const auto& [reason, path] : drops.drops) Dropped(reason, path);
        }
        return decoded;
      };
    }
    const platform::PlatformClient::CallId id = deps_.platform->Call(
        std::move(request),
        [self = shared_from_this()](absl::StatusOr<transcode::PlatformReply> r) {
          self->upstream_id_.store(0, std::memory_order_release);
          self->OnReply(std::move(r));
        });
    upstream_id_.store(id, std::memory_order_release);
    // The caller may have cancelled between the check above and now: OnCancel saw no ID then.
    if (finished()) deps_.platform->Cancel(id);
  }

  void OnReply(absl::StatusOr<transcode::PlatformReply> reply) {
    if (!reply.ok()) {
      ReleaseLease(reply.status());
      return Finish(reply.status());
    }
    upstream_status_ = reply->http_status;
    request_id_ = reply->request_id;
    transcode::ErrorContext error_context{route_.label, correlation_id_};
    if (reply->error) {
      bool session_rejected =
          reply->http_status == 401 && reply->error->code == "AUTH_INVALID_SESSION";
      if (session_rejected && route_.options.auth() == AUTH_MODE_BORROWER_SESSION &&
          !retried_after_refresh_) {
        retried_after_refresh_ = true;
        Authenticate(bearer_);
        return;
      }
      ReleaseLease(absl::UnauthenticatedError("refresh refused"));
      return Finish(transcode::MapPlatformError(*reply, error_context));
    }

    std::unique_ptr<Message> response;
    absl::Status decoded;
    if (reply->data_decoded) {
      response = std::move(response_message_);
    } else {
      response = NewResponse();
      decoded = deps_.codec->Decode(reply->data, Payload(response.get()), this);
    }
    Message* payload = Payload(response.get());
    if (!decoded.ok()) {
      ReleaseLease(decoded);
      return Finish(transcode::MapBadResponse(decoded.message(), &*reply, error_context));
    }
    if (route_.options.credential_effect() == CREDENTIAL_EFFECT_STORE_SESSION) {
      absl::StatusOr<auth::BorrowerTokens> tokens =
          auth::TokensFromPlatformData(reply->data, deps_.clock->Now());
      if (holds_lease_) {
        ReleaseLease(tokens);
      } else if (tokens.ok()) {
        deps_.sessions->StoreTokens(call_.borrower_key, *tokens, correlation_id_);
      }
    }
    for (const auto& path : route_.withheld_paths) ClearPath(payload, path);

    Finish(absl::OkStatus(), response.get());
  }

  std::unique_ptr<Message> NewResponse() const {
    return std::unique_ptr<Message>(route_.response_prototype->New());
  }

  // Where the platform's data goes: the response, or its response_body field.
  Message* Payload(Message* response) const {
    return route_.response_field != nullptr
               ? response->GetReflection()->MutableMessage(response, route_.response_field)
               : response;
  }

  void ReleaseLease(absl::StatusOr<auth::BorrowerTokens> rotated) {
    if (!holds_lease_) return;
    holds_lease_ = false;
    deps_.sessions->ReleaseRefreshLease(call_.borrower_key, std::move(rotated), correlation_id_);
  }

  // Finishes the reactor once. `response` is written only on success. The lock keeps the caller's
  // cancellation (which ends the call and frees its buffers) from racing with writing the answer.
  void Finish(absl::Status status, const Message* response = nullptr) {
    std::shared_ptr<ProxyCall> keep_alive = shared_from_this();  // the reactor may go at Finish
    std::lock_guard<std::mutex> lock(finish_mu_);
    if (finished_) return;
    finished_ = true;
    in_flight_->Leave();
    if (status.ok()) {
      // IDs go in the headers of an answer and in the trailers of a refusal: a failed call's
      // answer is then trailers-only, which a client's retry policy may still retry (headers
      // commit a call).
      context_->AddInitialMetadata(kCorrelationIdHeader, correlation_id_);
      if (!request_id_.empty()) context_->AddInitialMetadata(kPlatformRequestIdHeader, request_id_);
      grpc::ProtoBufferWriter writer(response_, grpc::kProtoBufferWriterMaxBufferLength,
                                     static_cast<int>(response->ByteSizeLong()));
      if (!response->SerializeToZeroCopyStream(&writer))
        status = absl::InternalError("cannot serialize the response");
    }
    if (rpc_metrics_ != nullptr) {
      rpc_metrics_->Handled(static_cast<int>(status.code()), absl::Now() - started_);
      if (status.ok()) rpc_metrics_->MessageSent();
    }
    if (!status.ok()) {
      context_->AddTrailingMetadata(kCorrelationIdHeader, correlation_id_);
      if (!request_id_.empty())
        context_->AddTrailingMetadata(kPlatformRequestIdHeader, request_id_);
    }
    Audit(status);
    core::Severity severity = status.ok() ? core::Severity::kDebug
                              : (status.code() == absl::StatusCode::kInternal ||
                                 status.code() == absl::StatusCode::kUnavailable)
                                  ? core::Severity::kWarning
                                  : core::Severity::kInfo;
    if (core::LogEnabled(severity)) {
      core::Log(severity, "rpc finished",
                {{"rpc", route_.method->full_name()},
                 {"route", route_.label},
                 {"principal", authz_.principal},
                 {"code", absl::StatusCodeToString(status.code())},
                 {"reason", transcode::ErrorReason(status)},
                 {"upstream_status", absl::StrCat(upstream_status_)},
                 {"latency_ms", absl::StrCat(absl::ToDoubleMilliseconds(absl::Now() - started_))},
                 {"correlation_id", correlation_id_},
                 {"trace_id", trace_id_},
                 {"request_id", request_id_}});
    }
    reactor_->Finish(ToGrpcStatus(status));
  }

  // The call's audit record: every write (it reserved its place in Begin) and every call the
  // authorizer refused or would have refused. Under finish_mu_.
  void Audit(const absl::Status& status) {
    if (deps_.audit == nullptr) return;
    const bool refused = authz_.reason != nullptr;
    if (!audit_reserved_ && !refused) return;
    authz::AuditRecord record;
    record.time = started_;
    record.principal = authz_.principal;
    record.source = std::string(authz::IdentitySourceName(authz_.source));
    record.method = route_.grpc_path.substr(1);
    record.decision = std::string(AuditDecisionName(authz_));
    if (refused) record.reason = authz_.reason;
    record.borrower_key = call_.borrower_key;
    record.idempotency_key = idempotency_key_;
    record.correlation_id = correlation_id_;
    record.platform_request_id = request_id_;
    record.code = static_cast<int>(status.code());
    record.latency = absl::Now() - started_;
    deps_.audit->Write(std::move(record), audit_reserved_);
    audit_reserved_ = false;
  }

  // W3C trace context: keep the caller's trace ID (or start a trace) and name our hop with a new
  // parent ID.
  void ContinueTrace(const std::string& incoming) {
    absl::string_view flags = "01";
    if (IsTraceparent(incoming)) {
      trace_id_.assign(incoming, 3, 32);
      flags = absl::string_view(incoming).substr(53, 2);
    } else {
      trace_id_ = deps_.ids->NewHex(32);
    }
    // Its own random draw: a parent ID cut from a new trace ID would repeat half of it.
    traceparent_ = absl::StrCat("00-", trace_id_, "-", deps_.ids->NewHex(16), "-", flags);
  }

  static bool IsTraceparent(const std::string& value) {
    if (value.size() != 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') return false;
    for (size_t i = 0; i < value.size(); ++i) {
      if (i == 2 || i == 35 || i == 52) continue;
      char c = value[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return value.compare(3, 32, std::string(32, '0')) != 0 &&
           value.compare(36, 16, std::string(16, '0')) != 0;
  }

  absl::Status Overloaded() {
    google::rpc::ErrorInfo info;
    info.set_reason("GATEWAY_OVERLOADED");
    info.set_domain(transcode::kGatewayDomain);
    google::rpc::RetryInfo retry;
    retry.mutable_retry_delay()->set_seconds(1);
    return transcode::RpcError(absl::StatusCode::kResourceExhausted,
                               absl::StrCat("the gateway is serving its maximum of ",
                                            deps_.max_pending_rpcs, " calls; retry shortly"),
                               {transcode::PackDetail(info), transcode::PackDetail(retry)});
  }

  const RpcProxyDeps& deps_;
  InFlightCalls* in_flight_;
  FieldDropLog* const drop_log_;
  const transcode::Route& route_;
  grpc::CallbackServerContext* context_;
  grpc::ByteBuffer* response_;
  grpc::ServerUnaryReactor* reactor_;
  metrics::RpcInstruments* const rpc_metrics_;  // null: no metrics
  const authz::MethodId method_id_;
  std::mutex finish_mu_;
  bool finished_ = false;  // guarded by finish_mu_

  // Set on the gRPC thread before the loop sees the call, then read-only.
  absl::Time started_;
  std::string correlation_id_;
  std::string idempotency_key_;
  std::string traceparent_;
  std::string tracestate_;
  std::string trace_id_;
  transcode::PlatformCall call_;
  authz::Decision authz_;        // who called and what the policy said
  bool audit_reserved_ = false;  // a write holding its audit record's place; then finish_mu_
  absl::Time deadline_;
  absl::Duration max_timeout_;

  // Loop thread only.
  std::string bearer_;
  std::string request_id_;
  int upstream_status_ = 0;
  bool retried_after_refresh_ = false;
  bool holds_lease_ = false;
  std::unique_ptr<Message> response_message_;  // decoded on the fast path, before OnReply
  // Written on the loop, read by OnCancel on a gRPC thread.
  std::atomic<platform::PlatformClient::CallId> upstream_id_{0};
};

class ProxyReactor : public grpc::ServerUnaryReactor {
 public:
  ProxyReactor(const RpcProxyDeps& deps, InFlightCalls* in_flight, FieldDropLog* drop_log,
               const transcode::Route& route, grpc::CallbackServerContext* context,
               grpc::ByteBuffer* response, metrics::RpcInstruments* rpc, authz::MethodId method)
      : call_(std::make_shared<ProxyCall>(deps, in_flight, drop_log, route, context, response, this,
                                          rpc, method)) {}

  void Begin(const grpc::ByteBuffer* request) { call_->Begin(request); }
  void OnCancel() override { call_->OnCancel(); }
  void OnDone() override { delete this; }
  // gRPC runs the reactions of an inlineable reactor on the thread that completes the call instead
  // of handing them to its executor (one thread wake-up per call saved). Ours qualify: OnDone
  // only deletes, OnCancel only finishes and hands the upstream cancel to its loop, and neither
  // blocks.
  bool InternalInlineable() override { return true; }

 private:
  std::shared_ptr<ProxyCall> call_;
};

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  auto code = static_cast<grpc::StatusCode>(status.code());
  std::string message(status.message());
  if (std::optional<google::rpc::Status> details = transcode::RpcDetails(status)) {
    return grpc::Status(code, message, details->SerializeAsString());
  }
  return grpc::Status(code, message);
}

grpc::ServerUnaryReactor* RpcProxy::Handle(const transcode::Route& route,
                                           grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response, metrics::RpcInstruments* rpc,
                                           authz::MethodId method) {
  BusyPoll::EnableOnThisThread();  // gRPC runs handlers on the threads that poll
  auto* reactor =
      new ProxyReactor(deps_, &in_flight_, &field_drops_, route, context, response, rpc, method);
  reactor->Begin(request);
  return reactor;
}

}  // namespace aarthik::rpc
