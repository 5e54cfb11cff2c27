#!/usr/bin/python3
"""Scenario s (issue 17): a soak. Gateway + sandbox + Redis for --minutes at a steady load with a
realistic mix, sampled every 10 s; after --warmup-minutes, RSS, descriptors and threads must stay
flat and no RPC may fail.

  cmake --build build-rel --target aarthik-gateway aarthik-sandbox aarthik-grpc-load aarthik_python_package
  /usr/bin/python3 bench/gateway/soak.py --build build-rel [--minutes 30] [--warmup-minutes 2]
      [--event-retention 2m] [--plot docs/soak.png] [--check]

The mix, all at once:
  - reads: aarthik-grpc-load, GetJourneyState at --read-concurrency in flight, one window per minute
    (its p50/p99 and failures make the latency-over-time series);
  - a new borrower every second: CreateJourney (a write, with an Idempotency-Key) then reads of it;
  - writes for known borrowers: CreateJourney every 250 ms;
  - sessions expiring: every 3 minutes the sandbox clock jumps 31 minutes (the session TTL is 30),
    so the next call of every borrower refreshes;
  - streams: 8 WatchJourneyEvents / WatchJourneyState streams at a time, each cancelled after 2-10 s;
  - signed journey.snapshot web-hooks, 20 per second, for the soak's borrowers.
RSS (VmRSS), open descriptors (/proc/PID/fd), threads and the allocator's live and resident bytes
(the gateway's aarthik_heap_* gauges) are sampled every 10 s.

Prints one JSON object and, with --plot, writes a PNG (gnuplot) of RSS, descriptors, threads and
the reads' p99 against time (gnuplot: Debian gnuplot-nox). --check exits 1 unless, after the warm-up: RSS grew by at most 5 %
(last minute's mean against the warm-up's end), descriptors and threads varied by at most 5 and 2,
and no RPC or web-hook failed.
"""
import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from processes import (API_KEY, APPLICATION, TENANT, Proc, free_port, scrape,  # noqa: E402
                       signed_snapshot)

SECRET = "whsec_soak"


HEAP_SERIES = ("aarthik_heap_allocated_bytes", "aarthik_heap_resident_bytes")


def proc_sample(pid, http_addr):
    """RSS, descriptors and threads from /proc; the allocator's live and resident bytes from
    /metrics, which tell live objects from pages the allocator keeps when RSS moves."""
    heap = scrape(http_addr, HEAP_SERIES)
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return {"rss_mb": round(rss / 1024, 2), "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": threads,
            "heap_allocated_mb": round((heap[HEAP_SERIES[0]] or 0) / 2**20, 2),
            "heap_resident_mb": round((heap[HEAP_SERIES[1]] or 0) / 2**20, 2)}


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.errors = {}

    def add(self, kind, error=None):
        with self.lock:
            key = f"{kind}:{'ok' if error is None else 'failed'}"
            self.counts[key] = self.counts.get(key, 0) + 1
            if error is not None:
                self.errors[f"{kind}: {error}"] = self.errors.get(f"{kind}: {error}", 0) + 1

    def failed(self):
        with self.lock:
            return sum(v for k, v in self.counts.items() if k.endswith(":failed"))


