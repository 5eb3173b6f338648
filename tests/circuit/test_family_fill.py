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
    fixed = byte_table.fixed_columns()
    x, y = fixed[:, 0].astype(np.int64), fixed[:, 1].astype(np.int64)
    assert (x * 256 + y == np.arange(1 << 16)).all()
    assert (fixed[:, 2] == (x & y)).all() and (fixed[:, 3] == (x | y)).all() and (fixed[:, 4] == (x ^ y)).all()
    assert (range_table.fixed_columns()[:, 0] == np.arange(1 << 16)).all()

    sends = lookups.LookupSends()
    sends.add_range16(np.array([0, 5, 5, 65535]))
    sends.add_bytes(np.array([BYTE_AND, BYTE_XOR, BYTE_RANGE, BYTE_RANGE]), np.array([1, 2, 3, 3]),
                    np.array([255, 0, 4, 4]))
    sends.add_bytes(BYTE_OR, np.array([7]), np.array([8]))
    rm = range_table.multiplicities(sends)
    assert rm.shape == (1 << 16, 1) and rm[5, 0] == 2 and rm[0, 0] == 1 and rm[65535, 0] == 1 and rm.sum() == 4
    bm = byte_table.multiplicities(sends)
    assert bm.shape == (1 << 16, 4) and bm.sum() == 5
    assert bm[1 * 256 + 255, byte_table.MULT_OPS.index(BYTE_AND)] == 1
    assert bm[2 * 256, byte_table.MULT_OPS.index(BYTE_XOR)] == 1
    assert bm[3 * 256 + 4, byte_table.MULT_OPS.index(BYTE_RANGE)] == 2
    assert bm[7 * 256 + 8, byte_table.MULT_OPS.index(BYTE_OR)] == 1
    with pytest.raises(ValueError):
        sends.add_range16(np.array([1 << 16]))
    with pytest.raises(ValueError):
        sends.add_bytes(BYTE_RANGE, np.array([256]), np.array([0]))
