#!/usr/bin/python3
"""Gateway benchmarks a-e of issue 5 (see docs/benchmarks.md, "Gateway").

Starts aarthik-sandbox and aarthik-gateway on free loopback ports (each prints `listening HOST:PORT` as
its first stdout line, read from the process's stdout pipe, no sleeping), runs every scenario RUNS
times, takes medians and writes bench/gateway/results/<stamp>/{raw.jsonl,summary.json,summary.md} plus
the concurrency plot (gnuplot) to docs/gateway-concurrency.png.

  bench/gateway/run.py [--build build-bench] [--runs 3] [--duration 8] [--only a,m,r,t,b,c,d,e,g,perf,callgrind]
                       [--gateway-cpus 0] [--gateway-sched batch]

Scenarios:
  a  gateway CPU per proxied RPC at saturation (health baseline, GetJourneyState, GetFeatures) + wrk
     directly against the sandbox's /state (the sandbox's CPU per request measured the same way);
  b  latency added over calling the sandbox directly, at concurrency 1 and 64 (wrk --latency-style
     percentiles from a Lua done() hook), and the same for the health RPC (what gRPC alone adds);
  c  5,000 RPCs in flight with the sandbox adding 500 ms;
  d  token-expiry storm: 1,000 concurrent RPCs for one borrower after the session expired;
  e  throughput and p99 against concurrency (1, 4, 16, 64, 256) -> PNG;
  m  memory under abuse (issue 19): 5,000 watch streams that never read and 8 x 64 MiB requests,
     then RSS 30 s after they end (bench/gateway/memory_abuse.py);
  r  scenario a's GetJourneyState and scenario d's storm with --redis-url (a redis-server on a free
     loopback port): the cost of the shared token store;
  t  TLS upstream (issue 15): scenario a's GetJourneyState through a gateway verifying an https://
     upstream (--upstream-ca-file; a sandbox serving TLS with --tls-cert, a throw-away CA and
     certificate for 127.0.0.1 made with the openssl CLI) and, interleaved in the same run, through
     a second gateway on a plain sandbox: gateway CPU per RPC TLS / plain, and the TLS handshakes
     per RPC after warm-up (the TLS sandbox's counters);
  g  the C++ gateway against a generic Go gateway (bench/gateway/go_gateway, issue 15's yardstick) in
     front of one sandbox, the same load in turn: CPU and context switches per RPC, RPC/s and RSS
     for health, GetJourneyState and GetFeatures at 64 in flight, GetJourneyState's latency at 1
     (bench/gateway/versus_go.py);
  perf       perf record -e cpu-clock on the gateway at c=64 (once; reports by DSO and symbol);
  callgrind  instructions per RPC in the gateway for health / GetJourneyState / GetFeatures (once).

Processes are stopped by their own PID (SIGTERM, then SIGKILL after 10 s); nothing else is touched.
"""
import argparse
import datetime
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import memory_abuse  # noqa: E402
import versus_go  # noqa: E402
from processes import API_KEY, APPLICATION, TENANT, Proc  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "bench", "gateway")


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.join(ROOT, args.build) if not os.path.isabs(args.build) else args.build
        self.bin = os.path.join(self.build, "bin")
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.out = os.path.join(HERE, "results", stamp)
        os.makedirs(self.out, exist_ok=True)
        self.raw = open(os.path.join(self.out, "raw.jsonl"), "w")
        self.procs = []
        self.load_samples = []

    # ---- processes ------------------------------------------------------------------------------
    def start_pair(self, sandbox_extra=(), gateway_extra=(), gateway_env=None):
        sandbox = Proc("sandbox", [os.path.join(self.bin, "aarthik-sandbox"), "--listen", "127.0.0.1:0",
                                   "--api-key", API_KEY, "--control-plane", "--threads", "2",
                                   *sandbox_extra], self.out)
        self.procs.append(sandbox)
        env = dict(os.environ, AARTHIK_API_KEY=API_KEY, **(gateway_env or {}))
        gateway = Proc("gateway", [*self.gateway_placement(), os.path.join(self.bin, "aarthik-gateway"),
                                   "--grpc-listen",
                                   "127.0.0.1:0", "--upstream-url", f"http://{sandbox.addr}",
                                   "--tenant-id", TENANT, "--application-id", APPLICATION,
                                   *gateway_extra], self.out, env=env)
        self.procs.append(gateway)
        return sandbox, gateway

    def gateway_placement(self):
        """The command prefix that places the gateway: its own CPUs (--gateway-cpus; main() keeps this
        script and every other child off them) and its scheduling policy (--gateway-sched)."""
        prefix = []
        if self.args.gateway_cpus:
            prefix += ["taskset", "-c", self.args.gateway_cpus]
        if self.args.gateway_sched == "batch":
            prefix += ["chrt", "--batch", "0"]
        return prefix

    def start_redis(self):
        """A redis-server on a free loopback port (nothing persisted); returns (proc, url)."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        redis = Proc("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], self.out, expect_listen=False)
        self.procs.insert(0, redis)  # stopped last, after the gateway
        deadline = time.time() + 10
        while True:  # ready once it accepts a connection and answers PING
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError(f"redis-server did not start; see {redis.log_path}")
                time.sleep(0.05)
        return redis, f"redis://127.0.0.1:{port}"

    def stop_all(self):
        for proc in reversed(self.procs):
            proc.stop()
        self.procs = []

    # ---- helpers --------------------------------------------------------------------------------
    def record(self, scenario, run, kind, data, **extra):
        row = dict(scenario=scenario, run=run, kind=kind, loadavg=os.getloadavg()[0], **extra, data=data)
        self.raw.write(json.dumps(row) + "\n")
        self.raw.flush()
        self.load_samples.append(os.getloadavg()[0])
        return data

    def http(self, addr, method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://{addr}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")

    def grpc_load(self, gateway, rpc, concurrency, channels=4, duration=None, warmup=None,
                  requests=None, pids=(), borrower="BENCH_1", journey=None, deadline_ms=30000,
                  client_threads=1):
        """One aarthik-grpc-load run: the async client (encoded requests, replies not decoded, as
        wrk), on `client_threads` threads (one, as wrk -t1, unless the gateway could outrun it)."""
        argv = [os.path.join(self.bin, "aarthik-grpc-load"), f"--target={gateway.addr}", f"--rpc={rpc}",
                f"--borrower={borrower}", f"--concurrency={concurrency}", f"--channels={channels}",
                f"--deadline_ms={deadline_ms}", f"--client_threads={client_threads}"]
        if journey:
            argv.append(f"--journey={journey}")
        if requests:
            argv.append(f"--requests={requests}")
        else:
            argv += [f"--duration={duration or self.args.duration}",
                     f"--warmup={self.args.warmup if warmup is None else warmup}"]
        argv += [f"--pid={p.name}:{p.pid}" for p in pids]
        out = subprocess.run(argv, check=True, capture_output=True, text=True)
        result = json.loads(out.stdout)
        result["command"] = " ".join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in argv)
        return result

    def session_token(self, sandbox, borrower):
        data = self.http(sandbox.addr, "POST", "/api/v1/headless/sessions", {"borrowerExternalID": borrower},
                         {"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": f"bench-s-{borrower}"})
        return data["data"]["sessionToken"]

    def direct_journey(self, sandbox, borrower):
        token = self.session_token(sandbox, borrower)
        data = self.http(sandbox.addr, "POST", "/api/v1/headless/journeys", {"type": "PERSONAL_LOAN"},
                         {"Authorization": f"Bearer {token}", "Idempotency-Key": f"bench-j-{borrower}"})
        return token, data["data"]["journeyID"]

    def proc_cpu(self, pid):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tasks(self, pid):
        """{tid: (comm, cpu seconds, context switches)} for every thread of pid."""
        out = {}
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    text = f.read()
                comm = text[text.index("(") + 1:text.rindex(")")]
                fields = text.rsplit(")", 1)[1].split()
                cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                ctx = 0
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if "ctxt_switches" in line:
                            ctx += int(line.split()[1])
                out[tid] = (comm, cpu, ctx)
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
        return out

    def wrk(self, sandbox, url, token, connections, threads, duration, watch=None):
        """wrk against the sandbox; the Lua done() hook prints latency percentiles in microseconds."""
        argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(round(duration))}s", "-s",
                os.path.join(HERE, "wrk_report.lua"), "-H", f"Authorization: Bearer {token}", url]
        cpu0 = self.proc_cpu(watch.pid) if watch else 0
        t0 = time.monotonic()
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
        elapsed = time.monotonic() - t0
        cpu1 = self.proc_cpu(watch.pid) if watch else 0
        line = [l for l in out.splitlines() if l.startswith("WRK_JSON ")][-1]
        result = json.loads(line[len("WRK_JSON "):])
        result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
        if watch:
            result["sandbox_cpu_s"] = cpu1 - cpu0
            result["sandbox_cpu_us_per_req"] = (cpu1 - cpu0) * 1e6 / max(1, result["requests"])
            result["elapsed_s"] = elapsed
        shown = [a if not a.startswith("Authorization") else "Authorization: Bearer <st_test_...>"
                 for a in argv]
        result["command"] = " ".join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in shown)
        return result

    # ---- scenarios ------------------------------------------------------------------------------
    def scenario_a(self, run):
        sandbox, gateway = self.start_pair()
        try:
            res = {}
            # Create the journey first (CreateJourney through the gateway), then measure.
            setup = self.grpc_load(gateway, "state", 1, channels=1, requests=10)
            journey = setup["journey_id"]
            # Two client threads: one cannot keep up with health (57-64k RPC/s against 75-89k with
            # two), and a baseline measured below saturation batches less and costs more per RPC.
            for rpc in ("health", "state", "features"):
                res[rpc] = self.record("a", run, rpc, self.grpc_load(
                    gateway, rpc, 64, channels=4, journey=journey if rpc == "state" else None,
                    pids=(gateway, sandbox), client_threads=2))
            token, direct_journey = self.direct_journey(sandbox, "BENCH_DIRECT")
            url = f"http://{sandbox.addr}/api/v1/headless/journeys/{direct_journey}/state"
            res["wrk"] = self.record("a", run, "wrk", self.wrk(sandbox, url, token, 64, 1,
                                                            self.args.duration, watch=sandbox))
            return res
        finally:
            self.stop_all()

    def scenario_g(self, run):
        return versus_go.scenario(self, run)

    def scenario_m(self, run):
        """Issue 19: RSS under 5,000 stalled watch streams and 8 x 64 MiB requests, and 30 s after."""
        result = memory_abuse.run(self.bin, 5000, 8, 64, 30, [], self.out)
        return self.record("m", run, "abuse", result)

    def scenario_r(self, run):
        """Scenario a's borrower read and scenario d's storm with --redis-url (shared token store)."""
        redis, url = self.start_redis()
        sandbox, gateway = self.start_pair(gateway_extra=("--redis-url", url))
        try:
            journey = self.grpc_load(gateway, "state", 1, channels=1, requests=10)["journey_id"]
            res = {"state": self.record("r", run, "state", self.grpc_load(
                gateway, "state", 64, channels=4, journey=journey, pids=(gateway, sandbox, redis)))}
            before = self.http(sandbox.addr, "GET", "/_sandbox/counters")
            self.http(sandbox.addr, "POST", "/_sandbox/time/advance", {"seconds": 1860})
            storm = self.grpc_load(gateway, "state", 1000, channels=4, requests=1000, journey=journey,
                                   pids=(gateway, redis))
            after = self.http(sandbox.addr, "GET", "/_sandbox/counters")
            storm["refreshes"] = after["refreshes"] - before["refreshes"]
            storm["sessions_minted"] = after["sessions_minted"] - before["sessions_minted"]
            res["storm"] = self.record("r", run, "storm", storm)
            return res
        finally:
            self.stop_all()

    def tls_certs(self):
        """A throw-away CA and a server certificate for IP:127.0.0.1 signed by it (ECDSA P-256, valid
        two days), made once per invocation with the openssl CLI into <results>/tls/. Returns the
        paths {ca, cert, key}."""
        if getattr(self, "_tls_certs", None):
            return self._tls_certs
        tls = os.path.join(self.out, "tls")
        os.makedirs(tls, exist_ok=True)
        path = lambda name: os.path.join(tls, name)
        with open(path("server.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=IP:127.0.0.1\n")
        key = ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"]
        for argv in (
                key + [path("ca.key.pem")],
                ["openssl", "req", "-x509", "-new", "-key", path("ca.key.pem"), "-subj", "/CN=Aarthik bench CA",
                 "-days", "2", "-sha256", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", path("ca.pem")],
                key + [path("server.key.pem")],
                ["openssl", "req", "-new", "-key", path("server.key.pem"), "-subj", "/CN=127.0.0.1",
                 "-out", path("server.csr")],
                ["openssl", "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey",
                 path("ca.key.pem"), "-set_serial", "1", "-days", "2", "-sha256", "-extfile",
                 path("server.ext"), "-out", path("server.pem")]):
            subprocess.run(argv, check=True, capture_output=True)
        self._tls_certs = {"ca": path("ca.pem"), "cert": path("server.pem"), "key": path("server.key.pem")}
        return self._tls_certs

    def start_gateway(self, name, upstream_url, extra=()):
        """An aarthik-gateway (defaults as in start_pair) in front of upstream_url. Its HTTP listener
        (web-hooks, /healthz) takes a free loopback port too, so that two gateways can run at once."""
        env = dict(os.environ, AARTHIK_API_KEY=API_KEY)
        gateway = Proc(name, [*self.gateway_placement(), os.path.join(self.bin, "aarthik-gateway"),
                              "--grpc-listen", "127.0.0.1:0",
                              "--http-listen", "127.0.0.1:0", "--upstream-url", upstream_url,
                              "--tenant-id", TENANT, "--application-id", APPLICATION, *extra],
                       self.out, env=env)
        self.procs.append(gateway)
        return gateway

    def tls_handshakes(self, sandbox, ca):
        """The TLS sandbox's handshake counters now (GET /_sandbox/counters over https, itself one
        handshake, which the caller's difference leaves out)."""
        context = ssl.create_default_context(cafile=ca)
        with urllib.request.urlopen(f"https://{sandbox.addr}/_sandbox/counters", timeout=30,
                                    context=context) as resp:
            return json.loads(resp.read())["tls_handshakes"]

    def scenario_t(self, run):
        """Scenario a's GetJourneyState (64 in flight) through a gateway on a TLS sandbox (--tls-cert)
        it verifies with --upstream-ca-file, and through a gateway on a plain sandbox, interleaved in
        this run."""
        certs = self.tls_certs()
        sandbox_argv = [os.path.join(self.bin, "aarthik-sandbox"), "--listen", "127.0.0.1:0",
                        "--api-key", API_KEY, "--control-plane", "--threads", "2"]
        sandboxes = {"plain": Proc("sandbox", sandbox_argv, self.out),
                     "tls": Proc("sandbox-tls", sandbox_argv + ["--tls-cert", certs["cert"],
                                                                "--tls-key", certs["key"]], self.out)}
        self.procs.extend(sandboxes.values())
        try:
            gateways = {"plain": self.start_gateway("gateway", f"http://{sandboxes['plain'].addr}"),
                        "tls": self.start_gateway("gateway-tls", f"https://{sandboxes['tls'].addr}",
                                                  extra=("--upstream-ca-file", certs["ca"]))}
            # A journey through each gateway, as scenario a does (CreateJourney, then 10 reads).
            journeys = {kind: self.grpc_load(gateway, "state", 1, channels=1, requests=10)["journey_id"]
                        for kind, gateway in gateways.items()}
            # Alternate which goes first so that neither always runs in the other's wake.
            order = ("plain", "tls") if run % 2 else ("tls", "plain")
            res = {"order": list(order)}
            for kind in order:
                gateway = gateways[kind]
                # Warm-up: the gateway opens its upstream keep-alive connections (one TLS handshake
                # each) while concurrency ramps to 64; the measured load below then runs on them.
                # Each upstream loop keeps a pool of its own, which grows to the most calls that
                # loop has had in flight at once: over TLS the warm-up goes on (up to 5 rounds)
                # until a round opens no connection.
                tls = kind == "tls"
                for rounds in range(1, (5 if tls else 1) + 1):
                    start = self.tls_handshakes(sandboxes["tls"], certs["ca"]) if tls else None
                    self.grpc_load(gateway, "state", 64, channels=4, journey=journeys[kind], warmup=0,
                                   duration=self.args.warmup)
                    # The second reading's own handshake aside, did this round open a connection?
                    if tls and self.tls_handshakes(sandboxes["tls"], certs["ca"])["completed"] - 1 == \
                            start["completed"]:
                        break
                if tls:
                    before = self.tls_handshakes(sandboxes["tls"], certs["ca"])
                result = self.grpc_load(gateway, "state", 64, channels=4, journey=journeys[kind],
                                        pids=(gateway, sandboxes[kind]))
                if tls:
                    after = self.tls_handshakes(sandboxes["tls"], certs["ca"])
                    # Every gateway handshake between the two readings (the load's own 2 s warm-up
                    # included; the second reading's own handshake, counted before it is answered,
                    # left out) over the RPCs of its measured window: an upper bound per RPC.
                    result["tls_handshakes"] = after["completed"] - before["completed"] - 1
                    result["tls_handshakes_failed"] = after["failed"] - before["failed"]
                    result["tls_handshakes_total"] = after["completed"]
                    result["tls_handshakes_per_rpc"] = result["tls_handshakes"] / max(1, result["completed"])
                    result["tls_warmup_rounds"] = rounds
                res[kind] = self.record("t", run, kind, result, order=list(order))
            return res
        finally:
            self.stop_all()

    def scenario_b(self, run):
        sandbox, gateway = self.start_pair()
        try:
            res = {}
            setup = self.grpc_load(gateway, "state", 1, channels=1, requests=10)
            journey = setup["journey_id"]
            token, direct_journey = self.direct_journey(sandbox, "BENCH_DIRECT")
            url = f"http://{sandbox.addr}/api/v1/headless/journeys/{direct_journey}/state"
            for c in (1, 64):
                res[f"grpc_c{c}"] = self.record("b", run, f"grpc_c{c}", self.grpc_load(
                    gateway, "state", c, channels=1 if c == 1 else 4, journey=journey,
                    pids=(gateway, sandbox)), concurrency=c)
                res[f"wrk_c{c}"] = self.record("b", run, f"wrk_c{c}", self.wrk(
                    sandbox, url, token, c, 1, self.args.duration, watch=sandbox), concurrency=c)
                # The gateway's own health RPC through the same load generator: what gRPC alone adds
                # over wrk, the floor under the proxied figures.
                res[f"health_c{c}"] = self.record("b", run, f"health_c{c}", self.grpc_load(
                    gateway, "health", c, channels=1 if c == 1 else 4, pids=(gateway,)),
                    concurrency=c)
            return res
        finally:
            self.stop_all()

    def scenario_c(self, run):
        sandbox, gateway = self.start_pair(gateway_extra=("--max-in-flight", "10000"))
        try:
            setup = self.grpc_load(gateway, "state", 1, channels=1, requests=10)
            journey = setup["journey_id"]
            self.http(sandbox.addr, "PUT", "/_sandbox/faults", {"latency_ms": {"fixed": 500}})
            result = self.grpc_load(gateway, "state", 5000, channels=16, journey=journey, warmup=3,
                                    duration=max(10, self.args.duration), pids=(gateway, sandbox))
            return self.record("c", run, "state_5000", result)
        finally:
            self.stop_all()

    def scenario_d(self, run):
        sandbox, gateway = self.start_pair()
        try:
            setup = self.grpc_load(gateway, "state", 1, channels=1, requests=10)
            journey = setup["journey_id"]
            before = self.http(sandbox.addr, "GET", "/_sandbox/counters")
            advanced = self.http(sandbox.addr, "POST", "/_sandbox/time/advance", {"seconds": 1860})
            result = self.grpc_load(gateway, "state", 1000, channels=4, requests=1000, journey=journey,
                                    pids=(gateway,))
            after = self.http(sandbox.addr, "GET", "/_sandbox/counters")
            result["refreshes"] = after["refreshes"] - before["refreshes"]
            result["sessions_minted"] = after["sessions_minted"] - before["sessions_minted"]
            result["advance"] = advanced
            result["upstream_401"] = sum(r["count"] for r in after["requests"] if r["status"] == 401) - sum(
                r["count"] for r in before["requests"] if r["status"] == 401)
            return self.record("d", run, "storm", result)
        finally:
            self.stop_all()

    def scenario_e(self, run):
        sandbox, gateway = self.start_pair()
        try:
            setup = self.grpc_load(gateway, "state", 1, channels=1, requests=10)
            journey = setup["journey_id"]
            res = {}
            for c in (1, 4, 16, 64, 256):
                res[c] = self.record("e", run, f"c{c}", self.grpc_load(
                    gateway, "state", c, channels=min(c, 4), journey=journey,
                    duration=self.args.sweep_duration, warmup=1, pids=(gateway, sandbox)), concurrency=c)
            return res
        finally:
            self.stop_all()


    # ---- profiles (run once, not part of the medians) ---------------------------------------------
    def profile_perf(self):
        """perf record (cpu-clock sampling: this VM has no hardware counters) on the gateway at c=64."""
        sandbox, gateway = self.start_pair()
        try:
            journey = self.grpc_load(gateway, "state", 1, channels=1, requests=10)["journey_id"]
            data = os.path.join(self.out, "perf-state.data")
            perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "2000", "-g", "-o", data,
                                     "-p", str(gateway.pid)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            tasks0 = self.tasks(gateway.pid)
            result = self.grpc_load(gateway, "state", 64, channels=4, journey=journey, warmup=0,
                                    duration=self.args.duration, pids=(gateway, sandbox))
            tasks1 = self.tasks(gateway.pid)
            perf.send_signal(2)  # SIGINT to perf's own PID: write the file and exit
            perf.wait()
            rpcs = max(1, result["completed"])
            threads = {}
            for tid, (comm, cpu, ctx) in tasks1.items():
                c0 = tasks0.get(tid, (comm, 0, 0))
                row = threads.setdefault(comm, {"threads": 0, "cpu_us_per_rpc": 0, "ctx_switches_per_rpc": 0})
                row["threads"] += 1
                row["cpu_us_per_rpc"] += (cpu - c0[1]) * 1e6 / rpcs
                row["ctx_switches_per_rpc"] += (ctx - c0[2]) / rpcs
            result["threads_breakdown"] = threads
            self.record("p", 0, "perf_load", result)
            reports = {}
            for name, argv in {
                "dso": ["--sort", "dso"],
                "sym": ["--sort", "dso,sym", "--no-children"],
                "children": ["--sort", "sym", "--children"],
            }.items():
                out = subprocess.run(["perf", "report", "-i", data, "--stdio", "--percent-limit", "0.7",
                                      "-g", "none", *argv], capture_output=True, text=True).stdout
                path = os.path.join(self.out, f"perf-report-{name}.txt")
                with open(path, "w") as f:
                    f.write(out)
                reports[name] = path
            return {"load": result, "reports": reports}
        finally:
            self.stop_all()

    def profile_callgrind(self, requests=3000):
        """callgrind on the gateway: instructions per RPC for health, GetJourneyState, GetFeatures."""
        sandbox = Proc("sandbox", [os.path.join(self.bin, "aarthik-sandbox"), "--listen", "127.0.0.1:0",
                                   "--api-key", API_KEY, "--control-plane", "--threads", "2"], self.out)
        self.procs.append(sandbox)
        env = dict(os.environ, AARTHIK_API_KEY=API_KEY)
        prefix = os.path.join(self.out, "callgrind.out")
        gateway = Proc("gateway", ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                                   f"--callgrind-out-file={prefix}.%p",
                                   os.path.join(self.bin, "aarthik-gateway"), "--grpc-listen", "127.0.0.1:0",
                                   "--upstream-url", f"http://{sandbox.addr}", "--tenant-id", TENANT,
                                   "--application-id", APPLICATION], self.out, env=env)
        self.procs.append(gateway)
        try:
            journey = self.grpc_load(gateway, "state", 1, channels=1, requests=20)["journey_id"]
            self.grpc_load(gateway, "features", 1, channels=1, requests=20)
            self.grpc_load(gateway, "health", 1, channels=1, requests=20)
            out = {}
            for rpc in ("health", "state", "features"):
                subprocess.run(["callgrind_control", "-z", str(gateway.pid)], check=True, capture_output=True)
                subprocess.run(["callgrind_control", "-i", "on", str(gateway.pid)], check=True, capture_output=True)
                result = self.grpc_load(gateway, rpc, 16, channels=4, requests=requests,
                                        journey=journey if rpc == "state" else None)
                subprocess.run(["callgrind_control", "-i", "off", str(gateway.pid)], check=True, capture_output=True)
                subprocess.run(["callgrind_control", "-d", rpc, str(gateway.pid)], check=True, capture_output=True)
                dumps = sorted(f for f in os.listdir(self.out) if f.startswith("callgrind.out.")
                               and not f.endswith(".txt"))
                dump = os.path.join(self.out, dumps[-1])
                final = os.path.join(self.out, f"callgrind-{rpc}.out")
                os.rename(dump, final)
                annotate = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=99", final],
                                          capture_output=True, text=True).stdout
                self_cost = subprocess.run(["callgrind_annotate", "--threshold=95", final],
                                           capture_output=True, text=True).stdout
                with open(final + ".inclusive.txt", "w") as f:
                    f.write(annotate)
                with open(final + ".self.txt", "w") as f:
                    f.write(self_cost)
                total = 0
                for line in annotate.splitlines():
                    if "PROGRAM TOTALS" in line and line.split()[0] != ".":
                        total = int(line.split()[0].replace(",", ""))
                out[rpc] = {"requests": requests, "ok": result["ok"], "ir_total": total,
                            "ir_per_rpc": total / requests, "file": final}
                self.record("p", 0, f"callgrind_{rpc}", out[rpc])
            return out
        finally:
            self.stop_all()


