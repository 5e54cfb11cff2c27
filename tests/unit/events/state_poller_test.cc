#include "server/events/state_poller.h"

#include <map>

#include "gtest/gtest.h"

namespace aarthik::events {
namespace {

using aarthik::events::v1::WatchJourneyStateResponse;

// Runs tasks and timers on the test thread, in fake time.
class ManualScheduler : public Scheduler {
 public:
  void Post(absl::AnyInvocable<void()> task) override { posted_.push_back(std::move(task)); }
  TimerId RunAfter(absl::Duration delay, absl::AnyInvocable<void()> task) override {
    timers_.emplace(std::make_pair(now_ + delay, ++next_), std::move(task));
    return next_;
  }
  void Cancel(TimerId id) override {
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->first.second == id) {
        timers_.erase(it);
        return;
      }
    }
  }
  absl::Time Now() const override { return now_; }
  void RunPosted() {
    while (!posted_.empty()) {
      auto task = std::move(posted_.front());
      posted_.erase(posted_.begin());
      task();
    }
  }
  void Advance(absl::Duration by) {
    const absl::Time until = now_ + by;
    RunPosted();
    while (!timers_.empty() && timers_.begin()->first.first <= until) {
      now_ = timers_.begin()->first.first;
      auto task = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      task();
      RunPosted();
    }
    now_ = until;
  }
  size_t pending_timers() const { return timers_.size(); }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  std::map<std::pair<absl::Time, TimerId>, absl::AnyInvocable<void()>> timers_;
  std::vector<absl::AnyInvocable<void()>> posted_;
  TimerId next_ = 0;
};

// Answers every fetch at once with the scripted state.
class FakeFetcher : public StateFetcher {
 public:
  void Fetch(const JourneyKey& key,
             absl::AnyInvocable<void(absl::StatusOr<FetchedState>)> done) override {
    ++fetches;
    if (!next_error.ok()) return done(next_error);
    FetchedState state;
    state.response.mutable_headless()->set_journey_id(key.journey_id);
    state.response.mutable_headless()->set_status(status);
    state.response.mutable_headless()->set_poll_after_seconds(poll_after_seconds);
    state.poll_after = absl::Seconds(poll_after_seconds);
    done(std::move(state));
  }
  int fetches = 0;
  int poll_after_seconds = 0;
  aarthik::headless::v1::JourneyLifecycleStatus status =
      aarthik::headless::v1::JOURNEY_LIFECYCLE_STATUS_OFFERS_PENDING;
  absl::Status next_error;
};

class StatePollerTest : public ::testing::Test {
 protected:
  StatePollerTest() : poller_(&scheduler_, &fetcher_, {}) {}
  StatePoller::WatchId Watch(std::vector<StatePoller::StatePtr>* states,
                             std::optional<absl::Status>* end, const std::string& journey = "j1") {
    return poller_.Watch(
        {"CUST_1", journey, ""}, [states](StatePoller::StatePtr s) { states->push_back(s); },
        [end](absl::Status s) { *end = s; });
  }
  ManualScheduler scheduler_;
  FakeFetcher fetcher_;
  StatePoller poller_;
};

TEST_F(StatePollerTest, ThousandWatchersOnePollPerInterval) {
  std::vector<std::vector<StatePoller::StatePtr>> states(1000);
  std::vector<std::optional<absl::Status>> ends(1000);
  for (int i = 0; i < 1000; ++i) Watch(&states[i], &ends[i]);
  scheduler_.RunPosted();
  EXPECT_EQ(fetcher_.fetches, 1);
  for (const auto& s : states) ASSERT_EQ(s.size(), 1u);
  for (int interval = 1; interval <= 10; ++interval) {
    scheduler_.Advance(absl::Seconds(5));  // default interval
    EXPECT_EQ(fetcher_.fetches, 1 + interval);
  }
  // Unchanged state: no further updates.
  for (const auto& s : states) EXPECT_EQ(s.size(), 1u);
  fetcher_.status = aarthik::headless::v1::JOURNEY_LIFECYCLE_STATUS_OFFERS_AVAILABLE;
  scheduler_.Advance(absl::Seconds(5));
  for (const auto& s : states) {
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[1]->headless().status(),
              aarthik::headless::v1::JOURNEY_LIFECYCLE_STATUS_OFFERS_AVAILABLE);
  }
  EXPECT_EQ(poller_.polls(), fetcher_.fetches);
}

