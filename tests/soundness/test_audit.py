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
from zkvm.circuit.cpu import CpuCols
from zkvm.stark.errors import ConstraintError

REG_A1 = 11


@pytest.fixture(scope="module")
def honest():
    return H.honest_run()


@pytest.fixture
def run(honest):
    """A fresh copy of the honest run to tamper with."""
    return H.fresh_copy(honest)


expect_rejected = H.expect_rejected


def _read_row(run) -> int:
    return int(np.nonzero(run.cpu[:, CpuCols.INDEX["e_read"]])[0][0])


def _next_access_to_a1(run, t: int) -> int:
    """The next row touching a1 after row t: in the kitchen sink, `lui a1` of `li a1, 3` (its rd slot)."""
    ci = CpuCols.INDEX
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
    ci = CpuCols.INDEX
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
    run.cpu[t + 1:, CpuCols.INDEX["eof"]] = 0
    H.rebalance_lookups(run)
    H.check(run)


def _read_twice_program():
    A = H.A
    code = (A.li("a7", abi.ECALL_READ_WORD) + [A.ECALL]        # the whole (3-byte) input: a short read
            + A.li("a7", abi.ECALL_READ_WORD) + [A.ECALL]      # past the end: a0 = 0, a1 = 0
            + A.li("a1", 1) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL]   # commit a0's low byte
            + A.li("a0", 0) + A.halt())
    return A.image(code)


def _tampered_read_twice(second_a0: int, second_a1: int, data: bytes = b"\x01\x02\x03"):
    from zkvm.exec import Executor
    from zkvm.exec.record import COLUMN, Record

    image = _read_twice_program()
    _, record = Executor(image, data).record()
    rows = np.asarray(record.rows).astype(np.int64)
    reads = np.nonzero((rows[:, COLUMN["insn"]] == 0x73) & (rows[:, COLUMN["a7_val"]] == abi.ECALL_READ_WORD))[0]
    assert len(reads) == 2 and rows[reads[0], COLUMN["a1_val"]] == len(data) and rows[reads[1], COLUMN["a1_val"]] == 0
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


# ---------------------------------------------------------------------------------------------- constraint
# families without a negative test before the audit: each cheat below keeps every other check satisfied.

def _row_at(run, label: str, k: int = 0) -> int:
    """The cycle executing the k-th instruction after `label`."""
    pc = abi.TEXT_START + 4 * (run.labels[label] + k)
    return int(np.nonzero(np.asarray(run.record.pc) == pc)[0][0])


def _rewrite_rd(run, t: int, value: int) -> None:
    """Row t writes `value` to its rd instead: res/wv change, and the next access to rd (a write that only
    overwrites it, or the final register state) follows the lie. rd must not be read before it is rewritten."""
    lo, hi = value & 0xFFFF, value >> 16
    H.set_cpu(run, t, res_lo=lo, res_hi=hi, wv_lo=lo, wv_hi=hi)
    rd = H.get_cpu(run, t, "rd")
    for r in range(t + 1, run.witness.cycles):
        assert H.get_cpu(run, r, "rs1") != rd and H.get_cpu(run, r, "rs2") != rd, "rd is read later"
        if H.get_cpu(run, r, "rd") == rd:
            H.set_cpu(run, r, p_lo=lo, p_hi=hi)
            return
    H.set_reg_final(run, rd, value)


@pytest.mark.parametrize("k,kind,change,where", [
    (1, "lbu", lambda v: v | 0x100, "res_lbu_lo"),             # lbu returns 2 bytes
    (1, "lbu", lambda v: v | 0xFFFF0000, "res_lbu_hi"),        # lbu sign-extends
    (2, "lh", lambda v: v ^ 0x10, "res_lh_lo"),                # lh returns another half
    (2, "lh", lambda v: v ^ 0xFFFF0000, "res_lh_hi"),          # lh flips its extension, sign left alone
    (3, "lhu", lambda v: v ^ 1, "res_lhu_lo"),
    (3, "lhu", lambda v: v | 0x10000, "res_lhu_hi"),
])
def test_wrong_subword_load(run, k, kind, change, where):
    t = _row_at(run, "lb", k)
    assert H.get_cpu(run, t, f"is_{kind}") == 1
    value = H.get_cpu(run, t, "res_lo") | H.get_cpu(run, t, "res_hi") << 16
    _rewrite_rd(run, t, change(value))
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, where)


