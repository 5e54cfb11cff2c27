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
    if (!tokens_.contains(borrower)) {
      if (sweeps_.Inserted()) {
        const absl::Time now = absl::Now();
        absl::erase_if(tokens_,
                       [now](const auto& entry) { return entry.second.refresh_expires_at <= now; });
        sweeps_.Swept(tokens_.size());
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

void MemoryTokenStore::TryLockRefresh(const std::string& borrower, const std::string& owner,
                                      absl::Duration ttl, LockCallback done) {
  bool locked = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    absl::Time now = absl::Now();
    auto it = locks_.find(borrower);
    if (it == locks_.end() || it->second.owner == owner || it->second.expires_at <= now) {
      locks_[borrower] = Lock{owner, now + ttl};
      locked = true;
    }
  }
  done(locked);
}

void MemoryTokenStore::UnlockRefresh(const std::string& borrower, const std::string& owner) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = locks_.find(borrower);
  if (it != locks_.end() && it->second.owner == owner) locks_.erase(it);
}

void TieredTokenStore::Load(const std::string& borrower, LoadCallback done) {
  std::optional<BorrowerTokens> cached;
  local_.Load(borrower, [&cached](absl::StatusOr<std::optional<BorrowerTokens>> loaded) {
    if (loaded.ok()) cached = std::move(*loaded);  // the memory store answers inline
  });
  if (cached.has_value()) {
    done(std::move(cached));
    return;
  }
  shared_->Load(borrower, [this, borrower, done = std::move(done)](
                              absl::StatusOr<std::optional<BorrowerTokens>> loaded) mutable {
    if (loaded.ok() && loaded->has_value()) local_.Save(borrower, **loaded, [](absl::Status) {});
    done(std::move(loaded));
  });
}

void TieredTokenStore::Save(const std::string& borrower, const BorrowerTokens& tokens,
                            DoneCallback done) {
  local_.Save(borrower, tokens, [](absl::Status) {});
  shared_->Save(borrower, tokens, std::move(done));
}

void TieredTokenStore::Erase(const std::string& borrower, DoneCallback done) {
  local_.Erase(borrower, [](absl::Status) {});
  shared_->Erase(borrower, std::move(done));
}

void TieredTokenStore::TryLockRefresh(const std::string& borrower, const std::string& owner,
                                      absl::Duration ttl, LockCallback done) {
  shared_->TryLockRefresh(borrower, owner, ttl, std::move(done));
}

void TieredTokenStore::UnlockRefresh(const std::string& borrower, const std::string& owner) {
  shared_->UnlockRefresh(borrower, owner);
}

void TieredTokenStore::Forget(const std::string& borrower) {
  local_.Erase(borrower, [](absl::Status) {});
}

}  // namespace aarthik::auth
