#include "server/auth/session_manager.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "server/core/log.h"
#include "server/transcode/rpc_error.h"

namespace aarthik::auth {
namespace {

constexpr char kSessionsPath[] = "/api/v1/headless/sessions";
constexpr char kRefreshPath[] = "/api/v1/headless/sessions/refresh";

absl::StatusOr<absl::Time> ParseTimestamp(const nlohmann::json& data, const char* key) {
  auto it = data.find(key);
  if (it == data.end() || !it->is_string()) {
    return absl::InternalError(absl::StrCat("platform session payload has no ", key));
  }
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, it->get<std::string>(), &time, &error)) {
    return absl::InternalError(
        absl::StrCat("platform session payload's ", key, " is not a timestamp"));
  }
  return time;
}

// The borrower's tokens cannot be read or locked (a Redis outage): the call fails, retryably,
// rather than minting a session per call behind the other replicas' backs.
absl::Status TokenStoreUnavailable(const absl::Status& cause) {
  google::rpc::ErrorInfo info;
  info.set_reason("TOKEN_STORE_UNAVAILABLE");
  info.set_domain(transcode::kGatewayDomain);
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(1);
  return transcode::RpcError(absl::StatusCode::kUnavailable,
                             absl::StrCat("token store unavailable: ", cause.message()),
                             {transcode::PackDetail(info), transcode::PackDetail(retry)});
}

}  // namespace

absl::StatusOr<BorrowerTokens> TokensFromPlatformData(const nlohmann::json& data, absl::Time now) {
  BorrowerTokens tokens;
  auto session = data.find("sessionToken");
  auto refresh = data.find("refreshToken");
  if (session == data.end() || !session->is_string() || refresh == data.end() ||
      !refresh->is_string()) {
    return absl::InternalError("platform session payload lacks sessionToken or refreshToken");
  }
  tokens.session_token = session->get<std::string>();
  tokens.refresh_token = refresh->get<std::string>();
  absl::StatusOr<absl::Time> session_expiry = ParseTimestamp(data, "sessionExpiresAt");
  if (!session_expiry.ok()) return session_expiry.status();
  absl::StatusOr<absl::Time> refresh_expiry = ParseTimestamp(data, "refreshExpiresAt");
  if (!refresh_expiry.ok()) return refresh_expiry.status();
  tokens.session_expires_at = *session_expiry;
  tokens.refresh_expires_at = *refresh_expiry;
  tokens.obtained_at = now;
  return tokens;
}

SessionManager::SessionManager(upstream::EventLoop* loop, platform::PlatformClient* platform,
                               TokenStore* store, std::shared_ptr<const core::Secret> api_key,
                               const core::Clock& clock, core::IdSource& ids, Options options)
    : loop_(loop),
      platform_(platform),
      store_(store),
      api_key_(std::move(api_key)),
      clock_(clock),
      ids_(ids),
      options_(options),
      lock_owner_(ids.NewUuid()) {}

void SessionManager::RunOnLoop(absl::AnyInvocable<void()> task) {
  if (loop_->IsInLoopThread()) {
    task();
  } else {
    loop_->Post(std::move(task));
  }
}

absl::Time SessionManager::UsableUntil(const BorrowerTokens& tokens) const {
  absl::Duration lifetime = tokens.session_expires_at - tokens.obtained_at;
  absl::Duration margin = std::min(options_.refresh_margin, lifetime / 5);
  return tokens.session_expires_at - margin;
}

bool SessionManager::SessionUsable(const BorrowerTokens& tokens, absl::Time now) const {
  return now < UsableUntil(tokens);
}

std::optional<std::string> SessionManager::FreshSessionToken(const std::string& borrower) const {
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(fresh_mu_);
  auto it = fresh_.find(borrower);
  if (it == fresh_.end() || now >= it->second.usable_until) return std::nullopt;
  return it->second.token;
}

