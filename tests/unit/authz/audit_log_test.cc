#include "server/authz/audit_log.h"

#include <unistd.h>

#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace aarthik::authz {
namespace {

std::vector<nlohmann::json> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/aarthik-audit-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = path;
  }
  void TearDown() override { std::remove(path_.c_str()); }

  AuditRecord Record(int i) {
    AuditRecord record;
    record.time = absl::FromUnixMillis(1'800'000'000'123);
    record.principal = "spiffe://cluster.local/ns/loans/sa/loans-api";
    record.source = "mtls";
    record.method = "aarthik.headless.v1.OffersService/ProceedOffer";
    record.decision = "allow";
    record.borrower_key = "CUST_SECRET_0012";
    record.idempotency_key = absl::StrCat("idem-", i);
    record.correlation_id = absl::StrCat("corr-", i);
    record.platform_request_id = "req_1";
    record.latency = absl::Microseconds(1500);
    return record;
  }

  std::string path_;
  metrics::GatewayMetrics metrics_;
};

TEST_F(AuditLogTest, WritesOneJsonLinePerRecordWithTheBorrowerHashedNeverRaw) {
  {
    auto audit = AuditLog::Open({path_, "key-1", 100}, &metrics_);
    ASSERT_TRUE(audit.ok()) << audit.status();
    // Writers on several threads, as gRPC and loop threads would.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 10; ++i) {
          ASSERT_TRUE((*audit)->Reserve());
          (*audit)->Write(Record(t * 10 + i), /*reserved=*/true);
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    (*audit)->Flush();
    EXPECT_EQ(ReadLines(path_).size(), 40u);
  }
  std::vector<nlohmann::json> lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), 40u);
  const nlohmann::json& line = lines[0];
  EXPECT_EQ(line["log"], "audit");
  EXPECT_EQ(line["ts"], "2027-01-15T08:00:00.123Z");
  EXPECT_EQ(line["principal"], "spiffe://cluster.local/ns/loans/sa/loans-api");
  EXPECT_EQ(line["method"], "aarthik.headless.v1.OffersService/ProceedOffer");
  EXPECT_EQ(line["code"], "OK");
  EXPECT_DOUBLE_EQ(line["latency_ms"].get<double>(), 1.5);
  EXPECT_EQ(line["platform_request_id"], "req_1");
  const std::string hash = line["borrower_key_hash"];
  EXPECT_TRUE(absl::StartsWith(hash, "hmac-sha256:")) << hash;
  EXPECT_EQ(hash.size(), std::string("hmac-sha256:").size() + 32);
  std::ifstream raw(path_);
  std::string text((std::istreambuf_iterator<char>(raw)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("CUST_SECRET_0012"), std::string::npos);
  EXPECT_NE(metrics_.Serialize().find("aarthik_audit_records_total 40"), std::string::npos);
}

TEST_F(AuditLogTest, TheHashIsKeyed) {
  auto a = AuditLog::Open({path_, "key-a", 10}, nullptr);
  auto b = AuditLog::Open({path_, "key-b", 10}, nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  auto hash = [](const AuditLog& log, const AuditRecord& r) {
    return nlohmann::json::parse(log.Format(r))["borrower_key_hash"].get<std::string>();
  };
  EXPECT_EQ(hash(**a, Record(1)), hash(**a, Record(2)));  // same borrower, same hash
  EXPECT_NE(hash(**a, Record(1)), hash(**b, Record(1)));
}

TEST_F(AuditLogTest, AFullQueueRefusesWritesAndDropsRefusalsCountingBoth) {
  auto audit = AuditLog::Open({path_, "k", 2}, &metrics_);
  ASSERT_TRUE(audit.ok());
  // Two writes in flight hold both places.
  ASSERT_TRUE((*audit)->Reserve());
  ASSERT_TRUE((*audit)->Reserve());
  EXPECT_FALSE((*audit)->Reserve());               // a third write is refused before it is sent
  (*audit)->Write(Record(9), /*reserved=*/false);  // a refusal's record is dropped
  (*audit)->Unreserve();
  EXPECT_TRUE((*audit)->Reserve());
  (*audit)->Write(Record(1), true);
  (*audit)->Write(Record(2), true);
  (*audit)->Flush();
  EXPECT_EQ(ReadLines(path_).size(), 2u);
  const std::string page = metrics_.Serialize();
  EXPECT_NE(page.find("aarthik_audit_records_dropped_total{reason=\"write_refused\"} 1"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("aarthik_audit_records_dropped_total{reason=\"queue_full\"} 1"),
            std::string::npos);
}

TEST_F(AuditLogTest, RefusesAnUnwritablePath) {
  EXPECT_FALSE(AuditLog::Open({"/nonexistent-dir/audit.log", "k", 10}, nullptr).ok());
}

}  // namespace
}  // namespace aarthik::authz
