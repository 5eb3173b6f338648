"""STARK core benchmark: a synthetic table of 2^16 .. 2^20 rows x 64 columns, degree-3 constraints, one bus.

Each size runs in a fresh subprocess (so peak RSS is that size's alone) and reports prove time with its split
(LDE, Merkle, quotient, FRI), peak RSS, proof size and verify time (median of 3). Then, in the same run, the
primitives benchmark (``bench/primitives.py``: our NTT vs numpy, our Merkle hashing vs hashlib) if present.

    python bench/stark.py                     # 2^16, 2^18, 2^20
    python bench/stark.py --log-n 16 18       # a subset

Writes ``bench/out/stark.json`` and the STARK section of ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

TARGETS = {"log_n": 20, "prove_s": 10.0, "rss_mb": 3072, "verify_ms": 100.0, "proof_kb": 400}


def run_one(log_n: int, width: int, zk: bool = False) -> dict:
    """Prove and verify one size in this process; returns the measurements."""
    from stark_air import synthetic_air, synthetic_trace

    from zkvm.stark import commit_fixed, prove, verify
    from zkvm.stark.verifying.options import ProofOptions

    air = synthetic_air(width)
    trace = synthetic_trace(log_n, width)
    # defaults: blowup 4, 16 grinding bits, >= 100 conjectured bits (42 queries without zk, 43 with)
    from zkvm.stark.verifying import options as options_mod

    opts = ProofOptions() if zk else getattr(options_mod, "NON_ZK_DEFAULT", ProofOptions(zk=False))
    timings: dict = {}
    t0, c0 = time.perf_counter(), time.process_time()
    proof = prove(air, {}, {"syn": trace}, {}, [], opts, timings=timings)
    prove_s, prove_cpu = time.perf_counter() - t0, time.process_time() - c0
    data = proof.to_bytes()
    fd = commit_fixed(air, {})
    verify_times, verify_cpu = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        verify(air, data, {}, [], fd)
        verify_times.append(time.perf_counter() - t0)
        verify_cpu.append(time.process_time() - c0)
    verify_times.sort()
    verify_cpu.sort()
    return {
        "log_n": log_n, "rows": 1 << log_n, "width": width, "security_bits": opts.security_bits, "zk": zk,
        "log_blowup": opts.log_blowup, "queries": opts.num_queries, "grinding_bits": opts.grinding_bits,
        "prove_s": round(prove_s, 3), "split_s": {k: round(v, 3) for k, v in timings.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "proof_bytes": len(data), "verify_ms": round(verify_times[1] * 1000, 1),
        "prove_cpu_s": round(prove_cpu, 2), "verify_cpu_ms": round(verify_cpu[1] * 1000, 1),
        "cpu_s": round(time.process_time(), 2), "load_avg": os.getloadavg()[0],
    }


def primitives(log_ns: list[int]) -> dict | None:
    """Side-by-side NTT vs numpy and Merkle vs hashlib, from the primitives benchmark if it exists."""
    path = HERE / "primitives.py"
    if not path.exists():
        return None
    res = subprocess.run([sys.executable, str(path), "--json", "--log-n", *map(str, log_ns)], capture_output=True,
                         text=True, cwd=ROOT, timeout=3600)
    if res.returncode != 0:
        return {"error": res.stderr.strip().splitlines()[-1:] or ["failed"]}
    try:
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        out = ROOT / "bench" / "out" / "primitives.json"
        return json.loads(out.read_text()) if out.exists() else {"raw": res.stdout[-2000:]}


def markdown(results: list[dict], prims, machine: str) -> str:
    lines = ["## STARK core (`python bench/stark.py`)", "",
             f"Machine: {machine}. Synthetic table: 64 columns, 59 degree-3 constraints + 1 transition, one LogUp "
             "bus (2 interactions); default options of the zk setting (blowup 4, 16 grinding bits; 42 queries without "
             "zk, 43 with; conjectured bits in the table). Each size in its own process; verify = median of 3. Split = prover phases (wall seconds); CPU = "
             "user+system seconds of all threads (on an idle 2-core machine wall ~ CPU/2 for the threaded phases); "
             "the load average shows how shared the machine was when measured.", "",
             "| rows | zk | bits | prove s | LDE | Merkle | quotient | FRI | prove CPU s | load avg | peak RSS MB | proof KB "
             "| verify ms | verify CPU ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        sp = r["split_s"]
        lines.append(f"| 2^{r['log_n']} | {'on' if r.get('zk') else 'off'} | {r['security_bits']} | {r['prove_s']:.2f} | "
                     f"{sp.get('lde', 0):.2f} | {sp.get('merkle', 0):.2f} | {sp.get('quotient', 0):.2f} | "
                     f"{sp.get('fri', 0):.2f} | {r.get('prove_cpu_s', r.get('cpu_s', 0)):.1f} | "
                     f"{r.get('load_avg', 0):.1f} | {r['peak_rss_mb']:.0f} | {r['proof_bytes'] / 1024:.0f} | "
                     f"{r['verify_ms']:.0f} | {r.get('verify_cpu_ms', 0):.0f} |")
    t = TARGETS
    lines += ["", f"Targets at 2^{t['log_n']} x 64: prove <= {t['prove_s']:.0f} s, peak RSS <= {t['rss_mb']} MB, "
              f"verify <= {t['verify_ms']:.0f} ms, proof <= {t['proof_kb']} KB."]
    if prims is None:
        lines += ["", "Primitives (NTT vs numpy, Merkle vs hashlib): `bench/primitives.py` not present in this run."]
    elif "results" in prims:
        env = prims.get("environment", {})
        lines += ["", f"Primitives in the same run (`bench/primitives.py`, {prims.get('width', 64)} columns, blowup "
                  f"{1 << prims.get('log_blowup', 2)}; load average {round(env.get('load_avg_before', 0), 1)}): our C LDE vs "
                  "numpy's float FFT doing the same transform sizes (and our exact numpy NTT where run), our Merkle "
                  "tree (SHA-NI, 2 threads) vs hashlib called per node.", "",
                  "| rows | LDE s | numpy FFT s | x | numpy NTT s | x | Merkle s | hashlib s | x |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for p in prims["results"]:
            m = p.get("merkle", {})

            def f(v, fmt="{:.2f}"):
                return fmt.format(v) if isinstance(v, (int, float)) else "—"

            lines.append(f"| 2^{p['log_n']} | {f(p.get('lde_s'))} | {f(p.get('numpy_fft_s'))} | "
                         f"{f(p.get('speedup_vs_numpy_fft'), '{:.1f}')} | {f(p.get('numpy_ntt_s'))} | "
                         f"{f(p.get('speedup_vs_numpy_ntt'), '{:.1f}')} | {f(m.get('merkle_s'))} | "
                         f"{f(m.get('hashlib_s'))} | {f(m.get('speedup_vs_hashlib'), '{:.1f}')} |")
    else:
        lines += ["", f"Primitives benchmark failed: {prims}"]
    return "\n".join(lines) + "\n"


def write_readme(section: str) -> None:
    readme = HERE / "README.md"
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    block = f"<!-- stark:start -->\n{section}\n<!-- stark:end -->"
    if "<!-- stark:start -->" in text:
        text = re.sub(r"<!-- stark:start -->.*?<!-- stark:end -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log-n", type=int, nargs="+", default=[16, 18, 20], help="table heights (log2)")
    ap.add_argument("--width", type=int, default=64, help="columns")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON
    ap.add_argument("--no-primitives", action="store_true", help="skip bench/primitives.py")
    ap.add_argument("--zk", action="store_true", help="prove with zero knowledge (default: off, the STARK core)")
    ap.add_argument("--from-json", action="store_true", help="only re-render the README from bench/out/stark.json")
    ap.add_argument("--reuse-primitives", action="store_true",
                    help="take the primitives results from the previous bench/out/stark.json instead of re-running")
    args = ap.parse_args()
    if args.from_json:
        out = json.loads((HERE / "out" / "stark.json").read_text())
        write_readme(markdown(out["results"], out["primitives"], out["machine"]))
        return 0
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.width, args.zk)))
        return 0
    results = []
    for log_n in args.log_n:
        print(f"2^{log_n} x {args.width} ...", file=sys.stderr, flush=True)
        res = subprocess.run([sys.executable, __file__, "--one", str(log_n), "--width", str(args.width)]
                             + (["--zk"] if args.zk else []), capture_output=True, text=True, cwd=ROOT)
        if res.returncode != 0:
            print(res.stderr, file=sys.stderr)
            return 1
        results.append(json.loads(res.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), file=sys.stderr)
    if args.reuse_primitives and (HERE / "out" / "stark.json").exists():
        prims = json.loads((HERE / "out" / "stark.json").read_text()).get("primitives")
    else:
        prims = None if args.no_primitives else primitives(args.log_n)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    out = {"machine": machine, "targets": TARGETS, "results": results, "primitives": prims}
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "stark.json").write_text(json.dumps(out, indent=1))
    section = markdown(results, prims, machine)
    write_readme(section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