def test_start_elsewhere_than_entry():
    """The cheater's run starts past the entry's `jal` and takes the path the real run never executes,
    exiting 7 instead of 0: pc_start rejects it."""
    from zkvm.exec import Executor

    A = H.A
    code = [A.jal("zero", 4 * 5)] + A.li("a0", 7) + A.halt() + A.li("a0", 0) + A.halt()
    image = A.image(code)
    real_result, _ = Executor(image).record()
    assert real_result.exit_code == 0
    detour = type(image)(image.entry + 4, image.words, image.exec_ranges)
    result, record = Executor(detour).record()
    assert result.exit_code == 7
    setup = riscv_air.setup(image)
    w = riscv_air.generate(setup, record, strict=False)
    run = H.Run(setup, w, record, result, {}, image)
    assert w.exit_code == 7
    expect_rejected(run, ConstraintError, "pc_start")


def _commit_row(run) -> int:
    return int(np.nonzero(run.cpu[:, CpuCols.INDEX["e_commit"]])[0][0])


def test_commit_relabelled_as_log(run):
    """The cheater drops the COMMIT_WORD (and its 3 journal bytes) by decoding the ecall as LOG: the claimed
    journal is empty. ecall_number ties the kind to a7 = 2."""
    t = _commit_row(run)
    H.set_cpu(run, t, e_commit=0, e_log=1, cnt3=0, mb0=0, mb1=0, mb2=0, mb3=0, sel_byte=0)
    run.cpu[t + 1:, CpuCols.INDEX["jpos"]] = 0
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "ecall_number", journal=b"")


def test_commit_drops_a_byte(run):
    """COMMIT_WORD with a1 = 3 commits only 2 bytes (the claimed journal loses its last byte)."""
    t = _commit_row(run)
    assert H.get_cpu(run, t, "cnt3") == 1
    H.set_cpu(run, t, cnt3=0, cnt2=1)
    run.cpu[t + 1:, CpuCols.INDEX["jpos"]] = 2
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "commit_count", journal=run.witness.journal[:2])


def test_ecall_changes_a1(run):
    """A CYCLES ecall also rewrites a1 (slot 2 is a1 for ecalls): only READ_WORD may."""
    t = run.cycle_of("cycles")
    H.set_cpu(run, t, n_lo=H.get_cpu(run, t, "n_lo") + 1)
    nxt = next(r for r in range(t + 1, run.witness.cycles) if REG_A1 in
               (H.get_cpu(run, r, "rd"), H.get_cpu(run, r, "rs1"), H.get_cpu(run, r, "rs2"))
               or H.get_cpu(run, r, "is_ecall"))
    assert H.get_cpu(run, nxt, "is_ecall"), "the HALT is the next access to a1"
    H.set_cpu(run, nxt, m_lo=H.get_cpu(run, t, "n_lo"), n_lo=H.get_cpu(run, t, "n_lo"))
    H.set_reg_final(run, REG_A1, H.get_cpu(run, t, "n_lo") | H.get_cpu(run, t, "n_hi") << 16)
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "keep_lo")


def test_read_after_the_end_without_eof_flag():
    """The same cheat, with the eof flag left at 0 after the short READ: eof_step makes it latch."""
    run = _tampered_read_twice(0x77, 1)
    run.cpu[:, CpuCols.INDEX["eof"]] = 0
    expect_rejected(run, ConstraintError, "eof_step")


