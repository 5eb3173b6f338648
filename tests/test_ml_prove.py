"""End to end: every privacy mode proves (zk) and verifies (model A in the default run, B and C under `slow`),
the journal reveals exactly the mode, private data (input, weights, the commitment's salt) never appear in
the receipt, and `ml verify` rejects a wrong commitment / model / image id with a named check and exit 1."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pytest

from host.cli import main as cli
from host.ml.blob_decode import decode_blob
from host.ml import guest_io, limits, reference
from host.ml.commitment import model_commitment
from ml_support import PRIVATE_GUEST, TEST_SALT, InterpreterRunner, model, public_guest_dir
from zkvm.errors import VerificationError

receipt_mod = pytest.importorskip("zkvm.receipt", reason="proving (zkvm.receipt) not available")

MODES = ("none", "input", "model", "both")


def _image(guest_dir: Path):
    from host.build import build_guest
    from zkvm.elf import load_elf

    return load_elf(build_guest(guest_dir, Path(tempfile.mkdtemp()) / "g.elf"))


def _windows(data: bytes, size: int) -> set[bytes]:
    """Distinctive `size`-byte windows of `data`: runs like all-zero weights (inputs that are always blank)
    would match any receipt by chance, so windows with fewer than 6 distinct byte values are left out."""
    wins = {data[i : i + size] for i in range(0, max(1, len(data) - size + 1))}
    return {w for w in wins if len(set(w)) >= 6}


def _request(mode: str, x: np.ndarray, blob: bytes) -> bytes:
    public_model = mode in ("model", "both")
    return guest_io.encode_request(x, None if public_model else blob, mode in ("input", "both"),
                                   salt=None if public_model else TEST_SALT)


def _rejected(capsys, argv: list[str], check: str) -> None:
    capsys.readouterr()
    assert cli(argv) == 1, argv
    err = capsys.readouterr().err
    assert check in err and "Traceback" not in err, err


def _check_mode(name: str, mode: str, index: int, tmp_path: Path, capsys, cli_checks: bool = True) -> None:
    _, qm, blob, xte, _ = model(name)
    public_model, public_input = mode in ("model", "both"), mode in ("input", "both")
    image = _image(public_guest_dir(name) if public_model else PRIVATE_GUEST)
    x = qm.quantize_input(xte[index])
    result, rcpt = receipt_mod.prove(image, _request(mode, x, blob), zk=True)
    assert result.exit_code == 0 and rcpt.zk
    data = rcpt.to_bytes()
    back = receipt_mod.Receipt.from_bytes(data)
    journal = receipt_mod.verify(back, receipt_mod.image_id(image), require_zk=True)
    j = guest_io.decode_journal(journal)
    want = reference.run(qm, x[None])[0]
    assert j.logits == want.tobytes() and j.predicted == int(want.argmax())
    commitment = model_commitment(blob, TEST_SALT)
    assert j.model_commitment == (None if public_model else commitment)
    assert (j.input_bytes == x.tobytes()) == public_input and j.input_digest is None

    if not public_input:  # the input, nor its digest, is anywhere in the receipt
        assert x.tobytes() not in data and hashlib.sha256(x.tobytes()).digest() not in data
    if not public_model:  # neither are the weights, the blob's digest or the commitment's salt
        leaked = [w for w in _windows(blob[32:], 16) if w in data]
        assert not leaked, f"{len(leaked)} 16-byte windows of the model weights appear in the receipt"
        assert hashlib.sha256(blob).digest() not in data
        assert TEST_SALT[:16] not in data and TEST_SALT[16:] not in data
    # A tampered journal (another prediction) is refused.
    bad = bytearray(back.journal)
    bad[-len(want)] ^= 1
    with pytest.raises(VerificationError):
        receipt_mod.verify(receipt_mod.Receipt(back.claim, bytes(bad), back.seal, back.zk, back.dev),
                           receipt_mod.image_id(image))

    if not cli_checks:
        return
    # The CLI, as a verifier uses it: the published commitment, or the published blob.
    path, blob_file = tmp_path / "r.rcpt", tmp_path / "m.blob"
    path.write_bytes(data)
    blob_file.write_bytes(blob)
    other_blob = bytearray(blob)
    other_blob[len(blob) // 2] ^= 1  # one weight: another model, still valid
    decode_blob(bytes(other_blob))
    other_file = tmp_path / "other.blob"
    other_file.write_bytes(bytes(other_blob))
    verify = ["ml", "verify", str(path)]
    wrong_id = ["--image-id", hashlib.sha256(b"another image").hexdigest()]
    if public_model:
        assert cli(verify + ["--model-blob", str(blob_file)]) == 0
        assert cli(verify + ["--image-id", receipt_mod.image_id(image).hex()]) == 0
        _rejected(capsys, verify + wrong_id, "ImageIdMismatch")
        _rejected(capsys, verify + ["--model-blob", str(other_file)], "ImageIdMismatch")
        _rejected(capsys, verify, "ImageIdMismatch")  # expects the private-model guest
        _rejected(capsys, verify + ["--model-commitment", commitment.hex()], "ImageIdMismatch")
        _rejected(capsys, verify + ["--image-id", receipt_mod.image_id(image).hex(), "--model-commitment",
                                    commitment.hex()], "NotAPrivateModelReceipt")
    else:
        assert cli(verify + ["--model-commitment", commitment.hex()]) == 0
        commitment_file = tmp_path / "m.commitment"
        commitment_file.write_text(commitment.hex() + "\n")
        assert cli(verify + ["--model-commitment", str(commitment_file), "--image-id",
                             receipt_mod.image_id(image).hex()]) == 0
        other_salt = model_commitment(blob, bytes(32)).hex()
        _rejected(capsys, verify + ["--model-commitment", other_salt], "ModelCommitmentMismatch")
        _rejected(capsys, verify + ["--model-commitment", model_commitment(bytes(other_blob), TEST_SALT).hex()],
                  "ModelCommitmentMismatch")
        _rejected(capsys, verify, "ModelCommitmentRequired")
        _rejected(capsys, verify + ["--model-commitment", commitment.hex()] + wrong_id, "ImageIdMismatch")
        _rejected(capsys, verify + ["--model-blob", str(blob_file)], "ImageIdMismatch")
        capsys.readouterr()
        assert cli(verify + ["--model-commitment", "12ab"]) == 1  # malformed: a clear input error
        assert "64 hex digits" in capsys.readouterr().err


@pytest.mark.parametrize("mode", MODES)
def test_model_a_every_mode_proves_and_verifies(mode: str, tmp_path, capsys) -> None:
    # The CLI's rejections depend only on the model's side (private/public): checked once per side.
    _check_mode("a", mode, 3, tmp_path, capsys, cli_checks=mode in ("none", "model"))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["model", "both"])
@pytest.mark.parametrize("name", ["b", "c"])
def test_models_b_c_public_model_prove_verify(name: str, mode: str, tmp_path, capsys) -> None:
    _check_mode(name, mode, 7, tmp_path, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["none", "input"])
def test_model_c_private_model_prove_verify(mode: str, tmp_path, capsys) -> None:
    _check_mode("c", mode, 7, tmp_path, capsys)


def test_private_model_image_holds_no_model_bytes(tmp_path, monkeypatch) -> None:
    """What `ml prove` proves against: in the private-model modes one image for models A, B and C, whose memory
    (what the fixed columns commit) holds no window of any model's weights; in the public-model modes each
    model's own image, which does hold them (so the check bites)."""
    from host.api import ml as mlapi
    from host.ml import models
    from zkvm.elf import load_elf

    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    ids: dict[str, set[bytes]] = {"none": set(), "model": set()}
    for name in ("a", "b", "c"):
        _, qm, blob, xte, _ = model(name)
        (tmp_path / f"{name}.blob").write_bytes(blob)
        models.write_commitment(name)
        wins = _windows(blob[32:], 16)
        for mode, expect_model_bytes in (("none", False), ("model", True)):
            elf, _ = mlapi.guest_request(name, qm.quantize_input(xte[0]).tobytes(), public=mode)
            image = load_elf(elf)
            ids[mode].add(receipt_mod.image_id(image))
            memory = image.to_bytes_array()[1].tobytes()
            found = sum(w in memory for w in wins)
            if expect_model_bytes:
                assert found > len(wins) // 2, f"model {name}: only {found}/{len(wins)} windows in its public image"
            else:
                assert found == 0, f"model {name}: {found} weight windows in the private-model image"
    assert len(ids["none"]) == 1 and len(ids["model"]) == 3
    assert not ids["none"] & ids["model"]


