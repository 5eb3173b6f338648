"""Cost of zero knowledge: prove time, peak RSS and receipt size with and without zk, side by side in one run.

    python bench/zk.py [--fib-n 10000,40000] [--models a,b,c] [--repeats 2]

Workloads: the fib guest with n = 10000 and 40000 (cpu table 2^16 and 2^18 rows) and the three digits models of
the zkML benchmark, ``NAME:MODE`` with MODE a privacy mode of ``ml prove --public`` (``model``: private input, public
model linked into the image; ``none``: private model committed in the guest and private input), proven here with zk on and off to measure
the difference).
Every proof runs in a fresh process (peak RSS from wait4); zk and non-zk runs alternate, ``--repeats`` times,
and the table reports the fastest of each (the machine is shared; the load average is recorded). Targets:
zk costs <= 15% extra prove time and <= 10% extra receipt size. Writes bench/out/zk.json and the zk section of
bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "bench" / "out"
PY = sys.executable
SECTION_START = "<!-- zk:start -->"
SECTION_END = "<!-- zk:end -->"
TARGET_TIME, TARGET_SIZE = 0.15, 0.10


def run_reaped(cmd: list[str]) -> dict:
    """Run a child and reap it with wait4 so ru_maxrss is that child's peak alone."""
    with tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
        proc = subprocess.Popen(cmd, stdout=fout, stderr=ferr, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read().decode(errors="replace"), ferr.read().decode(errors="replace")
    if code != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd[2:6]))} failed ({code}): {err[-1500:]}")
    info = json.loads(out.strip().splitlines()[-1])
    info["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    return info


def worker(kind: str, arg: str, zk: bool) -> None:
    """Prove one workload in this process and print one JSON line."""
    from zkvm import receipt as rc
    from zkvm.elf import load_elf

    if kind == "fib":
        from host.build import GUESTS_DIR, build_guest, find_guests

        guest = next(g for g in find_guests(GUESTS_DIR) if g.name == "fib")
        with tempfile.TemporaryDirectory() as d:
            image = load_elf(build_guest(guest, Path(d) / "fib.elf"))
        data = int(arg).to_bytes(4, "little")
    else:
        from host.api.ml import guest_request
        from host.ml import models

        name, mode = arg.split(":")
        qm = models.load_model(name)
        x, _ = models.test_data(name)
        elf, data = guest_request(name, qm.quantize_input(x[0]).tobytes(), public=mode)
        image = load_elf(elf)
    stats = rc.ProveStats()
    t, c = time.perf_counter(), time.process_time()
    result, receipt = rc.prove(image, data, zk=zk, stats=stats)
    prove_s, prove_cpu_s = time.perf_counter() - t, time.process_time() - c
    raw = receipt.to_bytes()
    t = time.perf_counter()
    rc.verify(rc.Receipt.from_bytes(raw), receipt.claim.image_id, require_zk=zk)
    verify_s = time.perf_counter() - t
    print(json.dumps({
        "cycles": result.cycles, "zk": receipt.zk, "prove_s": round(prove_s, 3), "prove_cpu_s": round(prove_cpu_s, 3),
        "stark_s": round(stats.phases.get("prove", 0.0), 3), "verify_s": round(verify_s, 3),
        "receipt_bytes": len(raw), "heights": stats.heights,
        "phases": {k: round(v, 3) for k, v in stats.phases.items() if k.startswith("prove.")},
        "load_avg": round(os.getloadavg()[0], 1),
    }))


def measure(kind: str, arg: str, repeats: int) -> dict:
    runs: dict[bool, list[dict]] = {True: [], False: []}
    for rep in range(repeats):
        order = (False, True) if rep % 2 == 0 else (True, False)
        for zk in order:
            r = run_reaped([PY, __file__, "--worker", kind, arg, "1" if zk else "0"])
            runs[zk].append(r)
            print(f"  {kind} {arg} zk={zk}: prove {r['prove_s']:.1f} s, {r['receipt_bytes']} B, "
                  f"{r['peak_rss_mb']:.0f} MB, load {r['load_avg']}", file=sys.stderr)
    best = {zk: min(rs, key=lambda r: r["prove_s"]) for zk, rs in runs.items()}
    cpu = {zk: min(r["prove_cpu_s"] for r in rs) for zk, rs in runs.items()}
    off, on = best[False], best[True]
    return {
        "cycles": off["cycles"], "off": off, "on": on, "all_runs": {str(k): v for k, v in runs.items()},
        "extra_prove_time": round(on["prove_s"] / off["prove_s"] - 1, 4),
        "prove_cpu_s": {"off": cpu[False], "on": cpu[True]},
        "extra_prove_cpu": round(cpu[True] / cpu[False] - 1, 4),
        "extra_receipt_size": round(on["receipt_bytes"] / off["receipt_bytes"] - 1, 4),
        "extra_peak_rss": round(on["peak_rss_mb"] / off["peak_rss_mb"] - 1, 4),
    }


def _describe(zk: bool) -> str:
    from zkvm.stark.verifying.options import default_options

    o = default_options(zk)
    final = f"2^{o.log_final_len}" + ("+1" if zk else "")
    return (f"{o.num_queries} queries, {o.grinding_bits} grinding bits, final polynomial {final} "
            f"({o.security_bits} bits)")


def markdown(res: dict) -> str:
    lines = [SECTION_START, "## Zero knowledge (`python bench/zk.py`)", "",
             f"Machine: {res['machine']}. Each proof in its own process (peak RSS via wait4); zk and integrity-only "
             f"proofs alternate, {res['repeats']} of each, fastest shown. zk: {_describe(True)}; no zk: "
             f"{_describe(False)}. Targets: <= 15% extra prove time, <= 10% extra receipt.",
             "Prove CPU = user+system seconds of the proving call (all threads), less sensitive to the machine's "
             "load than wall time.",
             "", "| workload | cycles | prove s (no zk / zk) | extra time | prove CPU s (no zk / zk) | extra CPU | "
             "peak RSS MB (no zk / zk) | receipt KB (no zk / zk) | extra size | verify s (no zk / zk) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in res["workloads"].items():
        off, on = r["off"], r["on"]
        lines.append(f"| {name} | {r['cycles']} | {off['prove_s']:.1f} / {on['prove_s']:.1f} | "
                     f"{100 * r['extra_prove_time']:+.1f}% | {r['prove_cpu_s']['off']:.1f} / "
                     f"{r['prove_cpu_s']['on']:.1f} | {100 * r['extra_prove_cpu']:+.1f}% | "
                     f"{off['peak_rss_mb']:.0f} / {on['peak_rss_mb']:.0f} | "
                     f"{off['receipt_bytes'] / 1024:.0f} / {on['receipt_bytes'] / 1024:.0f} | "
                     f"{100 * r['extra_receipt_size']:+.1f}% | {off['verify_s']:.2f} / {on['verify_s']:.2f} |")
    w = res["workloads"].values()
    worst_t = max(min(r["extra_prove_time"], r["extra_prove_cpu"]) for r in w)
    worst_s = max(r["extra_receipt_size"] for r in w)
    cpu_rows = ", ".join(f"{name.split(' (')[0]}: 2^{r['on']['heights'].get('cpu', 1).bit_length() - 1}"
                         for name, r in res["workloads"].items())
    loads = [run["load_avg"] for r in w for runs in r["all_runs"].values() for run in runs]
    lines += ["", f"Load average (1 min) during the runs: {min(loads)} - {max(loads)} on {os.cpu_count()} cores "
              "(above the core count, wall times stretch and their ratios are noisy; CPU seconds are steadier).",
              "", f"CPU table heights: {cpu_rows}. Prove-time target (<= 15%) "
              f"{'met' if worst_t <= TARGET_TIME else 'missed'} (worst {100 * worst_t:+.1f}%, the better of wall and CPU; "
              f"differences of a few percent either way are noise on this shared machine); receipt-size target "
              f"(<= 10%) "
              f"{'met' if worst_s <= TARGET_SIZE else 'missed'} (worst {100 * worst_s:+.1f}%).",
              "", "Where the extra bytes go (zk.py): 16-byte salts (one per opened leaf of each phase tree; FRI "
              "leaves need none, the FRI polynomial is masked), the LogUp sum blinding (4 main columns per bus "
              "table, a few aux columns and the hub table), the FRI mask row (a matrix of the quotient-phase "
              "tree, so no path of its own), the randomised columns' values at zeta, and FRI layers at the "
              "sizes of the short tables that zk commits on a coset 2^j larger so their randomisers fit. The "
              "query count is the same (zk's 1/64 rate slack is paid with one more grinding bit). Commitments are "
              "one mixed-height Merkle tree per phase (main, aux, quotient: all tables at once, "
              "zkvm/stark/verifying/merkle.py) with each tree's authentication paths merged over the queries, so "
              "neither the number of tables nor zk's deeper paths of short tables multiply the path bytes; the "
              "per-table fixed trees (they define the image id) are now the largest share of the paths.",
              "", "Where the extra time goes (prover phase split in bench/out/zk.json): a randomised column's LDE "
              "is the fused LDE kernel plus a per-coset correction of its first k coefficients (X^n - 1 is a "
              "constant on each coset of the trace domain), quotient chunks and the FRI mask are one evaluation of "
              "n_c coefficients plus a correction of the rows past n_c, and salts and masks come from a ChaCha20 "
              "keystream keyed by os.urandom (C, AVX2), the salts regenerated on demand instead of stored per "
              "leaf (zk no longer costs peak memory). What zk still costs: salted leaves hash 16 more bytes (one "
              "more SHA-256 block for some row widths), the FRI mask's rows and FRI term, the blinding columns, "
              "and tables shorter than 2^14 rows committed on a 2x-8x coset (their randomisers need "
              "n + 86 <= n(1 + 1/64)2^j, and the quotient two chunks).",
              SECTION_END]
    return "\n".join(lines) + "\n"


def write_readme(section: str) -> None:
    path = REPO / "bench" / "README.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if SECTION_START in text and SECTION_END in text:
        head, rest = text.split(SECTION_START, 1)
        tail = rest.split(SECTION_END, 1)[1].lstrip("\n")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4] == "1")
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fib-n", default="10000,40000",
                    help="comma-separated fib guest inputs (~6 cycles per step: 10000 -> 2^16 rows, 40000 -> 2^18)")
    ap.add_argument("--models", default="a:model,b:model,c:model,a:none,c:none",
                    help="comma-separated NAME:MODE zkML workloads, MODE = model (private input) or none (private "
                         "model and input; B does not fit one proof); empty: none")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    res = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
           "repeats": args.repeats, "workloads": {}}
    for n in filter(None, args.fib_n.split(",")):
        res["workloads"][f"fib guest (n={int(n)})"] = measure("fib", str(int(n)), args.repeats)
    labels = {"model": "private input", "none": "private model + input", "input": "private model",
              "both": "all public"}
    for spec in filter(None, args.models.split(",")):
        name, _, mode = spec.partition(":")
        if mode not in labels:
            ap.error(f"--models: {spec!r} is not NAME:MODE with MODE one of {', '.join(labels)}")
        res["workloads"][f"zkML {name}:{mode} ({labels[mode]})"] = measure("ml", f"{name}:{mode}", args.repeats)
    (OUT / "zk.json").write_text(json.dumps(res, indent=1))
    section = markdown(res)
    write_readme(section)
    print(section)


if __name__ == "__main__":
    main()
