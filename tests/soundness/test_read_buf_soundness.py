"""Malicious-prover tests of the bulk-input table (zkvm/circuit/read_buf.py): one test per way to cheat, each
rejected by the trace checker with the named constraint or bus, and by the verifier.

The program makes four READ_BUF calls on a 30-byte input (r0: 5 full words; r1: n = 0; r2: 3 words of which the
input fills 10 bytes, the end of the input; r3: 2 words after the end, 0 bytes), then a READ_WORD, commits every
count and loads two of the words written. The values are private input (prover-chosen); what must hold is where
they go, how many there are, and READ_WORD's shape (counts, zero padding, nothing after the end). Cheats are
built as a real cheater would: a tampered execution record re-filled without checks (every table consistent
with it), or a direct change of table cells with everything downstream adjusted.
"""

from __future__ import annotations

import numpy as np
import pytest

import harness as H
import rv32asm as A
from zkvm import abi
from zkvm.circuit import read_buf, riscv_air
from zkvm.circuit.cpu import CpuCols
from zkvm.exec import Executor
from zkvm.exec.record import COLUMN, Record
from zkvm.field.babybear import P
from zkvm.stark.errors import BusError, ConstraintError

BUF = H.SCRATCH
CALLS = [("r0", BUF, 5), ("r1", BUF + 64, 0), ("r2", BUF + 128, 3), ("r3", BUF + 256, 2)]
INPUT = bytes(range(1, 31))
INPUT = INPUT[:27] + b"\0" + INPUT[28:]  # byte 7 of r2 is zero (test_data_after_a_short_word)


def _program():
    code, at = [], {}
    for label, dst, n in CALLS:
        code += A.li("a0", dst) + A.li("a1", n) + A.li("a7", abi.ECALL_READ_BUF)
        at[label] = len(code)
        code += [A.ECALL] + A.li("a1", 4) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL]
    code += A.li("a7", abi.ECALL_READ_WORD) + [A.ECALL] + [A.op("add", "a0", "a1", "zero")]
    code += A.li("a1", 4) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL]
    code += A.li("s1", BUF)
    for off in (4, 128 + 8):  # r0's word 1 and r2's (partial) word 2
        at[f"lw{off}"] = len(code)
        code += [A.load("lw", "a0", "s1", off)] + A.li("a1", 4) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL]
    return code + A.li("a0", 0) + A.halt(), at


@pytest.fixture(scope="module")
def honest():
    code, at = _program()
    image = A.image(code)
    result, record = Executor(image, INPUT).record()
    s = riscv_air.setup(image)
    w = riscv_air.generate(s, record)
    return H.Run(s, w, record, result, at, image)


@pytest.fixture
def run(honest):
    return H.fresh_copy(honest)


def _rows(run) -> np.ndarray:
    return np.asarray(run.record.rows).astype(np.int64)


def _regenerate(run, rows, calls=None, input_consumed=None) -> None:
    """Re-fill every table from a tampered record without checks (optionally with a different call list)."""
    r = run.record
    rec = Record(np.ascontiguousarray(rows % (1 << 32), dtype=np.uint32), r.initial_regs, r.final_regs,
                 r.input_consumed if input_consumed is None else input_consumed)
    orig = read_buf.calls
    if calls is not None:
        read_buf.calls = lambda record: calls
    try:
        run.witness = riscv_air.generate(run.setup, rec, strict=False)
    finally:
        read_buf.calls = orig
    H.rebalance_lookups(run)


def _table(run) -> np.ndarray:
    return run.witness.main[read_buf.NAME]


def _call_rows(run, label) -> np.ndarray:
    t = run.cycle_of(label)
    d = _table(run)
    real = d[:, read_buf.COLUMNS.index("is_real")] == 1
    return np.nonzero(real & (d[:, read_buf.COLUMNS.index("ts")] == 4 * (t + 1)))[0]


def _set(run, row, **values):
    for name, v in values.items():
        _table(run)[row, read_buf.COLUMNS.index(name)] = v % P


def _get(run, row, name) -> int:
    return int(_table(run)[row, read_buf.COLUMNS.index(name)])


def _honest_calls(run):
    return read_buf.calls(run.record)


def test_honest_calls_prove(honest):
    j = honest.result.journal
    counts = [int.from_bytes(j[4 * i:4 * i + 4], "little") for i in range(5)]
    assert counts == [20, 0, 10, 0, 0]
    assert j[20:24] == INPUT[4:8] and j[24:28] == INPUT[28:30] + bytes(2)  # r2's last word: 2 bytes, zero padded
    assert [len(_call_rows(honest, lb)) for lb, _, _ in CALLS] == [5, 1, 3, 2]
    H.check(honest)
    H.prove_and_verify(honest)


