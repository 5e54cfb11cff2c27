// TlsFront: a TLS-terminating TCP relay for tests. It accepts TLS on 127.0.0.1 (a free port) with
// the given certificate and pipes the decrypted bytes, both ways, to a plain TCP backend such as
// the plain-HTTP sandbox. The gateway's https:// upstream path (CA bundle, verification failures)
// can so be tested against the real sandbox without teaching the sandbox TLS.
//
//   absl::StatusOr<std::unique_ptr<TlsFront>> front =
//       TlsFront::Start({certs->server.cert, certs->server.key, "127.0.0.1:8080"});
//   ASSERT_TRUE(front.ok()) << front.status();
//   std::string url = "https://" + (*front)->address();   // "https://127.0.0.1:PORT"
//   ...
//   EXPECT_GE((*front)->handshakes_completed(), 1);
//
// No ALPN is offered, so clients speak HTTP/1.1 through it (the sandbox's protocol).
//
// Thread-safety: the relay runs on its own thread; the accessors are thread-safe. Destroying the
// front stops the thread and closes every connection.
#ifndef AARTHIK_TESTS_SUPPORT_TLS_FRONT_H_
#define AARTHIK_TESTS_SUPPORT_TLS_FRONT_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace aarthik::testing {

class TlsFront {
 public:
  struct Options {
    std::string cert_file;  // PEM chain the front presents
    std::string key_file;   // its PEM private key
    std::string backend;    // "HOST:PORT" (numeric IPv4/IPv6 host) of the plain TCP backend
  };

  static absl::StatusOr<std::unique_ptr<TlsFront>> Start(const Options& options);
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  // "127.0.0.1:PORT".
  std::string address() const;
  // TLS handshakes that succeeded / failed (e.g. the client refused the certificate) so far.
  int handshakes_completed() const { return handshakes_completed_.load(); }
  int handshakes_failed() const { return handshakes_failed_.load(); }

 private:
  struct Impl;
  class Connection;
  TlsFront() = default;
  void Accept();

  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> handshakes_completed_{0};
  std::atomic<int> handshakes_failed_{0};
};

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_SUPPORT_TLS_FRONT_H_
