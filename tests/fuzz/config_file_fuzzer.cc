// Fuzz target: the gateway's YAML config file (--config), read and applied the way the gateway
// starts: ParseConfig with `--config FILE` and nothing else, so every key's value parser runs on
// whatever the file holds. The input is the file's content; make_seeds.py seeds it with the
// project's example configs. Properties beyond "no crash, no leak, no UB" (yaml-cpp's recursion
// included): a bad file is INVALID_ARGUMENT with a message naming the file, never another code.
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "server/core/config.h"
#include "tests/fuzz/fuzz_support.h"

namespace aarthik::fuzz {
namespace {

// The "file" is a memfd reached through /proc/self/fd: a file on disk cost a truncate per input
// (with discard, a synchronous wait for the device) and made the target several times slower.
struct ConfigFile {
  int fd;
  std::string path;
};

const ConfigFile& TheConfigFile() {
  static const ConfigFile* const file = [] {
    const int fd = memfd_create("aarthik-config-fuzz", MFD_CLOEXEC);
    Require(fd >= 0, "a memfd for the config");
    return new ConfigFile{fd, "/proc/self/fd/" + std::to_string(fd)};
  }();
  return *file;
}

void Run(const uint8_t* data, size_t size) {
  const ConfigFile& file = TheConfigFile();
  Require(ftruncate(file.fd, 0) == 0, "the config memfd truncates");
  for (size_t written = 0; written < size;) {
    const ssize_t n = pwrite(file.fd, data + written, size - written, written);
    Require(n > 0, "the config memfd takes the input");
    written += static_cast<size_t>(n);
  }
  const std::string& path = file.path;
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
