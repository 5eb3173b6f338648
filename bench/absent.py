"""Receipt size and prove time of a few workloads against one or more checkouts of the code, side by side.

    python bench/absent.py --code before=/path/to/old/checkout --code after=. [--repeat 2]

Workloads (zk, the checkout's default options): fib with 1000 iterations (8k cycles), fib at 2^16 cycles,
guest/nn model A (public model, DOT accelerator), sha256 of 4 KiB (SHA-256 accelerator). Each proof runs in a
fresh process with the checkout first on PYTHONPATH (its compiled extensions must be built in place); the
checkouts alternate per workload and repetition, so load changes hit both alike. Reports the receipt size,
the STARK prove time (``ProveStats.phases["prove"]``) and the tables the proof left out (height 0). Writes
bench/out/absent.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_WORKER = r"""
import json, sys, time
sys.path.insert(0, {code!r})
import zkvm
assert zkvm.__file__.startswith({code!r}), zkvm.__file__
from zkvm import receipt as rc
from zkvm.elf import load_elf
kind, arg = {kind!r}, {arg!r}
if kind == "elf":
    image, data = load_elf(arg[0]), bytes.fromhex(arg[1])
else:
    from host.api.ml import guest_request
    from host.ml import models
    qm = models.load_model(arg)
    x, _ = models.test_data(arg)
    elf, data = guest_request(arg, qm.quantize_input(x[0]).tobytes(), public="model", accel=True)
    image = load_elf(elf)
stats = rc.ProveStats()
t = time.perf_counter()
res, r = rc.prove(image, data, zk=True, stats=stats)
wall = time.perf_counter() - t
t = time.perf_counter()
rc.verify(r, r.claim.image_id)
print(json.dumps({{"cycles": res.cycles, "receipt_bytes": len(r.to_bytes()), "prove_s": stats.phases["prove"],
                   "wall_s": wall, "verify_s": time.perf_counter() - t, "heights": stats.heights}}))
"""


def workloads() -> dict[str, tuple[str, object]]:
    sys.path.insert(0, str(ROOT / "bench"))
    from prove import fib_input_for

    rng = random.Random(7)
    fib = str(ROOT / "build/guests/fib.elf")
    return {
        "fib 8k cycles": ("elf", (fib, (1000).to_bytes(4, "little").hex())),
        "fib 2^16 cycles": ("elf", (fib, fib_input_for(16).hex())),
        "nn model A (public model)": ("ml", "a"),
        "sha256 4 KiB": ("elf", (str(ROOT / "build/guests/sha256.elf"), bytes(rng.randrange(256)
                                                                            for _ in range(4096)).hex())),
    }


def run(code: str, kind: str, arg) -> dict:
    env = dict(os.environ, PYTHONPATH=code)
    proc = subprocess.run([sys.executable, "-c", _WORKER.format(code=code, kind=kind, arg=arg)], env=env, cwd=code,
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"proof in {code} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--code", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--only", action="append", help="workloads whose name contains this (repeatable)")
    args = ap.parse_args()
    codes = [c.split("=", 1) for c in args.code]
    codes = [(name, str(Path(path).resolve())) for name, path in codes]
    results: dict = {}
    for wl, (kind, arg) in workloads().items():
        if args.only and not any(o in wl for o in args.only):
            continue
        for rep in range(args.repeat):
            order = codes if rep % 2 == 0 else codes[::-1]
            for name, path in order:
                r = run(path, kind, arg)
                results.setdefault(wl, {}).setdefault(name, []).append(r)
                print(f"{wl} [{name}] {r['receipt_bytes']} B, prove {r['prove_s']:.2f} s", file=sys.stderr)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / ("absent.json" if not args.only else "absent_only.json")).write_text(json.dumps(results, indent=1))
    names = [n for n, _ in codes]
    print("| workload | cycles | " + " | ".join(f"receipt KB {n}" for n in names) + " | "
          + " | ".join(f"prove s {n}" for n in names) + " | absent tables (" + names[-1] + ") |")
    print("|---|---:|" + "---:|" * (2 * len(names)) + "---|")
    for wl, per in results.items():
        last = per[names[-1]][-1]
        absent = ", ".join(k for k, v in last["heights"].items() if v == 0) or "-"
        kb = [f"{statistics.median(r['receipt_bytes'] for r in per[n]) / 1e3:.0f}" for n in names]
        ps = [f"{statistics.median(r['prove_s'] for r in per[n]):.2f}" for n in names]
        print(f"| {wl} | {last['cycles']:,} | " + " | ".join(kb) + " | " + " | ".join(ps) + f" | {absent} |")


if __name__ == "__main__":
    main()
