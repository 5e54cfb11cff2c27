#include "tests/support/test_jwt.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace aarthik::testing {
namespace {

std::string B64(const std::string& bytes) { return absl::WebSafeBase64Escape(bytes); }

std::string BnBytes(const EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return "";
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

// A big-endian number, left-padded with zeros to `size` bytes.
std::string Padded(const BIGNUM* bn, int size) {
  std::string out(static_cast<size_t>(size), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);
  return out;
}

}  // namespace

std::unique_ptr<TestSigningKey> TestSigningKey::Rsa(std::string kid) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  if (key == nullptr) return nullptr;
  return std::unique_ptr<TestSigningKey>(new TestSigningKey(key, true, std::move(kid)));
}

std::unique_ptr<TestSigningKey> TestSigningKey::Ec(std::string kid) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr) return nullptr;
  return std::unique_ptr<TestSigningKey>(new TestSigningKey(key, false, std::move(kid)));
}

TestSigningKey::~TestSigningKey() { EVP_PKEY_free(key_); }

std::string TestSigningKey::Jwk() const {
  if (rsa_) {
    return absl::StrCat(R"({"kty":"RSA","use":"sig","alg":"RS256","kid":")", kid_, R"(","n":")",
                        B64(BnBytes(key_, OSSL_PKEY_PARAM_RSA_N)), R"(","e":")",
                        B64(BnBytes(key_, OSSL_PKEY_PARAM_RSA_E)), R"("})");
  }
  unsigned char point[65];
  size_t length = 0;
  EVP_PKEY_get_octet_string_param(key_, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &length);
  const std::string x(reinterpret_cast<char*>(point) + 1, 32);
  const std::string y(reinterpret_cast<char*>(point) + 33, 32);
  return absl::StrCat(R"({"kty":"EC","use":"sig","alg":"ES256","crv":"P-256","kid":")", kid_,
                      R"(","x":")", B64(x), R"(","y":")", B64(y), R"("})");
}

std::string TestSigningKey::Sign(const std::string& claims_json) const {
  const std::string header = absl::StrCat(R"({"alg":")", rsa_ ? "RS256" : "ES256",
                                          R"(","typ":"JWT","kid":")", kid_, R"("})");
  const std::string signing_input = absl::StrCat(B64(header), ".", B64(claims_json));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t length = 0;
  std::string signature;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_) == 1 &&
      EVP_DigestSign(ctx, nullptr, &length,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) == 1) {
    signature.resize(length);
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                   reinterpret_cast<const unsigned char*>(signing_input.data()),
                   signing_input.size());
    signature.resize(length);
  }
  EVP_MD_CTX_free(ctx);
  if (!rsa_) {
    // OpenSSL signs ECDSA in DER; JWS wants r||s, 32 bytes each.
    const unsigned char* der = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
    signature = Padded(ECDSA_SIG_get0_r(sig), 32) + Padded(ECDSA_SIG_get0_s(sig), 32);
    ECDSA_SIG_free(sig);
  }
  return absl::StrCat(signing_input, ".", B64(signature));
}

std::string JwksOf(const std::vector<const TestSigningKey*>& keys) {
  std::vector<std::string> jwks;
  for (const TestSigningKey* key : keys) jwks.push_back(key->Jwk());
  return absl::StrCat(R"({"keys":[)", absl::StrJoin(jwks, ","), "]}");
}

}  // namespace aarthik::testing
