// The demo itself: a headless borrower journey and a Hybrid journey through the gateway, each RPC
// printed as one transcript line, and (with --webhook-url) the journeys' live events interleaved.
// The methods are spread over demo.cc (RPC plumbing and polling), demo_headless.cc,
// demo_hybrid.cc and demo_events.cc, one file per part of the transcript.
//
// Example:
//
//   std::shared_ptr<grpc::Channel> channel = client::CreateInsecureChannel(flags.gateway);
//   return Demo(channel, std::move(flags)).Run();  // the process exit code
//
// Thread-safety: thread-compatible; Run() is called once, from one thread. The event streams call
// OnEvent on gRPC threads; what it touches is guarded by events_mu_.
#ifndef AARTHIK_CLIENT_STUBS_EXAMPLES_DEMO_H_
#define AARTHIK_CLIENT_STUBS_EXAMPLES_DEMO_H_

#include <grpcpp/channel.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "aarthik/events/v1/events.grpc.pb.h"
#include "aarthik/headless/v1/account_aggregator.grpc.pb.h"
#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "aarthik/headless/v1/offers.grpc.pb.h"
#include "aarthik/headless/v1/post_disbursal.grpc.pb.h"
#include "aarthik/headless/v1/profile.grpc.pb.h"
#include "aarthik/headless/v1/sessions.grpc.pb.h"
#include "aarthik/headless/v1/steps.grpc.pb.h"
#include "aarthik/hybrid/v1/hybrid.grpc.pb.h"
#include "aarthik/webhooks/v1/subscription.grpc.pb.h"
#include "absl/strings/string_view.h"
#include "demo_support.h"

namespace aarthik::demo {

class Demo {
 public:
  Demo(std::shared_ptr<grpc::Channel> channel, Flags flags);

  // Runs both journeys; returns the process exit code.
  int Run();

 private:
  enum class Kind { kRead, kWrite };

  // --- RPC plumbing and polling (demo.cc) ------------------------------------------------------

  // Runs one RPC with a fresh context: a deadline (the lesser of the helper's default and the
  // demo's remaining budget), a correlation ID of this run and, for writes, a fresh idempotency
  // key.
  CallRecord Invoke(Kind kind, const std::function<grpc::Status(grpc::ClientContext*)>& rpc);

  // Prints one transcript line: number, RPC, outcome and result, then (after "|", aligned unless
  // the result is long) the correlation ID sent, the platform request ID returned and the latency.
  void Print(absl::string_view rpc, const CallRecord& record, absl::string_view outcome,
             absl::string_view result);

  // Runs `rpc`, prints its line (`summary()` on success, the error otherwise) and returns whether
  // it succeeded. A failure is remembered for the final message.
  bool Step(absl::string_view name, Kind kind,
            const std::function<grpc::Status(grpc::ClientContext*)>& rpc,
            const std::function<std::string()>& summary);

  bool Fail(std::string message);

  milliseconds Remaining() const;

  // The platform's poll hint divided by --poll-scale.
  milliseconds Scaled(milliseconds hint) const;

  // "; next poll in 150 ms (hint 3 s / 20)": the wait the platform asked for, scaled.
  std::string WaitNote(milliseconds hint) const;

  // Sleeps for the scaled hint. Returns false (with a failure message) when the budget would run
  // out first.
  bool Wait(milliseconds hint, absl::string_view waiting_for);

  // Fills the borrower fields shared by every borrower-scoped request.
  template <typename Request>
  void Scope(Request* request) const {
    request->set_borrower_external_id(flags_.borrower);
    request->set_journey_id(journey_id_);
  }
  template <typename Request>
  void OfferScope(Request* request) const {
    Scope(request);
    request->set_offer_id(offer_id_);
  }

  // Polls GetJourneyState until the journey reaches `target`, waiting `first_hint` (scaled) before
  // the first poll and then what each answer suggests. Fails on a terminal status.
  bool AwaitStatus(hl::JourneyLifecycleStatus target, milliseconds first_hint);

  // "OFFERS_PENDING, next WAIT_FOR_OFFERS"; the action is left out when there is none.
  static std::string Describe(const hl::JourneyState& state);

  static std::string DescribeStep(const hl::Step& step);

