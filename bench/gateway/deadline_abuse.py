#!/usr/bin/python3
"""Issue 19, item 4: calls whose deadline expires while the gateway works on them end as the
caller's deadline, never as INTERNAL or UNAVAILABLE (which blame the gateway or the platform).

  bench/gateway/deadline_abuse.py --bin build-rel/bin [--requests 20000] [--deadlines 1,2,3,5]
                                  [--check]

Starts aarthik-sandbox and two aarthik-gateways in front of it on free loopback ports, one on each
upstream transport (--upstream-protocol http1, the default, and http2: libcurl's whole stack). Then
for each deadline (ms) and each RPC (GetJourneyState: borrower session; GetFeatures: API key), sends
--requests calls at 1,000 in flight over 4 connections from each client: to the http1 gateway,
aarthik-grpc-load's async and callback APIs, deadline_go/ (a grpc-go client built here with Debian's
Go) and deadline_py.py (Python grpcio's asyncio and futures APIs; grpc-go and grpcio's asyncio at
100 in flight, grpcio with half the requests); to the http2 gateway, aarthik-grpc-load's two APIs.
Most calls expire on the client, some at a gateway while it connects upstream, waits or writes the
answer. Prints one JSON object: the status codes the clients saw and the codes each gateway counted
(grpc_server_handled_total on its /metrics, by grpc_code). --check exits 1 unless the clients saw
only OK and DEADLINE_EXCEEDED and the gateways counted only OK, DeadlineExceeded and Canceled.

By hand, deadline_node.js (grpc-js) and DeadlineJava.java (grpc-java) drive the same calls from
the TypeScript and Java stubs' runtimes (their headers say how).
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from processes import go_env, start_gateway, start_pair  # noqa: E402

CLIENT_CODES = {"OK", "DEADLINE_EXCEEDED"}
GATEWAY_CODES = {"OK", "DeadlineExceeded", "Canceled"}  # the metric's spelling (grpc-go's)
HANDLED = re.compile(r'^grpc_server_handled_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$')


def gateway_codes(http_addr):
    """grpc_server_handled_total summed by grpc_code over the proxied methods."""
    with urllib.request.urlopen(f"http://{http_addr}/metrics", timeout=10) as response:
        text = response.read().decode()
    codes = collections.Counter()
    for line in text.splitlines():
        match = HANDLED.match(line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
        if labels.get("grpc_method") in ("GetJourneyState", "GetFeatures"):
            codes[labels["grpc_code"]] += int(float(match.group("value")))
    return codes


def build_go_client(workdir, bin_dir):
    """deadline_go/main.go built against Debian's grpc-go (GOPATH mode, nothing downloaded)."""
    out = os.path.join(workdir, "deadline_go")
    subprocess.run(["go", "build", "-o", out, os.path.join(HERE, "deadline_go", "main.go")],
                   env=go_env(bin_dir), check=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--deadlines", default="1,2,3,5")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    logs = tempfile.mkdtemp(prefix="deadline-abuse-")
    procs = []
    try:
        go_client = build_go_client(logs, args.bin)
        sandbox, gateway, http_addr = start_pair(args.bin, logs, procs, sandbox_threads=2)
        gateway_http2, http2_addr = start_gateway(args.bin, logs, procs, sandbox,
                                                  ("--upstream-protocol", "http2"), name="gateway-http2")
        load = [os.path.join(args.bin, "aarthik-grpc-load"), "--borrower=ABUSE_1"]
        setup = subprocess.run(load + [f"--target={gateway.addr}", "--rpc=state", "--concurrency=1",
                                       "--channels=1", "--requests=10"],
                               capture_output=True, text=True, check=True)
        journey = json.loads(setup.stdout)["journey_id"]
        http_addrs = {"http1": http_addr, "http2": http2_addr}
        before = {name: gateway_codes(addr) for name, addr in http_addrs.items()}
        client = collections.Counter()
        runs = []
        for deadline in (int(d) for d in args.deadlines.split(",")):
            for rpc in ("state", "features"):
                for transport, target in (("http1", gateway.addr), ("http2", gateway_http2.addr)):
                    for api in ("async", "callback"):
                        out = subprocess.run(
                            load + [f"--target={target}", f"--rpc={rpc}", f"--journey={journey}",
                                    "--concurrency=1000", "--channels=4", f"--requests={args.requests}",
                                    f"--deadline_ms={deadline}", f"--client_api={api}", "--client_threads=2"],
                            capture_output=True, text=True, check=True)
                        codes = json.loads(out.stdout)["codes"]
                        client.update(codes)
                        runs.append({"deadline_ms": deadline, "rpc": rpc, "gateway": transport,
                                     "client_api": api, "codes": codes})
                # 100 in flight: at 1,000 grpc-go's own goroutines outlast the deadlines, and
                # nearly every call expires before it is sent.
                out = subprocess.run(
                    [go_client, f"-target={gateway.addr}", f"-rpc={rpc}", "-borrower=ABUSE_1",
                     f"-journey={journey}", "-concurrency=100", "-connections=4",
                     f"-requests={args.requests}", f"-deadline={deadline}ms"],
                    capture_output=True, text=True, check=True)
                result = json.loads(out.stdout)
                client.update(result["codes"])
                runs.append({"deadline_ms": deadline, "rpc": rpc, "gateway": "http1", "client_api": "grpc-go",
                             "codes": result["codes"], "messages": result["messages"]})
                # grpcio: asyncio at 100 in flight (at 1,000 its event loop, like grpc-go's
                # goroutines, outlasts the deadlines), futures at 1,000; half the requests each.
                for api, concurrency in (("aio", 100), ("sync", 1000)):
                    out = subprocess.run(
                        [sys.executable, os.path.join(HERE, "deadline_py.py"), f"--target={gateway.addr}",
                         f"--rpc={rpc}", "--borrower=ABUSE_1", f"--journey={journey}",
                         f"--requests={args.requests // 2}", f"--deadline-ms={deadline}", f"--api={api}",
                         f"--concurrency={concurrency}"],
                        capture_output=True, text=True, check=True)
                    result = json.loads(out.stdout)
                    client.update(result["codes"])
                    runs.append({"deadline_ms": deadline, "rpc": rpc, "gateway": "http1",
                                 "client_api": f"grpcio-{api}",
                                 "codes": result["codes"], "messages": result["messages"]})
        gateway_side = {}
        for name, addr in http_addrs.items():
            after = gateway_codes(addr)
            gateway_side[name] = {code: after[code] - before[name][code]
                                  for code in after if after[code] != before[name][code]}
        bad = {"client": sorted(set(client) - CLIENT_CODES),
               "gateway": sorted({code for codes in gateway_side.values() for code in codes} - GATEWAY_CODES)}
        print(json.dumps({"calls": sum(client.values()), "client_codes": dict(client),
                          "gateway_codes": gateway_side, "unexpected": bad, "runs": runs}))
        if args.check and (bad["client"] or bad["gateway"]):
            sys.exit(1)
    finally:
        for proc in reversed(procs):
            proc.stop()


if __name__ == "__main__":
    main()
