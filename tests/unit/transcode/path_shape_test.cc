// PathShape and IsDotSegment: the guard that keeps a rendered request path on its route template.
#include "server/transcode/path_shape.h"

#include "gtest/gtest.h"

namespace aarthik::transcode {
namespace {

constexpr char kHandOff[] =
    "/api/v1/hybrid/personal-loan/borrowers/{borrower_provider_id}/journey/offers/{offer_id}";

TEST(IsDotSegmentTest, EverySpellingOfDotAndDotDot) {
  for (const char* dot : {".", "..", "%2e", "%2E", ".%2e", "%2e.", "%2E%2e"}) {
    EXPECT_TRUE(IsDotSegment(dot)) << dot;
  }
  for (const char* other :
       {"", "...", "a.", ".a", "a.b", "%2", "%2f", "%252e", "%2e%2e%2e", "..%2f", "%2e%2e/"}) {
    EXPECT_FALSE(IsDotSegment(other)) << other;
  }
}

TEST(PathShapeTest, AcceptsEscapedValues) {
  PathShape shape = PathShape::FromTemplate(kHandOff);
  EXPECT_EQ(shape.segment_count(), 9u);
  for (const char* path : {
           "/api/v1/hybrid/personal-loan/borrowers/B-1/journey/offers/o1",
           "/api/v1/hybrid/personal-loan/borrowers/a%20b%2Fc/journey/offers/%252e%252e",
           "/api/v1/hybrid/personal-loan/borrowers/a.b/journey/offers/...",
           "/api/v1/hybrid/personal-loan/borrowers/%C3%A9/journey/offers/%00",
       }) {
    EXPECT_FALSE(shape.Check(path).has_value()) << path;
  }
}

TEST(PathShapeTest, RefusesWhatDoesNotFitAndBlamesTheVariable) {
  PathShape shape = PathShape::FromTemplate(kHandOff);
  struct Case {
    const char* path;
    const char* field;
  };
  const Case cases[] = {
      // Dot segments in any spelling.
      {"/api/v1/hybrid/personal-loan/borrowers/../journey/offers/o1", "borrower_provider_id"},
      {"/api/v1/hybrid/personal-loan/borrowers/B-1/journey/offers/.", "offer_id"},
      {"/api/v1/hybrid/personal-loan/borrowers/%2E%2e/journey/offers/o1", "borrower_provider_id"},
      // A '/' that was not escaped: one segment too many, blamed on the variable before it.
      {"/api/v1/hybrid/personal-loan/borrowers/a/b/journey/offers/o1", "borrower_provider_id"},
      {"/api/v1/hybrid/personal-loan/borrowers/B-1/journey/offers/o/1", "offer_id"},
      // Characters that are neither unreserved nor escaped.
      {"/api/v1/hybrid/personal-loan/borrowers/a;b/journey/offers/o1", "borrower_provider_id"},
      {"/api/v1/hybrid/personal-loan/borrowers/a b/journey/offers/o1", "borrower_provider_id"},
      {"/api/v1/hybrid/personal-loan/borrowers/B-1/journey/offers/o?x", "offer_id"},
      {"/api/v1/hybrid/personal-loan/borrowers/B-1/journey/offers/o#x", "offer_id"},
      {"/api/v1/hybrid/personal-loan/borrowers/%zz/journey/offers/o1", "borrower_provider_id"},
      {"/api/v1/hybrid/personal-loan/borrowers/\xc3\xa9/journey/offers/o1", "borrower_provider_id"},
      // Empty values, missing or extra segments, changed literals.
      {"/api/v1/hybrid/personal-loan/borrowers//journey/offers/o1", "borrower_provider_id"},
      {"/api/v1/hybrid/personal-loan/borrowers/B-1/journey/offers", "borrower_provider_id"},
      {"/api/v1/hybrid/personal-loan/journey/offers/o1", ""},
      {"/api/v1/hybrid/personal-loan/borrowers/B-1/journey/offerz/o1", "borrower_provider_id"},
      {"api/v1/hybrid/personal-loan/borrowers/B-1/journey/offers/o1", ""},
  };
  for (const Case& c : cases) {
    std::optional<PathMismatch> mismatch = shape.Check(c.path);
    ASSERT_TRUE(mismatch.has_value()) << c.path;
    EXPECT_EQ(mismatch->field, c.field) << c.path << ": " << mismatch->description;
    EXPECT_FALSE(mismatch->description.empty());
  }
}

TEST(PathShapeTest, VariableSharingItsSegmentWithLiterals) {
  PathShape shape = PathShape::FromTemplate("/files/v{version}.json/raw");
  EXPECT_FALSE(shape.Check("/files/v2.json/raw").has_value());
  EXPECT_FALSE(shape.Check("/files/v%2F.json/raw").has_value());
  EXPECT_EQ(shape.Check("/files/v.json/raw")->field, "version");  // empty value
  EXPECT_EQ(shape.Check("/files/x2.json/raw")->field, "version");
  EXPECT_EQ(shape.Check("/files/v2.json/cooked")->field, "version");
}

TEST(PathShapeTest, LongValuesAreQuotedShortInMessages) {
  PathShape shape = PathShape::FromTemplate("/a/{id}/b");
  std::optional<PathMismatch> mismatch = shape.Check("/a/x/" + std::string(500, 'y'));
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_LT(mismatch->description.size(), 200u);
}

}  // namespace
}  // namespace aarthik::transcode
