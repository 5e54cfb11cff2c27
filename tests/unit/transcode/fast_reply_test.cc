// DecodeSuccessFast takes exactly the plain successes and nothing else: whatever it declines,
// DecodeReply reads and words (platform_reply_test.cc).
#include "server/transcode/fast_reply.h"

#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>

#include "aarthik/headless/v1/types.pb.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/transcode/json_codec.h"

namespace aarthik::transcode {
namespace {

using gateway::v1::ENVELOPE_HEADLESS;
using gateway::v1::ENVELOPE_HYBRID;
using gateway::v1::ENVELOPE_NONE;

struct Taken {
  bool taken = false;
  bool decoder_ran = false;
  std::string data_status;  // the "status" member the decoder saw
  PlatformReply reply;
};

Taken Decode(gateway::v1::Envelope envelope, int http_status, const std::string& body) {
  Taken out;
  out.taken = DecodeSuccessFast(
      envelope, http_status, body,
      [&](SimdjsonView data) {
        out.decoder_ran = true;
        return data.ForEachMember([&](absl::string_view key, SimdjsonView value) {
          if (key == "status" && value.is_string())
            out.data_status = std::string(value.get_string());
          return absl::OkStatus();
        });
      },
      &out.reply);
  return out;
}

TEST(DecodeSuccessFastTest, PlainHeadlessAndHybridSuccessesAreTaken) {
  Taken headless = Decode(ENVELOPE_HEADLESS, 200,
                          R"({"requestID":"req_1","correlationID":"c-1","data":{"status":"OK"}})");
  EXPECT_TRUE(headless.taken);
  EXPECT_TRUE(headless.decoder_ran);
  EXPECT_EQ(headless.data_status, "OK");
  EXPECT_EQ(headless.reply.request_id, "req_1");
  EXPECT_EQ(headless.reply.correlation_id, "c-1");
  EXPECT_EQ(headless.reply.http_status, 200);

  Taken hybrid = Decode(ENVELOPE_HYBRID, 201,
                        R"({"request_id":"r","correlation_id":"c","data":{},"error":null})");
  EXPECT_TRUE(hybrid.taken);
  EXPECT_EQ(hybrid.reply.request_id, "r");
}

// The number the hot path decodes from `{"n": <number>}`, or nullopt when it leaves the reply to
// DecodeReply.
std::optional<double> FastNumber(const std::string& number) {
  double seen = 0;
  PlatformReply reply;
  if (!DecodeSuccessFast(
          ENVELOPE_NONE, 200, absl::StrCat(R"({"id":"4111111111111111111","n":)", number, "}"),
          [&](SimdjsonView data) {
            return data.ForEachMember([&](absl::string_view key, SimdjsonView value) {
              if (key == "n") seen = value.get_double();
              return absl::OkStatus();
            });
          },
          &reply)) {
    return std::nullopt;
  }
  return seen;
}

TEST(DecodeSuccessFastTest, NumbersAreTheCorrectlyRoundedDoubleOrLeftToTheFullPath) {
  // The full path's numbers are nlohmann's (strtod for fractions, integers up to 64 bits exact);
  // simdjson rounds correctly too, so the two agree on every number both take, sign of zero
  // included. Among them the ones RapidJSON, the hot path's earlier parser, rounded one unit off
  // or could not take (found by the reply fuzzer).
  for (const char* number :
       {"0", "-0", "-0.0", "75000.5", "0.1", "123456789012345", "-0.30000000001", "999999999999999",
        "1.5", "-3.1999999999931124e+21", "2.2250738585072011e-308", "1e5", "9007199254740993",
        "0.1000000000000000055511151231257827", "12345678901234567890", "-9223372036854775808",
        "-0.0000000000000000000000000000000000000000000"}) {
    std::optional<double> seen = FastNumber(number);
    ASSERT_TRUE(seen.has_value()) << number;
    const double full = nlohmann::json::parse(number).get<double>();
    EXPECT_EQ(*seen, full) << number;
    EXPECT_EQ(std::signbit(*seen), std::signbit(full)) << number;
  }
  // An integer past 64 bits, which nlohmann reads as a double, and a number past the double range
  // go to the full path.
  for (const char* number : {"-3199999999993112222222", "18446744073709551616", "1e400"}) {
    EXPECT_FALSE(FastNumber(number).has_value()) << number;
  }
}

TEST(DecodeSuccessFastTest, UnenvelopedObjectIsTheData) {
  Taken none = Decode(ENVELOPE_NONE, 200, R"({"status":"features"})");
  EXPECT_TRUE(none.taken);
  EXPECT_EQ(none.data_status, "features");
}

TEST(DecodeSuccessFastTest, NonAsciiIsValidatedAndKept) {
  Taken valid = Decode(ENVELOPE_HEADLESS, 200,
                       "{\"requestID\":\"r\",\"data\":{\"status\":\"\xe2\x82\xb9\"}}");
  EXPECT_TRUE(valid.taken);
  EXPECT_EQ(valid.data_status, "\xe2\x82\xb9");
  Taken invalid =
      Decode(ENVELOPE_HEADLESS, 200, "{\"requestID\":\"r\",\"data\":{\"status\":\"\xc3\x28\"}}");
  EXPECT_FALSE(invalid.taken);
}

TEST(DecodeSuccessFastTest, EverythingElseIsLeftToDecodeReply) {
  for (const auto& [envelope, status, body] :
       std::vector<std::tuple<gateway::v1::Envelope, int, std::string>>{
           {ENVELOPE_HEADLESS, 404, R"({"requestID":"r","data":{}})"},
           {ENVELOPE_HEADLESS, 200, R"({"requestID":"r","data":{},"error":{"code":"X"}})"},
           {ENVELOPE_HEADLESS, 200, R"({"requestID":"r","data":null})"},
           {ENVELOPE_HEADLESS, 200, R"({"requestID":"r"})"},
           {ENVELOPE_HEADLESS, 200, R"({"data":{}})"},
           {ENVELOPE_HEADLESS, 200, R"({"request_id":"r","data":{}})"},  // Hybrid spelling
           {ENVELOPE_HEADLESS, 200, R"({"requestID":7,"data":{}})"},
           {ENVELOPE_HEADLESS, 200, R"({"unexpected":"shape"})"},
           {ENVELOPE_HEADLESS, 200, R"({"requestID":"r","data":{})"},  // cut short
           {ENVELOPE_HEADLESS, 200, R"([1,2])"},
           {ENVELOPE_HEADLESS, 200, ""},
           {ENVELOPE_NONE, 200, R"("text")"},
           {gateway::v1::ENVELOPE_HOSTED_SESSION, 200, R"({"embedURL":"https://x"})"},
           // Bytes after the document, a NUL among them, are refused, not ignored.
           {ENVELOPE_HEADLESS, 200, std::string(R"({"requestID":"r","data":{}})") + '\0' + "}"},
       }) {
    SCOPED_TRACE(body);
    Taken result = Decode(envelope, status, body);
    EXPECT_FALSE(result.taken);
    EXPECT_FALSE(result.decoder_ran);
    EXPECT_TRUE(result.reply.request_id.empty());
  }
}

TEST(DecodeSuccessFastTest, LargeRepliesAreTakenUpToAMebibyte) {
  // Past the per-thread parser's 64 KiB a parser of the call's own reads the reply; past 1 MiB
  // the full path does.
  auto reply_of = [](size_t bytes) {
    const std::string head = R"({"requestID":"r","data":{"status":"OK","pad":")";
    const std::string tail = R"("}})";
    return head + std::string(bytes - head.size() - tail.size(), 'x') + tail;
  };
  for (size_t bytes : {size_t{100} << 10, size_t{1} << 20}) {
    Taken taken = Decode(ENVELOPE_HEADLESS, 200, reply_of(bytes));
    EXPECT_TRUE(taken.taken) << bytes;
    EXPECT_EQ(taken.data_status, "OK");
  }
  EXPECT_FALSE(Decode(ENVELOPE_HEADLESS, 200, reply_of((size_t{1} << 20) + 1)).taken);
  // The per-thread parser still reads a small reply afterwards.
  EXPECT_TRUE(Decode(ENVELOPE_HEADLESS, 200, R"({"requestID":"r","data":{}})").taken);
}

