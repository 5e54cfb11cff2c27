// Checks the REST mapping declared in the API protos against the platform contract's endpoint index
// (platform-api.md §3.0): all 40 (HTTP method, path) pairs are declared exactly once, each with the
// contract's credential and write semantics. The expected table below is written from the contract,
// in the platform's path spelling; the protos' templates name request fields ({journey_id}) and are
// mapped here.
//
// The descriptors come from the generated pool at run time; the test links aarthik_api whole, and
// AARTHIK_API_PROTO_FILES (from CMake's list of proto files) makes a missing file a failure.
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aarthik/gateway/v1/options.pb.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/api/annotations.pb.h"
#include "google/api/http.pb.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace aarthik::proto_test {
namespace {

using ::aarthik::gateway::v1::AuthMode;
using ::aarthik::gateway::v1::Envelope;
using ::aarthik::gateway::v1::Mutation;
using ::aarthik::gateway::v1::RouteOptions;
using ::google::protobuf::Descriptor;
using ::google::protobuf::DescriptorPool;
using ::google::protobuf::EnumDescriptor;
using ::google::protobuf::FileDescriptor;
using ::google::protobuf::MethodDescriptor;

constexpr AuthMode kApiKey = gateway::v1::AUTH_MODE_API_KEY;
constexpr AuthMode kSession = gateway::v1::AUTH_MODE_BORROWER_SESSION;
constexpr AuthMode kRefresh = gateway::v1::AUTH_MODE_REFRESH_TOKEN;
constexpr Mutation kRead = gateway::v1::MUTATION_READ;
constexpr Mutation kIdempotentWrite = gateway::v1::MUTATION_IDEMPOTENT_WRITE;
constexpr Mutation kWrite = gateway::v1::MUTATION_WRITE;
constexpr Envelope kHeadless = gateway::v1::ENVELOPE_HEADLESS;
constexpr Envelope kHybrid = gateway::v1::ENVELOPE_HYBRID;
constexpr Envelope kNone = gateway::v1::ENVELOPE_NONE;
constexpr Envelope kHostedSession = gateway::v1::ENVELOPE_HOSTED_SESSION;
constexpr Envelope kSubscription = gateway::v1::ENVELOPE_WEBHOOK_SUBSCRIPTION;

struct Endpoint {
  int row;  // §3.0 row number
  const char* method;
  const char* path;  // platform spelling
  AuthMode auth;
  Mutation mutation;
  Envelope envelope;
};

#define STEPS "/api/v1/headless/journeys/{journeyID}/offers/{offerID}/steps"
#define AA "/api/v1/headless/journeys/{journeyID}/aa/sessions"
#define PD "/api/v1/headless/journeys/{journeyID}/post-disbursal"
#define HYBRID "/api/v1/hybrid/personal-loan/borrowers/{borrowerProviderID}/journey"
#define WEBHOOKS "/api/tenants/{tenantID}/applications/{applicationID}/webhooks"

// platform-api.md §3.0. Auth: `sk_*` rows (1, 33-40) use the API key; row 2 (`st_*` or `rt_*`) the
// refresh token; every other row the borrower's session. Headless POST/PUT/PATCH need an
// Idempotency-Key; rows 33, 36, 39 and 40 are writes whose key support is "not documented". Row
// 35's path is the [I] default; rows 17-22 use the inferred `.../offers/{offerID}/steps/...`
// prefix. Envelopes: headless camelCase for the headless API, snake_case for Hybrid, none for
// Hosted (§3.10) and web-hook subscription (§3.11).
const Endpoint kContract[] = {
    {1, "POST", "/api/v1/headless/sessions", kApiKey, kIdempotentWrite, kHeadless},
    {2, "POST", "/api/v1/headless/sessions/refresh", kRefresh, kIdempotentWrite, kHeadless},
    {3, "GET", "/api/v1/headless/journeys", kSession, kRead, kHeadless},
    {4, "POST", "/api/v1/headless/journeys", kSession, kIdempotentWrite, kHeadless},
    {5, "GET", "/api/v1/headless/journeys/{journeyID}", kSession, kRead, kHeadless},
    {6, "GET", "/api/v1/headless/journeys/{journeyID}/state", kSession, kRead, kHeadless},
    {7, "PATCH", "/api/v1/headless/journeys/{journeyID}/resume", kSession, kIdempotentWrite,
     kHeadless},
    {8, "GET", "/api/v1/headless/journeys/{journeyID}/profile", kSession, kRead, kHeadless},
    {9, "PUT", "/api/v1/headless/journeys/{journeyID}/profile", kSession, kIdempotentWrite,
     kHeadless},
    {10, "POST", "/api/v1/headless/journeys/{journeyID}/profile/submit", kSession, kIdempotentWrite,
     kHeadless},
    {11, "GET", "/api/v1/headless/journeys/{journeyID}/offers", kSession, kRead, kHeadless},
    {12, "GET", "/api/v1/headless/journeys/{journeyID}/offers/{offerID}", kSession, kRead,
     kHeadless},
    {13, "POST", "/api/v1/headless/journeys/{journeyID}/offers/{offerID}/proceed", kSession,
     kIdempotentWrite, kHeadless},
    {14, "POST", "/api/v1/headless/journeys/{journeyID}/offers/{offerID}/reject", kSession,
     kIdempotentWrite, kHeadless},
    {15, "POST", "/api/v1/headless/journeys/{journeyID}/offers/{offerID}/loan-amount", kSession,
     kIdempotentWrite, kHeadless},
    {16, "GET", STEPS, kSession, kRead, kHeadless},
    {17, "GET", STEPS "/kyc", kSession, kRead, kHeadless},
    {18, "GET", STEPS "/kyc/status", kSession, kRead, kHeadless},
    {19, "GET", STEPS "/bank-mandate", kSession, kRead, kHeadless},
    {20, "POST", STEPS "/bank-mandate", kSession, kIdempotentWrite, kHeadless},
    {21, "GET", STEPS "/e-mandate", kSession, kRead, kHeadless},
    {22, "GET", STEPS "/loan-agreement", kSession, kRead, kHeadless},
    {23, "GET", AA, kSession, kRead, kHeadless},
    {24, "POST", AA, kSession, kIdempotentWrite, kHeadless},
    {25, "GET", AA "/{aaSessionID}", kSession, kRead, kHeadless},
    {26, "POST", AA "/{aaSessionID}/redirect", kSession, kIdempotentWrite, kHeadless},
    {27, "POST", AA "/{aaSessionID}/complete", kSession, kIdempotentWrite, kHeadless},
    {28, "POST", AA "/{aaSessionID}/reconcile", kSession, kIdempotentWrite, kHeadless},
    {29, "POST", PD "/status", kSession, kIdempotentWrite, kHeadless},
    {30, "POST", PD "/foreclosure", kSession, kIdempotentWrite, kHeadless},
    {31, "POST", PD "/pre-part-payment", kSession, kIdempotentWrite, kHeadless},
    {32, "POST", PD "/missed-emi-payment", kSession, kIdempotentWrite, kHeadless},
    {33, "POST", HYBRID, kApiKey, kWrite, kHybrid},
    {34, "GET", HYBRID "/offers", kApiKey, kRead, kHybrid},
    {35, "GET", HYBRID "/offers/{offerID}", kApiKey, kRead, kHybrid},
    {36, "POST", "/api/lab/sessions", kApiKey, kWrite, kHostedSession},
    {37, "GET", "/api/lab/features", kApiKey, kRead, kNone},
    {38, "GET", WEBHOOKS "/configuration", kApiKey, kRead, kSubscription},
    {39, "POST", WEBHOOKS "/subscribe", kApiKey, kWrite, kSubscription},
    {40, "POST", WEBHOOKS "/unsubscribe", kApiKey, kWrite, kSubscription},
};

#undef STEPS
#undef AA
#undef PD
#undef HYBRID
#undef WEBHOOKS

// Our path variables (request field names) and the platform's spelling of the same segment.
const std::map<std::string, std::string>& PlatformVariableNames() {
  static const auto* names = new std::map<std::string, std::string>{
      {"journey_id", "journeyID"},      {"offer_id", "offerID"},
      {"aa_session_id", "aaSessionID"}, {"borrower_provider_id", "borrowerProviderID"},
      {"tenant_id", "tenantID"},        {"application_id", "applicationID"},
  };
  return *names;
}

// The packages that mirror the platform; each of their RPCs is one REST endpoint.
constexpr const char* kPlatformPackages[] = {"aarthik.headless.v1", "aarthik.hybrid.v1",
                                             "aarthik.hosted.v1", "aarthik.webhooks.v1"};

bool IsPlatformPackage(const std::string& package) {
  for (const char* p : kPlatformPackages) {
    if (package == p) return true;
  }
  return false;
}

std::vector<const FileDescriptor*> ApiFiles() {
  std::vector<const FileDescriptor*> files;
  for (absl::string_view name : absl::StrSplit(AARTHIK_API_PROTO_FILES, ',', absl::SkipEmpty())) {
    files.push_back(DescriptorPool::generated_pool()->FindFileByName(std::string(name)));
  }
  return files;
}

std::vector<const MethodDescriptor*> AllMethods() {
  std::vector<const MethodDescriptor*> methods;
  for (const FileDescriptor* file : ApiFiles()) {
    if (file == nullptr) continue;
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m) {
        methods.push_back(file->service(s)->method(m));
      }
    }
  }
  return methods;
}

