// aarthik-grpc-load: a closed-loop gRPC load generator for the gateway. It keeps `--concurrency`
// RPCs in flight (each completion starts the next call) for `--warmup` + `--duration` seconds, or
// until `--requests` calls have completed, checks the gRPC status of every reply (counted by code),
// records latency in a log-linear histogram (< 1 % error) and prints one JSON object on stdout.
// With `--pid=NAME:PID` it also reports, for the measured window only, that process's CPU seconds
// (utime + stime from /proc/PID/stat) and CPU microseconds per completed RPC, context switches per
// RPC (summed over its threads), its highest thread count (sampled every 50 ms) and its peak RSS
// (VmHWM); and the host's new TCP connections in the window (Tcp ActiveOpens: shows upstream
// connection churn).
//
// Example:
//
//   aarthik-grpc-load --target=127.0.0.1:50051 --rpc=state --borrower=BENCH_1
//       --concurrency=64 --channels=4 --warmup=2 --duration=10 --pid=gateway:12345
//   # {"rpc":"state","concurrency":64,...,"completed":123456,"rps":12345.6,
//   #  "codes":{"OK":123456},"latency_us":{"p50":...,"p99":...},"processes":{"gateway":{...}}}
//
// RPCs (`--rpc`):
//   health    grpc.health.v1.Health/Check with an empty request, served by the gateway itself
//             (generic stub, hand-encoded request: the health proto is not in Debian's headers).
//   state     aarthik.headless.v1.JourneysService/GetJourneyState for `--borrower`: a
//   borrower-session
//             read. Without `--journey` the journey is first created through the gateway
//             (CreateJourney); its id is reported as "journey_id".
//   features  aarthik.hosted.v1.HostedService/GetFeatures: an API-key read.
//
// `--channels=K` opens K channels, each with its own subchannel pool, so the calls spread over K
// HTTP/2 connections (one connection's stream limit cannot cap the load).
//
// `--client_api`: `async` (the default) is the lean client a benchmark wants next to wrk: requests
// encoded once, replies not decoded (only their status counts), `--client_threads` threads (1)
// each draining a completion queue of its own, as gRPC's own benchmark clients do. It spends a
// third less CPU per GetJourneyState than `callback` (the callback API with generated stubs and
// decoded replies: gRPC's callback threads hand each completion over), which the benchmarks used
// until 2026-12-06 (docs/benchmarks.md, "Ninth session").
//
// Thread-safety: a single-purpose program. Completions run on the client threads (async) or
// gRPC's callback threads; everything they share is atomic (counters, histogram buckets) or
// immutable after start (requests, stubs).
#include <dirent.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "aarthik/hosted/v1/hosted.grpc.pb.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace hl = aarthik::headless::v1;
namespace hosted = aarthik::hosted::v1;

// ---------------------------------------------------------------------------------------------------
// Flags.

struct Flags {
  std::string target = "127.0.0.1:50051";
  std::string rpc = "state";
  std::string borrower = "BENCH_1";
  std::string journey;
  int64_t concurrency = 64;
  int64_t channels = 4;
  double warmup_s = 1;
  double duration_s = 10;
  int64_t requests = 0;  // > 0: count mode (no warmup; every call is measured)
  int64_t deadline_ms = 30000;
  std::vector<std::pair<std::string, int>> pids;  // NAME:PID
  // --metadata=KEY:VALUE, sent with every call (e.g. authorization: Bearer <jwt>).
  std::vector<std::pair<std::string, std::string>> metadata;
  // async: --client_threads threads, each draining its own completion queue (the lean client, as
  // gRPC's own benchmark clients are); callback: the callback API with generated stubs.
  std::string client_api = "async";
  int64_t client_threads = 1;
};

