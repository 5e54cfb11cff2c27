// Demo's RPC plumbing (one transcript line per call, deadlines, correlation IDs) and its polling;
// see demo.h.
#include "demo.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "aarthik/client/client.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/rpc/error_details.pb.h"

namespace aarthik::demo {
namespace {

// Metadata key under which the gateway returns the platform's request ID.
constexpr char kPlatformRequestIdKey[] = "x-platform-request-id";

// Transcript lines pad the result to this column before the IDs.
constexpr size_t kResultColumnEnd = 104;

}  // namespace

Demo::Demo(std::shared_ptr<grpc::Channel> channel, Flags flags)
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

int Demo::Run() {
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

CallRecord Demo::Invoke(Kind kind, const std::function<grpc::Status(grpc::ClientContext*)>& rpc) {
  ++calls_;
  client::CallOptions options =
      kind == Kind::kWrite ? client::WriteOptions() : client::CallOptions();
  options.timeout = std::min(options.timeout, Remaining());
  options.correlation_id = absl::StrCat("demo-", run_id_, "-", absl::Dec(calls_, absl::kZeroPad2));
  CallRecord record;
  record.correlation_id = options.correlation_id;
  if (options.timeout.count() <= 0) {
    record.status =
        grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "the demo's --timeout budget is used up");
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

void Demo::Print(absl::string_view rpc, const CallRecord& record, absl::string_view outcome,
                 absl::string_view result) {
  char head[64];
  std::snprintf(head, sizeof(head), " %02d %-21.*s %-8.*s", calls_, static_cast<int>(rpc.size()),
                rpc.data(), static_cast<int>(outcome.size()), outcome.data());
  std::string line = absl::StrCat(head, result);
  if (line.size() < kResultColumnEnd) line.resize(kResultColumnEnd, ' ');
  char latency[32];
  std::snprintf(latency, sizeof(latency), "%.1f ms", record.latency.count() / 1000.0);
  absl::StrAppend(&line, " | ", record.correlation_id, "  ",
                  record.request_id.empty() ? "(no request ID)" : record.request_id, "  ", latency);
  Say(line);
}

bool Demo::Step(absl::string_view name, Kind kind,
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

bool Demo::Fail(std::string message) {
  failure_ = std::move(message);
  return false;
}

milliseconds Demo::Remaining() const {
  return std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now());
}

milliseconds Demo::Scaled(milliseconds hint) const {
  return milliseconds(static_cast<int64_t>(hint.count() / flags_.poll_scale));
}

std::string Demo::WaitNote(milliseconds hint) const {
  char text[96];
  std::snprintf(text, sizeof(text), "; next poll in %lld ms (hint %g s / %g)",
                static_cast<long long>(Scaled(hint).count()), hint.count() / 1000.0,
                flags_.poll_scale);
  return text;
}

bool Demo::Wait(milliseconds hint, absl::string_view waiting_for) {
  const milliseconds wait = Scaled(hint);
  if (wait >= Remaining()) {
    return Fail(absl::StrCat("gave up waiting for ", waiting_for, ": the --timeout budget of ",
                             flags_.timeout.count() / 1000.0, " s ran out"));
  }
  std::this_thread::sleep_for(wait);
  return true;
}

bool Demo::AwaitStatus(hl::JourneyLifecycleStatus target, milliseconds first_hint) {
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
        return Fail(
            absl::StrCat("the journey ended ", Name(state.status()), " instead of ", Name(target)));
      default:
        break;
    }
    if (!Wait(hint, Name(target))) return false;
  }
}

std::string Demo::Describe(const hl::JourneyState& state) {
  std::string text = Name(state.status());
  if (state.next_action() != hl::JOURNEY_ACTION_UNSPECIFIED) {
    absl::StrAppend(&text, ", next ", Name(state.next_action()));
  }
  return text;
}

std::string Demo::DescribeStep(const hl::Step& step) {
  std::string text = absl::StrCat(Name(step.status()), ", action ", Name(step.action_required()));
  if (!step.resource().redirect_url().empty()) {
    absl::StrAppend(&text, ", redirect ", UrlHost(step.resource().redirect_url()));
  }
  return text;
}

}  // namespace aarthik::demo
