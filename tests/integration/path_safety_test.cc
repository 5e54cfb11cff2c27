// Issue 14, item 1: no path variable can move a call onto another platform path. Through the real
// gateway and sandbox; the sandbox's request log (/_sandbox/requests) shows the raw request target
// exactly as it arrived, before the sandbox resolves dot segments as the platform's front end
// would.
//
// The property test is generated from the gateway's route table: for every path variable of every
// route and every hostile value, the call either fails INVALID_ARGUMENT before any platform
// request, or every platform request it made has a raw target that fits the route's template with
// the value intact (percent-decoding the segment gives back the value). The test matches targets
// with its own code (split, compare literals, percent-decode), not with the gateway's.
#include <condition_variable>
#include <map>
#include <mutex>

#include "aarthik/events/v1/events.grpc.pb.h"
#include "aarthik/hybrid/v1/hybrid.grpc.pb.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/rpc/error_details.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "server/transcode/route_table.h"
#include "tests/integration/gateway_env.h"

namespace aarthik::testing {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

namespace hy = aarthik::hybrid::v1;
namespace ev = aarthik::events::v1;

constexpr char kUuid[] = "b7bb465b-135e-4ffd-9c7f-0d43f7ee43d9";
constexpr char kSessionsPath[] = "/api/v1/headless/sessions";

struct LoggedRequest {
  std::string method;
  std::string target;
};

// The sandbox's request log, read incrementally.
class WireLog {
 public:
  explicit WireLog(GatewayEnv* env) : env_(env) { Take(); }
  // Platform requests recorded since the previous call, without the gateway's own session mints.
  std::vector<LoggedRequest> Take() {
    nlohmann::json log = env_->SandboxHttp("GET", absl::StrCat("/_sandbox/requests?since=", seen_));
    std::vector<LoggedRequest> out;
    if (!log.is_object()) {
      ADD_FAILURE() << "GET /_sandbox/requests is not JSON";
      return out;
    }
    seen_ = log["last_seq"].get<uint64_t>();
    for (const auto& entry : log["requests"]) {
      LoggedRequest request{entry["method"], entry["target"]};
      if (request.method == "POST" && request.target == kSessionsPath) continue;
      out.push_back(std::move(request));
    }
    return out;
  }

 private:
  GatewayEnv* env_;
  uint64_t seen_ = 0;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Strict percent-decoding: false on a '%' not followed by two hex digits.
bool PercentDecode(absl::string_view text, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out->push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size() || HexValue(text[i + 1]) < 0 || HexValue(text[i + 2]) < 0)
      return false;
    out->push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
    i += 2;
  }
  return true;
}

// What an HTTP stack would resolve away: ".", "..", also spelled with %2e.
bool LooksLikeDotSegment(absl::string_view segment) {
  std::string decoded;
  if (!PercentDecode(segment, &decoded)) return false;
  return decoded == "." || decoded == "..";
}

// Empty when `target` fits `path_template` ("/a/{field}/b") with each {field} decoding to
// values[field]; otherwise what does not fit.
std::string Mismatch(const std::string& path_template,
                     const std::map<std::string, std::string>& values, absl::string_view target) {
  if (target.find('#') != absl::string_view::npos) return "the target holds a '#'";
  absl::string_view path = target.substr(0, target.find('?'));
  std::vector<absl::string_view> want = absl::StrSplit(path_template, '/');
  std::vector<absl::string_view> got = absl::StrSplit(path, '/');
  if (want.size() != got.size()) {
    return absl::StrCat(got.size() - 1, " segments where the template has ", want.size() - 1);
  }
  for (size_t i = 0; i < want.size(); ++i) {
    if (!absl::StartsWith(want[i], "{")) {
      if (want[i] != got[i]) return absl::StrCat("literal '", want[i], "' became '", got[i], "'");
      continue;
    }
    const std::string field(want[i].substr(1, want[i].size() - 2));
    std::string decoded;
    if (LooksLikeDotSegment(got[i])) return absl::StrCat("{", field, "} is a dot segment");
    if (!PercentDecode(got[i], &decoded)) return absl::StrCat("{", field, "} is badly escaped");
    if (decoded != values.at(field)) {
      return absl::StrCat("{", field, "} decodes to something else than the value sent");
    }
  }
  return "";
}

