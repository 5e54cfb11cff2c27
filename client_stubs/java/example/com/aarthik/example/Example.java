package com.aarthik.example;

import com.aarthik.client.AarthikClient;
import com.aarthik.common.v1.JourneyType;
import com.aarthik.headless.v1.CreateJourneyRequest;
import com.aarthik.headless.v1.CreateJourneyResponse;
import com.aarthik.headless.v1.GetJourneyStateRequest;
import com.aarthik.headless.v1.GetJourneyStateResponse;
import com.aarthik.headless.v1.JourneysServiceGrpc;
import com.aarthik.headless.v1.NewJourney;
import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.TimeUnit;

/**
 * Calls the Aarthik gRPC gateway with the generated Java stubs: a write (CreateJourney, with an
 * idempotency key), a read (GetJourneyState) and a call that fails, whose google.rpc ErrorInfo it
 * prints. Every call has a deadline and an x-correlation-id.
 *
 * <p>Usage: java -cp ... com.aarthik.example.Example HOST:PORT [borrowerExternalID]
 */
public final class Example {
  public static void main(String[] args) throws InterruptedException {
    String gateway = args.length > 0 ? args[0] : "127.0.0.1:50051";
    String borrower = args.length > 1 ? args[1] : "JAVA-" + AarthikClient.newUuid().substring(0, 8);
    ManagedChannel channel = AarthikClient.plaintextChannel(gateway);
    int status = 0;
    try {
      run(JourneysServiceGrpc.newBlockingStub(channel), borrower);
      System.out.println("java: example OK");
    } catch (RuntimeException e) {
      System.out.println("java: FAILED: " + e);
      status = 1;
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    System.exit(status);
  }

  private static void run(JourneysServiceGrpc.JourneysServiceBlockingStub journeys, String borrower) {
    // A write: one idempotency key per logical operation, reused if we retried it.
    String idempotencyKey = AarthikClient.newUuid();
    CreateJourneyResponse created =
        AarthikClient.prepare(journeys, 10, "java-example-" + idempotencyKey.substring(0, 8), idempotencyKey)
            .createJourney(CreateJourneyRequest.newBuilder()
                .setBorrowerExternalId(borrower)
                .setJourney(NewJourney.newBuilder().setType(JourneyType.JOURNEY_TYPE_PERSONAL_LOAN))
                .build());
    String journeyId = created.getJourney().getJourneyId();
    System.out.println("java: CreateJourney OK journey " + journeyId + " status "
        + created.getJourney().getStatus());

    // A read.
    GetJourneyStateResponse state = AarthikClient.prepare(journeys, 5, null, null)
        .getJourneyState(GetJourneyStateRequest.newBuilder()
            .setBorrowerExternalId(borrower).setJourneyId(journeyId).build());
    System.out.println("java: GetJourneyState OK status " + state.getState().getStatus() + " next "
        + state.getState().getNextAction());

    // A call that fails: a journey that does not exist. The platform's error code is ErrorInfo.reason.
    try {
      AarthikClient.prepare(journeys, 5, null, null)
          .getJourneyState(GetJourneyStateRequest.newBuilder()
              .setBorrowerExternalId(borrower).setJourneyId(AarthikClient.newUuid()).build());
      throw new IllegalStateException("GetJourneyState of an unknown journey succeeded");
    } catch (StatusRuntimeException e) {
      ErrorInfo info = AarthikClient.errorInfo(e)
          .orElseThrow(() -> new IllegalStateException("no ErrorInfo in " + e.getStatus()));
      System.out.println("java: GetJourneyState(unknown journey) FAILED " + e.getStatus().getCode()
          + " ErrorInfo reason=" + info.getReason() + " domain=" + info.getDomain());
    }
  }
}
