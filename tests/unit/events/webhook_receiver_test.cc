#include "server/events/webhook_receiver.h"

#include <dirent.h>

#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/unit/events/snapshot_body.h"

namespace aarthik::events {
namespace {

constexpr char kTenant[] = "8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61";
constexpr char kApp[] = "fbb1fd74-c502-4419-83f3-82a2a019fc9a";
constexpr char kSecret[] = "whsec_test_sandbox";
constexpr int64_t kNow = 1741179022;

std::string VariantA(const std::string& event_id, int64_t sequence, const std::string& journey,
                     const std::string& status = "OFFERS_PENDING") {
  return HeadlessSnapshotBody(event_id, sequence, journey, status, kTenant, kApp);
}

WebhookHeaders Signed(const std::string& event_id, const std::string& body,
                      int64_t timestamp = kNow, const std::string& secret = kSecret) {
  const std::string ts = absl::StrCat(timestamp);
  return {event_id, kTenant, kApp, ts, HmacSha256Hex(secret, ts + "." + body)};
}

class ReceiverTest : public ::testing::Test {
 protected:
  ReceiverTest()
      : clock_(absl::FromUnixSeconds(kNow)),
        verifier_({{kSecret}, kTenant, kApp, absl::Minutes(5)}, clock_),
        log_({}, clock_),
        receiver_(&verifier_, &log_,
                  [this](const aarthik::events::v1::JourneyEvent&) { ++callbacks_; }) {}
  core::ManualClock clock_;
  WebhookVerifier verifier_;
  EventLog log_;
  WebhookReceiver receiver_;
  int callbacks_ = 0;
};

// With a relay (several replicas), the 2xx waits for it: a delivery the relay could not share is a
// 503, so that the platform retries, and the retry (a duplicate here) is shared then.
TEST_F(ReceiverTest, TheAnswerWaitsForTheRelayAndA503LetsThePlatformRetry) {
  std::vector<std::pair<std::string, std::string>> relayed;
  bool relay_up = false;
  receiver_.SetRelay([&](const std::string& event_id, absl::string_view body,
                         absl::AnyInvocable<void(absl::Status)> done) {
    relayed.emplace_back(event_id, std::string(body));
    done(relay_up ? absl::OkStatus() : absl::UnavailableError("redis unavailable"));
  });
  auto handle = [&](const WebhookHeaders& headers, const std::string& body) {
    std::optional<WebhookReceiver::Result> answer;
    receiver_.HandleAsync(headers, body,
                          [&](WebhookReceiver::Result result) { answer = std::move(result); });
    EXPECT_TRUE(answer.has_value());  // this relay answers inline
    return answer.value_or(WebhookReceiver::Result{});
  };
  const std::string body = VariantA("evt_1", 100, "j1");
  const std::string older = VariantA("evt_0", 99, "j1");

  EXPECT_EQ(handle(Signed("evt_1", body), body).http_status, 503);  // taken here, not shared
  relay_up = true;
  WebhookReceiver::Result retry = handle(Signed("evt_1", body), body);
  EXPECT_EQ(retry.http_status, 200);
  EXPECT_EQ(retry.outcome, AcceptOutcome::kDuplicate);
  EXPECT_EQ(handle(Signed("evt_0", older), older).http_status, 200);  // superseded: not relayed
  EXPECT_EQ(handle(Signed("evt_2", body, kNow, "whsec_forged"), body).http_status, 401);

  ASSERT_EQ(relayed.size(), 2u);
  EXPECT_EQ(relayed[0].first, "evt_1");
  EXPECT_EQ(relayed[1].first, "evt_1");
  EXPECT_EQ(relayed[0].second, body);  // the verified bytes, for the other replicas to parse
  EXPECT_EQ(callbacks_, 1);            // the local log took it once
}

TEST_F(ReceiverTest, WithoutARelayHandleAsyncAnswersLikeHandle) {
  const std::string body = VariantA("evt_1", 100, "j1");
  std::optional<WebhookReceiver::Result> answer;
  receiver_.HandleAsync(Signed("evt_1", body), body,
                        [&](WebhookReceiver::Result result) { answer = std::move(result); });
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->http_status, 200);
  EXPECT_EQ(answer->outcome, AcceptOutcome::kAccepted);
}

TEST_F(ReceiverTest, AcceptsOnceAndAnswers2xxForDuplicates) {
  auto sub = log_.Subscribe({}, "");
  const std::string body = VariantA("evt_1", 100, "j1");
  auto first = receiver_.Handle(Signed("evt_1", body), body);
  EXPECT_EQ(first.http_status, 200);
  EXPECT_EQ(first.outcome, AcceptOutcome::kAccepted);
  auto again =
      receiver_.Handle(Signed("evt_1", body, kNow + 60), body);  // a retry, re-signed later
  EXPECT_EQ(again.http_status, 200);
  EXPECT_EQ(again.outcome, AcceptOutcome::kDuplicate);
  EventPtr event = (*sub)->Next();
  ASSERT_NE(event, nullptr);
  EXPECT_EQ(event->event.event_id(), "evt_1");
  EXPECT_EQ(event->event.headless().sequence(), 100);
  EXPECT_EQ(event->event.journey_ids(0), "j1");
  EXPECT_EQ(event->event.borrower_external_id(), "CUST_j1");
  EXPECT_EQ((*sub)->Next(), nullptr);
  EXPECT_EQ(callbacks_, 1);
}

TEST_F(ReceiverTest, StatusCodes) {
  const std::string body = VariantA("evt_1", 100, "j1");
  WebhookHeaders forged = Signed("evt_1", body, kNow, "whsec_wrong");
  EXPECT_EQ(receiver_.Handle(forged, body).http_status, 401);
  EXPECT_EQ(receiver_.Handle(Signed("evt_1", body, kNow - 301), body).http_status, 401);
  WebhookHeaders tenant = Signed("evt_1", body);
  tenant.tenant_id = "00000000-0000-4000-8000-000000000000";
  EXPECT_EQ(receiver_.Handle(tenant, body).http_status, 403);
  EXPECT_EQ(receiver_.Handle(Signed("evt_1", "not json"), "not json").http_status, 400);
  EXPECT_EQ(receiver_.Handle(Signed("evt_1", "{}"), "{}").http_status, 400);
  const std::string other_id = VariantA("evt_2", 100, "j1");
  EXPECT_EQ(receiver_.Handle(Signed("evt_1", other_id), other_id).http_status,
            400);  // header/body disagree
  WebhookHeaders missing = Signed("evt_1", body);
  missing.signature.clear();
  EXPECT_EQ(receiver_.Handle(missing, body).http_status, 400);
  EXPECT_EQ(log_.stats().accepted, 0);
}

TEST_F(ReceiverTest, CheckHeadersCountsRefusalsAndPassesWellFormedHeaders) {
  const std::string body = VariantA("evt_1", 100, "j1");
  EXPECT_FALSE(receiver_.CheckHeaders(Signed("evt_1", body)).has_value());
  EXPECT_FALSE(receiver_.CheckHeaders(Signed("evt_1", body, kNow, "whsec_wrong")).has_value());
  std::optional<WebhookReceiver::Result> stale =
      receiver_.CheckHeaders(Signed("evt_1", body, kNow - 301));
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->http_status, 401);
  WebhookHeaders missing = Signed("evt_1", body);
  missing.signature.clear();
  std::optional<WebhookReceiver::Result> unsigned_delivery = receiver_.CheckHeaders(missing);
  ASSERT_TRUE(unsigned_delivery.has_value());
  EXPECT_EQ(unsigned_delivery->http_status, 400);
  EXPECT_EQ(receiver_.rejected(), 2);
}

