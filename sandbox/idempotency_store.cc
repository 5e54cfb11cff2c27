#include "sandbox/idempotency_store.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace aarthik::sandbox {

std::string IdempotencyStore::RecordKey(absl::string_view scope, absl::string_view method,
                                        absl::string_view path, absl::string_view key) {
  // '\n' cannot occur in any component (header values and paths exclude it).
  return absl::StrCat(scope, "\n", method, "\n", path, "\n", key);
}

std::string IdempotencyStore::Fingerprint(absl::string_view body) {
  nlohmann::json parsed = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (parsed.is_discarded()) return std::string(body);
  return parsed.dump();
}

IdempotencyStore::Lookup IdempotencyStore::Find(const std::string& record_key,
                                                const std::string& fingerprint, absl::Time now,
                                                StoredResponse* replay) const {
  auto it = records_.find(record_key);
  if (it == records_.end() || now - it->second.saved_at > kRetention) return Lookup::kMiss;
  if (it->second.fingerprint != fingerprint) return Lookup::kMismatch;
  *replay = it->second.response;
  return Lookup::kReplay;
}

void IdempotencyStore::Save(const std::string& record_key, std::string fingerprint,
                            StoredResponse response, absl::Time now) {
  records_[record_key] = Record{std::move(fingerprint), std::move(response), now};
}

}  // namespace aarthik::sandbox
