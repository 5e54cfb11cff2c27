// Idempotency-Key records (§2.4 with the contract's [I] defaults).
//
// A record is keyed by (credential scope, method, path, Idempotency-Key) and remembers a
// fingerprint of the request body (canonical JSON) and the first response. Within the 24 h
// retention window the same key with the same body replays that response byte for byte; with a
// different body it is a 409 VALIDATION_FAILED.
//
// Example:
//   IdempotencyStore store;
//   std::string key = IdempotencyStore::RecordKey(borrower_id, "POST", path, header_value);
//   StoredResponse replay;
//   switch (store.Find(key, fingerprint, now, &replay)) { ... }
//   store.Save(key, fingerprint, response, now);
//
// Thread-safety: thread-compatible; the Platform serialises access.
#ifndef AARTHIK_SANDBOX_IDEMPOTENCY_STORE_H_
#define AARTHIK_SANDBOX_IDEMPOTENCY_STORE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace aarthik::sandbox {

struct StoredResponse {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class IdempotencyStore {
 public:
  enum class Lookup { kMiss, kReplay, kMismatch };

  static constexpr absl::Duration kRetention = absl::Hours(24);

  static std::string RecordKey(absl::string_view scope, absl::string_view method,
                               absl::string_view path, absl::string_view idempotency_key);
  // Canonical form of a request body: parsed-and-dumped JSON (sorted keys, no whitespace) when it
  // parses, the raw bytes otherwise.
  static std::string Fingerprint(absl::string_view body);

  Lookup Find(const std::string& record_key, const std::string& fingerprint, absl::Time now,
              StoredResponse* replay) const;
  void Save(const std::string& record_key, std::string fingerprint, StoredResponse response,
            absl::Time now);
  void Clear() { records_.clear(); }

 private:
  struct Record {
    std::string fingerprint;
    StoredResponse response;
    absl::Time saved_at;
  };
  absl::flat_hash_map<std::string, Record> records_;
};

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_IDEMPOTENCY_STORE_H_
