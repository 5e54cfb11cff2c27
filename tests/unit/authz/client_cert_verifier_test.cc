#include "server/authz/client_cert_verifier.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/authz/jwt_verifier.h"
#include "server/core/clock.h"
#include "tests/support/test_certs.h"

namespace aarthik::authz {
namespace {

using ::aarthik::testing::ReadTextFile;
using ::aarthik::testing::TestCerts;

class ClientCertVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Generate();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = certs->release();
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  std::unique_ptr<ClientCertVerifier> Verifier(const std::string& ca_file) {
    absl::StatusOr<std::unique_ptr<ClientCertVerifier>> verifier =
        ClientCertVerifier::Create(ReadTextFile(ca_file), clock_);
    EXPECT_TRUE(verifier.ok()) << verifier.status();
    return verifier.ok() ? *std::move(verifier) : nullptr;
  }

  static TestCerts* certs_;
  core::ManualClock clock_{absl::Now()};
};

TestCerts* ClientCertVerifierTest::certs_ = nullptr;

TEST_F(ClientCertVerifierTest, TrustsAClientCertificateOfItsCa) {
  auto verifier = Verifier(certs_->ca.cert);
  ASSERT_NE(verifier, nullptr);
  ClientCertVerifier::Result result = verifier->VerifyPem(ReadTextFile(certs_->client.cert), "");
  EXPECT_TRUE(result.ok()) << result.reason << ": " << result.message;
}

TEST_F(ClientCertVerifierTest, NoCertificateIsMissing) {
  auto verifier = Verifier(certs_->ca.cert);
  ASSERT_NE(verifier, nullptr);
  EXPECT_STREQ(verifier->VerifyPem("", "").reason, kReasonClientCertMissing);
  EXPECT_STREQ(verifier->Verify(nullptr).reason, kReasonClientCertMissing);
}

TEST_F(ClientCertVerifierTest, AForeignCaIsUntrustedAndTheMessageNamesNoCa) {
  auto verifier = Verifier(certs_->ca.cert);
  ASSERT_NE(verifier, nullptr);
  ClientCertVerifier::Result result =
      verifier->VerifyPem(ReadTextFile(certs_->other_client.cert), "");
  EXPECT_STREQ(result.reason, kReasonClientCertUntrusted);
  EXPECT_TRUE(absl::StrContains(result.message, "not trusted")) << result.message;
  EXPECT_FALSE(absl::StrContains(result.message, "CN=")) << result.message;
  // The foreign client sending its own CA along does not help: only the bundle is trusted.
  EXPECT_STREQ(
      verifier
          ->VerifyPem(ReadTextFile(certs_->other_client.cert), ReadTextFile(certs_->other_ca.cert))
          .reason,
      kReasonClientCertUntrusted);
}

TEST_F(ClientCertVerifierTest, AServerOnlyCertificateIsNotAClientCertificate) {
  auto verifier = Verifier(certs_->ca.cert);
  ASSERT_NE(verifier, nullptr);
  EXPECT_STREQ(verifier->VerifyPem(ReadTextFile(certs_->server.cert), "").reason,
               kReasonClientCertUntrusted);
}

TEST_F(ClientCertVerifierTest, OutsideItsValidityTheCertificateIsExpiredOrNotYetValid) {
  const std::string client = ReadTextFile(certs_->client.cert);
  const absl::Time now = clock_.Now();
  clock_.Set(now + absl::Hours(24 * 3));  // the test certificates are valid for two days
  auto later = Verifier(certs_->ca.cert);
  ASSERT_NE(later, nullptr);
  EXPECT_STREQ(later->VerifyPem(client, "").reason, kReasonExpired);
  clock_.Set(now - absl::Hours(24 * 3));
  auto earlier = Verifier(certs_->ca.cert);  // a fresh cache: real clocks do not run back
  ASSERT_NE(earlier, nullptr);
  EXPECT_STREQ(earlier->VerifyPem(client, "").reason, kReasonNotYetValid);
}

TEST_F(ClientCertVerifierTest, ATrustedVerdictDoesNotOutliveTheCertificate) {
  auto verifier = Verifier(certs_->ca.cert);
  ASSERT_NE(verifier, nullptr);
  const std::string client = ReadTextFile(certs_->client.cert);
  ASSERT_TRUE(verifier->VerifyPem(client, "").ok());  // cached now
  clock_.Advance(absl::Hours(24 * 3));
  EXPECT_STREQ(verifier->VerifyPem(client, "").reason, kReasonExpired);
}

TEST_F(ClientCertVerifierTest, ANewBundleTakesEffectAtOnceAndAnEmptyOneIsRefused) {
  auto verifier = Verifier(certs_->ca.cert);
  ASSERT_NE(verifier, nullptr);
  const std::string client = ReadTextFile(certs_->client.cert);
  const std::string other_client = ReadTextFile(certs_->other_client.cert);
  ASSERT_TRUE(verifier->VerifyPem(client, "").ok());
  ASSERT_FALSE(verifier->VerifyPem(other_client, "").ok());

  ASSERT_TRUE(verifier->SetCaBundle(ReadTextFile(certs_->other_ca.cert)).ok());
  EXPECT_TRUE(verifier->VerifyPem(other_client, "").ok());  // not the cached refusal
  EXPECT_STREQ(verifier->VerifyPem(client, "").reason, kReasonClientCertUntrusted);

  EXPECT_FALSE(verifier->SetCaBundle("not a certificate").ok());
  EXPECT_TRUE(verifier->VerifyPem(other_client, "").ok());  // the last good bundle stays
  EXPECT_FALSE(ClientCertVerifier::Create("", clock_).ok());
}

// For TSan (scripts/test): calls verify from many threads while the bundle is replaced.
TEST_F(ClientCertVerifierTest, VerifiesFromManyThreadsWhileTheBundleChanges) {
  auto verifier = Verifier(certs_->ca.cert);
  ASSERT_NE(verifier, nullptr);
  const std::string client = ReadTextFile(certs_->client.cert);
  const std::string other_client = ReadTextFile(certs_->other_client.cert);
  const std::string both = ReadTextFile(certs_->ca.cert) + ReadTextFile(certs_->other_ca.cert);
  std::atomic<int> trusted{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (verifier->VerifyPem(t % 2 == 0 ? client : other_client, "").ok()) ++trusted;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(verifier->SetCaBundle(i % 2 == 0 ? both : ReadTextFile(certs_->ca.cert)).ok());
  }
  for (auto& caller : callers) caller.join();
  EXPECT_GE(trusted.load(), 400);  // the first CA's client is trusted under every bundle
}

TEST_F(ClientCertVerifierTest, GarbageIsUntrustedNotACrash) {
  auto verifier = Verifier(certs_->ca.cert);
  ASSERT_NE(verifier, nullptr);
  EXPECT_STREQ(
      verifier
          ->VerifyPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "garbage")
          .reason,
      kReasonClientCertUntrusted);
}

}  // namespace
}  // namespace aarthik::authz
