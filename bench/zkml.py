"""zkML benchmark: our zkvm vs EZKL on the same three digits models, side by side in one run.

    python bench/zkml.py [--models a,b,c] [--modes model,none] [--no-prove] [--no-ezkl] [--ezkl-acc N]

Like for like, per privacy mode (input private, output public in both systems):
  our `model` (public model linked into the guest, bound by the image id)  vs  EZKL params `fixed` (baked into
      the circuit, bound by the verifying key);
  our `none` (private model: blob + salt in the private input, the guest commits SHA-256(tag||salt||blob))  vs
      EZKL params `hashed/public` (weights private, their Poseidon hash a public instance).
For each model: guest cycles per privacy mode; for the proven modes prove time, peak RSS of the proving
process, receipt size, verify time; accuracy (float / our integer engine / agreement on the whole digits
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
PY = sys.executable
SECTION_START = "<!-- zkml:start -->"
SECTION_END = "<!-- zkml:end -->"
#: Our privacy mode -> the EZKL param visibility it is compared with (see the module docstring).
EZKL_PARAMS = {"model": "fixed", "none": "hashed/public"}
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
    return {"seconds": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "stdout": out}


# ---------------------------------------------------------------------------------------------- our side

def worker(argv: list[str]) -> None:
    """`--worker prove MODEL MODE RECEIPT` / `--worker verify RECEIPT IMAGE_ID` in a fresh process."""
    from host.api.ml import guest_request
    from host.ml import models
    from zkvm import receipt as rc
    from zkvm.elf import load_elf

    if argv[0] == "prove":
        name, mode, path = argv[1], argv[2], argv[3]
        qm = models.load_model(name)
        x, _ = models.test_data(name)
        elf, req = guest_request(name, qm.quantize_input(x[0]).tobytes(), public=mode)
        image = load_elf(elf)
        res, r = rc.prove(image, req, zk=True)
        Path(path).write_bytes(r.to_bytes())
        print(json.dumps({"cycles": res.cycles, "zk": r.zk, "image_id": r.claim.image_id.hex(),
                          "receipt_bytes": len(r.to_bytes())}))
    elif argv[0] == "verify":
        r = rc.read_receipt(argv[1])
        rc.verify(r, bytes.fromhex(argv[2]))
        print(json.dumps({"ok": True}))


def our_side(name: str, modes: list[str], prove: bool) -> dict:
    from host.api.ml import guest_request
    from host.ml import models
    from zkvm.elf import load_elf
    from zkvm.exec import Executor

    qm = models.load_model(name)
    x, _ = models.test_data(name)
    out: dict = {"cycles": {}}
    for mode in ("none", "input", "model", "both"):
        elf, req = guest_request(name, qm.quantize_input(x[0]).tobytes(), public=mode)
        out["cycles"][mode] = Executor(load_elf(elf), req).run().cycles
    out["proofs"] = {}
    if not prove:
        return out
    from host.ml.limits import MAX_PROVABLE_CYCLES

    for mode in modes:
        path = OUT / f"zkml_{name}_{mode}.receipt"
        if out["cycles"][mode] > MAX_PROVABLE_CYCLES:
            out["proofs"][mode] = {"error": f"not provable: {out['cycles'][mode]:,} cycles > {MAX_PROVABLE_CYCLES:,}"}
            print(f"  ours {name}/{mode}: {out['proofs'][mode]}", file=sys.stderr)
            continue
        try:
            p = run_reaped([PY, __file__, "--worker", "prove", name, mode, str(path)])
            info = json.loads(p["stdout"].strip().splitlines()[-1])
            v = run_reaped([PY, __file__, "--worker", "verify", str(path), info["image_id"]])
            out["proofs"][mode] = {
                "prove_seconds": p["seconds"], "prove_peak_rss_mb": p["peak_rss_mb"], "zk": info["zk"],
                "receipt_bytes": info["receipt_bytes"], "verify_seconds": v["seconds"],
                "verify_peak_rss_mb": v["peak_rss_mb"],
            }
        except RuntimeError as exc:
            out["proofs"][mode] = {"error": str(exc)[-500:]}
        print(f"  ours {name}/{mode}: {out['proofs'][mode]}", file=sys.stderr)
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


def table(results: dict) -> str:
    lines = [
        "| model | comparison (ours / EZKL params) | cycles | ours: prove s | ours: peak MB | ours: receipt KB |"
        " ours: verify s | EZKL: logrows | EZKL: prove s | EZKL: peak MB | EZKL: proof KB | EZKL: verify s |"
        " EZKL setup s | prove ratio (ours/EZKL) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["models"].items():
        ours = r["ours"]
        for mode, p in ours["proofs"].items():
            params = EZKL_PARAMS.get(mode)
            e = r.get("ezkl", {}).get(params, {}) if params else {}
            ratio = (p["prove_seconds"] / e["prove_seconds"]) if p.get("prove_seconds") and e.get("prove_seconds") else None
            if "error" in p:
                ours_cells = f"{p['error']} | — | — | —"
            else:
                ours_cells = (f"{fmt(p.get('prove_seconds'))}{'' if p.get('zk', True) else ' (no zk)'} | "
                              f"{fmt(p.get('prove_peak_rss_mb'), digits=0)} | {fmt(p['receipt_bytes'] / 1024, digits=0)} | "
                              f"{fmt(p.get('verify_seconds'), digits=2)}")
            if "error" in e:
                ezkl_cells = f"{e['error'][-120:]} | — | — | — | — | —"
            else:
                ezkl_cells = (f"{fmt(e.get('logrows'))} | {fmt(e.get('prove_seconds'))} | "
                              f"{fmt(e.get('prove_peak_rss_mb'), digits=0)} | "
                              f"{fmt(e.get('proof_bytes', 0) / 1024 if e.get('proof_bytes') else None, digits=0)} | "
                              f"{fmt(e.get('verify_seconds'), digits=2)} | {fmt(e.get('setup_seconds'))}")
            lines.append(f"| {name} | {MODE_LABEL.get(mode, mode)}: `{mode}` / `{params or '—'}` | "
                         f"{ours['cycles'][mode]:,} | {ours_cells} | {ezkl_cells} | {fmt(ratio, 'x', 2)} |")
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
            "Ours: zero-knowledge STARK. Times are wall clock of separate processes; peak MB is each process's "
            "max RSS.\n\n"
            f"{table(results)}\n\n{results.get('note', '')}\n{SECTION_END}")
    if SECTION_START in text:
        pre, rest = text.split(SECTION_START, 1)
        post = rest.split(SECTION_END, 1)[1] if SECTION_END in rest else ""
        text = pre + body + post
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    path.write_text(text)


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
    args = ap.parse_args()
    from host.ml import models

    OUT.mkdir(parents=True, exist_ok=True)
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
               "modes": modes, "note": args.note, "models": {}}
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
    write_readme(results)
    print(table(results))


if __name__ == "__main__":
    main()
