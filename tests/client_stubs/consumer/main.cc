// Consumer of the installed AarthikClient package: serves JourneysService in process, calls it
// through the generated stub with the helper's channel, deadline and metadata, then checks that an
// unreachable gateway fails fast with UNAVAILABLE. Exits 0 only when every check holds.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "aarthik/client/client.h"
#include "aarthik/headless/v1/journeys.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace {

int failures = 0;

void Check(bool ok, const std::string& what) {
  std::cout << (ok ? "ok   " : "FAIL ") << what << std::endl;
  if (!ok) ++failures;
}

std::string Metadata(const grpc::ServerContext& context, const std::string& key) {
  auto it = context.client_metadata().find(key);
  return it == context.client_metadata().end() ? ""
                                               : std::string(it->second.data(), it->second.size());
}

// Answers with the journey ID asked for; refuses calls without a correlation ID or with an
// idempotency key it was not told to expect (a read must not carry one).
class Journeys final : public aarthik::headless::v1::JourneysService::Service {
 public:
  grpc::Status GetJourney(grpc::ServerContext* context,
                          const aarthik::headless::v1::GetJourneyRequest* request,
                          aarthik::headless::v1::GetJourneyResponse* response) override {
    if (Metadata(*context, "x-correlation-id") != "consumer-corr-1") {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "missing x-correlation-id");
    }
    if (!Metadata(*context, "idempotency-key").empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "read with idempotency-key");
    }
    response->mutable_journey()->set_journey_id(request->journey_id());
    response->mutable_journey()->set_status(
        aarthik::headless::v1::JOURNEY_LIFECYCLE_STATUS_OFFERS_AVAILABLE);
    return grpc::Status::OK;
  }
};

}  // namespace

int main() {
  Journeys service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  Check(server != nullptr && port > 0, "in-process server started");
  if (server == nullptr) return 1;

  aarthik::client::ChannelOptions channel_options;
  channel_options.target = "127.0.0.1:" + std::to_string(port);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      aarthik::client::CreateChannel(channel_options);
  Check(channel.ok(), "CreateChannel");
  auto stub = aarthik::headless::v1::JourneysService::NewStub(*channel);

  {
    grpc::ClientContext context;
    aarthik::client::CallOptions options;
    options.correlation_id = "consumer-corr-1";
    aarthik::client::Prepare(&context, options);
    aarthik::headless::v1::GetJourneyRequest request;
    request.set_borrower_external_id("9876543210");
    request.set_journey_id("5b0b5b7e-8f0e-4c1f-9a51-0d3c2b7f6a11");
    aarthik::headless::v1::GetJourneyResponse response;
    grpc::Status status = stub->GetJourney(&context, request, &response);
    Check(status.ok(), "GetJourney in process: " + status.error_message());
    Check(response.journey().journey_id() == request.journey_id(),
          "response carries the journey ID");
    Check(response.journey().status() ==
              aarthik::headless::v1::JOURNEY_LIFECYCLE_STATUS_OFFERS_AVAILABLE,
          "response carries the status");
  }

  {
    // A port bound by nobody: the call must fail with UNAVAILABLE well before its deadline.
    auto unreachable = aarthik::headless::v1::JourneysService::NewStub(
        aarthik::client::CreateInsecureChannel("127.0.0.1:1"));
    grpc::ClientContext context;
    aarthik::client::Prepare(&context, aarthik::client::CallOptions{});
    aarthik::headless::v1::GetJourneyResponse response;
    const auto start = std::chrono::steady_clock::now();
    grpc::Status status =
        unreachable->GetJourney(&context, aarthik::headless::v1::GetJourneyRequest(), &response);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    Check(
        status.error_code() == grpc::StatusCode::UNAVAILABLE,
        "unreachable gateway gives UNAVAILABLE (got " + std::to_string(status.error_code()) + ")");
    Check(elapsed < std::chrono::seconds(5), "and fails before the 10 s deadline");
  }

  {
    // The google.rpc messages the gateway puts into error details are part of the package.
    google::rpc::ErrorInfo info;
    info.set_reason("OFFER_ALREADY_ACCEPTED");
    info.set_domain("aarthiklabs.com");
    google::rpc::Status rich;
    rich.set_code(9);
    rich.add_details()->PackFrom(info);
    google::rpc::ErrorInfo unpacked;
    Check(rich.details(0).UnpackTo(&unpacked) && unpacked.reason() == "OFFER_ALREADY_ACCEPTED",
          "google.rpc.Status details round-trip");
  }

  server->Shutdown(std::chrono::system_clock::now());
  std::cout << (failures == 0 ? "PASS" : "FAIL") << std::endl;
  return failures == 0 ? 0 : 1;
}
