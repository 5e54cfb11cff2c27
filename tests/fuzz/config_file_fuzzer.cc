// Fuzz target: the gateway's YAML config file (--config), read and applied the way the gateway
// starts: ParseConfig with `--config FILE` and nothing else, so every key's value parser runs on
// whatever the file holds. The input is the file's content; make_seeds.py seeds it with the
// project's example configs. Properties beyond "no crash, no leak, no UB" (yaml-cpp's recursion
// included): a bad file is INVALID_ARGUMENT with a message naming the file, never another code.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "server/core/config.h"
#include "tests/fuzz/fuzz_support.h"

namespace aarthik::fuzz {
namespace {

const std::string& ConfigPath() {
  static const std::string* const path = [] {
    char name[] = "/tmp/aarthik-config-fuzz-XXXXXX";
    const int fd = mkstemp(name);
    Require(fd >= 0, "a temporary file for the config");
    close(fd);
    return new std::string(name);
  }();
  return *path;
}

void Run(const uint8_t* data, size_t size) {
  const std::string& path = ConfigPath();
  FILE* file = std::fopen(path.c_str(), "wb");
  Require(file != nullptr, "the config file opens");
  std::fwrite(data, 1, size, file);
  std::fclose(file);
  const char* argv[] = {"aarthik-gateway", "--config", path.c_str()};
  absl::StatusOr<core::Config> config =
      core::ParseConfig(3, argv, [](absl::string_view) { return std::nullopt; });
  if (config.ok()) return;
  Require(config.status().code() == absl::StatusCode::kInvalidArgument,
          "a bad config file is INVALID_ARGUMENT");
}

}  // namespace
}  // namespace aarthik::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  aarthik::fuzz::Run(data, size);
  return 0;
}
