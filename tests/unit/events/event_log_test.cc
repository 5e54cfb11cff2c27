#include "server/events/event_log.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aarthik::events {
namespace {

IncomingEvent Make(const std::string& id, const std::string& journey, int64_t sequence,
                   const std::string& borrower = "CUST_1") {
  IncomingEvent in;
  in.event_id = id;
  in.ordering_key = "jr:" + journey;
  in.order.sequence = sequence;
  in.event.add_journey_ids(journey);
  in.event.set_borrower_external_id(borrower);
  return in;
}

std::vector<std::string> Drain(Subscriber& subscriber) {
  std::vector<std::string> ids;
  while (EventPtr event = subscriber.Next()) ids.push_back(event->event.event_id());
  return ids;
}

class EventLogTest : public ::testing::Test {
 protected:
  core::ManualClock clock_{absl::FromUnixSeconds(1'700'000'000)};
};

TEST_F(EventLogTest, DedupesAndDropsStale) {
  EventLog log({}, clock_);
  auto sub = log.Subscribe({}, "");
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(log.Accept(Make("e1", "j1", 10)), AcceptOutcome::kAccepted);
  EXPECT_EQ(log.Accept(Make("e1", "j1", 10)), AcceptOutcome::kDuplicate);
  EXPECT_EQ(log.Accept(Make("e0", "j1", 9)), AcceptOutcome::kStale);  // older snapshot arrives late
  EXPECT_EQ(log.Accept(Make("e0", "j1", 9)), AcceptOutcome::kDuplicate);
  EXPECT_EQ(log.Accept(Make("e2", "j2", 5)),
            AcceptOutcome::kAccepted);  // another journey has its own order
  EXPECT_EQ(log.Accept(Make("e3", "j1", 11)), AcceptOutcome::kAccepted);
  EXPECT_EQ(Drain(**sub), (std::vector<std::string>{"e1", "e2", "e3"}));
  EventLog::Stats stats = log.stats();
  EXPECT_EQ(stats.accepted, 3);
  EXPECT_EQ(stats.duplicates, 2);
  EXPECT_EQ(stats.stale, 1);
}

TEST_F(EventLogTest, FiltersByJourneyAndBorrower) {
  EventLog log({}, clock_);
  auto by_journey = log.Subscribe({.journey_id = "j2"}, "");
  auto by_borrower = log.Subscribe({.borrower_external_id = "CUST_9"}, "");
  log.Accept(Make("e1", "j1", 1));
  log.Accept(Make("e2", "j2", 1));
  log.Accept(Make("e3", "j3", 1, "CUST_9"));
  EXPECT_EQ(Drain(**by_journey), std::vector<std::string>{"e2"});
  EXPECT_EQ(Drain(**by_borrower), std::vector<std::string>{"e3"});
}

TEST_F(EventLogTest, ReconnectWithCursorLosesNothing) {
  EventLog log({}, clock_);
  auto first = log.Subscribe({.journey_id = "j1"}, "");
  std::vector<std::string> seen;
  std::string cursor;
  for (int i = 1; i <= 50; ++i) {
    log.Accept(Make(absl::StrCat("e", i), i % 2 ? "j1" : "j2", i));
    if (i == 20) {  // the subscriber reads up to here, then disconnects
      while (EventPtr event = (*first)->Next()) {
        seen.push_back(event->event.event_id());
        cursor = event->event.cursor();
      }
      log.Unsubscribe(*first);
    }
  }
  // Reconnect with the cursor: everything of j1 after it, in order, nothing twice.
  auto second = log.Subscribe({.journey_id = "j1"}, cursor);
  ASSERT_TRUE(second.ok()) << second.status();
  for (const std::string& id : Drain(**second)) seen.push_back(id);
  std::vector<std::string> expected;
  for (int i = 1; i <= 50; i += 2) expected.push_back(absl::StrCat("e", i));
  EXPECT_EQ(seen, expected);
  // The event ID works as a cursor too.
  auto by_id = log.Subscribe({.journey_id = "j1"}, "e45");
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(Drain(**by_id), (std::vector<std::string>{"e47", "e49"}));
}

TEST_F(EventLogTest, CursorOutsideRetentionIsOutOfRange) {
  EventLog log({.retention = absl::Minutes(10)}, clock_);
  auto sub = log.Subscribe({}, "");
  log.Accept(Make("e1", "j1", 1));
  std::string cursor = (*sub)->Next()->event.cursor();
  log.Accept(Make("e2", "j1", 2));
  clock_.Advance(absl::Minutes(11));
  log.Accept(Make("e3", "j1", 3));  // prunes e1 and e2
  EXPECT_EQ(log.Subscribe({}, cursor).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log.Subscribe({}, "deadbeef-1").status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log.Subscribe({}, "e2").status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log.stats().retained_events, 1u);
  // After retention a delivery with an old ID is new again (the platform stops retrying well
  // before).
  EXPECT_EQ(log.Accept(Make("e1", "j9", 1)), AcceptOutcome::kAccepted);
}

TEST_F(EventLogTest, SlowSubscriberIsEndedNotGrown) {
  EventLog log({.max_events = 1000, .max_tracked_ids = 2000, .subscriber_buffer = 64}, clock_);
  auto slow = log.Subscribe({}, "");
  auto fast = log.Subscribe({}, "");
  int notified = 0;
  (*slow)->SetListener([&] { ++notified; });
  size_t max_queued = 0;
  for (int i = 1; i <= 100000; ++i) {
    log.Accept(Make(absl::StrCat("e", i), absl::StrCat("j", i % 100), i));
    max_queued = std::max(max_queued, (*slow)->queued());
    Drain(**fast);
  }
  EXPECT_LE(max_queued, 64u);
  EXPECT_EQ((*slow)->queued(), 0u);  // freed when closed
  EXPECT_EQ((*slow)->status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE((*fast)->status().ok());
  EventLog::Stats stats = log.stats();
  EXPECT_EQ(stats.overflowed_subscribers, 1);
  EXPECT_EQ(stats.subscribers, 1u);
  EXPECT_LE(stats.retained_events, 1000u);  // the log itself is bounded too
  EXPECT_LE(stats.tracked_ids, 2000u);
  EXPECT_EQ(notified, 65);
}

TEST_F(EventLogTest, CloseAllEndsSubscribersAndRefusesNewOnes) {
  EventLog log({}, clock_);
  auto sub = log.Subscribe({}, "");
  ASSERT_TRUE(sub.ok());
  int notified = 0;
  (*sub)->SetListener([&notified] { ++notified; });
  log.Accept(Make("e1", "j1", 1));
  const int before = notified;
  log.CloseAll(absl::UnavailableError("draining"));
  EXPECT_GT(notified, before);  // the stream wakes up to finish
  EXPECT_EQ((*sub)->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*sub)->Next(),
            nullptr);  // queued events are dropped: the cursor resumes them elsewhere
  EXPECT_EQ(log.Subscribe({}, "").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(log.stats().subscribers, 0u);
  (*sub)->ClearListener();
}

}  // namespace
}  // namespace aarthik::events