[[noreturn]] void Usage(const std::string& message) {
  std::fprintf(stderr,
               "%s\nusage: aarthik-grpc-load --target=HOST:PORT --rpc=health|state|features "
               "[--borrower=ID] [--journey=UUID] [--concurrency=N] [--channels=K] [--warmup=S] "
               "[--duration=S | --requests=N] [--deadline_ms=MS] [--pid=NAME:PID]... "
               "[--metadata=KEY:VALUE]... [--client_api=async|callback] [--client_threads=N]\n",
               message.c_str());
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    const size_t eq = arg.find('=');
    if (arg.substr(0, 2) != "--" || eq == absl::string_view::npos)
      Usage(absl::StrCat("bad flag ", arg));
    const absl::string_view name = arg.substr(2, eq - 2);
    const absl::string_view value = arg.substr(eq + 1);
    auto integer = [&](int64_t* out) {
      if (!absl::SimpleAtoi(value, out)) Usage(absl::StrCat("bad value in ", arg));
    };
    auto real = [&](double* out) {
      if (!absl::SimpleAtod(value, out)) Usage(absl::StrCat("bad value in ", arg));
    };
    if (name == "target") {
      flags.target = std::string(value);
    } else if (name == "rpc") {
      flags.rpc = std::string(value);
    } else if (name == "borrower") {
      flags.borrower = std::string(value);
    } else if (name == "journey") {
      flags.journey = std::string(value);
    } else if (name == "concurrency") {
      integer(&flags.concurrency);
    } else if (name == "channels") {
      integer(&flags.channels);
    } else if (name == "warmup") {
      real(&flags.warmup_s);
    } else if (name == "duration") {
      real(&flags.duration_s);
    } else if (name == "requests") {
      integer(&flags.requests);
    } else if (name == "deadline_ms") {
      integer(&flags.deadline_ms);
    } else if (name == "pid") {
      std::vector<std::string> parts = absl::StrSplit(value, ':');
      int pid = 0;
      if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &pid)) Usage("--pid wants NAME:PID");
      flags.pids.emplace_back(parts[0], pid);
    } else if (name == "metadata") {
      const size_t colon = value.find(':');
      if (colon == absl::string_view::npos) Usage(absl::StrCat("bad value in ", arg));
      flags.metadata.emplace_back(std::string(value.substr(0, colon)),
                                  std::string(value.substr(colon + 1)));
    } else if (name == "client_api") {
      flags.client_api = std::string(value);
    } else if (name == "client_threads") {
      integer(&flags.client_threads);
    } else {
      Usage(absl::StrCat("unknown flag ", arg));
    }
  }
  if (flags.rpc != "health" && flags.rpc != "state" && flags.rpc != "features") Usage("bad --rpc");
  if (flags.concurrency < 1 || flags.channels < 1 || flags.client_threads < 1)
    Usage("--concurrency, --channels and --client_threads must be >= 1");
  if (flags.client_api != "async" && flags.client_api != "callback") Usage("bad --client_api");
  return flags;
}

// ---------------------------------------------------------------------------------------------------
// Latency histogram: values below 128 ns exact, above that 64 sub-buckets per power of two.

class Histogram {
 public:
  void Record(uint64_t ns) {
    buckets_[Index(ns)].fetch_add(1, std::memory_order_relaxed);
    uint64_t seen = max_.load(std::memory_order_relaxed);
    while (ns > seen && !max_.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
    }
    sum_.fetch_add(ns, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t count() const { return count_.load(); }
  uint64_t max_ns() const { return max_.load(); }
  double mean_ns() const { return count() == 0 ? 0 : static_cast<double>(sum_.load()) / count(); }
  // Midpoint of the bucket holding the q-quantile (q in [0, 1]).
  double Quantile(double q) const {
    const uint64_t total = count();
    if (total == 0) return 0;
    const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(q * total + 0.5));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i].load(std::memory_order_relaxed);
      if (seen >= rank) return std::min<double>(Midpoint(i), max_ns());
    }
    return max_ns();
  }

 private:
  static constexpr size_t kBuckets = 64 * 64;
  static size_t Index(uint64_t ns) {
    if (ns < 128) return ns;
    const int shift = 63 - __builtin_clzll(ns) - 6;
    return std::min<size_t>(kBuckets - 1, shift * 64 + (ns >> shift));
  }
  static double Midpoint(size_t index) {
    if (index < 128) return index;
    const int shift = static_cast<int>(index / 64) - 1;
    const uint64_t low = static_cast<uint64_t>(index - shift * 64) << shift;
    return low + ((1ull << shift) - 1) / 2.0;
  }
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> max_{0};
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// ---------------------------------------------------------------------------------------------------
// /proc readings of the watched processes.

