#include "server/core/id_source.h"

#include <cstdint>
#include <random>

#include "absl/strings/ascii.h"

namespace aarthik::core {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// One generator per thread: no lock on the hot path, seeded from the OS.
std::mt19937_64& ThreadEngine() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

class RandomIdSource : public IdSource {
 public:
  std::string NewHex(size_t digits) override {
    std::string out(digits, '0');
    std::mt19937_64& engine = ThreadEngine();
    for (size_t i = 0; i < digits; i += 16) {
      const uint64_t bits = engine();
      for (size_t j = 0; j < 16 && i + j < digits; ++j)
        out[i + j] = kHexDigits[(bits >> (4 * j)) & 0xf];
    }
    return out;
  }

  std::string NewUuid() override {
    std::mt19937_64& engine = ThreadEngine();
    uint64_t high = engine();
    uint64_t low = engine();
    high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;    // RFC 4122 variant
    // The 32 hex digits' places in 8-4-4-4-12 form: straight-line stores, no branch per digit.
    static constexpr uint8_t kPlace[32] = {0,  1,  2,  3,  4,  5,  6,  7,  9,  10, 11,
                                           12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25,
                                           26, 27, 28, 29, 30, 31, 32, 33, 34, 35};
    std::string out(36, '-');
    for (int i = 0; i < 16; ++i) {
      out[kPlace[i]] = kHexDigits[(high >> (60 - 4 * i)) & 0xf];
      out[kPlace[16 + i]] = kHexDigits[(low >> (60 - 4 * i)) & 0xf];
    }
    return out;
  }
};

}  // namespace

std::string IdSource::NewHex(size_t digits) {
  std::string out;
  out.reserve(digits + 32);
  while (out.size() < digits) {
    const size_t before = out.size();
    for (const char c : NewUuid()) {
      if (c != '-') out.push_back(c);
    }
    if (out.size() == before) out.resize(digits, '0');  // a source that gives no digits at all
  }
  out.resize(digits);
  return out;
}

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