void SessionManager::RememberFresh(const std::string& borrower, const BorrowerTokens& tokens) {
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(fresh_mu_);
  if (!fresh_.contains(borrower)) {
    if (fresh_sweeps_.Inserted()) {
      absl::erase_if(fresh_, [now](const auto& entry) { return now >= entry.second.usable_until; });
      fresh_sweeps_.Swept(fresh_.size());
    }
    if (fresh_.size() >= kMaxFreshTokens) fresh_.erase(fresh_.begin());
  }
  fresh_[borrower] = FreshToken{tokens.session_token, UsableUntil(tokens)};
}

size_t SessionManager::fresh_tokens() const {
  std::lock_guard<std::mutex> lock(fresh_mu_);
  return fresh_.size();
}

void SessionManager::ForgetFresh(const std::string& borrower, const std::string& token) {
  std::lock_guard<std::mutex> lock(fresh_mu_);
  auto it = fresh_.find(borrower);
  if (it != fresh_.end() && it->second.token == token) fresh_.erase(it);
}

void SessionManager::AddWaiter(Flight& flight, const std::string& borrower, absl::Time deadline,
                               TokenCallback done, const std::string& correlation_id,
                               const std::string& rejected_token) {
  uint64_t id = ++next_waiter_id_;
  absl::Duration wait = std::max(deadline - clock_.Now(), absl::ZeroDuration());
  upstream::EventLoop::TimerId timer = loop_->RunAfter(wait, [this, borrower, id] {
    auto it = flights_.find(borrower);
    if (it == flights_.end()) return;
    auto& waiters = it->second.waiters;
    auto waiter =
        std::find_if(waiters.begin(), waiters.end(), [id](const Waiter& w) { return w.id == id; });
    if (waiter == waiters.end()) return;
    TokenCallback expired = std::move(waiter->done);
    waiters.erase(waiter);
    expired(
        absl::DeadlineExceededError("deadline passed while waiting for the borrower's session"));
  });
  flight.waiters.push_back(
      Waiter{id, std::move(done), timer, deadline, correlation_id, rejected_token});
}

void SessionManager::AcquireSessionToken(const std::string& borrower, absl::Time deadline,
                                         const std::string& correlation_id,
                                         const std::string& rejected_token, TokenCallback done) {
  RunOnLoop(
      [this, borrower, deadline, correlation_id, rejected_token, done = std::move(done)]() mutable {
        Flight& flight = flights_[borrower];
        AddWaiter(flight, borrower, deadline, std::move(done), correlation_id, rejected_token);
        if (flight.busy) return;  // join the mint/refresh in flight
        flight.busy = true;
        flight.generation = ++next_generation_;
        // A refused token may have been rotated by another replica: read the shared store.
        if (!rejected_token.empty()) {
          ForgetFresh(borrower, rejected_token);
          store_->Forget(borrower);
        }
        LoadAndProceed(borrower, correlation_id, rejected_token);
      });
}

void SessionManager::LoadAndProceed(const std::string& borrower, const std::string& correlation_id,
                                    const std::string& rejected_token, bool lock_held) {
  store_->Load(borrower, [this, borrower, correlation_id, rejected_token,
                          lock_held](absl::StatusOr<std::optional<BorrowerTokens>> loaded) mutable {
    RunOnLoop([this, borrower, correlation_id, rejected_token, lock_held,
               loaded = std::move(loaded)]() mutable {
      Proceed(borrower, correlation_id, rejected_token, std::move(loaded), lock_held);
    });
  });
}

void SessionManager::Proceed(const std::string& borrower, const std::string& correlation_id,
                             const std::string& rejected_token,
                             absl::StatusOr<std::optional<BorrowerTokens>> loaded, bool lock_held) {
  if (!loaded.ok()) {
    CountStoreFailure("load");
    Complete(borrower, TokenStoreUnavailable(loaded.status()));
    return;
  }
  absl::Time now = clock_.Now();
  const std::optional<BorrowerTokens>& tokens = *loaded;
  if (tokens && tokens->session_token != rejected_token && SessionUsable(*tokens, now)) {
    RememberFresh(borrower, *tokens);
    Complete(borrower, tokens->session_token);  // under the lock: another replica refreshed
  } else if (tokens && now < tokens->refresh_expires_at) {
    if (lock_held) {
      Refresh(borrower, correlation_id, tokens->refresh_token);
    } else {
      RefreshUnderLock(borrower, correlation_id, rejected_token);
    }
  } else {
    Mint(borrower, correlation_id);
  }
}

