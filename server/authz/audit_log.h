// AuditLog: one JSON line per audited call (every write RPC, whatever its outcome, and every call
// the authorizer refused or would have refused), written to a dedicated sink by a writer thread of
// its own, so that no gRPC or upstream loop thread ever waits on the sink.
//
//   AuditLog::Options options;
//   options.path = "/var/log/aarthik/audit.log";   // or "stdout"
//   options.hash_key = key_bytes;                     // keys the borrower hash
//   absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(options, metrics);
//   // A write, before it is sent: a place in the queue is reserved, or the write is refused.
//   if (!(*audit)->Reserve()) return Finish(AuditLog::Backlog());
//   ...
//   (*audit)->Write(std::move(record), /*reserved=*/true);        // once the outcome is known
//   (*audit)->Write(std::move(denial), /*reserved=*/false);       // a refusal: dropped when full
//
// A line: {"log":"audit","ts":"2026-01-02T03:04:05.678Z","principal":"spiffe://…","source":"jwt",
// "method":"aarthik.headless.v1.OffersService/ProceedOffer","decision":"allow",
// "borrower_key_hash":"hmac-sha256:…","idempotency_key":"…","correlation_id":"…",
// "platform_request_id":"…","code":"OK","latency_ms":12.5}. Never bodies, tokens or raw borrower
// IDs: the borrower key is an HMAC-SHA256 under `hash_key` (hex, truncated to 128 bits), so an
// auditor holding the key can find a borrower's records and nobody else can read them. The hash is
// computed on the writer thread.
//
// Overflow: the queue holds `capacity` records. A write reserves its place before it goes to the
// platform, so a write that happens is never missing from the log: when the queue is full the
// write is refused (UNAVAILABLE, reason AUDIT_LOG_BACKLOG) and counted as dropped "write_refused".
// A refusal's record (nothing was sent) is dropped when full and counted as "queue_full". A sink
// that fails (disk full) counts "io_error" per record lost.
//
// Thread-safety: Reserve, Write and Flush may be called from any thread.
#ifndef AARTHIK_SERVER_AUTHZ_AUDIT_LOG_H_
#define AARTHIK_SERVER_AUTHZ_AUDIT_LOG_H_

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/metrics/gateway_metrics.h"

namespace aarthik::authz {

struct AuditRecord {
  absl::Time time;
  std::string principal;
  std::string source;        // identity source: mtls | jwt | xfcc | ""
  std::string method;        // <package>.<Service>/<Method>
  std::string decision;      // allow | deny | unauthenticated | audit_deny | unchecked
  std::string reason;        // why refused (ErrorInfo reason), "" when allowed
  std::string borrower_key;  // raw; only its keyed hash is written
  std::string idempotency_key;
  std::string correlation_id;
  std::string platform_request_id;
  int code = 0;  // gRPC status code
  absl::Duration latency;
};

class AuditLog {
 public:
  struct Options {
    std::string path;      // a file (appended to) or "stdout"
    std::string hash_key;  // bytes keying the borrower hash
    size_t capacity = 10000;
  };

  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(Options options,
                                                        metrics::GatewayMetrics* metrics);
  // Writes what is queued, then stops the writer.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // A place for one record to come; false (counted as dropped "write_refused") when full.
  bool Reserve();
  // Queues `record`; `reserved`: it uses a place Reserve gave. Unreserved records are dropped
  // (counted "queue_full") when the queue is full.
  void Write(AuditRecord record, bool reserved);
  // Gives back a place Reserve gave that no record will use.
  void Unreserve();
  // Blocks until every record queued so far is written (tests and shutdown).
  void Flush();

  // The status a write gets when the queue is full.
  static absl::Status Backlog();
  // The line written for `record` (exposed for tests).
  std::string Format(const AuditRecord& record) const;

 private:
  AuditLog(Options options, int fd, bool owns_fd, metrics::GatewayMetrics* metrics);
  void Run();

  const Options options_;
  const int fd_;
  const bool owns_fd_;
  metrics::GatewayMetrics* const metrics_;
  std::mutex mu_;
  std::condition_variable wake_;     // the writer waits for records
  std::condition_variable written_;  // Flush waits for the writer
  std::deque<AuditRecord> queue_;    // guarded by mu_
  size_t reserved_ = 0;              // guarded by mu_: places promised to writes in flight
  uint64_t queued_total_ = 0;        // guarded by mu_
  uint64_t written_total_ = 0;       // guarded by mu_
  bool stop_ = false;                // guarded by mu_
  std::thread writer_;
};

}  // namespace aarthik::authz

#endif  // AARTHIK_SERVER_AUTHZ_AUDIT_LOG_H_
