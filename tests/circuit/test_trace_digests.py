"""The trace fill is bit-identical to the reference fill: every table's main trace of a fixed set of runs
hashes to the digests recorded before the fill was optimised (tests/circuit/trace_digests.py)."""

from __future__ import annotations

import json

import pytest

import trace_digests as TD


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(TD.GOLDEN.read_text())


@pytest.mark.parametrize("block", [None, 97], ids=["default_block", "block97"])
@pytest.mark.parametrize("name", ["kitchen_sink", "dot_calls", *TD.GUEST_INPUTS])
def test_trace_matches_golden_digest(name, block, golden, monkeypatch):
    """Also with the cpu fill's blocks of cycles made tiny (and odd): many block boundaries, same trace."""
    from zkvm.circuit import cpu, riscv_air
    from zkvm.exec import Executor

    if block is not None:
        monkeypatch.setattr(cpu, "BLOCK", block)
    (image, data, elf_digest), = [r[1:] for r in TD.runs() if r[0] == name]
    want = golden[name]
    assert elf_digest == want["elf"], (f"{name}: the guest ELF differs from the one the golden digest was made "
                                       "with; rebuild (make guests) or regenerate: python "
                                       "tests/circuit/trace_digests.py --write")
    _, record = Executor(image, data).record()
    assert TD.digest(riscv_air.generate(riscv_air.setup(image), record)) == want["trace"]
