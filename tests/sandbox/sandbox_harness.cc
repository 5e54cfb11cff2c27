#include "tests/sandbox/sandbox_harness.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace aarthik::sandbox::testing {
namespace {

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t AppendHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    (*static_cast<std::map<std::string, std::string>*>(
        out))[absl::AsciiStrToLower(line.substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return size * n;
}

}  // namespace

std::unique_ptr<SandboxProcess> SandboxProcess::Start(std::vector<std::string> args) {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)curl_ready;
  std::vector<std::string> argv = {AARTHIK_BIN_DIR "/aarthik-sandbox", "--listen", "127.0.0.1:0",
                                   "--threads", "2"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto process = aarthik::testing::Subprocess::Start(argv);
  if (!process.ok()) {
    std::cerr << process.status() << "\n";
    return nullptr;
  }
  absl::StatusOr<std::string> address = aarthik::testing::ReadListenAddress(**process);
  if (!address.ok()) {
    std::cerr << address.status() << "\n";
    return nullptr;
  }
  auto sandbox = std::unique_ptr<SandboxProcess>(new SandboxProcess());
  sandbox->process_ = std::move(*process);
  sandbox->address_ = *address;
  return sandbox;
}

HttpResult SandboxProcess::Request(const std::string& method, const std::string& path,
                                   const std::string& body,
                                   const std::vector<std::string>& headers) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  const std::string url =
      absl::StrCat(tls_ca_file_.empty() ? "http://" : "https://", address_, path);
  if (!tls_ca_file_.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, tls_ca_file_.c_str());
  curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // Send the path exactly as the test wrote it: libcurl would otherwise resolve "/../" itself.
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, AppendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  result.curl_code = curl_easy_perform(curl);
  if (result.curl_code == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  result.json = nlohmann::json::parse(result.body, nullptr, false);
  return result;
}

void SandboxProcess::AdvanceTime(double seconds) {
  Request("POST", "/_sandbox/time/advance", nlohmann::json{{"seconds", seconds}}.dump());
}

nlohmann::json SandboxProcess::Counters() { return Request("GET", "/_sandbox/counters").json; }

HeadlessBorrower::HeadlessBorrower(SandboxProcess* sandbox, std::string external_id)
    : sandbox_(sandbox), external_id_(std::move(external_id)) {}

HttpResult HeadlessBorrower::Bootstrap(const nlohmann::json& profile) {
  nlohmann::json body = {{"borrowerExternalID", external_id_}, {"journeyType", "PERSONAL_LOAN"}};
  if (!profile.is_null()) body["profile"] = profile;
  HttpResult r =
      sandbox_->Request("POST", "/api/v1/headless/sessions", body.dump(),
                        {absl::StrCat("Authorization: Bearer ", kApiKey),
                         absl::StrCat("Idempotency-Key: boot-", external_id_, "-", next_key_++)});
  if (r.status == 200) {
    session_token = r.data()["sessionToken"];
    refresh_token = r.data()["refreshToken"];
  }
  return r;
}

HttpResult HeadlessBorrower::Call(const std::string& method, const std::string& path,
                                  const nlohmann::json& body, const std::string& idempotency_key) {
  std::vector<std::string> headers = {absl::StrCat("Authorization: Bearer ", session_token)};
  if (method != "GET") {
    headers.push_back(absl::StrCat(
        "Idempotency-Key: ",
        idempotency_key.empty() ? absl::StrCat(external_id_, "-", next_key_++) : idempotency_key));
  }
  return sandbox_->Request(method, path, body.is_null() ? "" : body.dump(), headers);
}

std::string HeadlessBorrower::JourneyWithOffers() {
  HttpResult created = Call("POST", "/api/v1/headless/journeys",
                            LoadFixture("headless/journeys.create.request.json"));
  const std::string id = created.data()["journeyID"];
  const std::string base = absl::StrCat("/api/v1/headless/journeys/", id);
  Call("PUT", base + "/profile", LoadFixture("headless/profile.update.request.json"));
  Call("POST", base + "/profile/submit", LoadFixture("headless/profile.submit.request.json"));
  sandbox_->AdvanceTime(10);
  return id;
}

nlohmann::json LoadFixture(const std::string& relative_path) {
  std::ifstream in(absl::StrCat(AARTHIK_FIXTURES_DIR, "/", relative_path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return nlohmann::json::parse(buffer.str());
}

WebhookReceiver::WebhookReceiver(std::function<int(int)> status_for)
    : status_for_(std::move(status_for)),
      acceptor_(io_,
                boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
  thread_ = std::thread([this] { Serve(); });
}

WebhookReceiver::~WebhookReceiver() {
  // shutdown() wakes the thread blocked in accept(); closing first would leave it blocked.
  ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
  thread_.join();
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

std::string WebhookReceiver::url() const {
  return absl::StrCat("http://127.0.0.1:", acceptor_.local_endpoint().port(), "/hooks");
}

bool WebhookReceiver::WaitFor(size_t count, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return received_.size() >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

std::vector<ReceivedWebhook> WebhookReceiver::received() const {
  absl::MutexLock lock(&mu_);
  return received_;
}

void WebhookReceiver::Serve() {
  namespace http = boost::beast::http;
  while (true) {
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    if (ec) return;
    boost::beast::flat_buffer buffer;
    while (true) {
      http::request<http::string_body> request;
      http::read(socket, buffer, request, ec);
      if (ec) break;
      ReceivedWebhook hook;
      for (const auto& field : request) {
        hook.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
            std::string(field.value());
      }
      hook.body = request.body();
      int index;
      {
        absl::MutexLock lock(&mu_);
        index = static_cast<int>(received_.size());
        received_.push_back(std::move(hook));
      }
      http::response<http::string_body> response{static_cast<http::status>(status_for_(index)),
                                                 request.version()};
      response.body() = "ok";
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      http::write(socket, response, ec);
      if (ec || !request.keep_alive()) break;
    }
  }
}

}  // namespace aarthik::sandbox::testing