def med(values):
    return statistics.median(values) if values else None


def summarize(bench, results):
    s = {}
    a = results.get("a")
    if a:
        g = lambda rpc, f: med([r[rpc]["processes"]["gateway"]["cpu_us_per_rpc"] for r in a]) if f == "gw" else None
        s["a"] = {
            "health_gw_cpu_us": med([r["health"]["processes"]["gateway"]["cpu_us_per_rpc"] for r in a]),
            "state_gw_cpu_us": med([r["state"]["processes"]["gateway"]["cpu_us_per_rpc"] for r in a]),
            "features_gw_cpu_us": med([r["features"]["processes"]["gateway"]["cpu_us_per_rpc"] for r in a]),
            "state_sandbox_cpu_us": med([r["state"]["processes"]["sandbox"]["cpu_us_per_rpc"] for r in a]),
            "features_sandbox_cpu_us": med([r["features"]["processes"]["sandbox"]["cpu_us_per_rpc"] for r in a]),
            "wrk_sandbox_cpu_us": med([r["wrk"]["sandbox_cpu_us_per_req"] for r in a]),
            "health_rps": med([r["health"]["rps"] for r in a]),
            "state_rps": med([r["state"]["rps"] for r in a]),
            "features_rps": med([r["features"]["rps"] for r in a]),
            "wrk_rps": med([r["wrk"]["rps"] for r in a]),
            "state_failed": sum(r["state"]["failed"] for r in a),
            "features_failed": sum(r["features"]["failed"] for r in a),
            "health_failed": sum(r["health"]["failed"] for r in a),
            "wrk_non2xx": sum(r["wrk"]["non2xx"] + r["wrk"]["errors"] for r in a),
            "client_cpu_us_state": med([r["state"]["client_cpu_us_per_rpc"] for r in a]),
            "health_ctx_per_rpc": med([r["health"]["processes"]["gateway"].get("ctx_switches_per_rpc", 0) for r in a]),
            "state_ctx_per_rpc": med([r["state"]["processes"]["gateway"].get("ctx_switches_per_rpc", 0) for r in a]),
            "features_ctx_per_rpc": med([r["features"]["processes"]["gateway"].get("ctx_switches_per_rpc", 0) for r in a]),
            # Preemptions (CPU contention) among them, as opposed to waits.
            **{f"{k}_involuntary_ctx_per_rpc": med([r[k]["processes"]["gateway"].get(
                "involuntary_ctx_switches_per_rpc", 0) for r in a]) for k in ("health", "state", "features")},
            "runs": [{k: (v["processes"]["gateway"]["cpu_us_per_rpc"] if k != "wrk" else v["sandbox_cpu_us_per_req"])
                      for k, v in r.items()} for r in a],
        }
        x = s["a"]
        # The target's ratio: each run's proxied RPC over the same run's health, then the median.
        cpu = lambda r, rpc: r[rpc]["processes"]["gateway"]["cpu_us_per_rpc"]
        for rpc in ("state", "features"):
            x[f"{rpc}_ratio_to_health"] = med([cpu(r, rpc) / cpu(r, "health") for r in a])
        x["state_ratio_to_sandbox_cpu"] = x["state_gw_cpu_us"] / x["wrk_sandbox_cpu_us"]
        x["state_rps_ratio_to_wrk"] = x["state_rps"] / x["wrk_rps"]
        x["target_met"] = (x["state_ratio_to_health"] <= 2.5 and x["features_ratio_to_health"] <= 2.5
                           and x["state_ctx_per_rpc"] <= 1 and x["features_ctx_per_rpc"] <= 1)
    if results.get("g"):
        s["g"] = versus_go.summarize(results["g"], med)
    m = results.get("m")
    if m:
        s["m"] = {key: med([r[key] for r in m])
                  for key in ("baseline_mb", "rss_with_streams_mb", "peak_mb", "final_mb",
                              "final_over_baseline")}
        s["m"]["streams"] = m[-1]["streams"]
        s["m"]["big_requests"] = m[-1]["big_requests"]
    r = results.get("r")
    if r:
        s["r"] = {"state_gw_cpu_us": med([x["state"]["processes"]["gateway"]["cpu_us_per_rpc"] for x in r]),
                  "state_redis_cpu_us": med([x["state"]["processes"]["redis"]["cpu_us_per_rpc"] for x in r]),
                  "state_rps": med([x["state"]["rps"] for x in r]),
                  "state_failed": sum(x["state"]["failed"] for x in r),
                  "storm_refreshes": [x["storm"]["refreshes"] for x in r],
                  "storm_failed": [x["storm"]["failed"] for x in r],
                  "storm_sessions_minted": [x["storm"]["sessions_minted"] for x in r],
                  "storm_p99_us": med([x["storm"]["latency_us"]["p99"] for x in r])}
    t = results.get("t")
    if t:
        gw = lambda x, kind: x[kind]["processes"]["gateway" if kind == "plain" else "gateway-tls"]
        s["t"] = {
            "plain_gw_cpu_us": med([gw(x, "plain")["cpu_us_per_rpc"] for x in t]),
            "tls_gw_cpu_us": med([gw(x, "tls")["cpu_us_per_rpc"] for x in t]),
            # Median of the per-run ratios: each run's two figures share that run's outside load.
            "ratio": med([gw(x, "tls")["cpu_us_per_rpc"] / gw(x, "plain")["cpu_us_per_rpc"] for x in t]),
            "plain_ctx_per_rpc": med([gw(x, "plain")["ctx_switches_per_rpc"] for x in t]),
            "tls_ctx_per_rpc": med([gw(x, "tls")["ctx_switches_per_rpc"] for x in t]),
            "plain_rps": med([x["plain"]["rps"] for x in t]),
            "tls_rps": med([x["tls"]["rps"] for x in t]),
            "plain_sandbox_cpu_us": med([x["plain"]["processes"]["sandbox"]["cpu_us_per_rpc"] for x in t]),
            "tls_sandbox_cpu_us": med([x["tls"]["processes"]["sandbox-tls"]["cpu_us_per_rpc"] for x in t]),
            "handshakes_per_rpc_max": max(x["tls"]["tls_handshakes_per_rpc"] for x in t),
            "handshakes_runs": [x["tls"]["tls_handshakes"] for x in t],
            "handshakes_failed_runs": [x["tls"]["tls_handshakes_failed"] for x in t],
            "handshakes_total_runs": [x["tls"]["tls_handshakes_total"] for x in t],
            "warmup_rounds_runs": [x["tls"].get("tls_warmup_rounds") for x in t],
            "failed": {kind: sum(x[kind]["failed"] for x in t) for kind in ("plain", "tls")},
            "runs": [{"order": x["order"], "plain": gw(x, "plain")["cpu_us_per_rpc"],
                      "tls": gw(x, "tls")["cpu_us_per_rpc"],
                      "ratio": gw(x, "tls")["cpu_us_per_rpc"] / gw(x, "plain")["cpu_us_per_rpc"],
                      "handshakes": x["tls"]["tls_handshakes"]} for x in t],
        }
        x = s["t"]
        x["target_met"] = x["ratio"] <= 1.3 and all(h == 0 for h in x["handshakes_runs"])
    b = results.get("b")
    if b:
        s["b"] = {}
        for c in (1, 64):
            row = {}
            for p in ("p50", "p99"):
                gw = med([r[f"grpc_c{c}"]["latency_us"][p] for r in b])
                direct = med([r[f"wrk_c{c}"]["latency_us"][p] for r in b])
                added = med([r[f"grpc_c{c}"]["latency_us"][p] - r[f"wrk_c{c}"]["latency_us"][p] for r in b])
                row[p] = {"gateway_us": gw, "direct_us": direct, "added_us": added}
            row["gateway_rps"] = med([r[f"grpc_c{c}"]["rps"] for r in b])
            row["direct_rps"] = med([r[f"wrk_c{c}"]["rps"] for r in b])
            row["gateway_cpu_us"] = med([r[f"grpc_c{c}"]["processes"]["gateway"]["cpu_us_per_rpc"] for r in b])
            row["failed"] = sum(r[f"grpc_c{c}"]["failed"] for r in b)
            if all(f"health_c{c}" in r for r in b):
                # The same figures for the health RPC, which has no upstream: gRPC's share of them.
                row["health_floor"] = {
                    p: {"health_us": med([r[f"health_c{c}"]["latency_us"][p] for r in b]),
                        "added_us": med([r[f"health_c{c}"]["latency_us"][p] - r[f"wrk_c{c}"]["latency_us"][p]
                                         for r in b])} for p in ("p50", "p99")}
                row["health_floor"]["rps"] = med([r[f"health_c{c}"]["rps"] for r in b])
                row["health_floor"]["rps_ratio_to_direct"] = med(
                    [r[f"health_c{c}"]["rps"] / r[f"wrk_c{c}"]["rps"] for r in b])
            row["rps_ratio_to_direct"] = med([r[f"grpc_c{c}"]["rps"] / r[f"wrk_c{c}"]["rps"] for r in b])
            # The targets: 1 in flight adds p50 <= 100 us and p99 <= 300 us; 64 in flight serves
            # >= 0.25x direct wrk.
            row["target_met"] = (row["p50"]["added_us"] <= 100 and row["p99"]["added_us"] <= 300 if c == 1
                                 else row["rps_ratio_to_direct"] >= 0.25)
            s["b"][f"c{c}"] = row
    c = results.get("c")
    if c:
        s["c"] = {
            "rps": med([r["rps"] for r in c]),
            "rps_ratio_to_10000": med([r["rps"] for r in c]) / 10000.0,
            "p50_us": med([r["latency_us"]["p50"] for r in c]),
            "p99_us": med([r["latency_us"]["p99"] for r in c]),
            "threads_max": max(r["processes"]["gateway"]["threads_max"] for r in c),
            "vm_hwm_mb": max(r["processes"]["gateway"]["vm_hwm_kb"] for r in c) / 1024.0,
            "gw_cpu_us": med([r["processes"]["gateway"]["cpu_us_per_rpc"] for r in c]),
            "gw_cores": med([r["processes"]["gateway"]["cores"] for r in c]),
            "tcp_opens_per_rpc": med([r.get("tcp_active_opens", 0) / max(1, r["completed"]) for r in c]),
            "vm_hwm_mb_runs": [r["processes"]["gateway"]["vm_hwm_kb"] / 1024.0 for r in c],
            "threads_max_runs": [r["processes"]["gateway"]["threads_max"] for r in c],
            "codes": [r["codes"] for r in c],
            "runs_rps": [r["rps"] for r in c],
        }
        x = s["c"]
        x["target_met"] = x["rps_ratio_to_10000"] >= 0.9 and x["threads_max"] <= 16 and x["vm_hwm_mb"] <= 300
    d = results.get("d")
    if d:
        s["d"] = {"refreshes": [r["refreshes"] for r in d], "failed": [r["failed"] for r in d],
                  "sessions_minted": [r["sessions_minted"] for r in d],
                  "upstream_401": [r["upstream_401"] for r in d],
                  "p99_us": med([r["latency_us"]["p99"] for r in d]),
                  "target_met": all(r["refreshes"] == 1 and r["failed"] == 0 for r in d)}
    e = results.get("e")
    if e:
        s["e"] = {}
        for conc in (1, 4, 16, 64, 256):
            s["e"][conc] = {"rps": med([r[conc]["rps"] for r in e]),
                            "p50_us": med([r[conc]["latency_us"]["p50"] for r in e]),
                            "p99_us": med([r[conc]["latency_us"]["p99"] for r in e]),
                            "gw_cpu_us": med([r[conc]["processes"]["gateway"]["cpu_us_per_rpc"] for r in e]),
                            "failed": sum(r[conc]["failed"] for r in e)}
    s["loadavg_min"] = min(bench.load_samples) if bench.load_samples else None
    s["loadavg_max"] = max(bench.load_samples) if bench.load_samples else None
    s["loadavg_median"] = med(bench.load_samples)
    return s


