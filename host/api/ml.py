"""Proving inference of your own model: the Python side of `python -m host ml ...`.

    from host import api
    model = api.ml.quantize("net.onnx", calibration="calib.npy")         # or api.ml.load_model("net.blob")
    owner = api.ml.commit(model, salt="net.salt")                         # publish owner.commitment once
    proof = api.ml.prove(model, x, public="none", salt="net.salt")        # x: float array of the input shape
    checked = api.ml.verify(proof.receipt, commitment=owner.commitment)   # -> the proven prediction

A model is one of: a bundled digits model ("a", "b", "c"), an ONNX file (quantised on the way with the
calibration data you give: a float .npy of inputs, an array, or "digits8"/"digits28"), or a blob written by
`quantize` (`Model.save`). Privacy modes (`public=`): "none" (private input and model), "input" (public input),
"model" (public model, linked into the guest: its image id binds it), "both". A private model is bound by the
commitment SHA-256(tag || salt || blob), the salt being the owner's secret file.

Errors are typed (see `host.api`): OnnxError and TensorFileError (bad files), BlobError (a blob the guest would
reject), CycleLimitExceeded (too long for one proof), GuestExitError, and VerificationError subclasses
(ModelCommitmentMismatch, ModelCommitmentRequired, NotAPrivateModelReceipt, ImageIdMismatch, ...).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from host.api import HasReceipt, PathLike, parse_image_id, read_receipt, write_file
from host.ml import blob as blobmod
from host.ml.blob_decode import decode_blob
from host.ml import commitment as commitmod
from host.ml import files, guest_io, limits
from host.ml.blob import BlobError
from host.ml.commitment import ModelCommitmentMismatch, ModelCommitmentRequired, NotAPrivateModelReceipt
from host.ml.files import TensorFileError
from host.ml.guest_io import Journal as Prediction
from host.ml.limits import CycleLimitExceeded
from host.ml.onnx_io import OnnxError
from zkvm import abi
from zkvm.errors import InputError, VerificationError, ZkvmError

__all__ = [
    "MODES", "InputError", "VerificationError", "ZkvmError", "BlobError", "CycleLimitExceeded", "GuestExitError",
    "ModelCommitmentMismatch", "ModelCommitmentRequired", "NotAPrivateModelReceipt", "OnnxError", "TensorFileError",
    "Commitment", "MLProof", "MLRun", "Model", "Prediction", "QuantizeReport", "Verified", "commit", "guest_request",
    "image_id", "load_model", "prepare_input", "prove", "quantize", "run", "verify",
]

MODES = ("none", "input", "model", "both")
BUNDLED = ("a", "b", "c")


class GuestExitError(ZkvmError):
    """The ML guest stopped with a nonzero exit code (zkvm.abi.EXIT_NN_*): a request it rejected."""

    def __init__(self, code: int) -> None:
        self.code = code
        names = {v: k for k, v in abi.EXIT_CODES.items()}
        super().__init__(f"guest exited with code {code} ({names.get(code, 'unknown')})")


# ---------------------------------------------------------------------------------------------- models

@dataclass(frozen=True)
class QuantizeReport:
    """Float vs int8 on an evaluation set: argmax agreement always, top-1 accuracy when labels are given."""

    samples: int
    agreement: float
    float_top1: float | None = None
    int8_top1: float | None = None
    dataset: str = "calibration data"

    def describe(self) -> str:
        acc = (f"float top-1 {self.float_top1:.4f}, int8 top-1 {self.int8_top1:.4f}, "
               if self.float_top1 is not None else "")
        return f"{self.dataset} ({self.samples} inputs): {acc}agreement {self.agreement:.4f}"


@dataclass(frozen=True)
class Model:
    """A quantised model the guest engine runs: its blob, the decoded integer network, where it came from."""

    blob: bytes
    quant: blobmod.QuantModel
    name: str
    source: Path | None = None  # the file it was read from (ONNX or blob); None: built in memory
    bundled: bool = False
    float_model: object | None = None  # the imported float model (ONNX sources)
    report: QuantizeReport | None = None
    notes: tuple[str, ...] = ()

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W); a model on F features has (F, 1, 1)."""
        return self.quant.input_shape

    @property
    def input_size(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.blob).digest()

    def owner_files(self) -> tuple[Path, Path]:
        """Default (salt, commitment) paths: build/models/<m>.* for a bundled model, else next to the model's
        file with its stem (net.onnx -> net.salt, net.commitment). Every call that uses them takes an override."""
        if self.bundled:
            from host.ml import models  # noqa: PLC0415

            p = models.paths(self.name)
            return p["salt"], p["commitment"]
        if self.source is None:
            raise InputError("this model was built in memory: give the salt and commitment file paths explicitly")
        return self.source.with_suffix(".salt"), self.source.with_suffix(".commitment")

    def save(self, path: PathLike) -> Path:
        return write_file(path, self.blob)

    def quantize_input(self, x, label: str = "input") -> np.ndarray:
        """A float input (array of the model's input shape) -> the int8 tensor the guest reads."""
        arr = files.as_real_array(x, label)
        return self.quant.quantize_input(fit_input_shape(arr, self, label).reshape(-1))

    def predict(self, x) -> int:
        """The int8 engine's class for a float input, computed on the host (numpy reference, no guest)."""
        from host.ml import reference  # noqa: PLC0415

        return int(reference.predict(self.quant, self.quantize_input(x)[None])[0])


