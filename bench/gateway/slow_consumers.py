#!/usr/bin/python3
"""Slow consumers (issue 17's drill): WatchJourneyEvents streams whose readers never read, while
signed journey.snapshot web-hooks keep coming for their borrowers; the gateway's memory and the
other callers are watched meanwhile.

  /usr/bin/python3 bench/gateway/slow_consumers.py --bin build-rel/bin [--streams 1000]
      [--borrowers 10] [--events 1500] [--check]

Starts aarthik-sandbox and aarthik-gateway (with a web-hook secret) on free loopback ports, then:
  1. baseline: GetFeatures at 8 in flight for 4 s (aarthik-grpc-load): p50/p99 and RSS;
  2. opens --streams streams, 100 per HTTP/2 connection, for --borrowers borrowers, and never reads
     those connections (raw HTTP/2 frames); one more stream, for the first borrower, reads
     everything (Debian's python3-grpcio);
  3. posts --events signed snapshots per borrower (increasing sequence), from 4 threads over kept-alive
     connections, while GetFeatures runs again at 8 in flight: p50/p99 under the load;
  4. reports peak RSS, how many stalled subscribers overflowed (closed with RESOURCE_EXHAUSTED and
     their queue freed once 1,024 events wait: docs/events.md; aarthik_stream_overflows_total), what
     the reading stream received, and RSS 10 s after the stalled connections are closed.
--check exits 1 unless: the gateway is alive, every stalled subscriber overflowed (the drill really
stalled them), the reading stream got every event of its borrower,
no web-hook was refused, peak RSS stayed under PEAK_BOUND_MB, and GetFeatures' p99 under load is
within 5 ms of the baseline's (the machine is shared with the load; timings are not asserted in
the test command).
"""
import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from memory_abuse import RssSampler, status_kb  # noqa: E402
from processes import signed_snapshot, start_pair  # noqa: E402

# Baseline (~30 MB) + 1,000 streams x (a 64 KiB HTTP/2 window of unsent events + a queue of 1,024
# event pointers) + the event log (15,000 snapshots of ~0.6 KB), rounded up.
PEAK_BOUND_MB = 160
WATCH = "/aarthik.events.v1.JourneyEventsService/WatchJourneyEvents"
SECRET = "whsec_slow_consumers"
JOURNEY = "0b9f6d0e-4d1e-4c59-9a3c-5c4e7f3b2a10"


def watch_request(borrower):
    """WatchJourneyEventsRequest bytes: borrower_external_id (field 2)."""
    data = borrower.encode()
    return b"\x12" + bytes([len(data)]) + data


def hpack_literal(name, value):
    """An HPACK literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    def string(text):
        data = text.encode()
        assert len(data) < 127
        return bytes([len(data)]) + data
    return b"\x00" + string(name) + string(value)


def frame(kind, flags, stream, payload):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


class StalledConnection:
    """An HTTP/2 connection that opens WatchJourneyEvents streams and then never reads a byte: the
    gateway's sends stop at the flow-control windows and the TCP buffers, as with a caller whose
    reader has stopped. (grpcio's client would keep reading into its own buffers.)"""

    def __init__(self, address, borrowers):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)))
        out = [b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", frame(0x4, 0, 0, b""),
               frame(0x4, 0x1, 0, b"")]  # our SETTINGS, and the ACK of the server's
        for index, borrower in enumerate(borrowers):
            stream = 2 * index + 1
            headers = b"".join(hpack_literal(n, v) for n, v in (
                (":method", "POST"), (":scheme", "http"), (":path", WATCH),
                (":authority", address), ("content-type", "application/grpc"), ("te", "trailers")))
            message = watch_request(borrower)
            out.append(frame(0x1, 0x4, stream, headers))  # END_HEADERS
            out.append(frame(0x0, 0x1, stream,  # END_STREAM
                             b"\x00" + len(message).to_bytes(4, "big") + message))
        self.sock.sendall(b"".join(out))

    def close(self):
        self.sock.close()


def metric(address, name):
    """A metric's value from the gateway's /metrics (the first sample whose line starts with name)."""
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    connection.close()
    for line in text.splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    return None


def post_webhooks(address, borrowers, events, threads=4):
    """Posts every borrower's snapshots in sequence order (one borrower per thread at a time)."""
    host, port = address.rsplit(":", 1)
    statuses = {}
    lock = threading.Lock()

    def run(index):
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        for borrower in borrowers[index::threads]:
            for sequence in range(1, events + 1):
                body, headers = signed_snapshot(SECRET, borrower, sequence, JOURNEY)
                connection.request("POST", "/webhooks/aarthik", body, headers)
                response = connection.getresponse()
                response.read()
                with lock:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
        connection.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return statuses