def plot(bench, summary):
    e = summary.get("e")
    if not e:
        return None
    dat = os.path.join(bench.out, "concurrency.dat")
    with open(dat, "w") as f:
        f.write("# concurrency rps p99_ms p50_ms\n")
        for conc, row in e.items():
            f.write(f"{conc} {row['rps']:.1f} {row['p99_us'] / 1000:.3f} {row['p50_us'] / 1000:.3f}\n")
    png = os.path.join(ROOT, "docs", "gateway-concurrency.png")
    script = f"""
set terminal pngcairo size 900,540 font ",11"
set output "{png}"
set title "GetJourneyState through the gateway (closed loop, medians of {bench.args.runs} runs)"
set xlabel "RPCs in flight (concurrency)"
set logscale x 2
set xrange [0.8:320]
set xtics (1, 4, 16, 64, 256)
set ylabel "throughput (RPC/s)"
set y2label "latency (ms)"
set logscale y2 10
set ytics nomirror
set y2tics
set yrange [0:*]
set key top left
set grid
plot "{dat}" using 1:2 with linespoints lw 2 pt 7 title "throughput (RPC/s)", \\
     "{dat}" using 1:3 axes x1y2 with linespoints lw 2 pt 5 title "p99 latency (ms)", \\
     "{dat}" using 1:4 axes x1y2 with linespoints lw 1 pt 4 dt 2 title "p50 latency (ms)"
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except FileNotFoundError:
        try:
            subprocess.run(["gnuplot-nox"], input=script.replace("pngcairo", "png"), text=True, check=True)
        except FileNotFoundError:
            log("gnuplot not installed: no plot")
            return None
    return png


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "server"],
                           capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": model, "commit": commit,
            "server_tree_dirty": dirty.splitlines(), "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "loadavg_start": os.getloadavg()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build-bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--sweep-duration", type=float, default=5)
    parser.add_argument("--only", default="a,m,r,t,b,c,d,e,g,perf,callgrind")
    parser.add_argument("--gateway-cpus", default="",
                        help="run the gateway on these CPUs (taskset list) and everything else on the "
                             "others, as in a deployment where the platform and the callers are "
                             "elsewhere (default: all processes share all CPUs)")
    parser.add_argument("--gateway-sched", choices=("normal", "batch"), default="normal",
                        help="the gateway's scheduling policy (batch: SCHED_BATCH, no wake-up "
                             "preemption)")
    args = parser.parse_args()
    if args.gateway_cpus:
        gateway_cpus = set()
        for part in args.gateway_cpus.split(","):
            low, _, high = part.partition("-")
            gateway_cpus.update(range(int(low), int(high or low) + 1))
        others = os.sched_getaffinity(0) - gateway_cpus
        if not others:
            parser.error("--gateway-cpus leaves no CPU for the sandbox and the load generator")
        os.sched_setaffinity(0, others)  # children (sandbox, load generator, wrk) inherit it
    bench = Bench(args)
    info = machine()
    log(f"results in {bench.out}; {info}")
    results = {}
    names = args.only.split(",")
    profiles = {}
    try:
        for run in range(1, args.runs + 1):
            for name in names:
                if name in ("perf", "callgrind"):
                    continue
                log(f"run {run}/{args.runs}: scenario {name} (load average {os.getloadavg()[0]:.2f})")
                results.setdefault(name, []).append(getattr(bench, f"scenario_{name}")(run))
        for name in names:
            if name in ("perf", "callgrind"):
                log(f"profile {name} (load average {os.getloadavg()[0]:.2f})")
                profiles[name] = getattr(bench, f"profile_{name}")()
    finally:
        bench.stop_all()
    summary = summarize(bench, results)
    summary["profiles"] = profiles
    summary["machine"] = info
    summary["machine"]["loadavg_end"] = os.getloadavg()
    summary["plot"] = plot(bench, summary)
    summary["args"] = vars(args)
    with open(os.path.join(bench.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2, default=str)
    print(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
