// TokenStore: where the gateway keeps each borrower's platform session and refresh tokens, behind
// an interface so that replicas can share them (memory now; Redis for several replicas).
//
//   MemoryTokenStore store(/*max_borrowers=*/100000);
//   store.Save("CUST_0012", tokens, [](absl::Status s) { ... });
//   store.Load("CUST_0012", [](absl::StatusOr<std::optional<BorrowerTokens>> t) { ... });
//
// The interface is asynchronous because a networked store must not block the caller's thread;
// callbacks may run inline (memory) or on another thread (network): callers must not assume either.
//
// Thread-safety: implementations are safe to call from any thread.
#ifndef AARTHIK_SERVER_AUTH_TOKEN_STORE_H_
#define AARTHIK_SERVER_AUTH_TOKEN_STORE_H_

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace aarthik::auth {

// A borrower's platform credentials. Secrets: never log them.
struct BorrowerTokens {
  std::string session_token;  // st_*
  std::string refresh_token;  // rt_*
  absl::Time session_expires_at;
  absl::Time refresh_expires_at;
  // When the gateway obtained them; with the expiry this gives the token's lifetime.
  absl::Time obtained_at;
};

class TokenStore {
 public:
  using LoadCallback = absl::AnyInvocable<void(absl::StatusOr<std::optional<BorrowerTokens>>)>;
  using DoneCallback = absl::AnyInvocable<void(absl::Status)>;

  virtual ~TokenStore() = default;
  virtual void Load(const std::string& borrower, LoadCallback done) = 0;
  virtual void Save(const std::string& borrower, const BorrowerTokens& tokens,
                    DoneCallback done) = 0;
  virtual void Erase(const std::string& borrower, DoneCallback done) = 0;
};

// In-process store. Bounded: beyond `max_borrowers` it drops tokens whose refresh token has
// expired, then arbitrary ones (a dropped borrower simply gets a new session on its next call).
class MemoryTokenStore : public TokenStore {
 public:
  explicit MemoryTokenStore(size_t max_borrowers = 1'000'000) : max_borrowers_(max_borrowers) {}

  void Load(const std::string& borrower, LoadCallback done) override;
  void Save(const std::string& borrower, const BorrowerTokens& tokens, DoneCallback done) override;
  void Erase(const std::string& borrower, DoneCallback done) override;

 private:
  const size_t max_borrowers_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, BorrowerTokens> tokens_;  // guarded by mu_
};

}  // namespace aarthik::auth

#endif  // AARTHIK_SERVER_AUTH_TOKEN_STORE_H_
