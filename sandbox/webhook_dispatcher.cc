#include "sandbox/webhook_dispatcher.h"

#include <curl/curl.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "sandbox/signing.h"

namespace aarthik::sandbox {
namespace {

size_t DiscardBody(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

}  // namespace

WebhookDispatcher::WebhookDispatcher(const SimClock* clock, Counters* counters,
                                     WebhookOptions options)
    : clock_(clock), counters_(counters), options_(std::move(options)), rng_(options_.seed) {}

WebhookDispatcher::~WebhookDispatcher() { Stop(); }

void WebhookDispatcher::Start(std::function<void()> tick) {
  tick_ = std::move(tick);
  worker_ = std::thread([this] { Run(); });
}

void WebhookDispatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (worker_.joinable()) worker_.join();
}

void WebhookDispatcher::Enqueue(const std::string& url, const std::string& event_id,
                                std::string body) {
  absl::MutexLock lock(&mu_);
  Delivery delivery{url, event_id, std::move(body), 0, clock_->Now()};
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const bool duplicate = options_.duplicate_rate > 0 && uniform(rng_) < options_.duplicate_rate;
  if (options_.reorder) {
    if (!held_.empty()) {
      // Send the newer event first, then the one held back: out of order on purpose.
      queue_.push_back(delivery);
      if (duplicate) queue_.push_back(delivery);
      for (Delivery& held : held_) queue_.push_back(std::move(held));
      held_.clear();
    } else {
      held_.push_back(delivery);
      if (duplicate) held_.push_back(delivery);
      held_since_ = absl::Now();
    }
    return;
  }
  queue_.push_back(delivery);
  if (duplicate) queue_.push_back(std::move(delivery));
}

void WebhookDispatcher::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void WebhookDispatcher::Clear() {
  absl::MutexLock lock(&mu_);
  queue_.clear();
  held_.clear();
}

void WebhookDispatcher::SetDeliveryOptions(double duplicate_rate, bool reorder) {
  absl::MutexLock lock(&mu_);
  options_.duplicate_rate = duplicate_rate;
  options_.reorder = reorder;
  if (!reorder) {
    for (Delivery& held : held_) queue_.push_back(std::move(held));
    held_.clear();
  }
}

size_t WebhookDispatcher::pending() const {
  absl::MutexLock lock(&mu_);
  return queue_.size() + held_.size();
}

void WebhookDispatcher::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || woken_; };
      mu_.AwaitWithTimeout(absl::Condition(&wake), absl::Milliseconds(20));
      if (stopping_) return;
      woken_ = false;
    }
    if (tick_) tick_();  // may Enqueue; must run without mu_ held

    std::vector<Delivery> due;
    {
      absl::MutexLock lock(&mu_);
      // A held (reorder) event with no successor for 1 s real time goes out anyway.
      if (!held_.empty() && absl::Now() - held_since_ > absl::Seconds(1)) {
        for (Delivery& held : held_) queue_.push_back(std::move(held));
        held_.clear();
      }
      const absl::Time now = clock_->Now();
      for (auto it = queue_.begin(); it != queue_.end();) {
        if (it->due <= now) {
          due.push_back(std::move(*it));
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (Delivery& delivery : due) {
      const bool ok = Send(delivery);
      if (!ok && delivery.attempt < options_.max_attempts) {
        absl::Duration backoff = options_.backoff;
        for (int i = 1; i < delivery.attempt && backoff < absl::Hours(1); ++i) backoff *= 2;
        delivery.due = clock_->Now() + std::min(backoff, absl::Hours(1));
        absl::MutexLock lock(&mu_);
        queue_.push_back(std::move(delivery));
      }
      // Counted after the retry is scheduled, so an observer of the counters can rely on it.
      counters_->CountWebhookResult(ok);
    }
  }
}

bool WebhookDispatcher::Send(Delivery& delivery) {
  ++delivery.attempt;
  counters_->CountWebhookSent();
  // The signature timestamp is real epoch seconds: receivers compare it with their own clock.
  const std::string timestamp = std::to_string(absl::ToUnixSeconds(absl::Now()));
  const std::string signature = SignWebhook(options_.secret, timestamp, delivery.body);
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return false;
  curl_slist* headers = nullptr;
  for (const std::string& h :
       {std::string("Content-Type: application/json"),
        absl::StrCat("X-AL-Event-ID: ", delivery.event_id),
        absl::StrCat("X-AL-Tenant-ID: ", options_.tenant_id),
        absl::StrCat("X-AL-Application-ID: ", options_.application_id),
        absl::StrCat("X-AL-Webhook-Timestamp: ", timestamp),
        absl::StrCat("X-AL-Webhook-Signature: ", signature), std::string("Expect:")}) {
    headers = curl_slist_append(headers, h.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, delivery.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, delivery.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(delivery.body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, DiscardBody);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return rc == CURLE_OK && status >= 200 && status < 300;
}

}  // namespace aarthik::sandbox
