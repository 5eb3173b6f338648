"""MUL and DIV tables: each gadget rejects a malicious witness that only it catches (everything else
consistent: carries re-derived in the field, lookups rebalanced, the sender sends what the table receives)."""

from __future__ import annotations

import numpy as np
import pytest

from family_harness import (P, bench, byte_cells, carries_are_small, expect_rejected, fdiv, get,
                            resolve_carries, set_row)
from zkvm.circuit import muldiv
from zkvm.circuit.opcodes import BUS_BYTES, BUS_RANGE16, DIV, DIVU, MUL, MULH, MULHU, REM, REMU

M = muldiv.MUL_SPEC
BM = bench(M.name)
D = muldiv.DIV_SPEC
BD = bench(D.name)
MASK = 0xFFFFFFFF


def mul_row(op: int, a: int, b: int, **cells: int) -> np.ndarray:
    t = muldiv.mul_fill(np.array([op]), np.array([a]), np.array([b]))
    return resolve_carries(BM, set_row(t, M, 0, **cells), 0, "product")


def words(c: int, o: int) -> dict[str, int]:
    return dict(c_lo=c & 0xFFFF, c_hi=c >> 16, o_lo=o & 0xFFFF, o_hi=o >> 16)


# ------------------------------------------------------------------------------------------------ MUL

def test_mul_selector_booleanity():
    # is_mul = -1, is_mulhu = 2: op = -11 + 28 = REM. The product 3·1 has limbs z = (3, 0, 0, 0), reachable with
    # o_lo = 2, c_lo = 1 (z0 = 2·o_lo - c_lo, z2 = 2·c_lo - o_lo): without booleanity REM(3, 1) "=" 1.
    t = mul_row(MULHU, 3, 1, is_mul=-1, is_mulhu=2, **words(1, 2))
    assert carries_are_small(t, M, 0)
    expect_rejected(BM, t, {"is_mul_bool", "is_mulhu_bool"})


def test_mul_one_op_per_row():
    t = mul_row(MUL, 1234, 5678, is_mulh=1)  # op MUL + MULH, multiplicity 2
    expect_rejected(BM, t, {"one_op"})


def test_mul_effective_signs():
    # MULH(-1, 2) computed as unsigned: high word 1 instead of 0xFFFFFFFF
    t = mul_row(MULH, MASK, 2, ea=0, **words(1, 0xFFFFFFFE))
    assert carries_are_small(t, M, 0)
    expect_rejected(BM, t, {"ea"})
    t = mul_row(MULH, 2, MASK, eb=0, **words(1, 0xFFFFFFFE))
    expect_rejected(BM, t, {"eb"})


def test_mul_sign_bits_range_checked():
    t = mul_row(MULH, MASK, 2, sign_a=0, ea=0, **words(1, 0xFFFFFFFE))
    assert carries_are_small(t, M, 0)
    expect_rejected(BM, t, bus=BUS_BYTES)


def test_mul_sign_bits_boolean():
    # a3 = 64: sign_a = 1/2 passes the lookup (2·64 - 128 = 0); the half sign-extension makes
    # a_ext·2 = 2a - 2^32 (mod 2^64): MULH(0x40000000, 2) "=" 0xFFFFFFFF instead of 0
    half = fdiv(1, 2)
    t = mul_row(MULH, 0x40000000, 2, sign_a=half, ea=half, **words(MASK, 0x80000000))
    assert carries_are_small(t, M, 0)
    expect_rejected(BM, t, {"sign_a_bool"})
    t = mul_row(MULH, 2, 0x40000000, sign_b=half, eb=half, **words(MASK, 0x80000000))
    assert carries_are_small(t, M, 0)
    expect_rejected(BM, t, {"sign_b_bool"})


def test_mul_product_limbs():
    t = muldiv.mul_fill(np.array([MULHU]), np.array([0x12345678]), np.array([0x9ABCDEF0]))
    for limb, constraint in (("o_lo", "product_limb0"), ("o_hi", "product_limb1"), ("c_lo", "product_limb2"),
                             ("c_hi", "product_limb3")):
        expect_rejected(BM, set_row(t, M, 0, **{limb: get(t, M, 0, limb) ^ 1}), {constraint})


