"""Shared helpers for the ML tests: models trained in memory (seeded; no files shared between workers),
and a runner that executes a guest on the interpreter or natively."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import tempfile
from pathlib import Path

import numpy as np

from host.ml import guest_io, models, native

REPO = Path(__file__).resolve().parents[1]


def _source_hash() -> str:
    h = hashlib.sha256()
    for f in sorted((REPO / "host" / "ml").glob("*.py")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def model(name: str):
    """-> (float model, quant model, blob, x_test float, y_test). Trained once per version of host/ml (cached
    under build/ml_test_cache, file-locked so parallel workers train each model once)."""
    from host.ml.blob_decode import decode_blob
    from host.ml import onnx_io

    cache = REPO / "build" / "ml_test_cache" / _source_hash()
    cache.mkdir(parents=True, exist_ok=True)
    onnx_path, blob_path = cache / f"{name}.onnx", cache / f"{name}.blob"
    with open(cache / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not blob_path.exists():
            tmp = cache / f"{name}.tmp.onnx"
            _, qm = models.make_model(name, tmp)
            tmp.replace(onnx_path)
            blob_path.write_bytes(qm.to_bytes())
    fm = onnx_io.load(onnx_path, (0.0, 1.0))
    blob = blob_path.read_bytes()
    qm = decode_blob(blob)
    xte, yte = models.test_data(name)
    return fm, qm, blob, xte, yte


#: The model owner's salt in tests (fixed, so journals are reproducible; real salts come from the OS CSPRNG).
TEST_SALT = bytes(range(32))
#: The generic private-model guest: model blob and salt in the private input.
PRIVATE_GUEST = REPO / "guest" / "ml_private"


@functools.lru_cache(maxsize=None)
def public_guest_dir(name: str) -> Path:
    """A public-model guest folder for the in-memory model (its blob linked in, no salt)."""
    _, _, blob, _, _ = model(name)
    d = Path(tempfile.mkdtemp(prefix=f"ml_{name}_public_"))
    (d / "main.c").write_text(models.public_guest_source(blob))
    (d / "sources.txt").write_text(f"{REPO / 'guest' / 'nn'}\n")
    return d


def interpreter_available() -> bool:
    try:
        import zkvm.exec  # noqa: F401
        import zkvm.elf  # noqa: F401
    except ImportError:
        return False
    return True


class NativeRunner:
    def __init__(self, main_c: Path, sanitize: bool = False) -> None:
        self.binary = native.build_native(Path(main_c), sanitize=sanitize, name=Path(main_c).parent.name)

    def __call__(self, request: bytes) -> tuple[int, bytes]:
        code, journal, _ = native.run_native(self.binary, request)
        return code, journal


class InterpreterRunner:
    def __init__(self, guest_dir: Path, defines: tuple[str, ...] = ()) -> None:
        from host.build import build_guest
        from zkvm.elf import load_elf

        out = Path(tempfile.mkdtemp()) / "guest.elf"
        self.image = load_elf(build_guest(guest_dir, out, defines))

    def __call__(self, request: bytes) -> tuple[int, bytes]:
        from zkvm.exec import Executor

        r = Executor(self.image, request).run()
        return r.exit_code, r.journal


def expected(qm, blob_in_request: bytes | None, xq: np.ndarray, publish: bool, digest: bool = False,
             salt: bytes = TEST_SALT) -> bytes:
    """The journal for input `xq`: blob_in_request given = the private-model guest (commitment of blob + salt)."""
    from host.ml import commitment, reference

    logits = reference.run(qm, xq[None])[0]
    c = None if blob_in_request is None else commitment.model_commitment(blob_in_request, salt)
    return guest_io.expected_journal(logits, c, xq, publish, digest)