  // --- Headless journey (demo_headless.cc) -----------------------------------------------------

  bool RunHeadless();

  // A second ProceedOffer on another offer: the first proceed holds the lock, so the gateway
  // answers FAILED_PRECONDITION with ErrorInfo reason OFFER_LOCK_CONFLICT. Anything else fails.
  bool ShowOfferLock(const std::string& other_offer_id);

  // Account Aggregator consent for the chosen offer: create the consent session (redirect URL),
  // the borrower returns (complete), and reconciliation confirms it.
  bool RunAccountAggregator();

  // The lender's steps for the locked offer, in order.
  bool RunSteps();

  // Reads a REDIRECT step until it reports SUCCESS: the first read while READY issues the
  // redirect (IN_PROGRESS), the next read after the borrower's return completes it. Defined in
  // demo_headless.cc, where RunSteps is its only caller.
  template <typename Request, typename Response>
  bool CompleteRedirectStep(absl::string_view name,
                            grpc::Status (hl::StepsService::Stub::*method)(grpc::ClientContext*,
                                                                           const Request&,
                                                                           Response*));

  // --- Hybrid journey (demo_hybrid.cc) ---------------------------------------------------------

  bool RunHybrid();

  // --- Live events (demo_events.cc) ------------------------------------------------------------

  // Subscribes --webhook-url for the platform's web-hooks and opens one WatchJourneyEvents stream
  // for the headless borrower and one for the Hybrid borrower. Both must be open before the
  // journeys start: a stream only carries events accepted after it opened.
  bool StartLiveEvents();

  void OpenStream(ev::WatchJourneyEventsRequest request, absl::string_view label);

  // Prints one event line and records which statuses the events reported. Runs on gRPC threads.
  void OnEvent(const ev::JourneyEvent& event);

  // Waits until `seen` (called with events_mu_ held) is true, for at most kEventWait and never
  // past the demo's budget. Returns whether it became true.
  bool AwaitEvent(const std::function<bool()>& seen);

  // With live events: waits for the event that reports the headless journey DISBURSED. Fails when
  // no event at all arrived for the journey, since then the web-hook path is broken.
  bool AwaitHeadlessEvent();

  // Cancels the event streams, waits until they are closed, and unsubscribes the web-hook URL.
  bool StopLiveEvents();

  Flags flags_;
  std::unique_ptr<hl::SessionsService::Stub> sessions_;
  std::unique_ptr<hl::JourneysService::Stub> journeys_;
  std::unique_ptr<hl::ProfileService::Stub> profile_;
  std::unique_ptr<hl::OffersService::Stub> offers_;
  std::unique_ptr<hl::StepsService::Stub> steps_;
  std::unique_ptr<hl::AccountAggregatorService::Stub> aa_;
  std::unique_ptr<hl::PostDisbursalService::Stub> post_;
  std::unique_ptr<hy::HybridService::Stub> hybrid_;
  std::unique_ptr<wh::WebhookSubscriptionService::Stub> webhooks_;
  std::unique_ptr<ev::JourneyEventsService::Stub> events_;
  // Eight hex digits naming this run in correlation IDs (and the default borrower).
  const std::string run_id_;
  const Clock::time_point start_;
  const Clock::time_point deadline_;
  int calls_ = 0;
  std::string failure_;
  // The headless journey, the offer it proceeded with and that offer's lender.
  std::string journey_id_;
  std::string offer_id_;
  std::string lender_name_;
  // Live events (--webhook-url).
  bool subscribed_ = false;
  std::mutex events_mu_;
  std::condition_variable events_cv_;
  std::string watched_journey_;          // guarded by events_mu_; the headless journey's ID
  std::set<std::string> headless_seen_;  // guarded by events_mu_; statuses its events reported
  std::set<std::string> hybrid_seen_;    // guarded by events_mu_; the Hybrid journey's statuses
  int headless_events_ = 0;              // guarded by events_mu_
  int hybrid_events_ = 0;                // guarded by events_mu_
  // Last: the streams call back into the members above, so they must close before those go.
  std::vector<std::unique_ptr<EventStream>> streams_;
};

}  // namespace aarthik::demo

#endif  // AARTHIK_CLIENT_STUBS_EXAMPLES_DEMO_H_
