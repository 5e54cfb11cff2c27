// aarthik-demo-client: walks a complete headless borrower journey and a Hybrid journey through the
// Aarthik gRPC gateway, using only the generated stubs and the `aarthik_client` helper, and prints
// a readable transcript: one line per RPC with its key result, the `x-correlation-id` it sent, the
// platform request ID the gateway returned (`x-platform-request-id`) and the latency.
//
// Headless: CreateSession → CreateJourney → UpdateProfile → SubmitProfile → GetJourneyState (polled
// until OFFERS_AVAILABLE) → ListOffers → GetOffer → ProceedOffer (and a second ProceedOffer on
// another offer, refused with OFFER_LOCK_CONFLICT) → the Account Aggregator flow when the chosen
// offer needs it → steps (KYC, bank mandate, e-mandate, loan agreement) → GetJourneyState (polled
// until DISBURSED) → RefreshLoanStatus.
// Hybrid: StartJourney → PollOffers (until OFFERED or NOT_OFFERED) → GetHostedUrl.
// Live events (with --webhook-url): SubscribeWebhooks points the platform's signed journey.snapshot
// web-hooks at the gateway's receiver, and two WatchJourneyEvents streams (the headless borrower
// and the Hybrid borrower) print each event as it arrives, interleaved with the RPC lines ("⇢ event
// …"). At the end the streams are cancelled and UnsubscribeWebhooks stops the deliveries.
//
// Every wait honours the platform's hint (`pollAfterSeconds`, `poll_after_ms`) divided by
// `--poll-scale`, so a sandbox running with `--time-scale N` is driven at its own pace.
//
// This file only connects and hands over: demo.h has the journeys, demo_support.h the flags,
// transcript formatting and event-stream reader.
//
// Usage:
//   aarthik-demo-client --gateway 127.0.0.1:50051 [--borrower ID] [--poll-scale N] [--timeout 60s]
//                       [--webhook-url http://127.0.0.1:8080/webhooks/aarthik]
//
// Exit status: 0 when both journeys completed, 1 when a call failed or a journey did not complete
// in time, 2 for bad flags.
#include <chrono>
#include <iostream>
#include <memory>
#include <utility>

#include "aarthik/client/client.h"
#include "demo.h"
#include "demo_support.h"

namespace aarthik::demo {
namespace {

// Longest wait for the gateway's port to accept a connection.
constexpr milliseconds kConnectTimeout{5000};

int Main(int argc, char** argv) {
  Flags flags;
  int exit_code = 0;
  if (!ParseFlags(argc, argv, &flags, &exit_code)) return exit_code;

  std::shared_ptr<grpc::Channel> channel = client::CreateInsecureChannel(flags.gateway);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + kConnectTimeout)) {
    std::cerr << "aarthik-demo-client: cannot connect to the gateway at " << flags.gateway
              << " within " << kConnectTimeout.count() / 1000
              << " s; is aarthik-gateway running there?" << std::endl;
    return 1;
  }
  return Demo(channel, std::move(flags)).Run();
}

}  // namespace
}  // namespace aarthik::demo

int main(int argc, char** argv) { return aarthik::demo::Main(argc, argv); }
