"""zkML benchmark: our zkvm vs EZKL on the same three digits models, side by side in one run.

    python bench/zkml.py [--models a,b,c] [--modes model,none] [--no-prove] [--no-ezkl] [--ezkl-acc N]
                         [--baseline REV]
    python bench/zkml.py --privacy [--models a,b,c] [--modes model,none,input]

--privacy: ours only, private vs public modes of each model proven in the same run (the cost of keeping the
model private: reading and hashing the blob, on the SHA-256 accelerator); writes bench/out/zkml_privacy.json
and the zkml-privacy section of bench/README.md, leaving the EZKL comparison untouched.

Like for like, per privacy mode (input private, output public in both systems):
  our `model` (public model linked into the guest, bound by the image id)  vs  EZKL params `fixed` (baked into
      the circuit, bound by the verifying key);
  our `none` (private model: blob + salt in the private input, the guest commits SHA-256(tag||salt||blob))  vs
      EZKL params `hashed/public` (weights private, their Poseidon hash a public instance).
--baseline REV also proves the guest built from guest/nn of git revision REV (accelerator on, this tree's
toolchain) in the same run, as accel `on, guest/nn @ REV`: engine before/after figures side by side.

Our timed prove process starts from the guest ELF and the bytes of its private input, prepared by this harness
(as EZKL's timed prove starts from a prepared witness input); it executes the guest (our witness generation)
and proves. Setup (the fixed-column commitment, cached) is a separate process, like EZKL's setup.
For each model: guest cycles per privacy mode, with the dot-product accelerator off (guest/nn built with
NN_NO_DOT_ECALL) and on; for the proven modes (both builds) rows per table, prove time (wall and CPU), the split
of prove time by table, peak RSS of the proving process, receipt size, verify time; accuracy (float / our integer engine / agreement on the whole digits
test split). When the `ezkl` package is installed: EZKL's settings (calibrated for resources), setup, prove,
verify on the ONNX export of the same model: times, peak RSS, proof size, logrows, and the accuracy of EZKL's
quantised circuit on the first N test images. Every proving step runs in its own process (peak RSS from
wait4). Writes bench/out/zkml.json and the zkML section of bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "bench" / "out"
#: A cache of its own, emptied at the start of a run: every image's first proof sees it cold, after its setup.
FIXED_CACHE = OUT / "fixed_cache"
PY = sys.executable
SECTION_START = "<!-- zkml:start -->"
SECTION_END = "<!-- zkml:end -->"
#: Our privacy mode -> the EZKL param visibility it is compared with (see the module docstring).
EZKL_PARAMS = {"model": "fixed", "none": "hashed/public"}
#: Guest builds compared: guest/nn without (NN_NO_DOT_ECALL) and with the dot-product accelerator.
ACCEL = ("off", "on")
MODE_LABEL = {"model": "public model", "none": "private model", "input": "private model, public input",
              "both": "public model, public input"}




def run_reaped(cmd: list[str]) -> dict:
    """Run a child process and reap it ourselves (wait4), so ru_maxrss is this child's peak alone.
    -> wall seconds, peak RSS in MB, stdout. Output goes through temp files (no pipe deadlock)."""
    import tempfile

    with tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fout, stderr=ferr, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read().decode(errors="replace"), ferr.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd[:5]))}... failed ({proc.returncode}): {err[-2000:]}")
    return {"seconds": wall, "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "stdout": out}


def load_average() -> float:
    return os.getloadavg()[0]


# ---------------------------------------------------------------------------------------------- our side

def worker(argv: list[str]) -> None:
    """`--worker prove ELF INPUT RECEIPT` / `--worker setup ELF` / `--worker verify RECEIPT IMAGE_ID`, each in a
    fresh process. The prove process starts from what the harness prepared (the guest ELF and the bytes of its
    private input), like EZKL's timed prove starts from a prepared witness input: it imports only the prover,
    loads the ELF, executes the guest (our witness generation) and proves."""
    from zkvm import receipt as rc
    from zkvm.elf import load_elf

    if argv[0] == "prove":
        elf, inp, path = argv[1], argv[2], argv[3]
        image, req = load_elf(elf), Path(inp).read_bytes()
        stats = rc.ProveStats()
        res, r = rc.prove(image, req, zk=True, stats=stats, fixed_cache=str(FIXED_CACHE))
        Path(path).write_bytes(r.to_bytes())
        print(json.dumps({"cycles": res.cycles, "zk": r.zk, "image_id": r.claim.image_id.hex(),
                          "receipt_bytes": len(r.to_bytes()), "heights": stats.heights, "phases": stats.phases}))
    elif argv[0] == "setup":  # the proving key: fixed columns committed and cached (EZKL's setup analogue)
        from zkvm.circuit import riscv_air
        from zkvm.stark.proving.prover import commit_fixed_data

        commit_fixed_data(riscv_air.circuit().air, riscv_air.setup(load_elf(argv[1])).fixed, str(FIXED_CACHE))
    elif argv[0] == "verify":
        r = rc.read_receipt(argv[1])
        t = time.perf_counter()
        rc.verify(r, bytes.fromhex(argv[2]))
        cold = time.perf_counter() - t
        t = time.perf_counter()  # again, with the AIR compiled and the modules warm (a verifier service)
        rc.verify(r, bytes.fromhex(argv[2]))
        print(json.dumps({"ok": True, "seconds": time.perf_counter() - t, "cold_seconds": cold}))


#: guest/nn of another git revision (`--baseline REV`), proven as accel "base" next to this tree's builds.
BASELINE: dict = {}


def baseline_elf(name: str, mode: str) -> Path:
    """The ML guest of model `name` in `mode` built from guest/nn (and guest/ml_private) of BASELINE["rev"],
    with the accelerator and this tree's toolchain: a before/after comparison of the engine in one run."""
    import hashlib
    import shutil

    from host.build import build_guest
    from host.ml import models

    rev = BASELINE["rev"]
    root = OUT / "baseline" / rev.replace("/", "_")
    if not (root / "guest" / "nn").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        tar = subprocess.run(["git", "archive", rev, "guest/nn", "guest/ml_private"], cwd=REPO, capture_output=True,
                             check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=tar, check=True)
    if mode in ("model", "both"):
        blob = models.load_blob(name)
        d = root / "public" / hashlib.sha256(blob).hexdigest()[:16]
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        (d / "main.c").write_text(models.public_guest_source(blob))
        (d / "sources.txt").write_text(f"{root / 'guest' / 'nn'}\n")
        return build_guest(d, d / "guest.elf")
    elf = root / "ml_private.elf"
    return elf if elf.exists() else build_guest(root / "guest" / "ml_private", elf)