// Returns "" for a rule without a verb we map (custom), else the upper-case HTTP method.
std::string HttpMethod(const google::api::HttpRule& rule) {
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet:
      return "GET";
    case google::api::HttpRule::kPost:
      return "POST";
    case google::api::HttpRule::kPut:
      return "PUT";
    case google::api::HttpRule::kPatch:
      return "PATCH";
    case google::api::HttpRule::kDelete:
      return "DELETE";
    default:
      return "";
  }
}

std::string HttpPath(const google::api::HttpRule& rule) {
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet:
      return rule.get();
    case google::api::HttpRule::kPost:
      return rule.post();
    case google::api::HttpRule::kPut:
      return rule.put();
    case google::api::HttpRule::kPatch:
      return rule.patch();
    case google::api::HttpRule::kDelete:
      return rule.delete_();
    default:
      return "";
  }
}

// Splits a template into its `{variable}` names.
std::vector<std::string> PathVariables(const std::string& path) {
  std::vector<std::string> variables;
  for (size_t open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1)) {
    size_t close = path.find('}', open);
    if (close == std::string::npos) break;
    variables.push_back(path.substr(open + 1, close - open - 1));
  }
  return variables;
}

// Rewrites `{journey_id}` as `{journeyID}` etc.; unknown variables are reported in `unknown`.
std::string ToPlatformSpelling(const std::string& path, std::vector<std::string>* unknown) {
  std::string out = path;
  for (const std::string& variable : PathVariables(path)) {
    auto it = PlatformVariableNames().find(variable);
    if (it == PlatformVariableNames().end()) {
      unknown->push_back(variable);
      continue;
    }
    out.replace(out.find("{" + variable + "}"), variable.size() + 2, "{" + it->second + "}");
  }
  return out;
}

