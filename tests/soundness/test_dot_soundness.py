"""Malicious-prover tests of the dot-product accelerator (zkvm/circuit/dot.py): one test per way to cheat, each
rejected by the trace checker with the named constraint or bus, and by the verifier.

The program makes four DOT_I8 calls (several words at offset 0, one partial word at offset 1, a = b at offset
2 with zero point -128, n = 0) and commits three of the results. Cheats are built as a real cheater would:
either a tampered execution record re-filled without checks (every table stays consistent with it), or a
direct change of table cells with everything downstream adjusted.
"""

from __future__ import annotations

import numpy as np
import pytest

import harness as H
import rv32asm as A
from zkvm import abi
from zkvm.circuit import dot, riscv_air
from zkvm.circuit.cpu import CpuCols
from zkvm.exec import Executor
from zkvm.exec.record import COLUMN, Record
from zkvm.field.babybear import P
from zkvm.stark.errors import BusError, ConstraintError

SEED = 2613
DA, DB, DC = abi.TEXT_START + 0x800, abi.TEXT_START + 0xA00, abi.TEXT_START + 0xC02
rng = np.random.default_rng(SEED)
OPA = rng.integers(-128, 128, 48).astype(np.int8)
OPB = rng.integers(-128, 128, 48).astype(np.int8)
OPB[5] = 0  # a zero partner: forging a[5] changes no product, only the memory argument can object
OPC = rng.integers(-128, 128, 12).astype(np.int8)
#: (label, a, b, n, za)
CALLS = [("c0", DA, DB, 38, 3), ("c1", DA + 41, DB + 41, 3, -7), ("c2", DC, DC, 9, -128), ("c3", DA, DB, 0, 0)]


def _a2(n, za):
    return n | (za + 128) << abi.DOT_ZP_SHIFT


def _program():
    code, at = [], {}
    for label, pa, pb, n, za in CALLS:
        code += A.li("a0", pa) + A.li("a1", pb) + A.li("a2", _a2(n, za)) + A.li("a7", abi.ECALL_DOT_I8)
        at[label] = len(code)
        code += [A.ECALL]
        if label == "c1":  # the result is overwritten unread, then a1 too
            at["c1_a0"] = len(code)
            code += [A.op_imm("addi", "a0", "zero", 0)]
            at["c1_a1"] = len(code)
            code += [A.op_imm("addi", "a1", "zero", 0)]
        else:
            code += A.li("a1", 4) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL]
    return code + A.li("a0", 0) + A.halt(), at


