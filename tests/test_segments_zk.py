"""A segmented run with zero knowledge (the default): proves, verifies, and a tampered segment is rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from host.build import GUESTS_DIR, build_guest
from zkvm import receipt as R
from zkvm import segmented
from zkvm.exec import Executor
from zkvm.elf import load_elf


@pytest.fixture(scope="module")
def fib(tmp_path_factory):
    out = tmp_path_factory.mktemp("guests")
    return load_elf(build_guest(Path(GUESTS_DIR) / "fib", out / "fib.elf"))


def test_zk_segmented_run(fib):
    data = (300).to_bytes(4, "little")
    _, receipt = R.prove(fib, data, segment_po2=10)
    assert receipt.zk and receipt.segments
    assert R.verify(receipt, R.image_id(fib), require_zk=True) == Executor(fib, data).run().journal
    seal = segmented.SegmentedSeal.from_bytes(receipt.seal, R.SEAL_HEAD.size)
    assert len(seal.proofs) == 2
    bad = bytearray(seal.proofs[1])
    bad[len(bad) // 2] ^= 1
    seal.proofs[1] = bytes(bad)
    tampered = R.Receipt(receipt.claim, receipt.journal, seal.to_bytes(), True, False, True)
    with pytest.raises(R.VerificationError):
        R.verify(tampered, R.image_id(fib))