def test_read_count_two_flags():
    """A READ after a full word claims a1 = 5 through two count flags (cnt1 + cnt4; a0 = 0 keeps the zero
    padding happy and cnt4 keeps eof at 0): count_at_most_one rejects it."""
    run = _tampered_read_twice(0, 5, data=b"\x01\x02\x03\x04")
    t = int(np.nonzero(run.cpu[:, CpuCols.INDEX["e_read"]])[0][1])
    H.set_cpu(run, t, cnt1=1, cnt4=1)
    run.cpu[t + 1:, CpuCols.INDEX["eof"]] = 0
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "count_at_most_one")


@pytest.mark.parametrize("op,offset,where", [
    ("lw", 2, "align_word"), ("lh", 1, "align_half"), ("lhu", 3, "align_half"),
    ("sw", 1, "align_word"), ("sh", 3, "align_half"),
])
def test_misaligned_access(op, offset, where):
    """A misaligned load/store traps in the interpreter; the cheater claims it went through (reading or
    writing zeros, so every value stays consistent) and the run exits 0."""
    from zkvm.errors import GuestError
    from zkvm.exec import Executor
    from zkvm.exec.record import COLUMN, Record

    A = H.A
    access = A.load(op, "a0", "s0", 0) if op.startswith("l") else A.store(op, "zero", "s0", 0)
    prefix = A.li("s0", H.SCRATCH + offset)
    code = prefix + [access] + A.li("a0", 0) + A.halt()
    image = A.image(code)
    with pytest.raises(GuestError):
        Executor(image).run()
    nop_code = list(code)
    nop_code[len(prefix)] = A.op_imm("addi", "a0" if op.startswith("l") else "zero", "zero", 0)
    result, record = Executor(A.image(nop_code)).record()
    rows = np.asarray(record.rows).astype(np.int64)
    k = len(prefix)
    rows[k, COLUMN["insn"]] = access
    rows[k, COLUMN["mem_addr"]] = H.SCRATCH
    rows[k, COLUMN["mem_before"]] = rows[k, COLUMN["mem_after"]] = 0
    rows[k, COLUMN["rd_val"]] = 0
    fake = Record(np.ascontiguousarray(rows, dtype=np.uint32), record.initial_regs, record.final_regs,
                  record.input_consumed)
    setup = riscv_air.setup(image)
    w = riscv_air.generate(setup, fake, strict=False)
    run = H.Run(setup, w, fake, result, {}, image)
    assert w.exit_code == 0
    expect_rejected(run, ConstraintError, where)


def _set_zinit_final(run, word: int, lo: int | None = None, hi: int | None = None) -> None:
    from zkvm.circuit.memory import ZinitCols

    z = run.witness.main["zinit"]
    cols = ZinitCols.NAMES
    w = z[:, cols.index("w_lo")].astype(np.int64) + 65536 * z[:, cols.index("w_hi")].astype(np.int64)
    row = int(np.nonzero((w == word) & (z[:, cols.index("is_real")] == 1))[0][0])
    if lo is not None:
        z[row, cols.index("final_lo")] = lo
    if hi is not None:
        z[row, cols.index("final_hi")] = hi


def test_store_byte_writes_another_byte(run):
    """sb t1 (= 7), 5(s1) leaves 8 in memory instead (the word is not read again: its final state follows)."""
    t = _row_at(run, "lw_after_sw", -2)
    assert H.get_cpu(run, t, "is_sb") == 1 and H.get_cpu(run, t, "n_lo") == 0x0700
    H.set_cpu(run, t, n_lo=0x0800)
    _set_zinit_final(run, H.get_cpu(run, t, "maddr"), lo=0x0800)
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "sb_lo")


