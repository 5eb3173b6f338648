"""`python -m host ml ...`: build the digits models, run and prove ML inference, verify ML receipts.

Privacy modes (`--public`):
  none   private input, private model   guest = model linked in with a random salt (image id binds it)
  input  public input,  private model   same guest; the journal carries the input tensor (or its SHA-256)
  model  private input, public model    generic guest; model blob in the private input, SHA-256 in the journal
  both   public input,  public model    generic guest; journal carries the model digest and the input
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from zkvm.errors import InputError, ZkvmError

log = logging.getLogger(__name__)
MODES = ("none", "input", "model", "both")


def register(subparsers) -> None:
    p = subparsers.add_parser("ml", help="zkML: build digits models, run/prove/verify private inference",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="ml_command", metavar="SUBCOMMAND", required=True)

    b = sub.add_parser("build-models", help="train, export (ONNX), quantise the digits models A, B, C into build/models")
    b.add_argument("--models", default="a,b,c", help="comma-separated subset of a,b,c (default all)")
    b.add_argument("--no-elf", action="store_true", help="skip building the private-model guest ELFs")
    b.set_defaults(func=cmd_build_models)

    def model_args(q, with_mode=True):
        q.add_argument("model", metavar="MODEL", help="a, b or c (built by `ml build-models`)")
        q.add_argument("--input", required=True, metavar="X",
                       help="digits:N (N-th image of the test split), FILE.npy (floats in [0,1]) or FILE.bin (int8 tensor)")
        if with_mode:
            q.add_argument("--public", choices=MODES, default="none",
                           help="what the verifier learns besides the prediction (default none)")
            q.add_argument("--input-digest", action="store_true",
                           help="with a public input: commit its SHA-256 instead of its bytes")

    qz = sub.add_parser("quantize", help="quantise an ONNX model into a blob for the ML guests")
    qz.add_argument("onnx", metavar="MODEL.onnx")
    qz.add_argument("--calibration", required=True, metavar="DATA",
                    help="digits8 / digits28 (training split of the bundled digits) or FILE.npy (N x features floats)")
    qz.add_argument("--input-range", nargs=2, type=float, default=(0.0, 1.0), metavar=("LO", "HI"),
                    help="value range of the float inputs (default 0 1)")
    qz.add_argument("--out", required=True, metavar="BLOB")
    qz.set_defaults(func=cmd_quantize)

    r = sub.add_parser("run", help="execute an ML guest (no proof): prediction and cycles")
    model_args(r)
    r.set_defaults(func=cmd_run)

    pr = sub.add_parser("prove", help="execute and prove an ML guest, write a receipt")
    model_args(pr)
    pr.add_argument("--receipt", required=True, metavar="R", help="receipt file to write")
    pr.add_argument("--no-zk", action="store_true", help="not zero-knowledge (refused with private data)")
    pr.set_defaults(func=cmd_prove)

    i = sub.add_parser("image-id", help="print the image id a verifier should expect for MODEL and mode")
    i.add_argument("model", metavar="MODEL")
    i.add_argument("--public", choices=MODES, default="none")
    i.set_defaults(func=cmd_image_id)

    v = sub.add_parser("verify", help="verify an ML receipt and print its decoded journal")
    v.add_argument("receipt", metavar="R")
    v.add_argument("--image-id", required=True, metavar="HEX", help="the guest's image id (64 hex digits)")
    v.add_argument("--model-digest", metavar="HEX", help="also require this model SHA-256 (public-model receipts)")
    v.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(func=cmd_verify)


# ---------------------------------------------------------------------------------------------- helpers

def _load_input(spec: str, name: str) -> np.ndarray:
    """-> int8 tensor for model `name`."""
    from host.ml import models

    qm = models.load_model(name)
    n = int(np.prod(qm.input_shape))
    if spec.startswith("digits:"):
        try:
            idx = int(spec.split(":", 1)[1])
        except ValueError:
            raise InputError(f"bad --input {spec!r}: expected digits:N") from None
        x, _ = models.test_data(name)
        if not 0 <= idx < len(x):
            raise InputError(f"--input digits:{idx} out of range (test split has {len(x)} images)")
        return qm.quantize_input(x[idx])
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"input file not found: {spec}")
    if path.suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except Exception as exc:  # numpy raises several types for malformed files
            raise InputError(f"cannot read {spec}: {exc}") from None
        if arr.size != n:
            raise InputError(f"{spec} has {arr.size} values, model {name} takes {n}")
        return qm.quantize_input(arr.reshape(-1).astype(np.float64))
    data = path.read_bytes()
    if len(data) != n:
        raise InputError(f"{spec} has {len(data)} bytes, model {name} takes {n} int8 values")
    return np.frombuffer(data, dtype=np.int8)


def _guest_and_request(name: str, mode: str, x: np.ndarray, input_digest: bool):
    """-> (ELF path, private input bytes) for a privacy mode."""
    from host.ml import guest_io, models

    public_model = mode in ("model", "both")
    public_input = mode in ("input", "both")
    if input_digest and not public_input:
        raise InputError("--input-digest needs a public input (--public input or both)")
    if public_model:
        return models.public_guest_elf(), guest_io.encode_request(x, models.load_blob(name), public_input, input_digest)
    return models.private_guest_elf(name), guest_io.encode_request(x, None, public_input, input_digest)


def _exit_error(code: int) -> None:
    from zkvm import abi

    if code != 0:
        names = {v: k for k, v in abi.EXIT_CODES.items()}
        raise ZkvmError(f"guest exited with code {code} ({names.get(code, 'unknown')})")


def _print_prediction(journal_bytes: bytes, extra: dict) -> None:
    from host.ml import guest_io

    j = guest_io.decode_journal(journal_bytes)
    out = {**j.describe(), **extra}
    print("\n".join(f"{k}: {v}" for k, v in out.items()))


# ---------------------------------------------------------------------------------------------- commands

def cmd_build_models(args) -> int:
    from host.ml import models

    names = [n.strip() for n in args.models.split(",") if n.strip()]
    for n in names:
        models.spec(n)
    for n in names:
        models.build_model(n, build_elf=not args.no_elf, log=lambda m: print(m, file=sys.stderr))
    print(f"models written to {models.MODELS_DIR}")
    return 0


def cmd_quantize(args) -> int:
    from host.ml import data, onnx_io, quantize, reference

    fm = onnx_io.load(args.onnx, tuple(args.input_range))
    if args.calibration in ("digits8", "digits28"):
        calib, _, xte, yte = data.digits(8 if args.calibration == "digits8" else 28)
    else:
        try:
            calib = np.load(args.calibration, allow_pickle=False)
        except Exception as exc:  # numpy raises several types for malformed files
            raise InputError(f"cannot read calibration data {args.calibration}: {exc}") from None
        xte = yte = None
    if calib.ndim < 2 or int(np.prod(calib.shape[1:])) != int(np.prod(fm.input_shape)):
        raise InputError(f"calibration data shape {calib.shape} does not fit the model input {fm.input_shape}")
    qm = quantize.quantize(fm, calib.reshape(len(calib), -1))
    blob = qm.to_bytes()
    Path(args.out).write_bytes(blob)
    print(f"wrote {args.out}: {len(blob)} bytes, sha256 {qm.digest().hex()}")
    if xte is not None:
        fp, ip = fm.predict(xte), reference.predict(qm, qm.quantize_input(xte))
        print(f"digits test split: float top-1 {np.mean(fp == yte):.4f}, int8 top-1 {np.mean(ip == yte):.4f}, "
              f"agreement {np.mean(fp == ip):.4f}")
    return 0


def cmd_run(args) -> int:
    from zkvm.elf import load_elf
    from zkvm.exec import Executor

    x = _load_input(args.input, args.model)
    elf, request = _guest_and_request(args.model, args.public, x, args.input_digest)
    result = Executor(load_elf(elf), request).run()
    _exit_error(result.exit_code)
    _print_prediction(result.journal, {"cycles": result.cycles, "exec_seconds": round(result.wall_s, 4)})
    return 0


def _receipt_module():
    try:
        from zkvm import receipt
    except ImportError as exc:
        raise ZkvmError(f"proving is not available in this build ({exc})") from None
    return receipt


def cmd_image_id(args) -> int:
    from host.ml import models
    from zkvm.elf import load_elf

    receipt = _receipt_module()
    elf = models.public_guest_elf() if args.public in ("model", "both") else models.private_guest_elf(args.model)
    print(receipt.image_id(load_elf(elf)).hex())
    return 0


def cmd_prove(args) -> int:
    from zkvm.elf import load_elf

    receipt_mod = _receipt_module()
    if args.no_zk and args.public != "both":
        raise InputError("--no-zk would leak private data: only allowed with --public both")
    x = _load_input(args.input, args.model)
    elf, request = _guest_and_request(args.model, args.public, x, args.input_digest)
    image = load_elf(elf)
    t = time.perf_counter()
    result, receipt = receipt_mod.prove(image, request, zk=not args.no_zk, progress=args.verbose > 0)
    _exit_error(result.exit_code)
    data = receipt.to_bytes()
    Path(args.receipt).write_bytes(data)
    _print_prediction(result.journal, {
        "image_id": receipt.claim.image_id.hex(), "cycles": result.cycles,
        "prove_seconds": round(time.perf_counter() - t, 2), "receipt_bytes": len(data), "receipt": args.receipt,
    })
    return 0


def cmd_verify(args) -> int:
    from host.ml import guest_io

    receipt_mod = _receipt_module()
    try:
        image_id = bytes.fromhex(args.image_id)
    except ValueError:
        raise InputError("--image-id must be hex") from None
    if len(image_id) != 32:
        raise InputError("--image-id must be 32 bytes (64 hex digits)")
    receipt = receipt_mod.read_receipt(args.receipt)
    journal = receipt_mod.verify(receipt, image_id, require_zk=False)
    if receipt.claim.exit_code != 0:
        raise ZkvmError(f"the proven run exited with code {receipt.claim.exit_code}: no prediction")
    j = guest_io.decode_journal(journal)
    if args.model_digest is not None:
        if j.model_digest is None:
            raise ZkvmError("this receipt binds the model by the image id, not by a digest")
        if j.model_digest.hex() != args.model_digest.lower():
            raise ZkvmError(f"model digest mismatch: receipt has {j.model_digest.hex()}")
    private = j.model_digest is None or (j.input_bytes is None and j.input_digest is None)
    if private and not receipt.zk:
        raise receipt_mod.NotZeroKnowledge("receipt keeps data private but its proof is not zero-knowledge: refused")
    out = {"verified": True, "zk": receipt.zk, **j.describe()}
    print(json.dumps(out, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    return 0