def prepare(name: str, mode: str, accel: str) -> tuple[Path, Path]:
    """The guest ELF of (model, mode, accel) and its private input for the first test image, written to
    bench/out: the prove process's starting point (built here, untimed, like EZKL's witness input)."""
    from host.api.ml import guest_request
    from host.ml import models

    qm = models.load_model(name)
    x, _ = models.test_data(name)
    elf, req = guest_request(name, qm.quantize_input(x[0]).tobytes(), public=mode, accel=accel != "off")
    if accel == "base":
        elf = baseline_elf(name, mode)
    inp = OUT / f"zkml_{name}_{mode}_{accel}.input"
    inp.write_bytes(req)
    return Path(elf), inp


def our_side(name: str, modes: list[str], prove: bool, accels: tuple[str, ...] = ACCEL) -> dict:
    from zkvm.elf import load_elf
    from zkvm.exec import Executor

    variants = ACCEL + (("base",) if BASELINE else ())
    out: dict = {"cycles": {}}
    prepared = {}
    for mode in ("none", "input", "model", "both"):
        for accel in variants:
            prepared[mode, accel] = elf, inp = prepare(name, mode, accel)
            out["cycles"][f"{mode}:{accel}"] = Executor(load_elf(elf), inp.read_bytes()).run().cycles
    out["proofs"] = {}
    if not prove:
        return out
    from host.ml.limits import MAX_PROVABLE_CYCLES

    for mode in modes:
        for accel in accels + (("base",) if BASELINE else ()):
            key = f"{mode}:{accel}"
            path = OUT / f"zkml_{name}_{mode}_{accel}.receipt"
            if out["cycles"][key] > MAX_PROVABLE_CYCLES:
                out["proofs"][key] = {"error": f"not provable: {out['cycles'][key]:,} cycles > {MAX_PROVABLE_CYCLES:,}"}
                print(f"  ours {name}/{key}: {out['proofs'][key]}", file=sys.stderr)
                continue
            elf, inp = prepared[mode, accel]
            try:
                st = run_reaped([PY, __file__, "--worker", "setup", str(elf)])
                load = load_average()
                p = run_reaped([PY, __file__, "--worker", "prove", str(elf), str(inp), str(path)])
                info = json.loads(p["stdout"].strip().splitlines()[-1])
                v = run_reaped([PY, __file__, "--worker", "verify", str(path), info["image_id"]])
                out["proofs"][key] = {
                    "setup_seconds": st["seconds"],
                    "prove_seconds": p["seconds"], "prove_cpu_seconds": p["cpu_seconds"],
                    "prove_peak_rss_mb": p["peak_rss_mb"], "zk": info["zk"], "load_avg": load,
                    "receipt_bytes": info["receipt_bytes"], "verify_seconds": v["seconds"],
                    "verify_in_process_seconds": json.loads(v["stdout"].strip().splitlines()[-1]).get("seconds"),
                    "verify_cold_seconds": json.loads(v["stdout"].strip().splitlines()[-1]).get("cold_seconds"),
                    "verify_peak_rss_mb": v["peak_rss_mb"], "heights": info["heights"], "phases": info["phases"],
                }
            except RuntimeError as exc:
                out["proofs"][key] = {"error": str(exc)[-500:]}
            print(f"  ours {name}/{key}: {out['proofs'][key]}", file=sys.stderr)
    return out


