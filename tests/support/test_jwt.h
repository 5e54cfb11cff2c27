// Throw-away JWT signing keys for identity tests: an RSA-2048 (RS256) or EC P-256 (ES256) key made
// in memory with OpenSSL, its public JWK for a JWKS file, and compact JWTs signed with it. Nothing
// here is ever committed or reused.
//
//   std::unique_ptr<TestSigningKey> key = TestSigningKey::Rsa("k1");
//   std::string jwks = JwksOf({key.get()});                      // {"keys":[{...}]}
//   std::string token = key->Sign(R"({"iss":"https://issuer.test","sub":"svc","exp":2000000000})");
//
// Thread-safety: a TestSigningKey is immutable after creation; Sign may be called concurrently.
#ifndef AARTHIK_TESTS_SUPPORT_TEST_JWT_H_
#define AARTHIK_TESTS_SUPPORT_TEST_JWT_H_

#include <memory>
#include <string>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;

namespace aarthik::testing {

class TestSigningKey {
 public:
  static std::unique_ptr<TestSigningKey> Rsa(std::string kid);
  static std::unique_ptr<TestSigningKey> Ec(std::string kid);
  ~TestSigningKey();
  TestSigningKey(const TestSigningKey&) = delete;
  TestSigningKey& operator=(const TestSigningKey&) = delete;

  // The public key as a JWK JSON object.
  std::string Jwk() const;
  // header.payload.signature over `claims_json`, with alg RS256/ES256 and this key's kid.
  std::string Sign(const std::string& claims_json) const;
  const std::string& kid() const { return kid_; }

 private:
  TestSigningKey(EVP_PKEY* key, bool rsa, std::string kid)
      : key_(key), rsa_(rsa), kid_(std::move(kid)) {}
  EVP_PKEY* key_;
  bool rsa_;
  std::string kid_;
};

// {"keys":[...]} of the given keys' public JWKs.
std::string JwksOf(const std::vector<const TestSigningKey*>& keys);

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_SUPPORT_TEST_JWT_H_