class Soak:
    def __init__(self, args, gateway_addr, http_addr, sandbox_addr):
        import grpc
        from aarthik.common.v1 import borrower_pb2
        from aarthik.events.v1 import events_pb2, events_pb2_grpc
        from aarthik.headless.v1 import journeys_pb2, journeys_pb2_grpc
        self.grpc, self.borrower_pb2, self.events_pb2 = grpc, borrower_pb2, events_pb2
        self.journeys_pb2 = journeys_pb2
        self.args, self.http_addr, self.sandbox_addr = args, http_addr, sandbox_addr
        self.channel = grpc.insecure_channel(gateway_addr)
        self.journeys = journeys_pb2_grpc.JourneysServiceStub(self.channel)
        self.events = events_pb2_grpc.JourneyEventsServiceStub(self.channel)
        self.stop = threading.Event()
        self.tally = Tally()
        self.lock = threading.Lock()
        self.borrowers = {}  # borrower -> journey ID
        self.sequence = {}

    def metadata(self, idempotency_key=None):
        md = [("x-correlation-id", "soak-" + uuid.uuid4().hex[:12])]
        if idempotency_key:
            md.append(("idempotency-key", idempotency_key))
        return md

    def create_journey(self, borrower):
        request = self.journeys_pb2.CreateJourneyRequest(borrower_external_id=borrower)
        request.journey.type = self.borrower_pb2.JOURNEY_TYPE_PERSONAL_LOAN
        try:
            response = self.journeys.CreateJourney(request, timeout=10,
                                                   metadata=self.metadata(uuid.uuid4().hex))
            with self.lock:
                self.borrowers[borrower] = response.journey.journey_id
            self.tally.add("write")
        except self.grpc.RpcError as error:
            self.tally.add("write", error.code().name)

    def read(self, borrower):
        with self.lock:
            journey = self.borrowers.get(borrower)
        if not journey:
            return
        request = self.journeys_pb2.GetJourneyStateRequest(borrower_external_id=borrower,
                                                           journey_id=journey)
        try:
            self.journeys.GetJourneyState(request, timeout=10, metadata=self.metadata())
            self.tally.add("read")
        except self.grpc.RpcError as error:
            self.tally.add("read", error.code().name)

    def known(self):
        with self.lock:
            return list(self.borrowers)

    # --- the mix's threads ------------------------------------------------------------------------
    def new_borrowers(self):
        n = 0
        while not self.stop.wait(1.0):
            n += 1
            borrower = f"SOAK_NEW_{n}"
            self.create_journey(borrower)
            self.read(borrower)

    def writes(self):
        while not self.stop.wait(0.25):
            known = self.known()
            if known:
                self.create_journey(random.choice(known))

    def streams(self, index):
        rng = random.Random(index)
        while not self.stop.is_set():
            known = self.known()
            if not known:
                self.stop.wait(0.5)
                continue
            borrower = rng.choice(known)
            if rng.random() < 0.5:
                call = self.events.WatchJourneyEvents(
                    self.events_pb2.WatchJourneyEventsRequest(borrower_external_id=borrower),
                    timeout=60, metadata=self.metadata())
                kind = "events_stream"
            else:
                with self.lock:
                    journey = self.borrowers[borrower]
                call = self.events.WatchJourneyState(
                    self.events_pb2.WatchJourneyStateRequest(borrower_external_id=borrower,
                                                             journey_id=journey),
                    timeout=60, metadata=self.metadata())
                kind = "state_stream"
            timer = threading.Timer(rng.uniform(2, 10), call.cancel)
            timer.start()
            try:
                for _ in call:
                    pass
                self.tally.add(kind)
            except self.grpc.RpcError as error:
                # Cancelled by us is the normal end; anything else is a failure.
                self.tally.add(kind, None if error.code() == self.grpc.StatusCode.CANCELLED
                               else error.code().name)
            timer.cancel()

    def webhooks(self):
        host, port = self.http_addr.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        while not self.stop.wait(0.05):
            known = self.known()
            if not known:
                continue
            borrower = random.choice(known)
            with self.lock:
                self.sequence[borrower] = self.sequence.get(borrower, 0) + 1
                sequence = self.sequence[borrower]
                journey = self.borrowers[borrower]
            body, headers = signed_snapshot(SECRET, borrower, sequence, journey)
            try:
                connection.request("POST", "/webhooks/aarthik", body, headers)
                response = connection.getresponse()
                response.read()
                self.tally.add("webhook", None if response.status == 200 else str(response.status))
            except (OSError, http.client.HTTPException) as error:
                self.tally.add("webhook", type(error).__name__)
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=10)

    def expiries(self):
        while not self.stop.wait(180):
            host, port = self.sandbox_addr.rsplit(":", 1)
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            connection.request("POST", "/_sandbox/time/advance", json.dumps({"seconds": 1860}),
                               {"Content-Type": "application/json"})
            connection.getresponse().read()
            connection.close()
            self.tally.add("session_expiry")


def start_redis(workdir):
    port = free_port()
    redis = Proc("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no"], workdir, expect_listen=False)
    deadline = time.time() + 10
    while True:  # ready once it answers PING
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return redis, f"redis://127.0.0.1:{port}"
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)  # waiting for a process to listen


