#include "sandbox/validation.h"

#include "gtest/gtest.h"

namespace aarthik::sandbox {
namespace {

TEST(ValidationTest, Uuid) {
  EXPECT_TRUE(IsUuid("b7bb465b-135e-4ffd-9c7f-0d43f7ee43d9"));
  EXPECT_TRUE(IsUuid("B7BB465B-135E-4FFD-9C7F-0D43F7EE43D9"));
  EXPECT_FALSE(IsUuid("b7bb465b135e4ffd9c7f0d43f7ee43d9"));
  EXPECT_FALSE(IsUuid("jrn_b7bb465b-135e-4ffd-9c7f-0d43f7ee43d9"));
  EXPECT_FALSE(IsUuid("g7bb465b-135e-4ffd-9c7f-0d43f7ee43d9"));
}

TEST(ValidationTest, Amounts) {
  EXPECT_TRUE(IsPositiveDigitString("250000"));
  EXPECT_FALSE(IsPositiveDigitString("0"));
  EXPECT_FALSE(IsPositiveDigitString("-5"));
  EXPECT_FALSE(IsPositiveDigitString("25.5"));
  EXPECT_FALSE(IsPositiveDigitString(""));
}

TEST(ValidationTest, IndianMobile) {
  EXPECT_EQ(NormalizeIndianMobile("9876543210"), "9876543210");
  EXPECT_EQ(NormalizeIndianMobile("+919876543210"), "9876543210");
  EXPECT_EQ(NormalizeIndianMobile("919876543210"), "9876543210");
  EXPECT_FALSE(NormalizeIndianMobile("5876543210"));
  EXPECT_FALSE(NormalizeIndianMobile("98765"));
  EXPECT_FALSE(NormalizeIndianMobile("98765432ab"));
}

TEST(ValidationTest, PanDateEmailPincodeIfsc) {
  EXPECT_TRUE(IsPan("ABCDE1234F"));
  EXPECT_FALSE(IsPan("ABCD12345F"));
  EXPECT_TRUE(IsIsoDate("1995-06-20"));
  EXPECT_TRUE(IsIsoDate("2024-02-29"));
  EXPECT_FALSE(IsIsoDate("2023-02-29"));
  EXPECT_FALSE(IsIsoDate("20-06-1995"));
  EXPECT_TRUE(IsEmail("rahul@example.com"));
  EXPECT_FALSE(IsEmail("rahul@example"));
  EXPECT_FALSE(IsEmail("ra hul@example.com"));
  EXPECT_TRUE(IsPincode("560001"));
  EXPECT_FALSE(IsPincode("060001"));
  EXPECT_TRUE(IsIfsc("HDFC0000123"));
  EXPECT_FALSE(IsIfsc("HDFC1000123"));
}

TEST(ValidationTest, EnumsNormalise) {
  EXPECT_EQ(NormalizeGender("Male"), "male");
  EXPECT_FALSE(NormalizeGender("m"));
  EXPECT_EQ(NormalizeEmploymentType("SELFEMPLOYED"), "selfEmployed");
  EXPECT_EQ(NormalizeEmploymentType("self-employed"), "selfEmployed");
  EXPECT_EQ(NormalizeEmploymentType("self employed"), "selfEmployed");
  EXPECT_EQ(NormalizeEmploymentType("Salaried"), "salaried");
  EXPECT_FALSE(NormalizeEmploymentType("student"));
  EXPECT_TRUE(IsJourneyType("GOLD_LOAN"));
  EXPECT_FALSE(IsJourneyType("personal_loan"));
}

TEST(ValidationTest, ProfileUpsertNormalisesAndNamesTheField) {
  nlohmann::json body = {{"profile",
                          {{"contactNumber", "+919876543210"},
                           {"pan", "abcde1234f"},
                           {"personalemail", "Rahul@Example.com"},
                           {"gender", "FEMALE"}}},
                         {"workProfile", {{"employmentType", "Salaried"}, {"income", "75000"}}},
                         {"unknownField", 1}};
  EXPECT_FALSE(ValidateProfileUpsert(body));
  EXPECT_EQ(body["profile"]["contactNumber"], "9876543210");
  EXPECT_EQ(body["profile"]["pan"], "ABCDE1234F");
  EXPECT_EQ(body["profile"]["personalemail"], "rahul@example.com");
  EXPECT_EQ(body["profile"]["gender"], "female");
  EXPECT_EQ(body["workProfile"]["employmentType"], "salaried");

  nlohmann::json bad_mobile = {{"profile", {{"contactNumber", "12345"}}}};
  std::optional<ApiError> error = ValidateProfileUpsert(bad_mobile);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->http_status, 400);
  EXPECT_EQ(error->code, "VALIDATION_FAILED");
  EXPECT_FALSE(error->retryable);
  EXPECT_EQ(error->details["field"], "profile.contactNumber");

  nlohmann::json udyam = {
      {"workProfile", {{"employmentType", "salaried"}, {"udyamNumber", "UDYAM-1"}}}};
  EXPECT_EQ(ValidateProfileUpsert(udyam)->details["field"], "workProfile.udyamNumber");
  nlohmann::json income = {{"workProfile", {{"income", "900"}}}};
  EXPECT_EQ(ValidateProfileUpsert(income)->details["field"], "workProfile.income");
  nlohmann::json wrong_type = {{"profile", {{"pan", 42}}}};
  EXPECT_EQ(ValidateProfileUpsert(wrong_type)->details["field"], "profile.pan");
  nlohmann::json gender = {{"profile", {{"gender", "x"}}}};
  EXPECT_EQ(ValidateProfileUpsert(gender)->details["field"], "profile.gender");
}

}  // namespace
}  // namespace aarthik::sandbox
