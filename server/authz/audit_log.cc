#include "server/authz/audit_log.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "nlohmann/json.hpp"
#include "server/core/log.h"
#include "server/transcode/rpc_error.h"

namespace aarthik::authz {
namespace {

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(Options options,
                                                         metrics::GatewayMetrics* metrics) {
  if (options.capacity == 0) return absl::InvalidArgumentError("the audit queue needs a capacity");
  int fd = STDOUT_FILENO;
  bool owns = false;
  if (options.path != "stdout") {
    fd = ::open(options.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot open the audit log ", options.path, ": ", std::strerror(errno)));
    }
    owns = true;
  }
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(options), fd, owns, metrics));
}

AuditLog::AuditLog(Options options, int fd, bool owns_fd, metrics::GatewayMetrics* metrics)
    : options_(std::move(options)), fd_(fd), owns_fd_(owns_fd), metrics_(metrics) {
  writer_ = std::thread([this] { Run(); });
}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  writer_.join();
  if (owns_fd_) ::close(fd_);
}

bool AuditLog::Reserve() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() + reserved_ < options_.capacity) {
      ++reserved_;
      return true;
    }
  }
  if (metrics_ != nullptr) metrics_->AuditDropped("write_refused");
  return false;
}

void AuditLog::Unreserve() {
  std::lock_guard<std::mutex> lock(mu_);
  if (reserved_ > 0) --reserved_;
}

void AuditLog::Write(AuditRecord record, bool reserved) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (reserved) {
      if (reserved_ > 0) --reserved_;
    } else if (queue_.size() + reserved_ >= options_.capacity) {
      if (metrics_ != nullptr) metrics_->AuditDropped("queue_full");
      return;
    }
    wake = queue_.empty();
    queue_.push_back(std::move(record));
    ++queued_total_;
  }
  // The writer sleeps only when the queue is empty: under load no wake-up is needed.
  if (wake) wake_.notify_one();
}

void AuditLog::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = queued_total_;
  written_.wait(lock, [&] { return written_total_ >= target; });
}

absl::Status AuditLog::Backlog() {
  google::rpc::ErrorInfo info;
  info.set_reason("AUDIT_LOG_BACKLOG");
  info.set_domain(transcode::kGatewayDomain);
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(1);
  return transcode::RpcError(absl::StatusCode::kUnavailable,
                             "the gateway cannot record this write in its audit log right now; "
                             "nothing was sent to the platform: retry shortly",
                             {transcode::PackDetail(info), transcode::PackDetail(retry)});
}

std::string AuditLog::Format(const AuditRecord& record) const {
  nlohmann::json line = {
      {"log", "audit"},
      {"ts", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", record.time, absl::UTCTimeZone())},
      {"principal", record.principal},
      {"source", record.source},
      {"method", record.method},
      {"decision", record.decision},
      {"code", metrics::GrpcCodeName(record.code)},
      {"latency_ms", absl::ToDoubleMilliseconds(record.latency)},
      {"correlation_id", record.correlation_id},
  };
  if (!record.reason.empty()) line["reason"] = record.reason;
  if (!record.borrower_key.empty()) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), options_.hash_key.data(), static_cast<int>(options_.hash_key.size()),
         reinterpret_cast<const unsigned char*>(record.borrower_key.data()),
         record.borrower_key.size(), digest, &length);
    line["borrower_key_hash"] = absl::StrCat(
        "hmac-sha256:", absl::BytesToHexString(absl::string_view(
                            reinterpret_cast<const char*>(digest), std::min(length, 16u))));
  }
  if (!record.idempotency_key.empty()) line["idempotency_key"] = record.idempotency_key;
  if (!record.platform_request_id.empty()) {
    line["platform_request_id"] = record.platform_request_id;
  }
  // Replaced, not thrown on: a caller-chosen value with invalid UTF-8 must not lose the record.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void AuditLog::Run() {
  std::vector<AuditRecord> batch;
  std::unique_lock<std::mutex> lock(mu_);
  bool failing = false;
  while (true) {
    wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) return;
    batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
    queue_.clear();
    lock.unlock();
    std::string lines;
    for (const AuditRecord& record : batch) lines += Format(record);
    const bool ok = WriteAll(fd_, lines);
    if (metrics_ != nullptr) {
      for (size_t i = 0; i < batch.size(); ++i) {
        if (ok) {
          metrics_->AuditRecorded();
        } else {
          metrics_->AuditDropped("io_error");
        }
      }
    }
    if (!ok && !failing) {
      core::Log(core::Severity::kError, "audit log write failed; records are being lost",
                {{"path", options_.path}, {"error", std::strerror(errno)}});
    }
    failing = !ok;
    lock.lock();
    written_total_ += batch.size();
    batch.clear();
    written_.notify_all();
  }
}

}  // namespace aarthik::authz
