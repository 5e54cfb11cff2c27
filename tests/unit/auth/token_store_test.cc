// MemoryTokenStore's bounds, and the SweepPacer that paces both it and the session manager's
// fresh-token table: expired entries go without waiting for the cap, and sweeping stays O(1) per
// new borrower however full the table is.
#include "server/auth/token_store.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace aarthik::auth {
namespace {

BorrowerTokens TokensExpiringAt(absl::Time refresh_expires_at) {
  BorrowerTokens tokens;
  tokens.session_token = "st_test";
  tokens.refresh_token = "rt_test";
  tokens.session_expires_at = refresh_expires_at;
  tokens.refresh_expires_at = refresh_expires_at;
  return tokens;
}

bool Holds(MemoryTokenStore& store, const std::string& borrower) {
  std::optional<BorrowerTokens> found;
  store.Load(borrower, [&](absl::StatusOr<std::optional<BorrowerTokens>> loaded) {
    ASSERT_TRUE(loaded.ok());
    found = *loaded;
  });  // the memory store answers inline
  return found.has_value();
}

TEST(SweepPacerTest, APassPerAsManyInsertionsAsTheTableHeldAfterTheLastOne) {
  SweepPacer pacer(/*min_interval=*/4);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(pacer.Inserted());
  EXPECT_TRUE(pacer.Inserted());
  pacer.Swept(10);
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(pacer.Inserted());
  EXPECT_TRUE(pacer.Inserted());
  pacer.Swept(0);  // never fewer than min_interval apart
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(pacer.Inserted());
  EXPECT_TRUE(pacer.Inserted());
}

TEST(MemoryTokenStoreTest, ExpiredRefreshTokensGoBeforeTheCapIsReached) {
  MemoryTokenStore store(/*max_borrowers=*/1'000'000);
  const absl::Time past = absl::Now() - absl::Hours(1);
  for (int i = 0; i < 1023; ++i) {
    store.Save(absl::StrCat("GONE_", i), TokensExpiringAt(past), [](absl::Status) {});
  }
  EXPECT_TRUE(Holds(store, "GONE_0"));
  store.Save("LIVE", TokensExpiringAt(absl::Now() + absl::Hours(24)), [](absl::Status) {});
  EXPECT_FALSE(Holds(store, "GONE_0"));
  EXPECT_FALSE(Holds(store, "GONE_1022"));
  EXPECT_TRUE(Holds(store, "LIVE"));
}

TEST(MemoryTokenStoreTest, BeyondTheCapAnEntryMakesRoom) {
  MemoryTokenStore store(/*max_borrowers=*/10);
  const absl::Time later = absl::Now() + absl::Hours(24);
  for (int i = 0; i < 25; ++i) {
    store.Save(absl::StrCat("CUST_", i), TokensExpiringAt(later), [](absl::Status) {});
  }
  int held = 0;
  for (int i = 0; i < 25; ++i) held += Holds(store, absl::StrCat("CUST_", i)) ? 1 : 0;
  EXPECT_EQ(held, 10);
  EXPECT_TRUE(Holds(store, "CUST_24"));
}

}  // namespace
}  // namespace aarthik::auth
