// RequestLog: the raw request target of the last N platform requests, exactly as they arrived on
// the wire (before the sandbox resolves dot segments or decodes anything), so that tests can assert
// on what a client really sent rather than on where the request ended up.
//
// A fixed ring: recording reuses the slots' string buffers, so once warm it does not allocate for
// targets no longer than those seen before; one short lock per request. Capacity 0 records nothing.
//
// Example:
//   RequestLog log(/*capacity=*/256);
//   log.Record("GET", "/api/v1/hybrid/personal-loan/borrowers/..%2F/journey/offers");
//   std::vector<LoggedRequest> seen = log.Since(/*after_seq=*/0);  // oldest first
//
// Thread-safety: thread-safe.
#ifndef AARTHIK_SANDBOX_REQUEST_LOG_H_
#define AARTHIK_SANDBOX_REQUEST_LOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace aarthik::sandbox {

struct LoggedRequest {
  uint64_t seq = 0;  // 1 for the first request the sandbox recorded; never reused
  std::string method;
  std::string target;  // path and query as received
};

class RequestLog {
 public:
  explicit RequestLog(size_t capacity);

  void Record(absl::string_view method, absl::string_view target);
  // The retained requests with seq > after_seq, oldest first; `last_seq` (optional) receives the
  // latest seq at the same instant, the `after_seq` of the next call.
  std::vector<LoggedRequest> Since(uint64_t after_seq, uint64_t* last_seq = nullptr) const;
  // Forgets the retained requests; sequence numbers keep counting.
  void Clear();
  // The seq of the latest request recorded (0 before the first).
  uint64_t last_seq() const;
  size_t capacity() const { return ring_capacity_; }

 private:
  const size_t ring_capacity_;
  mutable absl::Mutex mu_;
  std::vector<LoggedRequest> ring_ ABSL_GUARDED_BY(mu_);  // slot (seq - 1) % capacity
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t cleared_through_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_REQUEST_LOG_H_
