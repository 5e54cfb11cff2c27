// Fuzz target: the platform's answer to every route, read the two ways the gateway reads it.
//
// Input: an HTTP body, then a byte choosing the HTTP status, then a byte choosing the route
// (make_seeds.py builds seeds from the documentation's payloads in that layout). The body goes
// through the hot path (DecodeSuccessFast straight into the route's response message) and through
// the full path (DecodeReply, then the codec from the JSON tree, MapPlatformError or
// MapBadResponse), as PlatformClient and ProxyCall do. Properties beyond "no crash, no leak, no
// UB":
//   - the hot path only takes answers the full path calls plain successes;
//   - both paths agree on whether the payload fits the message, and on the message they build;
//   - every failure becomes a gRPC-ready error (never OK, never UNKNOWN).
#include <cstdio>
#include <string>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "server/transcode/fast_reply.h"
#include "server/transcode/platform_reply.h"
#include "tests/fuzz/fuzz_support.h"

namespace aarthik::fuzz {
namespace {

using google::protobuf::Message;

constexpr int kStatuses[] = {200, 201, 202, 204, 400, 401, 403, 404,
                             409, 412, 422, 429, 500, 502, 503, 504};

std::unique_ptr<Message> NewPayload(const transcode::Route& route, Message** payload) {
  std::unique_ptr<Message> response(google::protobuf::MessageFactory::generated_factory()
                                        ->GetPrototype(route.method->output_type())
                                        ->New());
  *payload = route.response_field != nullptr
                 ? response->GetReflection()->MutableMessage(response.get(), route.response_field)
                 : response.get();
  return response;
}

// Deterministic wire bytes: equal for equal messages, NaNs and map order included.
std::string CanonicalBytes(const Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);  // gives back its spare on destruction
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

void RequireRpcError(const absl::Status& status) {
  Require(!status.ok() && status.code() != absl::StatusCode::kUnknown,
          "a platform failure maps to a definite gRPC error");
}

void Run(FuzzedDataProvider& input) {
  const transcode::Route& route = PickRoute(input);
  const uint8_t status_choice = input.ConsumeIntegral<uint8_t>();
  const int http_status =
      status_choice < std::size(kStatuses) ? kStatuses[status_choice] : 100 + status_choice * 2;
  const std::string body = input.ConsumeRemainingBytesAsString();
  const transcode::ErrorContext context{route.label, "corr-fuzz"};
  const transcode::JsonCodec& codec = Codec();

  Message* fast_payload = nullptr;
  std::unique_ptr<Message> fast_response = NewPayload(route, &fast_payload);
  transcode::PlatformReply fast;
  const bool fast_taken = transcode::DecodeSuccessFast(
      route.options.envelope(), http_status, body,
      [&](transcode::SimdjsonView data) { return codec.Decode(data, fast_payload); }, &fast);

  absl::StatusOr<transcode::PlatformReply> full =
      transcode::DecodeReply(route.options.envelope(), http_status, body);
  if (!full.ok()) {
    Require(!fast_taken, "the hot path takes no answer the full path refuses");
    transcode::PlatformReply answered;
    answered.http_status = http_status;
    RequireRpcError(transcode::MapBadResponse(full.status().message(), &answered, context));
    return;
  }
  if (full->error.has_value()) {
    Require(!fast_taken, "the hot path takes no error answer");
    RequireRpcError(transcode::MapPlatformError(*full, context));
    return;
  }
  Message* full_payload = nullptr;
  std::unique_ptr<Message> full_response = NewPayload(route, &full_payload);
  const absl::Status full_decoded = codec.Decode(full->data, full_payload);
  if (!full_decoded.ok()) {
    RequireRpcError(transcode::MapBadResponse(full_decoded.message(), &*full, context));
  }
  if (!fast_taken) return;
  Require(fast.request_id == full->request_id, "both paths read the same request ID");
  Require(full_decoded.ok(), "the hot path takes only a payload the full path decodes too");
  if (CanonicalBytes(*fast_response) != CanonicalBytes(*full_response)) {
    std::fprintf(stderr, "route %s\nhot path:  %s\nfull path: %s\n", route.label.c_str(),
                 fast_response->ShortDebugString().c_str(),
                 full_response->ShortDebugString().c_str());
    Require(false, "both paths build the same message");
  }
}

}  // namespace
}  // namespace aarthik::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  aarthik::fuzz::Run(input);
  return 0;
}
