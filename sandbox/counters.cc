#include "sandbox/counters.h"

#include <map>

namespace aarthik::sandbox {

Counters::Counters() : requests_(new StatusCounts[kUnmatched + 1]) { Reset(); }

void Counters::CountRequest(int route_index, int http_status) {
  if (route_index < 0 || route_index > kUnmatched) route_index = kUnmatched;
  if (http_status < 0 || http_status >= kStatuses) http_status = 0;
  requests_[route_index][http_status].fetch_add(1, std::memory_order_relaxed);
}

void Counters::CountSideEffect(const std::string& idempotency_key) {
  absl::MutexLock lock(&mu_);
  ++side_effects_[idempotency_key];
}

void Counters::CountWebhookResult(bool succeeded) {
  (succeeded ? webhooks_succeeded_ : webhooks_failed_).fetch_add(1, std::memory_order_relaxed);
}

void Counters::Reset() {
  for (int r = 0; r <= kUnmatched; ++r) {
    for (auto& count : requests_[r]) count.store(0, std::memory_order_relaxed);
  }
  sessions_minted_ = 0;
  refreshes_ = 0;
  webhooks_sent_ = 0;
  webhooks_succeeded_ = 0;
  webhooks_failed_ = 0;
  absl::MutexLock lock(&mu_);
  side_effects_.clear();
}

nlohmann::json Counters::ToJson(const Router& router) const {
  nlohmann::json requests = nlohmann::json::array();
  for (int r = 0; r <= kUnmatched; ++r) {
    for (int status = 0; status < kStatuses; ++status) {
      uint64_t count = requests_[r][status].load(std::memory_order_relaxed);
      if (count == 0) continue;
      std::string label = r == kUnmatched ? "UNMATCHED" : router.routes()[r].label;
      requests.push_back({{"route", label}, {"status", status}, {"count", count}});
    }
  }
  nlohmann::json side_effects = nlohmann::json::object();
  {
    absl::MutexLock lock(&mu_);
    std::map<std::string, uint64_t> sorted(side_effects_.begin(), side_effects_.end());
    for (const auto& [key, count] : sorted) side_effects[key] = count;
  }
  return {{"requests", requests},
          {"sessions_minted", sessions_minted_.load()},
          {"refreshes", refreshes_.load()},
          {"side_effects", side_effects},
          {"webhooks",
           {{"sent", webhooks_sent_.load()},
            {"succeeded", webhooks_succeeded_.load()},
            {"failed", webhooks_failed_.load()}}},
          {"tls_handshakes",
           {{"completed", tls_handshakes_completed_.load()},
            {"failed", tls_handshakes_failed_.load()}}}};
}

}  // namespace aarthik::sandbox