double ProcessCpuSeconds(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  // Fields after "pid (comm)": state is field 3; utime and stime are fields 14 and 15.
  std::vector<std::string> fields = absl::StrSplit(text.substr(paren + 2), ' ');
  if (fields.size() < 13) return -1;
  const double ticks = std::stod(fields[11]) + std::stod(fields[12]);
  return ticks / sysconf(_SC_CLK_TCK);
}

// The value of "Key:" in /proc/PID/status (kB for memory lines), -1 when absent.
int64_t ProcessStatus(int pid, const std::string& key) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size() + 1, key + ":") != 0) continue;
    std::istringstream value(line.substr(key.size() + 1));
    int64_t number = -1;
    value >> number;
    return number;
  }
  return -1;
}

struct ContextSwitches {
  int64_t total = 0;        // voluntary + involuntary
  int64_t involuntary = 0;  // preemptions: CPU contention rather than waiting
};

// Context switches summed over the threads that exist now.
ContextSwitches ProcessContextSwitches(int pid) {
  ContextSwitches switches;
  const std::string dir = absl::StrCat("/proc/", pid, "/task");
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return switches;
  while (dirent* entry = readdir(d)) {
    if (entry->d_name[0] == '.') continue;
    const int tid = std::atoi(entry->d_name);
    std::ifstream in(absl::StrCat(dir, "/", tid, "/status"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("ctxt_switches:") == std::string::npos) continue;
      const int64_t count = std::atoll(line.substr(line.find(':') + 1).c_str());
      switches.total += count;
      if (line.rfind("nonvoluntary", 0) == 0) switches.involuntary += count;
    }
  }
  closedir(d);
  return switches;
}

// TCP connections opened by anyone on this host (Tcp ActiveOpens in /proc/net/snmp).
int64_t TcpActiveOpens() {
  std::ifstream in("/proc/net/snmp");
  std::string header;
  std::string values;
  while (std::getline(in, header)) {
    if (header.compare(0, 4, "Tcp:") != 0) continue;
    std::getline(in, values);
    std::vector<std::string> names = absl::StrSplit(header, ' ');
    std::vector<std::string> numbers = absl::StrSplit(values, ' ');
    for (size_t i = 0; i < names.size() && i < numbers.size(); ++i) {
      if (names[i] == "ActiveOpens") return std::atoll(numbers[i].c_str());
    }
  }
  return -1;
}

struct Watched {
  std::string name;
  int pid = 0;
  double cpu_start = 0;
  double cpu_end = 0;
  ContextSwitches ctx_start;
  ContextSwitches ctx_end;
  std::atomic<int64_t> threads_max{0};
};

// ---------------------------------------------------------------------------------------------------
// The load loop.

const char* CodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "OTHER";
}

class Load {
 public:
  Load(const Flags& flags, std::vector<std::shared_ptr<grpc::Channel>> channels)
      : flags_(flags), channels_(std::move(channels)) {
    for (const auto& channel : channels_) {
      journeys_.push_back(hl::JourneysService::NewStub(channel));
      hosted_.push_back(hosted::HostedService::NewStub(channel));
      generic_.push_back(std::make_unique<grpc::GenericStub>(channel));
    }
    state_request_.set_borrower_external_id(flags.borrower);
    state_request_.set_journey_id(flags.journey);
    grpc::Slice empty("");  // HealthCheckRequest{service: ""} encodes to zero bytes.
    health_request_ = grpc::ByteBuffer(&empty, 1);
    if (flags.client_api == "async") {
      // Encoded once; replies are not decoded (wrk, the direct baseline, does not parse either).
      const auto encode = [](const google::protobuf::Message& message) {
        grpc::Slice bytes(message.SerializeAsString());
        return grpc::ByteBuffer(&bytes, 1);
      };
      if (flags.rpc == "state") {
        method_ = absl::StrCat("/", hl::JourneysService::service_full_name(), "/GetJourneyState");
        async_request_ = encode(state_request_);
      } else if (flags.rpc == "features") {
        method_ = absl::StrCat("/", hosted::HostedService::service_full_name(), "/GetFeatures");
        async_request_ = encode(features_request_);
      } else {
        method_ = "/grpc.health.v1.Health/Check";
        async_request_ = health_request_;
      }
      for (int64_t i = 0; i < flags.client_threads; ++i) {
        queues_.push_back(std::make_unique<grpc::CompletionQueue>());
      }
      for (auto& queue : queues_) pollers_.emplace_back([this, cq = queue.get()] { Poll(cq); });
    }
  }

