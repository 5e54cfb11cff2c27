#include "sandbox/request_log.h"

#include <algorithm>

namespace aarthik::sandbox {

RequestLog::RequestLog(size_t capacity) : ring_capacity_(capacity), ring_(capacity) {}

void RequestLog::Record(absl::string_view method, absl::string_view target) {
  if (ring_capacity_ == 0) return;
  absl::MutexLock lock(&mu_);
  LoggedRequest& slot = ring_[last_seq_ % ring_capacity_];
  slot.seq = ++last_seq_;
  slot.method.assign(method.data(), method.size());  // reuses the slot's buffer
  slot.target.assign(target.data(), target.size());
}

std::vector<LoggedRequest> RequestLog::Since(uint64_t after_seq, uint64_t* last_seq) const {
  absl::MutexLock lock(&mu_);
  if (last_seq != nullptr) *last_seq = last_seq_;
  const uint64_t oldest_kept = last_seq_ > ring_capacity_ ? last_seq_ - ring_capacity_ : 0;
  const uint64_t from = std::max({after_seq, oldest_kept, cleared_through_});
  std::vector<LoggedRequest> out;
  out.reserve(last_seq_ - std::min(from, last_seq_));
  for (uint64_t seq = from + 1; seq <= last_seq_; ++seq) {
    out.push_back(ring_[(seq - 1) % ring_capacity_]);
  }
  return out;
}

void RequestLog::Clear() {
  absl::MutexLock lock(&mu_);
  cleared_through_ = last_seq_;
}

uint64_t RequestLog::last_seq() const {
  absl::MutexLock lock(&mu_);
  return last_seq_;
}

}  // namespace aarthik::sandbox
