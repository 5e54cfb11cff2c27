// IdSource: where the gateway gets fresh identifiers (correlation IDs, idempotency keys), a seam so
// that tests can predict them.
//
//   IdSource& ids = IdSource::Random();
//   std::string key = ids.NewUuid();   // "3f2b1c4e-8d7a-4e2b-9c1d-0a1b2c3d4e5f"
//   std::string trace_id = ids.NewHex(32);
//
// Thread-safety: implementations must be safe to call from any thread.
#ifndef AARTHIK_SERVER_CORE_ID_SOURCE_H_
#define AARTHIK_SERVER_CORE_ID_SOURCE_H_

#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace aarthik::core {

class IdSource {
 public:
  virtual ~IdSource() = default;
  // A random (version 4) UUID in its canonical lower-case form.
  virtual std::string NewUuid() = 0;
  // `digits` random lower-case hex digits (a W3C trace or parent ID). By default the digits of
  // fresh UUIDs, so that a test's source predicts these too.
  virtual std::string NewHex(size_t digits);

  // The process-wide random source.
  static IdSource& Random();
};

// Deterministic IDs for tests: "<prefix>-1", "<prefix>-2", ...
class SequentialIdSource : public IdSource {
 public:
  explicit SequentialIdSource(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string NewUuid() override { return prefix_ + "-" + std::to_string(++next_); }

 private:
  std::string prefix_;
  std::atomic<int> next_{0};
};

// True when `text` is a UUID in canonical 8-4-4-4-12 hex form (either letter case).
bool IsUuid(absl::string_view text);

}  // namespace aarthik::core

#endif  // AARTHIK_SERVER_CORE_ID_SOURCE_H_