def fit_input_shape(arr: np.ndarray, model: Model, label: str) -> np.ndarray:
    """Accept one input shaped as the model's ONNX input ([C, H, W] or [F]), with or without a batch of 1, or
    flat; anything else names both shapes."""
    c, h, w = model.input_shape
    onnx_shape = (c,) if (h, w) == (1, 1) else (c, h, w)
    n = c * h * w
    accepted = {onnx_shape, (1, *onnx_shape), (n,), (1, n)}
    if tuple(arr.shape) not in accepted:
        raise TensorFileError(f"{label} has shape {tuple(arr.shape)}; model {model.name} takes one input of shape "
                              f"{list(onnx_shape)} (or [1, {', '.join(map(str, onnx_shape))}], or {n} values)")
    return arr


def _bundled_name(spec) -> str | None:
    if isinstance(spec, str) and spec.lower() in BUNDLED and not Path(spec).exists():
        return spec.lower()
    return None


def load_model(spec: "Model | PathLike", *, calibration=None, labels=None, eval_data=None,
               input_range: tuple[float, float] | None = None) -> Model:
    """A model from "a"/"b"/"c", an ONNX file (quantised with `calibration`), or a blob file."""
    if isinstance(spec, Model):
        return spec
    name = _bundled_name(spec)
    if name is not None:
        from host.ml import models  # noqa: PLC0415

        blob = models.load_blob(name)
        return Model(blob, decode_blob(blob), name, None, bundled=True)
    path = Path(spec)
    if not path.exists():
        raise InputError(f"model '{spec}' not found: give a, b, c, an ONNX file or a model blob")
    if path.suffix.lower() == ".onnx":
        if calibration is None:
            raise InputError(f"{path} is an ONNX model: give calibration data to quantise it (--calibration)")
        return quantize(path, calibration, labels=labels, eval_data=eval_data, input_range=input_range)
    blob = files.read_limited(path, blobmod_max_blob(), "model blob")
    if blob[:4] != blobmod.MAGIC and _looks_like_onnx(blob):
        raise InputError(f"{path} looks like an ONNX model: name it *.onnx or quantise it with `ml quantize`")
    return Model(blob, decode_blob(blob), path.name, path)


def blobmod_max_blob() -> int:
    from host.ml.blob_decode import MAX_BLOB  # noqa: PLC0415

    return MAX_BLOB


def _looks_like_onnx(data: bytes) -> bool:
    return len(data) > 2 and data[0] == 0x08  # ModelProto starts with ir_version (field 1, varint)


def _calibration(spec, what: str = "calibration data"):
    """-> (inputs, default evaluation set (x, y) or None, its name)."""
    if isinstance(spec, str) and spec in ("digits8", "digits28"):
        from host.ml import data  # noqa: PLC0415

        xtr, _, xte, yte = data.digits(8 if spec == "digits8" else 28)
        return xtr, (xte, yte), f"digits test split ({spec})"
    if isinstance(spec, (str, os.PathLike)):
        return files.load_npy(spec, what), None, str(spec)
    return files.as_real_array(spec, what), None, "the given array"


