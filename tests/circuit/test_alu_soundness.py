"""ALU table: honest traces pass the checker; each gadget rejects a malicious witness that only it catches."""

from __future__ import annotations

import numpy as np
import pytest

from family_harness import P, bench, byte_cells, expect_rejected, fdiv, get, set_row
from rv32_reference import operands
from zkvm.circuit import alu, lookups, range as range_table, bytes as byte_table
from zkvm.circuit.families import FAMILIES
from zkvm.circuit.opcodes import ADD, AND, BUS_BYTES, BUS_RANGE16, OR, SLT, SLTU, SUB, XOR

SEED = 7


@pytest.mark.parametrize("spec", FAMILIES, ids=lambda s: s.name)
def test_honest_trace_passes_and_fill_reports_every_lookup(spec):
    ops, a, b = operands(SEED, tuple(spec.ops.values()), 300)
    sends = lookups.LookupSends()
    trace = spec.fill(ops, a, b, sends)
    bn = bench(spec.name)
    main = bn.main(trace)
    # the multiplicities counted from what fill reported equal those evaluated from the table's sends
    assert (range_table.multiplicities(sends) == main[range_table.NAME]).all(), f"seed {SEED}"
    assert (byte_table.multiplicities(sends) == main[byte_table.NAME]).all(), f"seed {SEED}"
    bn.check(trace)


@pytest.mark.parametrize("spec", FAMILIES, ids=lambda s: s.name)
def test_wrong_result_of_any_op_is_caught(spec):
    """For every op and several operand pairs, c_lo or c_hi off by one (everything else consistent) is rejected."""
    ops, a, b = operands(SEED + 1, tuple(spec.ops.values()), 0)
    rng = np.random.default_rng(SEED)
    bn = bench(spec.name)
    for op in spec.ops.values():
        rows = rng.choice(np.nonzero(ops == op)[0], 6, replace=False)
        trace = spec.fill(ops[rows], a[rows], b[rows])
        for r in range(len(rows)):
            limb = "c_lo" if r % 2 else "c_hi"
            bad = set_row(trace, spec, r, **{limb: get(trace, spec, r, limb) ^ 1})
            with pytest.raises(Exception) as info:
                bn.check(bad)
            assert type(info.value).__name__ in ("ConstraintError", "BusError"), \
                f"seed {SEED}: op {op} a={a[rows[r]]:#x} b={b[rows[r]]:#x}: {info.value!r}"


def one(op: int, a: int, b: int) -> np.ndarray:
    return alu.fill(np.array([op]), np.array([a]), np.array([b]))


S = alu.SPEC
B = bench(S.name)


def test_selector_booleanity():
    # is_add = -2, is_sub = 3: is_real = 1, op = -2·ADD + 3·SUB = SLTU. With b = 0 both the ADD and SUB
    # equations hold for c = a, so without booleanity this proves SLTU(5, 0) = 5.
    t = set_row(one(ADD, 5, 0), S, 0, is_add=-2, is_sub=3)
    expect_rejected(B, t, {"is_add_bool", "is_sub_bool"})


def test_one_op_per_row():
    # is_and = is_or = 1: op = AND + OR = MUL with multiplicity 2, byte op = BYTE_AND + BYTE_OR = BYTE_XOR, so
    # z = a ^ b passes the lookups: without one_op this proves MUL(a, b) = a ^ b (twice).
    a, b = 0x12345678, 0x0F0F1234
    t = set_row(one(AND, a, b), S, 0, is_or=1, **byte_cells("z", a ^ b), c_lo=(a ^ b) & 0xFFFF, c_hi=(a ^ b) >> 16)
    expect_rejected(B, t, {"one_op"})


def test_bitwise_result_bound_to_looked_up_bytes():
    t = one(XOR, 0xDEADBEEF, 0x01234567)
    expect_rejected(B, set_row(t, S, 0, c_lo=get(t, S, 0, "c_lo") ^ 0x10), {"bitwise_c_lo"})
    expect_rejected(B, set_row(t, S, 0, c_hi=get(t, S, 0, "c_hi") ^ 0x10), {"bitwise_c_hi"})


