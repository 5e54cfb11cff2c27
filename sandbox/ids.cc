#include "sandbox/ids.h"

#include <cstdio>

namespace aarthik::sandbox {

void IdGenerator::Reseed(uint64_t seed) {
  absl::MutexLock lock(&mu_);
  rng_.seed(seed);
}

uint64_t IdGenerator::Next() {
  absl::MutexLock lock(&mu_);
  return rng_();
}

double IdGenerator::Uniform() {
  return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0);
}

std::string IdGenerator::Uuid() {
  uint64_t hi, lo;
  {
    absl::MutexLock lock(&mu_);
    hi = rng_();
    lo = rng_();
  }
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

std::string IdGenerator::Ulid(absl::Time now) {
  static constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(now));
  std::string out(26, '0');
  for (int i = 9; i >= 0; --i) {
    out[i] = kCrockford[ms & 31];
    ms >>= 5;
  }
  uint64_t r1 = Next(), r2 = Next();
  for (int i = 10; i < 26; ++i) {
    uint64_t& r = i < 18 ? r1 : r2;
    out[i] = kCrockford[r & 31];
    r >>= 5;
  }
  return out;
}

std::string IdGenerator::Token(absl::string_view prefix) {
  static constexpr char kBase62[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out(prefix);
  out.reserve(prefix.size() + 32);
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < 32; ++i) out.push_back(kBase62[rng_() % 62]);
  return out;
}

}  // namespace aarthik::sandbox
