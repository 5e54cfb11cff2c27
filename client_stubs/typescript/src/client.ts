/**
 * Helper for calling the Aarthik gRPC gateway with the generated TypeScript stubs (ts-proto,
 * @grpc/grpc-js): a channel, one call's deadline and metadata (x-correlation-id, idempotency-key), a
 * promise around the generated callback methods, and the google.rpc ErrorInfo of a failed call.
 *
 * @example
 * const journeys = new JourneysServiceClient("localhost:50051", insecureCredentials());
 * const created = await unary(journeys.createJourney.bind(journeys), request,
 *                             { timeoutMs: 10_000, idempotencyKey: newUuid() });
 * // on failure: errorInfo(error as ServiceError)?.reason
 *
 * Thread-safety: Node is single-threaded; clients are meant to be shared within a process.
 */
import { randomUUID } from "node:crypto";
import {
  CallOptions,
  ChannelCredentials,
  ClientUnaryCall,
  credentials,
  Metadata,
  ServiceError,
} from "@grpc/grpc-js";
import { ErrorInfo } from "./google/rpc/error_details";
import { Status } from "./google/rpc/status";

/** Forwarded to the platform as X-Correlation-ID. */
export const CORRELATION_ID_KEY = "x-correlation-id";
/** Forwarded to the platform as Idempotency-Key (writes). */
export const IDEMPOTENCY_KEY_KEY = "idempotency-key";
/** The deadline the other languages' helpers use by default. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** One call's deadline and metadata; a fresh correlation ID when none is given. */
export interface CallSettings {
  timeoutMs?: number;
  correlationId?: string;
  /** Set for writes you may retry: one key per logical operation, reused on every attempt. */
  idempotencyKey?: string;
}

/** A random version-4 UUID, for correlation IDs and idempotency keys. */
export function newUuid(): string {
  return randomUUID();
}

/** Plaintext credentials (use credentials.createSsl(...) for TLS). */
export function insecureCredentials(): ChannelCredentials {
  return credentials.createInsecure();
}

/** The call's metadata and options (deadline from now). */
export function prepare(settings: CallSettings = {}): { metadata: Metadata; options: Partial<CallOptions> } {
  const metadata = new Metadata();
  metadata.set(CORRELATION_ID_KEY, settings.correlationId ?? newUuid());
  if (settings.idempotencyKey) metadata.set(IDEMPOTENCY_KEY_KEY, settings.idempotencyKey);
  return { metadata, options: { deadline: Date.now() + (settings.timeoutMs ?? DEFAULT_TIMEOUT_MS) } };
}

/** A generated unary method, bound to its client: `client.getJourneyState.bind(client)`. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Calls a unary method with the settings' deadline and metadata; rejects with the ServiceError. */
export function unary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, settings: CallSettings = {}): Promise<Res> {
  const { metadata, options } = prepare(settings);
  return new Promise((resolve, reject) => {
    method(request, metadata, options, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

/** The google.rpc.ErrorInfo detail of a failed call (from the grpc-status-details-bin trailer), if any. */
export function errorInfo(error: ServiceError): ErrorInfo | undefined {
  const [details] = error.metadata?.get("grpc-status-details-bin") ?? [];
  if (!(details instanceof Buffer)) return undefined;
  for (const any of Status.decode(details).details) {
    if (any.typeUrl === "type.googleapis.com/google.rpc.ErrorInfo") return ErrorInfo.decode(any.value);
  }
  return undefined;
}
