#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace aarthik::fuzz {

const transcode::RouteTable& Routes() {
  static const transcode::RouteTable* const table = [] {
    absl::StatusOr<transcode::RouteTable> built =
        transcode::RouteTable::Build(transcode::PlatformServices());
    Require(built.ok() && !built->routes().empty(), "the route table builds");
    return new transcode::RouteTable(*std::move(built));
  }();
  return *table;
}

const transcode::JsonCodec& Codec() {
  static const transcode::JsonCodec* const codec = [] {
    std::vector<const google::protobuf::Descriptor*> roots;
    for (const auto& route : Routes().routes()) {
      roots.push_back(route->method->input_type());
      roots.push_back(route->method->output_type());
    }
    return new transcode::JsonCodec(roots);
  }();
  return *codec;
}

const transcode::Route& PickRoute(FuzzedDataProvider& input) {
  const auto& routes = Routes().routes();
  return *routes[input.ConsumeIntegral<uint8_t>() % routes.size()];
}

void Require(bool condition, std::string_view what) {
  if (condition) return;
  std::fprintf(stderr, "property broken: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

}  // namespace aarthik::fuzz