def test_journal_reveals_exactly_the_mode() -> None:
    """What each mode commits, checked on the interpreter (proving adds nothing to the journal)."""
    _, qm, blob, xte, _ = model("a")
    x = qm.quantize_input(xte[1])
    priv = InterpreterRunner(PRIVATE_GUEST)
    pub = InterpreterRunner(public_guest_dir("a"))
    commitment = model_commitment(blob, TEST_SALT)
    cases = {
        "none": (priv, guest_io.encode_request(x, blob, False, salt=TEST_SALT)),
        "input": (priv, guest_io.encode_request(x, blob, True, salt=TEST_SALT)),
        "input-digest": (priv, guest_io.encode_request(x, blob, True, True, salt=TEST_SALT)),
        "model": (pub, guest_io.encode_request(x, None, False)),
        "both": (pub, guest_io.encode_request(x, None, True)),
    }
    for mode, (run, req) in cases.items():
        code, journal = run(req)
        assert code == 0, mode
        j = guest_io.decode_journal(journal)
        assert j.model_commitment == (None if mode in ("model", "both") else commitment), mode
        assert (j.input_bytes == x.tobytes()) == (mode in ("input", "both")), mode
        assert (j.input_digest == hashlib.sha256(x.tobytes()).digest()) == (mode == "input-digest"), mode
        if mode in ("none", "model", "input-digest"):
            assert x.tobytes() not in journal, mode
        assert not any(w in journal for w in _windows(blob[32:], 16)), mode
        assert TEST_SALT[:16] not in journal, mode
        assert np.frombuffer(j.logits, np.int8).argmax() == j.predicted
    # The commitment binds the salt and every blob byte: another salt or one flipped byte changes it.
    code, journal = priv(guest_io.encode_request(x, blob, False, salt=bytes(32)))
    assert code == 0 and guest_io.decode_journal(journal).model_commitment == model_commitment(blob, bytes(32))
    assert model_commitment(blob, bytes(32)) != commitment


