// Counters for the control plane (`GET /_sandbox/counters`): requests per route template and
// status, sessions minted, refreshes, side effects per Idempotency-Key, web-hook outcomes, TLS
// handshakes.
//
// Example:
//   Counters counters;
//   counters.CountRequest(route_index, 200);
//   nlohmann::json snapshot = counters.ToJson(Router::Get());
//
// Thread-safety: thread-safe. Request counting is lock-free (one relaxed atomic increment).
#ifndef AARTHIK_SANDBOX_COUNTERS_H_
#define AARTHIK_SANDBOX_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "sandbox/router.h"

namespace aarthik::sandbox {

class Counters {
 public:
  // Route index `kUnmatched` counts requests that matched no route.
  static constexpr int kUnmatched = static_cast<int>(RouteId::kCount);

  Counters();

  void CountRequest(int route_index, int http_status);
  void CountSessionMinted() { sessions_minted_.fetch_add(1, std::memory_order_relaxed); }
  void CountRefresh() { refreshes_.fetch_add(1, std::memory_order_relaxed); }
  void CountSideEffect(const std::string& idempotency_key);
  void CountWebhookSent() { webhooks_sent_.fetch_add(1, std::memory_order_relaxed); }
  void CountWebhookResult(bool succeeded);
  // Connection-level: not cleared by Reset (connections outlive a reset of the platform's state).
  void CountTlsHandshake(bool succeeded) {
    (succeeded ? tls_handshakes_completed_ : tls_handshakes_failed_)
        .fetch_add(1, std::memory_order_relaxed);
  }

  void Reset();
  nlohmann::json ToJson(const Router& router) const;

 private:
  static constexpr int kStatuses = 600;
  using StatusCounts = std::array<std::atomic<uint64_t>, kStatuses>;
  std::unique_ptr<StatusCounts[]> requests_;  // [route index][http status]
  std::atomic<uint64_t> sessions_minted_{0};
  std::atomic<uint64_t> refreshes_{0};
  std::atomic<uint64_t> webhooks_sent_{0};
  std::atomic<uint64_t> webhooks_succeeded_{0};
  std::atomic<uint64_t> webhooks_failed_{0};
  std::atomic<uint64_t> tls_handshakes_completed_{0};
  std::atomic<uint64_t> tls_handshakes_failed_{0};
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, uint64_t> side_effects_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_COUNTERS_H_
