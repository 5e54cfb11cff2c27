// The HttpTransport implementations the upstream tests run against, as a typed-test list with
// readable names: TYPED_TEST_SUITE(MyTest, TransportImplementations, TransportNames).
#ifndef AARTHIK_TESTS_UNIT_UPSTREAM_TRANSPORT_IMPLEMENTATIONS_H_
#define AARTHIK_TESTS_UNIT_UPSTREAM_TRANSPORT_IMPLEMENTATIONS_H_

#include <string>
#include <type_traits>

#include "gtest/gtest.h"
#include "server/upstream/curl_multi_transport.h"
#include "server/upstream/http1_transport.h"

namespace aarthik::upstream {

using TransportImplementations = ::testing::Types<Http1Transport, CurlMultiTransport>;

class TransportNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, Http1Transport> ? "Http1" : "CurlMulti";
  }
};

}  // namespace aarthik::upstream

#endif  // AARTHIK_TESTS_UNIT_UPSTREAM_TRANSPORT_IMPLEMENTATIONS_H_