def plot(samples, windows, path):
    data = path + ".dat"
    p99 = {round(w["t_end_s"]): w["p99_ms"] for w in windows}
    with open(data, "w") as f:
        for s in samples:
            near = min(p99, key=lambda t: abs(t - s["t_s"])) if p99 else None
            f.write(f"{s['t_s'] / 60:.2f} {s['rss_mb']} {s['fds']} {s['threads']} "
                    f"{p99[near] if near is not None else 0}\n")
    script = f"""
set terminal png size 1000,700
set output '{path}'
set multiplot layout 2,1 title 'Soak (scenario s): gateway + sandbox + Redis'
set xlabel 'minutes'
set ylabel 'MB / count'
set key outside
plot '{data}' using 1:2 with lines title 'RSS (MB)', '' using 1:3 with lines title 'open fds', \
     '' using 1:4 with lines title 'threads'
set ylabel 'ms'
plot '{data}' using 1:5 with steps title 'GetJourneyState p99 (per minute)'
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build-rel")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--warmup-minutes", type=float, default=2)
    parser.add_argument("--read-concurrency", type=int, default=4)
    # The event log keeps every accepted snapshot for --event-retention (24 h by default, at most
    # 100,000): at 20 a second its memory grows for 83 minutes before it is full. A short retention
    # lets it reach its steady state within the warm-up, so what grows after it is not the log.
    parser.add_argument("--event-retention", default="2m")
    parser.add_argument("--plot", default="")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    build = args.build if os.path.isabs(args.build) else os.path.join(ROOT, args.build)
    bin_dir = os.path.join(build, "bin")
    sys.path.insert(0, os.path.join(build, "python"))
    workdir = tempfile.mkdtemp(prefix="aarthik-soak-")
    secret = os.path.join(workdir, "webhook-secret")
    with open(secret, "w") as f:
        f.write(SECRET)
    procs = []
    samples, windows = [], []
    try:
        redis, redis_url = start_redis(workdir)
        procs.append(redis)
        sandbox = Proc("sandbox", [os.path.join(bin_dir, "aarthik-sandbox"), "--listen", "127.0.0.1:0",
                                   "--api-key", API_KEY, "--control-plane", "--threads", "2"], workdir)
        procs.append(sandbox)
        http_addr = f"127.0.0.1:{free_port()}"
        gateway = Proc("gateway", [os.path.join(bin_dir, "aarthik-gateway"), "--grpc-listen",
                                   "127.0.0.1:0", "--http-listen", http_addr, "--upstream-url",
                                   f"http://{sandbox.addr}", "--tenant-id", TENANT,
                                   "--application-id", APPLICATION, "--redis-url", redis_url,
                                   "--webhook-secret-file", secret,
                                   "--event-retention", args.event_retention],
                       workdir, env=dict(os.environ, AARTHIK_API_KEY=API_KEY))
        procs.append(gateway)
        soak = Soak(args, gateway.addr, http_addr, sandbox.addr)
        for i in range(16):  # the known borrowers the mix starts from
            soak.create_journey(f"SOAK_{i}")
        reader_journey = soak.borrowers["SOAK_0"]
        threads = [threading.Thread(target=soak.new_borrowers), threading.Thread(target=soak.writes),
                   threading.Thread(target=soak.webhooks), threading.Thread(target=soak.expiries)]
        threads += [threading.Thread(target=soak.streams, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.daemon = True
            thread.start()
        start = time.time()
        end = start + args.minutes * 60

        def sampler():
            while time.time() < end and gateway.p.poll() is None:
                samples.append({"t_s": round(time.time() - start, 1), **proc_sample(gateway.pid, http_addr)})
                soak.stop.wait(10)

        sampling = threading.Thread(target=sampler, daemon=True)
        sampling.start()
        while time.time() < end - 5:
            window = min(60, end - time.time())
            out = subprocess.run([os.path.join(bin_dir, "aarthik-grpc-load"), f"--target={gateway.addr}",
                                  "--rpc=state", f"--journey={reader_journey}", "--borrower=SOAK_0",
                                  f"--concurrency={args.read_concurrency}", "--channels=1",
                                  f"--duration={window}", "--warmup=0"],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                windows.append({"t_end_s": round(time.time() - start), "error": out.stderr[-300:]})
                break
            data = json.loads(out.stdout)
            windows.append({"t_end_s": round(time.time() - start), "rps": data["rps"],
                            "p50_ms": round(data["latency_us"]["p50"] / 1000, 2),
                            "p99_ms": round(data["latency_us"]["p99"] / 1000, 2),
                            "failed": data["failed"], "codes": data["codes"]})
        soak.stop.set()
        sampling.join()
        for thread in threads:
            thread.join(timeout=15)
        alive = gateway.p.poll() is None
    finally:
        for proc in reversed(procs):
            proc.stop()

    warm = args.warmup_minutes * 60
    after = [s for s in samples if s["t_s"] >= warm]
    last_minute = [s for s in samples if s["t_s"] >= samples[-1]["t_s"] - 60] if samples else []
    result = {
        "minutes": args.minutes, "warmup_minutes": args.warmup_minutes,
        "gateway_alive": alive,
        "calls": soak.tally.counts, "errors": soak.tally.errors,
        "reads_total": sum(sum(w.get("codes", {}).values()) for w in windows),
        "reads_failed": sum(w.get("failed", 1) for w in windows),
        "windows": windows,
    }
    if after and last_minute:
        base = after[0]
        result["rss_mb_at_warmup_end"] = base["rss_mb"]
        result["rss_mb_last_minute"] = round(statistics.mean(s["rss_mb"] for s in last_minute), 2)
        result["rss_growth"] = round(result["rss_mb_last_minute"] / base["rss_mb"] - 1, 4)
        for series in ("heap_allocated_mb", "heap_resident_mb"):
            result[f"{series}_warmup_end_and_last_minute"] = [
                base[series], round(statistics.mean(s[series] for s in last_minute), 2)]
        result["fds_range"] = [min(s["fds"] for s in after), max(s["fds"] for s in after)]
        result["threads_range"] = [min(s["threads"] for s in after), max(s["threads"] for s in after)]
    result["samples"] = samples
    if args.plot:
        plot(samples, windows, args.plot)
        result["plot"] = args.plot
    print(json.dumps(result, indent=1))
    if args.check:
        ok = (alive and "rss_growth" in result and result["rss_growth"] <= 0.05
              and result["fds_range"][1] - result["fds_range"][0] <= 5
              and result["threads_range"][1] - result["threads_range"][0] <= 2
              and result["reads_failed"] == 0 and soak.tally.failed() == 0)
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
