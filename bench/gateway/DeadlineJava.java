// DeadlineJava: a fifth client implementation (grpc-java over Netty, the Java stubs' runtime) for
// deadline_abuse.py. grpc-java turns RST_STREAM frames, stream closes and its own deadline timer into
// status codes in code of its own, apart from the C core, grpc-go and grpc-js.
//
//   java -cp <the Java stubs' runtime classpath> bench/gateway/DeadlineJava.java --target=127.0.0.1:PORT
//       --rpc=features|state [--borrower=B --journey=J] --requests=10000 --deadline-ms=1
//       [--concurrency=1000] [--connections=4]
//
// Prints one JSON object: {"codes": {"DEADLINE_EXCEEDED": 9990, ...}, "messages": {...}}, the messages
// of every code but OK and DEADLINE_EXCEEDED with their counts. Requests are encoded by hand (two
// string fields at most), so that no generated code is needed.
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

public final class DeadlineJava {
  private static final Map<String, String> METHODS =
      Map.of(
          "state", "aarthik.headless.v1.JourneysService/GetJourneyState",
          "features", "aarthik.hosted.v1.HostedService/GetFeatures");

  private static final class Bytes implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private static byte[] stringField(int number, String value) {
    byte[] data = value.getBytes(StandardCharsets.UTF_8);
    if (data.length >= 128) throw new IllegalArgumentException("field too long for a one-byte length");
    byte[] out = new byte[data.length + 2];
    out[0] = (byte) ((number << 3) | 2);
    out[1] = (byte) data.length;
    System.arraycopy(data, 0, out, 2, data.length);
    return out;
  }

  private static String json(Map<String, Integer> counts) {
    StringBuilder out = new StringBuilder("{");
    for (Map.Entry<String, Integer> entry : counts.entrySet()) {
      if (out.length() > 1) out.append(',');
      String key = entry.getKey().replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
      out.append('"').append(key).append("\":").append(entry.getValue());
    }
    return out.append('}').toString();
  }

  public static void main(String[] argv) throws InterruptedException {
    Map<String, String> args = new HashMap<>(
        Map.of("borrower", "", "journey", "", "requests", "10000", "concurrency", "1000", "connections", "4"));
    for (String arg : argv) {
      if (!arg.startsWith("--") || !arg.contains("=")) throw new IllegalArgumentException("unrecognised: " + arg);
      args.put(arg.substring(2, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
    }
    String method = METHODS.get(args.get("rpc"));
    if (args.get("target") == null || method == null || args.get("deadline-ms") == null) {
      throw new IllegalArgumentException("--target, --rpc=state|features and --deadline-ms are required");
    }
    int requests = Integer.parseInt(args.get("requests"));
    long deadlineNanos = (long) (Double.parseDouble(args.get("deadline-ms")) * 1_000_000);
    byte[] payload = new byte[0];
    if (args.get("rpc").equals("state")) {
      byte[] borrower = stringField(1, args.get("borrower"));
      byte[] journey = stringField(2, args.get("journey"));
      payload = new byte[borrower.length + journey.length];
      System.arraycopy(borrower, 0, payload, 0, borrower.length);
      System.arraycopy(journey, 0, payload, borrower.length, journey.length);
    }
    MethodDescriptor<byte[], byte[]> descriptor =
        MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(method)
            .setRequestMarshaller(new Bytes())
            .setResponseMarshaller(new Bytes())
            .build();
    List<ManagedChannel> channels = new ArrayList<>();
    for (int i = 0; i < Integer.parseInt(args.get("connections")); i++) {
      channels.add(NettyChannelBuilder.forTarget(args.get("target")).usePlaintext().build());
    }
    Map<String, Integer> codes = new TreeMap<>();
    Map<String, Integer> messages = new TreeMap<>();
    Semaphore slots = new Semaphore(Integer.parseInt(args.get("concurrency")));
    CountDownLatch done = new CountDownLatch(requests);
    for (int i = 0; i < requests; i++) {
      slots.acquire();
      ManagedChannel channel = channels.get(i % channels.size());
      CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(deadlineNanos, TimeUnit.NANOSECONDS);
      ClientCalls.asyncUnaryCall(
          channel.newCall(descriptor, options),
          payload,
          new StreamObserver<byte[]>() {
            @Override
            public void onNext(byte[] reply) {}

            @Override
            public void onError(Throwable error) {
              Status status = Status.fromThrowable(error);
              end(status.getCode().name(), status.getDescription());
            }

            @Override
            public void onCompleted() {
              end("OK", null);
            }

            private void end(String code, String description) {
              synchronized (codes) {
                codes.merge(code, 1, Integer::sum);
                if (!code.equals("OK") && !code.equals("DEADLINE_EXCEEDED")) {
                  messages.merge(code + ": " + description, 1, Integer::sum);
                }
              }
              slots.release();
              done.countDown();
            }
          });
    }
    done.await();
    for (ManagedChannel channel : channels) channel.shutdownNow();
    synchronized (codes) {
      System.out.println("{\"codes\":" + json(codes) + ",\"messages\":" + json(messages) + "}");
    }
  }
}
