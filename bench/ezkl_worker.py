"""One EZKL step in its own process, so the benchmark can measure each step's wall time and peak RSS.

    python bench/ezkl_worker.py prepare DIR MODEL.onnx CALIB.json PARAMS   # gen_settings, calibrate
                                                       # (resources), compile, SRS, witness, setup
    python bench/ezkl_worker.py prove DIR
    python bench/ezkl_worker.py verify DIR
    python bench/ezkl_worker.py witness DIR INPUTS.json OUT.json     # outputs for an accuracy check

Input private, output public, and PARAMS the weights' visibility, matching one of our privacy modes:
  fixed          the weights are baked into the circuit (bound by the verifying key), like our `--public model`
                 (a public model linked into the guest, bound by the image id);
  hashed/public  the weights are private witness values and the circuit exposes their Poseidon hash as a
                 public instance, like our `--public none` (the guest hashes salt + blob and commits the
                 SHA-256; EZKL's hash is unsalted, so it binds the weights but a guessed model can be tested).
The SRS is generated locally (gen_srs; no download): fine for timing, not a trusted setup.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
from pathlib import Path

import ezkl


def _call(fn, *args, **kwargs):
    res = fn(*args, **kwargs)
    return asyncio.run(res) if inspect.isawaitable(res) else res


PARAM_VISIBILITIES = ("fixed", "hashed/public")


def prepare(d: Path, onnx_path: str, calib: str, params: str) -> None:
    if params not in PARAM_VISIBILITIES:
        sys.exit(f"params visibility must be one of {PARAM_VISIBILITIES}")
    args = ezkl.PyRunArgs()
    args.input_visibility = "private"
    args.param_visibility = params
    args.output_visibility = "public"
    settings = str(d / "settings.json")
    _call(ezkl.gen_settings, onnx_path, settings, py_run_args=args)
    _call(ezkl.calibrate_settings, calib, onnx_path, settings, "resources")
    _call(ezkl.compile_circuit, onnx_path, str(d / "model.compiled"), settings)
    logrows = json.loads(Path(settings).read_text())["run_args"]["logrows"]
    _call(ezkl.gen_srs, str(d / "kzg.srs"), logrows)
    sample = d / "input.json"
    if not sample.exists():
        sample.write_text(Path(calib).read_text())
    _call(ezkl.gen_witness, str(sample), str(d / "model.compiled"), str(d / "witness.json"))
    _call(ezkl.setup, str(d / "model.compiled"), str(d / "vk.key"), str(d / "pk.key"), str(d / "kzg.srs"))
    print(json.dumps({"logrows": logrows}))


def prove(d: Path) -> None:
    _call(ezkl.prove, str(d / "witness.json"), str(d / "model.compiled"), str(d / "pk.key"), str(d / "proof.json"),
          str(d / "kzg.srs"))


def verify(d: Path) -> None:
    ok = _call(ezkl.verify, str(d / "proof.json"), str(d / "settings.json"), str(d / "vk.key"), str(d / "kzg.srs"))
    if not ok:
        sys.exit("EZKL verification failed")


def witness(d: Path, inputs: str, out: str) -> None:
    """Run EZKL's quantised circuit on many inputs; write the argmax of each output."""
    rows = json.loads(Path(inputs).read_text())
    preds = []
    tmp_in, tmp_w = d / "acc_in.json", d / "acc_w.json"
    for row in rows:
        tmp_in.write_text(json.dumps({"input_data": [row]}))
        _call(ezkl.gen_witness, str(tmp_in), str(d / "model.compiled"), str(tmp_w))
        w = json.loads(tmp_w.read_text())
        outs = w["pretty_elements"]["rescaled_outputs"][0]
        vals = [float(v) for v in outs]
        preds.append(max(range(len(vals)), key=vals.__getitem__))
    Path(out).write_text(json.dumps(preds))


if __name__ == "__main__":
    step, directory = sys.argv[1], Path(sys.argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    {"prepare": lambda: prepare(directory, sys.argv[3], sys.argv[4], sys.argv[5]), "prove": lambda: prove(directory),
     "verify": lambda: verify(directory), "witness": lambda: witness(directory, sys.argv[3], sys.argv[4])}[step]()
