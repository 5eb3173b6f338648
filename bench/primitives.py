"""STARK primitives benchmark: our LDE (C NTT) vs numpy doing the same-size work, our Merkle tree vs hashlib.

For each height 2^k (default 2^16 .. 2^20) x 64 columns, blowup 4, measured side by side in one process:

* ``lde``        our ``ntt.lde`` (exact BabyBear, C, all cores): 2^k rows -> 2^(k+2) rows;
* ``numpy_fft``  numpy's FFT doing the same transform sizes in float64 (inverse real FFT of size 2^k, coset
                 multiply, zero-pad, real FFT of size 2^(k+2), per column block) — not exact, a speed yardstick;
* ``numpy_ntt``  our exact pure-numpy radix-2 NTT reference (``zkvm.stark.backend.ntt_numpy``), small sizes only;
* ``merkle``     our ``MerkleTree`` over the 2^(k+2) LDE rows (SHA-256, SHA-NI when present, all cores);
* ``hashlib``    the same tree with ``hashlib.sha256`` called from Python (one call per leaf and node).

Times are wall-clock seconds, best of ``--repeat`` (default 2) after a warm-up at the smallest size. The machine
load average is recorded too: on a shared machine wall times are noisy.

    python bench/primitives.py                  # 2^16 .. 2^20, writes bench/out/primitives.json + README section
    python bench/primitives.py --log-n 16 18    # a subset
    python bench/primitives.py --json           # also print the JSON on the last stdout line (bench/stark.py)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from zkvm.field import babybear as bb  # noqa: E402
from zkvm.stark.backend import kernels, ntt, ntt_numpy  # noqa: E402
from zkvm.stark.proving import merkle  # noqa: E402

WIDTH = 64
LOG_BLOWUP = 2
NUMPY_NTT_MAX_LOG = 16  # the exact numpy NTT takes ~10 s at 2^16 -> 2^18 x 64 already


def _best(fn, repeat: int) -> tuple[float, float]:
    """(wall, cpu) seconds of the fastest of ``repeat`` runs. CPU time (all threads of this process) is the
    steadier number on a shared machine; wall / cpu shows how much of the time we actually ran."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
    return best


def random_trace(log_n: int, width: int = WIDTH, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, bb.P, (1 << log_n, width), dtype=np.uint32)


def numpy_fft_lde(cols: np.ndarray, log_blowup: int, block: int = 8) -> None:
    """The LDE's transform sizes done by numpy's float FFT, ``block`` columns at a time (bounded memory)."""
    n, w = cols.shape
    big = n << log_blowup
    shift = np.exp(2j * np.pi * np.arange(n) / big)[:, None]  # stands in for the coset multiply
    for c0 in range(0, w, block):
        coeffs = np.fft.ifft(cols[:, c0:c0 + block].astype(np.float64), axis=0)
        coeffs *= shift
        np.fft.fft(coeffs, n=big, axis=0)


def bench_lde(log_n: int, width: int = WIDTH, log_blowup: int = LOG_BLOWUP, repeat: int = 2,
              numpy_ntt_max_log: int = NUMPY_NTT_MAX_LOG) -> dict:
    """Our LDE vs numpy at one size. Returns seconds and ratios; checks the C result on a sample of rows."""
    cols = random_trace(log_n, width)
    out: dict = {"log_n": log_n, "rows": 1 << log_n, "lde_rows": 1 << (log_n + log_blowup), "width": width}
    holder = {}
    out["lde_s"], out["lde_cpu_s"] = _best(lambda: holder.__setitem__("lde", ntt.lde(cols, log_blowup)), repeat)
    # Into an already-touched buffer: on a VM, faulting in a fresh multi-GB output can cost more than the
    # transform itself; this column shows the transform alone.
    reuse = holder["lde"]
    out["lde_reuse_s"], out["lde_reuse_cpu_s"] = _best(lambda: ntt.lde(cols, log_blowup, out=reuse), repeat)
    out["numpy_fft_s"], out["numpy_fft_cpu_s"] = _best(lambda: numpy_fft_lde(cols, log_blowup), 1)
    out["speedup_vs_numpy_fft"] = round(out["numpy_fft_s"] / out["lde_s"], 1)
    out["cpu_ratio_vs_numpy_fft"] = round(out["numpy_fft_cpu_s"] / out["lde_cpu_s"], 1)
    if log_n <= numpy_ntt_max_log:
        ref_holder = {}
        out["numpy_ntt_s"], out["numpy_ntt_cpu_s"] = _best(
            lambda: ref_holder.__setitem__("ref", ntt_numpy.lde(cols, log_blowup, bb.GENERATOR)), 1)
        out["speedup_vs_numpy_ntt"] = round(out["numpy_ntt_s"] / out["lde_s"], 1)
        out["cpu_ratio_vs_numpy_ntt"] = round(out["numpy_ntt_cpu_s"] / out["lde_cpu_s"], 1)
        out["exact_match"] = bool((ref_holder["ref"] == holder["lde"]).all())
    return out


def hashlib_tree_root(rows: np.ndarray) -> bytes:
    return merkle._build_hashlib(rows, None)[-1][0].tobytes()


def bench_merkle(rows: np.ndarray, repeat: int = 2) -> dict:
    """Our Merkle tree vs the same tree with hashlib, over the given rows."""
    holder = {}
    ours, ours_cpu = _best(lambda: holder.__setitem__("tree", merkle.MerkleTree(rows)), repeat)
    ref, ref_cpu = _best(lambda: holder.__setitem__("root", hashlib_tree_root(rows)), 1)
    return {"leaves": rows.shape[0], "leaf_bytes": rows.shape[1] * 4, "merkle_s": ours, "merkle_cpu_s": ours_cpu,
            "hashlib_s": ref, "hashlib_cpu_s": ref_cpu, "speedup_vs_hashlib": round(ref / ours, 1),
            "cpu_ratio_vs_hashlib": round(ref_cpu / ours_cpu, 1), "same_root": holder["tree"].root == holder["root"]}