def _batch(arr: np.ndarray, n: int, label: str) -> np.ndarray:
    if arr.ndim == 0 or arr.size == 0:
        raise TensorFileError(f"{label} is empty or a scalar; give an array of inputs, one per row")
    if arr.ndim == 1 and arr.size == n:
        arr = arr[None]
    if arr.ndim < 2 or int(np.prod(arr.shape[1:])) != n:
        raise TensorFileError(f"{label} has shape {tuple(arr.shape)}; expected [N, ...] with {n} values per input")
    return arr.reshape(len(arr), n)


def _labels(spec, n: int) -> np.ndarray:
    y = files.load_npy(spec, "labels") if isinstance(spec, (str, os.PathLike)) else files.as_real_array(spec, "labels")
    y = y.reshape(-1)
    if len(y) != n:
        raise TensorFileError(f"labels: {len(y)} values for {n} evaluation inputs")
    if not np.all(y == np.round(y)) or (len(y) and y.min() < 0):
        raise TensorFileError("labels must be non-negative integers (class indices)")
    return y.astype(np.int64)


def quantize(onnx: PathLike | bytes, calibration, *, labels=None, eval_data=None,
             input_range: tuple[float, float] | None = None) -> Model:
    """Import an ONNX model and quantise it to int8 with `calibration` inputs (their range sets each layer's
    scale; the input's own range is `input_range`, else the data's). The report compares float and int8 on
    `eval_data` (default: the calibration inputs, or the digits test split for "digits8"/"digits28") and gives
    top-1 accuracy when `labels` (or the digits labels) are known. Raises OnnxError, TensorFileError, BlobError
    (the result would not fit the guest engine); never returns a blob the guest rejects."""
    from host.ml import onnx_io, quantize as q, reference  # noqa: PLC0415

    if input_range is not None:
        lo, hi = (float(v) for v in input_range)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise InputError(f"input range [{lo}, {hi}] must be two finite numbers, low < high")
        input_range = (lo, hi)
    if isinstance(onnx, (bytes, bytearray)):
        fm, source, name = onnx_io.from_bytes(bytes(onnx), input_range), None, "model"
    else:
        fm, source, name = onnx_io.load(onnx, input_range), Path(onnx), Path(onnx).name
    n = int(np.prod(fm.input_shape))
    calib, default_eval, eval_name = _calibration(calibration)
    calib = _batch(calib, n, "calibration data")
    if eval_data is not None:
        ex, _, eval_name = _calibration(eval_data, "evaluation data")
        ex, ey = _batch(ex, n, "evaluation data"), None
    elif default_eval is not None:
        ex, ey = default_eval
        ex = _batch(ex, n, "evaluation data")
    else:
        ex, ey, eval_name = calib, None, "calibration data"
    if labels is not None:
        ey = _labels(labels, len(ex))
    qm = q.quantize(fm, calib)
    blob = qm.to_bytes()
    try:
        decode_blob(blob)  # the guest's own checks: sizes, limits
    except BlobError as exc:
        raise BlobError(exc.code, f"the quantised model does not fit the guest engine: {exc}") from None
    fp = fm.predict(ex)
    ip = reference.predict(qm, qm.quantize_input(ex))
    report = QuantizeReport(len(ex), float(np.mean(fp == ip)),
                            None if ey is None else float(np.mean(fp == ey)),
                            None if ey is None else float(np.mean(ip == ey)), eval_name)
    return Model(blob, qm, name, source, float_model=fm, report=report, notes=tuple(fm.notes))


# ---------------------------------------------------------------------------------------------- inputs

