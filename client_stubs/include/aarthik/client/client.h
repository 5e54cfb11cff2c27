// Umbrella header for the Aarthik gateway client helpers: channel creation (channel.h) and per-call
// deadline and metadata (call_options.h). The generated stubs live beside it, e.g.
// "aarthik/headless/v1/journeys.grpc.pb.h".
//
// Example:
//
//   #include "aarthik/client/client.h"
//   #include "aarthik/headless/v1/journeys.grpc.pb.h"
//
//   auto channel = aarthik::client::CreateInsecureChannel("localhost:50051");
//   auto stub = aarthik::headless::v1::JourneysService::NewStub(channel);
//   grpc::ClientContext context;
//   aarthik::client::Prepare(&context, aarthik::client::CallOptions{});
//   aarthik::headless::v1::ListJourneysRequest request;
//   request.set_borrower_external_id("9876543210");
//   aarthik::headless::v1::ListJourneysResponse response;
//   grpc::Status status = stub->ListJourneys(&context, request, &response);
//
// Thread-safety: see the included headers; every function is thread-safe.
#ifndef AARTHIK_CLIENT_CLIENT_H_
#define AARTHIK_CLIENT_CLIENT_H_

#include "aarthik/client/call_options.h"  // IWYU pragma: export
#include "aarthik/client/channel.h"       // IWYU pragma: export

#endif  // AARTHIK_CLIENT_CLIENT_H_
