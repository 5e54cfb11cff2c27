#include "server/core/id_source.h"

#include <cstdint>
#include <random>

#include "absl/strings/ascii.h"

namespace aarthik::core {
namespace {

class RandomIdSource : public IdSource {
 public:
  std::string NewUuid() override {
    // One generator per thread: no lock on the hot path, seeded from the OS.
    thread_local std::mt19937_64 engine{std::random_device{}()};
    uint64_t high = engine();
    uint64_t low = engine();
    high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;    // RFC 4122 variant
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(36, '-');
    int pos = 0;
    auto put = [&](uint64_t bits, int nibbles) {
      for (int i = nibbles - 1; i >= 0; --i) {
        if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
        out[pos++] = kHex[(bits >> (i * 4)) & 0xf];
      }
    };
    put(high, 16);
    put(low, 16);
    return out;
  }
};

}  // namespace

IdSource& IdSource::Random() {
  static RandomIdSource* const source = new RandomIdSource();
  return *source;
}

bool IsUuid(absl::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace aarthik::core
