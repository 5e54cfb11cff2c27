#!/usr/bin/python3
"""The hot path's regression guard: user-space instructions per proxied RPC, as a ratio to the
gateway's own health RPC, counted by callgrind (exact and repeatable, unlike timings on a shared
machine) and checked against the budget in instruction_budget.json.

  bench/gateway/instruction_budget.py --bin build-rel/bin [--requests 300] [--record] [--keep DIR]

Starts aarthik-sandbox and, under `valgrind --tool=callgrind --instr-atstart=no`, aarthik-gateway on
free loopback ports; warms both up; then for health, GetJourneyState (borrower session) and
GetFeatures (API key) switches instrumentation on for exactly --requests RPCs (aarthik-grpc-load,
8 in flight) and reads the dump's total. Prints one JSON object; exits 1 when a proxied RPC's ratio
is over its budget. --record writes the measured ratios plus 10 % as the new budget.

Counts differ between builds and library versions, which is why the budget is a ratio to the
health RPC measured in the same run (gRPC's own share moves both alike).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from processes import API_KEY, APPLICATION, TENANT, Proc  # noqa: E402

BUDGET_FILE = os.path.join(HERE, "instruction_budget.json")
PROXIED = ("state", "features")
IN_FLIGHT = 8


def total_instructions(dump_path):
    """The dump's instruction total (its `totals:` line; `summary:` in older valgrinds)."""
    found = {}
    with open(dump_path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                found[line.split(":")[0]] = int(line.split()[1])
    if not found:
        raise RuntimeError(f"no totals in {dump_path}")
    return found.get("totals", found.get("summary"))


def load(bin_dir, gateway, rpc, requests, concurrency, journey=None, metadata=()):
    argv = [os.path.join(bin_dir, "aarthik-grpc-load"), f"--target={gateway.addr}", f"--rpc={rpc}",
            "--borrower=BUDGET_1", f"--concurrency={concurrency}", "--channels=2",
            f"--requests={requests}", "--deadline_ms=60000"]
    argv += [f"--metadata={m}" for m in metadata]
    if journey:
        argv.append(f"--journey={journey}")
    out = json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)
    failed = {code: n for code, n in out.get("codes", {}).items() if code != "OK"}
    if failed:
        raise RuntimeError(f"{rpc}: failed RPCs {failed}")
    return out


