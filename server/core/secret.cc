#include "server/core/secret.h"

#include <openssl/sha.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/core/log.h"

namespace aarthik::core {

std::shared_ptr<const std::string> Secret::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return value_;
}

std::shared_ptr<const std::string> Secret::Previous(absl::Time now) const {
  std::lock_guard<std::mutex> lock(mu_);
  return now < previous_until_ ? previous_ : nullptr;
}

void Secret::Set(std::string value, absl::Time keep_previous_until) {
  auto next = std::make_shared<const std::string>(std::move(value));
  std::lock_guard<std::mutex> lock(mu_);
  previous_ = std::move(value_);
  previous_until_ = keep_previous_until;
  value_ = std::move(next);
}

std::string SecretFingerprint(absl::string_view value) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(value.data()), value.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 4));
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read secret file ", path));
  std::stringstream content;
  content << in.rdbuf();
  std::string value(absl::StripAsciiWhitespace(content.str()));
  if (value.empty())
    return absl::InvalidArgumentError(absl::StrCat("secret file ", path, " is empty"));
  return value;
}

void SecretFileWatcher::Watch(std::string path, std::shared_ptr<Secret> secret,
                              WatchOptions options) {
  // The start-up version, so that on-call can compare it with later "secret reloaded" lines.
  Log(Severity::kInfo, "secret loaded",
      {{"secret", options.name},
       {"path", path},
       {"fingerprint", SecretFingerprint(*secret->Get())}});
  files_.push_back(File{std::move(path), std::move(secret), std::move(options)});
}

int SecretFileWatcher::Poll() {
  int changed = 0;
  for (File& file : files_) {
    absl::StatusOr<std::string> value = file.options.read(file.path);
    if (!value.ok()) {
      // Keep serving with the old value: a half-written or briefly missing file must not take us
      // down.
      if (!file.failing) {
        Log(Severity::kWarning, "secret file unusable; keeping the current value",
            {{"secret", file.options.name},
             {"path", file.path},
             {"error", value.status().message()}});
      }
      file.failing = true;
      continue;
    }
    if (file.failing) {
      Log(Severity::kInfo, "secret file usable again",
          {{"secret", file.options.name}, {"path", file.path}});
      file.failing = false;
    }
    if (*value == *file.secret->Get()) continue;
    const std::string fingerprint = SecretFingerprint(*value);
    file.secret->Set(*std::move(value), clock_.Now() + file.options.keep_previous_for);
    ++changed;
    if (file.options.on_change) file.options.on_change(*file.secret->Get());
    Log(Severity::kInfo, "secret reloaded",
        {{"secret", file.options.name}, {"path", file.path}, {"fingerprint", fingerprint}});
  }
  return changed;
}

void SecretFileWatcher::Start(absl::Duration interval) {
  if (files_.empty() || thread_.joinable()) return;
  const auto period = absl::ToChronoNanoseconds(interval);
  thread_ = std::thread([this, period] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!wake_.wait_for(lock, period, [this] { return stop_; })) {
      lock.unlock();
      Poll();
      lock.lock();
    }
  });
}

void SecretFileWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace aarthik::core