def features_load(bin_dir, address, seconds):
    out = subprocess.run([os.path.join(bin_dir, "aarthik-grpc-load"), f"--target={address}",
                          "--rpc=features", "--concurrency=8", "--channels=1",
                          f"--duration={seconds}", "--warmup=0.5"],
                         check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    return {"rps": data["rps"], "p50_us": data["latency_us"]["p50"],
            "p99_us": data["latency_us"]["p99"], "failed": data["failed"]}


def drill(bin_dir, gateway, streams, borrowers, events):
    import grpc  # Debian's python3-grpcio
    names = [f"CUST_SLOW_{i}" for i in range(borrowers)]
    result = {"baseline": features_load(bin_dir, gateway.addr, 4),
              "baseline_mb": status_kb(gateway.pid, "VmRSS") / 1024}
    sampler = RssSampler(gateway.pid)
    subscribers = 'aarthik_stream_subscribers{rpc="WatchJourneyEvents"}'
    per_connection = 100
    stalled = [StalledConnection(gateway.addr, [names[(c * per_connection + i) % borrowers]
                                                for i in range(per_connection)])
               for c in range((streams + per_connection - 1) // per_connection)]
    deadline = time.time() + 20
    while (metric(gateway.http_addr, subscribers) or 0) < streams and time.time() < deadline:
        time.sleep(0.05)  # the gateway subscribes them; polling its gauge, not synchronising
    result["stalled_subscribed"] = metric(gateway.http_addr, subscribers)
    reader_channel = grpc.insecure_channel(gateway.addr)
    reader = reader_channel.unary_stream(WATCH)(watch_request(names[0]), timeout=600)
    reader.initial_metadata()
    received = [0]

    def read_all():
        try:
            for _ in reader:
                received[0] += 1
        except grpc.RpcError:
            pass

    reading = threading.Thread(target=read_all, daemon=True)
    reading.start()

    under_load = {}
    loader = threading.Thread(
        target=lambda: under_load.update(features_load(bin_dir, gateway.addr, 8)))
    loader.start()
    started = time.time()
    result["webhooks"] = post_webhooks(gateway.http_addr, names, events)
    result["webhook_seconds"] = round(time.time() - started, 1)
    loader.join()
    result["under_load"] = under_load
    deadline = time.time() + 10
    while received[0] < events and time.time() < deadline:
        time.sleep(0.05)  # the reader drains what is already sent; polling, not synchronising
    result["reader_received"] = received[0]
    result["peak_mb"] = status_kb(gateway.pid, "VmHWM") / 1024
    # A stalled subscriber whose queue filled was closed (RESOURCE_EXHAUSTED) and its queue freed;
    # its stream ends once the write stuck in the caller's window completes or the caller leaves.
    result["subscribers_overflowed"] = metric(gateway.http_addr, "aarthik_stream_overflows_total")
    result["streams_open"] = metric(gateway.http_addr, subscribers)
    for connection in stalled:
        connection.close()
    reader.cancel()
    reader_channel.close()
    time.sleep(10)  # measuring the release over time, not synchronising
    result["final_mb"] = status_kb(gateway.pid, "VmRSS") / 1024
    sampler.close()
    result["rss_trace_mb"] = [(t, round(kb / 1024, 1)) for t, kb in sampler.trace[::20]]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default="build-rel/bin")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--borrowers", type=int, default=10)
    parser.add_argument("--events", type=int, default=1500)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="aarthik-slow-")
    secret = os.path.join(workdir, "webhook-secret")
    with open(secret, "w") as f:
        f.write(SECRET)
    procs = []
    try:
        _, gateway, http_addr = start_pair(args.bin, workdir, procs,
                                   gateway_args=("--webhook-secret-file", secret))
        gateway.http_addr = http_addr
        result = drill(args.bin, gateway, args.streams, args.borrowers, args.events)
        result["gateway_alive"] = gateway.p.poll() is None
    finally:
        for proc in reversed(procs):
            proc.stop()
    result["args"] = vars(args)
    print(json.dumps(result, indent=2))
    if args.check:
        ok = (result["gateway_alive"] and result["reader_received"] == args.events
              and result["subscribers_overflowed"] == args.streams
              and set(result["webhooks"]) == {200} and result["peak_mb"] < PEAK_BOUND_MB
              and result["under_load"]["failed"] == 0
              and result["under_load"]["p99_us"] <= result["baseline"]["p99_us"] + 5000)
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
