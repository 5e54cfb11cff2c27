// The parts of Http1Transport that both of its source files use: an origin's idle connections, a
// connection, a request in flight. Private to server/upstream/http1_transport*.cc.
//
// Thread safety: everything here is used on the transport's loop only.
#ifndef AARTHIK_SERVER_UPSTREAM_HTTP1_TRANSPORT_INTERNAL_H_
#define AARTHIK_SERVER_UPSTREAM_HTTP1_TRANSPORT_INTERNAL_H_

#include <curl/curl.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/upstream/http1_codec.h"
#include "server/upstream/http1_transport.h"

namespace aarthik::upstream {

struct Http1Transport::Origin {
  std::string key;          // scheme://authority
  std::string host_header;  // authority
  bool tls = false;
  std::vector<Connection*> idle;  // last released on top
};

struct Http1Transport::Connection {
  enum class State { kConnecting, kBusy, kIdle };
  CURL* easy = nullptr;
  Lane* lane = nullptr;
  Origin* origin = nullptr;
  State state = State::kConnecting;
  int fd = -1;  // once connected
  bool watching_out = false;
  bool reused = false;
  absl::Time idle_since;
  Call* call = nullptr;
  std::string out;  // the request on the wire
  size_t sent = 0;
  std::optional<Http1ResponseParser> parser;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

struct Http1Transport::Call {
  ~Call() {
    // Only reached with a callback left when the loop stopped before the request could finish.
    if (done) std::move(done)(absl::CancelledError("upstream transport shut down"));
  }
  RequestId id = 0;
  HttpRequest request;
  absl::string_view target;      // into request.url
  absl::string_view origin_key;  // into request.url: scheme://authority
  bool tls = false;
  ResponseCallback done;
  Connection* connection = nullptr;
  EventLoop::TimerId timer = 0;
};

}  // namespace aarthik::upstream

#endif  // AARTHIK_SERVER_UPSTREAM_HTTP1_TRANSPORT_INTERNAL_H_