def test_forged_word_value(run):
    """The table writes r0's word 1 with another byte than the word a later load reads: the memory argument."""
    row = _call_rows(run, "r0")[1]
    _set(run, row, b2=(_get(run, row, "b2") + 1) % 256)
    H.rebalance_lookups(run)
    H.expect_rejected(run, BusError, "mem")


def test_forged_word_address(run):
    """r0's word 3 is written one word further on (a hole at 3, word 4 twice): the word index steps by one."""
    row = _call_rows(run, "r0")[3]
    _set(run, row, w=_get(run, row, "w") + 1)
    H.expect_rejected(run, ConstraintError, "w_step")


def test_duplicated_word(run):
    """r0's word 2 is written again instead of word 3."""
    rows = _call_rows(run, "r0")
    _set(run, rows[3], w=_get(run, rows[2], "w"))
    H.expect_rejected(run, ConstraintError, "w_step")


def test_write_elsewhere(run):
    """The table writes r0's words at BUF + 64 instead of the CPU's a0 = BUF (every table row consistent, and the
    later load of BUF + 4 reads the zero the forged memory holds there)."""
    rows = _rows(run)
    rows[run.cycle_of("r0"), COLUMN["rs1_val"]] = BUF + 64
    rows[run.cycle_of("lw4"), COLUMN["rd_val"]] = 0
    _regenerate(run, rows)
    H.expect_rejected(run, BusError, "read_buf")


def test_wrong_length(run):
    """The table writes 4 words for r0 (all full) while the CPU's a1 says 5: one word is never written."""
    c = _honest_calls(run)
    words = c.words[c.rw == 1]
    words = np.concatenate([words[:4], words[5:]])  # r0's first 4 words, then r2's and r3's
    n, total = c.n.copy(), c.total.copy()
    n[0], total[0] = 4, 16
    calls = read_buf.make_calls(c.ts, c.dst, n, total, words)
    _regenerate(run, _rows(run), calls)
    H.expect_rejected(run, BusError, "read_buf")


def test_table_rows_no_ecall_asked_for(run):
    """An extra one-word call in the table at a cycle that is no READ_BUF ecall."""
    c = _honest_calls(run)
    fake_ts = 4 * 2  # the second instruction: an li
    calls = read_buf.make_calls(np.concatenate([[fake_ts], c.ts]), np.concatenate([[BUF + 512], c.dst]),
                                np.concatenate([[1], c.n]), np.concatenate([[0], c.total]),
                                np.concatenate([[0], c.words[c.rw == 1]]))
    _regenerate(run, _rows(run), calls)
    H.expect_rejected(run, BusError, "read_buf")


def test_ecall_with_no_table_rows(run):
    """The n = 0 call r1 is left out of the table."""
    c = _honest_calls(run)
    keep = np.arange(len(c.ts)) != 1
    calls = read_buf.make_calls(c.ts[keep], c.dst[keep], c.n[keep], c.total[keep], c.words[c.rw == 1])
    _regenerate(run, _rows(run), calls)
    H.expect_rejected(run, BusError, "read_buf")


def test_zero_call_writes_a_word(run):
    """r1 (n = 0) writes one word anyway: its only row claims a write (rw = 1, left = 1 != n = 0)."""
    row = _call_rows(run, "r1")[0]
    _set(run, row, rw=1)
    H.expect_rejected(run, ConstraintError, "left_last")


def test_padding_after_the_count(run):
    """r2's last word (count 2) carries a third byte: no input ends that way (READ_WORD's zero padding)."""
    row = _call_rows(run, "r2")[2]
    _set(run, row, b2=7)
    H.rebalance_lookups(run)
    H.expect_rejected(run, ConstraintError, "zero_pad2")


def test_data_after_a_short_word(run):
    """r2 read as 4 + 3 + 3 bytes (its word 1 short, byte 3 is zero anyway): bytes after the end of the input."""
    rows = _call_rows(run, "r2")
    _set(run, rows[1], c4=0, c3=1)
    _set(run, rows[2], c2=0, c3=1, rem=3)
    H.rebalance_lookups(run)
    H.expect_rejected(run, ConstraintError, "stream_ends")


