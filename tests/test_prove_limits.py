"""`run --prove` proves runs longer than a segment in segments, up to abi.MAX_SEGMENTED_PROVE_CYCLES; a longer
run stops with a typed error after a fast unrecorded run, before any recording or proving work."""

from __future__ import annotations

import pytest

import rv32asm as A
from host.cli import main as cli
from zkvm import abi
from zkvm import receipt as R
from zkvm.circuit.cpu import MAX_LOG_HEIGHT
from zkvm.errors import GuestError, RunTooLong

LOOP = [A.jal("zero", 0)]  # spins forever


def test_abi_bound_is_the_circuit_bound():
    assert abi.MAX_PROVE_CYCLES == (1 << MAX_LOG_HEIGHT) - 1


def test_prove_stops_recording_at_the_provable_maximum():
    with pytest.raises(RunTooLong, match=f"within {abi.MAX_SEGMENTED_PROVE_CYCLES} cycles"):
        R.prove(A.image(LOOP), zk=False)  # default max_cycles: 2^31


def test_a_lower_user_limit_is_still_a_cycle_limit_trap():
    with pytest.raises(GuestError) as info:
        R.prove(A.image(LOOP), zk=False, max_cycles=1000)
    assert info.value.cause == "cycle_limit"


def test_cli_run_prove_exits_1(tmp_path, capsys):
    elf = tmp_path / "loop.elf"
    elf.write_bytes(A.elf(LOOP))
    assert cli(["run", str(elf), "--prove", "--no-zk"]) == 1
    assert "the most a segmented proof covers" in capsys.readouterr().err
