// JsonCodec on a scratch message that holds every field shape the codec must handle (each scalar
// type, enums with platform spellings, aliases, repeated, maps, nested and well-known messages), so
// that the contract holds for shapes the platform's fixtures do not (yet) use.
#include "server/transcode/json_codec.h"

#include <memory>
#include <string>

#include "aarthik/gateway/v1/options.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/transcode/json_view.h"

namespace aarthik::transcode {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptorProto;
using google::protobuf::Message;
using nlohmann::json;

constexpr char kScratchProto[] = R"pb(
  name: "codec_scratch.proto"
  package: "scratch.v1"
  syntax: "proto3"
  dependency: "aarthik/gateway/v1/options.proto"
  dependency: "google/protobuf/struct.proto"
  dependency: "google/protobuf/timestamp.proto"
  enum_type {
    name: "Colour"
    value { name: "COLOUR_UNSPECIFIED" number: 0 }
    value { name: "COLOUR_DEEP_RED" number: 1 }
    value {
      name: "COLOUR_SKY_BLUE"
      number: 2
      options {
        [aarthik.gateway.v1.enum_value] { wire_value: "sky-blue" }
      }
    }
  }
  message_type {
    name: "Child"
    field {
      name: "embed_url"
      json_name: "embedURL"
      number: 1
      type: TYPE_STRING
      label: LABEL_OPTIONAL
      options {
        [aarthik.gateway.v1.field] { json_aliases: "embedUrl" }
      }
    }
    field {
      name: "colour"
      json_name: "colour"
      number: 2
      type: TYPE_ENUM
      label: LABEL_OPTIONAL
      type_name: ".scratch.v1.Colour"
    }
  }
  message_type {
    name: "Every"
    field { name: "i32" json_name: "i32" number: 1 type: TYPE_INT32 label: LABEL_OPTIONAL }
    field { name: "i64" json_name: "i64" number: 2 type: TYPE_INT64 label: LABEL_OPTIONAL }
    field { name: "u32" json_name: "u32" number: 3 type: TYPE_UINT32 label: LABEL_OPTIONAL }
    field { name: "u64" json_name: "u64" number: 4 type: TYPE_UINT64 label: LABEL_OPTIONAL }
    field { name: "dbl" json_name: "dbl" number: 5 type: TYPE_DOUBLE label: LABEL_OPTIONAL }
    field { name: "flt" json_name: "flt" number: 6 type: TYPE_FLOAT label: LABEL_OPTIONAL }
    field { name: "flag" json_name: "flag" number: 7 type: TYPE_BOOL label: LABEL_OPTIONAL }
    field {
      name: "poll_after_ms"
      json_name: "poll_after_ms"
      number: 8
      type: TYPE_STRING
      label: LABEL_OPTIONAL
    }
    field { name: "blob" json_name: "blob" number: 9 type: TYPE_BYTES label: LABEL_OPTIONAL }
    field {
      name: "colour"
      json_name: "colour"
      number: 10
      type: TYPE_ENUM
      label: LABEL_OPTIONAL
      type_name: ".scratch.v1.Colour"
    }
    field {
      name: "colours"
      json_name: "colours"
      number: 11
      type: TYPE_ENUM
      label: LABEL_REPEATED
      type_name: ".scratch.v1.Colour"
    }
    field { name: "tags" json_name: "tags" number: 12 type: TYPE_STRING label: LABEL_REPEATED }
    field {
      name: "child"
      json_name: "child"
      number: 13
      type: TYPE_MESSAGE
      label: LABEL_OPTIONAL
      type_name: ".scratch.v1.Child"
    }
    field {
      name: "kids"
      json_name: "kids"
      number: 14
      type: TYPE_MESSAGE
      label: LABEL_REPEATED
      type_name: ".scratch.v1.Child"
    }
    field {
      name: "by_name"
      json_name: "byName"
      number: 15
      type: TYPE_MESSAGE
      label: LABEL_REPEATED
      type_name: ".scratch.v1.Every.ByNameEntry"
    }
    field {
      name: "labels"
      json_name: "labels"
      number: 16
      type: TYPE_MESSAGE
      label: LABEL_REPEATED
      type_name: ".scratch.v1.Every.LabelsEntry"
    }
    field {
      name: "metadata"
      json_name: "metadata"
      number: 17
      type: TYPE_MESSAGE
      label: LABEL_OPTIONAL
      type_name: ".google.protobuf.Struct"
    }
    field {
      name: "at"
      json_name: "at"
      number: 18
      type: TYPE_MESSAGE
      label: LABEL_OPTIONAL
      type_name: ".google.protobuf.Timestamp"
    }
    field {
      name: "any_value"
      json_name: "anyValue"
      number: 19
      type: TYPE_MESSAGE
      label: LABEL_OPTIONAL
      type_name: ".google.protobuf.Value"
    }
    nested_type {
      name: "ByNameEntry"
      field { name: "key" json_name: "key" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
      field {
        name: "value"
        json_name: "value"
        number: 2
        type: TYPE_MESSAGE
        label: LABEL_OPTIONAL
        type_name: ".scratch.v1.Child"
      }
      options { map_entry: true }
    }
    nested_type {
      name: "LabelsEntry"
      field { name: "key" json_name: "key" number: 1 type: TYPE_INT32 label: LABEL_OPTIONAL }
      field { name: "value" json_name: "value" number: 2 type: TYPE_STRING label: LABEL_OPTIONAL }
      options { map_entry: true }
    }
  }
)pb";

class JsonCodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Linked in for the pool below: our options and the well-known types resolve from it.
    (void)gateway::v1::FieldOptions::descriptor();
    (void)google::protobuf::Struct::descriptor();
    (void)google::protobuf::Timestamp::descriptor();
    FileDescriptorProto file;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kScratchProto, &file));
    pool_ = std::make_unique<DescriptorPool>(DescriptorPool::generated_pool());
    ASSERT_NE(pool_->BuildFile(file), nullptr);
    every_ = pool_->FindMessageTypeByName("scratch.v1.Every");
    ASSERT_NE(every_, nullptr);
    factory_.SetDelegateToGeneratedFactory(true);
    codec_ = std::make_unique<JsonCodec>(std::vector<const Descriptor*>{every_});
  }

  std::unique_ptr<Message> NewEvery() {
    return std::unique_ptr<Message>(factory_.GetPrototype(every_)->New());
  }

  // Decodes `text` into a new Every; fails the test when the codec refuses it.
  std::unique_ptr<Message> MustDecode(const std::string& text) {
    std::unique_ptr<Message> message = NewEvery();
    absl::Status status = codec_->Decode(absl::string_view(text), message.get());
    EXPECT_TRUE(status.ok()) << status << " for " << text;
    return message;
  }

  json MustEncode(const Message& message, bool print_defaults = false) {
    absl::StatusOr<json> encoded = codec_->EncodeJson(message, print_defaults);
    EXPECT_TRUE(encoded.ok()) << encoded.status();
    return encoded.ok() ? *encoded : json();
  }

  absl::Status DecodeError(const std::string& text) {
    std::unique_ptr<Message> message = NewEvery();
    return codec_->Decode(absl::string_view(text), message.get());
  }

  std::unique_ptr<DescriptorPool> pool_;
  google::protobuf::DynamicMessageFactory factory_;
  const Descriptor* every_ = nullptr;
  std::unique_ptr<JsonCodec> codec_;
};