def environment() -> dict:
    native = ntt.native_available()
    lib = ntt._native.lib if native else None
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"numpy {np.__version__}",
        "native": native,
        "threads": int(lib.zk_num_threads()) if native else 0,
        "simd": ["scalar", "avx2", "avx512"][kernels.simd_level()] if native else "none",
        "sha_ni": bool(lib.zk_sha256_has_shani()) if native else False,
        "load_avg_before": os.getloadavg()[0],
    }


def run(log_sizes: list[int], width: int = WIDTH, log_blowup: int = LOG_BLOWUP, repeat: int = 2,
        numpy_ntt_max_log: int = NUMPY_NTT_MAX_LOG, progress=None) -> dict:
    env = environment()
    ntt.lde(random_trace(10, width), log_blowup)  # warm-up: twiddles, threads, page cache
    results = []
    for log_n in log_sizes:
        if progress:
            progress(f"2^{log_n} x {width} ...")
        r = bench_lde(log_n, width, log_blowup, repeat, numpy_ntt_max_log)
        lde = ntt.lde(random_trace(log_n, width), log_blowup)
        r["merkle"] = bench_merkle(lde, repeat)
        del lde
        ntt.release_scratch()
        results.append(r)
        if progress:
            progress(json.dumps(r))
    env["load_avg_after"] = os.getloadavg()[0]
    return {"environment": env, "width": width, "log_blowup": log_blowup, "repeat": repeat, "results": results}


def markdown(data: dict) -> str:
    env = data["environment"]
    lines = ["## STARK primitives (`python bench/primitives.py`)", "",
             f"Machine: {env['machine']}; native threads {env['threads']}, SIMD {env['simd']}, "
             f"SHA-NI {'yes' if env['sha_ni'] else 'no'}; load average {env['load_avg_before']:.1f} -> "
             f"{env['load_avg_after']:.1f} on 2 cores (shared machine: wall times are noisy, so CPU seconds of "
             f"this process are shown too, as wall / cpu). {data['width']} columns, blowup "
             f"{1 << data['log_blowup']}. Ours: best of {data.get('repeat', 2)}; references: one run. Ratio = "
             "reference / ours (wall; cpu).", "",
             "| rows -> LDE rows | our LDE s | into reused buffer s | numpy FFT s (float, same sizes) | ratio "
             "| numpy exact NTT s | ratio | our Merkle s | hashlib Merkle s | ratio |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in data["results"]:
        m = r["merkle"]
        exact = (f"{r['numpy_ntt_s']:.2f} / {r['numpy_ntt_cpu_s']:.2f} | {r['speedup_vs_numpy_ntt']}x; "
                 f"{r['cpu_ratio_vs_numpy_ntt']}x") if "numpy_ntt_s" in r else "— | —"
        lines.append(f"| 2^{r['log_n']} -> 2^{r['log_n'] + data['log_blowup']} | {r['lde_s']:.3f} / "
                     f"{r['lde_cpu_s']:.3f} | {r['lde_reuse_s']:.3f} / {r['lde_reuse_cpu_s']:.3f} | "
                     f"{r['numpy_fft_s']:.2f} / {r['numpy_fft_cpu_s']:.2f} | "
                     f"{r['speedup_vs_numpy_fft']}x; {r['cpu_ratio_vs_numpy_fft']}x | {exact} | "
                     f"{m['merkle_s']:.3f} / {m['merkle_cpu_s']:.3f} | {m['hashlib_s']:.2f} / {m['hashlib_cpu_s']:.2f} "
                     f"| {m['speedup_vs_hashlib']}x; {m['cpu_ratio_vs_hashlib']}x |")
    checks = all(r["merkle"]["same_root"] and r.get("exact_match", True) for r in data["results"])
    lines += ["", "Our LDE equals the exact numpy NTT where both ran, and our Merkle roots equal hashlib's: "
              + ("yes." if checks else "**NO — see bench/out/primitives.json**")]
    return "\n".join(lines) + "\n"


def write_readme(section: str) -> None:
    readme = HERE / "README.md"
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    block = f"<!-- primitives:start -->\n{section}<!-- primitives:end -->"
    if "<!-- primitives:start -->" in text:
        text = re.sub(r"<!-- primitives:start -->.*?<!-- primitives:end -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log-n", type=int, nargs="+", default=[16, 17, 18, 19, 20], help="trace heights (log2)")
    ap.add_argument("--width", type=int, default=WIDTH)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--numpy-ntt-max-log", type=int, default=NUMPY_NTT_MAX_LOG,
                    help="largest height for the (slow) exact numpy NTT reference")
    ap.add_argument("--json", action="store_true", help="print the results as JSON on the last stdout line")
    ap.add_argument("--no-readme", action="store_true", help="do not touch bench/README.md")
    args = ap.parse_args(argv)
    data = run(args.log_n, args.width, LOG_BLOWUP, args.repeat, args.numpy_ntt_max_log,
               progress=lambda s: print(s, file=sys.stderr, flush=True))
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "primitives.json").write_text(json.dumps(data, indent=1))
    section = markdown(data)
    if not args.no_readme:
        write_readme(section)
    print(section)
    if args.json:
        print(json.dumps(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
