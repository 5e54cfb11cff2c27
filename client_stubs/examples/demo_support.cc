// The command-line flags, transcript formatting and EventStream of aarthik-demo-client; see
// demo_support.h.
#include "demo_support.h"

#include <cstdint>
#include <iostream>
#include <utility>

#include "aarthik/client/client.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/rpc/error_details.pb.h"

namespace aarthik::demo {
namespace {

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

}  // namespace

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

std::string TokenPrefix(absl::string_view token) {
  const size_t first = token.find('_');
  const size_t second = first == absl::string_view::npos ? first : token.find('_', first + 1);
  if (second == absl::string_view::npos) return "<redacted>";
  return absl::StrCat(token.substr(0, second + 1), "…");
}

std::string UrlHost(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return url.empty() ? "<none>" : "<not a URL>";
  const size_t host_end = url.find_first_of("/?#", scheme_end + 3);
  if (host_end == absl::string_view::npos) return std::string(url);
  return absl::StrCat(url.substr(0, host_end), "/…");
}

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

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

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

void Say(absl::string_view line) {
  static std::mutex* const mu = new std::mutex;
  std::lock_guard<std::mutex> lock(*mu);
  std::cout << line << std::endl;
}

EventStream::EventStream(ev::JourneyEventsService::Stub* stub,
                         ev::WatchJourneyEventsRequest request, const std::string& correlation_id,
                         EventCallback on_event, EndCallback on_end)
    : request_(std::move(request)), on_event_(std::move(on_event)), on_end_(std::move(on_end)) {
  client::CallOptions options;
  options.timeout = milliseconds(0);  // a watch has no deadline; Close() ends it
  options.correlation_id = correlation_id;
  client::Prepare(&context_, options);
  stub->async()->WatchJourneyEvents(&context_, &request_, this);
  StartRead(&response_);
  StartCall();
}

grpc::Status EventStream::Close() {
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

void EventStream::OnReadDone(bool ok) {
  if (!ok) return;  // the stream is ending; OnDone follows
  on_event_(response_.event());
  StartRead(&response_);
}

void EventStream::OnDone(const grpc::Status& status) {
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

}  // namespace aarthik::demo