void SessionManager::RefreshUnderLock(const std::string& borrower,
                                      const std::string& correlation_id,
                                      const std::string& rejected_token) {
  store_->TryLockRefresh(
      borrower, lock_owner_, LockTtl(),
      [this, borrower, correlation_id, rejected_token](absl::StatusOr<bool> locked) {
        RunOnLoop([this, borrower, correlation_id, rejected_token, locked] {
          auto flight = flights_.find(borrower);
          if (flight == flights_.end()) return;
          if (!locked.ok()) {
            CountStoreFailure("lock");
            Complete(borrower, TokenStoreUnavailable(locked.status()));
            return;
          }
          if (!*locked) {
            RetryAfterLockTaken(borrower, correlation_id, rejected_token);
            return;
          }
          flight->second.store_lock_held = true;
          // Read again under the lock: the tokens loaded before it may have been rotated since.
          store_->Forget(borrower);
          LoadAndProceed(borrower, correlation_id, rejected_token, /*lock_held=*/true);
        });
      });
}

void SessionManager::RetryAfterLockTaken(const std::string& borrower,
                                         const std::string& correlation_id,
                                         const std::string& rejected_token) {
  auto flight = flights_.find(borrower);
  if (flight == flights_.end()) return;
  if (flight->second.waiters.empty()) {
    flights_.erase(flight);  // every caller gave up; nothing to wait for
    return;
  }
  uint64_t generation = flight->second.generation;
  loop_->RunAfter(options_.lock_retry_interval,
                  [this, borrower, correlation_id, rejected_token, generation] {
                    auto it = flights_.find(borrower);
                    if (it == flights_.end() || it->second.generation != generation) return;
                    store_->Forget(borrower);
                    LoadAndProceed(borrower, correlation_id, rejected_token);
                  });
}

void SessionManager::Refresh(const std::string& borrower, const std::string& correlation_id,
                             const std::string& refresh_token) {
  ++refreshes_;
  platform::PlatformRequest request;
  request.method = "POST";
  request.path_and_query = kRefreshPath;
  request.body = "{}";
  request.bearer = refresh_token;
  request.idempotency_key = ids_.NewUuid();
  request.correlation_id = correlation_id;
  request.deadline = clock_.Now() + options_.call_timeout;
  request.max_timeout = options_.call_timeout;
  request.route = absl::StrCat("POST ", kRefreshPath);
  platform_->Call(std::move(request), [this, borrower, correlation_id](
                                          absl::StatusOr<transcode::PlatformReply> reply) {
    if (reply.ok() && !reply->error) {
      absl::StatusOr<BorrowerTokens> tokens = TokensFromPlatformData(reply->data, clock_.Now());
      if (tokens.ok()) {
        if (options_.metrics != nullptr) options_.metrics->SessionRefreshed("ok");
        SaveAndComplete(borrower, *tokens, correlation_id);
        return;
      }
    }
    if (options_.metrics != nullptr) {
      options_.metrics->SessionRefreshed(reply.ok() && reply->error ? "rejected" : "failed");
    }
    // A refused or failed refresh: start over with a new session, which resumes the borrower.
    core::Log(core::Severity::kInfo, "session refresh failed; re-bootstrapping",
              {{"correlation_id", correlation_id},
               {"upstream_status",
                reply.ok() ? absl::StrCat(reply->http_status) : reply.status().ToString()}});
    Mint(borrower, correlation_id);
  });
}

