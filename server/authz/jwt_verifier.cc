#include "server/authz/jwt_verifier.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace aarthik::authz {
namespace {

using Json = nlohmann::json;

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* key) { return {key, EVP_PKEY_free}; }

bool Base64Url(absl::string_view in, std::string* out) {
  return absl::WebSafeBase64Unescape(in, out);
}

// The big-endian bytes of a base64url JWK member; empty when missing or not base64url.
std::string JwkBytes(const Json& jwk, const char* member) {
  auto it = jwk.find(member);
  std::string bytes;
  if (it == jwk.end() || !it->is_string() || !Base64Url(it->get<std::string>(), &bytes)) return "";
  return bytes;
}

std::shared_ptr<EVP_PKEY> FromParams(const char* type, OSSL_PARAM_BLD* builder) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
    if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) key = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return key != nullptr ? Own(key) : nullptr;
}

std::shared_ptr<EVP_PKEY> RsaKey(const std::string& n, const std::string& e) {
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                           static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                           static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  std::shared_ptr<EVP_PKEY> key;
  if (bn_n != nullptr && bn_e != nullptr && builder != nullptr &&
      OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
    key = FromParams("RSA", builder);
  }
  OSSL_PARAM_BLD_free(builder);
  BN_free(bn_n);
  BN_free(bn_e);
  // Short RSA keys are forgeable: refuse them as the JOSE specs do (RFC 7518 §3.3).
  if (key != nullptr && EVP_PKEY_get_bits(key.get()) < 2048) return nullptr;
  return key;
}

std::shared_ptr<EVP_PKEY> P256Key(const std::string& x, const std::string& y) {
  if (x.size() != 32 || y.size() != 32) return nullptr;
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  std::shared_ptr<EVP_PKEY> key;
  if (builder != nullptr &&
      OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) == 1) {
    key = FromParams("EC", builder);
  }
  OSSL_PARAM_BLD_free(builder);
  return key;
}

// ES256 signatures are r||s (32 bytes each); OpenSSL verifies DER.
std::string EcdsaDer(const std::string& raw) {
  if (raw.size() != 64) return "";
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  std::string der;
  if (sig != nullptr && r != nullptr && s != nullptr && ECDSA_SIG_set0(sig, r, s) == 1) {
    r = s = nullptr;  // owned by sig now
    unsigned char* out = nullptr;
    int length = i2d_ECDSA_SIG(sig, &out);
    if (length > 0) der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(length));
    OPENSSL_free(out);
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  return der;
}

bool VerifySha256(EVP_PKEY* key, absl::string_view signed_part, const std::string& signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok =
      ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

JwtVerifier::Result Fail(const char* reason, std::string message) {
  JwtVerifier::Result result;
  result.failure = {reason, std::move(message)};
  return result;
}

// A NumericDate claim (seconds since the epoch, possibly fractional).
bool TimeClaim(const Json& claims, const char* name, absl::Time* out) {
  auto it = claims.find(name);
  if (it == claims.end()) return false;
  if (!it->is_number()) return false;
  *out = absl::FromUnixMicros(static_cast<int64_t>(it->get<double>() * 1e6));
  return true;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Jwks>> ParseJwks(absl::string_view json) {
  Json doc = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("the JWKS file is not a JSON object");
  }
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) {
    return absl::InvalidArgumentError("the JWKS file has no \"keys\" list");
  }
  std::vector<Jwks::Key> parsed;
  for (const Json& jwk : *keys) {
    if (!jwk.is_object()) continue;
    if (jwk.value("use", "sig") != "sig") continue;
    Jwks::Key key;
    key.kid = jwk.value("kid", "");
    const std::string kty = jwk.value("kty", "");
    if (kty == "RSA") {
      key.rsa = true;
      key.key = RsaKey(JwkBytes(jwk, "n"), JwkBytes(jwk, "e"));
    } else if (kty == "EC" && jwk.value("crv", "") == "P-256") {
      key.key = P256Key(JwkBytes(jwk, "x"), JwkBytes(jwk, "y"));
    }
    if (key.key != nullptr) parsed.push_back(std::move(key));
  }
  if (parsed.empty()) {
    return absl::InvalidArgumentError(
        "the JWKS file holds no usable signing key (RSA of at least 2048 bits, or EC P-256)");
  }
  return std::make_shared<const Jwks>(std::move(parsed));
}

JwtVerifier::JwtVerifier(Options options, std::shared_ptr<const Jwks> jwks,
                         const core::Clock& clock)
    : options_(std::move(options)), clock_(clock), jwks_(std::move(jwks)) {}

void JwtVerifier::SetJwks(std::shared_ptr<const Jwks> jwks) {
  std::lock_guard<std::mutex> lock(mu_);
  jwks_ = std::move(jwks);
  ++generation_;
  cache_.clear();
}

