"""Continuations: fib at ~2^20 cycles as one proof vs in segments (in this process, and on a 2-worker Dask
LocalCluster). Each configuration runs in its own process (peak RSS of the largest process: the prover, or the
largest Dask worker). Writes bench/out/segments.json and prints a markdown table.

    python bench/segments.py [--log-cycles 20] [--segment-po2 18] [--no-zk]
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


def _one(config: dict) -> dict:
    from zkvm import receipt as R
    from zkvm.elf import load_elf

    image = load_elf(ROOT / "build" / "guests" / "fib.elf")
    data = config["n"].to_bytes(4, "little")
    stats = R.ProveStats()
    scheduler, cluster = config["scheduler"], None
    if isinstance(scheduler, int):  # a LocalCluster of that many single-threaded workers, started before timing
        import distributed

        cluster = distributed.LocalCluster(n_workers=scheduler, threads_per_worker=1, dashboard_address=":0",
                                           silence_logs=50)
        scheduler = distributed.Client(cluster)
    cpu0 = os.times()
    t0 = time.perf_counter()
    result, receipt = R.prove(image, data, zk=config["zk"], segment_po2=config["po2"], stats=stats,
                              scheduler=scheduler)
    wall = time.perf_counter() - t0
    if cluster is not None:  # reap the workers: their CPU time and peak RSS count from here
        scheduler.close()
        cluster.close()
    cpu1 = os.times()
    raw = receipt.to_bytes()
    t1 = time.perf_counter()
    R.verify(R.Receipt.from_bytes(raw), R.image_id(image))
    verify_s = time.perf_counter() - t1
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {**config, "cycles": result.cycles, "segments": max(1, len(stats.segments)), "prove_s": round(wall, 1),
            "prove_cpu_s": round((cpu1.user + cpu1.system + cpu1.children_user + cpu1.children_system)
                                 - (cpu0.user + cpu0.system + cpu0.children_user + cpu0.children_system), 1),
            "peak_rss_mb": round(max(rss_self, rss_children)), "receipt_kb": round(len(raw) / 1024),
            "verify_s": round(verify_s, 2), "phases": {k: round(v, 2) for k, v in stats.phases.items() if "." not in k}}


def main() -> None:  # noqa: C901
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log-cycles", type=int, default=20)
    ap.add_argument("--segment-po2", type=int, default=18)
    ap.add_argument("--no-zk", action="store_true")
    ap.add_argument("--scaling", action="store_true", help="only segments on 1 vs 2 LocalCluster workers")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_one(json.loads(args.child))))
        return
    n = ((1 << args.log_cycles) - 200) // 6  # fib: ~6 cycles an iteration
    zk = not args.no_zk
    configs = [
        {"name": "one proof", "n": n, "zk": zk, "po2": args.log_cycles, "scheduler": None},
        {"name": f"segments 2^{args.segment_po2}, in process", "n": n, "zk": zk, "po2": args.segment_po2,
         "scheduler": None},
        {"name": f"segments 2^{args.segment_po2}, LocalCluster 2x1 thread", "n": n, "zk": zk,
         "po2": args.segment_po2, "scheduler": "local"},
    ]
    if args.scaling:
        configs = [{"name": f"segments 2^{args.segment_po2}, LocalCluster {k}x1 thread (started before timing)",
                    "n": n, "zk": zk, "po2": args.segment_po2, "scheduler": k} for k in (1, 2)]
    rows = []
    for c in configs:
        out = subprocess.run([sys.executable, __file__, "--child", json.dumps(c)], capture_output=True, text=True,
                             cwd=ROOT, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        if out.returncode:
            rows.append({**c, "error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"})
        else:
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], file=sys.stderr)
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    meta = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "load_avg": os.getloadavg()[0]}
    (ROOT / "bench" / "out" / ("segments_scaling.json" if args.scaling else "segments.json")).write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"Machine: {meta['machine']}; zk {'on' if zk else 'off'}; 1-min load average {meta['load_avg']:.1f}.\n")
    print("| configuration | cycles | segments | prove s | prove CPU s | peak RSS MB (largest process) | receipt KB "
          "| verify s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['name']} | — | — | failed: {r['error']} | | | | |")
            continue
        print(f"| {r['name']} | {r['cycles']:,} | {r['segments']} | {r['prove_s']} | {r['prove_cpu_s']} | "
              f"{r['peak_rss_mb']:,} | {r['receipt_kb']:,} | {r['verify_s']} |")


if __name__ == "__main__":
    main()
