"""Soundness audit: malicious-prover cheats found by an adversarial review of the RISC-V AIR, each with the
constraint that now stops it (each test was seen passing verification with that constraint removed), plus
negative tests for constraint families the other suites do not reach.

Same method as test_malicious_prover.py: honest kitchen-sink trace, one consistent change, trace checker
bypassed, prove with fast weak options, the verifier must reject (and the checker names the check)."""

from __future__ import annotations

import numpy as np
import pytest

import harness as H
from zkvm.circuit.cpu import COLUMN_INDEX
from zkvm.errors import VerificationError
from zkvm.stark.errors import BusError, ConstraintError

REG_A1 = 11


@pytest.fixture(scope="module")
def honest():
    return H.honest_run()


@pytest.fixture
def run(honest):
    w = honest.witness
    w2 = type(w)({k: v.copy() for k, v in w.main.items()}, w.journal, w.exit_code, w.cycles)
    return H.Run(honest.setup, w2, honest.record, honest.result, honest.labels, honest.image)


def expect_rejected(run, check_error, where, **public):
    with pytest.raises(check_error) as info:
        H.check(run, **public)
    got = info.value.constraint if check_error is ConstraintError else info.value.bus
    assert got == where, f"expected the checker to stop at {where!r}, got {info.value}"
    with pytest.raises(VerificationError):
        H.prove_and_verify(run, **public)


def _read_row(run) -> int:
    return int(np.nonzero(run.cpu[:, COLUMN_INDEX["e_read"]])[0][0])


def _next_access_to_a1(run, t: int) -> int:
    """The next row touching a1 after row t: in the kitchen sink, `lui a1` of `li a1, 3` (its rd slot)."""
    ci = COLUMN_INDEX
    for r in range(t + 1, run.witness.cycles):
        if H.get_cpu(run, r, "rd") == REG_A1 and not H.get_cpu(run, r, "is_ecall"):
            assert H.get_cpu(run, r, "rs1") != REG_A1 and H.get_cpu(run, r, "rs2") != REG_A1
            return r
    raise AssertionError("no later access to a1")


@pytest.mark.parametrize("sr_hi", ["honest_fill", "satisfies_constraint"])
def test_read_count_above_four(run, sr_hi):
    """READ_WORD returns a1 = 200 (the ABI says 0..4): the runtime's word loop would copy 200 bytes into a
    4-byte slot. Found unconstrained by the audit (a1 was only checked to be a byte); now read_count_max
    ties it to the byte-checked sr_hi, so the cheater hits either that constraint or the byte lookup."""
    t = _read_row(run)
    assert H.get_cpu(run, t, "n_lo") == len(H.INPUT)
    fake = 200
    H.set_cpu(run, t, n_lo=fake, bx=fake)
    if sr_hi == "satisfies_constraint":
        H.set_cpu(run, t, sr_hi=fake + 251)
    nxt = _next_access_to_a1(run, t)
    assert H.get_cpu(run, nxt, "p_lo") == len(H.INPUT)
    H.set_cpu(run, nxt, p_lo=fake)  # the value a1 held before `lui a1` overwrote it follows the lie
    H.rebalance_lookups(run)
    if sr_hi == "honest_fill":
        expect_rejected(run, ConstraintError, "read_count_max")
    else:
        expect_rejected(run, BusError, "bytes")


def test_read_count_four_is_accepted(run):
    """Completeness edge of read_count_max: a count of exactly 4 passes the checker (a1 = 4 is a legal READ)."""
    t = _read_row(run)
    H.set_cpu(run, t, n_lo=4, bx=4, sr_hi=255)
    nxt = _next_access_to_a1(run, t)
    H.set_cpu(run, nxt, p_lo=4)
    H.rebalance_lookups(run)
    H.check(run)
