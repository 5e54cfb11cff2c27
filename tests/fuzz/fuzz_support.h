// What the fuzz targets share: the gateway's route table and JSON codec, built once from the
// generated descriptor pool exactly as the gateway builds them at start-up, and the way an input
// picks a route.
//
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//     FuzzedDataProvider input(data, size);
//     const transcode::Route& route = fuzz::PickRoute(input);   // from the input's last byte
//     ...
//   }
//
// Inputs pick their route with their last byte (FuzzedDataProvider reads integers from the end), so
// a seed is a payload followed by the route's index: see make_seeds.py.
//
// Thread-safety: the shared objects are immutable once built (on first use, thread-safe).
#ifndef AARTHIK_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define AARTHIK_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string_view>

#include "server/transcode/json_codec.h"
#include "server/transcode/route_table.h"

namespace aarthik::fuzz {

const transcode::RouteTable& Routes();
// Indexes every route's request and response messages.
const transcode::JsonCodec& Codec();

// The route named by the input's last byte (modulo the number of routes).
const transcode::Route& PickRoute(FuzzedDataProvider& input);

// Stops the process with `what` when `condition` is false: a property of the code under test was
// broken. (Not assert(): the fuzz builds define NDEBUG like the others.)
void Require(bool condition, std::string_view what);

}  // namespace aarthik::fuzz

#endif  // AARTHIK_TESTS_FUZZ_FUZZ_SUPPORT_H_
