// Secret: a credential that may change while the process runs (a Kubernetes-mounted secret is
// rotated in place), and SecretFileWatcher, which re-reads secret files and swaps new values in
// without a restart.
//
// Consumers keep a std::shared_ptr<const Secret> and read the current value on every use, never a
// copy taken at start-up:
//
//   auto api_key = std::make_shared<Secret>(config.api_key);
//   request.bearer = *api_key->Get();
//
//   SecretFileWatcher watcher(Clock::Real());
//   watcher.Watch("/run/secrets/api-key", api_key, {.name = "api key", .read = ReadApiKeyFile});
//   watcher.Start(absl::Seconds(10));   // a thread polls every 10 s, or call Poll() yourself
//
// Polls run off the upstream event loop (file reads, even of tmpfs secrets, must never stall
// upstream I/O): on the thread Start creates, or, in the gateway, on the main thread between
// signal waits (Gateway::PollSecrets), which saves a thread. A
// file is re-read on every pass and compared by content, so it does not matter how it changed:
// Kubernetes swaps a `..data` symlink, operators rename a new file over the old one or rewrite it.
// A file that cannot be read, is empty or fails the reader's check keeps the old value and logs one
// warning (until it recovers). Watch logs "secret loaded" and a swap "secret reloaded", each with
// the path and a fingerprint (8 hex digits of SHA-256), never the value.
//
// Thread-safety: Secret is fully thread-safe. SecretFileWatcher: Watch before Start; Poll from one
// thread at a time and not while the thread started by Start runs; Stop (or the destructor) from
// the owning thread.
#ifndef AARTHIK_SERVER_CORE_SECRET_H_
#define AARTHIK_SERVER_CORE_SECRET_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/core/clock.h"

namespace aarthik::core {

class Secret {
 public:
  explicit Secret(std::string value)
      : value_(std::make_shared<const std::string>(std::move(value))) {}
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;

  // The current value; the pointer stays valid however often the secret changes meanwhile.
  std::shared_ptr<const std::string> Get() const;
  // The value the last Set replaced, while `now` is before the `keep_previous_until` given to that
  // Set; otherwise null. Lets a verifier accept the old secret during a rotation overlap.
  std::shared_ptr<const std::string> Previous(absl::Time now) const;
  void Set(std::string value, absl::Time keep_previous_until = absl::InfinitePast());

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const std::string> value_;
  std::shared_ptr<const std::string> previous_;
  absl::Time previous_until_ = absl::InfinitePast();
};

// First 8 hex digits of SHA-256(value): tells which version of a secret is live without revealing
// it.
std::string SecretFingerprint(absl::string_view value);

// Reads a secret file: surrounding whitespace stripped; unreadable or empty is an error naming the
// path.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

class SecretFileWatcher {
 public:
  // Reads and checks one file's new value. Error messages must not contain the value.
  using Reader = std::function<absl::StatusOr<std::string>(const std::string& path)>;
  struct WatchOptions {
    std::string name = "secret";  // for logs, e.g. "api key", "web-hook secret"
    Reader read = ReadSecretFile;
    // How long the replaced value stays available from Secret::Previous.
    absl::Duration keep_previous_for = absl::ZeroDuration();
    // Called by Poll with the new value after a swap, for consumers that derive state from it (a
    // compiled authorization policy, a parsed JWKS). Optional.
    std::function<void(const std::string& value)> on_change = nullptr;
  };

  explicit SecretFileWatcher(const Clock& clock) : clock_(clock) {}
  ~SecretFileWatcher() { Stop(); }
  SecretFileWatcher(const SecretFileWatcher&) = delete;
  SecretFileWatcher& operator=(const SecretFileWatcher&) = delete;

  // `secret` holds the value read from `path` at start-up.
  void Watch(std::string path, std::shared_ptr<Secret> secret, WatchOptions options);
  // Re-reads every watched file once and swaps changed values in; returns how many changed.
  int Poll();
  // Polls every `interval` on a dedicated thread until Stop. Does nothing without watched files.
  void Start(absl::Duration interval);
  void Stop();

  size_t size() const { return files_.size(); }

 private:
  struct File {
    std::string path;
    std::shared_ptr<Secret> secret;
    WatchOptions options;
    bool failing = false;  // the last read failed (warned once)
  };

  const Clock& clock_;
  std::vector<File> files_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace aarthik::core

#endif  // AARTHIK_SERVER_CORE_SECRET_H_