def test_mul_carries_range_checked():
    # a wrong low word with the carries re-derived in the field: the carry is no small integer
    t = mul_row(MUL, 0x12345678, 0x9ABCDEF0)
    t = resolve_carries(BM, set_row(t, M, 0, c_lo=get(t, M, 0, "c_lo") ^ 1), 0, "product")
    expect_rejected(BM, t, bus=BUS_BYTES)


def test_mul_result_limbs_range_checked():
    # c_lo + 2^16 and c_hi - 1 (same integer, one less carry out of limb 0): only c_lo's range check catches it
    t = mul_row(MUL, 0xFFFF, 0xFFFF)
    t = set_row(t, M, 0, c_lo=get(t, M, 0, "c_lo") + (1 << 16), c_hi=get(t, M, 0, "c_hi") - 1)
    t = resolve_carries(BM, t, 0, "product")
    assert carries_are_small(t, M, 0)
    expect_rejected(BM, t, bus=BUS_RANGE16)


def test_mul_operand_bytes_range_checked():
    # a = 0x100 as bytes (256, 0, ..): same limb, products stay consistent, only the byte lookup rejects
    t = mul_row(MUL, 0x100, 3, a0=256, a1=0)
    assert carries_are_small(t, M, 0)
    expect_rejected(BM, t, bus=BUS_BYTES)


# ------------------------------------------------------------------------------------------------ DIV

def div_row(op: int, a: int, b: int, q: int | None = None, r: int | None = None, **cells: int) -> np.ndarray:
    """Row for (op, a, b) with quotient q and remainder r forced (honest when None): every derived column
    (signs, |r|, gap, c, carries) recomputed as the fill would, then `cells` applied last (before carries)."""
    t = muldiv.div_fill(np.array([op]), np.array([a]), np.array([b]))
    if q is not None:
        signed = op in (DIV, REM)
        sq, sr = q >> 31, r >> 31
        abs_r = ((1 << 32) - r) if (signed and sr) else r
        abs_b = get(t, D, 0, "abs_b_lo") + (get(t, D, 0, "abs_b_hi") << 16)
        gap = (abs_b - abs_r - 1) if b else 0
        gap_carry = ((abs_r & 0xFFFF) + 1 + (gap & 0xFFFF)) >> 16 if b else 0
        c = q if op in (DIV, DIVU) else r
        t = set_row(t, D, 0, **byte_cells("q", q), r_lo=r & 0xFFFF, r_hi=r >> 16, c_lo=c & 0xFFFF, c_hi=c >> 16,
                    eq=sq * signed, er=sr * signed, abs_r_lo=abs_r & 0xFFFF,
                    abs_r_hi=abs_r >> 16, neg_r_carry=((r & 0xFFFF) + (abs_r & 0xFFFF)) >> 16 if signed and sr else 0,
                    gap_lo=gap % (1 << 16), gap_hi=(gap >> 16) % P, gap_carry=gap_carry)
    return resolve_carries(BD, set_row(t, D, 0, **cells), 0, "identity")


def test_div_row_helper_reproduces_honest_rows():
    for op, a, b, q, r in ((DIV, (-7) & MASK, 2, (-3) & MASK, MASK), (REMU, 7, 2, 3, 1), (DIVU, 5, 0, MASK, 5),
                           (DIV, 0x80000000, MASK, 0x80000000, 0)):
        honest = muldiv.div_fill(np.array([op]), np.array([a]), np.array([b]))
        assert (div_row(op, a, b, q, r) == honest).all(), (op, a, b)


def test_div_selector_booleanity():
    # is_div = -2, is_divu = 3: op = 16 + 2 = REMU, c = q: without booleanity REMU(7, 2) "=" 3
    t = div_row(DIVU, 7, 2, is_div=-2, is_divu=3)
    expect_rejected(BD, t, {"is_div_bool", "is_divu_bool"})


def test_div_one_op_per_row():
    t = div_row(DIVU, 8, 3, is_remu=1)  # q = r = 2: both results agree; op DIVU + REMU, multiplicity 2
    expect_rejected(BD, t, {"one_op"})


