// JsonCodec's leniency (issue 14, item 3): a strict field of the wrong JSON type still fails the
// decode, a `(field).lenient` / `(message).lenient` one is left unset and reported, an alias that
// names another field fills both (the any-shape google.protobuf.Value beside a typed field), and
// every value the message cannot carry reaches the FieldDropSink with its JSON path, never the
// value. Each case runs through both parsers the codec reads (nlohmann and simdjson); nlohmann
// visits members in key order and simdjson in document order, so drops compare unordered.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "aarthik/gateway/v1/options.pb.h"
#include "aarthik/headless/v1/types.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "server/transcode/json_codec.h"

namespace aarthik::transcode {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptorProto;
using google::protobuf::Message;
using Drops = std::vector<std::pair<FieldDrop, std::string>>;

constexpr char kScratchProto[] = R"pb(
  name: "lenient_scratch.proto"
  package: "lenient.v1"
  syntax: "proto3"
  dependency: "aarthik/gateway/v1/options.proto"
  dependency: "google/protobuf/struct.proto"
  enum_type {
    name: "Colour"
    value { name: "COLOUR_UNSPECIFIED" number: 0 }
    value { name: "COLOUR_RED" number: 1 }
  }
  message_type {
    name: "Child"
    field { name: "n" json_name: "n" number: 1 type: TYPE_INT32 label: LABEL_OPTIONAL }
    field {
      name: "colour"
      json_name: "colour"
      number: 2
      type: TYPE_ENUM
      label: LABEL_OPTIONAL
      type_name: ".lenient.v1.Colour"
    }
  }
  message_type {
    name: "AllLoose"
    field { name: "a" json_name: "a" number: 1 type: TYPE_INT32 label: LABEL_OPTIONAL }
    field { name: "b" json_name: "b" number: 2 type: TYPE_STRING label: LABEL_OPTIONAL }
    options {
      [aarthik.gateway.v1.message] { lenient: true }
    }
  }
  message_type {
    name: "Loose"
    field {
      name: "strict_count"
      json_name: "strictCount"
      number: 1
      type: TYPE_INT32
      label: LABEL_OPTIONAL
    }
    field {
      name: "soft_count"
      json_name: "softCount"
      number: 2
      type: TYPE_INT32
      label: LABEL_OPTIONAL
      options {
        [aarthik.gateway.v1.field] { lenient: true }
      }
    }
    field {
      name: "soft_child"
      json_name: "softChild"
      number: 3
      type: TYPE_MESSAGE
      label: LABEL_OPTIONAL
      type_name: ".lenient.v1.Child"
      options {
        [aarthik.gateway.v1.field] { lenient: true }
      }
    }
    field {
      name: "soft_list"
      json_name: "softList"
      number: 4
      type: TYPE_MESSAGE
      label: LABEL_REPEATED
      type_name: ".lenient.v1.Child"
      options {
        [aarthik.gateway.v1.field] { lenient: true }
      }
    }
    field {
      name: "soft_map"
      json_name: "softMap"
      number: 5
      type: TYPE_MESSAGE
      label: LABEL_REPEATED
      type_name: ".lenient.v1.Loose.SoftMapEntry"
      options {
        [aarthik.gateway.v1.field] { lenient: true }
      }
    }
    field {
      name: "shape"
      json_name: "shape"
      number: 6
      type: TYPE_MESSAGE
      label: LABEL_OPTIONAL
      type_name: ".google.protobuf.Struct"
      options {
        [aarthik.gateway.v1.field] { lenient: true }
      }
    }
    field {
      name: "shape_value"
      json_name: "shapeValue"
      number: 7
      type: TYPE_MESSAGE
      label: LABEL_OPTIONAL
      type_name: ".google.protobuf.Value"
      options {
        [aarthik.gateway.v1.field] { json_aliases: "shape" }
      }
    }
    field {
      name: "kids"
      json_name: "kids"
      number: 8
      type: TYPE_MESSAGE
      label: LABEL_REPEATED
      type_name: ".lenient.v1.Child"
    }
    field {
      name: "all_loose"
      json_name: "allLoose"
      number: 9
      type: TYPE_MESSAGE
      label: LABEL_OPTIONAL
      type_name: ".lenient.v1.AllLoose"
    }
    field {
      name: "strict_shape"
      json_name: "strictShape"
      number: 10
      type: TYPE_MESSAGE
      label: LABEL_OPTIONAL
      type_name: ".google.protobuf.Struct"
    }
    nested_type {
      name: "SoftMapEntry"
      field { name: "key" json_name: "key" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
      field {
        name: "value"
        json_name: "value"
        number: 2
        type: TYPE_MESSAGE
        label: LABEL_OPTIONAL
        type_name: ".lenient.v1.Child"
      }
      options { map_entry: true }
    }
  }
)pb";

enum class Parser { kNlohmann, kSimdjson };

class JsonCodecLenientTest : public ::testing::TestWithParam<Parser> {
 protected:
  void SetUp() override {
    (void)gateway::v1::FieldOptions::descriptor();
    (void)google::protobuf::Struct::descriptor();
    FileDescriptorProto file;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kScratchProto, &file));
    pool_ = std::make_unique<DescriptorPool>(DescriptorPool::generated_pool());
    ASSERT_NE(pool_->BuildFile(file), nullptr);
    loose_ = pool_->FindMessageTypeByName("lenient.v1.Loose");
    ASSERT_NE(loose_, nullptr);
    factory_.SetDelegateToGeneratedFactory(true);
    codec_ = std::make_unique<JsonCodec>(
        std::vector<const Descriptor*>{loose_, headless::v1::OfferDetail::descriptor()});
  }

  // Decodes `text` into `message` with the parser under test; drops go to `drops_`.
  absl::Status Decode(const std::string& text, Message* message) {
    if (GetParam() == Parser::kNlohmann) {
      return codec_->Decode(absl::string_view(text), message, &drops_);
    }
    simdjson::dom::element root;
    EXPECT_EQ(parser_.parse(text.data(), text.size()).get(root), simdjson::SUCCESS) << text;
    return codec_->Decode(SimdjsonView(root), message, &drops_);
  }

  std::unique_ptr<Message> MustDecode(const std::string& text) {
    std::unique_ptr<Message> message(factory_.GetPrototype(loose_)->New());
    absl::Status status = Decode(text, message.get());
    EXPECT_TRUE(status.ok()) << status << " for " << text;
    return message;
  }

  std::string Print(const Message& message) {
    std::string text;
    google::protobuf::TextFormat::Printer printer;
    printer.SetSingleLineMode(true);
    printer.PrintToString(message, &text);
    return text;
  }

  std::unique_ptr<DescriptorPool> pool_;
  google::protobuf::DynamicMessageFactory factory_;
  const Descriptor* loose_ = nullptr;
  std::unique_ptr<JsonCodec> codec_;
  CollectingDropSink drops_;
  simdjson::dom::parser parser_;
};

