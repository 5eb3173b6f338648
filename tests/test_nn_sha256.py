"""The guest SHA-256 (guest/nn/sha256.c: the model commitment and the input digest) equals hashlib on every
message length 0..300 (all padding cases) and when fed in uneven pieces, natively and on the RV32IM interpreter."""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
from pathlib import Path

import pytest

from ml_support import REPO, InterpreterRunner, NativeRunner, interpreter_available

HARNESS = REPO / "tests" / "nn_native" / "sha256_main.c"
SEED = 20261125


def _runner(backend: str):
    if backend == "native":
        return NativeRunner(HARNESS)
    if not interpreter_available():
        pytest.skip("interpreter (zkvm.exec) not built")
    d = Path(tempfile.mkdtemp(prefix="sha256_guest_"))
    shutil.copy(HARNESS, d / "main.c")
    (d / "sources.txt").write_text(f"{REPO / 'guest' / 'nn'}\n")
    return InterpreterRunner(d)


@pytest.mark.parametrize("backend", ["native", "interpreter"])
def test_guest_sha256_matches_hashlib(backend: str) -> None:
    data = random.Random(SEED).randbytes(300)
    code, journal = _runner(backend)(data)
    assert code == 0
    want = b"".join(hashlib.sha256(data[:n]).digest() for n in range(len(data) + 1)) + hashlib.sha256(data).digest()
    assert len(journal) == len(want)
    bad = [i for i in range(0, len(want), 32) if journal[i : i + 32] != want[i : i + 32]]
    assert not bad, f"seed {SEED} ({backend}): first wrong digest for length {bad[0] // 32}"


@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_commitment_and_input_digest_unchanged_by_the_accelerator(name: str) -> None:
    """The private-model guest on the zkvm (every block through the SHA256 ecall) commits the same model
    commitment and input digest as the native build (the portable compression this file used before the
    accelerator) and as hashlib (host/ml/commitment.py): published commitments stay valid."""
    from ml_support import PRIVATE_GUEST, TEST_SALT, expected, model

    from host.ml import guest_io

    if not interpreter_available():
        pytest.skip("interpreter (zkvm.exec) not built")
    _, qm, blob, xte, _ = model(name)
    x = qm.quantize_input(xte[3])
    request = guest_io.encode_request(x, blob, True, input_digest=True, salt=TEST_SALT)
    want = expected(qm, blob, x, True, digest=True)
    zkvm_out = InterpreterRunner(PRIVATE_GUEST)(request)
    native_out = NativeRunner(PRIVATE_GUEST / "main.c")(request)
    assert zkvm_out == native_out == (0, want)