def prepare_input(model: Model, x) -> np.ndarray:
    """The int8 tensor for `x`: a float array of the model's input shape, raw int8 `bytes`, "digits:N" (the N-th
    image of the digits test split, for 8x8 or 28x28 inputs), or a file: .npy (floats) or anything else (raw int8)."""
    n = model.input_size
    if isinstance(x, (bytes, bytearray, memoryview)):
        if len(x) != n:
            raise InputError(f"input has {len(x)} bytes, model {model.name} takes {n} int8 values")
        return np.frombuffer(bytes(x), dtype=np.int8)
    if isinstance(x, str) and x.startswith("digits:"):
        return _digits_input(model, x)
    if isinstance(x, (str, os.PathLike)):
        path = Path(x)
        if path.suffix.lower() == ".npy":
            arr = files.load_npy(path, "input", limit=4096 + 16 * n)
            return model.quantize_input(arr, f"input {path}")
        data = files.read_limited(path, n, "input file")
        if len(data) != n:
            raise InputError(f"{path} has {len(data)} bytes, model {model.name} takes {n} int8 values")
        return np.frombuffer(data, dtype=np.int8)
    return model.quantize_input(x)


def _digits_input(model: Model, spec: str) -> np.ndarray:
    from host.ml import data  # noqa: PLC0415

    try:
        idx = int(spec.split(":", 1)[1])
    except ValueError:
        raise InputError(f"bad input {spec!r}: expected digits:N") from None
    sides = {64: 8, 784: 28}
    if model.input_size not in sides:
        raise InputError(f"digits:N inputs are 8x8 or 28x28 images; model {model.name} takes {model.input_size} values")
    _, _, xte, _ = data.digits(sides[model.input_size])
    if not 0 <= idx < len(xte):
        raise InputError(f"input digits:{idx} out of range (test split has {len(xte)} images)")
    return model.quant.quantize_input(xte[idx])


# ---------------------------------------------------------------------------------------------- owner

@dataclass(frozen=True)
class Commitment:
    """What the owner publishes (`commitment`) and where the opening (salt) and the published value live."""

    commitment: bytes
    salt_path: Path
    commitment_path: Path

    @property
    def hex(self) -> str:
        return self.commitment.hex()


def commit(model, *, salt: PathLike | None = None, out: PathLike | None = None, new_salt: bool = False) -> Commitment:
    """Model owner: create the secret salt file if missing (or a fresh one with `new_salt`, keeping the old
    one), write the commitment (hex) and return it. Defaults: `Model.owner_files()`."""
    model = load_model(model)
    salt_path, commit_path = _owner_paths(model, salt, out)
    c = commitmod.commit_files(model.blob, salt_path, commit_path, new_salt)
    return Commitment(c, salt_path, commit_path)


def _owner_paths(model: Model, salt, out) -> tuple[Path, Path]:
    if salt is None or out is None:
        d_salt, d_commit = model.owner_files()
        salt = d_salt if salt is None else salt
        out = d_commit if out is None else out
    return Path(salt), Path(out)


def _salt_bytes(model: Model, salt) -> bytes:
    if isinstance(salt, (bytes, bytearray)):
        if len(salt) != commitmod.SALT_BYTES:
            raise InputError(f"a model salt is {commitmod.SALT_BYTES} bytes, got {len(salt)}")
        return bytes(salt)
    path = Path(salt) if salt is not None else model.owner_files()[0]
    return commitmod.read_salt(path)


# ---------------------------------------------------------------------------------------------- run / prove

def _check_mode(public: str, input_digest: bool) -> tuple[bool, bool]:
    if public not in MODES:
        raise InputError(f"unknown privacy mode {public!r} (choose from {', '.join(MODES)})")
    public_input = public in ("input", "both")
    if input_digest and not public_input:
        raise InputError("an input digest needs a public input (public='input' or 'both')")
    return public in ("model", "both"), public_input


def _guest_and_request(model: Model, public: str, xq: np.ndarray, input_digest: bool, salt,
                       accel: bool = True) -> tuple[Path, bytes]:
    from host.ml import models  # noqa: PLC0415

    public_model, public_input = _check_mode(public, input_digest)
    if public_model:
        return (models.public_model_elf(model.blob, accel),
                guest_io.encode_request(xq, None, public_input, input_digest))
    request = guest_io.encode_request(xq, model.blob, public_input, input_digest, salt=_salt_bytes(model, salt))
    return models.private_guest_elf(accel), request


def guest_request(model, x, *, public: str = "none", input_digest: bool = False, salt=None,
                  accel: bool = True) -> tuple[Path, bytes]:
    """The guest ELF and its private input for `x` in a privacy mode, without running it (for benchmarks and
    pipelines that drive the prover themselves). `accel=False`: the guest built without the dot-product
    accelerator (plain RV32IM inner loops), for comparisons."""
    model = load_model(model)
    return _guest_and_request(model, public, prepare_input(model, x), input_digest, salt, accel)


