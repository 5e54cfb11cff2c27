// Live journey events end to end: the sandbox's signed journey.snapshot web-hooks reach the
// gateway's HTTP listener (subscribed through the SubscribeWebhooks RPC) and come out of
// WatchJourneyEvents; WatchJourneyState coalesces 1,000 watchers (callback readers over several
// connections) into one upstream poll per interval.
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "aarthik/events/v1/events.grpc.pb.h"
#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "aarthik/headless/v1/profile.grpc.pb.h"
#include "aarthik/webhooks/v1/subscription.grpc.pb.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/gateway_env.h"

namespace aarthik::testing {
namespace {

namespace hl = aarthik::headless::v1;
namespace ev = aarthik::events::v1;

class JourneyEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/aarthik-whsec-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    const std::string secret = "whsec_integration_secret\n";
    ASSERT_EQ(write(fd, secret.data(), secret.size()), static_cast<ssize_t>(secret.size()));
    close(fd);
    secret_file_ = path;
    env_ = GatewayEnv::Start({.sandbox_args = {"--webhook-secret-file", secret_file_},
                              .gateway_args = {"--webhook-secret-file", secret_file_}});
    ASSERT_NE(env_, nullptr);
    events_ = ev::JourneyEventsService::NewStub(env_->channel());
    journeys_ = hl::JourneysService::NewStub(env_->channel());
  }
  void TearDown() override { std::remove(secret_file_.c_str()); }

  void Subscribe() {
    auto subscription = aarthik::webhooks::v1::WebhookSubscriptionService::NewStub(env_->channel());
    aarthik::webhooks::v1::SubscribeWebhooksRequest request;
    request.mutable_subscription()->set_url("http://" + env_->http_address() + "/webhooks/aarthik");
    aarthik::webhooks::v1::SubscribeWebhooksResponse response;
    grpc::ClientContext context;
    PrepareContext(&context);
    grpc::Status status = subscription->SubscribeWebhooks(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.configuration().webhook_enabled());
  }

