"""Honest proofs of the shipped guests (small inputs) verify, and claim exactly what the interpreter computed."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

import harness as H
from zkvm import receipt as R
from zkvm.elf import load_elf

GUEST_DIR = Path(__file__).resolve().parents[2] / "build" / "guests"
rng = random.Random("guest-proofs")
INPUTS = {
    "hello": b"zk",
    "selftest": rng.randbytes(37),
    "fib": struct.pack("<I", 300),
    "sha256": b"abc",
    "sort": struct.pack("<50I", *(rng.getrandbits(32) for _ in range(50))),
    "ml_private": rng.randbytes(64),
}
FAST_GUESTS = ["hello", "selftest"]


def _prove_and_verify(name: str) -> None:
    path = GUEST_DIR / f"{name}.elf"
    if not path.exists():
        pytest.skip(f"{path} not built: run `python -m host build --all` (make test does)")
    image = load_elf(path)
    result, receipt = R.prove(image, INPUTS[name], zk=False, options=H.FAST)
    journal = R.verify(R.Receipt.from_bytes(receipt.to_bytes()), R.image_id(image), min_security_bits=0)
    assert journal == result.journal, name
    assert receipt.claim.exit_code == result.exit_code, name


@pytest.mark.parametrize("name", FAST_GUESTS)
def test_guest_proof(name):
    _prove_and_verify(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [g for g in INPUTS if g not in FAST_GUESTS])
def test_guest_proof_slow(name):
    _prove_and_verify(name)


@pytest.mark.slow
def test_ml_inference_proof():
    """A real inference of the private-model guest (model A and a salt in the input, the input tensor through
    the whole network, the model commitment hashed) proves."""
    import numpy as np

    from host.ml import models
    from host.ml.guest_io import encode_request

    path = GUEST_DIR / "ml_private.elf"
    if not path.exists() or not models.paths("a")["blob"].exists():
        pytest.skip(f"{path} or model A not built")
    image = load_elf(path)
    request = encode_request(np.random.default_rng(1).integers(-128, 127, 64, dtype=np.int8), models.load_blob("a"),
                             publish_input=False, salt=bytes(range(32)))
    result, receipt = R.prove(image, request, zk=False, options=H.FAST)
    assert result.exit_code == 0 and result.journal.startswith(b"ZKML")
    assert R.verify(receipt, R.image_id(image), min_security_bits=0) == result.journal
