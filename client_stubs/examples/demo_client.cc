// aarthik-demo-client: walks a complete headless borrower journey and a Hybrid journey through the
// Aarthik gRPC gateway, using only the generated stubs and the `aarthik_client` helper, and prints
// a readable transcript: one line per RPC with its key result, the `x-correlation-id` it sent, the
// platform request ID the gateway returned (`x-platform-request-id`) and the latency.
//
// Headless: CreateSession → CreateJourney → UpdateProfile → SubmitProfile → GetJourneyState (polled
// until OFFERS_AVAILABLE) → ListOffers → GetOffer → ProceedOffer (and a second ProceedOffer on
// another offer, refused with OFFER_LOCK_CONFLICT) → the Account Aggregator flow when the chosen
// offer needs it → steps (KYC, bank mandate, e-mandate, loan agreement) → GetJourneyState (polled
// until DISBURSED) → RefreshLoanStatus.
// Hybrid: StartJourney → PollOffers (until OFFERED or NOT_OFFERED) → GetHostedUrl.
// Live events (with --webhook-url): SubscribeWebhooks points the platform's signed journey.snapshot
// web-hooks at the gateway's receiver, and two WatchJourneyEvents streams (the headless borrower
// and the Hybrid borrower) print each event as it arrives, interleaved with the RPC lines ("⇢ event
// …"). At the end the streams are cancelled and UnsubscribeWebhooks stops the deliveries.
//
// Every wait honours the platform's hint (`pollAfterSeconds`, `poll_after_ms`) divided by
// `--poll-scale`, so a sandbox running with `--time-scale N` is driven at its own pace.
//
// Usage:
//   aarthik-demo-client --gateway 127.0.0.1:50051 [--borrower ID] [--poll-scale N] [--timeout 60s]
//                       [--webhook-url http://127.0.0.1:8080/webhooks/aarthik]
//
// Exit status: 0 when both journeys completed, 1 when a call failed or a journey did not complete
// in time, 2 for bad flags.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "aarthik/client/client.h"
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
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace aarthik::demo {
namespace {

namespace cm = ::aarthik::common::v1;
namespace ev = ::aarthik::events::v1;
namespace hl = ::aarthik::headless::v1;
namespace hy = ::aarthik::hybrid::v1;
namespace wh = ::aarthik::webhooks::v1;

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Metadata key under which the gateway returns the platform's request ID.
constexpr char kPlatformRequestIdKey[] = "x-platform-request-id";

// Used when the platform gives no poll hint (GetJourneyState may omit `pollAfterSeconds`): the
// platform's documented hint after a profile submission.
constexpr milliseconds kDefaultPollHint{3000};

// Transcript lines pad the result to this column before the IDs.
constexpr size_t kResultColumnEnd = 104;

// Longest wait for the gateway's port to accept a connection.
constexpr milliseconds kConnectTimeout{5000};

// Longest wait, once a journey reached its goal, for the web-hook event that reports it.
constexpr milliseconds kEventWait{5000};

constexpr char kUsage[] =
    "Usage: aarthik-demo-client --gateway HOST:PORT [flags]\n"
    "\n"
    "Walks a headless borrower journey (session, profile, offers, AA, steps, disbursal,\n"
    "post-disbursal status) and a Hybrid journey (start, poll, hosted URL) through the Aarthik\n"
    "gRPC gateway and prints one transcript line per RPC.\n"
    "\n"
    "  --gateway HOST:PORT   the gateway's gRPC address (required)\n"
    "  --borrower ID         headless borrowerExternalID; the Hybrid borrower is ID-HYBRID\n"
    "                        (default: a fresh DEMO-XXXXXXXX per run)\n"
    "  --poll-scale N        divide the platform's poll hints by N, e.g. the sandbox's\n"
    "                        --time-scale (default 1)\n"
    "  --timeout DURATION    time budget for the whole demo: 60, 60s, 1500ms or 2m (default 60s);\n"
    "                        each RPC's deadline is the lesser of 10 s and what is left\n"
    "  --webhook-url URL     the gateway's web-hook receiver, e.g.\n"
    "                        http://127.0.0.1:8080/webhooks/aarthik: subscribe it with\n"
    "                        SubscribeWebhooks and print the journeys' live events from\n"
    "                        WatchJourneyEvents (default: no live events)\n"
    "  --help                print this text\n"
    "\n"
    "Exit status: 0 when both journeys completed, 1 otherwise, 2 for bad flags.\n";

struct Flags {
  std::string gateway;
  std::string borrower;
  double poll_scale = 1;
  milliseconds timeout{60000};
  std::string webhook_url;
};

// Parses "60", "60s", "1500ms", "2m" into `out`. Returns false for anything else or a value <= 0.
bool ParseDuration(absl::string_view text, milliseconds* out) {
  double scale = 1000;
  if (absl::ConsumeSuffix(&text, "ms")) {
    scale = 1;
  } else if (absl::ConsumeSuffix(&text, "s")) {
    scale = 1000;
  } else if (absl::ConsumeSuffix(&text, "m")) {
    scale = 60000;
  }
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !(value > 0)) return false;
  *out = milliseconds(static_cast<int64_t>(value * scale));
  return true;
}

// Parses argv into `flags`. On error or --help, sets `exit_code` (2 or 0) and returns false.
bool ParseFlags(int argc, char** argv, Flags* flags, int* exit_code) {
  *exit_code = 2;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      *exit_code = 0;
      return false;
    }
    std::string value;
    const size_t equals = arg.find('=');
    if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
      arg.resize(equals);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::cerr << "aarthik-demo-client: " << arg << " needs a value\n\n" << kUsage;
      return false;
    }
    bool ok = true;
    if (arg == "--gateway") {
      flags->gateway = value;
      ok = !value.empty();
    } else if (arg == "--borrower") {
      flags->borrower = value;
      ok = !value.empty() && value.size() <= 120;
    } else if (arg == "--poll-scale") {
      ok = absl::SimpleAtod(value, &flags->poll_scale) && flags->poll_scale > 0;
    } else if (arg == "--timeout") {
      ok = ParseDuration(value, &flags->timeout);
    } else if (arg == "--webhook-url") {
      flags->webhook_url = value;
      ok = absl::StartsWith(value, "http://") || absl::StartsWith(value, "https://");
    } else {
      std::cerr << "aarthik-demo-client: unknown flag " << arg << "\n\n" << kUsage;
      return false;
    }
    if (!ok) {
      std::cerr << "aarthik-demo-client: invalid value for " << arg << ": '" << value << "'\n";
      return false;
    }
  }
  if (flags->gateway.empty()) {
    std::cerr << "aarthik-demo-client: --gateway HOST:PORT is required\n\n" << kUsage;
    return false;
  }
  return true;
}

