// FieldDropLog: one log line per place in the platform's replies where the gateway dropped a value
// (an unknown field, an unknown enum value, a lenient field of the wrong shape), not one per call:
// a platform that adds a field sends it on every reply, and on-call needs to learn the path once,
// while aarthik_upstream_fields_dropped_total counts every occurrence.
//
//   FieldDropLog log;
//   log.Record("aarthik.headless.v1.OffersService.GetOffer", transcode::FieldDrop::kShapeMismatch,
//              "quoteBreakup", correlation_id);  // logs: this path is new
//   log.Record(... the same three ...);           // does not log again
//
// The line names the RPC, the reason and the JSON path (array indices as `[]`, map keys as `{}`),
// never the value, which may be borrower data. Paths are remembered up to `max_paths`; after that
// one line says further new paths are counted but not logged, so a hostile reply with endless new
// keys cannot grow memory or flood the log.
//
// Thread-safety: Record may be called from any thread (a short internal lock).
#ifndef AARTHIK_SERVER_RPC_FIELD_DROP_LOG_H_
#define AARTHIK_SERVER_RPC_FIELD_DROP_LOG_H_

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/transcode/json_codec.h"

namespace aarthik::rpc {

class FieldDropLog {
 public:
  explicit FieldDropLog(size_t max_paths = 4096) : max_paths_(max_paths) {}

  // Returns true when this (rpc, reason, path) was new and has been logged.
  bool Record(absl::string_view rpc, transcode::FieldDrop reason, absl::string_view json_path,
              absl::string_view correlation_id);

 private:
  const size_t max_paths_;
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> seen_ ABSL_GUARDED_BY(mu_);
  bool full_logged_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace aarthik::rpc

#endif  // AARTHIK_SERVER_RPC_FIELD_DROP_LOG_H_
