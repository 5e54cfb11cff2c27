#include "server/upstream/http1_codec.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aarthik::upstream {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;

// Feeds `wire` in pieces of `step` bytes (every split point matters to an incremental parser).
absl::StatusOr<bool> FeedInSteps(Http1ResponseParser& parser, absl::string_view wire, size_t step) {
  absl::StatusOr<bool> done = false;
  for (size_t i = 0; i < wire.size(); i += step) {
    done = parser.Feed(wire.substr(i, step));
    if (!done.ok() || *done) return done;
  }
  return done;
}

// Parses `wire` fed in pieces of every size, and hands each completed parser to `check`.
template <typename Check>
void ParseAtEverySplitPoint(absl::string_view wire, Check check) {
  for (size_t step = 1; step <= wire.size(); ++step) {
    SCOPED_TRACE(step);
    Http1ResponseParser parser(1 << 20);
    absl::StatusOr<bool> done = FeedInSteps(parser, wire, step);
    ASSERT_TRUE(done.ok()) << done.status();
    ASSERT_TRUE(*done);
    check(parser);
  }
}

TEST(RenderRequestTest, WritesRequestLineHostHeadersLengthAndBody) {
  HttpRequest request;
  request.method = "POST";
  request.headers = {{"Authorization", "Bearer t"}, {"X-Correlation-ID", "c-1"}};
  request.body = R"({"a":1})";
  std::string wire;
  RenderRequest(request, "api.example.com:8443", "/v1/x?y=%20", &wire);
  EXPECT_EQ(wire,
            "POST /v1/x?y=%20 HTTP/1.1\r\nHost: api.example.com:8443\r\n"
            "Authorization: Bearer t\r\nX-Correlation-ID: c-1\r\nContent-Length: 7\r\n\r\n"
            R"({"a":1})");
}

TEST(RenderRequestTest, EmptyWritesSayContentLengthZeroAndReadsSayNothing) {
  HttpRequest request;
  request.method = "PUT";
  std::string wire;
  RenderRequest(request, "h", "/", &wire);
  EXPECT_THAT(wire, HasSubstr("Content-Length: 0\r\n"));
  request.method = "GET";
  wire.clear();
  RenderRequest(request, "h", "/", &wire);
  EXPECT_EQ(wire, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
}

TEST(RenderRequestTest, HeaderValuesThatWouldSplitTheRequestAreUnsafe) {
  EXPECT_TRUE(HeaderValueIsSafe("Bearer abc"));
  EXPECT_FALSE(HeaderValueIsSafe("a\r\nX-Injected: 1"));
  EXPECT_FALSE(HeaderValueIsSafe("a\n"));
  EXPECT_FALSE(HeaderValueIsSafe(absl::string_view("a\0b", 3)));
  // Every length and position, both sides of the eight-byte steps, and bytes next to the
  // forbidden ones (0x0b, 0x0c, 0x0e, 0x01, 0x80, 0xff) that must pass.
  for (size_t length = 0; length <= 24; ++length) {
    std::string value(length, 'x');
    EXPECT_TRUE(HeaderValueIsSafe(value)) << length;
    for (size_t at = 0; at < length; ++at) {
      for (const char bad : {'\r', '\n', '\0'}) {
        std::string with = value;
        with[at] = bad;
        EXPECT_FALSE(HeaderValueIsSafe(with)) << length << " " << at << " " << int{bad};
      }
      for (const char fine : {'\x0b', '\x0c', '\x0e', '\x01', '\x80', '\xff', '\t'}) {
        std::string with = value;
        with[at] = fine;
        EXPECT_TRUE(HeaderValueIsSafe(with)) << length << " " << at << " " << int{fine};
      }
    }
  }
}

TEST(Http1ResponseParserTest, ContentLengthResponseAtEverySplitPoint) {
  const std::string wire =
      "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Request-ID:  r-1 \r\n"
      "Content-Length: 11\r\n\r\n{\"ok\":true}";
  ParseAtEverySplitPoint(wire, [](Http1ResponseParser& parser) {
    EXPECT_TRUE(parser.keep_alive());
    HttpResponse response = parser.TakeResponse();
    EXPECT_EQ(response.status, 201);
    EXPECT_EQ(response.body, "{\"ok\":true}");
    EXPECT_EQ(response.Header("x-request-id"), "r-1");
    EXPECT_THAT(response.headers, ::testing::Contains(Pair("content-type", "application/json")));
  });
}

TEST(Http1ResponseParserTest, ChunkedBodyWithExtensionsAndTrailersAtEverySplitPoint) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
  ParseAtEverySplitPoint(wire, [](Http1ResponseParser& parser) {
    EXPECT_EQ(parser.TakeResponse().body, "hello world");
  });
}

