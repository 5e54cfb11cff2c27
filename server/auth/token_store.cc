#include "server/auth/token_store.h"

#include "absl/time/clock.h"

namespace aarthik::auth {

void MemoryTokenStore::Load(const std::string& borrower, LoadCallback done) {
  std::optional<BorrowerTokens> found;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tokens_.find(borrower);
    if (it != tokens_.end()) found = it->second;
  }
  done(std::move(found));
}

void MemoryTokenStore::Save(const std::string& borrower, const BorrowerTokens& tokens,
                            DoneCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (tokens_.size() >= max_borrowers_ && !tokens_.contains(borrower)) {
      absl::Time now = absl::Now();
      for (auto it = tokens_.begin(); it != tokens_.end();) {
        if (it->second.refresh_expires_at <= now) {
          tokens_.erase(it++);
        } else {
          ++it;
        }
      }
      if (tokens_.size() >= max_borrowers_) tokens_.erase(tokens_.begin());
    }
    tokens_[borrower] = tokens;
  }
  done(absl::OkStatus());
}

void MemoryTokenStore::Erase(const std::string& borrower, DoneCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tokens_.erase(borrower);
  }
  done(absl::OkStatus());
}

}  // namespace aarthik::auth