def test_more_bytes_than_counted(run):
    """r0's first row claims 21 bytes for 5 full words (the CPU would write 21)."""
    row = _call_rows(run, "r0")[0]
    _set(run, row, rem=21)
    H.expect_rejected(run, ConstraintError, "rem_step")


def test_read_after_end_of_input(run):
    """r3 comes after the short call r2, yet returns 8 more bytes (the cheater's input goes on)."""
    rows = _rows(run)
    rows[run.cycle_of("r3"), COLUMN["rd_val"]] = 8
    _regenerate(run, rows, input_consumed=INPUT + bytes(range(200, 208)))
    assert _get(run, _call_rows(run, "r3")[0], "rem") == 8
    H.expect_rejected(run, ConstraintError, "read_buf_after_eof")


def test_short_call_without_eof(run):
    """The CPU treats r2 (10 of 12 bytes) as full, so the end of input would not be recorded."""
    t = run.cycle_of("r2")
    H.set_cpu(run, t, c_lo=0)
    H.fix_eq_gadget(run, t)
    # eof as the forged run would have it: set only after the next short read (r3)
    eof = CpuCols.INDEX["eof"]
    r3 = run.cycle_of("r3")
    run.cpu[t + 1:r3 + 1, eof] = 0
    H.expect_rejected(run, ConstraintError, "rbuf_short_lo")


def _private_pointer_run(dst_claimed: int, n: int):
    """READ_BUF(dst, n) with dst from the private input (honest: BUF); the cheater claims `dst_claimed`."""
    code = A.li("a7", abi.ECALL_READ_WORD)
    at_read = len(code)
    code += [A.ECALL, A.op_imm("addi", "a0", "a0", 0)]
    code += A.li("a1", n) + A.li("a7", abi.ECALL_READ_BUF) + [A.ECALL] + A.li("a0", 0) + A.halt()
    image = A.image(code)
    result, record = Executor(image, BUF.to_bytes(4, "little") + bytes(4 * n)).record()
    rows = np.asarray(record.rows).astype(np.int64)
    assert rows[at_read, COLUMN["a7_val"]] == abi.ECALL_READ_WORD
    t = int(np.nonzero(rows[:, COLUMN["a7_val"]] == abi.ECALL_READ_BUF)[0][0])
    rows[at_read, COLUMN["rd_val"]] = rows[at_read + 1, COLUMN["rd_val"]] = dst_claimed
    rows[t, COLUMN["rs1_val"]] = dst_claimed
    s = riscv_air.setup(image)
    rec = Record(np.ascontiguousarray(rows, dtype=np.uint32), record.initial_regs, record.final_regs,
                 record.input_consumed)
    w = riscv_air.generate(s, rec, strict=False)
    bad = H.Run(s, w, rec, result, {}, image)
    H.rebalance_lookups(bad)
    return bad


def test_write_into_the_program():
    """A private pointer aimed at the program's text (self-modifying code): the text distance is no range."""
    bad = _private_pointer_run(abi.TEXT_START, 2)
    assert (_table(bad)[:2, read_buf.COLUMNS.index("w")] == abi.TEXT_START // 4 + np.arange(2)).all()
    H.expect_rejected(bad, BusError, "bytes")


def test_write_past_end_of_memory():
    """A private pointer 8 bytes below MEM_END with 4 words: the last two words lie past the end of memory (posing
    as zero-initialised cells, which zinit alone would accept): the end-of-memory distance is no range."""
    bad = _private_pointer_run(abi.MEM_END - 8, 4)
    assert _table(bad)[3, read_buf.COLUMNS.index("w")] == abi.MEM_END // 4 + 1
    H.expect_rejected(bad, BusError, "bytes")


def test_misaligned_pointer():
    """A private pointer 2 bytes off: the table's pointer is 4·q, a multiple of 4, so the call cannot match a0."""
    bad = _private_pointer_run(BUF + 2, 1)
    H.expect_rejected(bad, BusError, "read_buf")


@pytest.mark.parametrize("total, word", [(9, 0), (5, 0x0000FF00)])
def test_strict_fill_refuses_a_wrong_shape(total, word):
    """The honest prover's fill names the problem instead of producing a trace the verifier would reject: a
    count above 4n, or a byte above a word's count."""
    from zkvm.circuit.lookups import LookupSends

    cl = read_buf.make_calls([4], [BUF], [2], [total], [0x04030201, word])
    with pytest.raises(read_buf.ReadBufError):
        read_buf.fill(cl, np.zeros(2, np.int64), np.zeros(2, np.int64), LookupSends(), (0, 0))
