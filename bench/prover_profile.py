"""Where the prover's time goes: per table columns and heights, prover phases, trace fill per table, a cProfile
of the Python work and callgrind instruction counts of the native kernels.

    python bench/prover_profile.py [--only fib_2^20 model_b] [--no-callgrind] [--no-cprofile]
    python bench/prover_profile.py --trace-compare OTHER_CHECKOUT [--repeat 2]

Workloads: fib at 2^20 cycles (bench/prove.py's input) and model B of guest/nn (private model, accelerator
on: `host.api.ml.guest_request('b', ...)` as bench/zkml.py proves it). Each measurement runs in its own
process (peak RSS is that process's), zero knowledge on, default options. Writes bench/out/profile.json and
the "profile" section of bench/README.md.

--trace-compare: trace generation only (riscv_air.generate on the same record), this checkout vs another one
(e.g. a `git worktree` of an older commit with its extensions built), alternating processes so both see the
same machine load; fib 2^18 / 2^20 and model B. Prints a table (and writes bench/out/trace_compare.json).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import re
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "profile.json"
README = ROOT / "bench" / "README.md"
START, END = "<!-- profile:start -->", "<!-- profile:end -->"
TSTART, TEND = "<!-- trace:start -->", "<!-- trace:end -->"
#: fib inputs that just fit 2^k cycles (bench/prove.py's fib_input_for, fixed so every checkout runs the same)
FIB_N = {16: 10906, 18: 43663, 20: 174691}
PHASES = ("lde", "merkle", "quotient", "fri")


# ---------------------------------------------------------------------------------------------- workloads

def workload(name: str, root: Path = ROOT):
    """(image, private input) of a workload, with `root`'s zkvm on sys.path."""
    sys.path.insert(0, str(root))
    from zkvm.elf import load_elf

    if name.startswith("fib_2^"):
        return load_elf(ROOT / "build" / "guests" / "fib.elf"), struct.pack("<I", FIB_N[int(name.split("^")[1])])
    if name == "model_b":
        from host.api.ml import guest_request
        from host.ml import models

        qm = models.load_model("b")
        x, _ = models.test_data("b")
        elf, req = guest_request("b", qm.quantize_input(x[0]).tobytes(), public="none")
        return load_elf(elf), req
    raise SystemExit(f"unknown workload {name}")


# ---------------------------------------------------------------------------------------------- trace split

#: (label, module, attribute path) of every step riscv_air.generate takes; wrapped to time them. Labels name
#: the table a step fills ("cpu: memory replay" is inside "cpu").
STEPS = (
    ("cpu", "zkvm.circuit.riscv_air", "fill_cpu"),
    ("cpu: memory replay", "zkvm.circuit.cpu", "resolve"),
    ("sha256 calls", "zkvm.circuit.sha256", "ShaCalls.from_record"),
    ("sha256_round + sha256_block", "zkvm.circuit.sha256", "ShaTables.fill"),
    ("program", "zkvm.circuit.program", "ProgramTable.main_trace"),
    ("regs", "zkvm.circuit.riscv_air", "regs_main"),
    ("zinit", "zkvm.circuit.riscv_air", "zinit_main"),
    ("image", "zkvm.circuit.riscv_air", "image_main"),
    ("dot calls", "zkvm.circuit.dot", "calls"),
    ("dot", "zkvm.circuit.dot", "fill"),
    ("range16", "zkvm.circuit.range", "multiplicities"),
    ("bytes", "zkvm.circuit.bytes", "multiplicities"),
)


def _usage() -> tuple[float, float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), r.ru_utime + r.ru_stime, r.ru_minflt


def _wrap_steps(times: dict) -> None:
    """Wrap every step so that `times[label]` = [wall s, CPU s, minor page faults], exclusive of nested steps."""
    import importlib

    import numpy as np

    from zkvm.circuit import families

    stack: list[float] = []

    def timed(label, fn):
        def run(*a, **k):
            stack.append(np.zeros(3))
            r0 = np.array(_usage())
            try:
                return fn(*a, **k)
            finally:
                d = np.array(_usage()) - r0
                inner = stack.pop()
                times[label] = times.get(label, 0.0) + d - inner  # exclusive of nested steps
                if stack:
                    stack[-1] += d
        return run

    for label, mod, path in STEPS:
        owner = importlib.import_module(mod)
        *parents, attr = path.split(".")
        for p in parents:
            owner = getattr(owner, p)
        if hasattr(owner, attr):
            setattr(owner, attr, timed(label, getattr(owner, attr)))
    for spec in families.FAMILIES:  # frozen dataclasses: patch their fill in place
        object.__setattr__(spec, "fill", timed(spec.name, spec.fill))


