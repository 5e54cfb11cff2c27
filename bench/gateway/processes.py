"""What the gateway benchmarks share: the bench credentials, a child process that announces its
address (`listening HOST:PORT` as its first stdout line, read from the pipe: no sleeping), a sandbox
and a gateway in front of it, a free port, a signed journey.snapshot web-hook, a scrape of the
gateway's /metrics, and the environment that builds the Go programs."""
import hashlib
import hmac
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request

API_KEY = "sk_test_bench"
TENANT = "8b6a3eb1-ffcb-4094-9f7d-2802c2cb5a61"
APPLICATION = "fbb1fd74-c502-4419-83f3-82a2a019fc9a"


def free_port():
    """A loopback port free right now (for flags that need one before the process starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def go_env(bin_dir):
    """The environment for building bench/gateway's Go programs with Debian's Go: GOPATH mode on
    Debian's packaged sources, nothing downloaded, and one build cache beside the C++ binaries, so
    that the programs share it and a rebuild takes seconds instead of compiling grpc-go again."""
    return dict(os.environ, GO111MODULE="off", GOPROXY="off", GOFLAGS="", GOPATH="/usr/share/gocode",
                GOCACHE=os.path.join(os.path.dirname(os.path.abspath(bin_dir)), "go-cache"))


def signed_snapshot(secret, borrower, sequence, journey_id):
    """A journey.snapshot delivery for POST /webhooks/aarthik: (body, headers), signed with `secret`
    as the platform signs (HMAC-SHA256 of "timestamp.body"); `sequence` orders a borrower's ones."""
    event_id = f"evt_{borrower}_{sequence}"
    body = json.dumps({
        "schema_version": "1.0.0", "event_type": "journey.snapshot", "event_id": event_id,
        "event_at": "2026-03-05T16:48:20.000Z", "snapshot_generated_at": "2026-03-05T16:48:20.000Z",
        "sequence": sequence, "issuer": {"source": "credit-api", "trigger": "journey.offer.updated"},
        "tenant_id": TENANT, "application_id": APPLICATION,
        "borrower": {"borrowerExternalID": borrower, "journeys": [
            {"journeyID": journey_id, "status": "OFFERS_PENDING", "nextAction": "WAIT"}]}}).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-AL-Event-ID": event_id,
                  "X-AL-Tenant-ID": TENANT, "X-AL-Application-ID": APPLICATION,
                  "X-AL-Webhook-Timestamp": timestamp, "X-AL-Webhook-Signature": signature}


def scrape(http_addr, names):
    """The values of the unlabelled series `names` on the gateway's /metrics (absent ones: None)."""
    with urllib.request.urlopen(f"http://{http_addr}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = dict.fromkeys(names)
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in values:
            values[name] = float(value)
    return values


class Proc:
    """A child that prints `listening HOST:PORT` first; the rest of stdout/stderr goes to a log."""

    def __init__(self, name, argv, logdir, env=None, expect_listen=True):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(logdir, f"{name}-{int(time.time() * 1000)}.log")
        self.log_file = open(self.log_path, "wb")
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log_file,
                                  env=env, start_new_session=True)
        self.pid = self.p.pid
        self.addr = None
        if expect_listen:
            line = self.p.stdout.readline().decode().strip()  # blocks until the first line
            if not line.startswith("listening "):
                self.stop()
                raise RuntimeError(f"{name}: unexpected first line {line!r}; see {self.log_path}")
            self.addr = line.split()[1]
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for chunk in iter(lambda: self.p.stdout.read(4096), b""):
            self.log_file.write(chunk)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()  # SIGTERM to this PID only
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def start_gateway(bin_dir, logdir, procs, sandbox, gateway_args=(), name="gateway"):
    """An aarthik-gateway in front of `sandbox` (`gateway_args` appended) on free loopback ports,
    its HTTP port included, appended to `procs` as soon as it runs. Returns (gateway, HTTP address)."""
    http_addr = f"127.0.0.1:{free_port()}"
    gateway = Proc(name, [os.path.join(bin_dir, "aarthik-gateway"), "--grpc-listen", "127.0.0.1:0",
                          "--http-listen", http_addr, "--upstream-url", f"http://{sandbox.addr}",
                          "--tenant-id", TENANT, "--application-id", APPLICATION, *gateway_args],
                   logdir, env=dict(os.environ, AARTHIK_API_KEY=API_KEY))
    procs.append(gateway)
    return gateway, http_addr


def start_pair(bin_dir, logdir, procs, sandbox_threads=1, gateway_args=()):
    """aarthik-sandbox and an aarthik-gateway in front of it (start_gateway); each is appended to
    `procs` as soon as it runs, for the caller to stop. Returns (sandbox, gateway, the gateway's HTTP
    address)."""
    sandbox = Proc("sandbox", [os.path.join(bin_dir, "aarthik-sandbox"), "--listen", "127.0.0.1:0",
                               "--api-key", API_KEY, "--threads", str(sandbox_threads)], logdir)
    procs.append(sandbox)
    gateway, http_addr = start_gateway(bin_dir, logdir, procs, sandbox, gateway_args)
    return sandbox, gateway, http_addr