INSTANTIATE_TEST_SUITE_P(BothParsers, JsonCodecLenientTest,
                         ::testing::Values(Parser::kNlohmann, Parser::kSimdjson),
                         [](const auto& info) {
                           return info.param == Parser::kNlohmann ? "Nlohmann" : "Simdjson";
                         });

TEST_P(JsonCodecLenientTest, AStrictFieldOfTheWrongTypeStillFailsNamingItsPath) {
  std::unique_ptr<Message> message(factory_.GetPrototype(loose_)->New());
  absl::Status status = Decode(R"({"kids":[{"n":1},{"n":"nine"}]})", message.get());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("kids[1].n"), std::string::npos) << status;
  EXPECT_EQ(status.message().find("nine"), std::string::npos) << "never the value: " << status;

  status = Decode(R"({"strictShape":[1]})", message.get());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << "a strict Struct wants an object";
}

TEST_P(JsonCodecLenientTest, LenientFieldsThatDoNotFitAreLeftUnsetAndReported) {
  std::unique_ptr<Message> message = MustDecode(
      R"({"strictCount":3,"softCount":"many","softChild":{"n":"x","colour":"RED"},
          "softList":[{"n":1},"oops",{"n":"bad"},{"n":4}],
          "softMap":{"a":{"n":2},"b":5}})");
  EXPECT_EQ(Print(*message),
            "strict_count: 3 soft_list { n: 1 } soft_list { n: 4 } "
            "soft_map { key: \"a\" value { n: 2 } } ");
  EXPECT_THAT(drops_.drops, ::testing::UnorderedElementsAreArray(
                                Drops{{FieldDrop::kShapeMismatch, "softCount"},
                                      {FieldDrop::kShapeMismatch, "softChild"},
                                      {FieldDrop::kShapeMismatch, "softList[]"},
                                      {FieldDrop::kShapeMismatch, "softList[]"},
                                      {FieldDrop::kShapeMismatch, "softMap{}"}}));
}

TEST_P(JsonCodecLenientTest, ALenientFieldOfTheWrongContainerShapeIsUnset) {
  std::unique_ptr<Message> message =
      MustDecode(R"({"softList":{"n":1},"softMap":[1],"softChild":[],"strictCount":1})");
  EXPECT_EQ(Print(*message), "strict_count: 1 ");
  EXPECT_THAT(drops_.drops, ::testing::UnorderedElementsAreArray(
                                Drops{{FieldDrop::kShapeMismatch, "softList"},
                                      {FieldDrop::kShapeMismatch, "softMap"},
                                      {FieldDrop::kShapeMismatch, "softChild"}}));
}

TEST_P(JsonCodecLenientTest, AMessageMarkedLenientMakesEveryFieldLenient) {
  std::unique_ptr<Message> message = MustDecode(R"({"allLoose":{"a":"x","b":7}})");
  EXPECT_EQ(Print(*message), "all_loose { } ");
  EXPECT_THAT(drops_.drops, ::testing::UnorderedElementsAreArray(
                                Drops{{FieldDrop::kShapeMismatch, "allLoose.a"},
                                      {FieldDrop::kShapeMismatch, "allLoose.b"}}));
}