# ---------------------------------------------------------------------------------------------- EZKL

def ezkl_side(name: str, params: str, n_acc: int) -> dict:
    try:
        import ezkl  # noqa: F401
    except ImportError as exc:
        return {"error": f"ezkl not installed ({exc})"}
    from host.ml import models

    x, y = models.test_data(name)
    d = OUT / f"ezkl_{name}_{params.replace('/', '_')}"
    d.mkdir(parents=True, exist_ok=True)
    calib = d / "calibration.json"
    calib.write_text(json.dumps({"input_data": [x[:1].reshape(-1).tolist()]}))
    worker_py = str(REPO / "bench" / "ezkl_worker.py")
    res: dict = {}
    try:
        prep = run_reaped([PY, worker_py, "prepare", str(d), str(models.paths(name)["onnx"]), str(calib), params])
        res["logrows"] = json.loads(prep["stdout"].strip().splitlines()[-1])["logrows"]
        res["setup_seconds"], res["setup_peak_rss_mb"] = prep["seconds"], prep["peak_rss_mb"]
        p = run_reaped([PY, worker_py, "prove", str(d)])
        res["prove_seconds"], res["prove_peak_rss_mb"] = p["seconds"], p["peak_rss_mb"]
        res["prove_cpu_seconds"], res["load_avg"] = p["cpu_seconds"], load_average()
        res["proof_bytes"] = (d / "proof.json").stat().st_size
        v = run_reaped([PY, worker_py, "verify", str(d)])
        res["verify_seconds"], res["verify_peak_rss_mb"] = v["seconds"], v["peak_rss_mb"]
        res["pk_bytes"] = (d / "pk.key").stat().st_size
        if n_acc > 0:
            inputs = d / "acc_inputs.json"
            inputs.write_text(json.dumps([r.reshape(-1).tolist() for r in x[:n_acc]]))
            preds_path = d / "acc_preds.json"
            run_reaped([PY, worker_py, "witness", str(d), str(inputs), str(preds_path)])
            preds = json.loads(preds_path.read_text())
            import numpy as np

            from host.ml.onnx_io import load

            fm = load(models.paths(name)["onnx"])
            fpred = fm.predict(x[:n_acc])
            res["accuracy"] = {"samples": n_acc, "top1": float(np.mean(np.array(preds) == y[:n_acc])),
                               "agreement_with_float": float(np.mean(np.array(preds) == fpred))}
    except RuntimeError as exc:
        res["error"] = str(exc)[-800:]
    print(f"  ezkl {name}/{params}: {res}", file=sys.stderr)
    return res


