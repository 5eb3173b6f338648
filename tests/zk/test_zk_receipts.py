"""Zero-knowledge receipts end to end: `host run --prove` is zk by default and `--no-zk` opts out; the receipt,
its seal and `host inspect` say which; `--require-zk` / `verify(require_zk=True)` refuse integrity-only
receipts with NotZeroKnowledge; zkML modes that keep data private refuse to prove without zk."""

from __future__ import annotations

import json

import pytest

from host.build import GUESTS_DIR, build_guest, find_guests
from host.cli import main as cli
from zkvm import receipt as R
from zkvm.elf import load_elf
from zkvm.stark.verifying.proof import Proof

GUEST = "fib"


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    out = tmp_path_factory.mktemp("zk_guests")
    guest = next(g for g in find_guests(GUESTS_DIR) if g.name == GUEST)
    return build_guest(guest, out / f"{GUEST}.elf")


@pytest.fixture(scope="module")
def receipts(elf, tmp_path_factory):
    """The same run proven twice through the CLI: default (zk) and --no-zk."""
    out = tmp_path_factory.mktemp("zk_receipts")
    paths = {}
    for zk in (True, False):
        path = out / ("zk.bin" if zk else "plain.bin")
        argv = ["run", str(elf), "--prove", "--receipt", str(path)] + ([] if zk else ["--no-zk"])
        assert cli(argv) == 0
        paths[zk] = path
    return paths


def test_cli_proves_zk_by_default_and_no_zk_opts_out(receipts):
    zk_r = R.read_receipt(str(receipts[True]))
    plain = R.read_receipt(str(receipts[False]))
    assert zk_r.zk and not plain.zk
    for rec, zk in ((zk_r, True), (plain, False)):
        proof = Proof.from_bytes(R.Seal.from_bytes(rec.seal).proof)
        assert proof.options.zk is zk and proof.options.security_bits >= 100
    assert zk_r.journal == plain.journal and zk_r.claim == plain.claim  # same statement either way


def test_zk_receipt_verifies_with_and_without_require_zk(receipts, elf):
    iid = R.image_id(load_elf(elf))
    rec = R.read_receipt(str(receipts[True]))
    assert R.verify(rec, iid, require_zk=True) == rec.journal
    assert R.verify(rec, iid) == rec.journal
    assert cli(["verify", str(receipts[True]), "--elf", str(elf), "--require-zk", "--hex"]) == 0


def test_require_zk_refuses_integrity_only_receipts(receipts, elf, capsys):
    iid = R.image_id(load_elf(elf))
    rec = R.read_receipt(str(receipts[False]))
    assert R.verify(rec, iid) == rec.journal  # valid, just not zk
    with pytest.raises(R.NotZeroKnowledge):
        R.verify(rec, iid, require_zk=True)
    capsys.readouterr()
    assert cli(["verify", str(receipts[False]), "--elf", str(elf), "--require-zk"]) == 1
    assert "NotZeroKnowledge" in capsys.readouterr().err


def test_zk_flag_cannot_be_claimed_for_a_plain_proof(receipts, elf):
    """Setting the receipt's zk bit on an integrity-only proof is caught: the seal's options say otherwise."""
    iid = R.image_id(load_elf(elf))
    plain = R.read_receipt(str(receipts[False]))
    forged = R.Receipt(plain.claim, plain.journal, plain.seal, zk=True, dev=False)
    with pytest.raises(R.SealError):
        R.verify(R.Receipt.from_bytes(forged.to_bytes()), iid, require_zk=True)


def test_inspect_shows_zk(receipts, capsys):
    for zk in (True, False):
        capsys.readouterr()
        assert cli(["inspect", str(receipts[zk]), "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info["zk"] is zk and info["proof_options"]["zk"] is zk


def test_inspect_names_every_table_of_a_zk_proof(receipts, capsys):
    """A zk proof has one more table (the LogUp blinding hub, stark/verifying/blinding.py): inspect still maps heights to
    table names and finds the cpu height."""
    from zkvm.stark.verifying.blinding import HUB

    for zk in (True, False):
        capsys.readouterr()
        assert cli(["inspect", str(receipts[zk]), "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert isinstance(info["table_heights"], dict) and (HUB in info["table_heights"]) is zk
        assert info["cycles_padded"] == info["table_heights"]["cpu"]


@pytest.mark.parametrize("zk", [True, False])
def test_cpu_height_cap_applies_to_zk_receipts(receipts, elf, zk):
    """The receipt's cap on the cpu table height (memory timestamps) must see the heights of a zk proof too,
    whose AIR has the extra blinding hub table: a seal claiming a too-tall cpu table is refused by that check."""
    import dataclasses

    from zkvm.circuit import riscv_air
    from zkvm.circuit.cpu import MAX_LOG_HEIGHT

    iid = R.image_id(load_elf(elf))
    rec = R.read_receipt(str(receipts[zk]))
    seal = R.Seal.from_bytes(rec.seal)
    proof = Proof.from_bytes(seal.proof)
    proof.log_heights[[t.name for t in riscv_air.circuit().air.tables].index("cpu")] = MAX_LOG_HEIGHT + 1
    forged = dataclasses.replace(seal, proof=proof.to_bytes())
    with pytest.raises(R.SealError, match="cpu table of height"):
        R.verify(R.Receipt(rec.claim, rec.journal, forged.to_bytes(), zk=zk, dev=False), iid)


@pytest.mark.parametrize("public", ["none", "input", "model"])
def test_private_ml_modes_refuse_no_zk(public, tmp_path, capsys):
    code = cli(["ml", "prove", "a", "--input", "0", "--public", public, "--no-zk", "--receipt",
                str(tmp_path / "r.bin")])
    assert code != 0
    assert "--no-zk" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hello", "selftest", "sha256", "sort"])
def test_every_guest_proves_and_verifies_in_zk(name, tmp_path):
    guest = next(g for g in find_guests(GUESTS_DIR) if g.name == name)
    image = load_elf(build_guest(guest, tmp_path / f"{name}.elf"))
    result, rec = R.prove(image, b"12345678")
    assert rec.zk
    assert R.verify(R.Receipt.from_bytes(rec.to_bytes()), R.image_id(image), require_zk=True) == result.journal


@pytest.mark.slow
def test_ml_verify_refuses_an_integrity_only_receipt_of_private_data(tmp_path, capsys):
    """A private-input, private-model ML run proven without zk (possible through the library, not the CLI):
    `host ml verify` checks the proof, sees the privacy mode in the journal and refuses it."""
    from host.api.ml import guest_request
    from host.ml import models

    qm = models.load_model("a")
    x, _ = models.test_data("a")
    elf, request = guest_request("a", qm.quantize_input(x[0]).tobytes(), public="none")
    image = load_elf(elf)
    _, rec = R.prove(image, request, zk=False)
    path = tmp_path / "plain.bin"
    path.write_bytes(rec.to_bytes())
    iid = R.image_id(image).hex()
    commitment = models.write_commitment("a").hex()
    capsys.readouterr()
    assert cli(["ml", "verify", str(path), "--image-id", iid, "--model-commitment", commitment]) == 1
    assert "not zero-knowledge" in capsys.readouterr().err
    _, zk_rec = R.prove(image, request)  # and the zk receipt of the same run is accepted
    path.write_bytes(zk_rec.to_bytes())
    assert cli(["ml", "verify", str(path), "--image-id", iid, "--model-commitment", commitment]) == 0