TEST(DecodeSuccessFastTest, HostileNestingIsRefusedWithoutExhaustingTheStack) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string body = R"({"requestID":"r","data":{"x":)" + deep + "}}";
  // simdjson refuses nesting past 1024 levels, without recursion; the full path then reads it.
  EXPECT_FALSE(Decode(ENVELOPE_HEADLESS, 200, body).taken);
  EXPECT_TRUE(DecodeReply(ENVELOPE_HEADLESS, 200, body).ok());
}

// Parsers differ on a repeated key (simdjson, as RapidJSON before it, keeps every copy in order,
// nlohmann keeps the last), so the hot path leaves such replies to DecodeReply and both read a
// reply the same way. Found by tests/fuzz/platform_reply_fuzzer.cc.
TEST(DecodeSuccessFastTest, AnEnvelopeKeyGivenTwiceIsLeftToTheFullPath) {
  EXPECT_FALSE(Decode(ENVELOPE_HEADLESS, 200,
                      R"({"requestID":"a","data":{"status":"OK"},"data":{"status":"NO"}})")
                   .taken);
  EXPECT_FALSE(
      Decode(ENVELOPE_HYBRID, 200, R"({"request_id":"a","request_id":"b","data":{}})").taken);
  EXPECT_FALSE(
      Decode(ENVELOPE_HEADLESS, 200, R"({"requestID":"a","data":{},"error":null,"error":{}})")
          .taken);
}