TEST(Http1ResponseParserTest, InterimResponsesAreSkipped) {
  Http1ResponseParser parser(1 << 20);
  absl::StatusOr<bool> done =
      parser.Feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(*done);
  EXPECT_EQ(parser.TakeResponse().status, 200);
}

TEST(Http1ResponseParserTest, NoBodyFor204AndHead) {
  Http1ResponseParser no_content(1 << 20);
  EXPECT_TRUE(*no_content.Feed("HTTP/1.1 204 No Content\r\n\r\n"));
  Http1ResponseParser head(1 << 20, /*head_request=*/true);
  EXPECT_TRUE(*head.Feed("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"));
  EXPECT_TRUE(head.keep_alive());
}

TEST(Http1ResponseParserTest, CloseDelimitedBodyEndsAtEofAndClosesTheConnection) {
  Http1ResponseParser parser(1 << 20);
  EXPECT_FALSE(*parser.Feed("HTTP/1.0 200 OK\r\n\r\npart one "));
  EXPECT_FALSE(*parser.Feed("and two"));
  EXPECT_TRUE(*parser.FeedEof());
  EXPECT_FALSE(parser.keep_alive());
  EXPECT_EQ(parser.TakeResponse().body, "part one and two");
}

TEST(Http1ResponseParserTest, ConnectionCloseAndHttp10AreNotKeptAlive) {
  Http1ResponseParser closing(1 << 20);
  EXPECT_TRUE(*closing.Feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(closing.keep_alive());
  Http1ResponseParser old(1 << 20);
  EXPECT_TRUE(*old.Feed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(old.keep_alive());
  Http1ResponseParser old_kept(1 << 20);
  EXPECT_TRUE(
      *old_kept.Feed("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(old_kept.keep_alive());
}

TEST(Http1ResponseParserTest, EofBeforeTheEndFails) {
  Http1ResponseParser nothing(1 << 20);
  EXPECT_TRUE(absl::IsUnavailable(nothing.FeedEof().status()));
  EXPECT_FALSE(nothing.started());
  Http1ResponseParser truncated(1 << 20);
  EXPECT_FALSE(*truncated.Feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(truncated.started());
  EXPECT_TRUE(absl::IsUnavailable(truncated.FeedEof().status()));
}

TEST(Http1ResponseParserTest, BodiesOverTheLimitAreResourceExhausted) {
  Http1ResponseParser declared(8);
  EXPECT_TRUE(absl::IsResourceExhausted(
      declared.Feed("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n").status()));
  Http1ResponseParser chunked(8);
  EXPECT_TRUE(absl::IsResourceExhausted(
      chunked.Feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n123456789\r\n")
          .status()));
}

TEST(Http1ResponseParserTest, WhatCannotBeFramedSafelyIsRefused) {
  for (absl::string_view wire : {
           absl::string_view("HTTP/2 200\r\n\r\n"),
           absl::string_view("HTTP/1.1 20 OK\r\n\r\n"),
           absl::string_view("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
           absl::string_view("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
           absl::string_view("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
           absl::string_view("HTTP/1.1 200 OK\r\n folded\r\n\r\n"),
           absl::string_view("HTTP/1.1 200 OK\r\nno colon\r\n\r\n"),
           absl::string_view("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
           absl::string_view("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab"),
           absl::string_view("HTTP/1.1 101 Switching Protocols\r\n\r\n"),
       }) {
    SCOPED_TRACE(wire);
    Http1ResponseParser parser(1 << 20);
    absl::StatusOr<bool> done = parser.Feed(wire);
    EXPECT_TRUE(absl::IsInternal(done.status())) << done.status();
  }
}

TEST(Http1ResponseParserTest, HeaderBlockIsBounded) {
  Http1ResponseParser parser(1 << 20);
  absl::StatusOr<bool> done = parser.Feed("HTTP/1.1 200 OK\r\n");
  std::string line = "X-Big: " + std::string(1000, 'v') + "\r\n";
  for (int i = 0; i < 100 && done.ok(); ++i) done = parser.Feed(line);
  EXPECT_TRUE(absl::IsInternal(done.status())) << done.status();
}

TEST(Http1ResponseParserTest, BothFramingsTrustTheChunksAndDropTheConnection) {
  Http1ResponseParser parser(1 << 20);
  absl::StatusOr<bool> done = parser.Feed(
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: "
      "chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(*done);
  EXPECT_FALSE(parser.keep_alive());
  EXPECT_EQ(parser.TakeResponse().body, "ok");
}

}  // namespace
}  // namespace aarthik::upstream