std::string Printable(absl::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 40)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    }
  }
  if (text.size() > 40) absl::StrAppend(&out, "…(", text.size(), " bytes)");
  return out;
}

grpc::Status CallRaw(GatewayEnv& env, const std::string& method, const std::string& bytes) {
  grpc::GenericStub stub(env.channel());
  grpc::ClientContext context;
  PrepareContext(&context);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status result;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    result = std::move(s);
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  return result;
}

std::vector<std::string> ViolatedFields(const grpc::Status& status) {
  std::vector<std::string> fields;
  if (auto bad_request = DetailOf<google::rpc::BadRequest>(status)) {
    for (const auto& violation : bad_request->field_violations()) {
      fields.push_back(violation.field());
    }
  }
  return fields;
}

// RFC 3629 UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), which is what protobuf
// demands of string fields.
bool IsInvalidUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = text[i];
    int length = 0;
    unsigned char low = 0x80, high = 0xbf;  // range of the first continuation byte
    if (c < 0x80) {
      length = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      length = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      length = 3;
      if (c == 0xe0) low = 0xa0;
      if (c == 0xed) high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      length = 4;
      if (c == 0xf0) low = 0x90;
      if (c == 0xf4) high = 0x8f;
    } else {
      return true;
    }
    if (i + length > text.size()) return true;
    for (int k = 1; k < length; ++k) {
      const unsigned char next = text[i + k];
      if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xbf)) return true;
    }
    i += length;
  }
  return false;
}

// Hostile path values. Dot segments must be refused; invalid UTF-8 cannot even be parsed into the
// request message; the rest may be refused or sent intact.
std::vector<std::string> HostileValues() {
  return {".",
          "..",
          "%2e",
          "%2e%2e",
          "%2E%2E",
          ".%2e",
          "%2e.",
          "..%2f",
          "..%2F..%2Fadmin",
          "../admin",
          "..;",
          ".. ",
          "...",
          "a.b",
          "/",
          "a/b",
          "?",
          "a?b=c",
          "#",
          "a#b",
          ";",
          "a;b=c",
          "%",
          "%zz",
          "%00",
          std::string("a\0b", 3),
          " ",
          "a b",
          "\r\nX-Injected: 1",
          "\\..\\",
          "+",
          std::string(129, 'x'),
          std::string(5000, 'y'),
          "\xc3\xa9t\xc3\xa9",         // été
          "\xe6\x97\xa5\xe6\x9c\xac",  // 日本
          "\xf0\x9f\x98\x80",          // an emoji (4 bytes)
          "\xff\xfe",                  // invalid UTF-8
          "a\xc3\x28",                 // invalid UTF-8 (bad continuation byte)
          "\xed\xa0\x80"};             // invalid UTF-8 (a UTF-16 surrogate)
}

// Sets `field` = `value` on `message`; invalid UTF-8 goes in through the wire bytes, because
// protobuf's own serialiser checks UTF-8 too: a placeholder of the same length is replaced.
std::string RequestBytes(Message& message, const FieldDescriptor* field, const std::string& value) {
  const bool invalid = IsInvalidUtf8(value);
  const std::string placeholder(value.size(), '\x7f');
  message.GetReflection()->SetString(&message, field, invalid ? placeholder : value);
  std::string bytes = message.SerializeAsString();
  if (invalid) {
    size_t at = bytes.find(placeholder);
    EXPECT_NE(at, std::string::npos);
    if (at != std::string::npos) bytes.replace(at, placeholder.size(), value);
  }
  return bytes;
}

class PathSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = GatewayEnv::Start();
    ASSERT_NE(env_, nullptr);
    log_ = std::make_unique<WireLog>(env_.get());
  }

  // Calls a Hybrid RPC with a hostile path value; expects INVALID_ARGUMENT naming `field` and no
  // platform request at all.
  template <typename Request, typename Response>
  void ExpectRefused(grpc::Status (hy::HybridService::Stub::*method)(grpc::ClientContext*,
                                                                     const Request&, Response*),
                     const Request& request, const std::string& field) {
    auto stub = hy::HybridService::NewStub(env_->channel());
    grpc::ClientContext context;
    PrepareContext(&context);
    Response response;
    grpc::Status status = ((*stub).*method)(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_EQ(ViolatedFields(status), std::vector<std::string>{field});
    auto info = DetailOf<google::rpc::ErrorInfo>(status);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->reason(), "INVALID_REQUEST_FIELD");
    std::vector<LoggedRequest> sent = log_->Take();
    EXPECT_TRUE(sent.empty()) << "sent " << sent.front().method << " " << sent.front().target;
  }

  std::unique_ptr<GatewayEnv> env_;
  std::unique_ptr<WireLog> log_;
};

