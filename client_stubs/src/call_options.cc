#include "aarthik/client/call_options.h"

#include <array>
#include <cstdint>
#include <random>

namespace aarthik::client {

std::string NewUuidV4() {
  // std::random_device reads the kernel's CSPRNG on Linux; one per thread avoids locking.
  thread_local std::random_device random;
  std::array<uint8_t, 16> bytes;
  for (size_t i = 0; i < bytes.size(); i += 4) {
    const uint32_t word = random();
    for (size_t j = 0; j < 4; ++j) bytes[i + j] = static_cast<uint8_t>(word >> (8 * j));
  }
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0x0f]);
  }
  return out;
}

std::string NewCorrelationId() { return NewUuidV4(); }

std::string NewIdempotencyKey() { return NewUuidV4(); }

void Prepare(grpc::ClientContext* context, const CallOptions& options) {
  if (options.timeout.count() > 0) {
    context->set_deadline(std::chrono::system_clock::now() + options.timeout);
  }
  context->AddMetadata(kCorrelationIdKey, options.correlation_id.empty() ? NewCorrelationId()
                                                                         : options.correlation_id);
  if (!options.idempotency_key.empty()) {
    context->AddMetadata(kIdempotencyKeyKey, options.idempotency_key);
  }
}

CallOptions WriteOptions() {
  CallOptions options;
  options.idempotency_key = NewIdempotencyKey();
  return options;
}

}  // namespace aarthik::client