void SessionManager::Mint(const std::string& borrower, const std::string& correlation_id) {
  ++mints_;
  platform::PlatformRequest request;
  request.method = "POST";
  request.path_and_query = kSessionsPath;
  request.body = nlohmann::json{{"borrowerExternalID", borrower}}.dump();
  request.bearer = *api_key_->Get();
  request.idempotency_key = ids_.NewUuid();
  request.correlation_id = correlation_id;
  request.deadline = clock_.Now() + options_.call_timeout;
  request.max_timeout = options_.call_timeout;
  std::string route = absl::StrCat("POST ", kSessionsPath);
  request.route = route;
  platform_->Call(std::move(request), [this, borrower, route = std::move(route), correlation_id](
                                          absl::StatusOr<transcode::PlatformReply> reply) {
    metrics::GatewayMetrics* metrics = options_.metrics;
    if (!reply.ok()) {
      if (metrics != nullptr) metrics->SessionMintFailed();
      Complete(borrower, reply.status());
      return;
    }
    transcode::ErrorContext context{route, correlation_id};
    if (reply->error) {
      if (metrics != nullptr) metrics->SessionMintFailed();
      Complete(borrower, transcode::MapPlatformError(*reply, context));
      return;
    }
    absl::StatusOr<BorrowerTokens> tokens = TokensFromPlatformData(reply->data, clock_.Now());
    if (!tokens.ok()) {
      if (metrics != nullptr) metrics->SessionMintFailed();
      Complete(borrower, transcode::MapBadResponse(tokens.status().message(), &*reply, context));
      return;
    }
    if (metrics != nullptr) metrics->SessionMinted();
    SaveAndComplete(borrower, *tokens, correlation_id);
  });
}

void SessionManager::SaveAndComplete(const std::string& borrower, const BorrowerTokens& tokens,
                                     const std::string& correlation_id) {
  RememberFresh(borrower, tokens);
  store_->Save(borrower, tokens,
               [this, borrower, token = tokens.session_token, correlation_id](absl::Status saved) {
                 RunOnLoop([this, borrower, token, saved, correlation_id] {
                   // A store failure loses only the cache: the token itself is good for the waiting
                   // callers.
                   if (!saved.ok()) {
                     CountStoreFailure("save");
                     LogStoreFailure(saved, correlation_id);
                   }
                   Complete(borrower, token);
                 });
               });
}

void SessionManager::Complete(const std::string& borrower, absl::StatusOr<std::string> result) {
  auto it = flights_.find(borrower);
  if (it == flights_.end()) return;
  std::vector<Waiter> waiters = std::move(it->second.waiters);
  if (it->second.store_lock_held) store_->UnlockRefresh(borrower, lock_owner_);
  flights_.erase(it);
  for (Waiter& waiter : waiters) {
    loop_->CancelTimer(waiter.timer);
    if (result.ok() && !waiter.rejected_token.empty() && *result == waiter.rejected_token) {
      // This waiter joined a flight that did not know its token had been refused (the flight found
      // the token still fresh by our clock): go round again, which refreshes.
      AcquireSessionToken(borrower, waiter.deadline, waiter.correlation_id, waiter.rejected_token,
                          std::move(waiter.done));
      continue;
    }
    waiter.done(result);
  }
}

SessionManager::TokenCallback SessionManager::LeaseAgainOnceDone(const std::string& borrower,
                                                                 absl::Time deadline,
                                                                 const std::string& correlation_id,
                                                                 TokenCallback done) {
  return [this, borrower, deadline, correlation_id,
          done = std::move(done)](absl::StatusOr<std::string> token) mutable {
    if (!token.ok()) {
      done(token.status());
      return;
    }
    AcquireRefreshLease(borrower, deadline, correlation_id, std::move(done));
  };
}

void SessionManager::AcquireRefreshLease(const std::string& borrower, absl::Time deadline,
                                         const std::string& correlation_id, TokenCallback done) {
  RunOnLoop([this, borrower, deadline, correlation_id, done = std::move(done)]() mutable {
    Flight& flight = flights_[borrower];
    if (flight.busy) {
      // Wait for the work in flight, then try again for the lease.
      AddWaiter(flight, borrower, deadline,
                LeaseAgainOnceDone(borrower, deadline, correlation_id, std::move(done)));
      return;
    }
    flight.busy = true;
    flight.lease_held = true;
    flight.generation = ++next_generation_;
    store_->TryLockRefresh(
        borrower, lock_owner_, LockTtl(),
        [this, borrower, deadline, correlation_id,
         done = std::move(done)](absl::StatusOr<bool> locked) mutable {
          RunOnLoop(
              [this, borrower, deadline, correlation_id, locked, done = std::move(done)]() mutable {
                LeaseLockDecided(borrower, deadline, correlation_id, locked, std::move(done));
              });
        });
  });
}