TEST_F(JsonCodecTest, EveryScalarDecodesFromThePlatformsJsonAndEncodesBack) {
  const json sent = {{"i32", -7},          {"i64", "9007199254740993"},
                     {"u32", 4000000000u}, {"u64", "18446744073709551615"},
                     {"dbl", 2.5},         {"flt", 0.5},
                     {"flag", true},       {"poll_after_ms", "1500"},
                     {"blob", "aGk="}};
  std::unique_ptr<Message> message = MustDecode(sent.dump());
  const auto* reflection = message->GetReflection();
  EXPECT_EQ(reflection->GetInt32(*message, every_->FindFieldByName("i32")), -7);
  EXPECT_EQ(reflection->GetInt64(*message, every_->FindFieldByName("i64")), 9007199254740993);
  EXPECT_EQ(reflection->GetUInt32(*message, every_->FindFieldByName("u32")), 4000000000u);
  EXPECT_EQ(reflection->GetUInt64(*message, every_->FindFieldByName("u64")), 18446744073709551615u);
  EXPECT_EQ(reflection->GetString(*message, every_->FindFieldByName("blob")), "hi");
  // proto3 JSON: 64-bit integers print as strings, so no JavaScript reader loses digits.
  EXPECT_EQ(MustEncode(*message), sent);
}

TEST_F(JsonCodecTest, IntegersAlsoArriveAsStringsOrIntegralDoubles) {
  std::unique_ptr<Message> message = MustDecode(R"({"i32":"42","i64":12,"u64":3.0,"dbl":"1.25"})");
  EXPECT_EQ(MustEncode(*message), json({{"i32", 42}, {"i64", "12"}, {"u64", "3"}, {"dbl", 1.25}}));
}