TEST(RouteTableTest, EveryApiProtoFileIsInTheGeneratedPool) {
  std::vector<std::string> names = absl::StrSplit(AARTHIK_API_PROTO_FILES, ',', absl::SkipEmpty());
  ASSERT_GE(names.size(), 10u);
  for (const std::string& name : names) {
    const FileDescriptor* file = DescriptorPool::generated_pool()->FindFileByName(name);
    ASSERT_NE(file, nullptr) << name << " is not linked into the test";
    EXPECT_TRUE(absl::StartsWith(file->package(), "aarthik.")) << name << ": " << file->package();
  }
}

TEST(RouteTableTest, PlatformServicesAreTheExpectedOnes) {
  std::set<std::string> services;
  for (const FileDescriptor* file : ApiFiles()) {
    ASSERT_NE(file, nullptr);
    for (int s = 0; s < file->service_count(); ++s) {
      if (IsPlatformPackage(file->package())) services.insert(file->service(s)->full_name());
    }
  }
  const std::set<std::string> expected = {
      "aarthik.headless.v1.SessionsService",      "aarthik.headless.v1.JourneysService",
      "aarthik.headless.v1.ProfileService",       "aarthik.headless.v1.OffersService",
      "aarthik.headless.v1.StepsService",         "aarthik.headless.v1.AccountAggregatorService",
      "aarthik.headless.v1.PostDisbursalService", "aarthik.hybrid.v1.HybridService",
      "aarthik.hosted.v1.HostedService",          "aarthik.webhooks.v1.WebhookSubscriptionService",
  };
  EXPECT_EQ(services, expected);
}

