// Web-hook delivery (§4.1–4.2): signed `journey.snapshot` POSTs, at-least-once, retried with
// exponential backoff (simulated time) on non-2xx or connection errors.
//
// One worker thread owns delivery and also runs the "ticker" (the Platform's time-driven journey
// advance) every 20 ms of real time, so journeys move and web-hooks fire even when nobody polls.
// Options deliver duplicates (same event id twice) or out of order (each event is held until the
// next one is produced and then sent after it) on purpose.
//
// Example:
//   WebhookDispatcher hooks(&clock, &counters, options);
//   hooks.Start([&] { platform.Tick(); });
//   hooks.Enqueue("https://partner.example/hooks", "evt_01...", body_json_string);
//   ...
//   hooks.Stop();
//
// Thread-safety: all public methods are thread-safe. Enqueue never blocks on the network.
#ifndef AARTHIK_SANDBOX_WEBHOOK_DISPATCHER_H_
#define AARTHIK_SANDBOX_WEBHOOK_DISPATCHER_H_

#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sandbox/counters.h"
#include "sandbox/sim_clock.h"

namespace aarthik::sandbox {

struct WebhookOptions {
  std::string tenant_id;
  std::string application_id;
  std::string secret;
  absl::Duration backoff = absl::Minutes(1);  // first retry; doubled per attempt, capped at 1 h
  int max_attempts = 8;
  double duplicate_rate = 0;
  bool reorder = false;
  uint64_t seed = 1;
};

class WebhookDispatcher {
 public:
  WebhookDispatcher(const SimClock* clock, Counters* counters, WebhookOptions options);
  ~WebhookDispatcher();

  // Starts the worker; `tick` runs on it periodically and after Wake().
  void Start(std::function<void()> tick);
  void Stop();

  void Enqueue(const std::string& url, const std::string& event_id, std::string body);
  // Runs the ticker and due deliveries soon (after a simulated time jump).
  void Wake();
  // Drops every pending delivery (control-plane reset).
  void Clear();
  void SetDeliveryOptions(double duplicate_rate, bool reorder);
  // Test/diagnostic: deliveries waiting (held, queued or awaiting a retry).
  size_t pending() const;

 private:
  struct Delivery {
    std::string url;
    std::string event_id;
    std::string body;
    int attempt = 0;
    absl::Time due;  // simulated time
  };

  void Run();
  // Sends one attempt; true on 2xx.
  bool Send(Delivery& delivery);

  const SimClock* clock_;
  Counters* counters_;
  WebhookOptions options_;
  std::function<void()> tick_;
  std::thread worker_;

  mutable absl::Mutex mu_;
  std::deque<Delivery> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<Delivery> held_ ABSL_GUARDED_BY(mu_);  // reorder mode: held back (with duplicate)
  absl::Time held_since_ ABSL_GUARDED_BY(mu_);       // real time
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_WEBHOOK_DISPATCHER_H_