TEST(JsonNestingWithin, CountsObjectsAndArraysOutsideStrings) {
  EXPECT_TRUE(JsonNestingWithin(R"({"a":[{"b":[]}]})", 4));
  EXPECT_FALSE(JsonNestingWithin(R"({"a":[{"b":[]}]})", 3));
  EXPECT_TRUE(JsonNestingWithin(R"({"a":"[[[[{{{{"})", 1));
  EXPECT_TRUE(JsonNestingWithin(R"({"a":"\"[[[[{{"})", 1));  // an escaped quote does not end it
  EXPECT_TRUE(JsonNestingWithin("[][][][]", 1));
  EXPECT_TRUE(JsonNestingWithin("", 0));
}

// A signed body nested 50,000 deep is refused by the scan, before a recursive parse could cost the
// HTTP thread milliseconds (or its stack).
TEST_F(ReceiverTest, ADeeplyNestedSignedBodyIsMalformed) {
  std::string deep = R"({"borrower":)";
  deep += std::string(50'000, '[') + std::string(50'000, ']') + "}";
  WebhookReceiver::Result result = receiver_.Handle(Signed("evt_deep", deep), deep);
  EXPECT_EQ(result.http_status, 400);
  EXPECT_NE(result.message.find("deeper"), std::string::npos) << result.message;
  // The platform's own snapshots are far from the limit.
  const std::string body = VariantA("evt_ok", 100, "j1");
  EXPECT_EQ(receiver_.Handle(Signed("evt_ok", body), body).http_status, 200);
}

// ≥ 10,000 forged, stale, replayed, duplicated and reordered deliveries interleaved with genuine
// ones: only the genuine events come out, once each, in order per journey.
TEST_F(ReceiverTest, TenThousandBadDeliveriesAcceptNothing) {
  auto sub = log_.Subscribe({}, "");
  std::mt19937 random(42);
  struct Sent {
    std::string id, body;
    int64_t ts;
  };
  std::vector<Sent> genuine;
  int64_t sequence = 1'741'179'000'000;
  int bad = 0, bad_2xx = 0;
  std::vector<std::string> out;
  absl::flat_hash_map<std::string, int64_t> last_sequence;
  auto drain = [&] {
    while (EventPtr event = (*sub)->Next()) {
      out.push_back(event->event.event_id());
      int64_t& last = last_sequence[event->event.journey_ids(0)];
      EXPECT_GT(event->event.headless().sequence(), last);
      last = event->event.headless().sequence();
    }
  };
  for (int round = 0; round < 2100; ++round) {
    clock_.Advance(absl::Seconds(1));
    const int64_t now = absl::ToUnixSeconds(clock_.Now());
    const std::string journey = absl::StrCat("j", round % 7);
    const std::string id = absl::StrCat("evt_", round);
    const std::string body =
        VariantA(id, ++sequence, journey, round % 2 ? "OFFERS_PENDING" : "OFFERS_AVAILABLE");
    ASSERT_EQ(receiver_.Handle(Signed(id, body, now), body).outcome, AcceptOutcome::kAccepted);
    genuine.push_back({id, body, now});
    // 1. forged: wrong secret, flipped body byte, made-up signature.
    std::string flipped = body;
    flipped[random() % flipped.size()] ^= 0x01;
    WebhookHeaders headers = Signed(id, body, now);
    EXPECT_NE(
        receiver_.Handle(Signed(absl::StrCat("evt_f", round), body, now, "whsec_forged"), body)
            .http_status,
        200);
    EXPECT_NE(receiver_.Handle(headers, flipped).http_status, 200);
    // 2. stale: correctly signed, timestamp out of the window.
    const std::string stale_id = absl::StrCat("evt_s", round);
    const std::string stale_body = VariantA(stale_id, sequence + 1000000, journey);
    EXPECT_EQ(receiver_.Handle(Signed(stale_id, stale_body, now - 301), stale_body).http_status,
              401);
    // 3. replayed: an earlier genuine delivery captured with its old signature.
    const Sent& old = genuine[random() % genuine.size()];
    auto replay = receiver_.Handle(Signed(old.id, old.body, old.ts), old.body);
    if (replay.http_status == 200) {
      EXPECT_EQ(replay.outcome, AcceptOutcome::kDuplicate);
      ++bad_2xx;
    }
    // 4. duplicated: the platform's retry of the same event, freshly signed.
    EXPECT_EQ(receiver_.Handle(Signed(id, body, now), body).outcome, AcceptOutcome::kDuplicate);
    // 5. reordered: an older snapshot of the journey with a new event ID arrives after a newer one.
    const std::string late_id = absl::StrCat("evt_r", round);
    const std::string late = VariantA(late_id, sequence - 1 - (round % 3) * 7, journey);
    EXPECT_EQ(receiver_.Handle(Signed(late_id, late, now), late).outcome, AcceptOutcome::kStale);
    bad += 6;
    if (round % 100 == 0) drain();  // a subscriber keeping up
  }
  drain();
  ASSERT_GE(bad, 10000);
  ASSERT_TRUE((*sub)->status().ok()) << (*sub)->status();
  ASSERT_EQ(out.size(), genuine.size());  // 0 bad ones accepted, 0 duplicated
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], genuine[i].id);
  EXPECT_EQ(log_.stats().accepted, static_cast<int64_t>(genuine.size()));
  EXPECT_EQ(callbacks_, static_cast<int>(genuine.size()));
  (void)bad_2xx;
}

// Every fixture of contract §4.3 parses into the event message.
TEST(ParseSnapshot, EveryFixtureParses) {
  const transcode::JsonCodec& codec = SnapshotCodec();
  const std::string dir = std::string(AARTHIK_FIXTURES_DIR) + "/platform/webhooks";
  DIR* listing = opendir(dir.c_str());
  ASSERT_NE(listing, nullptr);
  int parsed = 0;
  while (dirent* entry = readdir(listing)) {
    std::string name = entry->d_name;
    if (name.size() < 5 || name.substr(name.size() - 5) != ".json") continue;
    std::ifstream in(dir + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    const std::string event_id = name.rfind("variant-a", 0) == 0 ? "evt_01JB2X4CE6" : "evt_b";
    absl::StatusOr<IncomingEvent> event = ParseSnapshot(codec, event_id, text.str());
    ASSERT_TRUE(event.ok()) << name << ": " << event.status();
    EXPECT_FALSE(event->event.journey_ids().empty()) << name;
    if (name.rfind("variant-a", 0) == 0) {
      EXPECT_TRUE(event->event.has_headless());
      EXPECT_EQ(event->event.borrower_external_id(), "CUST_0012");
      EXPECT_EQ(event->order.sequence, 1741179022100);
    } else {
      EXPECT_TRUE(event->event.has_experience()) << name;
      EXPECT_FALSE(event->event.borrower_provider_id().empty()) << name;
      EXPECT_NE(event->event.experience().borrower().journey().status(), 0) << name;
    }
    ++parsed;
  }
  closedir(listing);
  EXPECT_GE(parsed, 19);
}

}  // namespace
}  // namespace aarthik::events