@dataclass(frozen=True)
class MLRun:
    """An executed (unproven) inference: the journal the guest committed and what proving it would cost."""

    prediction: Prediction
    cycles: int
    provable: bool
    wall_s: float
    input: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class MLProof(HasReceipt):
    """A proven inference: the receipt, the prediction it proves, and the cost."""

    receipt: object  # zkvm.receipt.Receipt
    prediction: Prediction
    cycles: int
    prove_seconds: float
    input: np.ndarray = field(repr=False)


def run(model, x, *, public: str = "none", input_digest: bool = False, salt=None, calibration=None) -> MLRun:
    """Execute the ML guest on `x` in a privacy mode (no proof): the prediction and the cycle count.
    `salt` (private-model modes): bytes or the owner's salt file (default `Model.owner_files()`)."""
    from zkvm.elf import load_elf  # noqa: PLC0415
    from zkvm.exec import Executor  # noqa: PLC0415

    model = load_model(model, calibration=calibration)
    _check_mode(public, input_digest)
    xq = prepare_input(model, x)
    elf, request = _guest_and_request(model, public, xq, input_digest, salt)
    result = Executor(load_elf(elf), request).run()
    if result.exit_code != 0:
        raise GuestExitError(result.exit_code)
    return MLRun(guest_io.decode_journal(result.journal), result.cycles, result.cycles <= limits.MAX_PROVABLE_CYCLES,
                 result.wall_s, xq)


def prove(model, x, *, public: str = "none", input_digest: bool = False, salt=None, zk: bool = True,
          progress: bool = False, calibration=None, fixed_cache: PathLike | None = None,
          segment_po2: int | None = None, scheduler=None) -> MLProof:
    """Execute and prove the ML guest on `x`. Zero knowledge is required unless everything is public
    (public="both"). A run longer than one segment is proven in segments (`segment_po2`, `scheduler`: see
    `host.api.prove`); one too long even for that raises CycleLimitExceeded before any proving work."""
    from zkvm import receipt as receipt_mod  # noqa: PLC0415
    from zkvm.elf import load_elf  # noqa: PLC0415
    from zkvm.exec import Executor  # noqa: PLC0415

    model = load_model(model, calibration=calibration)
    public_model, _ = _check_mode(public, input_digest)
    if not zk and public != "both":
        raise InputError("a proof without zero knowledge would leak private data: only allowed with public='both'")
    xq = prepare_input(model, x)
    elf, request = _guest_and_request(model, public, xq, input_digest, salt)
    image = load_elf(elf)
    dry = Executor(image, request).run()  # fast: a run the prover cannot hold is reported now, with its reason
    if dry.exit_code != 0:
        raise GuestExitError(dry.exit_code)
    limits.check_provable(dry.cycles, model.name, public, None if public_model else len(model.blob))
    t = time.perf_counter()
    result, receipt = receipt_mod.prove(image, request, zk=zk, progress=progress,
                                        fixed_cache=None if fixed_cache is None else os.fspath(fixed_cache),
                                        segment_po2=segment_po2, scheduler=scheduler)
    if result.exit_code != 0:
        raise GuestExitError(result.exit_code)
    return MLProof(receipt, guest_io.decode_journal(result.journal), result.cycles, time.perf_counter() - t, xq)


def image_id(model=None, *, public: str = "none", calibration=None) -> bytes:
    """The image id a verifier expects: in the private-model modes the generic guest's (the same for every
    model, `model` is not needed); in the public-model modes the guest with this model linked in."""
    from host.ml import models  # noqa: PLC0415
    from host.api import image_id as guest_image_id  # noqa: PLC0415

    public_model, _ = _check_mode(public, False)
    if not public_model:
        return guest_image_id(models.private_guest_elf())
    if model is None:
        raise InputError("a public-model image id needs the model (a, b, c, an ONNX file or a blob)")
    return guest_image_id(models.public_model_elf(load_model(model, calibration=calibration).blob))


# ---------------------------------------------------------------------------------------------- verify