# ---------------------------------------------------------------------------------------------- report

def first_n_accuracy(name: str, n: int) -> float | None:
    """Our integer engine's top-1 on the same first-N test images EZKL's accuracy used."""
    if n <= 0:
        return None
    from host.ml import models, reference

    qm = models.load_model(name)
    x, y = models.test_data(name)
    return float((reference.predict(qm, qm.quantize_input(x[:n])) == y[:n]).mean())


def fmt(v, unit="", digits=1):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}{unit}"
    return f"{v}{unit}"


#: Tables shown in the rows-per-table column (the rest are small or fixed).
SHOWN_TABLES = ("cpu", "alu", "dot", "image", "program", "range16", "bytes")


def _log2(h: int) -> str:
    return f"2^{int(h).bit_length() - 1}"


def accel_label(accel: str) -> str:
    return f"on, guest/nn @ {BASELINE['rev']}" if accel == "base" else accel


def table(results: dict) -> str:
    lines = [
        "| model | mode / EZKL params | accel | cycles | rows per table (2^k): " + " / ".join(SHOWN_TABLES) +
        " | setup s | prove s | prove CPU s | peak MB | receipt KB | verify s (process / in-process first / warm) |"
        " EZKL setup s | EZKL prove s | EZKL prove CPU s | EZKL peak MB | EZKL proof KB | EZKL verify s | prove ratio ours/EZKL |"
        " RSS ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["models"].items():
        ours = r["ours"]
        for key, p in ours["proofs"].items():
            mode, accel = key.split(":")
            params = EZKL_PARAMS.get(mode)
            e = r.get("ezkl", {}).get(params, {}) if params else {}
            ok_e = "error" not in e and e.get("prove_seconds")
            if "error" in p:
                ours_cells = f"— | {p['error']} | — | — | — | — | —"
            else:
                rows = " / ".join(_log2(p["heights"][t]) if t in p["heights"] else "—" for t in SHOWN_TABLES)
                ours_cells = (f"{rows} | {fmt(p.get('setup_seconds'))} | {fmt(p['prove_seconds'])} | {fmt(p.get('prove_cpu_seconds'))} | "
                              f"{fmt(p['prove_peak_rss_mb'], digits=0)} | {fmt(p['receipt_bytes'] / 1024, digits=0)} | "
                              f"{fmt(p['verify_seconds'], digits=2)} / {fmt(p.get('verify_cold_seconds'), digits=3)} / "
                              f"{fmt(p.get('verify_in_process_seconds'), digits=3)}")
            if "error" in e:
                ezkl_cells = f"{e['error'][-100:]} | — | — | — | — | —"
            else:
                ezkl_cells = (f"{fmt(e.get('setup_seconds'))} | {fmt(e.get('prove_seconds'))} | {fmt(e.get('prove_cpu_seconds'))} | "
                              f"{fmt(e.get('prove_peak_rss_mb'), digits=0)} | "
                              f"{fmt(e.get('proof_bytes', 0) / 1024 if e.get('proof_bytes') else None, digits=0)} | "
                              f"{fmt(e.get('verify_seconds'), digits=2)}")
            ratio = p["prove_seconds"] / e["prove_seconds"] if ok_e and "error" not in p else None
            rss = p["prove_peak_rss_mb"] / e["prove_peak_rss_mb"] if ok_e and "error" not in p else None
            lines.append(f"| {name} | {MODE_LABEL.get(mode, mode)}: `{mode}` / `{params or '—'}` | {accel_label(accel)} | "
                         f"{ours['cycles'][key]:,} | {ours_cells} | {ezkl_cells} | {fmt(ratio, 'x', 2)} | "
                         f"{fmt(rss, 'x', 2)} |")
    lines += ["", "Split of our prove time (wall s, accelerator on; per table: its LDEs, LogUp column and quotient; "
              "shared: the per-phase Merkle trees and FRI; setup: the fixed-column commitment of program / image / "
              "range16 / bytes, redone by every proof):", "",
              "| model | mode | execute | setup (fixed) | trace | " + " | ".join(SHOWN_TABLES) +
              " | other tables | Merkle (shared) | FRI (shared) |",
              "|---|---|---|---|---|" + "---|" * len(SHOWN_TABLES) + "---|---|---|"]
    for name, r in results["models"].items():
        for key, p in r["ours"]["proofs"].items():
            if "error" in p or key.endswith(":off"):
                continue
            ph = p["phases"]
            per = {k[len("prove.table."):]: v for k, v in ph.items() if k.startswith("prove.table.")}
            other = sum(v for t, v in per.items() if t not in SHOWN_TABLES)
            lines.append(f"| {name} | `{key.split(':')[0]}` {accel_label(key.split(':')[1])} | {ph.get('execute', 0):.2f} | {ph.get('setup', 0):.2f} | "
                         f"{ph.get('trace', 0):.2f} | " + " | ".join(f"{per.get(t, 0):.2f}" for t in SHOWN_TABLES) +
                         f" | {other:.2f} | {ph.get('prove.merkle', 0):.2f} | {ph.get('prove.fri', 0):.2f} |")
    lines += ["", "| model | float top-1 (all) | our int8 top-1 (all) | agreement (all) | our int8 top-1 (first N) |"
              " EZKL top-1 (first N) | EZKL agrees w/ float (first N) |",
              "|---|---|---|---|---|---|---|"]
    for name, r in results["models"].items():
        a = r["accuracy"]
        ea = next((e["accuracy"] for e in r.get("ezkl", {}).values() if isinstance(e, dict) and "accuracy" in e), {})
        lines.append(f"| {name} | {a['float_top1']:.4f} | {a['int_top1']:.4f} | {a['agreement']:.4f} | "
                     f"{fmt(r.get('accuracy_first_n'), digits=4)} | "
                     f"{fmt(ea.get('top1'), digits=4)} (N={ea.get('samples', '—')}) | {fmt(ea.get('agreement_with_float'), digits=4)} |")
    return "\n".join(lines)


def write_readme(results: dict) -> None:
    path = REPO / "bench" / "README.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    body = (f"{SECTION_START}\n## zkML: zkvm vs EZKL (`python bench/zkml.py`)\n\n"
            f"Machine: {results['machine']}. Input private and output public on both sides; each of our privacy "
            "modes is compared with the EZKL weight visibility that gives the verifier the same guarantee: "
            "`model` (public model linked into the guest, bound by the image id) with `fixed` (weights baked into "
            "the circuit, bound by the verifying key); `none` (private model, the guest commits "
            "SHA-256(tag ‖ salt ‖ blob)) with `hashed/public` (private weights, their Poseidon hash public). "
            "Ours: zero-knowledge STARK, guest/nn without (`off`, NN_NO_DOT_ECALL) and with (`on`) the int8 "
            "dot-product accelerator. Times are wall clock of separate processes (CPU = user + system of the "
            "process); peak MB is each process's max RSS. "
            f"1-minute load average: {results.get('load_before', '—')} before, {results.get('load_after', '—')} "
            "after the run.\n\n"
            f"{table(results)}\n\n{results.get('note', '')}\n{SECTION_END}")
    if SECTION_START in text:
        pre, rest = text.split(SECTION_START, 1)
        post = rest.split(SECTION_END, 1)[1] if SECTION_END in rest else ""
        text = pre + body + post
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    path.write_text(text)


