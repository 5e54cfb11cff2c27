// JwtVerifier: checks a JWT bearer token (a Kubernetes projected service-account token, or any
// issuer's RS256/ES256 token) against a JWKS, its issuer, audience and validity window, and names
// the caller from one of its claims. The cryptography is OpenSSL's (EVP_DigestVerify); nothing here
// is hand-written crypto.
//
//   absl::StatusOr<std::shared_ptr<const Jwks>> jwks = ParseJwks(ReadFile("/etc/jwks/jwks.json"));
//   JwtVerifier verifier({.issuer = "https://kubernetes.default.svc",
//                         .audience = "aarthik-gateway"}, *jwks, core::Clock::Real());
//   JwtVerifier::Result who = verifier.Verify(token);   // the token without "Bearer "
//   if (!who.ok) Refuse(who.failure.reason, who.failure.message);
//   else Use(who.identity.principal);
//
// A failure says why in words a caller can act on (expired, not yet valid, wrong audience, wrong
// issuer, bad signature, malformed, unsupported algorithm) and never which key or value would
// have worked. Only "RS256" (RSA, PKCS#1 v1.5) and "ES256" (P-256) are accepted; "none" and the
// HMAC algorithms are refused (a JWKS holds public keys only, so HS256 would be a key-confusion
// attack).
//
// Verified tokens are remembered (bounded, per JWKS generation) with their validity window, so a
// caller reusing its token costs a hash lookup instead of a signature check per call; the window
// is re-checked against the clock on every hit.
//
// Thread-safety: Verify may be called from any thread concurrently with SetJwks.
#ifndef AARTHIK_SERVER_AUTHZ_JWT_VERIFIER_H_
#define AARTHIK_SERVER_AUTHZ_JWT_VERIFIER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/clock.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace aarthik::authz {

// The keys of a JWKS document ({"keys":[{"kty":"RSA","kid":..,"n":..,"e":..}, {"kty":"EC",
// "crv":"P-256","x":..,"y":..}]}). Keys of other types, or meant for encryption ("use":"enc"),
// are skipped.
class Jwks {
 public:
  struct Key {
    std::string kid;   // may be empty
    bool rsa = false;  // RSA (RS256) or EC P-256 (ES256)
    std::shared_ptr<EVP_PKEY> key;
  };
  explicit Jwks(std::vector<Key> keys) : keys_(std::move(keys)) {}
  const std::vector<Key>& keys() const { return keys_; }

 private:
  std::vector<Key> keys_;
};

// Parses a JWKS document; fails when it is not JSON, or holds no usable key.
absl::StatusOr<std::shared_ptr<const Jwks>> ParseJwks(absl::string_view json);

// Why a token was refused: the `reason` of the google.rpc.ErrorInfo the caller gets.
inline constexpr char kReasonMalformed[] = "CREDENTIAL_MALFORMED";
inline constexpr char kReasonExpired[] = "CREDENTIAL_EXPIRED";
inline constexpr char kReasonNotYetValid[] = "CREDENTIAL_NOT_YET_VALID";
inline constexpr char kReasonBadSignature[] = "CREDENTIAL_BAD_SIGNATURE";
inline constexpr char kReasonWrongAudience[] = "CREDENTIAL_WRONG_AUDIENCE";
inline constexpr char kReasonWrongIssuer[] = "CREDENTIAL_WRONG_ISSUER";
inline constexpr char kReasonUnsupportedAlgorithm[] = "CREDENTIAL_UNSUPPORTED_ALGORITHM";

// A refusal: the reason (above) and a message safe to show the caller.
struct JwtFailure {
  const char* reason;
  std::string message;
};

struct JwtIdentity {
  std::string principal;
};

class JwtVerifier {
 public:
  struct Options {
    std::string issuer;    // `iss` must equal it
    std::string audience;  // `aud` (a string or a list) must contain it
    std::string principal_claim = "sub";
    absl::Duration leeway = absl::Seconds(30);  // clock skew allowed on exp and nbf
    size_t max_cached_tokens = 4096;
  };

  JwtVerifier(Options options, std::shared_ptr<const Jwks> jwks, const core::Clock& clock);

  // `token` is the compact JWS (header.payload.signature).
  struct Result {
    bool ok = false;
    JwtIdentity identity;
    JwtFailure failure{nullptr, ""};
  };
  Result Verify(absl::string_view token) const;

  // Swaps the key set in; tokens verified under the old set are checked again.
  void SetJwks(std::shared_ptr<const Jwks> jwks);

 private:
  struct Cached {
    std::string principal;
    absl::Time not_before;  // leeway applied
    absl::Time expires;     // leeway applied
    uint64_t generation;
  };
  Result VerifyUncached(absl::string_view token, uint64_t generation,
                        const std::shared_ptr<const Jwks>& jwks, Cached* cached) const;

  const Options options_;
  const core::Clock& clock_;
  mutable std::mutex mu_;
  std::shared_ptr<const Jwks> jwks_;                        // guarded by mu_
  uint64_t generation_ = 0;                                 // guarded by mu_
  mutable absl::flat_hash_map<std::string, Cached> cache_;  // guarded by mu_
};

}  // namespace aarthik::authz

#endif  // AARTHIK_SERVER_AUTHZ_JWT_VERIFIER_H_
