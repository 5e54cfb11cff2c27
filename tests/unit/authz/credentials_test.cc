// What names the caller in an x-forwarded-client-cert value (PeerPrincipal needs a real TLS
// connection: integration.AuthzTest covers it).
#include "gtest/gtest.h"
#include "server/authz/authorizer.h"

namespace aarthik::authz {
namespace {

TEST(ForwardedCertPrincipalTest, PrefersUriThenDnsThenSubjectCn) {
  EXPECT_EQ(ForwardedCertPrincipal(
                "By=spiffe://cluster.local/ns/gw/sa/gw;Hash=abc;"
                "Subject=\"CN=loans,OU=x\";URI=spiffe://cluster.local/ns/loans/sa/loans-api;"
                "DNS=loans.internal"),
            "spiffe://cluster.local/ns/loans/sa/loans-api");
  EXPECT_EQ(ForwardedCertPrincipal("Hash=abc;DNS=loans.internal;DNS=other"), "loans.internal");
  EXPECT_EQ(ForwardedCertPrincipal("Hash=abc;Subject=\"OU=team, CN=loans-api\""), "loans-api");
  EXPECT_EQ(ForwardedCertPrincipal("Hash=abc"), "");
}

TEST(ForwardedCertPrincipalTest, TheNearestHopIsTheLastElement) {
  // Envoy appends: the element the trusted sidecar added is the last one, whatever came before
  // (a caller could have sent a forged first element).
  EXPECT_EQ(ForwardedCertPrincipal(
                "URI=spiffe://cluster.local/ns/admin/sa/root,"
                "Subject=\"CN=a,OU=b\";URI=spiffe://cluster.local/ns/payments/sa/reader"),
            "spiffe://cluster.local/ns/payments/sa/reader");
}

TEST(IdentitySourceNameTest, Words) {
  EXPECT_EQ(IdentitySourceName(IdentitySource::kMtls), "mtls");
  EXPECT_EQ(IdentitySourceName(IdentitySource::kJwt), "jwt");
  EXPECT_EQ(IdentitySourceName(IdentitySource::kForwardedCert), "xfcc");
  EXPECT_EQ(IdentitySourceName(IdentitySource::kNone), "");
}

}  // namespace
}  // namespace aarthik::authz
