// Borrower credentials (§1.2, §5): `st_*` session tokens and `rt_*` refresh tokens.
//
// Tokens carry the environment infix (`st_test_…`). A refresh rotates BOTH tokens of the session
// family; presenting a rotated-away token afterwards revokes the whole family (every token of it
// answers 401 AUTH_INVALID_SESSION from then on), as the contract's [I] reuse-detection rule says.
//
// Example:
//   TokenStore tokens("test", absl::Minutes(30), absl::Hours(168), &ids);
//   SessionGrant grant = tokens.Mint(borrower_id, now);
//   TokenCheck check = tokens.Authenticate(grant.session_token, now);   // check.borrower_id
//   TokenRefresh refreshed = tokens.Refresh(grant.refresh_token, now);
//
// Thread-safety: thread-compatible. The Platform calls it under its own mutex.
#ifndef AARTHIK_SANDBOX_TOKEN_STORE_H_
#define AARTHIK_SANDBOX_TOKEN_STORE_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sandbox/api_error.h"
#include "sandbox/ids.h"

namespace aarthik::sandbox {

struct SessionGrant {
  std::string borrower_id;
  std::string session_token;
  std::string refresh_token;
  absl::Time session_expires_at;
  absl::Time refresh_expires_at;
};

struct TokenCheck {
  std::optional<ApiError> error;             // set when the token must be refused
  const std::string* borrower_id = nullptr;  // valid until the next mutation of the store
  uint64_t family_id = 0;
};

struct TokenRefresh {
  std::optional<ApiError> error;
  SessionGrant grant;
  uint64_t family_id = 0;
};

class TokenStore {
 public:
  TokenStore(std::string environment, absl::Duration session_ttl, absl::Duration refresh_ttl,
             IdGenerator* ids);

  // Starts a new session family for the borrower.
  SessionGrant Mint(const std::string& borrower_id, absl::Time now);

  // Checks a bearer `st_*` token. The hot path: one hash lookup, no allocation.
  TokenCheck Authenticate(absl::string_view session_token, absl::Time now);

  // Rotates the family of `token` (an `st_*` or `rt_*` token).
  TokenRefresh Refresh(absl::string_view token, absl::Time now);

  void Clear();

 private:
  enum class Kind { kSession, kRefresh };
  struct Record {
    Kind kind;
    uint64_t family_id;
    std::string borrower_id;
    absl::Time expires_at;
    bool rotated = false;
  };
  struct Family {
    bool revoked = false;
    std::string current_session_token;
    std::string current_refresh_token;
  };

  // Shared checks for both kinds: environment, existence, revocation, reuse, expiry.
  std::optional<ApiError> Check(absl::string_view token, Record** record, absl::Time now);
  SessionGrant MintInFamily(uint64_t family_id, const std::string& borrower_id, absl::Time now);

  const std::string environment_;
  const std::string session_prefix_;  // "st_test_"
  const std::string refresh_prefix_;  // "rt_test_"
  const absl::Duration session_ttl_;
  const absl::Duration refresh_ttl_;
  IdGenerator* ids_;
  absl::flat_hash_map<std::string, Record> records_;
  absl::flat_hash_map<uint64_t, Family> families_;
  uint64_t next_family_id_ = 1;
};

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_TOKEN_STORE_H_