def test_bitwise_lookup_rejects_wrong_byte_result():
    a, b = 0xDEADBEEF, 0x01234567
    c = (a | b) ^ 0x100  # byte 1 wrong, limbs consistent with the bytes
    t = set_row(one(OR, a, b), S, 0, **byte_cells("z", c), c_lo=c & 0xFFFF, c_hi=c >> 16)
    expect_rejected(B, t, bus=BUS_BYTES)


def test_add_limb_equations():
    a, b = 0x0001FFFF, 0x00000001
    c = ((a + b) & 0xFFFFFFFF) + 1
    t = set_row(one(ADD, a, b), S, 0, **byte_cells("x", c), c_lo=c & 0xFFFF, c_hi=c >> 16)
    expect_rejected(B, t, {"add_lo"})
    c = ((a + b) & 0xFFFFFFFF) + 0x10000
    t = set_row(one(ADD, a, b), S, 0, **byte_cells("x", c), c_lo=c & 0xFFFF, c_hi=c >> 16)
    expect_rejected(B, t, {"add_hi"})


def test_add_result_range_checked():
    # c_lo = a_lo + b_lo without the carry: the limb equations hold but c_lo >= 2^16 cannot be split into bytes
    a, b = 0x0000FFFF, 0x00000002
    c_lo = 0xFFFF + 2
    t = set_row(one(ADD, a, b), S, 0, c_lo=c_lo, c_hi=0, carry0=0, x0=c_lo & 255, x1=c_lo >> 8, x2=0, x3=0)
    expect_rejected(B, t, bus=BUS_BYTES)


def test_carry0_boolean():
    # carry0 = (p-1)/2^16 = 30720 makes 2^16·carry0 = -1 in the field: c_lo = a_lo + b_lo + 1 and c_hi absorbs
    # the 30720 — every other constraint and lookup holds.
    a, b = 0x00010010, 0x00020020
    c_lo, c_hi = 0x0010 + 0x0020 + 1, 0x0001 + 0x0002 + 30720
    c = c_lo + (c_hi << 16)
    t = set_row(one(ADD, a, b), S, 0, carry0=30720, carry1=0, c_lo=c_lo, c_hi=c_hi, **byte_cells("x", c))
    expect_rejected(B, t, {"carry0_bool"})


def test_carry1_boolean():
    a, b = 0x12345678, 0x11111111
    t = one(ADD, a, b)
    c_hi = get(t, S, 0, "c_hi") + 1
    c = get(t, S, 0, "c_lo") + (c_hi << 16)
    carry1 = fdiv(-1, 1 << 16)  # absorbs the +1 in c_hi
    t = set_row(t, S, 0, c_hi=c_hi, carry1=carry1, **byte_cells("x", c))
    expect_rejected(B, t, {"carry1_bool"})


def test_sub_limb_equations():
    a, b = 5, 7
    c = ((a - b) & 0xFFFFFFFF) ^ 1
    t = set_row(one(SUB, a, b), S, 0, **byte_cells("x", c), c_lo=c & 0xFFFF, c_hi=c >> 16)
    expect_rejected(B, t, {"sub_lo"})
    c = ((a - b) & 0xFFFFFFFF) ^ 0x10000
    t = set_row(one(SUB, a, b), S, 0, **byte_cells("x", c), c_lo=c & 0xFFFF, c_hi=c >> 16)
    expect_rejected(B, t, {"sub_hi"})


def test_sub_result_bound_to_range_checked_bytes():
    t = one(SUB, 9, 4)
    expect_rejected(B, set_row(t, S, 0, x0=get(t, S, 0, "x0") + 1), {"sub_c_lo_bytes"})
    expect_rejected(B, set_row(t, S, 0, x2=1), {"sub_c_hi_bytes"})
    t = one(ADD, 9, 4)
    expect_rejected(B, set_row(t, S, 0, x0=get(t, S, 0, "x0") + 1), {"add_c_lo_bytes"})
    expect_rejected(B, set_row(t, S, 0, x2=1), {"add_c_hi_bytes"})