def test_div_result_selection():
    t = div_row(DIVU, 7, 2)
    expect_rejected(BD, set_row(t, D, 0, c_lo=1), {"c_quot_lo"})
    expect_rejected(BD, set_row(t, D, 0, c_hi=1), {"c_quot_hi"})
    t = div_row(REMU, 7, 2)
    expect_rejected(BD, set_row(t, D, 0, c_lo=3), {"c_rem_lo"})
    expect_rejected(BD, set_row(t, D, 0, c_hi=1), {"c_rem_hi"})


def test_div_identity():
    # DIVU(7, 2) = 2 rem 1 keeping the honest row's carries: 2·2 + 1 != 7
    honest = div_row(DIVU, 7, 2)
    t = div_row(DIVU, 7, 2, q=2, r=1)
    t = set_row(t, D, 0, **{f"k{i}{p}": get(honest, D, 0, f"k{i}{p}") for i in range(4) for p in "xy"})
    expect_rejected(BD, t, {"identity_limb0"})


def test_div_identity_carries_range_checked():
    # DIVU(7, 2) = 3 rem 0: 3·2 + 0 - 7 = -1 is absorbed by a non-integer carry
    expect_rejected(BD, div_row(DIVU, 7, 2, q=3, r=0), bus=BUS_BYTES)


def test_div_remainder_range_checked():
    # DIVU(7, 2) = 4 with r = -1 (field): r_lo = p - 1 passes every equation, only its range check fails
    t = div_row(DIVU, 7, 2, q=4, r=0, r_lo=P - 1, abs_r_lo=P - 1, gap_lo=2)
    expect_rejected(BD, t, bus=BUS_RANGE16)


def test_div_remainder_bound():
    # DIVU(7, 2) = 2 rem 3: the identity holds, |r| + 1 + gap = |b| needs gap < 0
    t = div_row(DIVU, 7, 2, q=2, r=3)
    expect_rejected(BD, t, bus=BUS_RANGE16)
    # with the gap limbs in range, the limb equations catch it
    expect_rejected(BD, set_row(t, D, 0, gap_lo=0), {"gap_lo"})
    t = div_row(DIVU, 0x70000, 0x20000, q=2, r=0x30000)
    expect_rejected(BD, set_row(t, D, 0, gap_hi=0), {"gap_hi"})


def test_div_remainder_sign():
    # DIV(-7, 2) = -4 rem 1 (floor division): identity and |r| < |b| hold, r must not be positive
    expect_rejected(BD, div_row(DIV, (-7) & MASK, 2, q=(-4) & MASK, r=1), {"rem_sign_neg_lo"})
    # DIV(-0x30000, 0x20000) = -2 rem 0x10000: the remainder's low limb is 0, its high limb is not
    expect_rejected(BD, div_row(DIV, (-0x30000) & MASK, 0x20000, q=(-2) & MASK, r=0x10000), {"rem_sign_neg_hi"})
    # DIV(7, -2) = -4 rem -1: r must not be negative
    expect_rejected(BD, div_row(DIV, 7, (-2) & MASK, q=(-4) & MASK, r=MASK), {"rem_sign_pos"})


def test_div_sign_bits_looked_up():
    # DIV(-7, 2) treated as unsigned (sign_a = 0): 0xFFFFFFF9 / 2
    t = div_row(DIV, (-7) & MASK, 2, q=0x7FFFFFFC, r=1, sign_a=0, ea=0)
    assert carries_are_small(t, D, 0)
    expect_rejected(BD, t, bus=BUS_BYTES)
    # DIV(7, -2) with b's sign dropped: 0xFFFFFFFE treated as positive, 7 / 0xFFFFFFFE = 0 rem 7
    t = div_row(DIV, 7, (-2) & MASK, q=0, r=7, sign_b=0, eb=0, abs_b_lo=0xFFFE, abs_b_hi=0xFFFF, neg_b_carry=0)
    t = set_row(t, D, 0, gap_lo=0xFFFE - 8, gap_hi=0xFFFF, gap_carry=0)
    expect_rejected(BD, t, bus=BUS_BYTES)
    # a's top byte a3 off by one (a_hi - 256·a3 is then no byte): a3 = 0x7F claims a = 0x80000000 is positive
    t = div_row(DIV, 0x80000000, 2, q=0x40000000, r=0, a3=0x7F, sign_a=0, ea=0)
    assert carries_are_small(t, D, 0)
    expect_rejected(BD, t, bus=BUS_BYTES)


