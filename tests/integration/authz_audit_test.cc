// The audit log with real processes (issue 16): a borrower journey through the gateway leaves
// exactly one audit record per write RPC (whatever its outcome; reads leave none), with the
// caller, method, keyed borrower hash, idempotency key, correlation ID, platform request ID,
// outcome and latency; and no log (the gateway's or the audit log) holds a token, a key or a raw
// borrower ID.
#include <fstream>
#include <functional>
#include <sstream>

#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "aarthik/headless/v1/offers.grpc.pb.h"
#include "aarthik/headless/v1/profile.grpc.pb.h"
#include "aarthik/headless/v1/steps.grpc.pb.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/transcode/route_table.h"
#include "tests/integration/authz_env.h"
#include "tests/integration/log_scan.h"

namespace aarthik::testing {
namespace {

namespace hl = aarthik::headless::v1;
namespace cm = aarthik::common::v1;

constexpr char kBorrower[] = "CUST_AUDIT_7781";
constexpr char kHashKey[] = "audit-hash-key-for-tests-0123456789";

// One call the test made.
struct Made {
  std::string method;  // <package>.<Service>/<Method>
  std::string correlation_id;
  std::string idempotency_key;
  grpc::StatusCode code;
};

class AuthzAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_ = AuthzMaterial::Create();
    ASSERT_NE(m_, nullptr);
    auto routes = transcode::RouteTable::Build(transcode::PlatformServices());
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = std::make_unique<transcode::RouteTable>(*std::move(routes));
    key_path_ = m_->certs->dir + "/audit-hash.key";
    ASSERT_TRUE(ReplaceFileAtomically(key_path_, kHashKey).ok());
    GatewayEnvOptions options;
    options.gateway_args = m_->JwtGatewayArgs();
    options.gateway_args.insert(options.gateway_args.end(), {"--audit-hash-key-file", key_path_});
    options.gateway_log_path = log_path_ = TestLogPath();
    env_ = GatewayEnv::Start(options);
    ASSERT_NE(env_, nullptr);
    token_ = m_->Token(*m_->ec, kWriterSub);
  }

  // Makes one call with a bearer token, a correlation ID and an idempotency key of its own.
  grpc::Status Call(const std::string& method,
                    const std::function<grpc::Status(grpc::ClientContext*)>& call) {
    grpc::ClientContext context;
    const int n = static_cast<int>(made_.size()) + 1;
    const std::string correlation = absl::StrCat("audit-corr-", n);
    const std::string idempotency = absl::StrCat("audit-idem-", n);
    PrepareContext(&context, correlation, absl::Seconds(10), idempotency);
    AddBearer(&context, token_);
    grpc::Status status = call(&context);
    made_.push_back({method, correlation, idempotency, status.error_code()});
    return status;
  }

  bool IsWrite(const std::string& method) {
    const transcode::Route* route = routes_->Find("/" + method);
    EXPECT_NE(route, nullptr) << method;
    return route != nullptr && route->is_write();
  }

  std::unique_ptr<AuthzMaterial> m_;
  std::unique_ptr<transcode::RouteTable> routes_;
  std::unique_ptr<GatewayEnv> env_;
  std::string key_path_, log_path_, token_;
  std::vector<Made> made_;
};