// Strips `prefix` from a proto enum value name: ("JOURNEY_ACTION_VIEW_OFFERS", "JOURNEY_ACTION_")
// → "VIEW_OFFERS".
std::string Short(const std::string& name, absl::string_view prefix) {
  absl::string_view view = name;
  absl::ConsumePrefix(&view, prefix);
  return std::string(view);
}

std::string Name(hl::JourneyLifecycleStatus value) {
  return Short(hl::JourneyLifecycleStatus_Name(value), "JOURNEY_LIFECYCLE_STATUS_");
}
std::string Name(hl::JourneyAction value) {
  return Short(hl::JourneyAction_Name(value), "JOURNEY_ACTION_");
}
std::string Name(hl::StepStatus value) { return Short(hl::StepStatus_Name(value), "STEP_STATUS_"); }
std::string Name(hl::ActionRequired value) {
  return Short(hl::ActionRequired_Name(value), "ACTION_REQUIRED_");
}
std::string Name(hl::ProceedBoundaryState value) {
  return Short(hl::ProceedBoundaryState_Name(value), "PROCEED_BOUNDARY_STATE_");
}
std::string Name(hl::OperationStatus value) {
  return Short(hl::OperationStatus_Name(value), "OPERATION_STATUS_");
}
std::string Name(hl::AaSessionState value) {
  return Short(hl::AaSessionState_Name(value), "AA_SESSION_STATE_");
}
std::string Name(hl::OfferStatus value) {
  return Short(hl::OfferStatus_Name(value), "OFFER_STATUS_");
}
std::string Name(cm::ExperienceStatus value) {
  return Short(cm::ExperienceStatus_Name(value), "EXPERIENCE_STATUS_");
}

// A token shown without its secret part: "st_test_9f8e…" → "st_test_…".
std::string TokenPrefix(absl::string_view token) {
  const size_t first = token.find('_');
  const size_t second = first == absl::string_view::npos ? first : token.find('_', first + 1);
  if (second == absl::string_view::npos) return "<redacted>";
  return absl::StrCat(token.substr(0, second + 1), "…");
}

// A URL reduced to scheme and host: query strings and fragments may carry one-time tokens.
std::string UrlHost(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return url.empty() ? "<none>" : "<not a URL>";
  const size_t host_end = url.find_first_of("/?#", scheme_end + 3);
  if (host_end == absl::string_view::npos) return std::string(url);
  return absl::StrCat(url.substr(0, host_end), "/…");
}

// What one RPC did, as far as the transcript is concerned.
struct CallRecord {
  grpc::Status status;
  std::string correlation_id;
  std::string request_id;
  std::chrono::microseconds latency{0};
};

// The value of `key` in the server's initial or trailing metadata, "" when absent.
std::string ServerMetadata(const grpc::ClientContext& context, absl::string_view key) {
  for (const auto* metadata :
       {&context.GetServerInitialMetadata(), &context.GetServerTrailingMetadata()}) {
    for (const auto& [name, value] : *metadata) {
      if (absl::string_view(name.data(), name.size()) == key) {
        return std::string(value.data(), value.size());
      }
    }
  }
  return "";
}

// The first detail of type `Detail` in a failed call's google.rpc.Status, if any.
template <typename Detail>
bool UnpackDetail(const grpc::Status& status, Detail* detail) {
  google::rpc::Status rpc_status;
  if (!rpc_status.ParseFromString(status.error_details())) return false;
  for (const auto& any : rpc_status.details()) {
    if (any.UnpackTo(detail)) return true;
  }
  return false;
}

// The gRPC code's canonical name, e.g. "FAILED_PRECONDITION" (gRPC and absl share the codes).
std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// "FAILED_PRECONDITION OFFER_LOCK_CONFLICT (proceedBoundaryState=…): message".
std::string DescribeError(const grpc::Status& status) {
  std::string text = CodeName(status.error_code());
  google::rpc::ErrorInfo info;
  if (UnpackDetail(status, &info)) {
    absl::StrAppend(&text, " ", info.reason());
    auto boundary = info.metadata().find("proceedBoundaryState");
    if (boundary != info.metadata().end()) {
      absl::StrAppend(&text, " (proceedBoundaryState=", boundary->second, ")");
    }
  }
  google::rpc::BadRequest bad_request;
  if (UnpackDetail(status, &bad_request) && bad_request.field_violations_size() > 0) {
    absl::StrAppend(&text, " field ", bad_request.field_violations(0).field());
  }
  if (!status.error_message().empty()) absl::StrAppend(&text, ": ", status.error_message());
  return text;
}

// Writes one transcript line (a newline is added) and flushes it. The event streams print from
// gRPC's callback threads, so every line goes through here and lines never interleave mid-way.
void Say(absl::string_view line) {
  static std::mutex* const mu = new std::mutex;
  std::lock_guard<std::mutex> lock(*mu);
  std::cout << line << std::endl;
}

// One WatchJourneyEvents stream read with gRPC's callback API: no thread of its own. Each event
// goes to `on_event` on a gRPC thread, in stream order. Close() (or the destructor) cancels the
// stream and waits until gRPC is done with it.
class EventStream : public grpc::ClientReadReactor<ev::WatchJourneyEventsResponse> {
 public:
  using EventCallback = std::function<void(const ev::JourneyEvent&)>;
  using EndCallback = std::function<void(const grpc::Status&)>;