// The three requests of the issue: each went to another platform path with the API key.
TEST_F(PathSafetyTest, DotDotBorrowerOrOfferIsRefusedBeforeAnyRequest) {
  for (const std::string value : {"..", ".", "%2e%2e"}) {
    SCOPED_TRACE(value);
    hy::PollOffersRequest poll;  // was: GET /api/v1/hybrid/personal-loan/journey/offers
    poll.set_borrower_provider_id(value);
    ExpectRefused(&hy::HybridService::Stub::PollOffers, poll, "borrower_provider_id");

    hy::StartJourneyRequest start;  // was: POST /api/v1/hybrid/personal-loan/journey (a write)
    start.set_borrower_provider_id(value);
    start.mutable_prefill()->mutable_personal()->set_contact_number("9876543210");
    ExpectRefused(&hy::HybridService::Stub::StartJourney, start, "borrower_provider_id");

    hy::GetHostedUrlRequest hand_off;  // was: GET …/borrowers/<id>/journey/
    hand_off.set_borrower_provider_id("BORROWER-1");
    hand_off.set_offer_id(value);
    ExpectRefused(&hy::HybridService::Stub::GetHostedUrl, hand_off, "offer_id");
  }
}

// A '.' inside a longer value is literal, and reaches the platform as sent.
TEST_F(PathSafetyTest, DotsInsideLongerValuesReachThePlatformIntact) {
  auto stub = hy::HybridService::NewStub(env_->channel());
  for (const std::string value : {"a.b", "...", "..%2f", "%2e%2e%2f"}) {
    SCOPED_TRACE(value);
    hy::PollOffersRequest poll;
    poll.set_borrower_provider_id(value);
    grpc::ClientContext context;
    PrepareContext(&context);
    hy::PollOffersResponse response;
    grpc::Status status = stub->PollOffers(&context, poll, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
    std::vector<LoggedRequest> sent = log_->Take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].method, "GET");
    EXPECT_EQ(
        Mismatch("/api/v1/hybrid/personal-loan/borrowers/{borrower_provider_id}/journey/offers",
                 {{"borrower_provider_id", value}}, sent[0].target),
        "")
        << sent[0].target;
  }
}

// Protobuf string fields must hold UTF-8: the gateway cannot parse such a request, and says so with
// INVALID_ARGUMENT before anything is sent.
TEST_F(PathSafetyTest, InvalidUtf8IsInvalidArgumentAndNothingIsSent) {
  hy::PollOffersRequest poll;
  std::string bytes = RequestBytes(
      poll, poll.GetDescriptor()->FindFieldByName("borrower_provider_id"), "B\xff\xfe");
  grpc::Status status = CallRaw(*env_, "/aarthik.hybrid.v1.HybridService/PollOffers", bytes);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto info = DetailOf<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "MALFORMED_REQUEST");
  EXPECT_NE(status.error_message().find("aarthik.hybrid.v1.PollOffersRequest"), std::string::npos)
      << status.error_message();
  EXPECT_TRUE(log_->Take().empty());
}

