"""Receipts: honest ones verify; every field tampered in turn, wrong image ids, dev receipts, truncated or
garbage files are rejected with a typed error naming the failed check (and exit status 1 from the CLI)."""

from __future__ import annotations

import hashlib
import random
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import harness as H
from zkvm import receipt as R
from zkvm.errors import VerificationError
from zkvm.stark.errors import InsufficientSecurity

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def proven():
    """(image, receipt, image id) of the kitchen-sink program, proven once with fast (weak) options."""
    code, _ = H.kitchen_sink()
    image = H.A.image(code, {H.DATA: 0xCAFEF00D})
    result, receipt = R.prove(image, H.INPUT, zk=False, options=H.FAST)
    assert result.journal == receipt.journal == H.INPUT and receipt.claim.exit_code == 3
    return image, receipt, R.image_id(image)


def verify(receipt, image_id, **kw):
    kw.setdefault("min_security_bits", 0)  # the fixture's options are weak on purpose
    return R.verify(receipt, image_id, **kw)


def test_honest_receipt_verifies(proven):
    image, receipt, iid = proven
    assert receipt.claim.image_id == iid
    assert verify(R.Receipt.from_bytes(receipt.to_bytes()), iid) == H.INPUT


def test_weak_proof_refused_by_default_minimum(proven):
    _, receipt, iid = proven
    with pytest.raises(InsufficientSecurity):
        R.verify(receipt, iid)


def test_wrong_image_id(proven):
    _, receipt, iid = proven
    other = bytearray(iid)
    other[0] ^= 1
    with pytest.raises(R.ImageIdMismatch):
        verify(receipt, bytes(other))


def test_image_id_depends_on_program_and_data(proven):
    image, _, iid = proven
    code, _ = H.kitchen_sink()
    assert R.image_id(H.A.image(code, {H.DATA: 0xCAFEF00E})) != iid  # one data bit
    code[3] ^= 1 << 20  # one immediate bit
    assert R.image_id(H.A.image(code, {H.DATA: 0xCAFEF00D})) != iid


# --- every byte range of the encoding, tampered in turn ------------------------------------------------------
def _layout(receipt: R.Receipt) -> dict[str, tuple[int, int]]:
    """Byte ranges of each field in receipt.to_bytes()."""
    head, claim = 11, R._CLAIM.size
    jl = len(receipt.journal)
    seal_at = head + claim + 4 + jl + 4
    return {
        "magic": (0, 8), "version": (8, 10), "flags": (10, 11), "claim_version": (11, 13),
        "image_id": (13, 45), "exit_code": (45, 49), "journal_digest": (49, 81), "journal_len": (81, 85),
        "journal": (85, 85 + jl), "seal_len": (85 + jl, seal_at), "seal_entry": (seal_at, seal_at + 4),
        "seal_image_lo": (seal_at + 4, seal_at + 8), "seal_image_hi": (seal_at + 8, seal_at + 12),
        "seal_text_lo": (seal_at + 12, seal_at + 16), "seal_text_hi": (seal_at + 16, seal_at + 20),
        "seal_fixed_digest": (seal_at + 20, seal_at + 52), "proof": (seal_at + 52, seal_at + len(receipt.seal)),
    }


FIELDS = ["magic", "version", "flags", "claim_version", "image_id", "exit_code", "journal_digest", "journal_len",
          "journal", "seal_len", "seal_entry", "seal_image_lo", "seal_image_hi", "seal_text_lo", "seal_text_hi",
          "seal_fixed_digest"]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("where", ["first", "last"])
def test_tampered_field_rejected(proven, field, where):
    _, receipt, iid = proven
    data = bytearray(receipt.to_bytes())
    lo, hi = _layout(receipt)[field]
    i = lo if where == "first" else hi - 1
    data[i] ^= 0x01  # for "flags": toggles the zk bit
    with pytest.raises(VerificationError):
        verify(R.Receipt.from_bytes(bytes(data)), iid)


@pytest.mark.parametrize("flags", [0b10, 0b11, 0b100, 0x80])
def test_flags(proven, flags):
    """Claiming dev (unproven) or unknown flags on a proven receipt is refused."""
    _, receipt, iid = proven
    data = bytearray(receipt.to_bytes())
    data[10] = flags
    with pytest.raises(VerificationError):
        verify(R.Receipt.from_bytes(bytes(data)), iid)


@pytest.mark.parametrize("seed", range(6))
def test_tampered_proof_bytes_rejected(proven, seed):
    _, receipt, iid = proven
    data = bytearray(receipt.to_bytes())
    lo, hi = _layout(receipt)["proof"]
    rng = random.Random(seed)
    # first bytes (magic, options, heights, roots) for small seeds, anywhere later
    i = lo + (rng.randrange(0, 200) if seed < 3 else rng.randrange(0, hi - lo))
    data[i] ^= 1 << rng.randrange(8)
    try:
        verify(R.Receipt.from_bytes(bytes(data)), iid)
    except VerificationError:
        return
    pytest.fail(f"proof with byte {i - lo} flipped was accepted (seed {seed})")