TEST_P(JsonCodecLenientTest, TheAnyShapeFieldCarriesWhatTheTypedOneCannot) {
  // An array: the Struct cannot hold it, the Value beside it does, so nothing is lost or reported.
  std::unique_ptr<Message> message = MustDecode(R"({"shape":[{"k":"v"},2]})");
  EXPECT_EQ(Print(*message),
            "shape_value { list_value { values { struct_value { fields { key: \"k\" value { "
            "string_value: \"v\" } } } } values { number_value: 2 } } } ");
  EXPECT_TRUE(drops_.drops.empty());
  // An object: both hold it (callers of the typed field keep working).
  message = MustDecode(R"({"shape":{"k":1}})");
  EXPECT_EQ(
      Print(*message),
      "shape { fields { key: \"k\" value { number_value: 1 } } } shape_value { struct_value { "
      "fields { key: \"k\" value { number_value: 1 } } } } ");
  EXPECT_TRUE(drops_.drops.empty());
}

TEST_P(JsonCodecLenientTest, UnknownFieldsAndEnumValuesAreReportedByPathNeverByValue) {
  std::unique_ptr<Message> message = MustDecode(
      R"({"brandNew":"ABCDE1234F","kids":[{"colour":"ULTRAVIOLET"},{"colour":"RED","extra":1}],
          "softMap":{"9876543210":{"colour":"NEW"}},"allLoose":{"later":true},
          "gone":null,"softCount":null})");
  EXPECT_EQ(Print(*message),
            "soft_map { key: \"9876543210\" value { } } kids { } kids { colour: COLOUR_RED } "
            "all_loose { } ");
  // Nulls are absent values, not drops.
  EXPECT_THAT(drops_.drops, ::testing::UnorderedElementsAreArray(
                                Drops{{FieldDrop::kUnknownField, "brandNew"},
                                      {FieldDrop::kUnknownEnum, "kids[].colour"},
                                      {FieldDrop::kUnknownField, "kids[].extra"},
                                      {FieldDrop::kUnknownEnum, "softMap{}.colour"},
                                      {FieldDrop::kUnknownField, "allLoose.later"}}));
  for (const auto& [reason, path] : drops_.drops) {
    EXPECT_EQ(path.find("ABCDE"), std::string::npos);
    EXPECT_EQ(path.find("98765"), std::string::npos) << "map keys may be data: " << path;
  }
}

TEST_P(JsonCodecLenientTest, WithoutASinkDropsAreSilent) {
  std::unique_ptr<Message> message(factory_.GetPrototype(loose_)->New());
  ASSERT_TRUE(
      codec_->Decode(absl::string_view(R"({"softCount":"x","new":1})"), message.get()).ok());
  EXPECT_EQ(Print(*message), "");
}

// The issue's case on the real message: the offer detail's quoteBreakup as an array.
TEST_P(JsonCodecLenientTest, OfferDetailTakesUndocumentedShapesWithoutFailing) {
  headless::v1::OfferDetail offer;
  absl::Status status = Decode(
      R"({"offerID":"7f0c5c1e-8d8a-4b53-9d59-2f4d0a3c1b11","status":"OFFER_RECEIVED",
          "amountPrincipal":250000,"quoteBreakup":[{"component":"PRINCIPAL","amount":"250000"}],
          "installments":{"count":24},"fulfillments":[{"type":"DISBURSAL"},"later"],
          "proceedBoundaryState":"SOMETHING_NEW"})",
      &offer);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(offer.offer_id(), "7f0c5c1e-8d8a-4b53-9d59-2f4d0a3c1b11");
  EXPECT_EQ(offer.status(), headless::v1::OFFER_CARD_STATUS_OFFER_RECEIVED);
  EXPECT_TRUE(offer.amount_principal().empty()) << "a number where a digit string was inferred";
  EXPECT_FALSE(offer.has_quote_breakup());
  ASSERT_EQ(offer.quote_breakup_value().list_value().values_size(), 1);
  EXPECT_EQ(offer.quote_breakup_value()
                .list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("component")
                .string_value(),
            "PRINCIPAL");
  EXPECT_EQ(offer.installments_size(), 0);
  EXPECT_EQ(offer.installments_value().struct_value().fields().at("count").number_value(), 24);
  EXPECT_EQ(offer.fulfillments_size(), 1);
  EXPECT_EQ(offer.fulfillments_value().list_value().values_size(), 2);
  EXPECT_EQ(offer.proceed_boundary_state(), headless::v1::PROCEED_BOUNDARY_STATE_UNSPECIFIED);
  EXPECT_THAT(drops_.drops, ::testing::UnorderedElementsAreArray(
                                Drops{{FieldDrop::kShapeMismatch, "amountPrincipal"},
                                      {FieldDrop::kUnknownEnum, "proceedBoundaryState"}}));
}

TEST(FieldDropNameTest, IsTheMetricLabel) {
  EXPECT_EQ(FieldDropName(FieldDrop::kUnknownField), "unknown_field");
  EXPECT_EQ(FieldDropName(FieldDrop::kUnknownEnum), "unknown_enum");
  EXPECT_EQ(FieldDropName(FieldDrop::kShapeMismatch), "shape_mismatch");
}

}  // namespace
}  // namespace aarthik::transcode