TEST(DecodeSuccessFastTest, AFieldGivenTwiceInTheDataIsLeftToTheFullPathWhichKeepsTheLastCopy) {
  const auto* descriptor = headless::v1::JourneyState::descriptor();
  const JsonCodec codec({descriptor});
  const std::string body =
      R"({"requestID":"a","data":{"status":"OFFERS_PENDING","nextAction":"WAIT_FOR_OFFERS",)"
      R"("nextAction":"NOT_AN_ACTION"}})";
  headless::v1::JourneyState fast;
  PlatformReply reply;
  EXPECT_FALSE(DecodeSuccessFast(
      ENVELOPE_HEADLESS, 200, body, [&](SimdjsonView data) { return codec.Decode(data, &fast); },
      &reply));

  absl::StatusOr<PlatformReply> full = DecodeReply(ENVELOPE_HEADLESS, 200, body);
  ASSERT_TRUE(full.ok()) << full.status();
  headless::v1::JourneyState state;
  ASSERT_TRUE(codec.Decode(full->data, &state).ok());
  EXPECT_EQ(state.next_action(), headless::v1::JOURNEY_ACTION_UNSPECIFIED);  // the last copy
}

// The Hosted embedURL comes under six spellings at once: the full path accepts several spellings
// of one field (the last in nlohmann's key order counts), and the hot path leaves them to it.
TEST(DecodeSuccessFastTest, TwoSpellingsOfOneFieldAreLeftToTheFullPath) {
  const JsonCodec codec({headless::v1::JourneyState::descriptor()});
  const std::string data = R"({"journey_id":"j-2","journeyID":"j-1"})";
  headless::v1::JourneyState state;
  ASSERT_TRUE(codec.Decode(absl::string_view(data), &state).ok());
  EXPECT_EQ(state.journey_id(), "j-2");  // "journeyID" < "journey_id": decoded last

  PlatformReply reply;
  headless::v1::JourneyState fast;
  EXPECT_FALSE(DecodeSuccessFast(
      ENVELOPE_HEADLESS, 200, absl::StrCat(R"({"requestID":"a","data":)", data, "}"),
      [&](SimdjsonView view) { return codec.Decode(view, &fast); }, &reply));
}