def measure(bin_dir, requests, workdir, keep_dir=None, gateway_args=(), metadata=(), tls_dir=None):
    """Instructions per RPC by kind. `gateway_args` go to the gateway's command line and `metadata`
    ("KEY:VALUE") with every call (bench/gateway/authz_cost.py measures authorization with them).
    `tls_dir` (ca.pem, server.pem, server.key.pem, as run.py's scenario t makes them): the sandbox
    serves TLS and the gateway verifies it."""
    procs = []
    try:
        sandbox_tls, scheme = [], "http"
        if tls_dir:
            sandbox_tls = ["--tls-cert", os.path.join(tls_dir, "server.pem"),
                           "--tls-key", os.path.join(tls_dir, "server.key.pem")]
            gateway_args = [*gateway_args, "--upstream-ca-file", os.path.join(tls_dir, "ca.pem")]
            scheme = "https"
        sandbox = Proc("sandbox", [os.path.join(bin_dir, "aarthik-sandbox"), "--listen", "127.0.0.1:0",
                                   "--api-key", API_KEY, "--threads", "1", *sandbox_tls], workdir)
        procs.append(sandbox)
        prefix = os.path.join(workdir, "callgrind.out")
        gateway = Proc("gateway", ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                                   f"--callgrind-out-file={prefix}.%p",
                                   os.path.join(bin_dir, "aarthik-gateway"), "--grpc-listen",
                                   "127.0.0.1:0", "--upstream-url", f"{scheme}://{sandbox.addr}",
                                   "--tenant-id", TENANT, "--application-id", APPLICATION,
                                   "--upstream-threads", "2", *gateway_args],
                       workdir, env=dict(os.environ, AARTHIK_API_KEY=API_KEY))
        procs.append(gateway)
        # Warm-up at the measured concurrency: the upstream connections the window needs are open
        # before it (over TLS a handshake is ~2 M instructions, more than 10 calls).
        journey = load(bin_dir, gateway, "state", 80, IN_FLIGHT, metadata=metadata)["journey_id"]
        load(bin_dir, gateway, "features", 80, IN_FLIGHT, metadata=metadata)
        load(bin_dir, gateway, "health", 80, IN_FLIGHT, metadata=metadata)
        per_rpc = {}
        for rpc in ("health",) + PROXIED:
            control = ["callgrind_control"]
            subprocess.run(control + ["-z", str(gateway.pid)], check=True, capture_output=True)
            subprocess.run(control + ["-i", "on", str(gateway.pid)], check=True, capture_output=True)
            load(bin_dir, gateway, rpc, requests, IN_FLIGHT, journey if rpc == "state" else None,
                 metadata)
            subprocess.run(control + ["-i", "off", str(gateway.pid)], check=True, capture_output=True)
            subprocess.run(control + ["-d", rpc, str(gateway.pid)], check=True, capture_output=True)
            dumps = sorted((f for f in os.listdir(workdir) if f.startswith("callgrind.out.")),
                           key=lambda f: os.path.getmtime(os.path.join(workdir, f)))
            per_rpc[rpc] = total_instructions(os.path.join(workdir, dumps[-1])) / requests
            if keep_dir:
                os.makedirs(keep_dir, exist_ok=True)
                shutil.move(os.path.join(workdir, dumps[-1]), os.path.join(keep_dir, f"callgrind.{rpc}"))
            else:
                os.remove(os.path.join(workdir, dumps[-1]))
        return per_rpc
    finally:
        for proc in reversed(procs):
            proc.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True, help="directory holding the three binaries")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--record", action="store_true", help="write measured ratios + 10 %% as the budget")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep each RPC kind's dump as DIR/callgrind.<rpc> for callgrind_annotate")
    parser.add_argument("--tls", metavar="DIR",
                        help="measure against a TLS sandbox with the certificates in DIR (ca.pem, "
                             "server.pem, server.key.pem: run.py's results/<stamp>/tls); reports only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="instruction-budget-") as workdir:
        per_rpc = measure(os.path.abspath(args.bin), args.requests, workdir,
                          os.path.abspath(args.keep) if args.keep else None,
                          tls_dir=os.path.abspath(args.tls) if args.tls else None)
    ratios = {rpc: per_rpc[rpc] / per_rpc["health"] for rpc in PROXIED}
    report = {"instructions_per_rpc": {k: round(v) for k, v in per_rpc.items()},
              "ratio_to_health": {k: round(v, 3) for k, v in ratios.items()}}
    if args.tls:  # the budget is for plain HTTP; over TLS the figures are for the record only
        print(json.dumps(report))
        return 0
    if args.record:
        budget = {rpc: round(ratio * 1.1, 2) for rpc, ratio in ratios.items()}
        with open(BUDGET_FILE, "w") as f:
            json.dump(budget, f, indent=2)
            f.write("\n")
        report["recorded_budget"] = budget
        print(json.dumps(report))
        return 0
    with open(BUDGET_FILE) as f:
        budget = json.load(f)
    report["budget"] = budget
    over = {rpc: ratios[rpc] for rpc in PROXIED if ratios[rpc] > budget[rpc]}
    report["over_budget"] = {k: round(v, 3) for k, v in over.items()}
    print(json.dumps(report))
    if over:
        print("instruction budget exceeded: a proxied RPC now costs more instructions per health RPC "
              "than bench/gateway/instruction_budget.json allows; profile it (docs/benchmarks.md, "
              "'callgrind') before raising the budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
