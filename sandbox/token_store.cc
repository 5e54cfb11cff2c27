#include "sandbox/token_store.h"

#include "absl/strings/match.h"

namespace aarthik::sandbox {

TokenStore::TokenStore(std::string environment, absl::Duration session_ttl,
                       absl::Duration refresh_ttl, IdGenerator* ids)
    : environment_(std::move(environment)),
      session_prefix_("st_" + environment_ + "_"),
      refresh_prefix_("rt_" + environment_ + "_"),
      session_ttl_(session_ttl),
      refresh_ttl_(refresh_ttl),
      ids_(ids) {}

SessionGrant TokenStore::Mint(const std::string& borrower_id, absl::Time now) {
  uint64_t family_id = next_family_id_++;
  families_[family_id] = Family{};
  return MintInFamily(family_id, borrower_id, now);
}

SessionGrant TokenStore::MintInFamily(uint64_t family_id, const std::string& borrower_id,
                                      absl::Time now) {
  SessionGrant grant;
  grant.borrower_id = borrower_id;
  grant.session_token = ids_->Token(session_prefix_);
  grant.refresh_token = ids_->Token(refresh_prefix_);
  grant.session_expires_at = now + session_ttl_;
  grant.refresh_expires_at = now + refresh_ttl_;
  records_[grant.session_token] =
      Record{Kind::kSession, family_id, borrower_id, grant.session_expires_at};
  records_[grant.refresh_token] =
      Record{Kind::kRefresh, family_id, borrower_id, grant.refresh_expires_at};
  Family& family = families_[family_id];
  family.current_session_token = grant.session_token;
  family.current_refresh_token = grant.refresh_token;
  return grant;
}

std::optional<ApiError> TokenStore::Check(absl::string_view token, Record** record,
                                          absl::Time now) {
  auto it = records_.find(token);
  if (it == records_.end()) {
    if ((absl::StartsWith(token, "st_") || absl::StartsWith(token, "rt_")) &&
        !absl::StartsWith(token.substr(3), environment_ + "_")) {
      return InvalidSession("Token belongs to a different environment.");
    }
    return InvalidSession("Unknown session token.");
  }
  Record& r = it->second;
  Family& family = families_[r.family_id];
  if (family.revoked) return InvalidSession("Session has been revoked; bootstrap a new session.");
  if (r.rotated) {
    if (r.kind == Kind::kRefresh) {
      // Reuse of a rotated-away refresh token: assume theft and revoke every token of the family
      // (platform-api.md §5 [I]).
      family.revoked = true;
      return InvalidSession("Refresh token was rotated and reused; session revoked.");
    }
    // A rotated session token is merely dead: calls that were in flight while it rotated must not
    // take the new tokens down with them.
    return InvalidSession("Session token was rotated.");
  }
  if (now >= r.expires_at) return InvalidSession("Token has expired.");
  *record = &r;
  return std::nullopt;
}

TokenCheck TokenStore::Authenticate(absl::string_view session_token, absl::Time now) {
  TokenCheck check;
  if (!absl::StartsWith(session_token, "st_")) {
    check.error = InvalidSession("A borrower session token (st_*) is required.");
    return check;
  }
  Record* record = nullptr;
  check.error = Check(session_token, &record, now);
  if (!check.error) {
    check.borrower_id = &record->borrower_id;
    check.family_id = record->family_id;
  }
  return check;
}

TokenRefresh TokenStore::Refresh(absl::string_view token, absl::Time now) {
  TokenRefresh result;
  if (!absl::StartsWith(token, "st_") && !absl::StartsWith(token, "rt_")) {
    result.error = InvalidSession("A session (st_*) or refresh (rt_*) token is required.");
    return result;
  }
  Record* record = nullptr;
  result.error = Check(token, &record, now);
  if (result.error) return result;
  const uint64_t family_id = record->family_id;
  const std::string borrower_id = record->borrower_id;
  // Rotate both live tokens of the family (the pair issued together with `token`).
  Family& family = families_[family_id];
  for (const std::string* live : {&family.current_session_token, &family.current_refresh_token}) {
    auto it = records_.find(*live);
    if (it != records_.end()) it->second.rotated = true;
  }
  result.grant = MintInFamily(family_id, borrower_id, now);
  result.family_id = family_id;
  return result;
}

void TokenStore::Clear() {
  records_.clear();
  families_.clear();
  next_family_id_ = 1;
}

}  // namespace aarthik::sandbox
