"""Continuations: fib proven in segments on a Dask LocalCluster of 1, 2, ... single-threaded workers, against one
proof of one segment's length (the per-cycle reference). Each configuration runs in its own process; the
LocalCluster is started before timing. CPU seconds and peak RSS are measured per process: the coordinator (this
process: execution, Dask scheduler, challenges) and every worker (asked over Dask before and after proving).
Writes bench/out/segments.json and prints a markdown table.

    python bench/segments.py                                   # fib 2^20 in 2^18 segments, 1 vs 2 workers
    python bench/segments.py --log-cycles 20,22,24 --workers 1,2   # the full table (about an hour when idle)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _usage() -> tuple[float, float]:
    """(user + system CPU seconds, peak RSS MB) of the calling process."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_maxrss / 1024


def _one(config: dict) -> dict:
    from zkvm import receipt as R
    from zkvm.elf import load_elf

    image = load_elf(ROOT / "build" / "guests" / "fib.elf")
    data = config["n"].to_bytes(4, "little")
    stats = R.ProveStats()
    workers, client, cluster = config["workers"], None, None
    if workers:
        import distributed

        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0",
                                           silence_logs=50)
        client = distributed.Client(cluster)
        before = client.run(_usage)
    cpu0, _ = _usage()
    t0 = time.perf_counter()
    result, receipt = R.prove(image, data, zk=config["zk"], segment_po2=config["po2"], stats=stats,
                              scheduler=client)
    wall = time.perf_counter() - t0
    cpu_coord, rss_coord = _usage()
    cpu_coord -= cpu0
    cpu_workers, rss_workers = [], []
    if client is not None:
        after = client.run(_usage)
        cpu_workers = [round(after[a][0] - before[a][0], 1) for a in sorted(after)]
        rss_workers = [round(after[a][1]) for a in sorted(after)]
        client.close()
        cluster.close()
    raw = receipt.to_bytes()
    t1 = time.perf_counter()
    R.verify(R.Receipt.from_bytes(raw), R.image_id(image))
    verify_s = time.perf_counter() - t1
    return {**config, "cycles": result.cycles, "segments": max(1, len(stats.segments)), "prove_s": round(wall, 1),
            "us_per_cycle": round(wall / result.cycles * 1e6, 1), "coord_cpu_s": round(cpu_coord, 1),
            "worker_cpu_s": cpu_workers, "prove_cpu_s": round(cpu_coord + sum(cpu_workers), 1),
            "peak_rss_mb": round(max([rss_coord] + rss_workers)), "coord_rss_mb": round(rss_coord),
            "worker_rss_mb": rss_workers, "receipt_kb": round(len(raw) / 1024), "verify_s": round(verify_s, 2),
            "load_before": config.get("load_before"), "load_after": round(os.getloadavg()[0], 2),
            "phases": {k: round(v, 2) for k, v in stats.phases.items() if "." not in k}}


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log-cycles", default="20", help="comma list of run lengths (log2 cycles), e.g. 20,22,24")
    ap.add_argument("--segment-po2", type=int, default=18)
    ap.add_argument("--workers", default="1,2", help="comma list of LocalCluster sizes (single-threaded workers)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the one-proof reference run")
    ap.add_argument("--no-zk", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_one(json.loads(args.child))))
        return
    zk, po2 = not args.no_zk, args.segment_po2
    fib_n = lambda log: ((1 << log) - 200) // 6  # noqa: E731  (fib: ~6 cycles an iteration)
    configs = [] if args.no_baseline else [
        {"name": f"fib 2^{po2}, one proof, in process", "n": fib_n(po2), "zk": zk, "po2": po2, "workers": 0}]
    configs += [{"name": f"fib 2^{log}, segments 2^{po2}, {k} x 1 thread", "n": fib_n(log), "zk": zk, "po2": po2,
                 "workers": k, "log": log} for log in _ints(args.log_cycles) for k in _ints(args.workers)]
    rows = []
    for c in configs:
        c["load_before"] = round(os.getloadavg()[0], 2)
        out = subprocess.run([sys.executable, __file__, "--child", json.dumps(c)], capture_output=True, text=True,
                             cwd=ROOT, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        if out.returncode:
            rows.append({**c, "error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"})
        else:
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], file=sys.stderr)
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    meta = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    (ROOT / "bench" / "out" / "segments.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"Machine: {meta['machine']}; zk {'on' if zk else 'off'}; segments of 2^{po2} cycles.\n")
    print("| run | workers | cycles | segments | prove s | µs a cycle | coordinator CPU s | worker CPU s | "
          "peak RSS MB (largest process) | receipt KB | verify s | load avg before/after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['name']} | {r['workers']} | — | — | failed: {r['error']} | | | | | | | |")
            continue
        workers = " + ".join(str(x) for x in r["worker_cpu_s"]) or "—"
        print(f"| {r['name']} | {r['workers'] or 'in process'} | {r['cycles']:,} | {r['segments']} | {r['prove_s']} | "
              f"{r['us_per_cycle']} | {r['coord_cpu_s']} | {workers} | {r['peak_rss_mb']:,} | {r['receipt_kb']:,} | "
              f"{r['verify_s']} | {r['load_before']} / {r['load_after']} |")
    ok = [r for r in rows if "error" not in r]
    base = next((r for r in ok if not r["workers"]), None)
    print()
    for log in _ints(args.log_cycles):
        runs = {r["workers"]: r for r in ok if r.get("log") == log and r["workers"]}
        if base is not None:
            for k, r in sorted(runs.items()):
                print(f"fib 2^{log}, {k} worker(s): {r['us_per_cycle'] / base['us_per_cycle']:.2f}x the one proof's "
                      f"time a cycle")
        for k, r in sorted(runs.items()):
            if k != 1 and 1 in runs:
                print(f"fib 2^{log}: {k} workers {runs[1]['prove_s'] / r['prove_s']:.2f}x faster than 1")


if __name__ == "__main__":
    main()