// A body ending inside a multi-byte sequence made RapidJSON, the hot path's earlier parser, read
// past the string's end (AddressSanitizer: heap-buffer-overflow; found by the reply fuzzer).
// Invalid UTF-8 of every kind is left to DecodeReply, valid UTF-8 is taken.
TEST(DecodeSuccessFastTest, InvalidUtf8IsLeftToTheFullPathWithoutReadingPastTheBody) {
  const std::string prefix = R"({"requestID":"a","data":{"status":")";
  for (const std::string bad :
       {std::string("\xe1"), std::string("\xe1\x80"), std::string("\xf0\x9f\x98"),
        std::string("\xc0\xaf"), std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
        std::string("\xff")}) {
    // Unterminated, so that the bad sequence is the body's last bytes, and terminated. Built from
    // a pointer and a length: the buffer then ends right after the NUL (operator+ leaves spare
    // capacity, behind which an over-read goes unnoticed).
    const std::string cut = prefix + bad;
    const std::string whole = prefix + bad + R"("}})";
    EXPECT_FALSE(Decode(ENVELOPE_HEADLESS, 200, std::string(cut.data(), cut.size())).taken);
    EXPECT_FALSE(Decode(ENVELOPE_HEADLESS, 200, std::string(whole.data(), whole.size())).taken);
  }
  Taken valid = Decode(ENVELOPE_HEADLESS, 200, prefix + "\xe0\xa4\x95\xf0\x9f\x98\x80" + R"("}})");
  EXPECT_TRUE(valid.taken);
  EXPECT_EQ(valid.data_status, "\xe0\xa4\x95\xf0\x9f\x98\x80");
}

// Found by the long fuzz run: RapidJSON 1.1 took "\udda0" (a low surrogate with no high one before
// it) where nlohmann refuses the reply; the paths must agree. A lone surrogate is refused (left to
// the full path), a pair is taken as the same four UTF-8 bytes nlohmann makes of it.
TEST(DecodeSuccessFastTest, LoneSurrogateEscapesAreLeftToTheFullPath) {
  const std::string prefix = R"({"requestID":"r","data":{"status":")";
  for (const std::string escape : {R"(\udda0)", R"(\uDC00)", R"(\uD800)", R"(\ud83d\u0041)"}) {
    EXPECT_FALSE(Decode(ENVELOPE_HEADLESS, 200, prefix + escape + R"("}})").taken) << escape;
  }
  Taken pair = Decode(ENVELOPE_HEADLESS, 200, prefix + R"(\ud83d\ude00)" + R"("}})");
  EXPECT_TRUE(pair.taken);
  EXPECT_EQ(pair.data_status, "\xf0\x9f\x98\x80");
  EXPECT_EQ(pair.data_status, nlohmann::json::parse(R"("\ud83d\ude00")").get<std::string>());
  Taken bmp = Decode(ENVELOPE_HEADLESS, 200, prefix + R"(\u20b9 \\udda0)" + R"("}})");
  EXPECT_TRUE(bmp.taken)
      << "a BMP escape, and an escaped backslash before \"udda0\", are not surrogates";
  EXPECT_EQ(bmp.data_status, "\xe2\x82\xb9 \\udda0");
}

// Found by the long fuzz run: `"offerSelectionLock"` given twice, first as a string (the wrong
// type), then as the object. The hot path failed on the first copy; nlohmann keeps only the last,
// and the full path read the reply. A failed payload is therefore only final on the full path.
TEST(DecodeSuccessFastTest, APayloadTheDecoderFailsOnIsLeftToTheFullPath) {
  PlatformReply reply;
  EXPECT_FALSE(DecodeSuccessFast(
      ENVELOPE_HEADLESS, 200, R"({"requestID":"r","data":{"status":"x"}})",
      [](SimdjsonView) { return absl::InvalidArgumentError("wrong type"); }, &reply));
  EXPECT_TRUE(reply.request_id.empty()) << "a declined reply is left alone";
}

}  // namespace
}  // namespace aarthik::transcode