def test_model_b_private_mode_fits_one_proof() -> None:
    """With the SHA256 accelerator (all whole blocks in one ecall) and READ_BUF, B's blob costs under one cycle
    a block (reading + hashing) instead of ~4.4k, so the private-model run fits one proof; the per-block estimate stays within 10% of the measured cost, and a
    run over the limit is still a clear CycleLimitExceeded naming continuations."""
    _, qm, blob_b, xte, _ = model("b")
    priv, pub = InterpreterRunner(PRIVATE_GUEST), InterpreterRunner(public_guest_dir("b"))
    from zkvm.exec import Executor

    x = qm.quantize_input(xte[0])
    c_priv = Executor(priv.image, guest_io.encode_request(x, blob_b, False, salt=TEST_SALT)).run().cycles
    c_pub = Executor(pub.image, guest_io.encode_request(x, None, False)).run().cycles
    assert c_pub < c_priv <= limits.MAX_PROVABLE_CYCLES
    estimate = limits.sha256_blocks(64 + len(blob_b)) * limits.SHA256_CYCLES_PER_BLOCK
    assert 0.9 * (c_priv - c_pub) <= estimate <= c_priv - c_pub, (estimate, c_priv - c_pub)
    limits.check_provable(c_priv, "b", "none", len(blob_b))
    with pytest.raises(limits.CycleLimitExceeded, match="continuations"):
        limits.check_provable(limits.MAX_PROVABLE_CYCLES + 1, "b", "none", len(blob_b))


def test_commit_cli_salt_handling(tmp_path, monkeypatch, capsys) -> None:
    """`ml commit`: the salt is created owner-only, the commitment is stable until --new-salt, which keeps the
    old salt (a published commitment stays openable) and gives an unrelated commitment."""
    from host.ml import models

    _, _, blob, _, _ = model("a")
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    (tmp_path / "a.blob").write_bytes(blob)
    capsys.readouterr()
    assert cli(["ml", "commit", "a"]) == 0
    first = capsys.readouterr().out.strip()
    salt = (tmp_path / "a.salt").read_bytes()
    assert (tmp_path / "a.salt").stat().st_mode & 0o077 == 0
    assert first == model_commitment(blob, salt).hex() == (tmp_path / "a.commitment").read_text().strip()
    assert cli(["ml", "commit", "a"]) == 0 and capsys.readouterr().out.strip() == first
    assert cli(["ml", "commit", "a", "--new-salt"]) == 0
    second = capsys.readouterr().out.strip()
    assert second != first and (tmp_path / "a.salt").read_bytes() != salt
    assert (tmp_path / f"a.salt.{first[:16]}").read_bytes() == salt