TEST_F(StatePollerTest, HonoursPollAfterAndBacksOffOnErrors) {
  std::vector<StatePoller::StatePtr> states;
  std::optional<absl::Status> end;
  fetcher_.poll_after_seconds = 3;
  Watch(&states, &end);
  scheduler_.RunPosted();
  scheduler_.Advance(absl::Seconds(2));
  EXPECT_EQ(fetcher_.fetches, 1);
  scheduler_.Advance(absl::Seconds(1));
  EXPECT_EQ(fetcher_.fetches, 2);
  fetcher_.next_error = absl::UnavailableError("platform down");
  scheduler_.Advance(absl::Seconds(3));  // poll 3 fails → 1 s
  EXPECT_EQ(fetcher_.fetches, 3);
  scheduler_.Advance(absl::Seconds(1));  // poll 4 fails → 2 s
  EXPECT_EQ(fetcher_.fetches, 4);
  scheduler_.Advance(absl::Seconds(1));
  EXPECT_EQ(fetcher_.fetches, 4);
  scheduler_.Advance(absl::Seconds(1));  // poll 5 fails → 4 s
  EXPECT_EQ(fetcher_.fetches, 5);
  scheduler_.Advance(absl::Seconds(3));
  EXPECT_EQ(fetcher_.fetches, 5);
  fetcher_.next_error = absl::OkStatus();
  scheduler_.Advance(absl::Seconds(1));
  EXPECT_EQ(fetcher_.fetches, 6);
  EXPECT_FALSE(end.has_value());
  EXPECT_EQ(states.size(), 1u);  // errors send nothing; the state did not change
}

TEST_F(StatePollerTest, WebhookRefreshesAtOnce) {
  std::vector<StatePoller::StatePtr> states;
  std::optional<absl::Status> end;
  Watch(&states, &end);
  scheduler_.RunPosted();
  aarthik::events::v1::JourneyEvent event;
  event.add_journey_ids("j1");
  fetcher_.status = aarthik::headless::v1::JOURNEY_LIFECYCLE_STATUS_OFFERS_AVAILABLE;
  poller_.OnWebhook(event);
  scheduler_.RunPosted();
  EXPECT_EQ(fetcher_.fetches, 2);
  EXPECT_EQ(states.size(), 2u);
  aarthik::events::v1::JourneyEvent other;
  other.add_journey_ids("j2");
  poller_.OnWebhook(other);
  scheduler_.RunPosted();
  EXPECT_EQ(fetcher_.fetches, 2);
  EXPECT_EQ(scheduler_.pending_timers(), 1u);  // the old timer was replaced, not added to
}

TEST_F(StatePollerTest, StopsWhenLastWatcherLeaves) {
  std::vector<StatePoller::StatePtr> a, b;
  std::optional<absl::Status> end_a, end_b;
  auto id_a = Watch(&a, &end_a);
  auto id_b = Watch(&b, &end_b);
  scheduler_.RunPosted();
  poller_.Unwatch(id_a);
  scheduler_.Advance(absl::Seconds(5));
  EXPECT_EQ(fetcher_.fetches, 2);
  poller_.Unwatch(id_b);
  scheduler_.Advance(absl::Minutes(5));
  EXPECT_EQ(fetcher_.fetches, 2);
  EXPECT_EQ(poller_.journeys(), 0u);
  EXPECT_EQ(scheduler_.pending_timers(), 0u);
}

TEST_F(StatePollerTest, StopsAtTerminalStatusAndOnPermanentErrors) {
  std::vector<StatePoller::StatePtr> states;
  std::optional<absl::Status> end;
  Watch(&states, &end);
  scheduler_.RunPosted();
  fetcher_.status = aarthik::headless::v1::JOURNEY_LIFECYCLE_STATUS_REJECTED;
  scheduler_.Advance(absl::Seconds(5));
  ASSERT_TRUE(end.has_value());
  EXPECT_TRUE(end->ok());
  ASSERT_EQ(states.size(), 2u);
  EXPECT_TRUE(states[1]->terminal());
  scheduler_.Advance(absl::Minutes(5));
  EXPECT_EQ(fetcher_.fetches, 2);

  std::vector<StatePoller::StatePtr> other;
  std::optional<absl::Status> other_end;
  fetcher_.next_error = absl::NotFoundError("no such journey");
  Watch(&other, &other_end, "j404");
  scheduler_.RunPosted();
  ASSERT_TRUE(other_end.has_value());
  EXPECT_EQ(other_end->code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(poller_.journeys(), 0u);
}

TEST_F(StatePollerTest, EndAllEndsEveryWatchAndRefusesNewOnes) {
  std::vector<StatePoller::StatePtr> a, b, late;
  std::optional<absl::Status> end_a, end_b, end_late;
  Watch(&a, &end_a, "j1");
  Watch(&b, &end_b, "j2");
  scheduler_.RunPosted();
  poller_.EndAll(absl::UnavailableError("draining"));
  scheduler_.RunPosted();
  ASSERT_TRUE(end_a.has_value() && end_b.has_value());
  EXPECT_EQ(end_a->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(end_b->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(poller_.journeys(), 0u);
  EXPECT_EQ(scheduler_.pending_timers(), 0u);
  Watch(&late, &end_late, "j3");
  scheduler_.RunPosted();
  ASSERT_TRUE(end_late.has_value());
  EXPECT_EQ(end_late->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fetcher_.fetches, 2);  // no poll for the refused watch
}

}  // namespace
}  // namespace aarthik::events