def test_sltu_result_is_the_borrow():
    t = one(SLTU, 3, 9)
    expect_rejected(B, set_row(t, S, 0, c_lo=0), {"sltu_result"})
    expect_rejected(B, set_row(t, S, 0, c_hi=1), {"lt_c_hi_zero"})


def test_comparison_difference():
    # claim 9 <u 3 by setting the borrow without a consistent difference
    t = set_row(one(SLTU, 9, 3), S, 0, c_lo=1, carry1=1)
    expect_rejected(B, t, {"lt_hi"})
    d = ((9 - 3) & 0xFFFFFFFF) + 1
    t = set_row(one(SLTU, 9, 3), S, 0, **byte_cells("x", d))
    expect_rejected(B, t, {"lt_lo"})


def test_slt_result_uses_signs():
    t = one(SLT, 0xFFFFFFFF, 1)  # -1 < 1
    expect_rejected(B, set_row(t, S, 0, c_lo=0), {"slt_result"})


def test_slt_sign_bits_range_checked():
    # claim a = 0x80000000 is non-negative: SLT(0x80000000, 1) = 0 would follow with sign_a = 0
    t = one(SLT, 0x80000000, 1)
    expect_rejected(B, set_row(t, S, 0, sign_a=0, c_lo=0), bus=BUS_RANGE16)
    t = one(SLT, 1, 0x80000000)
    expect_rejected(B, set_row(t, S, 0, sign_b=0, c_lo=1), bus=BUS_RANGE16)


def test_slt_sign_bits_boolean():
    # a_hi = 2^14: 2·a_hi - 2^16·(1/2) = 0 is in range, so sign_a = 1/2 passes the lookup, and the result
    # borrow + sign_a - sign_b = 1/2 is no bit: only booleanity pins the sign.
    a, b = 0x40000000, 0x00000000
    half = fdiv(1, 2)
    expect_rejected(B, set_row(one(SLT, a, b), S, 0, sign_a=half, c_lo=half), {"sign_a_bool"})
    expect_rejected(B, set_row(one(SLT, b, a), S, 0, sign_b=half, c_lo=(1 - half) % P), {"sign_b_bool"})


def test_bitwise_operands_bound_to_looked_up_bytes():
    # AND(0xFFFFFFFF, 0xFFFFFFFF) "=" 0x0F0F0F0F by looking up the bytes of other operands
    for word, limb in (("x", "a_lo"), ("x", "a_hi"), ("y", "b_lo"), ("y", "b_hi")):
        other = 0xFFFF0F0F if limb.endswith("lo") else 0x0F0FFFFF
        t = one(AND, 0xFFFFFFFF, 0xFFFFFFFF)
        c = other
        t = set_row(t, S, 0, **byte_cells(word, other), **byte_cells("z", c), c_lo=c & 0xFFFF, c_hi=c >> 16)
        expect_rejected(B, t, {f"bitwise_{'a' if word == 'x' else 'b'}_{limb[-2:]}"})


@pytest.mark.parametrize("byte", range(4))
def test_every_byte_lookup_range_checks(byte):
    # ADD without the carry into the affected limb: c_lo = a_lo + b_lo (or c_hi = a_hi + b_hi) >= 2^16, stored
    # so that only byte `byte` of x is out of range
    a, b = (0x0000FFFF, 0x00000002) if byte < 2 else (0xFFFF0000, 0x00020000)
    limb = 0xFFFF + 2
    lo_byte, hi_byte = (limb, 0) if byte % 2 == 0 else (1, 256)
    cells = {f"x{byte - byte % 2}": lo_byte, f"x{byte - byte % 2 + 1}": hi_byte}
    if byte < 2:
        cells.update(c_lo=limb, c_hi=0, carry0=0, x2=0, x3=0)
    else:
        cells.update(c_lo=0, c_hi=limb, carry1=0, x0=0, x1=0)
    t = set_row(one(ADD, a, b), S, 0, **cells)
    expect_rejected(B, t, bus=BUS_BYTES)
