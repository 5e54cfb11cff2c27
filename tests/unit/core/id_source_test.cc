// IdSource::Random gives canonical version-4 UUIDs (the platform validates correlation IDs and
// idempotency keys as UUIDs) and random hex digits (trace IDs); IsUuid accepts exactly the
// 8-4-4-4-12 hex form.
#include "server/core/id_source.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace aarthik::core {
namespace {

TEST(RandomIdSourceTest, GivesDistinctLowerCaseVersion4Uuids) {
  std::set<std::string> seen;
  std::set<char> digits_at_first_place;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = IdSource::Random().NewUuid();
    ASSERT_TRUE(IsUuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;                                          // version
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // RFC 4122 variant
    for (char c : id) EXPECT_TRUE(c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    seen.insert(id);
    digits_at_first_place.insert(id[0]);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(digits_at_first_place.size(), 16u);  // every hex digit turns up: the digits are random
}

TEST(RandomIdSourceTest, GivesDistinctLowerCaseHexOfTheLengthAsked) {
  for (const size_t digits : {1u, 16u, 32u, 40u}) {
    std::set<std::string> seen;
    std::set<char> at_last_place;
    for (int i = 0; i < 1000; ++i) {
      const std::string hex = IdSource::Random().NewHex(digits);
      ASSERT_EQ(hex.size(), digits);
      for (char c : hex) ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << hex;
      seen.insert(hex);
      at_last_place.insert(hex.back());
    }
    if (digits >= 16) EXPECT_EQ(seen.size(), 1000u) << digits;
    EXPECT_EQ(at_last_place.size(), 16u) << digits;  // the last digit is random too
  }
}

TEST(IdSourceTest, HexByDefaultIsTheUuidsDigitsSoATestSourcePredictsIt) {
  class FixedUuids : public IdSource {
   public:
    std::string NewUuid() override {
      return ++calls_ % 2 ? "3f2b1c4e-8d7a-4e2b-9c1d-0a1b2c3d4e5f"
                          : "00000000-0000-4000-8000-000000000001";
    }

   private:
    int calls_ = 0;
  };
  FixedUuids ids;
  EXPECT_EQ(ids.NewHex(16), "3f2b1c4e8d7a4e2b");
  EXPECT_EQ(ids.NewHex(40), "000000000000400080000000000000013f2b1c4e");

  class NoDigits : public IdSource {
    std::string NewUuid() override { return ""; }
  } empty;
  EXPECT_EQ(empty.NewHex(4), "0000");  // and does not loop for ever
}

TEST(IsUuidTest, AcceptsTheCanonicalFormOnly) {
  EXPECT_TRUE(IsUuid("3f2b1c4e-8d7a-4e2b-9c1d-0a1b2c3d4e5f"));
  EXPECT_TRUE(IsUuid("3F2B1C4E-8D7A-4E2B-9C1D-0A1B2C3D4E5F"));
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("3f2b1c4e8d7a4e2b9c1d0a1b2c3d4e5f"));
  EXPECT_FALSE(IsUuid("3f2b1c4e-8d7a-4e2b-9c1d-0a1b2c3d4e5"));
  EXPECT_FALSE(IsUuid("3f2b1c4e-8d7a-4e2b-9c1d-0a1b2c3d4e5g"));
  EXPECT_FALSE(IsUuid("3f2b1c4e_8d7a-4e2b-9c1d-0a1b2c3d4e5f"));
}

}  // namespace
}  // namespace aarthik::core
