// The hot path's reading of a platform success: one simdjson parse of the body into a per-thread
// parser's tape (no allocation once warm), the envelope's success shape checked, and `data` handed
// to the caller's decoder as a view, so that the reply goes from bytes to the response message
// without an nlohmann tree in between.
//
//   PlatformReply reply;
//   if (DecodeSuccessFast(envelope, 200, body,
//                         [&](SimdjsonView data) { return codec.Decode(data, &response); },
//                         &reply)) {
//     // reply.request_id / correlation_id are set; the data went into `response`.
//   } else {
//     // not the plain success: DecodeReply reads the body the full way and says what was wrong.
//   }
//
// It only ever takes the common case: a 2xx whose envelope (headless, Hybrid) carries a string
// request ID, a `data` object and no error, each key once, or an unenveloped (ENVELOPE_NONE) JSON
// object, of at most 1 MiB (past that, simdjson's buffers, ~15 times the text, would outgrow the
// full path's tree). Anything else returns false and leaves `reply` alone, so DecodeReply stays the
// one place that decides and words errors. So does a payload `decode` fails on (see DataDecoder).
//
// Thread-safety: any thread; each thread has its own parser. `decode` must not call back into
// DecodeSuccessFast (the view is into this thread's parser).
#ifndef AARTHIK_SERVER_TRANSCODE_FAST_REPLY_H_
#define AARTHIK_SERVER_TRANSCODE_FAST_REPLY_H_

#include <string>

#include "aarthik/gateway/v1/options.pb.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "server/transcode/platform_reply.h"
#include "server/transcode/simdjson_view.h"

namespace aarthik::transcode {

// Any error from the decoder declines the payload: the reply is then not taken, and DecodeReply
// reads it the full way and decides. JsonCodec answers ABORTED for a field given twice, which the
// two parsers resolve differently; and an error is only final on the full path, because a key
// given twice may fail in its first copy, which nlohmann (keeping the last) never sees (found by
// tests/fuzz/platform_reply_fuzzer.cc).
using DataDecoder = absl::FunctionRef<absl::Status(SimdjsonView data)>;

// True when the fast path took the reply: `reply` then holds the status and IDs (its `data` stays
// empty: the payload went to `decode`, which succeeded).
bool DecodeSuccessFast(gateway::v1::Envelope envelope, int http_status, const std::string& body,
                       DataDecoder decode, PlatformReply* reply);

}  // namespace aarthik::transcode

#endif  // AARTHIK_SERVER_TRANSCODE_FAST_REPLY_H_
