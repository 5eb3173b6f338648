"""`python -m host ml ...`: prove inference of your own model (ONNX or blob) or a bundled digits model.

MODEL is `a`, `b` or `c` (the bundled digits models, `ml build-models`), an ONNX file (quantised on the way:
give --calibration), or a blob written by `ml quantize`. From file to verified receipt:

  python -m host ml quantize net.onnx --calibration calib.npy --out net.blob --commit
        # prints float vs int8; --commit = `ml commit net.blob`: net.salt (secret), net.commitment (publish)
  python -m host ml prove net.blob --input x.npy --receipt r.rcpt
  python -m host ml verify r.rcpt --model-commitment net.commitment

Privacy modes (`--public`):
  none   private input, private model   generic guest; blob + owner's salt in the private input, the journal
                                        carries the model commitment SHA-256(tag || salt || blob)
  input  public input,  private model   same; the journal also carries the input tensor (or its SHA-256)
  model  private input, public model    the blob linked into the guest (no salt): the image id binds the model
  both   public input,  public model    same guest; the journal carries the input

Owner files: the salt and the commitment default to the model's file with the suffixes .salt and .commitment
(build/models/<m>.* for a, b, c); --salt and --commitment-out put them elsewhere. Verifier of a private-model
receipt: `ml verify R --model-commitment HEX|FILE`; of a public-model receipt: `ml verify R --model-blob FILE`.
The same operations are a Python API: `host.api.ml` (see README).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from host.api import ml as mlapi
from host.proving import FIXED_CACHE, scheduler
from zkvm.errors import InputError, VerificationError

MODES = mlapi.MODES


def register(subparsers) -> None:
    p = subparsers.add_parser("ml", help="zkML: quantise, run, prove and verify inference of a model",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="ml_command", metavar="SUBCOMMAND", required=True)

    b = sub.add_parser("build-models", help="train, export (ONNX), quantise and commit to the digits models A, B, C")
    b.add_argument("--models", default="a,b,c", help="comma-separated subset of a,b,c (default all)")
    b.add_argument("--no-elf", action="store_true", help="skip building the public-model guest ELFs")
    b.set_defaults(func=cmd_build_models)

    def model_source(q, positional: bool = True, onnx_only: bool = False) -> None:
        if positional:
            q.add_argument("model", metavar="MODEL", help="a, b, c, an ONNX file (needs --calibration) or a model blob")
        q.add_argument("--calibration", metavar="DATA", required=onnx_only,
                       help="ONNX models: calibration inputs, FILE.npy (float, N x input shape) or digits8/digits28")
        q.add_argument("--input-range", nargs=2, type=float, metavar=("LO", "HI"),
                       help="ONNX models: value range of the float inputs (default: the calibration data's)")

    qz = sub.add_parser("quantize", help="quantise an ONNX model into a blob; prints float vs int8 agreement",
                        description="Import an ONNX model, quantise it to int8 with the calibration inputs and write "
                        "the blob. Prints float vs int8 argmax agreement on the evaluation data (--eval, else the "
                        "calibration data, or the digits test split for digits8/digits28) and top-1 accuracy of "
                        "both when labels are known (--labels).")
    qz.add_argument("onnx", metavar="MODEL.onnx")
    model_source(qz, positional=False, onnx_only=True)
    qz.add_argument("--eval", metavar="X.npy", help="evaluation inputs for the report (default: calibration data)")
    qz.add_argument("--labels", metavar="Y.npy", help="class labels of the evaluation inputs: adds top-1 accuracy")
    qz.add_argument("--out", required=True, metavar="BLOB")
    qz.add_argument("--commit", action="store_true",
                    help="also do `ml commit BLOB`: create BLOB's salt (.salt, secret) and commitment (.commitment)")
    qz.set_defaults(func=cmd_quantize)

    c = sub.add_parser("commit", help="model owner: create the secret salt, write and print the commitment to publish",
                       description="Writes the commitment SHA-256(tag || salt || blob) in hex, creating the secret "
                       "salt file (mode 0600) on first use. Publish the commitment; keep blob and salt (together "
                       "they open it).")
    model_source(c)
    c.add_argument("--salt", metavar="FILE", help="the salt file (default: the model's file with suffix .salt)")
    c.add_argument("--out", metavar="FILE", help="the commitment file (default: the model's file, suffix .commitment)")
    c.add_argument("--new-salt", action="store_true",
                   help="draw a fresh salt: a new commitment that cannot be linked to the old one (the old salt is "
                   "kept as SALT.<old commitment prefix>)")
    c.set_defaults(func=cmd_commit)

    def run_args(q) -> None:
        model_source(q)
        q.add_argument("--input", required=True, metavar="X",
                       help="FILE.npy (floats, the model's input shape), FILE.bin (the int8 tensor) or digits:N")
        q.add_argument("--public", choices=MODES, default="none",
                       help="what the verifier learns besides the prediction (default none)")
        q.add_argument("--input-digest", action="store_true",
                       help="with a public input: commit its SHA-256 instead of its bytes")
        q.add_argument("--salt", metavar="FILE", help="private model: the owner's salt file (default MODEL.salt)")

    r = sub.add_parser("run", help="execute an ML guest (no proof): prediction and cycles")
    run_args(r)
    r.set_defaults(func=cmd_run)

    pr = sub.add_parser("prove", help="execute and prove an ML guest, write a receipt")
    run_args(pr)
    pr.add_argument("--receipt", required=True, metavar="R", help="receipt file to write")
    pr.add_argument("--no-zk", action="store_true", help="not zero-knowledge (refused with private data)")
    from host.proving import add_segment_arguments

    add_segment_arguments(pr)
    pr.set_defaults(func=cmd_prove)

    i = sub.add_parser("image-id", help="print the image id a verifier should expect for a mode",
                       description="Private-model modes (none, input): the generic guest's id, the same for every "
                       "model. Public-model modes (model, both): the id of the guest with that model linked in.")
    i.add_argument("model", metavar="MODEL", nargs="?", help="public-model modes: a, b, c, an ONNX file or a blob")
    model_source(i, positional=False)
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
    pm.add_argument("--model", metavar="MODEL", help="public model: a, b, c, an ONNX file or a blob")
    model_source(v, positional=False)
    v.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(func=cmd_verify)


def _model(args, spec=None) -> mlapi.Model:
    return mlapi.load_model(spec if spec is not None else args.model, calibration=args.calibration,
                            input_range=tuple(args.input_range) if args.input_range else None)


def _print(out: dict) -> None:
    print("\n".join(f"{k}: {v}" for k, v in out.items()))


def _notes(model: mlapi.Model) -> None:
    for note in model.notes:
        print(f"note: {note}", file=sys.stderr)


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


def cmd_quantize(args) -> int:
    model = mlapi.quantize(args.onnx, args.calibration, labels=args.labels, eval_data=args.eval,
                           input_range=tuple(args.input_range) if args.input_range else None)
    path = model.save(args.out)  # only reached when every check passed: a failure writes nothing
    _notes(model)
    c, h, w = model.input_shape
    print(f"wrote {args.out}: {len(model.blob)} bytes, {len(model.quant.layers)} layers, input "
          f"{[c] if (h, w) == (1, 1) else [c, h, w]}, sha256 {model.digest.hex()}")
    print(model.report.describe())
    if args.commit:
        # the model in hand, now backed by its file (its owner files go next to it): not re-read from disk
        c = mlapi.commit(dataclasses.replace(model, source=path))
        print(f"commitment {c.hex} (written to {c.commitment_path}: publish it; keep {args.out} and {c.salt_path})")
    return 0


def cmd_commit(args) -> int:
    model = _model(args)
    c = mlapi.commit(model, salt=args.salt, out=args.out, new_salt=args.new_salt)
    print(c.hex)
    print(f"written to {c.commitment_path}; publish it. Keep the blob and {c.salt_path} secret: together they open "
          "the commitment.", file=sys.stderr)
    return 0


def cmd_run(args) -> int:
    model = _model(args)
    r = mlapi.run(model, args.input, public=args.public, input_digest=args.input_digest, salt=args.salt)
    from host.ml import limits

    provable = "yes" if r.provable else f"no (over {limits.MAX_PROVABLE_CYCLES:,})"
    _print({**r.prediction.describe(), "cycles": r.cycles, "provable": provable, "exec_seconds": round(r.wall_s, 4)})
    return 0


def cmd_prove(args) -> int:
    if args.no_zk and args.public != "both":
        raise InputError("--no-zk would leak private data: only allowed with --public both")
    model = _model(args)
    proof = mlapi.prove(model, args.input, public=args.public, input_digest=args.input_digest, salt=args.salt,
                        zk=not args.no_zk, progress=args.verbose > 0,
                        fixed_cache=str(FIXED_CACHE), segment_po2=args.segment_po2, scheduler=scheduler(args))
    data = proof.to_bytes()
    proof.save(args.receipt)
    _warn_if_unpublished(model, args, proof.prediction.model_commitment)
    extra = {}
    if proof.receipt.segments:
        from zkvm.receipt import SEAL_HEAD
        from zkvm.segmented import SegmentedSeal

        sizes = [len(p) for p in SegmentedSeal.from_bytes(proof.receipt.seal, SEAL_HEAD.size).proofs]
        extra = {"segments": len(sizes), "segment_bytes": sizes}
    _print({**proof.prediction.describe(), "image_id": proof.image_id.hex(), "cycles": proof.cycles,
            "prove_seconds": round(proof.prove_seconds, 2), "receipt_bytes": len(data), "receipt": args.receipt,
            **extra})
    return 0


def _warn_if_unpublished(model: mlapi.Model, args, proven: bytes | None) -> None:
    """The owner's commitment file is what verifiers will compare: say so if this proof's differs."""
    if proven is None:
        return
    try:
        path = model.owner_files()[1] if args.salt is None else Path(args.salt).with_suffix(".commitment")
    except InputError:
        return
    published = path.read_text().strip() if path.is_file() and path.stat().st_size < 1024 else None
    if published != proven.hex():
        print(f"warning: this receipt's model commitment {proven.hex()} is not the one in {path} "
              f"({published or 'missing'}); run `python -m host ml commit {args.model}` and publish it",
              file=sys.stderr)


def cmd_image_id(args) -> int:
    if args.public in ("model", "both"):
        spec = args.model_blob if args.model_blob is not None else args.model
        if spec is None:
            raise InputError("a public-model image id needs the model: MODEL (a, b, c, ONNX or blob) or --model-blob")
        print(mlapi.image_id(_model(args, spec), public=args.public).hex())
    else:
        if args.model_blob is not None:
            raise InputError("--model-blob applies to the public-model modes; a private model is not in the image")
        print(mlapi.image_id(public=args.public).hex())
    return 0


def cmd_verify(args) -> int:
    try:
        spec = args.model_blob if args.model_blob is not None else args.model
        if spec is not None and (args.model_commitment is not None or args.any_model):
            raise InputError("--model-blob/--model name a public model; --model-commitment/--any-model a private one")
        v = mlapi.verify(args.receipt, commitment=args.model_commitment, any_model=args.any_model,
                         model=None if spec is None else _model(args, spec), image_id=args.image_id)
    except VerificationError as exc:  # name the failed check, e.g. "ModelCommitmentMismatch"
        print(f"error: receipt rejected ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 1
    out = v.describe()
    print(json.dumps(out, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    return 0