void SessionManager::LeaseLockDecided(const std::string& borrower, absl::Time deadline,
                                      const std::string& correlation_id,
                                      absl::StatusOr<bool> locked, TokenCallback done) {
  auto it = flights_.find(borrower);
  if (it == flights_.end()) {  // not expected: a busy flight ends only through its holder
    done(absl::UnavailableError("the borrower's session state was lost; retry"));
    return;
  }
  if (!locked.ok() || !*locked) {
    // No lease now: let the callers that joined meanwhile go on without it.
    it->second.lease_held = false;
    if (it->second.waiters.empty()) {
      flights_.erase(it);
    } else {
      LoadAndProceed(borrower, correlation_id, /*rejected_token=*/"");
    }
    if (!locked.ok()) {
      CountStoreFailure("lock");
      done(TokenStoreUnavailable(locked.status()));
    } else if (clock_.Now() + options_.lock_retry_interval < deadline) {
      loop_->RunAfter(options_.lock_retry_interval,
                      [this, borrower, deadline, correlation_id, done = std::move(done)]() mutable {
                        AcquireRefreshLease(borrower, deadline, correlation_id, std::move(done));
                      });
    } else {
      done(absl::DeadlineExceededError(
          "deadline passed while another replica held the borrower's refresh lock"));
    }
    return;
  }
  it->second.store_lock_held = true;
  store_->Forget(borrower);  // another replica may have rotated the tokens
  store_->Load(borrower, [this, borrower, deadline, correlation_id, done = std::move(done)](
                             absl::StatusOr<std::optional<BorrowerTokens>> loaded) mutable {
    RunOnLoop([this, borrower, deadline, correlation_id, loaded = std::move(loaded),
               done = std::move(done)]() mutable {
      if (loaded.ok() && loaded->has_value() && clock_.Now() < (*loaded)->refresh_expires_at) {
        done((*loaded)->refresh_token);
        return;
      }
      // No usable refresh token: bootstrap a session first, then hand out its refresh token.
      flights_[borrower].lease_held = false;
      AddWaiter(flights_[borrower], borrower, deadline,
                LeaseAgainOnceDone(borrower, deadline, correlation_id, std::move(done)));
      Mint(borrower, correlation_id);
    });
  });
}

void SessionManager::ReleaseRefreshLease(const std::string& borrower,
                                         absl::StatusOr<BorrowerTokens> rotated,
                                         const std::string& correlation_id) {
  RunOnLoop([this, borrower, rotated = std::move(rotated), correlation_id]() mutable {
    auto it = flights_.find(borrower);
    if (it == flights_.end() || !it->second.lease_held) return;
    it->second.lease_held = false;
    if (rotated.ok()) {
      ++refreshes_;
      if (options_.metrics != nullptr) options_.metrics->SessionRefreshed("ok");
      SaveAndComplete(borrower, *rotated, correlation_id);
    } else if (!it->second.waiters.empty()) {
      // The lease holder's refresh failed; the waiters still need a token.
      LoadAndProceed(borrower, correlation_id, /*rejected_token=*/"");
    } else {
      if (it->second.store_lock_held) store_->UnlockRefresh(borrower, lock_owner_);
      flights_.erase(it);
    }
  });
}

void SessionManager::StoreTokens(const std::string& borrower, const BorrowerTokens& tokens,
                                 const std::string& correlation_id) {
  RememberFresh(borrower, tokens);
  store_->Save(borrower, tokens, [this, correlation_id](absl::Status saved) {
    if (!saved.ok()) {
      CountStoreFailure("save");
      LogStoreFailure(saved, correlation_id);
    }
  });
}

void SessionManager::CountStoreFailure(absl::string_view operation) {
  if (options_.metrics != nullptr) options_.metrics->TokenStoreFailed(operation);
}

void SessionManager::LogStoreFailure(const absl::Status& saved, const std::string& correlation_id) {
  // The store's status names the store's condition (e.g. "unavailable"), never a token.
  core::Log(core::Severity::kWarning, "token store save failed",
            {{"correlation_id", correlation_id}, {"status", saved.ToString()}});
}

}  // namespace aarthik::auth
