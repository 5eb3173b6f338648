"""Soundness audit: malicious-prover cheats found by an adversarial review of the RISC-V AIR, each with the
constraint that now stops it (each test was seen passing verification with that constraint removed), plus
negative tests for constraint families the other suites do not reach.

Same method as test_malicious_prover.py: honest kitchen-sink trace, one consistent change, trace checker
bypassed, prove with fast weak options, the verifier must reject (and the checker names the check)."""

from __future__ import annotations

import numpy as np
import pytest

import harness as H
from zkvm import abi
from zkvm.circuit import riscv_air
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


def test_read_count_above_four(run):
    """READ_WORD returns a1 = 200 (the ABI says 0..4): the runtime's word loop would copy 200 bytes into a
    4-byte slot. Found by the audit (a1 was only checked to be a byte); read_count ties a1 to the one-hot
    cnt1..cnt4, so no count above 4 has a witness."""
    t = _read_row(run)
    assert H.get_cpu(run, t, "n_lo") == len(H.INPUT)
    fake = 200
    H.set_cpu(run, t, n_lo=fake, bx=fake)
    nxt = _next_access_to_a1(run, t)
    assert H.get_cpu(run, nxt, "p_lo") == len(H.INPUT)
    H.set_cpu(run, nxt, p_lo=fake)  # the value a1 held before `lui a1` overwrote it follows the lie
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "read_count")


def test_read_junk_above_the_count(run):
    """READ_WORD of the last 3 input bytes returns a0 with a nonzero 4th byte (the ABI zero-pads): no input
    gives that word. Found by the audit; read_zero_pad3 rejects it."""
    t = _read_row(run)
    assert H.get_cpu(run, t, "cnt3") == 1 and H.get_cpu(run, t, "mb3") == 0
    res_hi = H.get_cpu(run, t, "res_hi") | 0x5A00
    H.set_cpu(run, t, res_hi=res_hi, wv_hi=res_hi, mb3=0x5A)
    nxt = t + 1  # add s5, a0, zero: reads a0 (and s5 is never read again)
    assert H.get_cpu(run, nxt, "rs1") == 10
    H.set_cpu(run, nxt, a_hi=res_hi, c_hi=res_hi, res_hi=res_hi, wv_hi=res_hi)
    H.fix_eq_gadget(run, nxt)
    # a0 keeps the junk until `li a0, 3`... the later COMMIT reads it: follow the lie there too
    ci = COLUMN_INDEX
    for r in range(nxt + 1, run.witness.cycles):
        if H.get_cpu(run, r, "rs2") == 10 and H.get_cpu(run, r, "is_ecall"):
            H.set_cpu(run, r, r2_hi=res_hi, b_hi=res_hi, res_hi=res_hi, wv_hi=res_hi, mb3=0x5A)
            break
    # ... and `lui a0` of `li a0, 3` overwrites it: the value it replaces is the junk word
    lui = next(q for q in range(r + 1, run.witness.cycles) if H.get_cpu(run, q, "rd") == 10)
    H.set_cpu(run, lui, p_hi=res_hi)
    H.set_reg_final(run, 21, H.get_cpu(run, nxt, "res_lo") | res_hi << 16)
    H.refill_families(run)
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "read_zero_pad3")


def test_read_count_four_is_accepted(run):
    """Completeness edge: a count of exactly 4 (cnt4, a zero 4th byte is allowed too) passes the checker."""
    t = _read_row(run)
    H.set_cpu(run, t, n_lo=4, bx=4, cnt3=0, cnt4=1)
    nxt = _next_access_to_a1(run, t)
    H.set_cpu(run, nxt, p_lo=4)
    # a full word does not end the input: eof stays 0 from here on
    run.cpu[t + 1:, COLUMN_INDEX["eof"]] = 0
    H.rebalance_lookups(run)
    H.check(run)


def _read_twice_program():
    A = H.A
    code = (A.li("a7", abi.ECALL_READ_WORD) + [A.ECALL]        # the whole (3-byte) input: a short read
            + A.li("a7", abi.ECALL_READ_WORD) + [A.ECALL]      # past the end: a0 = 0, a1 = 0
            + A.li("a1", 1) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL]   # commit a0's low byte
            + A.li("a0", 0) + A.halt())
    return A.image(code)


def _tampered_read_twice(second_a0: int, second_a1: int):
    from zkvm.exec import Executor
    from zkvm.exec.record import COLUMN, Record

    image = _read_twice_program()
    _, record = Executor(image, b"\x01\x02\x03").record()
    rows = np.asarray(record.rows).astype(np.int64)
    reads = np.nonzero((rows[:, COLUMN["insn"]] == 0x73) & (rows[:, COLUMN["a7_val"]] == abi.ECALL_READ_WORD))[0]
    assert len(reads) == 2 and rows[reads[0], COLUMN["a1_val"]] == 3 and rows[reads[1], COLUMN["a1_val"]] == 0
    rows[reads[1], COLUMN["rd_val"]] = second_a0
    rows[reads[1], COLUMN["a1_val"]] = second_a1
    fake = Record(np.ascontiguousarray(rows, dtype=np.uint32), record.initial_regs, record.final_regs,
                  record.input_consumed)
    setup = riscv_air.setup(image)
    w = riscv_air.generate(setup, fake, strict=False)
    return H.Run(setup, w, fake, None, {}, image)


def test_read_after_the_end_of_input():
    """After a short READ (the input ended) a second READ returns one more byte, 0x77, which the guest commits:
    no input stream gives 3 bytes, then the end, then more. Found by the audit; the eof flag rejects it."""
    run = _tampered_read_twice(0x77, 1)
    assert run.witness.journal == b"\x77"
    expect_rejected(run, ConstraintError, "read_after_eof")


def test_read_eof_honest_second_read_proves():
    """The honest run of the same program (a 0-byte READ after the end) proves: eof only forbids more bytes."""
    run = _tampered_read_twice(0, 0)
    assert run.witness.journal == b"\x00"
    H.check(run)
    H.prove_and_verify(run)