PRIVACY_START, PRIVACY_END = "<!-- zkml-privacy:start -->", "<!-- zkml-privacy:end -->"


def privacy_section(results: dict) -> str:
    lines = [PRIVACY_START, "## zkML: private vs public modes (`python bench/zkml.py --privacy`)", "",
             f"Machine: {results['machine']}; 1-minute load average {results['load'][0]:.1f} before and "
             f"{results['load'][1]:.1f} after the run (shared machine). Zero-knowledge proofs (default options), "
             "each in its own process, all modes of a model in the same run. `model`: public model linked into "
             "the guest (nothing hashed); `none` / `input`: private model, the guest reads blob + salt and commits "
             "SHA-256(tag ‖ salt ‖ blob) on the SHA256 accelerator (`input` also publishes the input). Prove s = "
             "wall time of the proving process (execute, setup, trace, STARK).", "",
             "| model | blob | mode | cycles | cpu rows | prove s (CPU s) | peak MB | receipt KB | "
             "prove time vs `model`: wall (CPU) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results["models"].items():
        ours = r["ours"]
        base = ours["proofs"].get("model:on", {}).get("prove_seconds")
        base_cpu = ours["proofs"].get("model:on", {}).get("prove_cpu_seconds")
        for key, p in ours["proofs"].items():
            mode, cyc = key.split(":")[0], ours["cycles"][key]
            rows = 1 << max(2, (cyc - 1).bit_length())
            if "error" in p:
                lines.append(f"| {name} | {r['blob_bytes']:,} B | `{mode}` | {cyc:,} | {rows:,} | "
                             f"failed: {p['error'][:60]} | — | — | — |")
                continue
            ratio = f"{p['prove_seconds'] / base:.2f}x ({p['prove_cpu_seconds'] / base_cpu:.2f}x)" if base else "—"
            lines.append(f"| {name} | {r['blob_bytes']:,} B | `{mode}` | {cyc:,} | {rows:,} | "
                         f"{p['prove_seconds']:.1f} ({p['prove_cpu_seconds']:.1f}) | {p['prove_peak_rss_mb']:,.0f} | "
                         f"{p['receipt_bytes'] / 1024:,.0f} | {ratio} |")
    lines.append(PRIVACY_END)
    return "\n".join(lines)


def run_privacy(names: list[str], modes: list[str]) -> None:
    from host.ml import models

    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
               "modes": modes, "models": {}}
    load0 = os.getloadavg()[0]
    for name in names:
        if not models.paths(name)["blob"].exists():
            models.build_model(name, log=lambda m: print(m, file=sys.stderr))
        meta = json.loads(models.paths(name)["json"].read_text())
        print(f"model {name}", file=sys.stderr)
        results["models"][name] = {"blob_bytes": meta["blob_bytes"], "ours": our_side(name, modes, True, ("on",))}
    results["load"] = (load0, os.getloadavg()[0])
    (OUT / "zkml_privacy.json").write_text(json.dumps(results, indent=2))
    path = REPO / "bench" / "README.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    body = privacy_section(results)
    if PRIVACY_START in text and PRIVACY_END in text:
        a, b = text.index(PRIVACY_START), text.index(PRIVACY_END) + len(PRIVACY_END)
        text = text[:a] + body + text[b:]
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    path.write_text(text)
    print(body)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="a,b,c")
    ap.add_argument("--modes", default="model,none", help="privacy modes to prove (comma-separated)")
    ap.add_argument("--no-prove", action="store_true")
    ap.add_argument("--no-ezkl", action="store_true")
    ap.add_argument("--ezkl-modes", default=None,
                    help="which proven modes get their EZKL counterpart (default: all of --modes)")
    ap.add_argument("--ezkl-acc", type=int, default=100, help="test images for EZKL's accuracy (0 = skip)")
    ap.add_argument("--note", default="", help="text appended under the table")
    ap.add_argument("--merge", action="store_true", help="keep other models' results from bench/out/zkml.json")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite the README section from bench/out/zkml.json (no runs)")
    ap.add_argument("--baseline", metavar="REV", default=None,
                    help="also prove guest/nn of git revision REV (accelerator on), side by side: before/after")
    ap.add_argument("--privacy", action="store_true",
                    help="ours only: private vs public modes, in their own README section (no EZKL)")
    args = ap.parse_args()
    from host.ml import models

    if args.baseline:
        if subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{args.baseline}^{{commit}}"], cwd=REPO,
                          capture_output=True).returncode != 0:
            ap.error(f"--baseline: not a git revision: {args.baseline}")
        BASELINE["rev"] = args.baseline

    OUT.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        import shutil

        shutil.rmtree(FIXED_CACHE, ignore_errors=True)
    if args.privacy:
        modes = [m for m in args.modes.split(",") if m] if args.modes != "model,none" else ["model", "none", "input"]
        run_privacy([n for n in args.models.split(",") if n], modes)
        return
    if args.report_only:
        results = json.loads((OUT / "zkml.json").read_text())
        if args.note:
            results["note"] = args.note
        for name, r in results["models"].items():
            acc = next((e["accuracy"] for e in r.get("ezkl", {}).values() if isinstance(e, dict) and "accuracy" in e), {})
            r["accuracy_first_n"] = first_n_accuracy(name, acc.get("samples", 0))
        (OUT / "zkml.json").write_text(json.dumps(results, indent=2))
        write_readme(results)
        print(table(results))
        return
    names = [n for n in args.models.split(",") if n]
    modes = [m for m in args.modes.split(",") if m]
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
               "modes": modes, "note": args.note, "models": {}, "load_before": round(load_average(), 1)}
    previous = OUT / "zkml.json"
    if args.merge and previous.exists():
        results["models"] = json.loads(previous.read_text()).get("models", {})
    for name in names:
        if not models.paths(name)["blob"].exists():
            models.build_model(name, log=lambda m: print(m, file=sys.stderr))
        meta = json.loads(models.paths(name)["json"].read_text())
        print(f"model {name}", file=sys.stderr)
        r = {"description": meta["description"], "accuracy": meta["accuracy"], "blob_bytes": meta["blob_bytes"],
             "ours": our_side(name, modes, not args.no_prove)}
        if not args.no_ezkl:
            r["ezkl"] = {}
            ezkl_modes = modes if args.ezkl_modes is None else [m for m in args.ezkl_modes.split(",") if m]
            for i, mode in enumerate(m for m in ezkl_modes if m in EZKL_PARAMS):  # accuracy once: same quantisation
                r["ezkl"][EZKL_PARAMS[mode]] = ezkl_side(name, EZKL_PARAMS[mode], args.ezkl_acc if i == 0 else 0)
            acc = next((e["accuracy"] for e in r["ezkl"].values() if isinstance(e, dict) and "accuracy" in e), {})
            r["accuracy_first_n"] = first_n_accuracy(name, acc.get("samples", 0))
        results["models"][name] = r
        results["models"] = dict(sorted(results["models"].items()))
        (OUT / "zkml.json").write_text(json.dumps(results, indent=2))
    results["load_after"] = round(load_average(), 1)
    (OUT / "zkml.json").write_text(json.dumps(results, indent=2))
    write_readme(results)
    print(table(results))


if __name__ == "__main__":
    main()
