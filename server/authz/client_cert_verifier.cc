#include "server/authz/client_cert_verifier.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpc/grpc_security_constants.h"
#include "server/authz/jwt_verifier.h"

namespace aarthik::authz {
namespace {

// A failed verdict is kept briefly: enough that a client retrying in a loop costs one chain check
// per interval, short enough that a fixed certificate is soon let in.
constexpr absl::Duration kCacheFailuresFor = absl::Seconds(30);

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Every certificate of a PEM text, in order.
std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return certs;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) certs.emplace_back(cert);
  BIO_free(bio);
  ERR_clear_error();  // the end of the text reads as an error
  return certs;
}

std::string First(const grpc::AuthContext& auth, const char* property) {
  std::vector<grpc::string_ref> values = auth.FindPropertyValues(property);
  if (values.empty()) return "";
  return std::string(values.front().data(), values.front().size());
}

absl::Time ToTime(const ASN1_TIME* time, absl::Time otherwise) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return otherwise;
  return absl::FromTimeT(timegm(&tm));
}

}  // namespace

struct ClientCertVerifier::Store {
  ~Store() { X509_STORE_free(store); }
  X509_STORE* store = nullptr;
};

absl::StatusOr<std::shared_ptr<const ClientCertVerifier::Store>> ClientCertVerifier::LoadStore(
    const std::string& pem) {
  std::vector<X509Ptr> certs = ReadCertificates(pem);
  if (certs.empty()) return absl::InvalidArgumentError("the client CA bundle holds no certificate");
  auto store = std::make_shared<Store>();
  store->store = X509_STORE_new();
  if (store->store == nullptr) return absl::ResourceExhaustedError("X509_STORE_new failed");
  for (const X509Ptr& cert : certs) {
    if (X509_STORE_add_cert(store->store, cert.get()) != 1) ERR_clear_error();  // a duplicate
  }
  return store;
}

absl::StatusOr<std::unique_ptr<ClientCertVerifier>> ClientCertVerifier::Create(
    const std::string& ca_bundle_pem, const core::Clock& clock) {
  absl::StatusOr<std::shared_ptr<const Store>> store = LoadStore(ca_bundle_pem);
  if (!store.ok()) return store.status();
  return std::unique_ptr<ClientCertVerifier>(new ClientCertVerifier(*std::move(store), clock));
}

ClientCertVerifier::ClientCertVerifier(std::shared_ptr<const Store> store, const core::Clock& clock)
    : clock_(clock), store_(std::move(store)) {}

ClientCertVerifier::~ClientCertVerifier() = default;

absl::Status ClientCertVerifier::SetCaBundle(const std::string& ca_bundle_pem) {
  absl::StatusOr<std::shared_ptr<const Store>> store = LoadStore(ca_bundle_pem);
  if (!store.ok()) return store.status();
  std::lock_guard<std::mutex> lock(mu_);
  store_ = *std::move(store);
  cache_.clear();
  return absl::OkStatus();
}

ClientCertVerifier::Result ClientCertVerifier::Verify(const grpc::AuthContext* auth) const {
  if (auth == nullptr) return VerifyPem("", "");
  return VerifyPem(First(*auth, GRPC_X509_PEM_CERT_PROPERTY_NAME),
                   First(*auth, GRPC_X509_PEM_CERT_CHAIN_PROPERTY_NAME));
}

ClientCertVerifier::Result ClientCertVerifier::VerifyPem(const std::string& leaf,
                                                         const std::string& chain) const {
  if (leaf.empty()) {
    return {kReasonClientCertMissing,
            "this gateway requires a client certificate (mutual TLS) and the connection has none"};
  }
  const absl::Time now = clock_.Now();
  std::shared_ptr<const Store> store;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(leaf);
    if (it != cache_.end() && now < it->second.until) return it->second.result;
    store = store_;
  }
  Cached verdict = Check(*store, leaf, chain, now);
  std::lock_guard<std::mutex> lock(mu_);
  if (store == store_) {  // not a verdict against a bundle replaced meanwhile
    if (cache_.size() >= kMaxCachedCertificates) cache_.clear();
    cache_[leaf] = verdict;
  }
  return verdict.result;
}

ClientCertVerifier::Cached ClientCertVerifier::Check(const Store& store,
                                                     const std::string& leaf_pem,
                                                     const std::string& chain_pem,
                                                     absl::Time now) const {
  Cached verdict{{}, now + kCacheFailuresFor};
  std::vector<X509Ptr> leaf = ReadCertificates(leaf_pem);
  if (leaf.empty()) {
    verdict.result = {kReasonClientCertUntrusted, "the client certificate cannot be read"};
    return verdict;
  }
  std::vector<X509Ptr> chain = ReadCertificates(chain_pem);
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (const X509Ptr& cert : chain) sk_X509_push(untrusted, cert.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  int verified = 0;
  int error = X509_V_ERR_UNSPECIFIED;
  if (ctx != nullptr && untrusted != nullptr &&
      X509_STORE_CTX_init(ctx, store.store, leaf.front().get(), untrusted) == 1) {
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    X509_STORE_CTX_set_time(ctx, 0, absl::ToTimeT(now));
    verified = X509_verify_cert(ctx);
    error = X509_STORE_CTX_get_error(ctx);
  }
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);  // the certificates belong to `chain`
  ERR_clear_error();
  if (verified == 1) {
    verdict.until = std::min(now + kCacheFor, ToTime(X509_get0_notAfter(leaf.front().get()), now));
    return verdict;
  }
  const std::string why = X509_verify_cert_error_string(error);
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      verdict.result = {kReasonExpired, absl::StrCat("the client certificate: ", why)};
      break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      verdict.result = {kReasonNotYetValid, absl::StrCat("the client certificate: ", why)};
      break;
    default:
      verdict.result = {kReasonClientCertUntrusted,
                        absl::StrCat("the client certificate is not trusted: ", why)};
  }
  return verdict;
}

}  // namespace aarthik::authz
