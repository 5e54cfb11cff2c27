#include "server/authz/policy.h"

#include "gtest/gtest.h"

namespace aarthik::authz {
namespace {

const std::vector<std::string> kMethods = {
    "aarthik.headless.v1.OffersService/ProceedOffer",             // 0
    "aarthik.headless.v1.OffersService/GetOffer",                 // 1
    "aarthik.headless.v1.JourneysService/GetJourney",             // 2
    "aarthik.headless.v1.JourneysService/CreateJourney",          // 3
    "aarthik.events.v1.JourneyEventsService/WatchJourneyEvents",  // 4
};

TEST(GlobMatchTest, StarMatchesAnyRunIncludingSlashes) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*/Get*", "aarthik.headless.v1.OffersService/GetOffer"));
  EXPECT_FALSE(GlobMatch("*/Get*", "aarthik.headless.v1.OffersService/ProceedOffer"));
  EXPECT_TRUE(GlobMatch("spiffe://cluster.local/ns/payments/*",
                        "spiffe://cluster.local/ns/payments/sa/reader"));
  EXPECT_FALSE(GlobMatch("spiffe://cluster.local/ns/payments/*",
                         "spiffe://cluster.local/ns/paymentsx/sa/reader"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYbc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXbYYbd"));
  EXPECT_TRUE(GlobMatch("exact", "exact"));
  EXPECT_FALSE(GlobMatch("exact", "exactly"));
}

TEST(PolicyTest, DeniesByDefaultAndGrantsWhatRulesSay) {
  auto policy = Policy::Compile(R"(
rules:
  - name: loans
    principals: ["spiffe://cluster.local/ns/loans/sa/loans-api"]
    methods: ["aarthik.headless.v1.OffersService/*"]
  - name: readers
    principals: "spiffe://cluster.local/ns/payments/*"
    methods: ["*/Get*"]
)",
                                kMethods);
  ASSERT_TRUE(policy.ok()) << policy.status();
  const std::string loans = "spiffe://cluster.local/ns/loans/sa/loans-api";
  const std::string reader = "spiffe://cluster.local/ns/payments/sa/reader";
  ASSERT_NE(policy->Allows(loans, 0), nullptr);
  EXPECT_EQ(policy->Allows(loans, 0)->name, "loans");
  EXPECT_NE(policy->Allows(loans, 1), nullptr);
  EXPECT_EQ(policy->Allows(loans, 2), nullptr);  // not granted: denied by default
  EXPECT_EQ(policy->Allows(loans, 3), nullptr);
  EXPECT_EQ(policy->Allows(reader, 0), nullptr);  // a write
  EXPECT_NE(policy->Allows(reader, 1), nullptr);
  EXPECT_NE(policy->Allows(reader, 2), nullptr);
  EXPECT_EQ(policy->Allows("someone-else", 1), nullptr);
  EXPECT_EQ(policy->Allows(loans, -1), nullptr);
  EXPECT_EQ(policy->Allows(loans, 99), nullptr);
}

TEST(PolicyTest, DecisionsStayRightBeyondTheCachedPrincipals) {
  auto policy =
      Policy::Compile("rules:\n  - principals: ['svc-*']\n    methods: ['*/Get*']\n", kMethods);
  ASSERT_TRUE(policy.ok());
  for (size_t i = 0; i < Policy::kCachedPrincipals + 100; ++i) {
    const std::string principal = "svc-" + std::to_string(i);
    ASSERT_NE(policy->Allows(principal, 1), nullptr) << principal;
    ASSERT_EQ(policy->Allows(principal, 0), nullptr) << principal;
    ASSERT_EQ(policy->Allows("other-" + std::to_string(i), 1), nullptr);
  }
}

TEST(PolicyTest, AnEmptyRuleListDeniesEverything) {
  auto policy = Policy::Compile("rules: []\n", kMethods);
  ASSERT_TRUE(policy.ok()) << policy.status();
  for (int m = 0; m < static_cast<int>(kMethods.size()); ++m) {
    EXPECT_EQ(policy->Allows("anyone", m), nullptr);
  }
}

TEST(PolicyTest, RefusesMistakesWithTheLine) {
  for (const char* bad : {
           "rules: {}\n",
           "rulez: []\n",
           "rules:\n  - principals: [a]\n",
           "rules:\n  - methods: ['*']\n",
           "rules:\n  - principals: []\n    methods: ['*']\n",
           "rules:\n  - principals: ['']\n    methods: ['*']\n",
           "rules:\n  - principals: [a]\n    methods: ['*']\n    allow: true\n",
           "rules:\n  - principals: [a\n",
           "just a string\n",
       }) {
    auto policy = Policy::Compile(bad, kMethods);
    EXPECT_FALSE(policy.ok()) << bad;
    EXPECT_NE(policy.status().message().find("authorization policy"), std::string::npos)
        << policy.status();
  }
  auto policy =
      Policy::Compile("rules:\n  - principals: [a]\n    methods: ['*']\n    allow: 1\n", kMethods);
  EXPECT_NE(policy.status().message().find("line 4"), std::string::npos) << policy.status();
}

TEST(PolicyTest, WarnsAboutPatternsThatMatchNoMethod) {
  std::vector<std::string> warnings;
  auto policy = Policy::Compile(
      "rules:\n  - name: typo\n    principals: [a]\n    methods: ['aarthik.headless.v1.Ofers/*']\n",
      kMethods, &warnings);
  ASSERT_TRUE(policy.ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("typo"), std::string::npos);
}

}  // namespace
}  // namespace aarthik::authz