// WatchJourneyState polls the platform with the watched IDs in the path: the same rule applies.
TEST_F(PathSafetyTest, WatchJourneyStateRefusesPathBreakingIds) {
  auto stub = ev::JourneyEventsService::NewStub(env_->channel());
  auto first_status = [&](const ev::WatchJourneyStateRequest& request) {
    grpc::ClientContext context;
    PrepareContext(&context, "", absl::Seconds(5));
    auto reader = stub->WatchJourneyState(&context, request);
    ev::WatchJourneyStateResponse response;
    while (reader->Read(&response)) context.TryCancel();  // a valid watch would stream: stop it
    return reader->Finish();
  };
  for (const std::string value : {"..", ".", "%2E%2e"}) {
    ev::WatchJourneyStateRequest hybrid;
    hybrid.set_borrower_provider_id(value);
    grpc::Status status = first_status(hybrid);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << value;
    EXPECT_EQ(ViolatedFields(status), std::vector<std::string>{"borrower_provider_id"});
  }
  ev::WatchJourneyStateRequest headless;
  headless.set_borrower_external_id("CUST_WATCH");
  headless.set_journey_id("..");
  grpc::Status status = first_status(headless);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolatedFields(status), std::vector<std::string>{"journey_id"});
  std::vector<LoggedRequest> sent = log_->Take();
  EXPECT_TRUE(sent.empty()) << "sent " << sent.front().method << " " << sent.front().target;
}

TEST_F(PathSafetyTest, EveryPathVariableOfEveryRouteWithHostileValues) {
  absl::StatusOr<transcode::RouteTable> table =
      transcode::RouteTable::Build(transcode::PlatformServices());
  ASSERT_TRUE(table.ok()) << table.status();
  const std::vector<std::string> hostile = HostileValues();
  int variables = 0, refused = 0, sent_intact = 0;
  for (const auto& route : table->routes()) {
    std::vector<const FieldDescriptor*> path_fields;
    for (const transcode::PathSegment& segment : route->path) {
      if (segment.field != nullptr) path_fields.push_back(segment.field);
    }
    for (const FieldDescriptor* field : path_fields) {
      ++variables;
      for (const std::string& value : hostile) {
        SCOPED_TRACE(
            absl::StrCat(route->label, " {", field->name(), "} = '", Printable(value), "'"));
        std::unique_ptr<Message> request(google::protobuf::MessageFactory::generated_factory()
                                             ->GetPrototype(route->method->input_type())
                                             ->New());
        // Valid values everywhere else, so that only `value` can make the call fail at the edge.
        std::map<std::string, std::string> values;
        for (const FieldDescriptor* other : path_fields) {
          const bool uuid = other->options().GetExtension(gateway::v1::field).uuid();
          values[other->name()] = other == field ? value : uuid ? kUuid : "BORROWER-PATH-1";
          if (other != field) {
            request->GetReflection()->SetString(request.get(), other, values[other->name()]);
          }
        }
        if (!route->borrower_key_path.empty()) {
          Message* holder = request.get();
          for (size_t i = 0; i + 1 < route->borrower_key_path.size(); ++i) {
            holder = holder->GetReflection()->MutableMessage(holder, route->borrower_key_path[i]);
          }
          holder->GetReflection()->SetString(holder, route->borrower_key_path.back(), "CUST_PATH");
        }
        grpc::Status status =
            CallRaw(*env_, route->grpc_path, RequestBytes(*request, field, value));
        std::vector<LoggedRequest> sent = log_->Take();

        const bool must_refuse = LooksLikeDotSegment(value) || IsInvalidUtf8(value);
        if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT && sent.empty()) {
          ++refused;
          if (!IsInvalidUtf8(value)) {
            EXPECT_EQ(ViolatedFields(status), std::vector<std::string>{field->name()})
                << status.error_message();
          }
          continue;
        }
        EXPECT_FALSE(must_refuse) << "not refused at the edge: " << status.error_code() << " "
                                  << status.error_message();
        ASSERT_FALSE(sent.empty()) << "answered " << status.error_code() << " "
                                   << status.error_message() << " without a platform request";
        for (const LoggedRequest& request_sent : sent) {
          EXPECT_EQ(request_sent.method, route->http_method);
          EXPECT_EQ(Mismatch(route->path_template, values, request_sent.target), "")
              << "sent " << request_sent.method << " " << Printable(request_sent.target);
        }
        ++sent_intact;
      }
    }
  }
  // The table really was walked: every surface has path variables, and some values went through.
  EXPECT_GE(variables, 40);
  EXPECT_GT(refused, 0);
  EXPECT_GT(sent_intact, 0);
  std::cerr << variables << " path variables x " << hostile.size() << " values: " << refused
            << " refused at the edge, " << sent_intact << " sent intact\n";
}

}  // namespace
}  // namespace aarthik::testing
