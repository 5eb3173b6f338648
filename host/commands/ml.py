"""`python -m host ml ...`: build the digits models, run and prove ML inference, verify ML receipts.

Privacy modes (`--public`):
  none   private input, private model   generic guest; blob + owner's salt in the private input, the journal
                                        carries the model commitment SHA-256(tag || salt || blob)
  input  public input,  private model   same; the journal also carries the input tensor (or its SHA-256)
  model  private input, public model    the blob linked into the guest (no salt): the image id binds the model
  both   public input,  public model    same guest; the journal carries the input

Model owner: `ml build-models` (or `ml commit MODEL`) writes build/models/<m>.commitment; publish it once, keep
<m>.blob and <m>.salt. Verifier of a private-model receipt: `ml verify R --model-commitment HEX|FILE` (the
generic guest's image id is rebuilt from guest/, or given with --image-id). Verifier of a public-model
receipt: `ml verify R --model-blob FILE` (or --model NAME) rebuilds the image from the published blob.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from zkvm.errors import InputError, VerificationError, ZkvmError

log = logging.getLogger(__name__)
MODES = ("none", "input", "model", "both")


def register(subparsers) -> None:
    p = subparsers.add_parser("ml", help="zkML: build digits models, run/prove/verify private inference",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="ml_command", metavar="SUBCOMMAND", required=True)

    b = sub.add_parser("build-models", help="train, export (ONNX), quantise and commit to the digits models A, B, C")
    b.add_argument("--models", default="a,b,c", help="comma-separated subset of a,b,c (default all)")
    b.add_argument("--no-elf", action="store_true", help="skip building the public-model guest ELFs")
    b.set_defaults(func=cmd_build_models)

    c = sub.add_parser("commit", help="model owner: print (and write) the commitment to publish for a private model",
                       description="Writes build/models/MODEL.commitment = SHA-256(tag || salt || blob) in hex, "
                       "creating the secret salt build/models/MODEL.salt on first use. Publish the commitment; "
                       "keep blob and salt (they open it).")
    c.add_argument("model", metavar="MODEL", help="a, b or c")
    c.add_argument("--new-salt", action="store_true",
                   help="draw a fresh salt: a new commitment that cannot be linked to the old one (the old salt is "
                   "kept as MODEL.salt.<old commitment prefix>)")
    c.set_defaults(func=cmd_commit)

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

    i = sub.add_parser("image-id", help="print the image id a verifier should expect for a mode",
                       description="Private-model modes (none, input): the generic guest's id, the same for every "
                       "model. Public-model modes (model, both): the id of the guest with that model linked in, "
                       "rebuilt from the blob.")
    i.add_argument("model", metavar="MODEL", nargs="?", help="a, b or c (public-model modes)")
    i.add_argument("--public", choices=MODES, default="none")
    i.add_argument("--model-blob", metavar="FILE", help="public-model modes: a published model blob instead of MODEL")
    i.set_defaults(func=cmd_image_id)

    v = sub.add_parser("verify", help="verify an ML receipt and print its decoded journal",
                       description="Private-model receipt: give the owner's published --model-commitment; the "
                       "expected image id is the generic guest's, rebuilt from guest/ (or --image-id). "
                       "Public-model receipt: give the published --model-blob (or --model), whose guest is rebuilt "
                       "to get the image id (or --image-id).")
    v.add_argument("receipt", metavar="R")
    v.add_argument("--image-id", metavar="HEX", help="the expected image id (64 hex digits) instead of rebuilding it")
    v.add_argument("--model-commitment", metavar="HEX|FILE",
                   help="private model: the commitment its owner published (hex, or a file as `ml commit` writes)")
    v.add_argument("--any-model", action="store_true",
                   help="private model: accept any committed model (prints its commitment, checks nothing about it)")
    pm = v.add_mutually_exclusive_group()
    pm.add_argument("--model-blob", metavar="FILE", help="public model: the published blob (the image is rebuilt from it)")
    pm.add_argument("--model", metavar="MODEL", help="public model: a, b or c from build/models")
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


def _guest_and_request(name: str, mode: str, x: np.ndarray, input_digest: bool, accel: bool = True):
    """-> (ELF path, private input bytes) for a privacy mode (``accel=False``: guest without the dot-product
    accelerator)."""
    from host.ml import guest_io, models

    public_model = mode in ("model", "both")
    public_input = mode in ("input", "both")
    if input_digest and not public_input:
        raise InputError("--input-digest needs a public input (--public input or both)")
    if public_model:
        return models.public_guest_elf(name, accel), guest_io.encode_request(x, None, public_input, input_digest)
    request = guest_io.encode_request(x, models.load_blob(name), public_input, input_digest,
                                      salt=models.load_salt(name))
    return models.private_guest_elf(accel), request


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
        meta = models.build_model(n, build_elf=not args.no_elf, log=lambda m: print(m, file=sys.stderr))
        print(f"model {n}: commitment {meta['commitment']} (publish it; keep {n}.blob and {n}.salt)")
    print(f"models written to {models.MODELS_DIR}")
    return 0


def cmd_commit(args) -> int:
    from host.ml import models

    name = models.spec(args.model).name
    c = models.write_commitment(name, fresh_salt=args.new_salt)
    p = models.paths(name)
    print(c.hex())
    print(f"written to {p['commitment']}; publish it. Keep {p['blob']} and {p['salt']} secret: "
          "together they open the commitment.", file=sys.stderr)
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


def _check_provable(name: str, mode: str, cycles: int) -> None:
    from host.ml import limits, models

    blob_len = None if mode in ("model", "both") else len(models.load_blob(name))
    limits.check_provable(cycles, name, mode, blob_len)


def cmd_run(args) -> int:
    from host.ml import limits
    from zkvm.elf import load_elf
    from zkvm.exec import Executor

    x = _load_input(args.input, args.model)
    elf, request = _guest_and_request(args.model, args.public, x, args.input_digest)
    result = Executor(load_elf(elf), request).run()
    _exit_error(result.exit_code)
    provable = "yes" if result.cycles <= limits.MAX_PROVABLE_CYCLES else f"no (over {limits.MAX_PROVABLE_CYCLES:,})"
    _print_prediction(result.journal, {"cycles": result.cycles, "provable": provable,
                                       "exec_seconds": round(result.wall_s, 4)})
    return 0


def _receipt_module():
    try:
        from zkvm import receipt
    except ImportError as exc:
        raise ZkvmError(f"proving is not available in this build ({exc})") from None
    return receipt


def _read_blob(path: str) -> bytes:
    from host.ml import blob as blobmod

    p = Path(path)
    if not p.is_file():
        raise InputError(f"model blob not found: {path}")
    data = p.read_bytes()
    blobmod.decode(data)  # the guest's checks: a malformed blob would give an image that cannot run
    return data


def _public_model_image_id(model: str | None, blob_path: str | None) -> bytes:
    from host.ml import models
    from zkvm.elf import load_elf

    if blob_path is not None:
        elf = models.public_model_elf(_read_blob(blob_path))
    elif model is not None:
        elf = models.public_guest_elf(model)
    else:
        raise InputError("a public-model image id needs the model: MODEL (a, b, c) or --model-blob FILE")
    return _receipt_module().image_id(load_elf(elf))


def _private_model_image_id() -> bytes:
    from host.ml import models
    from zkvm.elf import load_elf

    return _receipt_module().image_id(load_elf(models.private_guest_elf()))


def cmd_image_id(args) -> int:
    if args.public in ("model", "both"):
        print(_public_model_image_id(args.model, args.model_blob).hex())
    else:
        if args.model_blob is not None:
            raise InputError("--model-blob applies to the public-model modes; a private model is not in the image")
        print(_private_model_image_id().hex())
    return 0


def cmd_prove(args) -> int:
    from zkvm.elf import load_elf
    from zkvm.exec import Executor

    receipt_mod = _receipt_module()
    if args.no_zk and args.public != "both":
        raise InputError("--no-zk would leak private data: only allowed with --public both")
    x = _load_input(args.input, args.model)
    elf, request = _guest_and_request(args.model, args.public, x, args.input_digest)
    image = load_elf(elf)
    # Execute first (fast): a run the prover cannot hold is reported now, with its reason, not after tracing.
    dry = Executor(image, request).run()
    _exit_error(dry.exit_code)
    _check_provable(args.model, args.public, dry.cycles)
    t = time.perf_counter()
    from host.proving import FIXED_CACHE

    result, receipt = receipt_mod.prove(image, request, zk=not args.no_zk, progress=args.verbose > 0,
                                        fixed_cache=str(FIXED_CACHE))
    _exit_error(result.exit_code)
    data = receipt.to_bytes()
    Path(args.receipt).write_bytes(data)
    _warn_if_unpublished(args.model, result.journal)
    _print_prediction(result.journal, {
        "image_id": receipt.claim.image_id.hex(), "cycles": result.cycles,
        "prove_seconds": round(time.perf_counter() - t, 2), "receipt_bytes": len(data), "receipt": args.receipt,
    })
    return 0


def _warn_if_unpublished(name: str, journal: bytes) -> None:
    """The owner's build/models/<m>.commitment is what verifiers will compare: say so if this proof's differs."""
    from host.ml import guest_io, models

    proven = guest_io.decode_journal(journal).model_commitment
    path = models.paths(models.spec(name).name)["commitment"]
    if proven is None:
        return
    published = path.read_text().strip() if path.exists() else None
    if published != proven.hex():
        print(f"warning: this receipt's model commitment {proven.hex()} is not the one in {path} "
              f"({published or 'missing'}); run `python -m host ml commit {name}` and publish it", file=sys.stderr)


def _expected_image_id(args) -> tuple[bytes, str]:
    """-> (image id, where it came from) for `ml verify`."""
    if args.image_id is not None:
        try:
            image_id = bytes.fromhex(args.image_id)
        except ValueError:
            raise InputError("--image-id must be hex") from None
        if len(image_id) != 32:
            raise InputError("--image-id must be 32 bytes (64 hex digits)")
        return image_id, "given (--image-id)"
    if args.model_blob is not None or args.model is not None:
        return _public_model_image_id(args.model, args.model_blob), "rebuilt: public-model guest of the given blob"
    return _private_model_image_id(), "rebuilt: generic private-model guest (guest/ml_private)"


def cmd_verify(args) -> int:
    try:
        return _verify(args)
    except VerificationError as exc:  # name the failed check, e.g. "ModelCommitmentMismatch"
        print(f"error: receipt rejected ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 1


def _verify(args) -> int:
    from host.ml import commitment, guest_io

    receipt_mod = _receipt_module()
    public_model_args = args.model_blob is not None or args.model is not None
    if public_model_args and (args.model_commitment is not None or args.any_model):
        raise InputError("--model-blob/--model name a public model; --model-commitment/--any-model a private one")
    expected_commitment = None if args.model_commitment is None else commitment.parse_commitment(args.model_commitment)
    image_id, image_source = _expected_image_id(args)
    receipt = receipt_mod.read_receipt(args.receipt)
    try:
        journal = receipt_mod.verify(receipt, image_id, require_zk=False)
    except receipt_mod.ImageIdMismatch as exc:
        hint = ("" if args.image_id is not None else
                " (a public-model receipt needs --model-blob FILE or --model NAME)" if not public_model_args else
                " (the receipt was not made with this model, or is a private-model receipt: drop --model-blob/--model)")
        raise receipt_mod.ImageIdMismatch(f"{exc}; expected image {image_source}{hint}") from None
    if receipt.claim.exit_code != 0:
        raise ZkvmError(f"the proven run exited with code {receipt.claim.exit_code}: no prediction")
    j = guest_io.decode_journal(journal)
    if j.model_commitment is not None:
        if expected_commitment is not None:
            if j.model_commitment != expected_commitment:
                raise commitment.ModelCommitmentMismatch(
                    f"the receipt's model commitment {j.model_commitment.hex()} is not the expected "
                    f"{expected_commitment.hex()}: another model (or another salt) made this prediction")
        elif not args.any_model:
            raise commitment.ModelCommitmentRequired(
                f"this receipt proves inference with the private model committed to by {j.model_commitment.hex()}; "
                "pass the commitment its owner published (--model-commitment HEX|FILE), or --any-model")
    elif expected_commitment is not None or args.any_model:
        raise commitment.NotAPrivateModelReceipt(
            "this receipt's model is public (linked into its image, bound by the image id), it has no commitment")
    private = j.model_commitment is not None or (j.input_bytes is None and j.input_digest is None)
    if private and not receipt.zk:
        raise receipt_mod.NotZeroKnowledge("receipt keeps data private but its proof is not zero-knowledge: refused")
    out = {"verified": True, "zk": receipt.zk, "image_id": image_id.hex(), "image": image_source, **j.describe()}
    if j.model_commitment is not None:
        out["model"] += " (matches --model-commitment)" if expected_commitment is not None else " (not checked: --any-model)"
    elif args.model_blob is not None:
        out["model"] += f", sha256:{hashlib.sha256(Path(args.model_blob).read_bytes()).hexdigest()}"
    print(json.dumps(out, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    return 0