  // Starts the call at once. `on_end` runs when the stream ends before Close() was called.
  EventStream(ev::JourneyEventsService::Stub* stub, ev::WatchJourneyEventsRequest request,
              const std::string& correlation_id, EventCallback on_event, EndCallback on_end)
      : request_(std::move(request)), on_event_(std::move(on_event)), on_end_(std::move(on_end)) {
    client::CallOptions options;
    options.timeout = milliseconds(0);  // a watch has no deadline; Close() ends it
    options.correlation_id = correlation_id;
    client::Prepare(&context_, options);
    stub->async()->WatchJourneyEvents(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;
  ~EventStream() override { Close(); }

  // Cancels the stream (if it is still open) and returns its final status once gRPC has finished
  // with it: CANCELLED for a stream that was still running.
  grpc::Status Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
      if (done_) return status_;
    }
    context_.TryCancel();  // not under mu_: gRPC may run OnDone before TryCancel returns
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return done_; });
    return status_;
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream is ending; OnDone follows
    on_event_(response_.event());
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    bool report = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      report = !closing_;
    }
    if (report) on_end_(status);
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    done_ = true;
    done_cv_.notify_all();
  }

 private:
  grpc::ClientContext context_;
  const ev::WatchJourneyEventsRequest request_;
  ev::WatchJourneyEventsResponse response_;
  const EventCallback on_event_;
  const EndCallback on_end_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool closing_ = false;  // guarded by mu_
  bool done_ = false;     // guarded by mu_
  grpc::Status status_;   // guarded by mu_
};

class Demo {
 public:
  Demo(std::shared_ptr<grpc::Channel> channel, Flags flags)
      : flags_(std::move(flags)),
        sessions_(hl::SessionsService::NewStub(channel)),
        journeys_(hl::JourneysService::NewStub(channel)),
        profile_(hl::ProfileService::NewStub(channel)),
        offers_(hl::OffersService::NewStub(channel)),
        steps_(hl::StepsService::NewStub(channel)),
        aa_(hl::AccountAggregatorService::NewStub(channel)),
        post_(hl::PostDisbursalService::NewStub(channel)),
        hybrid_(hy::HybridService::NewStub(channel)),
        webhooks_(wh::WebhookSubscriptionService::NewStub(channel)),
        events_(ev::JourneyEventsService::NewStub(channel)),
        run_id_(client::NewUuidV4().substr(0, 8)),
        start_(Clock::now()),
        deadline_(start_ + flags_.timeout) {
    if (flags_.borrower.empty()) {
      flags_.borrower = absl::StrCat("DEMO-", absl::AsciiStrToUpper(run_id_));
    }
  }

  // Runs both journeys; returns the process exit code.
  int Run() {
    std::cout << "Aarthik gateway demo: gateway " << flags_.gateway << ", poll hints / "
              << flags_.poll_scale << ", budget " << flags_.timeout.count() / 1000.0 << " s\n"
              << "Each line: RPC, outcome, key result | x-correlation-id sent, platform request ID "
                 "returned, latency\n";
    const bool live = !flags_.webhook_url.empty();
    bool ok = (!live || StartLiveEvents()) && RunHeadless() && RunHybrid();
    if (live) {
      // Always close the streams and unsubscribe; a failure here must not hide an earlier one.
      const std::string earlier_failure = failure_;
      const bool stopped = StopLiveEvents();
      if (!ok) failure_ = earlier_failure;
      ok = ok && stopped;
    }
    const double seconds =
        std::chrono::duration_cast<milliseconds>(Clock::now() - start_).count() / 1000.0;
    char elapsed[32];
    std::snprintf(elapsed, sizeof(elapsed), "%.1f s", seconds);
    if (!ok) {
      std::cout << "\nDEMO FAILED after " << calls_ << " RPCs in " << elapsed << ": " << failure_
                << std::endl;
      std::cerr << "aarthik-demo-client: " << failure_ << std::endl;
      return 1;
    }
    std::string events;
    if (live) {
      std::lock_guard<std::mutex> lock(events_mu_);
      events = absl::StrCat(" ", headless_events_ + hybrid_events_, " live events streamed.");
    }
    std::cout << "\nDemo complete: headless journey DISBURSED and post-disbursal status "
                 "requested; Hybrid journey handed off to Hosted."
              << events << " " << calls_ << " RPCs in " << elapsed << "." << std::endl;
    return 0;
  }

 private:
  enum class Kind { kRead, kWrite };