def test_div_abs_values():
    # |b| claimed 4 for b = -2 (resp. 6 for b = 2) lets DIV(7, -2) = -2 rem 3 (DIVU(7, 2) = 1 rem 5) pass the bound
    t = div_row(DIV, 7, (-2) & MASK, q=(-2) & MASK, r=3, abs_b_lo=4, gap_lo=0)
    expect_rejected(BD, t, {"abs_b_neg_lo"})
    t = div_row(DIVU, 7, 2, q=1, r=5, abs_b_lo=6, gap_lo=0)
    expect_rejected(BD, t, {"abs_b_pos_lo"})
    t = div_row(DIVU, 0x70000, 0x20000, q=1, r=0x50000, abs_b_hi=6, gap_lo=0xFFFF, gap_hi=0, gap_carry=0)
    expect_rejected(BD, t, {"abs_b_pos_hi"})
    t = div_row(DIV, 0x70000, (-0x20000) & MASK, q=(-1) & MASK, r=0x50000, abs_b_hi=6, gap_lo=0xFFFF, gap_hi=0,
                gap_carry=0)
    expect_rejected(BD, t, {"abs_b_neg_hi"})
    # |r| claimed 1 for r = -5: DIV(-7, 2) = -1 rem -5
    t = div_row(DIV, (-7) & MASK, 2, q=MASK, r=(-5) & MASK, abs_r_lo=1, abs_r_hi=0, gap_lo=0)
    expect_rejected(BD, t, {"abs_r_neg_lo"})


def test_div_by_zero():
    # DIVU(5, 0) must be 2^32 - 1: q = 0 satisfies the identity (0·0 + 5 = 5)
    expect_rejected(BD, div_row(DIVU, 5, 0, q=0, r=5), {"div_by_zero_quotient"})
    # b_zero = 1 for b = 3 would switch the bound off: REM(5, 3) "=" 8 with q = -1 (-3 + 8 = 5)
    t = div_row(REM, 5, 3, q=MASK, r=8, b_zero=1, gap_lo=0, gap_hi=0, gap_carry=0)
    expect_rejected(BD, t, {"b_zero_flag"})


def test_div_overflow_flag():
    # ovf = 1 outside INT_MIN / -1: q·4 + r - 2^32 = 0 gives DIV(0, 4) "=" 2^30
    expect_rejected(BD, div_row(DIV, 0, 4, q=1 << 30, r=0, ovf=1), {"ovf_flag"})
    # ovf = 1 for an unsigned op on the same operands: DIVU(0x80000000, 0xFFFFFFFF) "=" 1 rem 0x80000001
    t = div_row(DIVU, 0x80000000, MASK, q=1, r=0x80000001, ovf=1)
    assert carries_are_small(t, D, 0)
    expect_rejected(BD, t, {"ovf_signed_only"})


# ------------------------------------------------------------------------------------------------ per-lookup

def _z_columns(op: int) -> list[str]:
    """Which columns hold the 64-bit product limbs z0..z3."""
    return ["c_lo", "c_hi", "o_lo", "o_hi"] if op == MUL else ["o_lo", "o_hi", "c_lo", "c_hi"]


@pytest.mark.parametrize("pair,op,a,b,cells", [
    ("a2a3", MULH, 0x80000000, 2, dict(a2=256, a3=0x7F, sign_a=0, ea=0)),   # a looks positive: MULH "=" 1
    ("b2b3", MULH, 2, 0x80000000, dict(b2=256, b3=0x7F, sign_b=0, eb=0)),   # same for b
    ("b0b1", MULHU, 3, 0x100, dict(b0=256, b1=0)),                          # same limb, non-byte b0
])
def test_mul_every_operand_byte_pair_range_checked(pair, op, a, b, cells):
    t = muldiv.mul_fill(np.array([op]), np.array([a]), np.array([b]))
    z = _z_columns(op)
    if op == MULH:  # the wrongly positive operand: 2^31·2 = 2^32, high word 1, low word 0
        cells = cells | {z[0]: 0, z[1]: 0, z[2]: 1, z[3]: 0}
    t = resolve_carries(BM, set_row(t, M, 0, **cells), 0, "product")
    assert carries_are_small(t, M, 0), pair
    expect_rejected(BM, t, bus=BUS_BYTES)