TEST(RouteTableTest, EveryPlatformRpcHasBothOptionsAndNoOtherRpcHasEither) {
  int platform_rpcs = 0;
  for (const MethodDescriptor* method : AllMethods()) {
    const bool has_http = method->options().HasExtension(google::api::http);
    const bool has_route = method->options().HasExtension(gateway::v1::route);
    if (IsPlatformPackage(method->file()->package())) {
      ++platform_rpcs;
      EXPECT_TRUE(has_http) << method->full_name() << " lacks google.api.http";
      EXPECT_TRUE(has_route) << method->full_name() << " lacks aarthik.gateway.v1.route";
      EXPECT_FALSE(method->client_streaming() || method->server_streaming())
          << method->full_name() << ": platform endpoints are unary";
    } else {
      // Gateway-native RPCs (aarthik.gateway.*) do not map to the platform.
      EXPECT_FALSE(has_http || has_route) << method->full_name();
    }
  }
  EXPECT_EQ(platform_rpcs, 40);
}

TEST(RouteTableTest, AllFortyEndpointsAreDeclaredExactlyOnceWithTheContractsSemantics) {
  // (method, platform path) -> RPCs declaring it.
  std::map<std::pair<std::string, std::string>, std::vector<const MethodDescriptor*>> declared;
  for (const MethodDescriptor* method : AllMethods()) {
    if (!method->options().HasExtension(google::api::http)) continue;
    const google::api::HttpRule& rule = method->options().GetExtension(google::api::http);
    EXPECT_EQ(rule.additional_bindings_size(), 0) << method->full_name();
    const std::string verb = HttpMethod(rule);
    EXPECT_FALSE(verb.empty()) << method->full_name() << " uses a custom HTTP verb";
    std::vector<std::string> unknown;
    const std::string path = ToPlatformSpelling(HttpPath(rule), &unknown);
    EXPECT_TRUE(unknown.empty()) << method->full_name() << ": unmapped path variables "
                                 << absl::StrJoin(unknown, ", ");
    declared[{verb, path}].push_back(method);
  }

  std::set<std::pair<std::string, std::string>> expected_keys;
  for (const Endpoint& e : kContract) {
    SCOPED_TRACE(absl::StrCat("§3.0 row ", e.row, ": ", e.method, " ", e.path));
    const std::pair<std::string, std::string> key{e.method, e.path};
    EXPECT_TRUE(expected_keys.insert(key).second) << "duplicate row in the expected table";
    auto it = declared.find(key);
    if (it == declared.end()) {
      ADD_FAILURE() << "no RPC declares this endpoint";
      continue;
    }
    ASSERT_EQ(it->second.size(), 1u)
        << "declared by " << it->second.size() << " RPCs, e.g. " << it->second[0]->full_name()
        << " and " << it->second[1]->full_name();
    const MethodDescriptor* method = it->second[0];
    const RouteOptions& route = method->options().GetExtension(gateway::v1::route);
    EXPECT_EQ(AuthMode_Name(route.auth()), AuthMode_Name(e.auth)) << method->full_name();
    EXPECT_EQ(Mutation_Name(route.mutation()), Mutation_Name(e.mutation)) << method->full_name();
    EXPECT_EQ(Envelope_Name(route.envelope()), Envelope_Name(e.envelope)) << method->full_name();
    // Only session creation and refresh hand the gateway new borrower tokens.
    if (e.row == 1 || e.row == 2) {
      EXPECT_EQ(route.credential_effect(), gateway::v1::CREDENTIAL_EFFECT_STORE_SESSION)
          << method->full_name();
    } else {
      EXPECT_NE(route.credential_effect(), gateway::v1::CREDENTIAL_EFFECT_STORE_SESSION)
          << method->full_name();
    }
  }
  EXPECT_EQ(expected_keys.size(), 40u);
  for (const auto& [key, methods] : declared) {
    EXPECT_TRUE(expected_keys.count(key))
        << key.first << " " << key.second << " (" << methods[0]->full_name()
        << ") is not in the contract's endpoint index";
  }
}

