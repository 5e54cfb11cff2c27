// Secret and SecretFileWatcher: values swapped in when a file changes however it changed (rewrite,
// rename over, Kubernetes' `..data` symlink swap), old values kept when the new file is unusable,
// the previous value's overlap on a fake clock, and logs that carry a fingerprint but never the
// value. Poll() is the timer seam: no test waits for the watcher's thread except the one that
// checks the thread itself.
#include "server/core/secret.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aarthik::core {
namespace {

TEST(Secret, SwapsAndKeepsThePreviousValueUntilItsOverlapEnds) {
  Secret secret("one");
  std::shared_ptr<const std::string> held = secret.Get();
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  EXPECT_EQ(secret.Previous(now), nullptr);

  secret.Set("two", now + absl::Minutes(5));
  EXPECT_EQ(*secret.Get(), "two");
  EXPECT_EQ(*held, "one");  // a reader's copy stays valid
  ASSERT_NE(secret.Previous(now), nullptr);
  EXPECT_EQ(*secret.Previous(now + absl::Minutes(4)), "one");
  EXPECT_EQ(secret.Previous(now + absl::Minutes(5)), nullptr);

  secret.Set("three");  // no overlap asked
  EXPECT_EQ(secret.Previous(now), nullptr);
}

TEST(SecretFingerprint, IsAShortSha256Prefix) {
  // printf '%s' abc | sha256sum → ba7816bf8f01cfea...
  EXPECT_EQ(SecretFingerprint("abc"), "ba7816bf");
  EXPECT_EQ(SecretFingerprint("sk_test_a").size(), 8u);
  EXPECT_NE(SecretFingerprint("sk_test_a"), SecretFingerprint("sk_test_b"));
}

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/aarthik-secret-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { ASSERT_EQ(std::system(("rm -rf " + dir_).c_str()), 0); }

