// Both HttpTransports over https: the configured CA bundle verifies the peer and keep-alive holds
// (one handshake for many requests), and an unknown issuer
// or a certificate for another host name fails UNAVAILABLE (a connect failure: nothing was sent)
// with a message that says the platform's certificate could not be verified. The peer is a TlsFront
// before a FakeUpstream; certificates come from `openssl` at test time.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/sync.h"
#include "tests/support/test_certs.h"
#include "tests/support/tls_front.h"
#include "tests/unit/upstream/transport_implementations.h"

namespace aarthik::upstream {
namespace {

using ::aarthik::testing::CertFiles;
using ::aarthik::testing::FakeResponse;
using ::aarthik::testing::FakeUpstream;
using ::aarthik::testing::TestCerts;
using ::aarthik::testing::TlsFront;
using ::testing::HasSubstr;

template <typename Transport>
class TlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loop_.Start();
    absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Generate();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *std::move(certs);
    upstream_.SetDefaultResponse(FakeResponse::Ok(R"({"ok":true})"));
  }

  // Starts a TLS front presenting `identity`; returns its https:// URL.
  std::string FrontWith(const CertFiles& identity) {
    const std::string backend = upstream_.url().substr(std::string("http://").size());
    absl::StatusOr<std::unique_ptr<TlsFront>> front =
        TlsFront::Start({identity.cert, identity.key, backend});
    EXPECT_TRUE(front.ok()) << front.status();
    if (!front.ok()) return "https://127.0.0.1:1";
    front_ = *std::move(front);
    return "https://" + front_->address();
  }

  absl::StatusOr<HttpResponse> Get(const std::string& url, const std::string& ca_bundle) {
    if (transport_ == nullptr) {
      typename Transport::Options options;
      options.ca_bundle_path = ca_bundle;
      transport_ = std::make_unique<Transport>(&loop_, options);
    }
    HttpRequest request;
    request.method = "GET";
    request.url = url + "/v1/offers?token=secret";
    aarthik::testing::Notification done;
    absl::StatusOr<HttpResponse> result = absl::UnknownError("callback never ran");
    transport_->Send(std::move(request), [&](absl::StatusOr<HttpResponse> response) {
      result = std::move(response);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  // Declared first so it is destroyed last: the transport needs it running.
  EventLoop loop_;
  FakeUpstream upstream_;
  std::unique_ptr<TestCerts> certs_;
  std::unique_ptr<TlsFront> front_;
  std::unique_ptr<Transport> transport_;
};

TYPED_TEST_SUITE(TlsTransportTest, TransportImplementations, TransportNames);

TYPED_TEST(TlsTransportTest, CaBundleVerifiesThePeer) {
  absl::StatusOr<HttpResponse> response =
      this->Get(this->FrontWith(this->certs_->server), this->certs_->ca.cert);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_EQ(this->front_->handshakes_completed(), 1);
  const std::string url = "https://" + this->front_->address();
  for (int i = 0; i < 5; ++i) {
    response = this->Get(url, this->certs_->ca.cert);
    ASSERT_TRUE(response.ok()) << response.status();
  }
  EXPECT_EQ(this->front_->handshakes_completed(), 1);  // kept alive
}

TYPED_TEST(TlsTransportTest, CertificateFromAnotherCaIsUnavailableAndNamesTheBundle) {
  absl::StatusOr<HttpResponse> response =
      this->Get(this->FrontWith(this->certs_->server), this->certs_->other_ca.cert);
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  EXPECT_TRUE(IsConnectFailure(response.status()));
  EXPECT_THAT(response.status().message(),
              HasSubstr(absl::StrCat(
                  "the platform's certificate could not be verified against the CA bundle ",
                  this->certs_->other_ca.cert)));
  EXPECT_THAT(response.status().message(), ::testing::Not(HasSubstr("secret")));
  EXPECT_EQ(this->front_->handshakes_completed(), 0);
  EXPECT_EQ(this->upstream_.requests().size(), 0u);
}

TYPED_TEST(TlsTransportTest, SystemStoreByDefaultDoesNotTrustAPrivateCa) {
  absl::StatusOr<HttpResponse> response = this->Get(this->FrontWith(this->certs_->server), "");
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  EXPECT_THAT(response.status().message(),
              HasSubstr("could not be verified against the system CA store"));
  EXPECT_EQ(this->upstream_.requests().size(), 0u);
}

TYPED_TEST(TlsTransportTest, HostNameIsVerified) {
  // Signed by the trusted CA, but for another host name.
  absl::StatusOr<HttpResponse> response =
      this->Get(this->FrontWith(this->certs_->misnamed_server), this->certs_->ca.cert);
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("certificate could not be verified"));
  EXPECT_EQ(this->upstream_.requests().size(), 0u);
}

}  // namespace
}  // namespace aarthik::upstream