  // Runs one RPC with a fresh context: a deadline (the lesser of the helper's default and the
  // demo's remaining budget), a correlation ID of this run and, for writes, a fresh idempotency
  // key.
  CallRecord Invoke(Kind kind, const std::function<grpc::Status(grpc::ClientContext*)>& rpc) {
    ++calls_;
    client::CallOptions options =
        kind == Kind::kWrite ? client::WriteOptions() : client::CallOptions();
    options.timeout = std::min(options.timeout, Remaining());
    options.correlation_id =
        absl::StrCat("demo-", run_id_, "-", absl::Dec(calls_, absl::kZeroPad2));
    CallRecord record;
    record.correlation_id = options.correlation_id;
    if (options.timeout.count() <= 0) {
      record.status = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                   "the demo's --timeout budget is used up");
      return record;
    }
    grpc::ClientContext context;
    client::Prepare(&context, options);
    const Clock::time_point begin = Clock::now();
    record.status = rpc(&context);
    record.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - begin);
    record.request_id = ServerMetadata(context, kPlatformRequestIdKey);
    google::rpc::RequestInfo request_info;
    if (record.request_id.empty() && UnpackDetail(record.status, &request_info)) {
      record.request_id = request_info.request_id();
    }
    return record;
  }

  // Prints one transcript line: number, RPC, outcome and result, then (after "|", aligned unless
  // the result is long) the correlation ID sent, the platform request ID returned and the latency.
  void Print(absl::string_view rpc, const CallRecord& record, absl::string_view outcome,
             absl::string_view result) {
    char head[64];
    std::snprintf(head, sizeof(head), " %02d %-21.*s %-8.*s", calls_, static_cast<int>(rpc.size()),
                  rpc.data(), static_cast<int>(outcome.size()), outcome.data());
    std::string line = absl::StrCat(head, result);
    if (line.size() < kResultColumnEnd) line.resize(kResultColumnEnd, ' ');
    char latency[32];
    std::snprintf(latency, sizeof(latency), "%.1f ms", record.latency.count() / 1000.0);
    absl::StrAppend(&line, " | ", record.correlation_id, "  ",
                    record.request_id.empty() ? "(no request ID)" : record.request_id, "  ",
                    latency);
    Say(line);
  }

  // Runs `rpc`, prints its line (`summary()` on success, the error otherwise) and returns whether
  // it succeeded. A failure is remembered for the final message.
  bool Step(absl::string_view name, Kind kind,
            const std::function<grpc::Status(grpc::ClientContext*)>& rpc,
            const std::function<std::string()>& summary) {
    CallRecord record = Invoke(kind, rpc);
    if (record.status.ok()) {
      Print(name, record, "OK", summary());
      return true;
    }
    const std::string error = DescribeError(record.status);
    Print(name, record, "ERROR", error);
    return Fail(absl::StrCat(name, " failed: ", error, " (x-correlation-id ", record.correlation_id,
                             record.request_id.empty() ? "" : ", platform request ",
                             record.request_id, ")"));
  }

  bool Fail(std::string message) {
    failure_ = std::move(message);
    return false;
  }

  milliseconds Remaining() const {
    return std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now());
  }

  // The platform's poll hint divided by --poll-scale.
  milliseconds Scaled(milliseconds hint) const {
    return milliseconds(static_cast<int64_t>(hint.count() / flags_.poll_scale));
  }

  // "; next poll in 150 ms (hint 3 s / 20)": the wait the platform asked for, scaled.
  std::string WaitNote(milliseconds hint) const {
    char text[96];
    std::snprintf(text, sizeof(text), "; next poll in %lld ms (hint %g s / %g)",
                  static_cast<long long>(Scaled(hint).count()), hint.count() / 1000.0,
                  flags_.poll_scale);
    return text;
  }

  // Sleeps for the scaled hint. Returns false (with a failure message) when the budget would run
  // out first.
  bool Wait(milliseconds hint, absl::string_view waiting_for) {
    const milliseconds wait = Scaled(hint);
    if (wait >= Remaining()) {
      return Fail(absl::StrCat("gave up waiting for ", waiting_for, ": the --timeout budget of ",
                               flags_.timeout.count() / 1000.0, " s ran out"));
    }
    std::this_thread::sleep_for(wait);
    return true;
  }

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
  bool AwaitStatus(hl::JourneyLifecycleStatus target, milliseconds first_hint) {
    milliseconds hint = first_hint;
    if (hint.count() > 0 && !Wait(hint, Name(target))) return false;
    for (;;) {
      hl::GetJourneyStateRequest request;
      Scope(&request);
      hl::GetJourneyStateResponse response;
      bool done = false;
      const bool ok = Step(
          "GetJourneyState", Kind::kRead,
          [&](grpc::ClientContext* c) { return journeys_->GetJourneyState(c, request, &response); },
          [&] {
            const hl::JourneyState& state = response.state();
            done = state.status() == target;
            if (state.poll_after_seconds() > 0) {
              hint = milliseconds(state.poll_after_seconds() * 1000);
            }
            if (hint.count() <= 0) hint = kDefaultPollHint;
            std::string text = Describe(state);
            if (!done) absl::StrAppend(&text, WaitNote(hint));
            return text;
          });
      if (!ok) return false;
      if (done) return true;
      const hl::JourneyState& state = response.state();
      switch (state.status()) {
        case hl::JOURNEY_LIFECYCLE_STATUS_REJECTED:
        case hl::JOURNEY_LIFECYCLE_STATUS_EXPIRED:
        case hl::JOURNEY_LIFECYCLE_STATUS_CLOSED:
          return Fail(absl::StrCat("the journey ended ", Name(state.status()), " instead of ",
                                   Name(target)));
        default:
          break;
      }
      if (!Wait(hint, Name(target))) return false;
    }
  }

  // Reads a REDIRECT step until it reports SUCCESS: the first read while READY issues the
  // redirect (IN_PROGRESS), the next read after the borrower's return completes it.
  template <typename Request, typename Response>
  bool CompleteRedirectStep(absl::string_view name,
                            grpc::Status (hl::StepsService::Stub::*method)(grpc::ClientContext*,
                                                                           const Request&,
                                                                           Response*)) {
    for (int read = 0; read < 3; ++read) {
      Request request;
      OfferScope(&request);
      Response response;
      if (!Step(
              name, Kind::kRead,
              [&](grpc::ClientContext* c) {
                return (steps_.get()->*method)(c, request, &response);
              },
              [&] { return DescribeStep(response.step()); })) {
        return false;
      }
      if (response.step().status() == hl::STEP_STATUS_SUCCESS) return true;
    }
    return Fail(absl::StrCat(name, " did not reach SUCCESS after three reads"));
  }

  // "OFFERS_PENDING, next WAIT_FOR_OFFERS"; the action is left out when there is none.
  static std::string Describe(const hl::JourneyState& state) {
    std::string text = Name(state.status());
    if (state.next_action() != hl::JOURNEY_ACTION_UNSPECIFIED) {
      absl::StrAppend(&text, ", next ", Name(state.next_action()));
    }
    return text;
  }

  static std::string DescribeStep(const hl::Step& step) {
    std::string text = absl::StrCat(Name(step.status()), ", action ", Name(step.action_required()));
    if (!step.resource().redirect_url().empty()) {
      absl::StrAppend(&text, ", redirect ", UrlHost(step.resource().redirect_url()));
    }
    return text;
  }

  bool RunHeadless() {
    Say(absl::StrCat("\n== Headless journey: borrowerExternalID ", flags_.borrower));

    hl::CreateSessionRequest session_request;
    session_request.mutable_session()->set_borrower_external_id(flags_.borrower);
    session_request.mutable_session()->set_journey_type(cm::JOURNEY_TYPE_PERSONAL_LOAN);
    hl::CreateSessionResponse session;
    if (!Step(
            "CreateSession", Kind::kWrite,
            [&](grpc::ClientContext* c) {
              return sessions_->CreateSession(c, session_request, &session);
            },
            [&] {
              return absl::StrCat("session ", TokenPrefix(session.session_token()), " until ",
                                  session.session_expires_at(),
                                  session.active_journey().journey_id().empty()
                                      ? ", no active journey"
                                      : ", resumes an active journey");
            })) {
      return false;
    }

    hl::CreateJourneyRequest create;
    create.set_borrower_external_id(flags_.borrower);
    create.mutable_journey()->set_type(cm::JOURNEY_TYPE_PERSONAL_LOAN);
    hl::CreateJourneyResponse created;
    if (!Step(
            "CreateJourney", Kind::kWrite,
            [&](grpc::ClientContext* c) { return journeys_->CreateJourney(c, create, &created); },
            [&] {
              journey_id_ = created.journey().journey_id();
              std::lock_guard<std::mutex> lock(events_mu_);
              watched_journey_ = journey_id_;
              return absl::StrCat("journey ", journey_id_, " ", Name(created.journey().status()),
                                  ", next ", Name(created.journey().next_action()));
            })) {
      return false;
    }

    // Sample borrower data; the transcript never prints it.
    hl::UpdateProfileRequest update;
    Scope(&update);
    cm::PersonalProfile* personal = update.mutable_profile()->mutable_profile();
    personal->set_contact_number("9876543210");
    personal->set_pan("ABCDE1234F");
    personal->set_pan_name("Asha Verma");
    personal->set_dob("1992-04-18");
    personal->set_gender(cm::GENDER_FEMALE);
    personal->set_personal_email("asha.verma@example.com");
    cm::WorkProfile* work = update.mutable_profile()->mutable_work_profile();
    work->set_employment_type(cm::EMPLOYMENT_TYPE_SALARIED);
    work->set_income("85000");
    work->set_company_name("Example Analytics Pvt Ltd");
    cm::Address* address = update.mutable_profile()->mutable_address();
    address->set_address_l1("12 MG Road");
    address->set_city("Pune");
    address->set_state("Maharashtra");
    address->set_pincode("411001");
    hl::UpdateProfileResponse updated;
    if (!Step(
            "UpdateProfile", Kind::kWrite,
            [&](grpc::ClientContext* c) { return profile_->UpdateProfile(c, update, &updated); },
            [&] {
              const int missing = updated.profile().required_fields_size();
              return missing == 0 ? std::string("profile saved, no required field missing")
                                  : absl::StrCat("profile saved, ", missing,
                                                 " required fields still missing");
            })) {
      return false;
    }

    hl::SubmitProfileRequest submit;
    Scope(&submit);
    submit.mutable_submission()->set_bureau_consent(true);
    hl::SubmitProfileResponse submitted;
    milliseconds hint = kDefaultPollHint;
    if (!Step(
            "SubmitProfile", Kind::kWrite,
            [&](grpc::ClientContext* c) { return profile_->SubmitProfile(c, submit, &submitted); },
            [&] {
              const hl::Operation& op = submitted.operation();
              if (op.poll_after_seconds() > 0) hint = milliseconds(op.poll_after_seconds() * 1000);
              return absl::StrCat(Name(op.status()), " ", op.operation_id(), WaitNote(hint));
            })) {
      return false;
    }
    if (submitted.operation().status() != hl::OPERATION_STATUS_ACCEPTED) {
      return Fail("SubmitProfile was not ACCEPTED");
    }
    if (!AwaitStatus(hl::JOURNEY_LIFECYCLE_STATUS_OFFERS_AVAILABLE, hint)) return false;

    // Offers: prefer one that needs Account Aggregator consent, so that the AA flow is part of
    // the journey; keep another received offer to show the offer lock.
    hl::ListOffersRequest list;
    Scope(&list);
    hl::ListOffersResponse offers;
    std::string other_offer_id;
    bool needs_aa = false;
    if (!Step(
            "ListOffers", Kind::kRead,
            [&](grpc::ClientContext* c) { return offers_->ListOffers(c, list, &offers); },
            [&] {
              int received = 0, awaited = 0, none = 0, with_aa = 0;
              std::string plain;
              for (const hl::OfferCard& card : offers.items()) {
                switch (card.status()) {
                  case hl::OFFER_CARD_STATUS_OFFER_RECEIVED:
                    ++received;
                    if (card.aa().required()) {
                      ++with_aa;
                      if (!needs_aa) offer_id_ = card.offer_id();
                      needs_aa = true;
                    } else if (plain.empty()) {
                      plain = card.offer_id();
                    }
                    break;
                  case hl::OFFER_CARD_STATUS_OFFER_AWAITED:
                    ++awaited;
                    break;
                  default:
                    ++none;
                }
              }
              if (!needs_aa) offer_id_ = plain;
              if (needs_aa) other_offer_id = plain;
              return absl::StrCat(offers.items_size(), " lenders: ", received, " received (",
                                  with_aa, " needing AA), ", awaited, " awaited, ", none,
                                  " no offer");
            })) {
      return false;
    }
    if (offer_id_.empty()) return Fail("ListOffers returned no received offer to proceed with");

    hl::GetOfferRequest get_offer;
    OfferScope(&get_offer);
    hl::GetOfferResponse offer;
    if (!Step(
            "GetOffer", Kind::kRead,
            [&](grpc::ClientContext* c) { return offers_->GetOffer(c, get_offer, &offer); },
            [&] {
              const hl::OfferDetail& detail = offer.offer();
              return absl::StrCat(detail.lender_name(), ": INR ", detail.amount_principal(), " at ",
                                  detail.interest_rate(), "% for ", detail.offer_term(),
                                  detail.aa().required() ? ", needs AA" : "", ", ",
                                  Name(detail.proceed_boundary_state()));
            })) {
      return false;
    }
    lender_name_ = offer.offer().lender_name();

    hl::ProceedOfferRequest proceed;
    OfferScope(&proceed);
    hl::ProceedOfferResponse proceeded;
    if (!Step(
            "ProceedOffer", Kind::kWrite,
            [&](grpc::ClientContext* c) { return offers_->ProceedOffer(c, proceed, &proceeded); },
            [&] {
              return absl::StrCat(lender_name_, " offer ", Name(proceeded.status()), ", ",
                                  Name(proceeded.proceed_boundary_state()));
            })) {
      return false;
    }

    if (!other_offer_id.empty() && !ShowOfferLock(other_offer_id)) return false;
    if (needs_aa && !RunAccountAggregator()) return false;
    if (!RunSteps()) return false;
    if (!AwaitStatus(hl::JOURNEY_LIFECYCLE_STATUS_DISBURSED, milliseconds(0))) return false;
    if (!AwaitHeadlessEvent()) return false;

    hl::RefreshLoanStatusRequest loan_status;
    Scope(&loan_status);
    hl::RefreshLoanStatusResponse loan_status_response;
    return Step(
        "RefreshLoanStatus", Kind::kWrite,
        [&](grpc::ClientContext* c) {
          return post_->RefreshLoanStatus(c, loan_status, &loan_status_response);
        },
        [&] {
          const hl::Operation& op = loan_status_response.operation();
          return absl::StrCat("post-disbursal status ", Name(op.status()), " ", op.operation_id(),
                              ", poll after ", op.poll_after_seconds(), " s");
        });
  }

  // A second ProceedOffer on another offer: the first proceed holds the lock, so the gateway
  // answers FAILED_PRECONDITION with ErrorInfo reason OFFER_LOCK_CONFLICT. Anything else fails.
  bool ShowOfferLock(const std::string& other_offer_id) {
    hl::ProceedOfferRequest proceed;
    Scope(&proceed);
    proceed.set_offer_id(other_offer_id);
    hl::ProceedOfferResponse response;
    CallRecord record = Invoke(Kind::kWrite, [&](grpc::ClientContext* c) {
      return offers_->ProceedOffer(c, proceed, &response);
    });
    google::rpc::ErrorInfo info;
    if (record.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
        UnpackDetail(record.status, &info) && info.reason() == "OFFER_LOCK_CONFLICT") {
      Print("ProceedOffer", record, "REFUSED",
            absl::StrCat("another offer (expected, the first proceed holds the lock): ",
                         DescribeError(record.status)));
      return true;
    }
    const std::string outcome =
        record.status.ok() ? std::string("OK") : DescribeError(record.status);
    Print("ProceedOffer", record, "UNEXPECTED", outcome);
    return Fail(
        absl::StrCat("a second ProceedOffer should fail with OFFER_LOCK_CONFLICT, got ", outcome));
  }

  // Account Aggregator consent for the chosen offer: create the consent session (redirect URL),
  // the borrower returns (complete), and reconciliation confirms it.
  bool RunAccountAggregator() {
    hl::GetJourneyStateRequest state_request;
    Scope(&state_request);
    hl::GetJourneyStateResponse state;
    if (!Step(
            "GetJourneyState", Kind::kRead,
            [&](grpc::ClientContext* c) {
              return journeys_->GetJourneyState(c, state_request, &state);
            },
            [&] { return Describe(state.state()); })) {
      return false;
    }

    hl::CreateAaSessionRequest create;
    Scope(&create);
    create.mutable_aa_session()->set_offer_id(offer_id_);
    hl::CreateAaSessionResponse created;
    if (!Step(
            "CreateAaSession", Kind::kWrite,
            [&](grpc::ClientContext* c) { return aa_->CreateAaSession(c, create, &created); },
            [&] {
              const hl::AaSession& aa = created.aa_session();
              return absl::StrCat("consent ", Name(aa.state()), ", redirect ",
                                  UrlHost(aa.redirect_url()), " until ", aa.expires_at());
            })) {
      return false;
    }
    const std::string aa_session_id = created.aa_session().aa_session_id();

    hl::CompleteAaSessionRequest complete;
    Scope(&complete);
    complete.set_aa_session_id(aa_session_id);
    hl::CompleteAaSessionResponse completed;
    if (!Step(
            "CompleteAaSession", Kind::kWrite,
            [&](grpc::ClientContext* c) { return aa_->CompleteAaSession(c, complete, &completed); },
            [&] {
              return absl::StrCat("borrower returned, consent ",
                                  Name(completed.aa_session().state()));
            })) {
      return false;
    }

    hl::ReconcileAaSessionRequest reconcile;
    Scope(&reconcile);
    reconcile.set_aa_session_id(aa_session_id);
    hl::ReconcileAaSessionResponse reconciled;
    if (!Step(
            "ReconcileAaSession", Kind::kWrite,
            [&](grpc::ClientContext* c) {
              return aa_->ReconcileAaSession(c, reconcile, &reconciled);
            },
            [&] { return absl::StrCat("consent ", Name(reconciled.aa_session().state())); })) {
      return false;
    }
    if (reconciled.aa_session().state() != hl::AA_SESSION_STATE_CONFIRMED) {
      return Fail("the AA consent was not CONFIRMED after reconciliation");
    }
    return true;
  }

  // The lender's steps for the locked offer, in order.
  bool RunSteps() {
    hl::ListStepsRequest list;
    OfferScope(&list);
    hl::ListStepsResponse steps;
    if (!Step(
            "ListSteps", Kind::kRead,
            [&](grpc::ClientContext* c) { return steps_->ListSteps(c, list, &steps); },
            [&] {
              return absl::StrCat("kyc ", Name(steps.kyc().status()), ", bank mandate ",
                                  Name(steps.bank_mandate().status()), ", e-mandate ",
                                  Name(steps.e_mandate().status()), ", agreement ",
                                  Name(steps.loan_agreement().status()), ", disbursal ",
                                  Name(steps.disbursal().status()));
            })) {
      return false;
    }

    // KYC: reading the step issues the redirect; its status endpoint completes it once the
    // borrower is back.
    hl::GetKycStepRequest kyc_request;
    OfferScope(&kyc_request);
    hl::GetKycStepResponse kyc;
    if (!Step(
            "GetKycStep", Kind::kRead,
            [&](grpc::ClientContext* c) { return steps_->GetKycStep(c, kyc_request, &kyc); },
            [&] { return DescribeStep(kyc.step()); })) {
      return false;
    }
    hl::GetKycStatusRequest kyc_status_request;
    OfferScope(&kyc_status_request);
    hl::GetKycStatusResponse kyc_status;
    if (!Step(
            "GetKycStatus", Kind::kRead,
            [&](grpc::ClientContext* c) {
              return steps_->GetKycStatus(c, kyc_status_request, &kyc_status);
            },
            [&] { return DescribeStep(kyc_status.step()); })) {
      return false;
    }
    if (kyc_status.step().status() != hl::STEP_STATUS_SUCCESS) {
      return Fail("KYC did not reach SUCCESS");
    }

    hl::GetBankMandateStepRequest mandate_request;
    OfferScope(&mandate_request);
    hl::GetBankMandateStepResponse mandate;
    if (!Step(
            "GetBankMandateStep", Kind::kRead,
            [&](grpc::ClientContext* c) {
              return steps_->GetBankMandateStep(c, mandate_request, &mandate);
            },
            [&] {
              std::string text = DescribeStep(mandate.step());
              const auto& form = mandate.step().resource().form().fields();
              auto fields = form.find("fields");
              if (fields != form.end() && fields->second.has_list_value()) {
                absl::StrAppend(&text, ", form with ", fields->second.list_value().values_size(),
                                " fields");
              }
              return text;
            })) {
      return false;
    }
    hl::SubmitBankMandateRequest submit_mandate;
    OfferScope(&submit_mandate);
    hl::BankAccount* account = submit_mandate.mutable_bank_account();
    account->set_account_holder_name("Asha Verma");
    account->set_account_number("501002345678");
    account->set_ifsc("HDFC0001234");
    account->set_account_type("savings");
    hl::SubmitBankMandateResponse submitted_mandate;
    if (!Step(
            "SubmitBankMandate", Kind::kWrite,
            [&](grpc::ClientContext* c) {
              return steps_->SubmitBankMandate(c, submit_mandate, &submitted_mandate);
            },
            [&] { return DescribeStep(submitted_mandate.step()); })) {
      return false;
    }

    return CompleteRedirectStep("GetEMandateStep", &hl::StepsService::Stub::GetEMandateStep) &&
           CompleteRedirectStep("GetLoanAgreementStep",
                                &hl::StepsService::Stub::GetLoanAgreementStep);
  }

  bool RunHybrid() {
    const std::string borrower = absl::StrCat(flags_.borrower, "-HYBRID");
    Say(absl::StrCat("\n== Hybrid journey: borrower_provider_id ", borrower));

    hy::StartJourneyRequest start;
    start.set_borrower_provider_id(borrower);
    cm::PersonalProfile* personal = start.mutable_prefill()->mutable_personal();
    personal->set_contact_number("9876543211");
    personal->set_pan_name("Asha Verma");
    hy::StartJourneyResponse started;
    milliseconds hint = kDefaultPollHint;
    if (!Step(
            "StartJourney", Kind::kWrite,
            [&](grpc::ClientContext* c) { return hybrid_->StartJourney(c, start, &started); },
            [&] {
              const hy::HybridJourney& journey = started.journey();
              if (journey.poll_after_ms() > 0) hint = milliseconds(journey.poll_after_ms());
              return absl::StrCat("journey ", journey.journey_id(), " ", Name(journey.status()),
                                  journey.resumed() ? " (resumed)" : "", WaitNote(hint));
            })) {
      return false;
    }

    // Polls until an offer can be handed off: OFFERED with a received offer, or, for a journey
    // resumed after an earlier hand-off (same --borrower), the offer it selected then.
    std::string offer_id;
    std::string offer_lender;
    for (;;) {
      if (!Wait(hint, "Hybrid offers")) return false;
      hy::PollOffersRequest poll;
      poll.set_borrower_provider_id(borrower);
      hy::PollOffersResponse polled;
      bool ready = false;
      if (!Step(
              "PollOffers", Kind::kRead,
              [&](grpc::ClientContext* c) { return hybrid_->PollOffers(c, poll, &polled); },
              [&] {
                const hy::HybridOffers& offers = polled.offers();
                if (offers.poll_after_ms() > 0) hint = milliseconds(offers.poll_after_ms());
                // Lender names sorted, so that the chosen offer does not depend on map order.
                std::vector<std::string> names;
                for (const auto& [name, lender] : offers.lenders()) names.push_back(name);
                std::sort(names.begin(), names.end());
                int received = 0;
                bool selected = false;
                offer_id.clear();
                for (const std::string& name : names) {
                  for (const hy::HybridOffer& offer : offers.lenders().at(name).offers()) {
                    if (offer.status() != hy::HYBRID_OFFER_STATUS_OFFER_RECEIVED) continue;
                    ++received;
                    if (offer_id.empty() || (offer.selected() && !selected)) {
                      offer_id = offer.offer_id();
                      offer_lender = name;
                      selected = offer.selected();
                    }
                  }
                }
                ready = offers.status() == cm::EXPERIENCE_STATUS_OFFERED ? received > 0 : selected;
                std::string text = Name(offers.status());
                if (offers.lenders_size() > 0) {
                  absl::StrAppend(&text, ", ", offers.lenders_size(), " lenders, ", received,
                                  received == 1 ? " offer" : " offers", " received");
                }
                if (selected) absl::StrAppend(&text, ", ", offer_lender, " selected earlier");
                if (offers.has_account_aggregator()) {
                  absl::StrAppend(
                      &text, ", AA ",
                      Short(hy::AccountAggregatorStatus_Name(offers.account_aggregator().status()),
                            "ACCOUNT_AGGREGATOR_STATUS_"));
                }
                if (!ready && offers.status() != cm::EXPERIENCE_STATUS_NOT_OFFERED) {
                  absl::StrAppend(&text, WaitNote(hint));
                }
                return text;
              })) {
        return false;
      }
      if (ready) break;
      switch (polled.offers().status()) {
        case cm::EXPERIENCE_STATUS_NOT_OFFERED:
          return Fail("the Hybrid journey ended NOT_OFFERED: no lender made an offer");
        case cm::EXPERIENCE_STATUS_REJECTED:
        case cm::EXPERIENCE_STATUS_DISBURSED:
          return Fail(absl::StrCat("the Hybrid journey is already ", Name(polled.offers().status()),
                                   " with no offer to hand off"));
        default:
          break;
      }
    }

    hy::GetHostedUrlRequest hand_off;
    hand_off.set_borrower_provider_id(borrower);
    hand_off.set_offer_id(offer_id);
    hy::GetHostedUrlResponse url;
    if (!Step(
            "GetHostedUrl", Kind::kRead,
            [&](grpc::ClientContext* c) { return hybrid_->GetHostedUrl(c, hand_off, &url); },
            [&] {
              return absl::StrCat(offer_lender, " offer: hosted URL ",
                                  UrlHost(url.hand_off().hosted_url()), " until ",
                                  url.hand_off().expires_at());
            })) {
      return false;
    }
    // The web-hook for OFFERED left the platform when the journey got there; give it a moment to
    // show up in the transcript. Not a failure when it does not: the headless journey proved the
    // path.
    if (!streams_.empty()) {
      AwaitEvent([this] { return hybrid_seen_.count("OFFERED") > 0; });
    }
    return true;
  }

  // --- Live events -----------------------------------------------------------------------------

  // Subscribes --webhook-url for the platform's web-hooks and opens one WatchJourneyEvents stream
  // for the headless borrower and one for the Hybrid borrower. Both must be open before the
  // journeys start: a stream only carries events accepted after it opened.
  bool StartLiveEvents() {
    Say(absl::StrCat("\n== Live events: platform web-hooks → ", flags_.webhook_url,
                     " → WatchJourneyEvents"));
    wh::SubscribeWebhooksRequest subscribe;
    subscribe.mutable_subscription()->set_url(flags_.webhook_url);
    wh::SubscribeWebhooksResponse subscribed;
    if (!Step(
            "SubscribeWebhooks", Kind::kWrite,
            [&](grpc::ClientContext* c) {
              return webhooks_->SubscribeWebhooks(c, subscribe, &subscribed);
            },
            [&] {
              const wh::WebhookConfiguration& config = subscribed.configuration();
              return absl::StrCat(config.webhook_enabled() ? "deliveries enabled" : "NOT enabled",
                                  " to ", config.webhook_url());
            })) {
      return false;
    }
    subscribed_ = true;
    if (!subscribed.configuration().webhook_enabled()) {
      return Fail("SubscribeWebhooks answered, but deliveries are not enabled");
    }
    const std::string hybrid_borrower = absl::StrCat(flags_.borrower, "-HYBRID");
    ev::WatchJourneyEventsRequest headless;
    headless.set_borrower_external_id(flags_.borrower);
    OpenStream(std::move(headless), "headless");
    ev::WatchJourneyEventsRequest hybrid;
    hybrid.set_borrower_provider_id(hybrid_borrower);
    OpenStream(std::move(hybrid), "hybrid");
    Say(absl::StrCat("    WatchJourneyEvents open for borrowerExternalID ", flags_.borrower,
                     " and borrower_provider_id ", hybrid_borrower,
                     "; events print as they arrive (⇢)"));
    return true;
  }

  void OpenStream(ev::WatchJourneyEventsRequest request, absl::string_view label) {
    const std::string name(label);
    streams_.push_back(std::make_unique<EventStream>(
        events_.get(), std::move(request), absl::StrCat("demo-", run_id_, "-events-", name),
        [this](const ev::JourneyEvent& event) { OnEvent(event); },
        [name](const grpc::Status& status) {
          Say(absl::StrCat("   ⇢ the ", name,
                           " event stream ended early: ", DescribeError(status)));
        }));
  }

  // Prints one event line and records which statuses the events reported. Runs on gRPC threads.
  void OnEvent(const ev::JourneyEvent& event) {
    std::string line = absl::StrCat("   ⇢ event ", event.event_id(), " journey.snapshot ");
    std::lock_guard<std::mutex> lock(events_mu_);
    if (event.has_headless()) {
      ++headless_events_;
      const auto& journeys = event.headless().borrower().journeys();
      // The demo's journey; every journey of the snapshot until CreateJourney has answered (or
      // when the borrower's snapshot does not list it).
      bool listed = false;
      for (const auto& journey : journeys) listed |= journey.journey_id() == watched_journey_;
      std::string described;
      for (const auto& journey : journeys) {
        if (listed && journey.journey_id() != watched_journey_) continue;
        const std::string status = Name(journey.status());
        headless_seen_.insert(status);
        absl::StrAppend(&described, described.empty() ? "" : "; ", status, " (journey ",
                        journey.journey_id(), ")");
      }
      absl::StrAppend(&line, described.empty() ? "(no journeys)" : described, ", trigger ",
                      event.headless().issuer().trigger());
    } else if (event.has_experience()) {
      ++hybrid_events_;
      const wh::SnapshotJourney& journey = event.experience().borrower().journey();
      const std::string status = Name(journey.status());
      hybrid_seen_.insert(status);
      absl::StrAppend(&line, status, " (journey ", journey.id(), "), surface ",
                      event.experience().current_experience_surface());
    } else {
      absl::StrAppend(&line, "(no snapshot)");
    }
    Say(line);
    events_cv_.notify_all();
  }

  // Waits until `seen` (called with events_mu_ held) is true, for at most kEventWait and never
  // past the demo's budget. Returns whether it became true.
  bool AwaitEvent(const std::function<bool()>& seen) {
    const Clock::time_point until = std::min(Clock::now() + kEventWait, deadline_);
    std::unique_lock<std::mutex> lock(events_mu_);
    return events_cv_.wait_until(lock, until, seen);
  }

  // With live events: waits for the event that reports the headless journey DISBURSED. Fails when
  // no event at all arrived for the journey, since then the web-hook path is broken.
  bool AwaitHeadlessEvent() {
    if (streams_.empty()) return true;
    if (AwaitEvent([this] { return headless_seen_.count("DISBURSED") > 0; })) return true;
    std::lock_guard<std::mutex> lock(events_mu_);
    if (headless_seen_.empty()) {
      return Fail(absl::StrCat(
          "no live event arrived for journey ", journey_id_,
          ": check that the sandbox and the gateway share the web-hook secret and that ",
          flags_.webhook_url, " reaches the gateway's HTTP listener"));
    }
    Say(absl::StrCat("   ⇢ (no event reported DISBURSED within ", kEventWait.count() / 1000,
                     " s; continuing)"));
    return true;
  }

  // Cancels the event streams, waits until they are closed, and unsubscribes the web-hook URL.
  bool StopLiveEvents() {
    for (const std::unique_ptr<EventStream>& stream : streams_) stream->Close();
    if (!streams_.empty()) {
      std::lock_guard<std::mutex> lock(events_mu_);
      Say(absl::StrCat("    WatchJourneyEvents streams closed (TryCancel): ", headless_events_,
                       " headless and ", hybrid_events_, " Hybrid events received"));
    }
    streams_.clear();
    if (!subscribed_) return true;
    wh::UnsubscribeWebhooksRequest unsubscribe;
    wh::UnsubscribeWebhooksResponse unsubscribed;
    return Step(
        "UnsubscribeWebhooks", Kind::kWrite,
        [&](grpc::ClientContext* c) {
          return webhooks_->UnsubscribeWebhooks(c, unsubscribe, &unsubscribed);
        },
        [&] {
          return unsubscribed.configuration().webhook_enabled() ? std::string("still enabled")
                                                                : std::string("deliveries off");
        });
  }

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

int Main(int argc, char** argv) {
  Flags flags;
  int exit_code = 0;
  if (!ParseFlags(argc, argv, &flags, &exit_code)) return exit_code;

  std::shared_ptr<grpc::Channel> channel = client::CreateInsecureChannel(flags.gateway);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + kConnectTimeout)) {
    std::cerr << "aarthik-demo-client: cannot connect to the gateway at " << flags.gateway
              << " within " << kConnectTimeout.count() / 1000
              << " s; is aarthik-gateway running there?" << std::endl;
    return 1;
  }
  return Demo(channel, std::move(flags)).Run();
}

}  // namespace
}  // namespace aarthik::demo

int main(int argc, char** argv) { return aarthik::demo::Main(argc, argv); }
