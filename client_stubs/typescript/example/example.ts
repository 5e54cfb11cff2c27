/**
 * Calls the Aarthik gRPC gateway with the generated TypeScript stubs: a write (CreateJourney, with an
 * idempotency key), a read (GetJourneyState) and a call that fails, whose google.rpc ErrorInfo it prints.
 * Every call has a deadline and an x-correlation-id.
 *
 * Usage: node dist/example/example.js HOST:PORT [borrowerExternalID]
 */
import { ServiceError, status as GrpcStatus } from "@grpc/grpc-js";
import { JourneyType } from "../src/aarthik/common/v1/borrower";
import { JourneysServiceClient } from "../src/aarthik/headless/v1/journeys";
import { journeyActionToJSON, journeyLifecycleStatusToJSON } from "../src/aarthik/headless/v1/types";
import { errorInfo, insecureCredentials, newUuid, unary } from "../src/client";

async function run(gateway: string, borrower: string): Promise<void> {
  const journeys = new JourneysServiceClient(gateway, insecureCredentials());
  try {
    // A write: one idempotency key per logical operation, reused if we retried it.
    const idempotencyKey = newUuid();
    const created = await unary(journeys.createJourney.bind(journeys),
      { borrowerExternalId: borrower, journey: { type: JourneyType.JOURNEY_TYPE_PERSONAL_LOAN, metadata: undefined } },
      { timeoutMs: 10_000, correlationId: `ts-example-${idempotencyKey.slice(0, 8)}`, idempotencyKey });
    const journeyId = created.journey?.journeyId ?? "";
    console.log(`typescript: CreateJourney OK journey ${journeyId} status ${
      journeyLifecycleStatusToJSON(created.journey!.status)}`);

    // A read.
    const state = await unary(journeys.getJourneyState.bind(journeys),
      { borrowerExternalId: borrower, journeyId }, { timeoutMs: 5_000 });
    console.log(`typescript: GetJourneyState OK status ${journeyLifecycleStatusToJSON(state.state!.status)} next ${
      journeyActionToJSON(state.state!.nextAction)}`);

    // A call that fails: a journey that does not exist. The platform's error code is ErrorInfo.reason.
    try {
      await unary(journeys.getJourneyState.bind(journeys), { borrowerExternalId: borrower, journeyId: newUuid() },
        { timeoutMs: 5_000 });
      throw new Error("GetJourneyState of an unknown journey succeeded");
    } catch (e) {
      const error = e as ServiceError;
      const info = error.code !== undefined ? errorInfo(error) : undefined;
      if (!info) throw new Error(`no ErrorInfo in ${String(e)}`);
      console.log(`typescript: GetJourneyState(unknown journey) FAILED ${GrpcStatus[error.code]} ErrorInfo reason=${
        info.reason} domain=${info.domain}`);
    }
  } finally {
    journeys.close();
  }
}

const gateway = process.argv[2] ?? "127.0.0.1:50051";
const borrower = process.argv[3] ?? `TS-${newUuid().slice(0, 8)}`;
run(gateway, borrower).then(
  () => console.log("typescript: example OK"),
  (error) => {
    console.log(`typescript: FAILED: ${String(error)}`);
    process.exitCode = 1;
  },
);
