"""ALU / range / bytes trace fill against the plain-Python RV32 reference (no prover needed)."""

from __future__ import annotations

import numpy as np
import pytest

from rv32_reference import operands, rv32
from zkvm.circuit import alu, bytes as byte_table, lookups, muldiv, range as range_table, shift
from zkvm.circuit.opcodes import ALU_OPS, BYTE_AND, BYTE_OR, BYTE_RANGE, BYTE_XOR, SLT

SEED = 20261125


def column(trace: np.ndarray, names, name: str) -> np.ndarray:
    return trace[:, list(names).index(name)].astype(np.int64)


FAMILIES = [alu.SPEC, shift.SPEC, muldiv.MUL_SPEC, muldiv.DIV_SPEC]


@pytest.mark.parametrize("spec", FAMILIES, ids=lambda s: s.name)
def test_family_fill_matches_reference(spec):
    ops, a, b = operands(SEED, tuple(spec.ops.values()), 2000)
    sends = lookups.LookupSends()
    trace = spec.fill(ops, a, b, sends)
    n = ops.size
    assert trace.shape == (lookups.padded_height(n), len(spec.columns))
    c = column(trace, spec.columns, "c_lo")[:n] + (column(trace, spec.columns, "c_hi")[:n] << 16)
    expect = np.array([rv32(int(o), int(x), int(y)) for o, x, y in zip(ops, a, b)], dtype=np.int64)
    for got in (c, spec.evaluate(ops, a, b).astype(np.int64)):
        bad = np.nonzero(got != expect)[0]
        assert bad.size == 0, f"seed {SEED}: op {ops[bad[0]]} a={a[bad[0]]:#x} b={b[bad[0]]:#x} got {got[bad[0]]:#x}"
    assert not trace[n:].any(), "padding rows must be all zero"
    assert sends.range16 or any(sends.bytes.values())


def test_fill_rejects_bad_inputs():
    with pytest.raises(ValueError):
        alu.fill(np.array([99]), np.array([1]), np.array([2]))
    with pytest.raises(ValueError):
        alu.fill(np.array([SLT]), np.array([1 << 32]), np.array([2]))
    with pytest.raises(ValueError):
        alu.fill(np.array([SLT, SLT]), np.array([1]), np.array([2]))


@pytest.mark.parametrize("spec", FAMILIES, ids=lambda s: s.name)
def test_empty_fill_is_all_padding(spec):
    trace = spec.fill(np.zeros(0), np.zeros(0), np.zeros(0))
    assert trace.shape == (lookups.MIN_HEIGHT, len(spec.columns)) and not trace.any()


def test_lookup_tables_fixed_columns_and_multiplicities():
    fold = range_table.FOLD
    fixed = byte_table.fixed_columns()
    x, y0 = fixed[:, 0].astype(np.int64), fixed[:, 1].astype(np.int64)
    for j in range(fold):  # row r, slot j is the pair 256·x + y0 + j = r·FOLD + j: every pair exactly once
        y = y0 + j
        assert (x * 256 + y == np.arange(byte_table.HEIGHT) * fold + j).all()
        assert (fixed[:, 2 + 3 * j] == (x & y)).all() and (fixed[:, 3 + 3 * j] == (x | y)).all()
        assert (fixed[:, 4 + 3 * j] == (x ^ y)).all()
    assert (range_table.fixed_columns()[:, 0] == np.arange(range_table.HEIGHT) * fold).all()

    sends = lookups.LookupSends()
    sends.add_range16(np.array([0, 5, 5, 65535]))
    sends.add_bytes(np.array([BYTE_AND, BYTE_XOR, BYTE_RANGE, BYTE_RANGE]), np.array([1, 2, 3, 3]),
                    np.array([255, 0, 4, 4]))
    sends.add_bytes(BYTE_OR, np.array([7]), np.array([8]))
    rm = range_table.multiplicities(sends)
    at = lambda v: divmod(v, fold)  # noqa: E731 - value -> (row, column)
    assert rm.shape == (range_table.HEIGHT, fold) and rm.sum() == 4
    assert rm[at(5)] == 2 and rm[at(0)] == 1 and rm[at(65535)] == 1
    bm = byte_table.multiplicities(sends)
    assert bm.shape == (byte_table.HEIGHT, 4 * fold) and bm.sum() == 5

    def cell(op, p):
        r, j = divmod(p, fold)
        return bm[r, byte_table.MULT_OPS.index(op) * fold + j]

    assert cell(BYTE_AND, 1 * 256 + 255) == 1 and cell(BYTE_XOR, 2 * 256) == 1
    assert cell(BYTE_RANGE, 3 * 256 + 4) == 2 and cell(BYTE_OR, 7 * 256 + 8) == 1
    with pytest.raises(ValueError):
        sends.add_range16(np.array([1 << 16]))
    with pytest.raises(ValueError):
        sends.add_bytes(BYTE_RANGE, np.array([256]), np.array([0]))