@pytest.mark.parametrize("limb", range(4))
def test_mul_every_product_limb_range_checked(limb):
    # limb + 2^16 and the next limb - 1 (the top limb: one less final carry): same integer, non-limb value
    op, a, b = (MULHU, 0x12345678, 0x9ABCDEF0) if limb < 3 else (MULH, 0x92345678, 0x9ABCDEF0)
    t = muldiv.mul_fill(np.array([op]), np.array([a]), np.array([b]))
    z = _z_columns(op)
    cells = {z[limb]: get(t, M, 0, z[limb]) + (1 << 16)}
    if limb < 3:
        cells[z[limb + 1]] = get(t, M, 0, z[limb + 1]) - 1
    t = resolve_carries(BM, set_row(t, M, 0, **cells), 0, "product")
    assert carries_are_small(t, M, 0)
    expect_rejected(BM, t, bus=BUS_RANGE16)


@pytest.mark.parametrize("carry", range(4))
def test_mul_every_carry_range_checked(carry):
    # z_l + 1 makes carry l = k - 2^-16 = k + 30720 (an integer > 4335) and z_{l+1} + 30720 absorbs it: a wrong
    # product that only the lookup of carry l rejects
    t = muldiv.mul_fill(np.array([MULHU]), np.array([0x1234]), np.array([0x5678]))
    z = _z_columns(MULHU)
    cells = {z[carry]: get(t, M, 0, z[carry]) + 1}
    if carry < 3:
        cells[z[carry + 1]] = get(t, M, 0, z[carry + 1]) + 30720
    t = resolve_carries(BM, set_row(t, M, 0, **cells), 0, "product")
    big = [l for l in range(4) if get(t, M, 0, f"k{l}x") >= 16]
    assert big == [carry]
    expect_rejected(BM, t, bus=BUS_BYTES)


# ------------------------------------------------------------------------------------------------ DIV, more

def test_div_effective_signs_follow_sign_bits():
    # ea = 0 for a = -7: DIV(-7, 2) computed as 0xFFFFFFF9 / 2
    expect_rejected(BD, div_row(DIV, (-7) & MASK, 2, q=0x7FFFFFFC, r=1, ea=0), {"ea"})
    # eb = 1 for b = 3: b_ext = 3 - 2^32, |b| = 2^32 - 3: DIV(5, 3) "=" 0 rem 5
    t = div_row(DIV, 5, 3, q=0, r=5, eb=1, abs_b_lo=0xFFFD, abs_b_hi=0xFFFF, neg_b_carry=1)
    gap = 0xFFFFFFFD - 5 - 1
    t = set_row(t, D, 0, gap_lo=gap & 0xFFFF, gap_hi=gap >> 16, gap_carry=((5 + 1 + (gap & 0xFFFF)) >> 16))
    t = resolve_carries(BD, t, 0, "identity")
    assert carries_are_small(t, D, 0)
    expect_rejected(BD, t, {"eb"})


def test_div_abs_b_borrow_boolean():
    # b = -65535: a borrow of 1/2^16 (field) lets |b| read 30721·2^16: DIV(100000, -65535) "=" 0 rem 100000
    b = (-65535) & MASK
    k = fdiv(1, 1 << 16)
    abs_hi = (1 << 16) - (b >> 16) + 30720
    gap = abs_hi * (1 << 16) - 100000 - 1
    t = div_row(DIV, 100000, b, q=0, r=100000, abs_b_lo=0, abs_b_hi=abs_hi, neg_b_carry=k)
    t = set_row(t, D, 0, gap_lo=gap & 0xFFFF, gap_hi=gap >> 16, gap_carry=((100000 & 0xFFFF) + 1 + (gap & 0xFFFF)) >> 16)
    expect_rejected(BD, t, {"neg_b_carry_bool"})


