#!/usr/bin/python3
"""Renders the Markdown tables of docs/benchmarks.md ("Gateway") from a run.py result directory.

  bench/gateway/report.py bench/gateway/results/<stamp>     # prints Markdown on stdout
"""
import collections
import json
import os
import re
import subprocess
import sys


def yes(flag):
    return "**met**" if flag else "**not met**"


def us(x):
    return f"{x:,.0f} µs" if x >= 10 else f"{x:.1f} µs"


def ms(x):
    return f"{x / 1000:,.1f} ms"


def callgrind_by_object(path, rpcs):
    """Self instructions per RPC grouped by shared object (gateway code split into own / nlohmann)."""
    out = subprocess.run(["callgrind_annotate", "--threshold=100", path], capture_output=True,
                         text=True).stdout
    agg = collections.Counter()
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)\[(.*)\]\s*$", line)
        if not m:
            continue
        obj = m.group(3).split("/")[-1].split(".so")[0]
        if obj == "aarthik-gateway":
            obj = "aarthik-gateway (nlohmann::json)" if "nlohmann" in m.group(2) else "aarthik-gateway (own code)"
        agg[obj] += int(m.group(1).replace(",", ""))
    return {k: v / rpcs for k, v in agg.items()}


def main():
    d = sys.argv[1]
    s = json.load(open(os.path.join(d, "summary.json")))
    m = s["machine"]
    print(f"Measured {m['date']} on commit `{m['commit']}`; load average during the runs "
          f"{s['loadavg_min']:.1f}–{s['loadavg_max']:.1f} (median {s['loadavg_median']:.1f}) on "
          f"{m['nproc']} cores.\n")
    a = s.get("a")
    if a:
        print("### a. Gateway CPU per RPC at saturation (64 in flight, 4 channels)\n")
        print("| RPC | gateway CPU / RPC | × health baseline | throughput | gateway ctx switches / RPC |")
        print("|---|---|---|---|---|")
        print(f"| `grpc.health.v1.Health/Check` (baseline 1: no upstream call) | {us(a['health_gw_cpu_us'])} | 1 | "
              f"{a['health_rps']:,.0f}/s | {a['health_ctx_per_rpc']:.2f} |")
        print(f"| `JourneysService/GetJourneyState` (borrower session) | {us(a['state_gw_cpu_us'])} | "
              f"{a['state_ratio_to_health']:.2f} | {a['state_rps']:,.0f}/s | {a['state_ctx_per_rpc']:.2f} |")
        print(f"| `HostedService/GetFeatures` (API key) | {us(a['features_gw_cpu_us'])} | "
              f"{a['features_ratio_to_health']:.2f} | {a['features_rps']:,.0f}/s | {a['features_ctx_per_rpc']:.2f} |")
        print(f"| baseline 2: `wrk -c64` straight at the sandbox's `/state` (sandbox CPU / request) | "
              f"{us(a['wrk_sandbox_cpu_us'])} (sandbox) | | {a['wrk_rps']:,.0f}/s | |")
        print()
        print(f"Failed RPCs: health {a['health_failed']}, state {a['state_failed']}, features "
              f"{a['features_failed']}; wrk errors/non-2xx {a['wrk_non2xx']}. Gateway CPU per GetJourneyState "
              f"= {a['state_ratio_to_sandbox_cpu']:.1f}× the sandbox's own CPU per direct request; throughput "
              f"through the gateway = {100 * a['state_rps_ratio_to_wrk']:.0f} % of wrk direct. The load "
              f"generator itself spent {us(a['client_cpu_us_state'])} per GetJourneyState. "
              f"Per run (gateway µs/RPC; wrk: sandbox µs/request): {a['runs']}. Target (issue 15: each ≤ 2.5× the same run's health, median of the runs; ≤ 1 context switch per RPC): {yes(a['target_met'])}.\n")
    g = s.get("g")
    if g:
        print("### g. Against a generic Go gateway (`bench/gateway/go_gateway`), same sandbox, same load, in turn\n")
        print("| RPC | C++ CPU / RPC | Go CPU / RPC | C++ / Go CPU | C++ RPC/s | Go RPC/s | "
              "ctx switches / RPC (C++ / Go) | p50 (C++ / Go) | peak RSS (C++ / Go) |")
        print("|---|---|---|---|---|---|---|---|---|")
        labels = {"health": "health, 64 in flight", "state": "GetJourneyState, 64", "features": "GetFeatures, 64",
                  "state_c1": "GetJourneyState, 1 in flight"}
        for key, label in labels.items():
            r = g[key]
            print(f"| {label} | {us(r['cpp_cpu_us_per_rpc'])} | {us(r['go_cpu_us_per_rpc'])} | "
                  f"{r['cpu_cpp_over_go']:.2f} | {r['cpp_rps']:,.0f} | {r['go_rps']:,.0f} | "
                  f"{r['cpp_ctx_per_rpc']:.2f} / {r['go_ctx_per_rpc']:.2f} | {us(r['cpp_p50_us'])} / "
                  f"{us(r['go_p50_us'])} | {r['cpp_peak_rss_mb']:.0f} / {r['go_peak_rss_mb']:.0f} MB |")
        failed = sum(r["failed"] for r in g.values())
        print(f"\nMedians of the runs; C++ / Go = median of the per-run ratios. Failed RPCs: {failed}.\n")
    m = s.get("m")
    if m:
        print("### m. Memory under abuse: 5,000 stalled watch streams, 8 × 64 MiB requests\n")
        print("| baseline RSS | with streams | peak (VmHWM) | 30 s after | after / baseline | streams | "
              "oversized requests |")
        print("|---|---|---|---|---|---|---|")
        print(f"| {m['baseline_mb']:.0f} MB | {m['rss_with_streams_mb']:.0f} MB | {m['peak_mb']:.0f} MB | "
              f"{m['final_mb']:.0f} MB | {m['final_over_baseline']:.2f} | {m['streams']} | "
              f"{m['big_requests']} |\n")
    t = s.get("t")
    if t:
        print("### t. TLS upstream: GetJourneyState through an https:// upstream vs plain HTTP "
              "(64 in flight, 4 channels, same run)\n")
        print("| plain CPU / RPC | TLS CPU / RPC | ratio TLS / plain | TLS handshakes / RPC | target |")
        print("|---|---|---|---|---|")
        print(f"| {us(t['plain_gw_cpu_us'])} | {us(t['tls_gw_cpu_us'])} | {t['ratio']:.2f} | "
              f"{t['handshakes_per_rpc_max']:.4f} | {yes(t['target_met'])} |")
        print()
        runs = "; ".join(f"{r['plain']:.0f} / {r['tls']:.0f} µs = {r['ratio']:.2f}, {r['handshakes']} handshakes "
                         f"({' first, '.join(r['order'])} second)" for r in t["runs"])
        print(f"Gateway context switches per RPC: plain {t['plain_ctx_per_rpc']:.2f}, TLS {t['tls_ctx_per_rpc']:.2f}; "
              f"throughput plain {t['plain_rps']:,.0f}/s, TLS {t['tls_rps']:,.0f}/s. The sandbox spent "
              f"{us(t['plain_sandbox_cpu_us'])} per request (plain) and "
              f"{us(t['tls_sandbox_cpu_us'])} (TLS). Failed RPCs: plain {t['failed']['plain']}, TLS "
              f"{t['failed']['tls']}; failed handshakes {t['handshakes_failed_runs']}. Handshakes counted "
              f"from after a warm-up load to the end of the measured load (its own warm-up included), per RPC "
              f"of the measured window, worst run; the TLS sandbox's total per run {t['handshakes_total_runs']}. "
              f"Ratio = median of the per-run ratios. Per run (plain / TLS): {runs}. "
              f"Target (ratio ≤ 1.3 and 0 handshakes per RPC): {yes(t['target_met'])}.\n")
    b = s.get("b")
    if b:
        print("### b. Latency added over calling the sandbox directly (GetJourneyState vs `wrk` on `/state`)\n")
        print("| in flight | gateway p50 / p99 | direct p50 / p99 | added p50 | added p99 | gateway CPU / RPC | target |")
        print("|---|---|---|---|---|---|---|")
        for c in ("c1", "c64"):
            r = b[c]
            print(f"| {c[1:]} | {us(r['p50']['gateway_us'])} / {us(r['p99']['gateway_us'])} | "
                  f"{us(r['p50']['direct_us'])} / {us(r['p99']['direct_us'])} | {us(r['p50']['added_us'])} | "
                  f"{us(r['p99']['added_us'])} | {us(r['gateway_cpu_us'])} | {yes(r['target_met'])} |")
        print("\n(added = median over runs of (gateway − direct) within each run.)\n")
        if all("health_floor" in b[c] for c in ("c1", "c64")):
            f1, f64 = b["c1"]["health_floor"], b["c64"]["health_floor"]
            print(f"gRPC alone (the gateway's health RPC, same load generator and run): 1 in flight adds "
                  f"p50 {us(f1['p50']['added_us'])}, p99 {us(f1['p99']['added_us'])} over direct; 64 in "
                  f"flight serves {f64['rps_ratio_to_direct']:.3f}× direct (GetJourneyState: "
                  f"{b['c64']['rps_ratio_to_direct']:.3f}×).\n")
    c = s.get("c")
    if c:
        print("### c. 5,000 RPCs in flight, sandbox adding 500 ms\n")
        print("| throughput | vs 10,000/s | p50 / p99 | gateway threads (max) | gateway VmHWM (max) | gateway CPU / RPC | new TCP connections / RPC | target |")
        print("|---|---|---|---|---|---|---|---|")
        print(f"| {c['rps']:,.0f}/s (runs {', '.join(f'{x:,.0f}' for x in c['runs_rps'])}) | "
              f"{100 * c['rps_ratio_to_10000']:.0f} % | {ms(c['p50_us'])} / {ms(c['p99_us'])} | "
              f"{c['threads_max']} (runs {c['threads_max_runs']}) | {c['vm_hwm_mb']:.0f} MB | {us(c['gw_cpu_us'])} | "
              f"{c['tcp_opens_per_rpc']:.2f} | {yes(c['target_met'])} |")
        print(f"\nStatus codes per run: {c['codes']}.\n")
    dd = s.get("d")
    if dd:
        print("### d. Token-expiry storm\n")
        print(f"Refreshes per run: {dd['refreshes']}; failed RPCs: {dd['failed']}; new sessions minted: "
              f"{dd['sessions_minted']}; upstream 401s seen by the gateway: {dd['upstream_401']}; p99 "
              f"{ms(dd['p99_us'])}. Target (exactly 1 refresh, 0 failures): {yes(dd['target_met'])}.\n")
    e = s.get("e")
    if e:
        print("### e. Throughput and p99 against concurrency\n")
        print("| in flight | throughput | p50 | p99 | gateway CPU / RPC |")
        print("|---|---|---|---|---|")
        for conc, r in e.items():
            print(f"| {conc} | {r['rps']:,.0f}/s | {ms(r['p50_us'])} | {ms(r['p99_us'])} | {us(r['gw_cpu_us'])} |")
        print()
    prof = s.get("profiles", {})
    cg = prof.get("callgrind")
    if cg:
        print("### callgrind: instructions per RPC in the gateway (3,000 RPCs, 16 in flight)\n")
        objs = {rpc: callgrind_by_object(v["file"], v["requests"]) for rpc, v in cg.items()}
        keys = sorted(set().union(*objs.values()), key=lambda k: -objs["state"].get(k, 0))[:12]
        print("| object | health | GetJourneyState | GetFeatures |")
        print("|---|---|---|---|")
        print(f"| **total** | {cg['health']['ir_per_rpc']:,.0f} | {cg['state']['ir_per_rpc']:,.0f} | "
              f"{cg['features']['ir_per_rpc']:,.0f} |")
        for k in keys:
            print(f"| {k} | {objs['health'].get(k, 0):,.0f} | {objs['state'].get(k, 0):,.0f} | "
                  f"{objs['features'].get(k, 0):,.0f} |")
        print()
    pf = prof.get("perf")
    if pf:
        load = pf["load"]
        print("### perf (cpu-clock sampling) and per-thread CPU at 64 in flight, GetJourneyState\n")
        print("| thread (comm) | threads | CPU / RPC | context switches / RPC |")
        print("|---|---|---|---|")
        for comm, r in sorted(load["threads_breakdown"].items(), key=lambda kv: -kv[1]["cpu_us_per_rpc"]):
            if r["cpu_us_per_rpc"] < 0.5 and r["ctx_switches_per_rpc"] < 0.05:
                continue
            print(f"| `{comm}` | {r['threads']} | {us(r['cpu_us_per_rpc'])} | {r['ctx_switches_per_rpc']:.2f} |")
        print()
        dso = open(pf["reports"]["dso"]).read()
        print("```\n" + "\n".join(l for l in dso.splitlines() if l.strip() and not l.startswith("#"))[:1500]
              + "\n```\n")


if __name__ == "__main__":
    main()