def trace_split(name: str, root: Path = ROOT, split: bool = True) -> dict:
    """Time riscv_air.generate on one record; with `split`, per step (exclusive seconds)."""
    image, data = workload(name, root)
    from zkvm.circuit import riscv_air
    from zkvm.exec import Executor

    _, record = Executor(image, data, max_cycles=1 << 23).record()
    s = riscv_air.setup(image)
    times: dict = {}
    if split:
        _wrap_steps(times)
    t, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    w = riscv_air.generate(s, record)
    total, r1 = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF)
    import zkvm

    return {"workload": name, "root": str(Path(zkvm.__file__).parents[1]), "cycles": len(record),
            "trace_s": round(total, 3), "trace_user_s": round(r1.ru_utime - r0.ru_utime, 3),
            "trace_sys_s": round(r1.ru_stime - r0.ru_stime, 3), "minor_faults": r1.ru_minflt - r0.ru_minflt, "steps_s": {k: round(float(v[0]), 4) for k, v in times.items()},
            "steps_cpu_s": {k: round(float(v[1]), 4) for k, v in times.items()},
            "steps_faults": {k: int(v[2]) for k, v in times.items()},
            "heights": {k: int(v.shape[0]) for k, v in w.main.items()},
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


# ---------------------------------------------------------------------------------------------- full prove

def columns(zk: bool = True) -> dict:
    """Per table: fixed, main and aux columns (aux as base-field equivalents: 4 per extension column) of the
    compiled AIR the prover commits (with zk: the blinded one)."""
    from zkvm.circuit import riscv_air
    from zkvm.stark.verifying import blinding

    ca = blinding.compiled_air(riscv_air.circuit().air, zk)
    return {ct.name: {"fixed": ct.n_fixed, "main": ct.n_main, "aux": ct.n_aux} for ct in ca.tables}


def prove_profile(name: str, profile: bool, root: Path = ROOT) -> dict:
    """Prove one workload (zk, default options); phases, per-table times, heights, columns, peak RSS; with
    `profile`, a cProfile of the whole prove (top functions by own time)."""
    image, data = workload(name, root)
    from zkvm import receipt as R

    stats = R.ProveStats()
    prof = cProfile.Profile() if profile else None
    t = time.perf_counter()
    if prof:
        prof.enable()
    result, receipt = R.prove(image, data, zk=True, stats=stats)
    if prof:
        prof.disable()
    wall = time.perf_counter() - t
    out = {"workload": name, "cycles": result.cycles, "prove_s": round(wall, 3),
           "phases_s": {k: round(v, 4) for k, v in stats.phases.items()}, "heights": stats.heights,
           "columns": columns(True), "receipt_bytes": stats.receipt_bytes,
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           "cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1)}
    if prof:
        out["cprofile"] = _top_functions(prof, 25)
    return out


def _top_functions(prof: cProfile.Profile, k: int) -> list[dict]:
    st = pstats.Stats(prof)
    rows = []
    for (file, line, fn), (cc, nc, tt, ct, _) in st.stats.items():
        where = fn if file == "~" else f"{_short(file)}:{line}({fn})"
        rows.append({"function": where, "calls": nc, "own_s": round(tt, 4), "cum_s": round(ct, 4)})
    rows.sort(key=lambda r: -r["own_s"])
    return rows[:k]


def _short(file: str) -> str:
    for marker in ("/zkvm/", "/host/", "/numpy/"):
        if marker in file:
            return marker.strip("/") + "/" + file.split(marker, 1)[1]
    return os.path.basename(file)


# ---------------------------------------------------------------------------------------------- callgrind

NATIVE_OBJECTS = ("_native", "_evalvm", "_rv32")


def callgrind(name: str) -> dict:
    """Instruction counts (Ir, exclusive) of the native kernels for one prove of `name` under valgrind's
    callgrind (one thread: valgrind serialises threads anyway, and counts stay comparable)."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        return {"error": "valgrind not installed"}
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "callgrind.out"
        env = dict(os.environ, ZKVM_THREADS="1", PYTHONMALLOC="malloc")
        t = time.perf_counter()
        p = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
                            sys.executable, __file__, "--prove-only", name], env=env, capture_output=True,
                           text=True)
        if p.returncode != 0:
            return {"error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"}
        ann = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", str(out)],
                             capture_output=True, text=True).stdout
    total, funcs = 0, []
    for line in ann.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?\s*PROGRAM TOTALS", line)
        if m:
            total = int(m.group(1).replace(",", ""))
            continue
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S+):(\S+)\s*\[(.*)\]", line)
        if m:
            ir, file, fn, obj = int(m.group(1).replace(",", "")), m.group(2), m.group(3), m.group(4)
            funcs.append({"function": fn, "file": os.path.basename(file), "object": os.path.basename(obj),
                          "ir": ir})
    native = [f for f in funcs if any(o in f["object"] for o in NATIVE_OBJECTS)]
    by_object: dict = {}
    for f in funcs:
        key = next((o for o in NATIVE_OBJECTS if o in f["object"]), "python+numpy+libc")
        by_object[key] = by_object.get(key, 0) + f["ir"]
    return {"workload": name, "total_ir": total, "by_object": by_object, "native": native[:25],
            "others": [f for f in funcs if f not in native][:10], "valgrind_s": round(time.perf_counter() - t, 1)}


# ---------------------------------------------------------------------------------------------- driver

def run_self(args: list[str], root: Path = ROOT) -> dict:
    p = subprocess.run([sys.executable, str(root / "bench" / "prover_profile.py"), *args], capture_output=True,
                       text=True, cwd=root)
    if p.returncode != 0:
        raise RuntimeError(f"{args}: {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def trace_compare(other: Path, names: list[str], repeat: int) -> list[dict]:
    """Trace generation here vs in `other`, alternating fresh processes (this script runs there via ours)."""
    rows = []
    for name in names:
        for _ in range(repeat):
            for root in (other, ROOT):
                r = json.loads(subprocess.run(
                    [sys.executable, __file__, "--trace-only", name, "--root", str(root)], capture_output=True,
                    text=True, check=True).stdout.strip().splitlines()[-1])
                rows.append(r)
                print(f"{name} {root}: {r['trace_s']} s, {r['peak_rss_mb']} MB", file=sys.stderr)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=["fib_2^20", "model_b"])
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--no-cprofile", action="store_true")
    ap.add_argument("--callgrind-workload", default="fib_2^16", help="(smaller) workload run under callgrind")
    ap.add_argument("--callgrind-json", type=Path, help="reuse (if it exists) or write the callgrind result here")
    ap.add_argument("--trace-compare", type=Path, metavar="CHECKOUT")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--render", action="store_true", help="rewrite the README section from bench/out/profile.json "
                    "(adding --callgrind-json's result if given)")
    ap.add_argument("--trace-only", help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    ap.add_argument("--no-split", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--prove-only", help=argparse.SUPPRESS)
    ap.add_argument("--prove-profile", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.trace_only:
        print(json.dumps(trace_split(args.trace_only, args.root, split=not args.no_split)))
        return
    if args.prove_only:
        print(json.dumps(prove_profile(args.prove_only, profile=False, root=args.root)))
        return
    if args.prove_profile:
        print(json.dumps(prove_profile(args.prove_profile, profile=True)))
        return
    if args.trace_compare:
        names = args.only if args.only != ["fib_2^20", "model_b"] else ["fib_2^18", "fib_2^20", "model_b"]
        load0 = os.getloadavg()[0]
        rows = trace_compare(args.trace_compare.resolve(), names, args.repeat)
        (OUT.parent / "trace_compare.json").write_text(json.dumps(rows, indent=1))
        section = "\n".join([
            TSTART, "## Trace generation: before vs after (`python bench/prover_profile.py --trace-compare OLD`)",
            "", f"`riscv_air.generate` on the same record, each run in a fresh process, the two checkouts "
            f"alternating ({args.repeat} runs each, best shown; OLD = `{args.trace_compare.name}`). Machine: "
            f"{platform.machine()}, {os.cpu_count()} cores, 1-minute load average {load0:.1f} before and "
            f"{os.getloadavg()[0]:.1f} after: wall seconds are inflated by other jobs, CPU seconds (user + "
            "system of the process during the call) much less so. Page faults = minor faults during the call "
            "(a populated mapping counts its pages).", "",
            compare_markdown(rows, args.trace_compare.resolve()), TEND])
        _write_section(section, TSTART, TEND)
        print(section)
        return
    if args.render:
        result = json.loads(OUT.read_text())
        if args.callgrind_json and args.callgrind_json.exists():
            result["callgrind"] = json.loads(args.callgrind_json.read_text())
        write(result)
        return
    if args.only == []:  # callgrind alone (e.g. ahead of the timed runs)
        result = callgrind(args.callgrind_workload)
        if args.callgrind_json:
            args.callgrind_json.write_text(json.dumps(result, indent=1))
        print(json.dumps(result, indent=1))
        return
    load0 = os.getloadavg()[0]
    result = {"machine": platform.machine(), "cores": os.cpu_count(), "python": platform.python_version(),
              "workloads": {}}
    for name in args.only:
        print(f"{name}: prove...", file=sys.stderr, flush=True)
        prof = run_self(["--prove-only", name])
        if not args.no_cprofile:
            print(f"{name}: prove under cProfile...", file=sys.stderr, flush=True)
            prof["cprofile"] = run_self(["--prove-profile", name])["cprofile"]
        print(f"{name}: trace split...", file=sys.stderr, flush=True)
        prof["trace"] = run_self(["--trace-only", name])
        result["workloads"][name] = prof
    if args.callgrind_json and args.callgrind_json.exists():
        result["callgrind"] = json.loads(args.callgrind_json.read_text())
    elif not args.no_callgrind:
        print(f"callgrind ({args.callgrind_workload}, a few minutes)...", file=sys.stderr, flush=True)
        result["callgrind"] = callgrind(args.callgrind_workload)
        if args.callgrind_json:
            args.callgrind_json.write_text(json.dumps(result["callgrind"], indent=1))
    result["load"] = [load0, os.getloadavg()[0]]
    write(result)


def write(result: dict) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1))
    section = markdown(result)
    _write_section(section, START, END)
    print(section)


def _write_section(section: str, start: str, end: str) -> None:
    text = README.read_text()
    if start in text and end in text:
        text = text[:text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    README.write_text(text)


def compare_markdown(rows: list[dict], other: Path) -> str:
    """Best of the repeats per side: wall s, CPU s (user + system of the generate call) and page faults."""
    by: dict = {}
    for r in rows:
        by.setdefault((r["workload"], r["root"] == str(ROOT)), []).append(r)
    cpu = lambda r: r["trace_user_s"] + r["trace_sys_s"]  # noqa: E731
    lines = ["| workload | cycles | before: wall s / CPU s / page faults | after: wall s / CPU s / page faults | "
             "wall ratio | CPU ratio | before / after peak RSS MB |", "|---|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["workload"] for r in rows):
        o, t = by[(name, False)], by[(name, True)]
        bo, bt = min(o, key=cpu), min(t, key=cpu)
        wo, wt = min(x["trace_s"] for x in o), min(x["trace_s"] for x in t)
        lines.append(f"| {name} | {bt['cycles']:,} | {wo:.2f} / {cpu(bo):.2f} / {bo['minor_faults']:,} | "
                     f"{wt:.2f} / {cpu(bt):.2f} / {bt['minor_faults']:,} | {wo / wt:.1f}x | {cpu(bo) / cpu(bt):.1f}x | "
                     f"{min(x['peak_rss_mb'] for x in o):,.0f} / {min(x['peak_rss_mb'] for x in t):,.0f} |")
    return "\n".join(lines)


def markdown(res: dict) -> str:
    L = [START, "## Where the prover's time goes (`python bench/prover_profile.py`)", "",
         f"Machine: {res['machine']}, {res['cores']} cores, Python {res['python']}; 1-minute load average "
         f"{res['load'][0]:.1f} before, {res['load'][1]:.1f} after (shared machine: shares and ratios are "
         "steadier than seconds). Zero knowledge on, default options; each figure from its own process."]
    for name, w in res["workloads"].items():
        ph = w["phases_s"]
        prove = ph.get("prove", 0.0)
        total = w["prove_s"]
        L += ["", f"### {name}: {w['cycles']:,} cycles, prove {total:.1f} s ({w['cycles'] / total:,.0f} Hz), "
              f"peak RSS {w['peak_rss_mb']:,.0f} MB, CPU {w['cpu_s']:.0f} s, receipt {w['receipt_bytes'] / 1024:,.0f} KB", "",
              "| phase | s | share |", "|---|---|---|"]
        rows = [("execute (record)", ph.get("execute", 0)), ("setup (fixed columns)", ph.get("setup", 0)),
                ("trace (fill)", ph.get("trace", 0))]
        rows += [(f"STARK {p}", ph.get(f"prove.{p}", 0)) for p in PHASES]
        rest = prove - sum(ph.get(f"prove.{p}", 0) for p in PHASES)
        rows.append(("STARK other (transcript, openings, glue)", rest))
        for label, s in rows:
            L.append(f"| {label} | {s:.2f} | {100 * s / total:.0f}% |")
        L += ["", "Per table (main and aux columns as the prover commits them with zk; aux in base-field "
              "equivalents, 4 per extension column; cells = (main + aux) x padded height; fill = CPU seconds of "
              "its trace step; STARK = wall seconds of its LDEs, LogUp column and quotient, the Merkle trees and FRI being shared):", "",
              "| table | rows | main | aux | cells (M) | share of cells | fill CPU s | STARK s |",
              "|---|---|---|---|---|---|---|---|"]
        cols, heights = w["columns"], w["heights"]
        steps = w["trace"]["steps_s"]
        fill_of = _fill_by_table(w["trace"].get("steps_cpu_s", steps))
        cells = {t: (cols[t]["main"] + cols[t]["aux"]) * heights.get(t, 0) for t in cols if t in heights}
        all_cells = sum(cells.values()) or 1
        for t in sorted(cells, key=lambda t: -cells[t]):
            c = cols[t]
            L.append(f"| {t} | {heights[t]:,} | {c['main']} | {c['aux']} | {cells[t] / 1e6:.1f} | "
                     f"{100 * cells[t] / all_cells:.1f}% | {fill_of.get(t, 0):.3f} | "
                     f"{ph.get(f'prove.table.{t}', 0):.2f} |")
        tr = w["trace"]
        cpu_steps = tr.get("steps_cpu_s", {})
        L += ["", f"Trace fill steps (wall s / CPU s, exclusive of nested steps; one generate call in a fresh "
              f"process: {tr['trace_s']:.2f} s wall, {tr.get('trace_user_s', 0) + tr.get('trace_sys_s', 0):.2f} s "
              f"CPU, {tr.get('minor_faults', 0):,} page faults, peak RSS {tr['peak_rss_mb']:,.0f} MB): "
              + ", ".join(f"{k} {v:.3f} / {cpu_steps.get(k, 0):.3f}"
                          for k, v in sorted(steps.items(), key=lambda kv: -kv[1]) if v >= 0.001)]
        if w.get("cprofile"):
            L += ["", "cProfile of the whole prove (own time; C calls appear as their Python entry point):", "",
                  "| function | calls | own s | cum s |", "|---|---|---|---|"]
            for r in w["cprofile"][:15]:
                L.append(f"| `{r['function']}` | {r['calls']:,} | {r['own_s']:.3f} | {r['cum_s']:.3f} |")
    cg = res.get("callgrind")
    if cg and "error" not in cg:
        tot = cg["total_ir"] or 1
        L += ["", f"### callgrind: {cg['workload']}, one thread ({cg['total_ir'] / 1e9:.1f} G instructions in all)",
              "", "By object: " + ", ".join(f"{k} {v / 1e9:.2f} G ({100 * v / tot:.0f}%)"
                                           for k, v in sorted(cg["by_object"].items(), key=lambda kv: -kv[1])),
              "", "| native function | file | G instructions | share |", "|---|---|---|---|"]
        for f in cg["native"][:15]:
            L.append(f"| `{f['function']}` | {f['file']} | {f['ir'] / 1e9:.3f} | {100 * f['ir'] / tot:.1f}% |")
        L += ["", "Largest non-native functions: " + ", ".join(
            f"`{f['function']}` ({f['object']}) {f['ir'] / 1e9:.2f} G" for f in cg["others"][:6])]
    elif cg:
        L += ["", f"callgrind: {cg['error']}"]
    L.append(END)
    return "\n".join(L)


def _fill_by_table(steps: dict) -> dict:
    out = {}
    for label, s in steps.items():
        if label.startswith("cpu"):
            out["cpu"] = out.get("cpu", 0) + s
        elif label.startswith("sha256"):
            out["sha256_round"] = out.get("sha256_round", 0) + s
        elif label.startswith("dot"):
            out["dot"] = out.get("dot", 0) + s
        else:
            out[label] = out.get(label, 0) + s
    return out


if __name__ == "__main__":
    main()