def test_div_abs_r():
    # |r| claimed smaller than r: DIVU(7, 2) = 1 rem 5 with |r| = 1; DIVU(0x70000, 0x20000) = 1 rem 0x50000
    expect_rejected(BD, div_row(DIVU, 7, 2, q=1, r=5, abs_r_lo=1, gap_lo=0), {"abs_r_pos_lo"})
    t = div_row(DIVU, 0x70000, 0x20000, q=1, r=0x50000, abs_r_hi=1, gap_lo=0xFFFF, gap_hi=0, gap_carry=0)
    expect_rejected(BD, t, {"abs_r_pos_hi"})
    # DIV(-0x70000, 0x20000) = -1 rem -0x50000 with |r| = 0x10000
    t = div_row(DIV, (-0x70000) & MASK, 0x20000, q=MASK, r=(-0x50000) & MASK, abs_r_lo=0, abs_r_hi=1,
                neg_r_carry=0, gap_lo=0xFFFF, gap_hi=0, gap_carry=0)
    expect_rejected(BD, t, {"abs_r_neg_hi"})


def test_div_gap_carry_boolean():
    # DIVU(0x50000, 0x10000) = 3 rem 0x20000: gap_carry = 1/2^16 makes gap_hi = -1 + 30720 a valid limb
    t = div_row(DIVU, 0x50000, 0x10000, q=3, r=0x20000, gap_lo=0, gap_carry=fdiv(1, 1 << 16), gap_hi=30719)
    expect_rejected(BD, t, {"gap_carry_bool"})


def test_div_quotient_sign_extension_boolean():
    # eq = 65535 / (2·257·255): with b = 2 the sign-extension bytes of q add 65535 to limbs 2 and 3, which with
    # carries 1 absorbs q·b + r = a + 2^32: DIVU(10, 2) "=" 5 + 2^31
    eq = fdiv(65535, 2 * 257 * 255)
    t = div_row(DIVU, 10, 2, q=5 + (1 << 31), r=0, eq=eq)
    assert carries_are_small(t, D, 0)
    expect_rejected(BD, t, {"eq_bool"})


def test_div_remainder_limb_range_checked_signed():
    # REM(-0x10002, 0x10001) = -1: r_lo = 0x1FFFF, r_hi = 0xFFFE is the same integer (|r| = 1: limbs -0xFFFF, 1
    # with borrow 1), but the result limb c_lo = 0x1FFFF is no 16-bit limb
    t = div_row(REM, (-0x10002) & MASK, 0x10001, r_lo=0x1FFFF, r_hi=0xFFFE, c_lo=0x1FFFF, c_hi=0xFFFE,
                abs_r_lo=(-0xFFFF) % P, abs_r_hi=1, neg_r_carry=1, gap_lo=0xFFFF, gap_hi=0, gap_carry=0)
    assert carries_are_small(t, D, 0)
    expect_rejected(BD, t, bus=BUS_RANGE16)


@pytest.mark.parametrize("cells", [dict(b0=256 + 3, b1=0), dict(b2=256, b3=0x7F, sign_b=0, eb=0),
                                   dict(q0=256 + 1, q1=0), dict(q2=256 + 0x40, q3=0)],
                         ids=["b0b1", "b2b3", "q0q1", "q2q3"])
def test_div_every_byte_pair_range_checked(cells):
    # same limbs, one non-byte byte; for b2b3 the top byte 0x7F also hides b's sign
    if "b2" in cells:  # b = 0x80000000 read as positive: DIV(7, INT_MIN) stays 0 rem 7 either way
        t = div_row(DIV, 7, 0x80000000, q=0, r=7, abs_b_lo=0, abs_b_hi=0x8000, neg_b_carry=0, **cells)
    elif "b0" in cells:
        t = div_row(DIVU, 1000, 0x103, **cells)
    else:
        q = (cells.get("q1", 0) << 8) + cells.get("q0", 0) + (cells.get("q2", 0) << 16)
        t = div_row(DIVU, 7 * q, 7, **cells)
    assert carries_are_small(t, D, 0)
    expect_rejected(BD, t, bus=BUS_BYTES)


