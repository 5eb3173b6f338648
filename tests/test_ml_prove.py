"""End to end: prove and verify ML inference receipts (model A in the default run, B and C under `slow`),
check what the journal reveals per privacy mode, and that private data never appear in journal or receipt."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from host.ml import guest_io, reference
from ml_support import model, private_guest_dir
from zkvm.errors import VerificationError, ZkvmError

receipt_mod = pytest.importorskip("zkvm.receipt", reason="proving (zkvm.receipt) not available")


def _private_image(name: str, salt: bytes = bytes(range(32))):
    import tempfile
    from pathlib import Path

    from host.build import build_guest
    from zkvm.elf import load_elf

    out = Path(tempfile.mkdtemp()) / "g.elf"
    return load_elf(build_guest(private_guest_dir(name, salt), out))


def _prove(image, request: bytes):
    """Private modes are proven zero-knowledge (the CLI refuses anything else for them)."""
    result, rcpt = receipt_mod.prove(image, request, zk=True)
    assert rcpt.zk
    return result, rcpt


def _windows(data: bytes, size: int) -> set[bytes]:
    """Distinctive `size`-byte windows of `data`: runs like all-zero weights (inputs that are always blank)
    would match any receipt by chance, so windows with fewer than 6 distinct byte values are left out."""
    wins = {data[i : i + size] for i in range(0, max(1, len(data) - size + 1))}
    return {w for w in wins if len(set(w)) >= 6}


def _check_private_model_run(name: str, index: int) -> None:
    _, qm, blob, xte, _ = model(name)
    image = _private_image(name)
    x = qm.quantize_input(xte[index])
    result, rcpt = _prove(image, guest_io.encode_request(x, None, False))
    assert result.exit_code == 0
    data = rcpt.to_bytes()
    back = receipt_mod.Receipt.from_bytes(data)
    journal = receipt_mod.verify(back, receipt_mod.image_id(image), require_zk=True)
    j = guest_io.decode_journal(journal)
    want = reference.run(qm, x[None])[0]
    assert j.logits == want.tobytes() and j.predicted == int(want.argmax())
    # Private input, private model: the journal carries neither, nor a digest of either.
    assert j.model_digest is None and j.input_bytes is None and j.input_digest is None
    assert x.tobytes() not in journal and x.tobytes() not in data
    assert hashlib.sha256(x.tobytes()).digest() not in data
    weights = blob[32:]  # everything after the header: layer records with the weights
    leaked = [w for w in _windows(weights, 16) if w in data]
    assert not leaked, f"{len(leaked)} 16-byte windows of the model weights appear in the receipt"
    assert hashlib.sha256(blob).digest() not in data
    # The receipt is bound to this model: another salt (same weights) is another image, and is refused.
    other = receipt_mod.image_id(_private_image(name, salt=bytes(32)))
    with pytest.raises(VerificationError):
        receipt_mod.verify(back, other)
    # A tampered journal (a different prediction) is refused.
    bad_journal = bytearray(back.journal)
    bad_journal[-1 - len(want) + 1] ^= 1
    forged = receipt_mod.Receipt(back.claim, bytes(bad_journal), back.seal, back.zk, back.dev)
    with pytest.raises(VerificationError):
        receipt_mod.verify(forged, receipt_mod.image_id(image))


def test_model_a_private_prove_verify() -> None:
    _check_private_model_run("a", 3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["b", "c"])
def test_models_b_c_private_prove_verify(name: str) -> None:
    _check_private_model_run(name, 7)


def test_journal_reveals_exactly_the_mode(tmp_path) -> None:
    """What each mode commits, checked on the interpreter (proving adds nothing to the journal)."""
    from ml_support import REPO, InterpreterRunner

    _, qm, blob, xte, _ = model("a")
    x = qm.quantize_input(xte[1])
    priv = InterpreterRunner(private_guest_dir("a"))
    pub = InterpreterRunner(REPO / "guest" / "ml_public")
    cases = {
        "none": (priv, guest_io.encode_request(x, None, False)),
        "input": (priv, guest_io.encode_request(x, None, True)),
        "input-digest": (priv, guest_io.encode_request(x, None, True, True)),
        "model": (pub, guest_io.encode_request(x, blob, False)),
        "both": (pub, guest_io.encode_request(x, blob, True)),
    }
    for mode, (run, req) in cases.items():
        code, journal = run(req)
        assert code == 0, mode
        j = guest_io.decode_journal(journal)
        assert (j.model_digest is not None) == (mode in ("model", "both")), mode
        assert (j.input_bytes == x.tobytes()) == (mode in ("input", "both")), mode
        assert (j.input_digest == hashlib.sha256(x.tobytes()).digest()) == (mode == "input-digest"), mode
        if mode in ("none", "model", "input-digest"):
            assert x.tobytes() not in journal, mode
        assert not any(w in journal for w in _windows(blob[32:], 16)), mode
        assert np.frombuffer(j.logits, np.int8).argmax() == j.predicted