def test_journal_changed_with_matching_digest(proven):
    """Changing the journal and recomputing its digest leaves a claim the proof does not support."""
    _, receipt, iid = proven
    journal = b"\xa1\xb2\xc4"
    claim = replace(receipt.claim, journal_digest=hashlib.sha256(journal).digest())
    with pytest.raises(VerificationError):
        verify(replace(receipt, claim=claim, journal=journal), iid)


def test_exit_code_changed(proven):
    _, receipt, iid = proven
    with pytest.raises(VerificationError):
        verify(replace(receipt, claim=replace(receipt.claim, exit_code=0)), iid)


def test_seal_image_data_rehashed(proven):
    """A seal naming another image span, with the claim and the expected id recomputed to match: the proof
    was made for the real image's fixed columns and publics, so it fails."""
    _, receipt, iid = proven
    seal = R.Seal.from_bytes(receipt.seal)
    fake = replace(seal, image_hi=seal.image_hi + 1)
    fake_id = fake.image_id
    r2 = replace(receipt, seal=fake.to_bytes(), claim=replace(receipt.claim, image_id=fake_id))
    with pytest.raises(VerificationError):
        verify(r2, fake_id)


def test_require_zk(proven):
    _, receipt, iid = proven
    with pytest.raises(R.NotZeroKnowledge):
        verify(receipt, iid, require_zk=True)


@pytest.mark.parametrize("cut", [0, 1, 7, 8, 10, 11, 40, 84, 85, 90, 120, -1000, -1])
def test_truncated(proven, cut):
    _, receipt, _ = proven
    data = receipt.to_bytes()
    with pytest.raises(R.MalformedReceipt):
        R.Receipt.from_bytes(data[:cut] if cut >= 0 else data[:len(data) + cut])


def test_trailing_bytes(proven):
    with pytest.raises(R.MalformedReceipt):
        R.Receipt.from_bytes(proven[1].to_bytes() + b"\0")


@pytest.mark.parametrize("seed", range(4))
def test_garbage(seed):
    rng = random.Random(seed)
    blob = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
    if seed % 2:
        blob = R.MAGIC + struct.pack("<HB", R.VERSION, 0) + blob  # past the magic: exercise the length checks
    with pytest.raises(R.MalformedReceipt):
        R.Receipt.from_bytes(blob)


def test_dev_receipt_needs_both_flags():
    code, _ = H.kitchen_sink()
    image = H.A.image(code, {H.DATA: 0xCAFEF00D})
    _, dev = R.prove(image, H.INPUT, dev=True)
    assert dev.dev and not dev.seal
    iid = R.image_id(image)
    with pytest.raises(R.DevReceiptRefused):
        verify(dev, iid)
    assert verify(R.Receipt.from_bytes(dev.to_bytes()), iid, allow_dev=True) == H.INPUT
    with pytest.raises(R.JournalDigestMismatch):
        verify(replace(dev, journal=b"x"), iid, allow_dev=True)


# --- CLI ------------------------------------------------------------------------------------------------------
def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "host", *map(str, args)], cwd=ROOT, capture_output=True,
                          timeout=300)


def test_cli_verify_inspect_and_rejections(proven, tmp_path):
    _, receipt, iid = proven
    good = tmp_path / "good.rcpt"
    good.write_bytes(receipt.to_bytes())
    ok = cli("verify", good, "--image-id", iid.hex(), "--min-security", "0")
    assert ok.returncode == 0 and ok.stdout == H.INPUT, ok.stderr
    weak = cli("verify", good, "--image-id", iid.hex())
    assert weak.returncode == 1 and b"InsufficientSecurity" in weak.stderr
    wrong = cli("verify", good, "--image-id", "00" * 32, "--min-security", "0")
    assert wrong.returncode == 1 and b"ImageIdMismatch" in wrong.stderr
    trunc = tmp_path / "trunc.rcpt"
    trunc.write_bytes(receipt.to_bytes()[:-5])
    bad = cli("verify", trunc, "--image-id", iid.hex())
    assert bad.returncode == 1 and b"truncated" in bad.stderr and b"Traceback" not in bad.stderr
    garbage = tmp_path / "garbage.rcpt"
    garbage.write_bytes(b"GIF89a" + bytes(100))
    bad = cli("verify", garbage, "--image-id", iid.hex())
    assert bad.returncode == 1 and b"bad magic" in bad.stderr
    missing = cli("verify", tmp_path / "nope.rcpt", "--image-id", iid.hex())
    assert missing.returncode == 1 and b"cannot read" in missing.stderr
    badhex = cli("verify", good, "--image-id", "xyz")
    assert badhex.returncode == 1 and b"hex" in badhex.stderr
    info = cli("inspect", good, "--json")
    assert info.returncode == 0, info.stderr
    import json
    d = json.loads(info.stdout)
    assert d["image_id"] == iid.hex() and d["exit_code"] == 3 and d["security_bits"] == H.FAST.security_bits
    assert cli("inspect", garbage).returncode == 1