TEST(RouteTableTest, PathVariablesAndBodyNameRequestFields) {
  for (const MethodDescriptor* method : AllMethods()) {
    if (!method->options().HasExtension(google::api::http)) continue;
    SCOPED_TRACE(method->full_name());
    const google::api::HttpRule& rule = method->options().GetExtension(google::api::http);
    const Descriptor* input = method->input_type();
    for (const std::string& variable : PathVariables(HttpPath(rule))) {
      EXPECT_NE(input->FindFieldByName(variable), nullptr)
          << "path variable {" << variable << "} is not a field of " << input->full_name();
    }
    if (rule.pattern_case() == google::api::HttpRule::kGet) {
      EXPECT_TRUE(rule.body().empty()) << "GET with a body";
    } else if (!rule.body().empty() && rule.body() != "*") {
      const auto* body = input->FindFieldByName(rule.body());
      ASSERT_NE(body, nullptr) << "body field " << rule.body() << " not in " << input->full_name();
      EXPECT_EQ(body->type(), google::protobuf::FieldDescriptor::TYPE_MESSAGE)
          << "body field " << rule.body() << " must be a message";
    }
    if (!rule.response_body().empty()) {
      EXPECT_NE(method->output_type()->FindFieldByName(rule.response_body()), nullptr)
          << "response_body " << rule.response_body();
    }
  }
}

// The gateway picks the borrower's session by the request field marked `(field).borrower_key`:
// every borrower-scoped RPC (session or refresh token) has exactly one, at the top level of its
// request, and it is a string.
TEST(RouteTableTest, BorrowerScopedRequestsNameTheBorrower) {
  int borrower_scoped = 0;
  for (const MethodDescriptor* method : AllMethods()) {
    if (!method->options().HasExtension(gateway::v1::route)) continue;
    const auto auth = method->options().GetExtension(gateway::v1::route).auth();
    if (auth != kSession && auth != kRefresh) continue;
    ++borrower_scoped;
    const Descriptor* input = method->input_type();
    std::vector<std::string> keys;
    for (int i = 0; i < input->field_count(); ++i) {
      const auto* field = input->field(i);
      if (field->options().GetExtension(gateway::v1::field).borrower_key()) {
        keys.push_back(field->name());
        EXPECT_EQ(field->type(), google::protobuf::FieldDescriptor::TYPE_STRING)
            << method->full_name() << "." << field->name();
      }
    }
    EXPECT_EQ(keys.size(), 1u) << method->full_name() << ": borrower_key fields ["
                               << absl::StrJoin(keys, ", ") << "]";
  }
  EXPECT_EQ(borrower_scoped, 31);  // rows 2-32
}

// buf's STANDARD rules want `<ENUM_NAME>_UNSPECIFIED = 0`; the gateway relies on it for values the
// platform adds later.
void CheckEnum(const EnumDescriptor* e, int* checked) {
  ++*checked;
  ASSERT_GT(e->value_count(), 0) << e->full_name();
  std::string prefix;
  for (size_t i = 0; i < e->name().size(); ++i) {
    const char c = e->name()[i];
    if (i > 0 && absl::ascii_isupper(c) && !absl::ascii_isupper(e->name()[i - 1])) prefix += '_';
    prefix += absl::ascii_toupper(c);
  }
  EXPECT_EQ(e->value(0)->number(), 0) << e->full_name();
  EXPECT_EQ(e->value(0)->name(), prefix + "_UNSPECIFIED") << e->full_name();
}

void CheckEnumsIn(const Descriptor* message, int* checked) {
  for (int i = 0; i < message->enum_type_count(); ++i) CheckEnum(message->enum_type(i), checked);
  for (int i = 0; i < message->nested_type_count(); ++i) {
    CheckEnumsIn(message->nested_type(i), checked);
  }
}

TEST(RouteTableTest, EveryEnumHasAnUnspecifiedZeroValue) {
  int checked = 0;
  for (const FileDescriptor* file : ApiFiles()) {
    ASSERT_NE(file, nullptr);
    for (int i = 0; i < file->enum_type_count(); ++i) CheckEnum(file->enum_type(i), &checked);
    for (int i = 0; i < file->message_type_count(); ++i)
      CheckEnumsIn(file->message_type(i), &checked);
  }
  EXPECT_GE(checked, 10);
}

}  // namespace
}  // namespace aarthik::proto_test
