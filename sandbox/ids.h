// Identifier and token generation for the sandbox.
//
// All identifiers come from one seeded generator so that a run driven by the same sequence of
// requests with the same `--seed` yields the same journey, offer and token values.
//
// Example:
//   IdGenerator ids(/*seed=*/42);
//   std::string journey_id = ids.Uuid();                 // "3f2c...-4...-8..."
//   std::string token = ids.Token("st_test_");           // "st_test_Jk3..."
//   std::string op = "op_profile_submit_" + ids.Ulid(now);
//
// Thread-safety: all methods are thread-safe (one internal mutex).
#ifndef AARTHIK_SANDBOX_IDS_H_
#define AARTHIK_SANDBOX_IDS_H_

#include <cstdint>
#include <random>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace aarthik::sandbox {

class IdGenerator {
 public:
  explicit IdGenerator(uint64_t seed) : rng_(seed) {}

  // Restarts the sequence (control-plane reset), so a reset run repeats the same identifiers.
  void Reseed(uint64_t seed);

  // RFC 4122 version-4-shaped UUID, lower-case.
  std::string Uuid();
  // 26-character Crockford base32 ULID: 10 characters of `now` in ms + 16 random ones.
  std::string Ulid(absl::Time now);
  // `prefix` + 32 base62 characters.
  std::string Token(absl::string_view prefix);
  // Uniform in [0, 1).
  double Uniform();
  uint64_t Next();

 private:
  absl::Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aarthik::sandbox

#endif  // AARTHIK_SANDBOX_IDS_H_
