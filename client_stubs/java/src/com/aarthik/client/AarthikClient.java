package com.aarthik.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Helper for calling the Aarthik gRPC gateway with the generated Java stubs: a channel, one call's
 * deadline and metadata (x-correlation-id, idempotency-key), and the google.rpc ErrorInfo of a failed
 * call.
 *
 * <pre>{@code
 * ManagedChannel channel = AarthikClient.plaintextChannel("localhost:50051");  // share it
 * JourneysServiceGrpc.JourneysServiceBlockingStub journeys = JourneysServiceGrpc.newBlockingStub(channel);
 * String key = AarthikClient.newUuid();  // reuse it when you retry this write
 * CreateJourneyResponse created =
 *     AarthikClient.prepare(journeys, AarthikClient.DEFAULT_TIMEOUT_SECONDS, null, key).createJourney(request);
 * } catch (StatusRuntimeException e) {
 *   AarthikClient.errorInfo(e).ifPresent(info -> log(info.getReason()));
 * }</pre>
 *
 * <p>Thread-safety: every method is thread-safe; channels and stubs are meant to be shared.
 */
public final class AarthikClient {
  /** Forwarded to the platform as X-Correlation-ID. */
  public static final Metadata.Key<String> CORRELATION_ID =
      Metadata.Key.of("x-correlation-id", Metadata.ASCII_STRING_MARSHALLER);
  /** Forwarded to the platform as Idempotency-Key (writes). */
  public static final Metadata.Key<String> IDEMPOTENCY_KEY =
      Metadata.Key.of("idempotency-key", Metadata.ASCII_STRING_MARSHALLER);
  /** The deadline the other languages' helpers use by default. */
  public static final long DEFAULT_TIMEOUT_SECONDS = 10;

  private AarthikClient() {}

  /** A plaintext channel (use ManagedChannelBuilder.forTarget(...).useTransportSecurity() for TLS). */
  public static ManagedChannel plaintextChannel(String target) {
    return ManagedChannelBuilder.forTarget(target).usePlaintext().build();
  }

  /** A random version-4 UUID, for correlation IDs and idempotency keys. */
  public static String newUuid() {
    return UUID.randomUUID().toString();
  }

  /**
   * Returns {@code stub} with a deadline {@code timeoutSeconds} from now and the call metadata: the
   * correlation ID (fresh when null) and, when not null, the idempotency key. Call it per call: the
   * deadline starts now.
   */
  public static <S extends AbstractStub<S>> S prepare(
      S stub, long timeoutSeconds, String correlationId, String idempotencyKey) {
    Metadata headers = new Metadata();
    headers.put(CORRELATION_ID, correlationId != null ? correlationId : newUuid());
    if (idempotencyKey != null) headers.put(IDEMPOTENCY_KEY, idempotencyKey);
    return stub.withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  /** The google.rpc.ErrorInfo detail of a failed call, if the gateway sent one. */
  public static Optional<ErrorInfo> errorInfo(StatusRuntimeException error) {
    com.google.rpc.Status status = StatusProto.fromThrowable(error);
    if (status == null) return Optional.empty();
    for (Any detail : status.getDetailsList()) {
      if (detail.is(ErrorInfo.class)) {
        try {
          return Optional.of(detail.unpack(ErrorInfo.class));
        } catch (InvalidProtocolBufferException e) {
          return Optional.empty();
        }
      }
    }
    return Optional.empty();
  }
}
