// The pieces of aarthik-demo-client that do not depend on a journey: its command-line flags,
// transcript formatting (enum names without their prefix, redacted tokens and URLs, gRPC errors),
// the one place a transcript line is written, and the reactor that reads a WatchJourneyEvents
// stream. The journeys themselves are in demo.h.
//
// The namespace aliases and `Clock` below are for this program's own files only: nothing outside
// client_stubs/examples/ includes this header.
//
// Example:
//
//   Flags flags;
//   int exit_code = 0;
//   if (!ParseFlags(argc, argv, &flags, &exit_code)) return exit_code;
//   Say(absl::StrCat("journey ", Name(state.status())));  // "journey OFFERS_PENDING"
//   if (!status.ok()) Say(DescribeError(status));  // "FAILED_PRECONDITION OFFER_LOCK_CONFLICT …"
//
// Thread-safety: the free functions are thread-safe; `Say` serialises the lines of all threads.
// `EventStream` calls its callbacks on gRPC threads, one at a time per stream, and `Close` may be
// called from any thread.
#ifndef AARTHIK_CLIENT_STUBS_EXAMPLES_DEMO_SUPPORT_H_
#define AARTHIK_CLIENT_STUBS_EXAMPLES_DEMO_SUPPORT_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "aarthik/common/v1/borrower.pb.h"
#include "aarthik/events/v1/events.grpc.pb.h"
#include "aarthik/headless/v1/types.pb.h"
#include "absl/strings/string_view.h"
#include "google/rpc/status.pb.h"

namespace aarthik::demo {

namespace cm = ::aarthik::common::v1;
namespace ev = ::aarthik::events::v1;
namespace hl = ::aarthik::headless::v1;
namespace hy = ::aarthik::hybrid::v1;
namespace wh = ::aarthik::webhooks::v1;

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Used when the platform gives no poll hint (GetJourneyState may omit `pollAfterSeconds`): the
// platform's documented hint after a profile submission.
inline constexpr milliseconds kDefaultPollHint{3000};

struct Flags {
  std::string gateway;
  std::string borrower;
  double poll_scale = 1;
  milliseconds timeout{60000};
  std::string webhook_url;
};

// Parses argv into `flags`. On error or --help, sets `exit_code` (2 or 0) and returns false.
bool ParseFlags(int argc, char** argv, Flags* flags, int* exit_code);

// Strips `prefix` from a proto enum value name: ("JOURNEY_ACTION_VIEW_OFFERS", "JOURNEY_ACTION_")
// → "VIEW_OFFERS".
std::string Short(const std::string& name, absl::string_view prefix);

std::string Name(hl::JourneyLifecycleStatus value);
std::string Name(hl::JourneyAction value);
std::string Name(hl::StepStatus value);
std::string Name(hl::ActionRequired value);
std::string Name(hl::ProceedBoundaryState value);
std::string Name(hl::OperationStatus value);
std::string Name(hl::AaSessionState value);
std::string Name(hl::OfferStatus value);
std::string Name(cm::ExperienceStatus value);

// A token shown without its secret part: "st_test_9f8e…" → "st_test_…".
std::string TokenPrefix(absl::string_view token);

// A URL reduced to scheme and host: query strings and fragments may carry one-time tokens.
std::string UrlHost(absl::string_view url);

// What one RPC did, as far as the transcript is concerned.
struct CallRecord {
  grpc::Status status;
  std::string correlation_id;
  std::string request_id;
  std::chrono::microseconds latency{0};
};

// The value of `key` in the server's initial or trailing metadata, "" when absent.
std::string ServerMetadata(const grpc::ClientContext& context, absl::string_view key);

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
std::string CodeName(grpc::StatusCode code);

// "FAILED_PRECONDITION OFFER_LOCK_CONFLICT (proceedBoundaryState=…): message".
std::string DescribeError(const grpc::Status& status);

// Writes one transcript line (a newline is added) and flushes it. The event streams print from
// gRPC's callback threads, so every line goes through here and lines never interleave mid-way.
void Say(absl::string_view line);

// One WatchJourneyEvents stream read with gRPC's callback API: no thread of its own. Each event
// goes to `on_event` on a gRPC thread, in stream order. Close() (or the destructor) cancels the
// stream and waits until gRPC is done with it.
class EventStream : public grpc::ClientReadReactor<ev::WatchJourneyEventsResponse> {
 public:
  using EventCallback = std::function<void(const ev::JourneyEvent&)>;
  using EndCallback = std::function<void(const grpc::Status&)>;

  // Starts the call at once. `on_end` runs when the stream ends before Close() was called.
  EventStream(ev::JourneyEventsService::Stub* stub, ev::WatchJourneyEventsRequest request,
              const std::string& correlation_id, EventCallback on_event, EndCallback on_end);
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;
  ~EventStream() override { Close(); }

  // Cancels the stream (if it is still open) and returns its final status once gRPC has finished
  // with it: CANCELLED for a stream that was still running.
  grpc::Status Close();

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

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

}  // namespace aarthik::demo

#endif  // AARTHIK_CLIENT_STUBS_EXAMPLES_DEMO_SUPPORT_H_
