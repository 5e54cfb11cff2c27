// Per-call settings for RPCs to the Aarthik gRPC gateway: a deadline, the `x-correlation-id` that
// ties the gateway's and the platform's logs to the caller's, and the `idempotency-key` that makes
// a write safe to repeat.
//
// The gateway forwards `x-correlation-id` to the platform as `X-Correlation-ID` and
// `idempotency-key` as `Idempotency-Key`. For writes without a key the gateway generates one,
// stable across its own retries but not across yours: when you retry a write yourself, reuse the
// key of the first attempt.
//
// Example:
//
//   aarthik::client::CallOptions options;
//   options.idempotency_key = aarthik::client::NewIdempotencyKey();  // reused by every attempt
//   for (int attempt = 0; attempt < 3; ++attempt) {
//     grpc::ClientContext context;  // a ClientContext serves one call only
//     aarthik::client::Prepare(&context, options);
//     grpc::Status status = stub->ProceedOffer(&context, request, &response);
//     if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
//   }
//
// Thread-safety: all functions are thread-safe. `CallOptions` is a plain value; `Prepare` only
// reads it. A `grpc::ClientContext` must not be shared between threads while it is being prepared.
#ifndef AARTHIK_CLIENT_CALL_OPTIONS_H_
#define AARTHIK_CLIENT_CALL_OPTIONS_H_

#include <grpcpp/client_context.h>

#include <chrono>
#include <string>

namespace aarthik::client {

// Metadata keys understood by the gateway (gRPC metadata keys are lower case).
inline constexpr char kCorrelationIdKey[] = "x-correlation-id";
inline constexpr char kIdempotencyKeyKey[] = "idempotency-key";

// The deadline `Prepare` sets when `CallOptions::timeout` is left alone. Long enough for the
// platform's slowest documented calls through the gateway's retries, short enough that a hung call
// does not pin a caller's thread.
inline constexpr std::chrono::milliseconds kDefaultTimeout{10000};

struct CallOptions {
  // Time from `Prepare` to the call's deadline. Zero or negative sets no deadline (not
  // recommended).
  std::chrono::milliseconds timeout = kDefaultTimeout;
  // Sent as `x-correlation-id`. When empty, `Prepare` sends a fresh `NewCorrelationId()`; set it
  // yourself when you want to log it or to carry an upstream correlation ID through.
  std::string correlation_id;
  // Sent as `idempotency-key` when not empty. Set it (e.g. to `NewIdempotencyKey()`) for writes you
  // may retry, and reuse it for every attempt of the same logical operation.
  std::string idempotency_key;
};

// Returns a random version-4 UUID in canonical lower-case form, e.g.
// "3f2b8c1e-9d4a-4f6b-8e2a-1c5d7f9a0b3c".
std::string NewUuidV4();

// Returns a fresh correlation ID (a version-4 UUID).
std::string NewCorrelationId();

// Returns a fresh idempotency key (a version-4 UUID).
std::string NewIdempotencyKey();

// Sets `context`'s deadline and adds the `x-correlation-id` and, when set, `idempotency-key`
// metadata. Call it once per `ClientContext`, before starting the call. `context` must not be null.
void Prepare(grpc::ClientContext* context, const CallOptions& options);

// Returns default options with a fresh idempotency key: the usual options for one logical write.
// Keep the returned value and reuse it when you retry that write.
CallOptions WriteOptions();

}  // namespace aarthik::client

#endif  // AARTHIK_CLIENT_CALL_OPTIONS_H_