def test_store_half_writes_another_half(run):
    """sh t1 (= 7), 10(s1) leaves 8 in the high half; the later lhu of the low half reads the changed word."""
    t = _row_at(run, "lw_after_sw", -1)
    assert H.get_cpu(run, t, "is_sh") == 1 and H.get_cpu(run, t, "n_hi") == 7
    H.set_cpu(run, t, n_hi=8)
    w = H.get_cpu(run, t, "maddr")
    lhu = _row_at(run, "lb", 3)
    assert H.get_cpu(run, lhu, "maddr") == w and H.get_cpu(run, lhu, "m_hi") == 7
    H.set_cpu(run, lhu, m_hi=8, n_hi=8, mb2=8)
    _set_zinit_final(run, w, hi=8)
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "sh_hi")


def _load_a0_run(s0: int, claimed_addr: int, data: dict[int, int] | None = None):
    """`lw a0, 0(s0)` then HALT(a0): the cheater's record says the load read the word at `claimed_addr`."""
    from zkvm.exec import Executor
    from zkvm.exec.record import COLUMN, Record

    A = H.A
    prefix = A.li("s0", s0)
    code = prefix + [A.load("lw", "a0", "s0", 0)] + A.halt()
    image = A.image(code, data)
    nop_code = list(code)
    nop_code[len(prefix)] = A.op_imm("addi", "a0", "zero", 0)
    result, record = Executor(A.image(nop_code, data)).record()
    rows = np.asarray(record.rows).astype(np.int64)
    k = len(prefix)
    value = (data or {}).get(claimed_addr, 0)
    rows[k, COLUMN["insn"]] = code[k]
    rows[k, COLUMN["mem_addr"]] = claimed_addr
    rows[k, COLUMN["mem_before"]] = rows[k, COLUMN["mem_after"]] = value
    rows[k, COLUMN["rd_val"]] = value
    fake = Record(np.ascontiguousarray(rows, dtype=np.uint32), record.initial_regs, record.final_regs,
                  record.input_consumed)
    setup = riscv_air.setup(image)
    w = riscv_air.generate(setup, fake, strict=False)
    return H.Run(setup, w, fake, result, {}, image), k


def test_load_from_another_word():
    """lw from a zero scratch word claims to have read the image word 42 instead (exit 42, really 0): the word
    index of the memory access is tied to the address the ALU computed."""
    run, _ = _load_a0_run(H.SCRATCH, H.DATA, {H.DATA: 42})
    assert run.witness.exit_code == 42
    expect_rejected(run, ConstraintError, "maddr")


def test_load_beyond_mem_end():
    """lw at MEM_END traps; the cheater zero-initialises word MEM_END/4 (the zinit table allows words up to
    2^24) and claims the load: bx ties the address' high limb to its byte check (address < 2^24)."""
    run, k = _load_a0_run(abi.MEM_END, abi.MEM_END)
    assert H.get_cpu(run, k, "c_hi") == 256
    H.set_cpu(run, k, bx=0)
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "bx")


def test_longest_provable_run_leaves_timestamp_room():
    """A run filling all 2^22 CPU rows would give its last row timestamps 2^24 + slot, whose gap from a first
    access (timestamp 0) no longer fits the 2^24 range check: such a run is refused with a clear TraceError
    up front (completeness; a cheater gains nothing from the gap, the check only keeps honest proofs whole)."""
    from zkvm.circuit.cpu import MAX_LOG_HEIGHT, TraceError
    from zkvm.circuit.memory import TS_BITS
    from zkvm.exec.record import COLUMN, Record

    n = 1 << MAX_LOG_HEIGHT
    assert 4 * (n - 1) + 3 < 1 << TS_BITS <= 4 * n  # n - 1 cycles fit, n do not
    rows = np.zeros((n, len(COLUMN)), dtype=np.uint32)  # calloc'd: never touched
    fake = Record(rows, np.zeros(32, np.uint32), np.zeros(32, np.uint32), b"")
    setup = riscv_air.setup(H.A.image(H.A.li("a0", 0) + H.A.halt()))
    with pytest.raises(TraceError, match="provable maximum"):
        riscv_air.generate(setup, fake)