@dataclass(frozen=True)
class Verified:
    """A receipt that passed every check, and what it proves."""

    prediction: Prediction
    image_id: bytes
    image_source: str
    zk: bool
    model: str  # how the model was checked

    def describe(self) -> dict:
        return {"verified": True, "zk": self.zk, "image_id": self.image_id.hex(), "image": self.image_source,
                **self.prediction.describe(), "model": self.model}


def parse_commitment(value) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        if len(value) != commitmod.COMMITMENT_BYTES:
            raise InputError(f"a model commitment is {commitmod.COMMITMENT_BYTES} bytes, got {len(value)}")
        return bytes(value)
    if isinstance(value, Commitment):
        return value.commitment
    return commitmod.parse_commitment(os.fspath(value))


def verify(receipt, *, commitment=None, model=None, image_id: bytes | str | None = None, any_model: bool = False,
           calibration=None) -> Verified:
    """Verify an ML receipt (Receipt, bytes or file path). Private model: give the owner's published
    `commitment` (bytes, hex, a file, or a Commitment), or `any_model=True` to accept whichever model was
    committed. Public model: give the published `model` (a Model, a blob file, "a"/"b"/"c"), whose guest is
    rebuilt for the image id. `image_id` overrides the rebuilt id. Raises a VerificationError subclass."""
    from host.ml import models  # noqa: PLC0415
    from host.api import image_id as guest_image_id  # noqa: PLC0415
    from zkvm import receipt as receipt_mod  # noqa: PLC0415

    if model is not None and (commitment is not None or any_model):
        raise InputError("a model names a public model; a commitment (or any_model) a private one: not both")
    expected = None if commitment is None else parse_commitment(commitment)
    public_model = None if model is None else load_model(model, calibration=calibration)
    if image_id is not None:
        iid, source = parse_image_id(image_id), "given"
    elif public_model is not None:
        iid = guest_image_id(models.public_model_elf(public_model.blob))
        source = "rebuilt: public-model guest of the given model"
    else:
        iid = guest_image_id(models.private_guest_elf())
        source = "rebuilt: generic private-model guest (guest/ml_private)"
    rcpt = read_receipt(receipt)
    try:
        journal = receipt_mod.verify(rcpt, iid, require_zk=False)
    except receipt_mod.ImageIdMismatch as exc:
        hint = ("" if image_id is not None else
                " (a public-model receipt needs its model)" if public_model is None else
                " (the receipt was not made with this model, or is a private-model receipt)")
        raise receipt_mod.ImageIdMismatch(f"{exc}; expected image {source}{hint}") from None
    if rcpt.claim.exit_code != 0:
        raise VerificationError(f"the proven run exited with code {rcpt.claim.exit_code}: no prediction")
    try:
        j = guest_io.decode_journal(journal)
    except InputError as exc:
        raise VerificationError(f"the proven journal is not an ML prediction: {exc}") from None
    if j.model_commitment is not None:
        if expected is not None:
            if j.model_commitment != expected:
                raise ModelCommitmentMismatch(
                    f"the receipt's model commitment {j.model_commitment.hex()} is not the expected "
                    f"{expected.hex()}: another model (or another salt) made this prediction")
            how = f"private, commitment {j.model_commitment.hex()} (matches the expected commitment)"
        elif not any_model:
            raise ModelCommitmentRequired(
                f"this receipt proves inference with the private model committed to by {j.model_commitment.hex()}; "
                "pass the commitment its owner published (--model-commitment HEX|FILE), or --any-model")
        else:
            how = f"private, commitment {j.model_commitment.hex()} (not checked: any model accepted)"
    else:
        if expected is not None or any_model:
            raise NotAPrivateModelReceipt(
                "this receipt's model is public (linked into its image, bound by the image id), it has no commitment")
        how = "public (linked into the guest: bound by the image id)"
        if public_model is not None:
            how += f", sha256:{public_model.digest.hex()}"
    private = j.model_commitment is not None or (j.input_bytes is None and j.input_digest is None)
    if private and not rcpt.zk:
        raise receipt_mod.NotZeroKnowledge("receipt keeps data private but its proof is not zero-knowledge: refused")
    return Verified(j, iid, source, rcpt.zk, how)
