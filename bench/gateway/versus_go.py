"""Scenario g of bench/gateway/run.py: the C++ gateway against the yardstick of issue 15, a generic
Go gateway (go_gateway/: grpc-go, net/http, encoding/json, mappings read from the same
protos), in front of one sandbox, measured by one load generator in the same run.

Per run: both gateways start against one sandbox; for health, GetJourneyState and GetFeatures the
load generator drives each gateway in turn (64 in flight over 4 channels, the order alternating
between runs so that drift favours neither), then GetJourneyState at 1 in flight for latency. Each
figure is the gateway's own CPU per RPC (utime + stime over the window), context switches per RPC,
RPC/s and peak RSS.

The Go program is built here with Debian's Go and golang-google-grpc-dev (GOPATH mode, nothing
downloaded), and its descriptor set with protoc, both into the results directory.

  bench/gateway/versus_go.py --bin build-rel/bin --check

is the yardstick's own check (perf.versus_go in the README's test command): it builds the Go
gateway, serves a few hundred of each RPC through both gateways and fails unless every reply is OK,
so that a proto change the Go gateway cannot map shows in CI rather than in the next benchmark.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from processes import API_KEY, Proc, go_env, start_pair  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOOGLEAPIS = "/usr/share/gocode/src/github.com/gogo/googleapis"  # as proto/CMakeLists.txt
RPCS = ("health", "state", "features")


def build(out_dir, bin_dir):
    """(the go_gateway binary, the API's FileDescriptorSet), built into out_dir."""
    binary = os.path.join(out_dir, "go_gateway")
    env = go_env(bin_dir)
    sources = sorted(glob.glob(os.path.join(HERE, "go_gateway", "*.go")))
    subprocess.run(["go", "build", "-o", binary, *sources], check=True, env=env, cwd=out_dir)
    descriptors = os.path.join(out_dir, "api.binpb")
    protos = sorted(os.path.relpath(os.path.join(d, f), os.path.join(ROOT, "proto"))
                    for d, _, files in os.walk(os.path.join(ROOT, "proto", "aarthik"))
                    for f in files if f.endswith(".proto"))
    subprocess.run(["protoc", "-I", os.path.join(ROOT, "proto"), "-I", GOOGLEAPIS, "-I", "/usr/include",
                    "--include_imports", f"--descriptor_set_out={descriptors}", *protos], check=True)
    return binary, descriptors


def figures(result, name):
    process = result["processes"][name]
    return {"cpu_us_per_rpc": process["cpu_us_per_rpc"], "ctx_per_rpc": process["ctx_switches_per_rpc"],
            "rps": result["rps"], "failed": result["failed"], "peak_rss_mb": process["vm_hwm_kb"] / 1024,
            "threads_max": process["threads_max"], "p50_us": result["latency_us"]["p50"],
            "p99_us": result["latency_us"]["p99"], "command": result["command"]}


def scenario(bench, run):
    """One run of scenario g; returns {rpc: {"cpp": figures, "go": figures}, "state_c1": {...}}."""
    if not getattr(bench, "go_gateway", None):
        bench.go_gateway = build(bench.out, bench.bin)
    binary, descriptors = bench.go_gateway
    sandbox, cpp = bench.start_pair()
    go = Proc("go-gateway", [*bench.gateway_placement(), binary, "-listen", "127.0.0.1:0",
                             "-upstream", f"http://{sandbox.addr}", "-descriptors", descriptors],
              bench.out, env=dict(os.environ, AARTHIK_API_KEY=API_KEY))
    bench.procs.append(go)
    try:
        gateways = [("cpp", cpp), ("go", go)]
        if run % 2 == 0:
            gateways.reverse()
        # CreateJourney through each gateway (it mints the borrower's session there), then reads.
        journeys = {label: bench.grpc_load(gw, "state", 1, channels=1, requests=10)["journey_id"]
                    for label, gw in gateways}
        res = {}
        for rpc in RPCS:
            res[rpc] = {}
            for label, gw in gateways:
                result = bench.grpc_load(gw, rpc, 64, channels=4, pids=(gw,), client_threads=2,
                                         journey=journeys[label] if rpc == "state" else None)
                res[rpc][label] = bench.record("g", run, f"{rpc}-{label}", figures(result, gw.name))
        res["state_c1"] = {}
        for label, gw in gateways:
            result = bench.grpc_load(gw, "state", 1, channels=1, pids=(gw,), journey=journeys[label])
            res["state_c1"][label] = bench.record("g", run, f"state_c1-{label}", figures(result, gw.name))
        return res
    finally:
        bench.stop_all()


def summarize(runs, med):
    """Medians over runs, and the C++ gateway's figures as a fraction of the Go gateway's (per run,
    then the median: each run's pair shares that run's conditions)."""
    summary = {}
    for key in (*RPCS, "state_c1"):
        pairs = [r[key] for r in runs]
        row = {f"{label}_{figure}": med([p[label][figure] for p in pairs])
               for label in ("cpp", "go")
               for figure in ("cpu_us_per_rpc", "ctx_per_rpc", "rps", "peak_rss_mb", "p50_us", "p99_us")}
        row["cpu_cpp_over_go"] = med([p["cpp"]["cpu_us_per_rpc"] / p["go"]["cpu_us_per_rpc"] for p in pairs])
        row["rps_cpp_over_go"] = med([p["cpp"]["rps"] / p["go"]["rps"] for p in pairs])
        row["failed"] = sum(p[label]["failed"] for p in pairs for label in ("cpp", "go"))
        summary[key] = row
    return summary


def check(bin_dir, requests):
    """Serves `requests` of each RPC through both gateways; returns (every reply OK, codes by RPC)."""
    procs = []
    with tempfile.TemporaryDirectory(prefix="versus-go-") as work:
        binary, descriptors = build(work, bin_dir)
        try:
            sandbox, cpp, _ = start_pair(bin_dir, work, procs, sandbox_threads=2)
            go = Proc("go-gateway", [binary, "-listen", "127.0.0.1:0", "-upstream", f"http://{sandbox.addr}",
                                     "-descriptors", descriptors], work, env=dict(os.environ, AARTHIK_API_KEY=API_KEY))
            procs.append(go)
            codes, ok = {}, True
            for label, gateway in (("cpp", cpp), ("go", go)):
                for rpc in RPCS:
                    argv = [os.path.join(bin_dir, "aarthik-grpc-load"), f"--target={gateway.addr}",
                            f"--rpc={rpc}", "--borrower=BENCH_1", "--concurrency=8", "--channels=2",
                            f"--requests={requests}"]
                    load = subprocess.run(argv, capture_output=True, text=True)
                    if load.returncode != 0:  # e.g. the journey could not be created
                        ok, codes[f"{rpc}-{label}"] = False, {"load generator": load.stderr.strip()[-300:]}
                        continue
                    result = json.loads(load.stdout)
                    ok = ok and result["ok"] == result["completed"] == requests
                    codes[f"{rpc}-{label}"] = result["codes"]
            return ok, codes
        finally:
            for proc in reversed(procs):
                proc.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--check", action="store_true", help="exit 1 unless every reply is OK")
    args = parser.parse_args()
    ok, codes = check(args.bin, args.requests)
    print(json.dumps({"all_ok": ok, "codes": codes}))
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