  ~Load() {
    for (auto& queue : queues_) queue->Shutdown();
    for (std::thread& poller : pollers_) poller.join();
  }

  // Runs the load; returns once every call has finished.
  void Run() {
    const Clock::time_point start = Clock::now();
    if (flags_.requests > 0) {
      remaining_.store(flags_.requests);
      measuring_.store(true);
      window_start_ = start;
    } else {
      stop_at_ = start + ToDuration(flags_.warmup_s + flags_.duration_s);
    }
    const int64_t initial =
        flags_.requests > 0 ? std::min(flags_.concurrency, flags_.requests) : flags_.concurrency;
    in_flight_.store(initial);
    for (int64_t i = 0; i < initial; ++i) Issue(i);
    if (flags_.requests == 0) {
      std::this_thread::sleep_until(start + ToDuration(flags_.warmup_s));
      window_start_ = Clock::now();
      on_window_start_();
      measuring_.store(true);
      std::this_thread::sleep_until(stop_at_);
      measuring_.store(false);
      window_end_ = Clock::now();
      on_window_end_();
    }
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return in_flight_.load() == 0; });
    if (flags_.requests > 0) {
      window_end_ = last_completion_;
      on_window_end_();
    }
  }

  std::function<void()> on_window_start_ = [] {};
  std::function<void()> on_window_end_ = [] {};

  const Histogram& latency() const { return latency_; }
  uint64_t completed() const { return completed_.load(); }
  int64_t code_count(int code) const { return codes_[code].load(); }
  uint64_t late_after_window() const { return late_.load(); }
  double window_seconds() const {
    return std::chrono::duration<double>(window_end_ - window_start_).count();
  }

 private:
  static Clock::duration ToDuration(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

  // One call of the async client; its address is the completion queue tag.
  struct AsyncCall {
    int64_t slot = 0;
    Clock::time_point started;
    grpc::ClientContext context;
    grpc::ByteBuffer response;
    grpc::Status status;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  };

  // An async client thread: completes its queue's calls and starts each slot's next one on the
  // same queue, so a call never changes threads.
  void Poll(grpc::CompletionQueue* cq) {
    void* tag = nullptr;
    bool ok = false;
    while (cq->Next(&tag, &ok)) {
      std::unique_ptr<AsyncCall> call(static_cast<AsyncCall*>(tag));
      if (Done(call->started, call->status)) Issue(call->slot);
    }
  }

  void Prepare(grpc::ClientContext* context) const {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(flags_.deadline_ms));
    for (const auto& [key, value] : flags_.metadata) context->AddMetadata(key, value);
  }

  // Starts one call on channel (slot % channels), and in async mode on queue (slot % threads).
  void Issue(int64_t slot) {
    const size_t channel = static_cast<size_t>(slot) % channels_.size();
    if (!queues_.empty()) {
      auto call = std::make_unique<AsyncCall>();
      call->slot = slot;
      Prepare(&call->context);
      call->started = Clock::now();
      call->reader = generic_[channel]->PrepareUnaryCall(
          &call->context, method_, async_request_,
          queues_[static_cast<size_t>(slot) % queues_.size()].get());
      call->reader->StartCall();
      AsyncCall* tag = call.release();
      tag->reader->Finish(&tag->response, &tag->status, tag);
      return;
    }
    auto context = std::make_shared<grpc::ClientContext>();
    Prepare(context.get());
    const Clock::time_point started = Clock::now();
    const auto done = [this, slot, started](const grpc::Status& status) {
      if (Done(started, status)) Issue(slot);
    };
    if (flags_.rpc == "state") {
      auto response = std::make_shared<hl::GetJourneyStateResponse>();
      journeys_[channel]->async()->GetJourneyState(
          context.get(), &state_request_, response.get(),
          [done, context, response](grpc::Status status) { done(status); });
    } else if (flags_.rpc == "features") {
      auto response = std::make_shared<hosted::GetFeaturesResponse>();
      hosted_[channel]->async()->GetFeatures(
          context.get(), &features_request_, response.get(),
          [done, context, response](grpc::Status status) { done(status); });
    } else {
      auto response = std::make_shared<grpc::ByteBuffer>();
      generic_[channel]->UnaryCall(
          context.get(), "/grpc.health.v1.Health/Check", grpc::StubOptions(), &health_request_,
          response.get(), [done, context, response](grpc::Status status) { done(status); });
    }
  }

  // Records a finished call; true when its slot is to start another.
  bool Done(Clock::time_point started, const grpc::Status& status) {
    const Clock::time_point now = Clock::now();
    if (measuring_.load(std::memory_order_relaxed)) {
      latency_.Record(std::chrono::duration_cast<std::chrono::nanoseconds>(now - started).count());
      codes_[std::min<int>(status.error_code(), 17)].fetch_add(1, std::memory_order_relaxed);
      completed_.fetch_add(1, std::memory_order_relaxed);
    } else if (flags_.requests == 0 && now >= stop_at_) {
      late_.fetch_add(1, std::memory_order_relaxed);
    }
    bool again;
    if (flags_.requests > 0) {
      again = remaining_.fetch_sub(1) > flags_.concurrency;
    } else {
      again = now < stop_at_;
    }
    if (again) return true;
    std::lock_guard<std::mutex> lock(mu_);
    if (now > last_completion_) last_completion_ = now;
    if (in_flight_.fetch_sub(1) == 1) done_cv_.notify_all();
    return false;
  }

  const Flags& flags_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<hl::JourneysService::Stub>> journeys_;
  std::vector<std::unique_ptr<hosted::HostedService::Stub>> hosted_;
  std::vector<std::unique_ptr<grpc::GenericStub>> generic_;
  hl::GetJourneyStateRequest state_request_;
  hosted::GetFeaturesRequest features_request_;
  grpc::ByteBuffer health_request_;
  std::string method_;                                          // async mode's
  grpc::ByteBuffer async_request_;                              // async mode's, encoded
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues_;  // async mode's, one per thread
  std::vector<std::thread> pollers_;

  Clock::time_point stop_at_;
  Clock::time_point window_start_;
  Clock::time_point window_end_;
  std::atomic<bool> measuring_{false};
  std::atomic<int64_t> remaining_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> late_{0};
  std::array<std::atomic<int64_t>, 18> codes_{};
  Histogram latency_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  Clock::time_point last_completion_;  // guarded by mu_
};

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const Flags& flags) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int64_t i = 0; i < flags.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one TCP connection per channel
    args.SetInt("aarthik.bench.channel", static_cast<int>(i));
    args.SetMaxReceiveMessageSize(16 << 20);
    channels.push_back(
        grpc::CreateCustomChannel(flags.target, grpc::InsecureChannelCredentials(), args));
  }
  for (const auto& channel : channels) {
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      std::fprintf(stderr, "cannot connect to %s\n", flags.target.c_str());
      std::exit(1);
    }
  }
  return channels;
}

