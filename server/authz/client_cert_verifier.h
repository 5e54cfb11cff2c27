// ClientCertVerifier: checks a TLS client's certificate chain against the client CA bundle
// (--tls-client-ca-file) for each call, so that a caller with a missing, foreign or expired
// certificate gets UNAUTHENTICATED with a reason instead of a failed handshake (which a client sees
// as UNAVAILABLE, with nothing to say why).
//
// The gRPC listener asks for a client certificate without verifying it
// (GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY): the handshake still proves that the client
// holds the certificate's private key, and this class does the chain check that the handshake no
// longer does. Every gRPC method except health goes through it when mTLS is configured
// (PolicyAuthorizer), whatever the authorization mode: it is transport security, not policy.
//
//   absl::StatusOr<std::unique_ptr<ClientCertVerifier>> verifier =
//       ClientCertVerifier::Create(ca_bundle_pem, core::Clock::Real());
//   ClientCertVerifier::Result result = (*verifier)->Verify(auth_context.get());
//   if (!result.ok()) return Unauthenticated(result.reason, result.message);
//   (*verifier)->SetCaBundle(rotated_pem);  // a rotated bundle (the file watcher)
//
// Results are cached per leaf certificate (a client opens many calls on one connection): a trusted
// one until it expires or for kCacheFor, whichever is sooner; a cache is dropped when the bundle
// changes. The check is OpenSSL's X509_verify_cert with the TLS client purpose, the peer's
// intermediates as untrusted certificates.
//
// Thread-safety: Verify and SetCaBundle may be called from any thread.
#ifndef AARTHIK_SERVER_AUTHZ_CLIENT_CERT_VERIFIER_H_
#define AARTHIK_SERVER_AUTHZ_CLIENT_CERT_VERIFIER_H_

#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/core/clock.h"

namespace aarthik::authz {

inline constexpr char kReasonClientCertMissing[] = "CLIENT_CERT_MISSING";
inline constexpr char kReasonClientCertUntrusted[] = "CLIENT_CERT_UNTRUSTED";
// kReasonExpired / kReasonNotYetValid (jwt_verifier.h) name a certificate outside its validity.

class ClientCertVerifier {
 public:
  struct Result {
    bool ok() const { return reason == nullptr; }
    const char* reason = nullptr;  // an ErrorInfo reason; null when the chain is trusted
    std::string message;           // why, in OpenSSL's words; never which CA would have worked
  };

  static constexpr absl::Duration kCacheFor = absl::Minutes(5);
  static constexpr size_t kMaxCachedCertificates = 4096;

  // Fails (INVALID_ARGUMENT) when `ca_bundle_pem` holds no certificate.
  static absl::StatusOr<std::unique_ptr<ClientCertVerifier>> Create(
      const std::string& ca_bundle_pem, const core::Clock& clock);
  ~ClientCertVerifier();

  // The verdict on the peer of `auth` (null on a plaintext connection: missing).
  Result Verify(const grpc::AuthContext* auth) const;
  // The same from the peer's PEM certificate and the chain it sent ("" for none).
  Result VerifyPem(const std::string& leaf_pem, const std::string& chain_pem) const;
  // Replaces the trusted CAs; the old ones are kept when `ca_bundle_pem` holds no certificate.
  absl::Status SetCaBundle(const std::string& ca_bundle_pem);

 private:
  struct Store;  // an X509_STORE, shared by the calls verifying against it
  struct Cached {
    Result result;
    absl::Time until;
  };
  ClientCertVerifier(std::shared_ptr<const Store> store, const core::Clock& clock);
  static absl::StatusOr<std::shared_ptr<const Store>> LoadStore(const std::string& pem);
  // Verifies `leaf_pem` (with the untrusted `chain_pem`) at `now` and says until when the verdict
  // holds.
  Cached Check(const Store& store, const std::string& leaf_pem, const std::string& chain_pem,
               absl::Time now) const;

  const core::Clock& clock_;
  mutable std::mutex mu_;
  std::shared_ptr<const Store> store_;                      // guarded by mu_
  mutable absl::flat_hash_map<std::string, Cached> cache_;  // leaf PEM -> verdict; guarded by mu_
};

}  // namespace aarthik::authz

#endif  // AARTHIK_SERVER_AUTHZ_CLIENT_CERT_VERIFIER_H_
