// Throw-away certificates for TLS tests, generated with the `openssl` command-line tool at test
// time into a fresh temporary directory (removed again by the destructor). Nothing here is ever
// committed or reused.
//
//   absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Generate();
//   ASSERT_TRUE(certs.ok()) << certs.status();
//   // (*certs)->ca.cert signs (*certs)->server (SAN IP:127.0.0.1, DNS:localhost) and
//   (*certs)->client;
//   // (*certs)->other_ca is unrelated and signs (*certs)->other_server (same SANs).
//   std::string pem = ReadTextFile((*certs)->ca.cert);
//
// Keys are ECDSA P-256 (fast to generate); certificates are valid for two days.
//
// Thread-safety: a TestCerts is an immutable value after Generate; ReadTextFile is reentrant.
#ifndef AARTHIK_TESTS_SUPPORT_TEST_CERTS_H_
#define AARTHIK_TESTS_SUPPORT_TEST_CERTS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace aarthik::testing {

// Paths of one PEM certificate and its PEM private key.
struct CertFiles {
  std::string cert;
  std::string key;
};

class TestCerts {
 public:
  // Runs `openssl` (from PATH) to create every file. Fails with the command line that failed.
  static absl::StatusOr<std::unique_ptr<TestCerts>> Generate();
  ~TestCerts();
  TestCerts(const TestCerts&) = delete;
  TestCerts& operator=(const TestCerts&) = delete;

  std::string dir;         // the temporary directory holding everything below
  CertFiles ca;            // self-signed CA
  CertFiles server;        // signed by `ca`: serverAuth, SAN IP:127.0.0.1 and DNS:localhost
  CertFiles client;        // signed by `ca`: clientAuth, CN=test-client
  CertFiles other_ca;      // an unrelated self-signed CA
  CertFiles other_server;  // signed by `other_ca`, same SANs as `server`
  CertFiles other_client;  // signed by `other_ca`: clientAuth
  CertFiles
      misnamed_server;  // signed by `ca`, but for DNS:elsewhere.test only (host name mismatch)

 private:
  TestCerts() = default;
};

// A client certificate (clientAuth) signed by `ca`, in `dir` as NAME.pem / NAME.key.pem, with the
// subject CN `common_name` and, unless empty, `alt_names` in openssl's syntax, e.g.
// "URI:spiffe://cluster.local/ns/loans/sa/loans-api" or "DNS:loans.internal". For identity tests.
absl::StatusOr<CertFiles> IssueClientCert(const std::string& dir, const std::string& name,
                                          const CertFiles& ca, const std::string& common_name,
                                          const std::string& alt_names = "");

// The whole file, "" when it cannot be read.
std::string ReadTextFile(const std::string& path);

// Replaces `path` with `content` atomically (write to a sibling, then rename), the way a rotated
// secret appears to a file watcher: never half-written.
absl::Status ReplaceFileAtomically(const std::string& path, const std::string& content);

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_SUPPORT_TEST_CERTS_H_
