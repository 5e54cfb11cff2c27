#!/usr/bin/python3
"""Where a gateway RPC's CPU and context switches go, thread by thread.

  bench/gateway/per_thread.py --bin build-rel/bin --rpc state [--seconds 6] [-- GATEWAY_ARGS...]

Starts aarthik-sandbox and aarthik-gateway on free loopback ports, warms up for 2 s, then reads every
gateway thread's user and system time and voluntary / involuntary context switches
(/proc/<pid>/task/*/{stat,status}) around --seconds of aarthik-grpc-load at --concurrency in flight
(64) over --channels (4). Prints the load's summary and, per thread name (gRPC names its threads; ours keep the
process name), CPU microseconds and switches per completed RPC. Environment variables are passed to
the gateway, which is how an experiment behind a temporary switch is compared with the default.
--node-cpus N runs the gateway as on a node of N CPUs (sysconf says N; its affinity mask stays this
machine's), with the build tree's tests/support/libaarthik_fake_cpu_count.so preloaded.
"""
import argparse
import collections
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from processes import API_KEY, APPLICATION, TENANT, Proc  # noqa: E402

TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def thread_counters(pid):
    """{tid: (name, user_ticks, system_ticks, voluntary, involuntary)} of a live process."""
    counters = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                status = dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        counters[tid] = (stat[stat.index("(") + 1:stat.rindex(")")], int(fields[11]), int(fields[12]),
                         int(status["voluntary_ctxt_switches"]), int(status["nonvoluntary_ctxt_switches"]))
    return counters


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--rpc", default="state", choices=("health", "state", "features"))
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--client-api", default="async", choices=("async", "callback"),
                        help="the load generator's gRPC API (aarthik-grpc-load --client_api)")
    parser.add_argument("--client-threads", type=int, default=2,
                        help="the async load generator's threads (aarthik-grpc-load --client_threads)")
    parser.add_argument("--node-cpus", type=int, default=0,
                        help="the CPU count the gateway's sysconf reports (0: the real one)")
    parser.add_argument("gateway_args", nargs="*")
    args = parser.parse_args()
    logs = os.path.join(HERE, "results", "per_thread")
    os.makedirs(logs, exist_ok=True)
    sandbox = Proc("sandbox", [os.path.join(args.bin, "aarthik-sandbox"), "--listen", "127.0.0.1:0",
                               "--api-key", API_KEY, "--control-plane", "--threads", "2"], logs)
    gateway_env = dict(os.environ, AARTHIK_API_KEY=API_KEY)
    if args.node_cpus:
        fake = os.path.join(args.bin, "..", "tests", "support", "libaarthik_fake_cpu_count.so")
        if not os.path.exists(fake):
            sys.exit(f"--node-cpus needs {fake} (cmake --build <tree> --target aarthik_fake_cpu_count)")
        gateway_env.update(LD_PRELOAD=os.path.abspath(fake), AARTHIK_FAKE_CPUS=str(args.node_cpus))
    gateway = None
    try:
        gateway = Proc("gateway", [os.path.join(args.bin, "aarthik-gateway"), "--grpc-listen", "127.0.0.1:0",
                                   "--upstream-url", f"http://{sandbox.addr}", "--tenant-id", TENANT,
                                   "--application-id", APPLICATION, *args.gateway_args], logs,
                       env=gateway_env)
        load = [os.path.join(args.bin, "aarthik-grpc-load"), f"--target={gateway.addr}", f"--rpc={args.rpc}",
                "--borrower=BENCH_1", f"--concurrency={args.concurrency}", f"--channels={args.channels}", "--deadline_ms=30000",
                f"--client_api={args.client_api}", f"--client_threads={args.client_threads}"]
        if args.rpc == "state":
            setup = subprocess.run(load[:2] + ["--rpc=state", "--borrower=BENCH_1", "--concurrency=1",
                                               "--channels=1", "--requests=10"],
                                   capture_output=True, text=True, check=True)
            load.append(f"--journey={json.loads(setup.stdout)['journey_id']}")
        subprocess.run(load + ["--duration=2", "--warmup=0"], capture_output=True, check=True)
        before = thread_counters(gateway.pid)
        out = subprocess.run(load + [f"--duration={args.seconds}", "--warmup=0"],
                             capture_output=True, text=True, check=True)
        after = thread_counters(gateway.pid)
    finally:
        if gateway:
            gateway.stop()
        sandbox.stop()
    result = json.loads(out.stdout)
    rpcs = result["ok"]
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, (list, dict))}))
    by_name = collections.defaultdict(lambda: [0, 0, 0, 0, 0])
    for tid, (name, user, system, voluntary, involuntary) in after.items():
        base = before.get(tid, (name, 0, 0, 0, 0))
        row = by_name[name]
        row[0] += 1
        for i, value in enumerate((user, system, voluntary, involuntary), start=1):
            row[i] += value - base[i]
    total = [0, 0, 0, 0]
    print(f"{'thread':18s} {'n':>2s} {'user us':>8s} {'sys us':>8s} {'sleeps':>7s} {'preempt':>7s}  (per RPC)")
    for name, (count, user, system, voluntary, involuntary) in sorted(by_name.items()):
        total = [total[0] + user, total[1] + system, total[2] + voluntary, total[3] + involuntary]
        if user + system + voluntary + involuntary == 0:
            continue
        print(f"{name:18s} {count:2d} {user * TICK_US / rpcs:8.2f} {system * TICK_US / rpcs:8.2f} "
              f"{voluntary / rpcs:7.3f} {involuntary / rpcs:7.3f}")
    print(f"{'TOTAL':18s} {'':2s} {total[0] * TICK_US / rpcs:8.2f} {total[1] * TICK_US / rpcs:8.2f} "
          f"{total[2] / rpcs:7.3f} {total[3] / rpcs:7.3f}  ({rpcs} RPCs, {len(after)} threads)")


if __name__ == "__main__":
    main()