TEST_F(JsonCodecTest, EnumsTravelUnderThePlatformsSpelling) {
  std::unique_ptr<Message> message =
      MustDecode(R"({"colour":"sky-blue","colours":["DEEP_RED","sky-blue"]})");
  const auto* reflection = message->GetReflection();
  EXPECT_EQ(reflection->GetEnumValue(*message, every_->FindFieldByName("colour")), 2);
  EXPECT_EQ(reflection->GetRepeatedEnumValue(*message, every_->FindFieldByName("colours"), 0), 1);
  EXPECT_EQ(MustEncode(*message),
            json({{"colour", "sky-blue"}, {"colours", {"DEEP_RED", "sky-blue"}}}));
  EXPECT_EQ(codec_->WireName(*pool_->FindEnumValueByName("scratch.v1.COLOUR_SKY_BLUE")),
            "sky-blue");
}

TEST_F(JsonCodecTest, WhatAFuturePlatformMaySendIsDroppedNotFatal) {
  // Unknown fields, unknown enum values and nulls: a platform that grows must not break callers.
  std::unique_ptr<Message> message = MustDecode(
      R"({"brandNew":{"x":[1,2]},"colour":"ULTRAVIOLET","colours":["ULTRAVIOLET","DEEP_RED",null],
          "i32":null,"child":null,"tags":["a",null,"b"],"kids":[{"colour":"GREEN","later":1}]})");
  EXPECT_EQ(MustEncode(*message),
            json({{"colours", {"DEEP_RED"}}, {"tags", {"a", "b"}}, {"kids", {json::object()}}}));
}

TEST_F(JsonCodecTest, AliasesAndProtoNamesDecodeIntoTheCanonicalField) {
  std::unique_ptr<Message> message = MustDecode(
      R"({"child":{"embedUrl":"https://a.example/x"},"kids":[{"embed_url":"u1"},{"embedURL":"u2"}],
          "by_name":{"k":{"embedUrl":"u3"}}})");
  EXPECT_EQ(MustEncode(*message), json::parse(R"({"child":{"embedURL":"https://a.example/x"},
                            "kids":[{"embedURL":"u1"},{"embedURL":"u2"}],
                            "byName":{"k":{"embedURL":"u3"}}})"));
}

TEST_F(JsonCodecTest, MapsKeepTheirKeys) {
  std::unique_ptr<Message> message = MustDecode(
      R"({"byName":{"hdfc":{"colour":"DEEP_RED"},"gone":null},"labels":{"7":"seven","-1":"minus"}})");
  EXPECT_EQ(MustEncode(*message), json::parse(R"({"byName":{"hdfc":{"colour":"DEEP_RED"}},
                            "labels":{"7":"seven","-1":"minus"}})"));
}

TEST_F(JsonCodecTest, FreeFormObjectsAndTimestampsKeepTheirJson) {
  const json sent =
      json::parse(R"({"metadata":{"source":"app","n":3,"ok":true,"nested":{"l":[1,"x",null]},
                                     "none":null},
                                    "at":"2026-12-04T08:51:40.250Z","anyValue":[1,{"a":"b"}]})");
  std::unique_ptr<Message> message = MustDecode(sent.dump());
  EXPECT_EQ(MustEncode(*message), sent);
}

TEST_F(JsonCodecTest, AWellKnownMessageIsItsOwnJson) {
  // A route whose reply is one free-form field (`response_body: "features"`) decodes into a Struct.
  const json sent = json::parse(R"({"embed":true,"limits":{"max":3},"tiers":["a"]})");
  google::protobuf::Struct features;
  ASSERT_TRUE(codec_->Decode(sent, &features).ok());
  EXPECT_EQ(features.fields_size(), 3);
  EXPECT_EQ(MustEncode(features), sent);
}

TEST_F(JsonCodecTest, AFreeFormKeyGivenTwiceIsItsLastCopyOnBothPaths) {
  // From the reply fuzzer: the hot path's parser (simdjson, RapidJSON before it) hands both copies
  // of a key over, nlohmann (the full path) keeps the last; a list under the key used to collect
  // both copies' elements.
  const std::string text =
      R"({"ops":["A","B"],"n":{"x":1},"ops":["C"],"n":{"y":2},"s":"first","s":"last"})";
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(text.data(), text.size()).get(root), simdjson::SUCCESS);
  google::protobuf::Struct fast;
  ASSERT_TRUE(codec_->Decode(SimdjsonView(root), &fast).ok());
  google::protobuf::Struct full;
  ASSERT_TRUE(codec_->Decode(json::parse(text), &full).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(fast, full))
      << fast.DebugString() << " vs " << full.DebugString();
  EXPECT_EQ(MustEncode(fast), json::parse(R"({"ops":["C"],"n":{"y":2},"s":"last"})"));
}