  std::string CreateJourney(const std::string& borrower) {
    hl::CreateJourneyRequest create;
    create.set_borrower_external_id(borrower);
    create.mutable_journey()->set_type(aarthik::common::v1::JOURNEY_TYPE_PERSONAL_LOAN);
    hl::CreateJourneyResponse created;
    grpc::ClientContext context;
    PrepareContext(&context);
    grpc::Status status = journeys_->CreateJourney(&context, create, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created.journey().journey_id();
  }

  // Saves part of the borrower's profile: a fresh journey goes STARTED → PROFILE_REQUIRED.
  grpc::Status UpdateProfile(const std::string& borrower, const std::string& journey) {
    auto profile = hl::ProfileService::NewStub(env_->channel());
    hl::UpdateProfileRequest update;
    update.set_borrower_external_id(borrower);
    update.set_journey_id(journey);
    update.mutable_profile()->mutable_profile()->set_contact_number("9876543210");
    update.mutable_profile()->mutable_profile()->set_pan_name("Asha Verma");
    hl::UpdateProfileResponse updated;
    grpc::ClientContext context;
    PrepareContext(&context);
    return profile->UpdateProfile(&context, update, &updated);
  }

  std::string secret_file_;
  std::unique_ptr<GatewayEnv> env_;
  std::unique_ptr<ev::JourneyEventsService::Stub> events_;
  std::unique_ptr<hl::JourneysService::Stub> journeys_;
};

TEST_F(JourneyEventsTest, SandboxWebhooksReachAGrpcSubscriber) {
  Subscribe();
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  ev::WatchJourneyEventsRequest request;
  request.set_borrower_external_id("CUST_EVENTS_1");
  std::unique_ptr<grpc::ClientReader<ev::WatchJourneyEventsResponse>> reader =
      events_->WatchJourneyEvents(&context, request);
  const std::string journey = CreateJourney("CUST_EVENTS_1");
  ASSERT_FALSE(journey.empty());
  // Time-driven transitions (profile required, expiry, ...) also fire web-hooks; a time jump makes
  // sure at least one status change happens after the subscription.
  env_->AdvanceSandboxTime(40 * 24 * 3600);
  ev::WatchJourneyEventsResponse message;
  ASSERT_TRUE(reader->Read(&message)) << "no event reached the subscriber";
  EXPECT_FALSE(message.event().event_id().empty());
  EXPECT_EQ(message.event().borrower_external_id(), "CUST_EVENTS_1");
  ASSERT_TRUE(message.event().has_headless());
  bool mentions = false;
  for (const auto& id : message.event().journey_ids()) mentions = mentions || id == journey;
  EXPECT_TRUE(mentions);
  EXPECT_FALSE(message.event().cursor().empty());

  // The gateway streams an event before its 200 reaches the sandbox, so the first event alone says
  // nothing about the sandbox's counters. The sandbox sends one delivery at a time and counts its
  // result before sending the next: once the event of a later change arrives, the earlier
  // delivery's answer is counted.
  grpc::Status updated = UpdateProfile("CUST_EVENTS_1", journey);
  ASSERT_TRUE(updated.ok()) << updated.error_message();
  bool profile_required = false;
  while (!profile_required && reader->Read(&message)) {
    for (const auto& summary : message.event().headless().borrower().journeys()) {
      profile_required |= summary.journey_id() == journey &&
                          summary.status() == hl::JOURNEY_LIFECYCLE_STATUS_PROFILE_REQUIRED;
    }
  }
  EXPECT_TRUE(profile_required) << "no event reported the journey PROFILE_REQUIRED";
  context.TryCancel();
  const nlohmann::json counters = env_->SandboxCounters();
  EXPECT_GE(counters["webhooks"]["succeeded"].get<int64_t>(), 1) << counters.dump();
}

// What a crowd of WatchJourneyState watchers has received so far; the watchers report from gRPC's
// threads.
class WatchTally {
 public:
  void OnMessage(int message, const ev::WatchJourneyStateResponse& response, bool changed) {
    std::lock_guard<std::mutex> lock(mu_);
    if (message == 1) {
      ++first_;
      if (!response.has_headless()) ++wrong_;
      hint_seconds_ = response.headless().poll_after_seconds();
      first_status_ = response.headless().status();
    }
    if (changed) {
      ++changed_;
      changed_status_ = response.headless().status();
    }
    if (message > 2) ++extra_;
    cv_.notify_all();
  }
  void OnDone(const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    if (status.error_code() != grpc::StatusCode::CANCELLED) ++ended_early_;
    cv_.notify_all();
  }
  // Waits until `count` (a member, read under the lock) reaches `target` or the deadline passes.
  bool WaitFor(int WatchTally::*count, int target, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, absl::ToChronoTime(absl::Now() + timeout),
                          [&] { return this->*count >= target; });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  int first_ = 0;        // watchers that received their first state
  int changed_ = 0;      // watchers that received a state whose status differs from their first
  int extra_ = 0;        // messages beyond the first state and the one change
  int wrong_ = 0;        // first states that are not headless
  int done_ = 0;         // streams finished
  int ended_early_ = 0;  // streams that finished other than by our cancel
  int64_t hint_seconds_ = 0;
  hl::JourneyLifecycleStatus first_status_ = hl::JOURNEY_LIFECYCLE_STATUS_UNSPECIFIED;
  hl::JourneyLifecycleStatus changed_status_ = hl::JOURNEY_LIFECYCLE_STATUS_UNSPECIFIED;
};

// How many whole `interval`s fit in `elapsed`.
int64_t WholeIntervals(absl::Duration elapsed, absl::Duration interval) {
  absl::Duration remainder;  // IDivDuration needs somewhere to put it
  return absl::IDivDuration(elapsed, interval, &remainder);
}

// One WatchJourneyState stream on gRPC's callback API (no thread per watcher).
class StateWatcher : public grpc::ClientReadReactor<ev::WatchJourneyStateResponse> {
 public:
  StateWatcher(ev::JourneyEventsService::Stub* stub, const ev::WatchJourneyStateRequest& request,
               WatchTally* tally)
      : request_(request), tally_(tally) {
    context_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(90)));
    stub->async()->WatchJourneyState(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    ++messages_;
    if (messages_ == 1) first_status_ = response_.headless().status();
    const bool changed = !changed_ && response_.headless().status() != first_status_;
    changed_ = changed_ || changed;
    tally_->OnMessage(messages_, response_, changed);
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override { tally_->OnDone(status); }

 private:
  grpc::ClientContext context_;
  const ev::WatchJourneyStateRequest request_;
  ev::WatchJourneyStateResponse response_;
  WatchTally* const tally_;
  // Touched only by this stream's reactions, which gRPC serialises.
  int messages_ = 0;
  hl::JourneyLifecycleStatus first_status_ = hl::JOURNEY_LIFECYCLE_STATUS_UNSPECIFIED;
  bool changed_ = false;
};

// 1,000 watchers of one journey over several connections cost the sandbox one /state poll per
// interval: all of them get the first state, and a change the gateway can only learn by polling (no
// web-hook subscription here) reaches all of them, while the sandbox counts at most one poll per
// interval that passed.
// --max-watch-streams bounds both watch methods together: beyond it a stream fails at once with
// RESOURCE_EXHAUSTED (TOO_MANY_STREAMS) and holds nothing; a stream that ends gives its place back.
TEST_F(JourneyEventsTest, WatchStreamsBeyondTheCapAreRefusedAtOnce) {
  env_ = GatewayEnv::Start({.gateway_args = {"--max-watch-streams", "3"}});
  ASSERT_NE(env_, nullptr);
  events_ = ev::JourneyEventsService::NewStub(env_->channel());
  struct Stream {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<ev::WatchJourneyEventsResponse>> reader;
  };
  auto open_events = [&](const std::string& borrower) {
    auto stream = std::make_unique<Stream>();
    stream->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    ev::WatchJourneyEventsRequest request;
    request.set_borrower_external_id(borrower);
    stream->reader = events_->WatchJourneyEvents(&stream->context, request);
    return stream;
  };
  std::vector<std::unique_ptr<Stream>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(open_events(absl::StrCat("CUST_CAP_", i)));
    open.back()->reader->WaitForInitialMetadata();  // subscribed
  }
  auto refused = open_events("CUST_CAP_4");
  ev::WatchJourneyEventsResponse event;
  EXPECT_FALSE(refused->reader->Read(&event));
  grpc::Status status = refused->reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  std::optional<google::rpc::ErrorInfo> info = DetailOf<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "TOO_MANY_STREAMS");
  EXPECT_EQ(info->metadata().at("max_watch_streams"), "3");

  grpc::ClientContext state_context;
  ev::WatchJourneyStateRequest state;
  state.set_borrower_provider_id("P_CAP");
  auto state_reader = events_->WatchJourneyState(&state_context, state);
  ev::WatchJourneyStateResponse update;
  EXPECT_FALSE(state_reader->Read(&update));
  EXPECT_EQ(state_reader->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  // One subscriber leaves: its place is free once the gateway has seen it go.
  open[0]->context.TryCancel();
  while (open[0]->reader->Read(&event)) {
  }
  EXPECT_EQ(open[0]->reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  bool admitted = false;
  for (int attempt = 0; attempt < 1000 && !admitted; ++attempt) {
    auto again = open_events("CUST_CAP_5");
    again->reader->WaitForInitialMetadata();  // subscribed, or already refused
    again->context.TryCancel();
    while (again->reader->Read(&event)) {
    }
    grpc::Status ended = again->reader->Finish();
    admitted = ended.error_code() == grpc::StatusCode::CANCELLED;
  }
  EXPECT_TRUE(admitted) << "the ended stream's place was never given back";
}

TEST_F(JourneyEventsTest, ThousandStateWatchersShareOnePollPerInterval) {
  const std::string journey = CreateJourney("CUST_EVENTS_2");
  ASSERT_FALSE(journey.empty());
  constexpr char kStateRoute[] = "GET /api/v1/headless/journeys/{journeyID}/state";
  constexpr int kWatchers = 1000;
  constexpr int kChannels = 8;
  std::vector<std::unique_ptr<ev::JourneyEventsService::Stub>> stubs;
  for (int i = 0; i < kChannels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    stubs.push_back(ev::JourneyEventsService::NewStub(grpc::CreateCustomChannel(
        env_->gateway_address(), grpc::InsecureChannelCredentials(), args)));
  }
  ev::WatchJourneyStateRequest request;
  request.set_borrower_external_id("CUST_EVENTS_2");
  request.set_journey_id(journey);

  auto owned_tally = std::make_unique<WatchTally>();
  WatchTally* const tally = owned_tally.get();
  std::vector<std::unique_ptr<StateWatcher>> watchers;
  const int64_t before = env_->SandboxRequests(kStateRoute);
  const absl::Time opened = absl::Now();
  for (int i = 0; i < kWatchers; ++i) {
    watchers.push_back(std::make_unique<StateWatcher>(stubs[i % kChannels].get(), request, tally));
  }
  // Cancels every stream and waits until gRPC is done with all of them before the watchers go away;
  // if that never happens, the watchers are leaked rather than freed under gRPC's feet.
  auto close_all = [&] {
    for (auto& watcher : watchers) watcher->Cancel();
    if (!tally->WaitFor(&WatchTally::done_, kWatchers, absl::Seconds(30))) {
      ADD_FAILURE() << "streams still open 30 s after TryCancel";
      new std::vector<std::unique_ptr<StateWatcher>>(std::move(watchers));
      owned_tally.release();
    }
  };

  if (!tally->WaitFor(&WatchTally::first_, kWatchers, absl::Seconds(15))) {
    ADD_FAILURE() << "not every watcher got the first state within 15 s";
    close_all();
    return;
  }
  const int64_t first_polls = env_->SandboxRequests(kStateRoute) - before;
  const absl::Duration first_elapsed = absl::Now() - opened;

  // Change the journey (STARTED → PROFILE_REQUIRED). Without a web-hook, only the next poll reveals
  // it.
  if (grpc::Status status = UpdateProfile("CUST_EVENTS_2", journey); !status.ok()) {
    ADD_FAILURE() << "UpdateProfile: " << status.error_message();
    close_all();
    return;
  }
  const bool all_changed = tally->WaitFor(&WatchTally::changed_, kWatchers, absl::Seconds(15));
  const int64_t polls = env_->SandboxRequests(kStateRoute) - before;
  const absl::Duration elapsed = absl::Now() - opened;
  close_all();

  std::lock_guard<std::mutex> lock(tally->mu_);
  EXPECT_TRUE(all_changed) << tally->changed_ << " of " << kWatchers << " watchers saw the change";
  EXPECT_EQ(tally->wrong_, 0);
  EXPECT_EQ(tally->extra_, 0) << "a watcher got a message without a change";
  EXPECT_EQ(tally->ended_early_, 0) << "streams ended before the test cancelled them";
  EXPECT_EQ(tally->first_status_, hl::JOURNEY_LIFECYCLE_STATUS_STARTED);
  EXPECT_EQ(tally->changed_status_, hl::JOURNEY_LIFECYCLE_STATUS_PROFILE_REQUIRED);
  // docs/events.md: the interval is the platform's hint clamped to 1-60 s, 5 s without one. The
  // first poll happens once the first watcher arrives (after `opened`), the next ones an interval
  // apart, and every poll counted happened before the elapsed time was taken: at most 1 +
  // floor(elapsed / interval) polls.
  const absl::Duration interval =
      tally->hint_seconds_ > 0
          ? std::clamp(absl::Seconds(tally->hint_seconds_), absl::Seconds(1), absl::Seconds(60))
          : absl::Seconds(5);
  EXPECT_GE(first_polls, 1);
  EXPECT_LE(first_polls, 1 + WholeIntervals(first_elapsed, interval))
      << first_polls << " /state polls before every watcher had its first state, after "
      << first_elapsed;
  EXPECT_GE(polls, 2) << "the change was not seen through a poll";
  EXPECT_LE(polls, 1 + WholeIntervals(elapsed, interval))
      << polls << " /state polls for " << kWatchers << " watchers in " << elapsed << " (interval "
      << interval << ")";
  std::printf(
      "%d watchers on %d channels: first state to all after %s (%lld polls), change to all after "
      "%s "
      "(%lld polls in all; interval %s)\n",
      kWatchers, kChannels, absl::FormatDuration(first_elapsed).c_str(),
      static_cast<long long>(first_polls), absl::FormatDuration(elapsed).c_str(),
      static_cast<long long>(polls), absl::FormatDuration(interval).c_str());
}

}  // namespace
}  // namespace aarthik::testing
