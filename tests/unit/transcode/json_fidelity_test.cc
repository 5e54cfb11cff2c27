// JSON fidelity: every example payload of the platform's documentation (tests/fixtures/platform) is
// parsed into our message through JsonCodec (the platform's field names, enum spellings and
// aliases), printed back, and compared: no field may be lost, renamed or retyped.
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "aarthik/common/v1/envelope.pb.h"
#include "aarthik/headless/v1/account_aggregator.pb.h"
#include "aarthik/headless/v1/journeys.pb.h"
#include "aarthik/headless/v1/offers.pb.h"
#include "aarthik/headless/v1/profile.pb.h"
#include "aarthik/headless/v1/sessions.pb.h"
#include "aarthik/headless/v1/steps.pb.h"
#include "aarthik/hosted/v1/hosted.pb.h"
#include "aarthik/webhooks/v1/snapshot.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/transcode/json_codec.h"

namespace aarthik::transcode {
namespace {

namespace fs = std::filesystem;
using google::protobuf::Descriptor;

// Fixture file (relative to the fixtures root) → the message its JSON must fit.
const std::map<std::string, const Descriptor*>& FixtureMessages() {
  namespace hl = aarthik::headless::v1;
  static const auto* const table = new std::map<std::string, const Descriptor*>{
      {"headless/aa.redirect.response-data.json", hl::AaSession::descriptor()},
      {"headless/envelope.error.json", common::v1::HeadlessEnvelope::descriptor()},
      {"headless/envelope.success.json", common::v1::HeadlessEnvelope::descriptor()},
      {"headless/journeys.create.request.json", hl::NewJourney::descriptor()},
      {"headless/journeys.create.response-data.json", hl::Journey::descriptor()},
      {"headless/journeys.resume.request.json", hl::ResumeMarkers::descriptor()},
      {"headless/journeys.state.response-data.json", hl::JourneyState::descriptor()},
      {"headless/offers.loan-amount.request.json", hl::LoanAmount::descriptor()},
      {"headless/offers.proceed.conflict-error.json", common::v1::PlatformError::descriptor()},
      {"headless/offers.proceed.response-data.json", hl::ProceedOfferResponse::descriptor()},
      {"headless/offers.reject.request.json", hl::OfferRejection::descriptor()},
      {"headless/post-disbursal.status.response-data.json", hl::Operation::descriptor()},
      {"headless/profile.submit.request.json", hl::ProfileSubmission::descriptor()},
      {"headless/profile.submit.response-data.json", hl::Operation::descriptor()},
      {"headless/profile.update.request.json", hl::BorrowerProfile::descriptor()},
      {"headless/sessions.create.request.json", hl::SessionBootstrap::descriptor()},
      {"headless/sessions.create.response-data.json", hl::CreateSessionResponse::descriptor()},
      {"headless/sessions.refresh.response-data.json", hl::RefreshSessionResponse::descriptor()},
      {"headless/steps.bank-mandate.request.json", hl::BankAccount::descriptor()},
      {"headless/steps.step-object.json", hl::Step::descriptor()},
      {"hosted/lab-sessions.gl.request-basic.json", hosted::v1::EmbedSession::descriptor()},
      {"hosted/lab-sessions.gl.response.json",
       hosted::v1::CreateEmbedSessionResponse::descriptor()},
      {"hosted/lab-sessions.pl.request-extended.json", hosted::v1::EmbedSession::descriptor()},
      {"hosted/lab-sessions.pl.response.json",
       hosted::v1::CreateEmbedSessionResponse::descriptor()},
      {"webhooks/variant-a.headless-snapshot.json",
       webhooks::v1::HeadlessJourneySnapshot::descriptor()},
  };
  return *table;
}

const Descriptor* MessageFor(const std::string& relative) {
  auto it = FixtureMessages().find(relative);
  if (it != FixtureMessages().end()) return it->second;
  if (relative.rfind("webhooks/variant-b.", 0) == 0)
    return webhooks::v1::ExperienceJourneySnapshot::descriptor();
  return nullptr;
}

std::vector<std::string> FixtureFiles() {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(AARTHIK_FIXTURES_DIR)) {
    if (entry.path().extension() == ".json") {
      files.push_back(fs::relative(entry.path(), AARTHIK_FIXTURES_DIR).string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

nlohmann::json ReadJson(const std::string& relative) {
  std::ifstream in(fs::path(AARTHIK_FIXTURES_DIR) / relative);
  return nlohmann::json::parse(in);
}

bool IsDefault(const nlohmann::json& value) {
  return value.is_null() || (value.is_boolean() && !value.get<bool>()) ||
         (value.is_number() && value.get<double>() == 0) ||
         (value.is_string() && value.get<std::string>().empty()) ||
         (value.is_array() && value.empty());
}

// The JSON key our message prints for a key the platform sent (aliases print as the canonical
// name).
std::string CanonicalKey(const Descriptor* descriptor, const std::string& key) {
  if (descriptor == nullptr) return key;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    if (field->json_name() == key) return key;
    for (const std::string& alias :
         field->options().GetExtension(gateway::v1::field).json_aliases()) {
      if (alias == key) return field->json_name();
    }
  }
  return key;
}

const Descriptor* ChildDescriptor(const Descriptor* descriptor, const std::string& json_key) {
  if (descriptor == nullptr) return nullptr;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    if (field->json_name() != json_key) continue;
    if (field->is_map()) return field->message_type()->map_value()->message_type();
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) return nullptr;
    if (field->message_type()->full_name().rfind("google.protobuf.", 0) == 0) return nullptr;
    return field->message_type();
  }
  return nullptr;
}

// Collects every difference between what the platform sent and what we print back.
void Compare(const nlohmann::json& sent, const nlohmann::json& printed,
             const Descriptor* descriptor, const std::string& where,
             std::vector<std::string>& problems) {
  if (sent.is_object()) {
    if (!printed.is_object()) {
      problems.push_back(where + ": object became " + printed.type_name());
      return;
    }
    std::set<std::string> seen;
    for (const auto& [key, value] : sent.items()) {
      std::string canonical = CanonicalKey(descriptor, key);
      seen.insert(canonical);
      std::string path = where + "." + key;
      if (!printed.contains(canonical)) {
        if (!value.is_null()) problems.push_back(path + ": lost");
        continue;
      }
      if (value.is_null()) {
        if (!IsDefault(printed[canonical]))
          problems.push_back(path + ": null became " + printed[canonical].dump());
        continue;
      }
      Compare(value, printed[canonical], ChildDescriptor(descriptor, canonical), path, problems);
    }
    for (const auto& [key, value] : printed.items()) {
      if (!seen.count(key) && !IsDefault(value) && !(value.is_object() && value.empty())) {
        problems.push_back(where + "." + key + ": appeared from nowhere as " + value.dump());
      }
    }
    return;
  }
  if (sent.is_array()) {
    if (!printed.is_array() || printed.size() != sent.size()) {
      problems.push_back(where + ": array changed size or type");
      return;
    }
    for (size_t i = 0; i < sent.size(); ++i) {
      Compare(sent[i], printed[i], descriptor, where + "[" + std::to_string(i) + "]", problems);
    }
    return;
  }
  if (sent.is_number() && printed.is_number()) {
    if (sent.get<double>() != printed.get<double>()) problems.push_back(where + ": number changed");
    return;
  }
  if (sent.is_number_integer() && printed.is_string()) {
    // proto3 JSON prints 64-bit integers as decimal strings; the value must be the same.
    if (printed.get<std::string>() != sent.dump())
      problems.push_back(where + ": int64 value changed");
    return;
  }
  if (sent != printed) problems.push_back(where + ": " + sent.dump() + " became " + printed.dump());
}

class JsonFidelityTest : public ::testing::TestWithParam<std::string> {};

TEST(JsonFidelityFixtures, AllFortyThreeDocumentedPayloadsHaveAMessage) {
  std::vector<std::string> files = FixtureFiles();
  EXPECT_EQ(files.size(), 43u);
  for (const std::string& file : files)
    EXPECT_NE(MessageFor(file), nullptr) << file << " maps to no message";
}

TEST_P(JsonFidelityTest, ParsesAndPrintsBackWithoutLoss) {
  const std::string& file = GetParam();
  const Descriptor* descriptor = MessageFor(file);
  ASSERT_NE(descriptor, nullptr);
  JsonCodec codec({descriptor});
  std::unique_ptr<google::protobuf::Message> message(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
  nlohmann::json sent = ReadJson(file);
  ASSERT_TRUE(codec.Decode(sent, message.get()).ok()) << codec.Decode(sent, message.get());

  absl::StatusOr<nlohmann::json> printed = codec.EncodeJson(*message, /*print_defaults=*/true);
  ASSERT_TRUE(printed.ok()) << printed.status();
  std::vector<std::string> problems;
  Compare(sent, *printed, descriptor, "$", problems);
  for (const std::string& problem : problems) ADD_FAILURE() << file << ": " << problem;
}

INSTANTIATE_TEST_SUITE_P(PlatformDocs, JsonFidelityTest, ::testing::ValuesIn(FixtureFiles()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace aarthik::transcode