TEST_F(JsonCodecTest, PrintingDefaultsShowsEveryScalarAndUnsetEnumsAsNull) {
  std::unique_ptr<Message> message = MustDecode(R"({"child":{}})");
  const json printed = MustEncode(*message, /*print_defaults=*/true);
  EXPECT_EQ(printed["i32"], 0);
  EXPECT_EQ(printed["i64"], "0");
  EXPECT_EQ(printed["flag"], false);
  EXPECT_EQ(printed["poll_after_ms"], "");
  EXPECT_EQ(printed["colour"], nullptr);
  EXPECT_EQ(printed["colours"], json::array());
  EXPECT_EQ(printed["byName"], json::object());
  EXPECT_EQ(printed["child"], json({{"embedURL", ""}, {"colour", nullptr}}));
  EXPECT_FALSE(printed.contains("metadata")) << "unset messages stay absent";
  EXPECT_EQ(MustEncode(*message), json({{"child", json::object()}}));
}

TEST_F(JsonCodecTest, EncodeIsCompactJsonText) {
  std::unique_ptr<Message> message = MustDecode(R"({"tags":["a"],"i32":1})");
  absl::StatusOr<std::string> text = codec_->Encode(*message);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, R"({"i32":1,"tags":["a"]})");
}

TEST_F(JsonCodecTest, RoundTripKeepsEveryField) {
  std::unique_ptr<Message> first = MustDecode(
      R"({"i32":1,"i64":"-2","u32":3,"u64":"4","dbl":-0.125,"flt":8,"flag":true,"poll_after_ms":"x",
          "blob":"AAEC","colour":"DEEP_RED","colours":["sky-blue"],"tags":["t"],
          "child":{"embedURL":"u","colour":"sky-blue"},"kids":[{},{"embedURL":"k"}],
          "byName":{"a":{}},"labels":{"1":"one"},"metadata":{"m":[]},"at":"1970-01-01T00:00:01Z",
          "anyValue":"s"})");
  absl::StatusOr<std::string> text = codec_->Encode(*first);
  ASSERT_TRUE(text.ok());
  std::unique_ptr<Message> second = MustDecode(*text);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*first, *second)) << *text;
}

TEST_F(JsonCodecTest, AWrongJsonTypeIsInvalidArgumentNamingTheField) {
  for (const char* text :
       {R"({"i32":"twelve"})", R"({"i32":1.5})", R"({"i32":4294967296})", R"({"u32":-1})",
        R"({"flag":"yes"})", R"({"poll_after_ms":15})", R"({"tags":"a"})", R"({"tags":[1]})",
        R"({"child":"x"})", R"({"kids":{"a":1}})", R"({"byName":[1]})", R"({"labels":{"x":"y"}})",
        R"({"blob":"***"})", R"({"at":"yesterday"})", R"({"dbl":true})",
        R"({"child":{"embedURL":7}})"}) {
    absl::Status status = DecodeError(text);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
    const std::string key = json::parse(text).begin().key();
    EXPECT_NE(status.message().find(key), std::string::npos) << status << " for " << text;
  }
  // The path leads to the bad value, and the value itself (maybe borrower data) stays out.
  EXPECT_EQ(DecodeError(R"({"kids":[{},{"embedURL":7}]})").message(),
            "JSON does not fit scratch.v1.Every: kids[1].embedURL: expected a string, got number");
  EXPECT_EQ(
      DecodeError(R"({"byName":{"secret-key":{"colour":[]}}})").message(),
      "JSON does not fit scratch.v1.Every: byName{}.colour: expected an enum name, got array");
}

TEST_F(JsonCodecTest, FloatsPrintTheDigitsTheyWereGiven) {
  std::unique_ptr<Message> message = MustDecode(R"({"flt":0.1,"dbl":0.1})");
  absl::StatusOr<std::string> text = codec_->Encode(*message);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, R"({"dbl":0.1,"flt":0.1})");
  message = MustDecode(R"({"flt":"NaN","dbl":"-Infinity"})");
  EXPECT_EQ(MustEncode(*message), json({{"flt", "NaN"}, {"dbl", "-Infinity"}}));
  EXPECT_EQ(DecodeError(R"({"flt":1e39})").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(JsonCodecTest, HostileNestingIsRefusedNotACrash) {
  // A 1 MB body of brackets must not exhaust the stack, wherever it lands.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  for (const std::string& text :
       {R"({"metadata":{"x":)" + deep + "}}", R"({"anyValue":)" + deep + "}",
        R"({"at":)" + deep + "}", R"({"child":)" + std::string(100000, '{') + "}"}) {
    EXPECT_EQ(DecodeError(text).code(), absl::StatusCode::kInvalidArgument) << text.substr(0, 20);
  }
}

TEST_F(JsonCodecTest, NonObjectsAndMalformedTextAreInvalidArgument) {
  for (const char* text : {"[1]", "\"x\"", "3", "null", "{", "{\"i32\":1,}", ""}) {
    EXPECT_EQ(DecodeError(text).code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace aarthik::transcode