def _memory() -> dict[int, int]:
    data = {}
    for base, ops in ((DA, OPA), (DB, OPB), (DC & ~3, np.concatenate([np.zeros(2, np.int8), OPC]))):
        buf = ops.tobytes() + bytes(-len(ops) % 4)
        data.update({base + 4 * i: int.from_bytes(buf[4 * i:4 * i + 4], "little") for i in range(len(buf) // 4)})
    return data


def oracle(pa: int, pb: int, n: int, za: int) -> int:
    mem = _memory()
    byte = lambda a: np.int8(np.uint8((mem.get(a & ~3, 0) >> 8 * (a & 3)) & 0xFF))  # noqa: E731
    return sum((int(byte(pa + i)) - za) * int(byte(pb + i)) for i in range(n))


@pytest.fixture(scope="module")
def honest():
    code, at = _program()
    image = A.image(code, _memory())
    result, record = Executor(image, b"").record()
    s = riscv_air.setup(image)
    w = riscv_air.generate(s, record)
    return H.Run(s, w, record, result, at, image)


@pytest.fixture
def run(honest):
    return H.fresh_copy(honest)


def _rows(run) -> np.ndarray:
    return np.asarray(run.record.rows).astype(np.int64)


def _regenerate(run, rows, calls=None) -> None:
    """Re-fill every table from a tampered record without checks (optionally with a different call list)."""
    r = run.record
    rec = Record(np.ascontiguousarray(rows % (1 << 32), dtype=np.uint32), r.initial_regs, r.final_regs,
                 r.input_consumed)
    if calls is None:
        run.witness = riscv_air.generate(run.setup, rec, strict=False)
    else:
        orig = dot.calls
        dot.calls = lambda record: calls
        try:
            run.witness = riscv_air.generate(run.setup, rec, strict=False)
        finally:
            dot.calls = orig
    H.rebalance_lookups(run)


def _dot_rows(run, label) -> np.ndarray:
    t = run.cycle_of(label)
    d = run.witness.main[dot.NAME]
    ts_col = dot.COLUMNS.index("ts")
    real = d[:, dot.COLUMNS.index("is_real")] == 1
    return np.nonzero(real & (d[:, ts_col] == 4 * (t + 1)))[0]


def _set_dot(run, row, **values):
    for name, v in values.items():
        run.witness.main[dot.NAME][row, dot.COLUMNS.index(name)] = v % P


def _get_dot(run, row, name) -> int:
    return int(run.witness.main[dot.NAME][row, dot.COLUMNS.index(name)])


def _set_result(run, start_row, rows, value):
    for r in rows:
        _set_dot(run, r, res=value)
    u = value & 0xFFFF_FFFF
    _set_dot(run, start_row, r_lo=u & 0xFFFF, r_hi=u >> 16, neg=int(value < 0))


def test_honest_calls_prove(honest):
    assert [int.from_bytes(honest.result.journal[i:i + 4], "little", signed=True) for i in (0, 4, 8)] == [
        oracle(DA, DB, 38, 3), oracle(DC, DC, 9, -128), 0]
    assert len(_dot_rows(honest, "c0")) == 10 and len(_dot_rows(honest, "c3")) == 1
    H.check(honest)
    H.prove_and_verify(honest)


def test_forged_operand_byte(run):
    """a[5] read as another byte (its partner b[5] is 0, so every sum stays right): the memory argument."""
    row = _dot_rows(run, "c0")[1]
    forged = (_get_dot(run, row, "ba1") + 1) % 256
    _set_dot(run, row, ba1=forged, xa1=forged ^ 0x80)
    H.rebalance_lookups(run)
    H.expect_rejected(run, BusError, "mem")


def test_forged_sign_extension(run):
    """The byte read is right but its signed value is not (xa != byte ^ 0x80): the byte table's XOR rows."""
    row = _dot_rows(run, "c0")[1]
    _set_dot(run, row, xa1=_get_dot(run, row, "ba1"))  # unsigned instead of signed; b[5] = 0 keeps the sums
    H.rebalance_lookups(run)
    H.expect_rejected(run, BusError, "bytes")


def test_forged_partial_sum(run):
    """The cheater's result is the true one + 1000; the running sum jumps by 1000 at row 4."""
    rows = _rows(run)
    t = run.cycle_of("c0")
    rows[t, COLUMN["rd_val"]] += 1000
    _regenerate(run, rows)
    calls = _dot_rows(run, "c0")
    value = oracle(DA, DB, 38, 3) + 1000
    for r in calls[4:]:
        _set_dot(run, r, acc=_get_dot(run, r, "acc") + 1000)
    _set_result(run, calls[0], calls, value)
    H.rebalance_lookups(run)
    H.expect_rejected(run, ConstraintError, "acc_step")


def test_wrong_length(run):
    """The table sums 37 bytes of a 38-byte call (same number of words) and the CPU writes that sum."""
    rows = _rows(run)
    t = run.cycle_of("c0")
    rows[t, COLUMN["mem_before"]] = _a2(37, 3)
    rows[t, COLUMN["rd_val"]] = oracle(DA, DB, 37, 3)
    _regenerate(run, rows)
    H.expect_rejected(run, BusError, "mem")


def test_wrong_pointer(run):
    """The table reads a one word further on (the memory reads themselves are consistent)."""
    rows = _rows(run)
    t = run.cycle_of("c0")
    rows[t, COLUMN["rs1_val"]] = DA + 4
    rows[t, COLUMN["rd_val"]] = oracle(DA + 4, DB, 38, 3)
    _regenerate(run, rows)
    H.expect_rejected(run, BusError, "dot")


def test_table_rows_no_ecall_asked_for(run):
    """An extra call in the table at a cycle that is not a DOT ecall (before any a2 write: a2 = 0, n = 0)."""
    honest_calls = dot.calls(run.record)
    fake_t = 1  # the second instruction: an li, no ecall
    extra = [4 * (fake_t + 1), DA, DB, _a2(0, -128), 0]
    cols = [np.concatenate([[e], x]) for e, x in zip(extra, (honest_calls.ts, honest_calls.pa, honest_calls.pb,
                                                                honest_calls.a2, honest_calls.result))]
    _regenerate(run, _rows(run), dot.make_calls(*cols))
    H.expect_rejected(run, BusError, "dot")


def test_ecall_with_no_table_rows(run):
    """The n = 0 call is left out of the table."""
    c = dot.calls(run.record)
    keep = np.arange(len(c.ts)) != 3
    _regenerate(run, _rows(run), dot.make_calls(c.ts[keep], c.pa[keep], c.pb[keep], c.a2[keep], c.result[keep]))
    H.expect_rejected(run, BusError, "dot")


def test_result_written_to_the_wrong_place(run):
    """Call c1's result lands in a1 and a0 keeps the pointer (both are overwritten unread right after)."""
    t = run.cycle_of("c1")
    ci = CpuCols.INDEX
    result = oracle(DA + 41, DB + 41, 3, -7) & 0xFFFF_FFFF
    a0_old = H.get_cpu(run, t, "r2_lo") | H.get_cpu(run, t, "r2_hi") << 16
    H.set_cpu(run, t, n_lo=result & 0xFFFF, n_hi=result >> 16, res_lo=a0_old & 0xFFFF, res_hi=a0_old >> 16,
              wv_lo=a0_old & 0xFFFF, wv_hi=a0_old >> 16)
    t0, t1 = run.cycle_of("c1_a0"), run.cycle_of("c1_a1")
    H.set_cpu(run, t0, p_lo=a0_old & 0xFFFF, p_hi=a0_old >> 16)
    H.set_cpu(run, t1, p_lo=result & 0xFFFF, p_hi=result >> 16)
    assert run.cpu[t, ci["e_dot"]] == 1
    H.rebalance_lookups(run)
    H.expect_rejected(run, ConstraintError, "keep_lo")


def test_result_of_another_call(run):
    """The CPU writes call c2's (committed) result for call c0: the call's timestamp binds it."""
    rows = _rows(run)
    t0, t2 = run.cycle_of("c0"), run.cycle_of("c2")
    rows[t0, COLUMN["rd_val"]] = rows[t2, COLUMN["rd_val"]]
    _regenerate(run, rows)
    H.expect_rejected(run, BusError, "dot")


def test_read_past_end_of_memory():
    """The length comes from the private input; the honest input asks for the last 4 bytes of memory. The cheater
    claims the input said 8, so the table reads one word past MEM_END (posing as a zero-initialised cell, which
    the zinit table alone would accept): the end-of-memory range check (ea_hi not a byte) rejects it."""
    code = A.li("a7", abi.ECALL_READ_WORD)
    at_read = len(code)
    code += [A.ECALL]
    code += [A.op_imm("addi", "a2", "a0", 0)]
    code += A.li("a0", abi.MEM_END - 4) + A.li("a1", abi.MEM_END - 4) + A.li("a7", abi.ECALL_DOT_I8) + [A.ECALL]
    code += A.li("a0", 0) + A.halt()
    image = A.image(code)
    result, record = Executor(image, _a2(4, 0).to_bytes(4, "little")).record()
    rows = np.asarray(record.rows).astype(np.int64)
    assert rows[at_read, COLUMN["a7_val"]] == abi.ECALL_READ_WORD
    rows[at_read, COLUMN["rd_val"]] = rows[at_read + 1, COLUMN["rd_val"]] = _a2(8, 0)
    t = int(np.nonzero(rows[:, COLUMN["a7_val"]] == abi.ECALL_DOT_I8)[0][0])
    rows[t, COLUMN["mem_before"]] = _a2(8, 0)
    s = riscv_air.setup(image)
    rec = Record(np.ascontiguousarray(rows, dtype=np.uint32), record.initial_regs, record.final_regs, b"")
    w = riscv_air.generate(s, rec, strict=False)
    assert len(dot.calls(rec).cid) == 2  # the second word is MEM_END / 4
    bad = H.Run(s, w, rec, result, {}, image)
    H.rebalance_lookups(bad)
    H.expect_rejected(bad, BusError, "bytes")