  std::string Path(const std::string& name) { return dir_ + "/" + name; }
  void Write(const std::string& path, const std::string& content) {
    std::ofstream(path) << content;
  }
  // The atomic way: write a new file, then rename it over the old one.
  void Replace(const std::string& path, const std::string& content) {
    Write(path + ".new", content);
    ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0);
  }

  std::string dir_;
  ManualClock clock_{absl::FromUnixSeconds(1'700'000'000)};
};

TEST_F(SecretFileTest, ReadSecretFileStripsWhitespaceAndRefusesEmptyOrMissing) {
  Write(Path("key"), "  sk_test_a\r\n");
  EXPECT_EQ(*ReadSecretFile(Path("key")), "sk_test_a");
  Write(Path("empty"), "\n");
  EXPECT_FALSE(ReadSecretFile(Path("empty")).ok());
  EXPECT_FALSE(ReadSecretFile(Path("missing")).ok());
}

TEST_F(SecretFileTest, PicksUpRewritesAndRenamesAndLogsOnlyAFingerprint) {
  const std::string path = Path("api-key");
  Write(path, "sk_test_one\n");
  auto secret = std::make_shared<Secret>("sk_test_one");
  SecretFileWatcher watcher(clock_);
  ::testing::internal::CaptureStderr();
  watcher.Watch(path, secret, {.name = "api key"});
  const std::string loaded = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(absl::StrContains(loaded, "secret loaded")) << loaded;
  EXPECT_TRUE(absl::StrContains(loaded, SecretFingerprint("sk_test_one"))) << loaded;
  EXPECT_FALSE(absl::StrContains(loaded, "sk_test")) << loaded;
  EXPECT_EQ(watcher.Poll(), 0);  // unchanged

  Replace(path, "sk_test_two\n");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(watcher.Poll(), 1);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(*secret->Get(), "sk_test_two");
  EXPECT_TRUE(absl::StrContains(log, "secret reloaded")) << log;
  EXPECT_TRUE(absl::StrContains(log, path)) << log;
  EXPECT_TRUE(absl::StrContains(log, SecretFingerprint("sk_test_two"))) << log;
  EXPECT_FALSE(absl::StrContains(log, "sk_test")) << log;
  EXPECT_EQ(watcher.Poll(), 0);

  Write(path, "sk_test_three");  // rewritten in place
  EXPECT_EQ(watcher.Poll(), 1);
  EXPECT_EQ(*secret->Get(), "sk_test_three");
}

TEST_F(SecretFileTest, FollowsAKubernetesStyleSymlinkSwap) {
  // A mounted secret: key -> ..data/key, ..data -> ..2026_11_22_v1; the kubelet writes
  // ..2026_11_22_v2 and renames a new ..data symlink over the old one.
  ASSERT_EQ(mkdir(Path("..v1").c_str(), 0700), 0);
  Write(Path("..v1/key"), "sk_test_v1");
  ASSERT_EQ(symlink("..v1", Path("..data").c_str()), 0);
  ASSERT_EQ(symlink("..data/key", Path("key").c_str()), 0);
  auto secret = std::make_shared<Secret>(*ReadSecretFile(Path("key")));
  SecretFileWatcher watcher(clock_);
  watcher.Watch(Path("key"), secret, {});

  ASSERT_EQ(mkdir(Path("..v2").c_str(), 0700), 0);
  Write(Path("..v2/key"), "sk_test_v2");
  ASSERT_EQ(symlink("..v2", Path("..data_tmp").c_str()), 0);
  ASSERT_EQ(std::rename(Path("..data_tmp").c_str(), Path("..data").c_str()), 0);
  EXPECT_EQ(watcher.Poll(), 1);
  EXPECT_EQ(*secret->Get(), "sk_test_v2");
}

TEST_F(SecretFileTest, UnusableFileKeepsTheOldValueAndWarnsOnce) {
  const std::string path = Path("api-key");
  Write(path, "sk_test_good");
  auto secret = std::make_shared<Secret>("sk_test_good");
  SecretFileWatcher watcher(clock_);
  watcher.Watch(
      path, secret,
      {.name = "api key", .read = [](const std::string& p) -> absl::StatusOr<std::string> {
         absl::StatusOr<std::string> key = ReadSecretFile(p);
         if (key.ok() && !absl::StartsWith(*key, "sk_")) {
           return absl::InvalidArgumentError("not an sk_* key");
         }
         return key;
       }});
  ::testing::internal::CaptureStderr();
  std::remove(path.c_str());
  EXPECT_EQ(watcher.Poll(), 0);  // missing (between a delete and a create)
  EXPECT_EQ(watcher.Poll(), 0);
  Write(path, "");
  EXPECT_EQ(watcher.Poll(), 0);  // empty (half-written)
  Write(path, "pk_wrong_kind_of_key");
  EXPECT_EQ(watcher.Poll(), 0);  // refused by the reader's check
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(*secret->Get(), "sk_test_good");
  size_t warnings = 0;
  for (size_t at = log.find("keeping the current value"); at != std::string::npos;
       at = log.find("keeping the current value", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << log;
  EXPECT_FALSE(absl::StrContains(log, "pk_wrong")) << log;

  Write(path, "sk_test_better");
  EXPECT_EQ(watcher.Poll(), 1);
  EXPECT_EQ(*secret->Get(), "sk_test_better");
}

TEST_F(SecretFileTest, ReplacedValueStaysAvailableForTheConfiguredOverlap) {
  const std::string path = Path("whsec");
  Write(path, "whsec_old");
  auto secret = std::make_shared<Secret>("whsec_old");
  SecretFileWatcher watcher(clock_);
  watcher.Watch(path, secret, {.name = "web-hook secret", .keep_previous_for = absl::Minutes(5)});
  Replace(path, "whsec_new");
  ASSERT_EQ(watcher.Poll(), 1);
  clock_.Advance(absl::Minutes(4));
  ASSERT_NE(secret->Previous(clock_.Now()), nullptr);
  EXPECT_EQ(*secret->Previous(clock_.Now()), "whsec_old");
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(secret->Previous(clock_.Now()), nullptr);
}

TEST_F(SecretFileTest, ThreadPollsUntilStopped) {
  const std::string path = Path("api-key");
  Write(path, "sk_test_one");
  auto secret = std::make_shared<Secret>("sk_test_one");
  SecretFileWatcher watcher(Clock::Real());
  watcher.Watch(path, secret, {});
  watcher.Start(absl::Milliseconds(1));
  Replace(path, "sk_test_two");
  // Wait on the condition with a generous deadline; no assumption about when the next poll runs.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (*secret->Get() != "sk_test_two" && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(*secret->Get(), "sk_test_two");
  watcher.Stop();
  watcher.Stop();  // idempotent
}

}  // namespace
}  // namespace aarthik::core
