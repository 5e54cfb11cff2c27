// Writes the fuzz targets' seed corpora from the platform documentation's own payloads
// (tests/fixtures/platform), in each target's input layout (see the targets' headers):
//
//   fuzz_seed_maker FIXTURES_DIR OUT_DIR
//   → OUT_DIR/platform_reply/…   every documented payload, in the envelope of every route, as a
//                                 200 (and the documented error objects as their 4xx)
//   → OUT_DIR/webhook_receiver/… every documented web-hook sample, signed by the target (layout 0)
//                                 and with its headers spelled out in the input (layout 2)
//   → OUT_DIR/request_mapper/…   one input per route that picks it
//   → OUT_DIR/http_request/…     requests for the listener's routes, signed web-hooks included
#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"
#include "server/events/webhook_verifier.h"
#include "tests/fuzz/fuzz_support.h"

namespace aarthik::fuzz {
namespace {

// What the targets use; kept in step with them by the seeds' own effect (a seed in the wrong
// layout only costs coverage, never a false report).
constexpr char kWebhookSecret[] = "whsec_fuzz";
constexpr char kTenant[] = "8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61";
constexpr char kApplication[] = "fbb1fd74-c502-4419-83f3-82a2a019fc9a";
constexpr char kTimestamp[] = "1741179022";
constexpr uint8_t kStatus200 = 0;  // index of 200 in platform_reply_fuzzer's table
constexpr uint8_t kStatus409 = 8;
constexpr uint8_t kStatus400 = 4;

std::vector<std::string> JsonFiles(const std::string& dir) {
  std::vector<std::string> files;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* entry = readdir(d)) {
      if (absl::EndsWith(entry->d_name, ".json")) files.push_back(dir + "/" + entry->d_name);
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

void Write(const std::string& dir, const std::string& name, const std::string& content) {
  mkdir(dir.c_str(), 0755);
  std::ofstream(dir + "/" + name, std::ios::binary) << content;
}

std::string EventIdOf(const std::string& body) {
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("event_id") && parsed["event_id"].is_string()) {
    return parsed["event_id"].get<std::string>();
  }
  return "evt_seed";
}

std::string Byte(uint8_t value) { return std::string(1, static_cast<char>(value)); }

// FuzzedDataProvider::ConsumeRandomLengthString's spelling: backslashes doubled, then "\" + any
// other character ends the string.
std::string FdpString(const std::string& text) {
  return absl::StrCat(absl::StrReplaceAll(text, {{"\\", "\\\\"}}), "\\n");
}

std::string Wrapped(gateway::v1::Envelope envelope, const std::string& data) {
  switch (envelope) {
    case gateway::v1::ENVELOPE_HEADLESS:
      return absl::StrCat(R"({"requestID":"req_seed","correlationID":"corr_seed",)",
                          R"("timestamp":"2026-03-05T15:15:00.000Z","data":)", data,
                          R"(,"error":null})");
    case gateway::v1::ENVELOPE_HYBRID:
      return absl::StrCat(R"({"request_id":"req_seed","data":)", data, "}");
    default:
      return data;
  }
}

void Run(const std::string& fixtures, const std::string& out) {
  mkdir(out.c_str(), 0755);
  std::vector<std::string> payloads;  // data objects and whole answers
  std::vector<std::string> errors;    // whole error envelopes
  for (const char* kind : {"headless", "hosted"}) {
    for (const std::string& file : JsonFiles(absl::StrCat(fixtures, "/", kind))) {
      if (absl::StrContains(file, "error")) {
        errors.push_back(Read(file));
      } else if (!absl::StrContains(file, ".request")) {
        payloads.push_back(Read(file));
      }
    }
  }
  const auto& routes = Routes().routes();
  for (size_t r = 0; r < routes.size(); ++r) {
    const gateway::v1::Envelope envelope = routes[r]->options.envelope();
    const std::string route_byte = Byte(static_cast<uint8_t>(r));
    for (size_t p = 0; p < payloads.size(); ++p) {
      Write(out + "/platform_reply", absl::StrCat("route", r, "-payload", p),
            Wrapped(envelope, payloads[p]) + Byte(kStatus200) + route_byte);
    }
    for (size_t e = 0; e < errors.size(); ++e) {
      Write(out + "/platform_reply", absl::StrCat("route", r, "-error", e),
            errors[e] + Byte(e % 2 == 0 ? kStatus409 : kStatus400) + route_byte);
    }
    Write(out + "/request_mapper", absl::StrCat("route", r), std::string(64, '\x01') + route_byte);
  }
  int n = 0;
  for (const std::string& file : JsonFiles(fixtures + "/webhooks")) {
    const std::string body = Read(file);
    const std::string signature =
        events::HmacSha256Hex(kWebhookSecret, absl::StrCat(kTimestamp, ".", body));
    Write(out + "/http_request", absl::StrCat("webhook", n++),
          absl::StrCat("POST /webhooks/aarthik HTTP/1.1\r\nHost: gateway\r\n",
                       "Content-Type: application/json\r\nX-AL-Event-ID: ", EventIdOf(body),
                       "\r\nX-AL-Tenant-ID: ", kTenant, "\r\nX-AL-Application-ID: ", kApplication,
                       "\r\nX-AL-Webhook-Timestamp: ", kTimestamp, "\r\nX-AL-Webhook-Signature: ",
                       signature, "\r\nContent-Length: ", body.size(), "\r\n\r\n", body));
  }
  Write(out + "/http_request", "healthz", "GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n");
  Write(out + "/http_request", "metrics",
        "GET /metrics HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n");
  Write(out + "/http_request", "chunked",
        "POST /webhooks/aarthik HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\n"
        "X-AL-Webhook-Timestamp: 1741179022\r\n\r\n4\r\n{}\r\n\r\n0\r\n\r\n");
  n = 0;
  for (const std::string& file : JsonFiles(fixtures + "/webhooks")) {
    const std::string body = Read(file);
    Write(out + "/webhook_receiver", absl::StrCat("signed", n), body + Byte(0));
    const std::string signature =
        events::HmacSha256Hex(kWebhookSecret, absl::StrCat(kTimestamp, ".", body));
    Write(out + "/webhook_receiver", absl::StrCat("headers", n),
          absl::StrCat(FdpString(EventIdOf(body)), FdpString(kTenant), FdpString(kApplication),
                       FdpString(kTimestamp), FdpString(signature), body, Byte(2)));
    ++n;
  }
}

}  // namespace
}  // namespace aarthik::fuzz

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FIXTURES_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  aarthik::fuzz::Run(argv[1], argv[2]);
  return 0;
}
