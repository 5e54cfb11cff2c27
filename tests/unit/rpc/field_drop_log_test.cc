// FieldDropLog: each (rpc, reason, JSON path) is logged the first time only, and the set it
// remembers is bounded.
#include "server/rpc/field_drop_log.h"

#include "gtest/gtest.h"

namespace aarthik::rpc {
namespace {

using transcode::FieldDrop;

constexpr char kRpc[] = "aarthik.headless.v1.OffersService.GetOffer";

TEST(FieldDropLogTest, LogsEachPathOncePerRpcAndReason) {
  FieldDropLog log;
  EXPECT_TRUE(log.Record(kRpc, FieldDrop::kShapeMismatch, "quoteBreakup", "corr-1"));
  EXPECT_FALSE(log.Record(kRpc, FieldDrop::kShapeMismatch, "quoteBreakup", "corr-2"));
  // Another reason, path or RPC is another line.
  EXPECT_TRUE(log.Record(kRpc, FieldDrop::kUnknownField, "quoteBreakup", "corr-3"));
  EXPECT_TRUE(log.Record(kRpc, FieldDrop::kShapeMismatch, "installments[]", "corr-4"));
  EXPECT_TRUE(log.Record("aarthik.headless.v1.OffersService.UpdateLoanAmount",
                         FieldDrop::kShapeMismatch, "quoteBreakup", "corr-5"));
}

TEST(FieldDropLogTest, RemembersABoundedNumberOfPaths) {
  FieldDropLog log(/*max_paths=*/2);
  EXPECT_TRUE(log.Record(kRpc, FieldDrop::kUnknownField, "a", ""));
  EXPECT_TRUE(log.Record(kRpc, FieldDrop::kUnknownField, "b", ""));
  EXPECT_FALSE(log.Record(kRpc, FieldDrop::kUnknownField, "c", "")) << "full: counted, not logged";
  EXPECT_FALSE(log.Record(kRpc, FieldDrop::kUnknownField, "a", ""));
}

TEST(FieldDropLogTest, AVeryLongPathIsCutSoThatItsPrefixIsOnePath) {
  FieldDropLog log;
  const std::string long_key(1000, 'k');
  EXPECT_TRUE(log.Record(kRpc, FieldDrop::kUnknownField, long_key, ""));
  EXPECT_FALSE(log.Record(kRpc, FieldDrop::kUnknownField, long_key + "x", ""));
}

}  // namespace
}  // namespace aarthik::rpc
