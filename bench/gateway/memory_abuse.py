#!/usr/bin/python3
"""Scenario m (issue 19, item 2): the gateway's memory while a hostile client holds thousands of
stalled watch streams and sends oversized requests, and after it leaves.

  bench/gateway/memory_abuse.py --bin build-rel/bin [--streams 5000] [--big 8] [--big-mb 64]
                                [--after 30] [--check] [-- extra gateway flags]

Starts aarthik-sandbox and aarthik-gateway (default flags plus the extra ones) on free loopback
ports, warms the gateway up with proxied calls and reads its baseline RSS; then, from this process
(Debian's python3-grpcio, raw bytes, no stubs), over 8 connections:
  1. opens --streams WatchJourneyEvents streams that never read (each waits for the gateway's
     answer: subscribed, or refused at --max-watch-streams);
  2. sends --big unary requests of --big-mb MiB at once (above --max-request-bytes: refused);
  3. cancels the streams and closes the connections, then samples RSS for --after seconds.
RSS is sampled every 50 ms throughout (/proc/<pid>/status VmRSS; VmHWM for the peak). Prints one
JSON object: baseline, peak and final RSS (MB), final / baseline, and how each step was answered.
--check exits 1 unless the bounds of docs/operations.md ("Limits") held: every stream answered
(subscribed or refused), every oversized request refused with RESOURCE_EXHAUSTED, the gateway
alive, peak RSS under PEAK_BOUND_MB, final RSS within 20 % of the baseline, and the allocator's
gauges on /metrics (aarthik_heap_allocated_bytes, aarthik_heap_resident_bytes) plausible: live bytes
above zero, resident pages at least the live bytes and at most RSS.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from processes import scrape, start_pair  # noqa: E402

# Baseline (~30 MB) + 4,096 watch streams (--max-watch-streams, ~20 KB each) + gRPC's memory quota
# (--grpc-memory-limit, 256 MB), rounded up.
PEAK_BOUND_MB = 370
WATCH = "/aarthik.events.v1.JourneyEventsService/WatchJourneyEvents"
FEATURES = "/aarthik.hosted.v1.HostedService/GetFeatures"


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


class RssSampler:
    """VmRSS of `pid` every 50 ms on a thread; the trace is kept for the report."""

    def __init__(self, pid):
        self.pid = pid
        self.trace = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.start = time.time()
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            self.trace.append((round(time.time() - self.start, 2), status_kb(self.pid, "VmRSS")))
            self.stop.wait(0.05)

    def close(self):
        self.stop.set()
        self.thread.join()


def oversized(mb):
    """GetFeaturesRequest bytes: field 1 (length-delimited) of `mb` MiB; refused for its size."""
    size = mb << 20
    varint = bytearray()
    value = size
    while True:
        byte = value & 0x7F
        value >>= 7
        varint.append(byte | (0x80 if value else 0))
        if not value:
            break
    return b"\x0a" + bytes(varint) + b"x" * size


def abuse(address, pid, streams, big, big_mb, after):
    import grpc  # Debian's python3-grpcio: only this scenario needs it (run.py imports this module)
    options = [("grpc.use_local_subchannel_pool", 1),
               ("grpc.max_send_message_length", (big_mb + 1) << 20)]
    channels = [grpc.insecure_channel(address, options=options) for _ in range(8)]
    sampler = RssSampler(pid)
    result = {"baseline_mb": status_kb(pid, "VmRSS") / 1024}
    calls = []
    for i in range(streams):
        call = channels[i % len(channels)].unary_stream(WATCH)(b"", timeout=600)
        calls.append(call)
    subscribed = refused = 0
    for call in calls:
        call.initial_metadata()  # the gateway's answer: subscribed, or refused at the cap
        if call.done():
            refused += 1
        else:
            subscribed += 1
    result["streams"] = {"subscribed": subscribed, "refused": refused}
    result["rss_with_streams_mb"] = status_kb(pid, "VmRSS") / 1024

    codes = {}
    lock = threading.Lock()

    def send_big(channel):
        try:
            channel.unary_unary(FEATURES)(oversized(big_mb), timeout=120)
            code = "OK"
        except grpc.RpcError as error:
            code = error.code().name
        with lock:
            codes[code] = codes.get(code, 0) + 1

    senders = [threading.Thread(target=send_big, args=(channels[i % len(channels)],))
               for i in range(big)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    result["big_requests"] = codes
    result["peak_mb"] = status_kb(pid, "VmHWM") / 1024

    for call in calls:
        call.cancel()
    for channel in channels:
        channel.close()
    left = time.time()
    time.sleep(after)  # measuring the release over time, not synchronising
    result["final_mb"] = status_kb(pid, "VmRSS") / 1024
    result["final_over_baseline"] = round(result["final_mb"] / result["baseline_mb"], 3)
    sampler.close()
    result["seconds_after_leaving"] = after
    result["rss_trace_mb"] = [(t, round(kb / 1024, 1)) for t, kb in sampler.trace[::20]]
    result["left_at_s"] = round(left - sampler.start, 2)
    return result


def run(bin_dir, streams, big, big_mb, after, extra, workdir):
    procs = []
    try:
        _, gateway, http_addr = start_pair(bin_dir, workdir, procs, gateway_args=extra)
        for rpc in ("features", "health"):
            subprocess.run([os.path.join(bin_dir, "aarthik-grpc-load"), f"--target={gateway.addr}",
                            f"--rpc={rpc}", "--concurrency=16", "--requests=2000"],
                           check=True, capture_output=True)
        result = abuse(gateway.addr, gateway.pid, streams, big, big_mb, after)
        heap = scrape(http_addr, ("aarthik_heap_allocated_bytes", "aarthik_heap_resident_bytes"))
        result["heap_allocated_mb"] = round((heap["aarthik_heap_allocated_bytes"] or 0) / 2**20, 1)
        result["heap_resident_mb"] = round((heap["aarthik_heap_resident_bytes"] or 0) / 2**20, 1)
        result["gateway_flags"] = extra
        result["gateway_alive"] = gateway.p.poll() is None
        return result
    finally:
        for proc in reversed(procs):
            proc.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--streams", type=int, default=5000)
    parser.add_argument("--big", type=int, default=8)
    parser.add_argument("--big-mb", type=int, default=64)
    parser.add_argument("--after", type=float, default=30)
    parser.add_argument("--check", action="store_true", help="exit 1 when a bound did not hold")
    parser.add_argument("extra", nargs="*", help="extra gateway flags (after --)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="memory-abuse-") as workdir:
        result = run(os.path.abspath(args.bin), args.streams, args.big, args.big_mb, args.after,
                     args.extra, workdir)
    print(json.dumps(result))
    if not args.check:
        return 0
    failed = []
    if sum(result["streams"].values()) != args.streams:
        failed.append("a stream was never answered")
    if result["big_requests"] != {"RESOURCE_EXHAUSTED": args.big}:
        failed.append(f"oversized requests answered {result['big_requests']}")
    if not result["gateway_alive"]:
        failed.append("the gateway died")
    if result["peak_mb"] > PEAK_BOUND_MB:
        failed.append(f"peak RSS {result['peak_mb']:.0f} MB > {PEAK_BOUND_MB} MB")
    if result["final_over_baseline"] > 1.2:
        failed.append(f"RSS {args.after:.0f} s after the abuse is {result['final_over_baseline']}x "
                      "the baseline (> 1.2)")
    if not 0 < result["heap_allocated_mb"] <= result["heap_resident_mb"] <= result["final_mb"]:
        failed.append(f"heap gauges implausible: {result['heap_allocated_mb']} MB allocated, "
                      f"{result['heap_resident_mb']} MB resident, RSS {result['final_mb']:.1f} MB")
    for failure in failed:
        print("memory bound not held: " + failure, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