TEST_F(AuthzAuditTest, EveryWriteOfAJourneyLeavesExactlyOneRecordAndNoLogHoldsSecrets) {
  auto sessions = hl::SessionsService::NewStub(env_->channel());
  auto journeys = hl::JourneysService::NewStub(env_->channel());
  auto profile = hl::ProfileService::NewStub(env_->channel());
  auto offers = hl::OffersService::NewStub(env_->channel());
  auto steps = hl::StepsService::NewStub(env_->channel());
  const std::string svc = "aarthik.headless.v1.";

  hl::CreateSessionRequest session;
  session.mutable_session()->set_borrower_external_id(kBorrower);
  session.mutable_session()->set_journey_type(cm::JOURNEY_TYPE_PERSONAL_LOAN);
  hl::CreateSessionResponse session_response;
  ASSERT_TRUE(Call(svc + "SessionsService/CreateSession", [&](grpc::ClientContext* c) {
                return sessions->CreateSession(c, session, &session_response);
              }).ok());
  const std::string session_token = session_response.session_token();

  hl::CreateJourneyRequest create;
  create.set_borrower_external_id(kBorrower);
  create.mutable_journey()->set_type(cm::JOURNEY_TYPE_PERSONAL_LOAN);
  hl::CreateJourneyResponse created;
  ASSERT_TRUE(Call(svc + "JourneysService/CreateJourney", [&](grpc::ClientContext* c) {
                return journeys->CreateJourney(c, create, &created);
              }).ok());
  const std::string id = created.journey().journey_id();

  const hl::UpdateProfileRequest update = SampleProfileUpdate(kBorrower, id);
  hl::UpdateProfileResponse updated;
  ASSERT_TRUE(Call(svc + "ProfileService/UpdateProfile", [&](grpc::ClientContext* c) {
                return profile->UpdateProfile(c, update, &updated);
              }).ok());
  hl::SubmitProfileRequest submit;
  submit.set_borrower_external_id(kBorrower);
  submit.set_journey_id(id);
  submit.mutable_submission()->set_bureau_consent(true);
  hl::SubmitProfileResponse submitted;
  ASSERT_TRUE(Call(svc + "ProfileService/SubmitProfile", [&](grpc::ClientContext* c) {
                return profile->SubmitProfile(c, submit, &submitted);
              }).ok());
  env_->AdvanceSandboxTime(60);

  // Reads: no records.
  hl::GetJourneyStateRequest state_request;
  state_request.set_borrower_external_id(kBorrower);
  state_request.set_journey_id(id);
  hl::GetJourneyStateResponse state;
  ASSERT_TRUE(Call(svc + "JourneysService/GetJourneyState", [&](grpc::ClientContext* c) {
                return journeys->GetJourneyState(c, state_request, &state);
              }).ok());
  hl::ListOffersRequest list;
  list.set_borrower_external_id(kBorrower);
  list.set_journey_id(id);
  hl::ListOffersResponse offer_list;
  ASSERT_TRUE(Call(svc + "OffersService/ListOffers", [&](grpc::ClientContext* c) {
                return offers->ListOffers(c, list, &offer_list);
              }).ok());
  std::vector<std::string> offer_ids;
  for (const auto& card : offer_list.items()) {
    if (card.status() == hl::OFFER_CARD_STATUS_OFFER_RECEIVED) offer_ids.push_back(card.offer_id());
  }
  ASSERT_GE(offer_ids.size(), 2u);

  hl::ProceedOfferRequest proceed;
  proceed.set_borrower_external_id(kBorrower);
  proceed.set_journey_id(id);
  proceed.set_offer_id(offer_ids[0]);
  hl::ProceedOfferResponse proceeded;
  ASSERT_TRUE(Call(svc + "OffersService/ProceedOffer", [&](grpc::ClientContext* c) {
                return offers->ProceedOffer(c, proceed, &proceeded);
              }).ok());
  // Failed writes are audited too: the platform's refusal and the gateway's own edge validation.
  proceed.set_offer_id(offer_ids[1]);
  EXPECT_EQ(
      Call(svc + "OffersService/ProceedOffer",
           [&](grpc::ClientContext* c) { return offers->ProceedOffer(c, proceed, &proceeded); })
          .error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
  hl::SubmitBankMandateRequest mandate;
  mandate.set_borrower_external_id(kBorrower);
  mandate.set_journey_id(id);
  mandate.set_offer_id(offer_ids[0]);
  mandate.mutable_bank_account()->set_account_holder_name("Rahul Sharma");
  mandate.mutable_bank_account()->set_account_number("123456789012");
  mandate.mutable_bank_account()->set_ifsc("NOTANIFSC");
  mandate.mutable_bank_account()->set_account_type("saving");
  hl::SubmitBankMandateResponse mandate_response;
  EXPECT_EQ(Call(svc + "StepsService/SubmitBankMandate",
                 [&](grpc::ClientContext* c) {
                   return steps->SubmitBankMandate(c, mandate, &mandate_response);
                 })
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  sessions.reset();
  journeys.reset();
  profile.reset();
  offers.reset();
  steps.reset();
  ASSERT_EQ(env_->StopGateway(), 0);  // the audit log is complete once the gateway has exited

  std::vector<Made> writes;
  for (const Made& made : made_) {
    if (IsWrite(made.method)) writes.push_back(made);
  }
  ASSERT_EQ(writes.size(), 7u);
  std::ifstream in(m_->audit_path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string audit = text.str();
  std::vector<nlohmann::json> records;
  std::istringstream lines(audit);
  for (std::string line; std::getline(lines, line);) records.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(records.size(), writes.size()) << audit;
  const std::string borrower_hash =
      "hmac-sha256:" + HmacSha256Hex(kHashKey, kBorrower).substr(0, 32);
  const char* kCodes[] = {
      "OK",       "Canceled",      "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition"};
  for (size_t i = 0; i < writes.size(); ++i) {
    const nlohmann::json& r = records[i];
    SCOPED_TRACE(r.dump());
    EXPECT_EQ(r["log"], "audit");
    EXPECT_TRUE(r.contains("ts"));
    EXPECT_EQ(r["principal"], kWriterSub);
    EXPECT_EQ(r["source"], "jwt");
    EXPECT_EQ(r["decision"], "allow");
    EXPECT_EQ(r["method"], writes[i].method);
    EXPECT_EQ(r["correlation_id"], writes[i].correlation_id);
    EXPECT_EQ(r["idempotency_key"], writes[i].idempotency_key);
    EXPECT_EQ(r["code"], kCodes[writes[i].code]);
    EXPECT_TRUE(r["latency_ms"].is_number());
    // The keyed hash an auditor holding the key can recompute, never the raw ID.
    EXPECT_EQ(r["borrower_key_hash"], borrower_hash);
    if (writes[i].code == grpc::StatusCode::OK) {
      EXPECT_EQ(r["platform_request_id"].get<std::string>().rfind("req_", 0), 0u);
    }
  }

  // No token, key or raw borrower ID (nor the borrower's data) in either log.
  std::vector<std::string> forbidden = {kBorrower,    token_,         session_token,
                                        kHashKey,     kGatewayApiKey, "9876543210",
                                        "ABCDE1234F", "Rahul Sharma", "123456789012"};
  LogScan scan = ScanGatewayLog(log_path_, forbidden);
  EXPECT_TRUE(scan.problems.empty()) << absl::StrJoin(scan.problems, "\n");
  for (size_t i = 0; i < forbidden.size(); ++i) {
    EXPECT_EQ(audit.find(forbidden[i]), std::string::npos)
        << "audit log holds forbidden value #" << i;
  }
  // The principal is on every RPC's log line.
  std::ifstream gateway_log(log_path_);
  int rpc_lines = 0;
  for (std::string line; std::getline(gateway_log, line);) {
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    if (!entry.is_object() || entry.value("message", "") != "rpc finished") continue;
    ++rpc_lines;
    EXPECT_EQ(entry.value("principal", ""), kWriterSub) << line;
  }
  EXPECT_EQ(rpc_lines, static_cast<int>(made_.size()));
}

}  // namespace
}  // namespace aarthik::testing
