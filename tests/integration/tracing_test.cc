// W3C trace context through the real gateway process to a fake platform: the caller's trace
// continues upstream with a new parent ID for the gateway's hop, tracestate is forwarded, a trace
// is started when the caller sends none (or a malformed one), and the trace ID is on the call's log
// line, with a failed call's reason.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/gateway_env.h"
#include "tests/support/fake_upstream.h"

namespace aarthik::testing {
namespace {

namespace ho = aarthik::hosted::v1;

constexpr char kCallerTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kCallerParent[] = "00f067aa0ba902b7";

// version-traceid-parentid-flags, lowercase hex, neither ID all zeros.
bool IsTraceparent(const std::string& value) {
  if (value.size() != 55 || value.substr(0, 3) != "00-" || value[35] != '-' || value[52] != '-') {
    return false;
  }
  for (size_t i = 3; i < value.size(); ++i) {
    if (i == 35 || i == 52) continue;
    if (!absl::ascii_isxdigit(value[i]) || absl::ascii_isupper(value[i])) return false;
  }
  return value.substr(3, 32) != std::string(32, '0') &&
         value.substr(36, 16) != std::string(16, '0');
}

class TracingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream_.SetDefaultResponse(FakeResponse::Ok(R"({"features":[]})"));
    log_path_ = TestLogPath();
    env_ = GatewayEnv::Start({.gateway_args = {"--log-level", "debug"},
                              .upstream_override = upstream_.url(),
                              .gateway_log_path = log_path_});
    ASSERT_NE(env_, nullptr);
  }
  void TearDown() override { std::remove(log_path_.c_str()); }

  // Calls GetFeatures with the given trace metadata (none when empty); returns what reached the
  // platform.
  ReceivedRequest Call(const std::string& traceparent, const std::string& tracestate = "") {
    auto hosted = ho::HostedService::NewStub(env_->channel());
    grpc::ClientContext context;
    PrepareContext(&context);
    if (!traceparent.empty()) context.AddMetadata("traceparent", traceparent);
    if (!tracestate.empty()) context.AddMetadata("tracestate", tracestate);
    ho::GetFeaturesResponse response;
    const size_t before = upstream_.requests().size();
    grpc::Status status = hosted->GetFeatures(&context, ho::GetFeaturesRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<ReceivedRequest> requests = upstream_.requests();
    EXPECT_EQ(requests.size(), before + 1);
    return requests.empty() ? ReceivedRequest() : requests.back();
  }

  // Every "rpc finished" line, once the gateway has exited.
  std::vector<nlohmann::json> RpcLines() {
    EXPECT_EQ(env_->StopGateway(), 0);
    std::ifstream in(log_path_);
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) {
      nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (entry.is_object() && entry.value("message", "") == "rpc finished") {
        lines.push_back(std::move(entry));
      }
    }
    return lines;
  }

  std::vector<std::string> LoggedTraceIds() {
    std::vector<std::string> ids;
    for (const nlohmann::json& line : RpcLines()) ids.push_back(line.value("trace_id", ""));
    return ids;
  }

  FakeUpstream upstream_;
  std::string log_path_;
  std::unique_ptr<GatewayEnv> env_;
};

TEST_F(TracingTest, CallersTraceContinuesUpstreamWithANewParentAndItsState) {
  const std::string incoming = absl::StrCat("00-", kCallerTrace, "-", kCallerParent, "-01");
  ReceivedRequest sent = Call(incoming, "vendor=opaque,other=1");
  const std::string upstream(sent.Header("traceparent"));
  ASSERT_TRUE(IsTraceparent(upstream)) << upstream;
  EXPECT_EQ(upstream.substr(3, 32), kCallerTrace) << "the trace ID must be kept";
  EXPECT_NE(upstream.substr(36, 16), kCallerParent) << "the gateway's hop needs its own parent ID";
  EXPECT_EQ(upstream.substr(53, 2), "01") << "the caller's flags (sampled) are kept";
  EXPECT_EQ(sent.Header("tracestate"), "vendor=opaque,other=1");

  // Unsampled stays unsampled.
  ReceivedRequest unsampled = Call(absl::StrCat("00-", kCallerTrace, "-", kCallerParent, "-00"));
  EXPECT_EQ(std::string(unsampled.Header("traceparent")).substr(53, 2), "00");

  EXPECT_EQ(LoggedTraceIds(), std::vector<std::string>({kCallerTrace, kCallerTrace}));
}

TEST_F(TracingTest, ATraceIsStartedWhenTheCallerSendsNoneOrAMalformedOne) {
  const std::string started(Call("").Header("traceparent"));
  ASSERT_TRUE(IsTraceparent(started)) << started;
  EXPECT_NE(started.substr(3, 16), started.substr(36, 16)) << "parent ID cut from the trace ID";

  const std::string malformed =
      absl::StrCat("00-", std::string(32, '0'), "-", kCallerParent, "-01");
  const std::string replaced(Call(malformed).Header("traceparent"));
  ASSERT_TRUE(IsTraceparent(replaced)) << replaced;
  EXPECT_NE(replaced.substr(3, 32), started.substr(3, 32)) << "each call starts its own trace";

  EXPECT_EQ(LoggedTraceIds(),
            std::vector<std::string>({started.substr(3, 32), replaced.substr(3, 32)}));
}

TEST_F(TracingTest, AFailedCallsLineNamesItsReasonNeverItsMessage) {
  Call("");
  upstream_.SetDefaultResponse(FakeResponse::Ok("<html>a proxy's error page</html>"));
  {  // the stub goes before the gateway stops (StopGateway)
    auto hosted = ho::HostedService::NewStub(env_->channel());
    grpc::ClientContext context;
    PrepareContext(&context);
    ho::GetFeaturesResponse response;
    grpc::Status status = hosted->GetFeatures(&context, ho::GetFeaturesRequest(), &response);
    ASSERT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << status.error_message();
  }

  std::vector<nlohmann::json> lines = RpcLines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].value("reason", "?"), "") << lines[0].dump();
  EXPECT_EQ(lines[1].value("code", ""), "INTERNAL") << lines[1].dump();
  EXPECT_EQ(lines[1].value("reason", ""), "UPSTREAM_BAD_RESPONSE") << lines[1].dump();
  EXPECT_EQ(lines[1].dump().find("proxy's error page"), std::string::npos) << lines[1].dump();
}

}  // namespace
}  // namespace aarthik::testing