// Creates a journey for the borrower through the gateway (which also mints its session).
std::string CreateJourney(const Flags& flags, const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = hl::JourneysService::NewStub(channel);
  hl::CreateJourneyRequest request;
  request.set_borrower_external_id(flags.borrower);
  request.mutable_journey()->set_type(aarthik::common::v1::JOURNEY_TYPE_PERSONAL_LOAN);
  hl::CreateJourneyResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  context.AddMetadata("idempotency-key", absl::StrCat("bench-journey-", flags.borrower));
  for (const auto& [key, value] : flags.metadata) context.AddMetadata(key, value);
  const grpc::Status status = stub->CreateJourney(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "CreateJourney failed: %d %s\n", status.error_code(),
                 status.error_message().c_str());
    std::exit(1);
  }
  return response.journey().journey_id();
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  std::vector<std::shared_ptr<grpc::Channel>> channels = MakeChannels(flags);
  if (flags.rpc == "state" && flags.journey.empty())
    flags.journey = CreateJourney(flags, channels[0]);

  std::vector<std::unique_ptr<Watched>> watched;
  for (const auto& [name, pid] : flags.pids) {
    auto w = std::make_unique<Watched>();
    w->name = name;
    w->pid = pid;
    watched.push_back(std::move(w));
  }
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling.load()) {
      for (auto& w : watched) {
        const int64_t threads = ProcessStatus(w->pid, "Threads");
        if (threads > w->threads_max.load()) w->threads_max.store(threads);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  Load load(flags, channels);
  double self_cpu_start = 0;
  double self_cpu_end = 0;
  int64_t tcp_opens_start = 0;
  int64_t tcp_opens_end = 0;
  load.on_window_start_ = [&] {
    self_cpu_start = SelfCpuSeconds();
    tcp_opens_start = TcpActiveOpens();
    for (auto& w : watched) {
      w->cpu_start = ProcessCpuSeconds(w->pid);
      w->ctx_start = ProcessContextSwitches(w->pid);
    }
  };
  load.on_window_end_ = [&] {
    self_cpu_end = SelfCpuSeconds();
    tcp_opens_end = TcpActiveOpens();
    for (auto& w : watched) {
      w->cpu_end = ProcessCpuSeconds(w->pid);
      w->ctx_end = ProcessContextSwitches(w->pid);
    }
  };
  if (flags.requests > 0) load.on_window_start_();
  load.Run();
  sampling.store(false);
  sampler.join();

  const uint64_t completed = load.completed();
  const double seconds = load.window_seconds();
  const Histogram& latency = load.latency();
  auto us = [](double ns) { return absl::StrFormat("%.1f", ns / 1000.0); };
  std::string codes;
  for (int code = 0; code < 18; ++code) {
    if (load.code_count(code) == 0) continue;
    absl::StrAppend(&codes, codes.empty() ? "" : ",", "\"", CodeName(code),
                    "\":", load.code_count(code));
  }
  std::string processes;
  for (const auto& w : watched) {
    const double cpu = w->cpu_end - w->cpu_start;
    absl::StrAppend(
        &processes, processes.empty() ? "" : ",", "\"", w->name, "\":{\"pid\":", w->pid,
        ",\"cpu_s\":", absl::StrFormat("%.3f", cpu),
        ",\"cpu_us_per_rpc\":", absl::StrFormat("%.2f", completed ? cpu * 1e6 / completed : 0),
        ",\"cores\":", absl::StrFormat("%.3f", seconds > 0 ? cpu / seconds : 0),
        ",\"ctx_switches_per_rpc\":",
        absl::StrFormat(
            "%.2f",
            completed ? static_cast<double>(w->ctx_end.total - w->ctx_start.total) / completed : 0),
        ",\"involuntary_ctx_switches_per_rpc\":",
        absl::StrFormat("%.2f", completed ? static_cast<double>(w->ctx_end.involuntary -
                                                                w->ctx_start.involuntary) /
                                                completed
                                          : 0),
        ",\"threads_max\":", w->threads_max.load(),
        ",\"vm_hwm_kb\":", ProcessStatus(w->pid, "VmHWM"),
        ",\"vm_rss_kb\":", ProcessStatus(w->pid, "VmRSS"), "}");
  }
  const double client_cpu = self_cpu_end - self_cpu_start;
  std::printf(
      "{\"rpc\":\"%s\",\"target\":\"%s\",\"journey_id\":\"%s\",\"concurrency\":%lld,"
      "\"channels\":%lld,\"mode\":\"%s\",\"window_s\":%.3f,\"completed\":%llu,"
      "\"completed_after_window\":%llu,\"ok\":%lld,\"failed\":%llu,\"rps\":%.1f,\"codes\":{%s},"
      "\"latency_us\":{\"p50\":%s,\"p90\":%s,\"p99\":%s,\"max\":%s,\"mean\":%s},"
      "\"client_cpu_us_per_rpc\":%.2f,\"tcp_active_opens\":%lld,\"processes\":{%s}}\n",
      flags.rpc.c_str(), flags.target.c_str(), flags.journey.c_str(),
      static_cast<long long>(flags.concurrency), static_cast<long long>(flags.channels),
      flags.requests > 0 ? "requests" : "duration", seconds,
      static_cast<unsigned long long>(completed),
      static_cast<unsigned long long>(load.late_after_window()),
      static_cast<long long>(load.code_count(0)),
      static_cast<unsigned long long>(completed - load.code_count(0)),
      seconds > 0 ? completed / seconds : 0.0, codes.c_str(), us(latency.Quantile(0.5)).c_str(),
      us(latency.Quantile(0.9)).c_str(), us(latency.Quantile(0.99)).c_str(),
      us(latency.max_ns()).c_str(), us(latency.mean_ns()).c_str(),
      completed ? client_cpu * 1e6 / completed : 0.0,
      static_cast<long long>(tcp_opens_end - tcp_opens_start), processes.c_str());
  return 0;
}