JwtVerifier::Result JwtVerifier::Verify(absl::string_view token) const {
  const absl::Time now = clock_.Now();
  std::shared_ptr<const Jwks> jwks;
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(token);
    if (it != cache_.end() && it->second.generation == generation_) {
      if (now < it->second.not_before) {
        return Fail(kReasonNotYetValid, "the token is not valid yet (nbf)");
      }
      if (now >= it->second.expires) return Fail(kReasonExpired, "the token has expired");
      Result hit;
      hit.ok = true;
      hit.identity.principal = it->second.principal;
      return hit;
    }
    jwks = jwks_;
    generation = generation_;
  }
  // The signature check runs outside the lock: concurrent callers with different tokens must not
  // queue behind one another's RSA verification.
  Cached cached;
  Result result = VerifyUncached(token, generation, jwks, &cached);
  if (!result.ok) return result;
  std::lock_guard<std::mutex> lock(mu_);
  if (cached.generation == generation_) {
    // Bounded: a burst of distinct tokens empties the cache rather than growing it.
    if (cache_.size() >= options_.max_cached_tokens) cache_.clear();
    cache_.insert_or_assign(std::string(token), std::move(cached));
  }
  return result;
}

JwtVerifier::Result JwtVerifier::VerifyUncached(absl::string_view token, uint64_t generation,
                                                const std::shared_ptr<const Jwks>& jwks,
                                                Cached* cached) const {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) {
    return Fail(kReasonMalformed, "the bearer token is not a compact JWT (header.payload.sig)");
  }
  std::string header_json, payload_json, signature;
  if (!Base64Url(parts[0], &header_json) || !Base64Url(parts[1], &payload_json) ||
      !Base64Url(parts[2], &signature)) {
    return Fail(kReasonMalformed, "the bearer token is not base64url-encoded");
  }
  Json header = Json::parse(header_json, nullptr, false);
  Json claims = Json::parse(payload_json, nullptr, false);
  if (header.is_discarded() || !header.is_object() || claims.is_discarded() ||
      !claims.is_object()) {
    return Fail(kReasonMalformed, "the bearer token's header or claims are not JSON objects");
  }
  const std::string alg = header.value("alg", "");
  if (alg != "RS256" && alg != "ES256") {
    return Fail(kReasonUnsupportedAlgorithm, "only RS256 and ES256 tokens are accepted");
  }
  const bool rsa = alg == "RS256";
  const std::string kid = header.value("kid", "");
  const std::string der = rsa ? signature : EcdsaDer(signature);
  const absl::string_view signed_part(parts[0].data(), parts[0].size() + 1 + parts[1].size());
  bool verified = false;
  if (!der.empty()) {
    for (const Jwks::Key& key : jwks->keys()) {
      if (key.rsa != rsa || (!kid.empty() && !key.kid.empty() && key.kid != kid)) continue;
      if (VerifySha256(key.key.get(), signed_part, der)) {
        verified = true;
        break;
      }
    }
  }
  // The same answer whether no key matched the kid or a key did not verify: the caller learns
  // nothing about which keys are trusted.
  if (!verified) return Fail(kReasonBadSignature, "the token's signature does not verify");

  // Claims are judged only once the signature holds: unsigned claims say nothing.
  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() || *iss != options_.issuer) {
    return Fail(kReasonWrongIssuer, "the token's issuer is not accepted by this gateway");
  }
  bool audience = false;
  if (auto aud = claims.find("aud"); aud != claims.end()) {
    if (aud->is_string()) audience = *aud == options_.audience;
    if (aud->is_array()) {
      for (const Json& one : *aud)
        audience = audience || (one.is_string() && one == options_.audience);
    }
  }
  if (!audience) {
    return Fail(kReasonWrongAudience, "the token was not issued for this gateway (aud)");
  }
  absl::Time exp;
  if (!TimeClaim(claims, "exp", &exp)) {
    return Fail(kReasonMalformed, "the token has no numeric exp claim");
  }
  absl::Time nbf = absl::InfinitePast();
  if (claims.contains("nbf") && !TimeClaim(claims, "nbf", &nbf)) {
    return Fail(kReasonMalformed, "the token's nbf claim is not a number");
  }
  auto principal = claims.find(options_.principal_claim);
  if (principal == claims.end() || !principal->is_string() ||
      principal->get<std::string>().empty()) {
    return Fail(kReasonMalformed, absl::StrCat("the token has no string claim \"",
                                               options_.principal_claim, "\" naming the caller"));
  }
  cached->principal = principal->get<std::string>();
  cached->not_before = nbf == absl::InfinitePast() ? nbf : nbf - options_.leeway;
  cached->expires = exp + options_.leeway;
  cached->generation = generation;
  const absl::Time now = clock_.Now();
  if (now < cached->not_before) return Fail(kReasonNotYetValid, "the token is not valid yet (nbf)");
  if (now >= cached->expires) return Fail(kReasonExpired, "the token has expired");
  Result result;
  result.ok = true;
  result.identity.principal = cached->principal;
  return result;
}

}  // namespace aarthik::authz