def test_div_remainder_high_limb_range_checked():
    # REM(-8, 2) = 0; with er = 1, |r| = 0 and r = (0, 65536) the identity still reads r_ext = 0 (mod 2^64),
    # but the result's high limb 65536 is no 16-bit limb
    t = div_row(REM, (-8) & MASK, 2, er=1, r_hi=1 << 16, c_hi=1 << 16, abs_r_lo=0, abs_r_hi=0, neg_r_carry=0)
    assert carries_are_small(t, D, 0)
    expect_rejected(BD, t, bus=BUS_RANGE16)


def _only_carry_big(t: np.ndarray, spec, carry: int) -> bool:
    return [l for l in range(4) if get(t, spec, 0, f"k{l}x") >= 16] == [carry]


def test_div_identity_carry0_range_checked():
    # a' = a + 1 + 30720·2^16: limb 0 off by one is absorbed by carry0 + 30720 (2^16·30720 = -1 mod p) and limb 1
    # by a_hi + 30720: DIVU(a', 7) "=" DIVU(a, 7)
    a = 0x00001234 * 7
    a2 = a + 1 + (30720 << 16)
    honest = div_row(DIVU, a, 7)
    t = div_row(DIVU, a2, 7, q=a // 7, r=0, a_lo=a2 & 0xFFFF, a_hi=a2 >> 16, a3=a2 >> 24, sign_a=a2 >> 31)
    t = set_row(t, D, 0, **{name: get(honest, D, 0, name) for name in ("abs_r_lo", "gap_lo", "gap_hi", "gap_carry")})
    assert _only_carry_big(t, D, 0)
    expect_rejected(BD, t, bus=BUS_BYTES)


def test_div_identity_top_carry_range_checked():
    # b = 2^24: q's top byte only feeds limb 3; q3 - 1 makes the top carry k3 + 30720:
    # DIV(-2^25, 2^24) "=" -2 - 2^24
    a, b = (-(1 << 25)) & MASK, 1 << 24
    t = div_row(DIV, a, b, q=((-2) - (1 << 24)) & MASK, r=0)
    assert _only_carry_big(t, D, 3)
    expect_rejected(BD, t, bus=BUS_BYTES)


def test_div_abs_r_borrow_boolean():
    # DIV(INT_MIN + 5, 2^30) = -1 rem -(2^30 - 5). Claim q = 0, r = a (|r| = 2^31 - 5 >= |b|): the borrow
    # 30721 = (r_lo + s + p) / 2^16 with s = 2^16 - 1 - r_lo keeps |r|_lo = s a limb and lowers |r|_hi by 30721,
    # so the claimed |r| = s + 2^16·2047 passes the bound
    a, b = 0x80000005, 1 << 30
    r_lo, r_hi = a & 0xFFFF, a >> 16
    s_lo = (1 << 16) - 1 - r_lo
    abs_hi = (1 << 16) - r_hi - 30721
    claimed = s_lo + (abs_hi << 16)
    gap = b - claimed - 1
    gap_carry = (s_lo + 1 + (gap & 0xFFFF)) >> 16
    t = div_row(DIV, a, b, q=0, r=a, abs_r_lo=s_lo, abs_r_hi=abs_hi, neg_r_carry=30721, gap_lo=gap & 0xFFFF,
                gap_hi=gap >> 16, gap_carry=gap_carry)
    assert carries_are_small(t, D, 0)
    expect_rejected(BD, t, {"neg_r_carry_bool"})


def test_div_gap_low_limb_range_checked():
    # DIVU(8, 2) = 3 rem 2: |r| = |b|, gap = -1 fits as gap_lo = p - 1, gap_hi = 0
    t = div_row(DIVU, 8, 2, q=3, r=2, gap_lo=P - 1, gap_hi=0, gap_carry=0)
    expect_rejected(BD, t, bus=BUS_RANGE16)


def test_div_identity_middle_carry_range_checked():
    # b = 2^16: q's high limb only feeds limb 2, so a_hi + 1 (carry1 + 30720) is absorbed by q_hi - 30720:
    # DIV(0x80011234, 2^16) "=" 0x87FF8001
    a, b = 0x80001234 + 0x10000, 1 << 16
    t = div_row(DIV, a, b, q=0x87FF8001, r=0xFFFF1234)
    assert _only_carry_big(t, D, 1)
    expect_rejected(BD, t, bus=BUS_BYTES)
