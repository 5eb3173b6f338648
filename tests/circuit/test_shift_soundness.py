"""Shift table: each gadget rejects a malicious witness that only it catches (everything else consistent)."""

from __future__ import annotations

import numpy as np
import pytest

from family_harness import P, bench, expect_rejected, fdiv, get, set_row
from zkvm.circuit import shift
from zkvm.circuit.opcodes import BUS_BYTES, BUS_RANGE16, SLL, SRA, SRL

S = shift.SPEC
B = bench(S.name)


def one(op: int, a: int, b: int) -> np.ndarray:
    return shift.fill(np.array([op]), np.array([a]), np.array([b]))


def rederive(t: np.ndarray, sll: bool, products: bool = True, **cells: int) -> np.ndarray:
    """Set some cells of row 0, then recompute the product bytes, L4 and c from the row's a bytes, mu, flags and
    fill with the table's own formulas (field arithmetic), so that only the tampered relation can break."""
    t = set_row(t, S, 0, **cells)
    g = lambda name: get(t, S, 0, name)  # noqa: E731
    a = [g(f"a{i}") for i in range(4)]
    mu, fill = g("mu"), g("fill")
    f = [g(f"f{j}") for j in range(4)]
    prods = [a[n] * mu % P for n in range(4)]
    lo = [p & 255 if p < 1 << 16 else p for p in prods]
    hi = [p >> 8 if p < 1 << 16 else 0 for p in prods]
    if not products:  # keep the row's (tampered) product bytes
        lo, hi = [g(f"L{n}") for n in range(4)], [g(f"H{n}") for n in range(4)]
    l4 = fill * (256 - mu) % P
    if sll:
        w = [lo[0]] + [lo[n] + hi[n - 1] for n in range(1, 4)]
        c_lo = f[0] * (w[0] + 256 * w[1]) + f[1] * 256 * w[0]
        c_hi = f[0] * (w[2] + 256 * w[3]) + f[1] * (w[1] + 256 * w[2]) + f[2] * (w[0] + 256 * w[1]) + f[3] * 256 * w[0]
    else:
        u = [hi[n] + lo[n + 1] for n in range(3)] + [hi[3] + l4]
        full = 255 * fill
        c_lo = (f[0] * (u[0] + 256 * u[1]) + f[1] * (u[1] + 256 * u[2]) + f[2] * (u[2] + 256 * u[3])
                + f[3] * (u[3] + 256 * full))
        c_hi = f[0] * (u[2] + 256 * u[3]) + f[1] * (u[3] + 256 * full) + (f[2] + f[3]) * 257 * full
    cells = {f"L{n}": lo[n] for n in range(4)} | {f"H{n}": hi[n] for n in range(4)}
    return set_row(t, S, 0, **cells, L4=l4, c_lo=c_lo, c_hi=c_hi)


def test_rederive_reproduces_honest_rows():
    for op, a, b in ((SLL, 0x87654321, 13), (SRL, 0x87654321, 27), (SRA, 0x87654321, 9), (SRA, 0x7FFFFFFF, 31)):
        t = one(op, a, b)
        assert (rederive(t, op == SLL) == t).all()


def test_selector_booleanity():
    # is_sll = 2, is_srl = -1: op = 16 - 9 = XOR, is_real = 1; mu = m = 16 satisfies both mu rules and for a = 0
    # both results are 0: without booleanity this proves XOR(0, 4) = 0.
    t = set_row(one(SLL, 0, 4), S, 0, is_sll=2, is_srl=-1)
    expect_rejected(B, t, {"is_sll_bool", "is_srl_bool"})


def test_one_op_per_row():
    # SLL and SRL together: op = 17 with multiplicity 2 (a second byte flag keeps one_byte_shift happy)
    t = set_row(one(SLL, 0, 12), S, 0, is_srl=1, f0=1)
    expect_rejected(B, t, {"one_op"})


def test_shift_amount_decomposition():
    a = 0x12345678
    # the row shifts by 2 but b = 1
    expect_rejected(B, set_row(one(SLL, a, 2), S, 0, b_lo=1), {"amount"})
    # ... and with r = (1 - 2) / 32 the amount equation holds: only r's range check catches it
    expect_rejected(B, set_row(one(SLL, a, 2), S, 0, b_lo=1, r=fdiv(-1, 32)), bus=BUS_RANGE16)


def test_amount_bits_boolean():
    # s0 = 2 (and s1 = 0) still sums to 2, but m = 3: SLL(a, 2) "=" 3·a
    t = rederive(one(SLL, 0x01020304, 2), True, s0=2, s1=0, m1=2, mu=3)
    expect_rejected(B, t, {"s0_bool"})


def test_byte_flags_boolean():
    # f0 = -1, f1 = 2 sums to 1 and encodes j = 2, but selects -w + 2·(w << 8): SLL(1, 16) "=" 511
    t = rederive(one(SLL, 1, 16), True, f0=-1, f1=2, f2=0)
    assert get(t, S, 0, "c_lo") == 511
    expect_rejected(B, t, {"f0_bool"})


def test_exactly_one_byte_flag():
    t = rederive(one(SLL, 1, 0), True, f0=0)  # no flag: c = 0
    expect_rejected(B, t, {"one_byte_shift"})


def test_multiplier_is_two_to_the_k():
    a = 0x01020304
    expect_rejected(B, rederive(one(SLL, a, 1), True, m1=3, mu=4), {"pow2_k"})
    expect_rejected(B, rederive(one(SLL, a, 1), True, mu=4), {"mu_sll"})
    expect_rejected(B, rederive(one(SRL, a, 1), False, mu=64), {"mu_sr"})


def test_byte_products():
    t = one(SLL, 0x01020304, 1)
    bad = set_row(t, S, 0, L0=get(t, S, 0, "L0") + 1, c_lo=get(t, S, 0, "c_lo") + 1)
    expect_rejected(B, bad, {"byte_product_0"})


def test_product_bytes_range_checked():
    # 0xFF << 9: the product 0xFF·2 split as L0 = 510, H0 = 0 makes c_lo = 256·510 (not a limb), c_hi = 0
    t = one(SLL, 0xFF, 9)
    bad = set_row(t, S, 0, L0=510, H0=0, c_lo=256 * 510, c_hi=0)
    expect_rejected(B, bad, bus=BUS_BYTES)


def test_operand_bytes_range_checked():
    # a = 0x80000000 as bytes (.., a2 = 256, a3 = 127): same limbs, but the sign looks positive and SRA
    # becomes SRL: SRA(0x80000000, 1) "=" 0x40000000
    t = rederive(one(SRA, 0x80000000, 1), False, a2=256, a3=127, sign=0, fill=0)
    assert get(t, S, 0, "c_hi") == 0x4000
    expect_rejected(B, t, bus=BUS_BYTES)


def test_sign_bit_range_checked():
    t = rederive(one(SRA, 0x80000000, 4), False, sign=0, fill=0)  # logical instead of arithmetic
    expect_rejected(B, t, bus=BUS_BYTES)


def test_sign_bit_boolean():
    # a3 = 64: 2·64 - 256·(1/2) = 0 is a byte, so sign = 1/2 passes the lookup; fill = 1/2 half-fills the top
    half = fdiv(1, 2)
    t = rederive(one(SRA, 0x40000000, 4), False, sign=half, fill=half)
    expect_rejected(B, t, {"sign_bool"})


def test_fill_follows_sign_for_sra():
    t = rederive(one(SRA, 0x80000000, 4), False, fill=0)
    expect_rejected(B, t, {"fill"})
    t = rederive(one(SRA, 0x80000000, 4), False)
    t = set_row(t, S, 0, L4=0, c_hi=get(t, S, 0, "c_hi") - 0xF000)  # top nibble not sign-filled
    expect_rejected(B, t, {"fill_bits"})


def test_results_bound_to_bytes():
    for op, name in ((SLL, "sll"), (SRL, "sr"), (SRA, "sr")):
        t = one(op, 0x87654321, 5)
        expect_rejected(B, set_row(t, S, 0, c_lo=get(t, S, 0, "c_lo") ^ 1), {f"{name}_lo"})
        expect_rejected(B, set_row(t, S, 0, c_hi=get(t, S, 0, "c_hi") ^ 1), {f"{name}_hi"})


def test_every_amount_bit_boolean():
    # s1 = 2 encodes 4 like s2 but makes m = 7; s2 = 2 encodes 8 like f1 but makes m = 31
    t = rederive(one(SLL, 0x01020304, 4), True, s1=2, s2=0, m1=6, mu=7)
    expect_rejected(B, t, {"s1_bool"})
    t = rederive(one(SLL, 0x01020304, 8), True, s2=2, f0=1, f1=0, m1=30, mu=31)
    expect_rejected(B, t, {"s2_bool"})


def test_every_byte_flag_boolean():
    # one flag = -1 and two others = 1 (so the flags still sum to 1), r absorbing a negative amount:
    # the row selects a signed mix of byte placements
    for target in range(4):
        flags = [0, 0, 0, 0]
        flags[target] = -1
        for other in [j for j in range(4) if j != target][:2]:
            flags[other] = 1
        j = flags[1] + 2 * flags[2] + 3 * flags[3]
        r = 1 if j < 0 else 0
        b = 8 * j + 32 * r
        t = rederive(one(SLL, 1, b), True, r=r, **{f"f{k}": flags[k] for k in range(4)})
        expect_rejected(B, t, {f"f{target}_bool"})


@pytest.mark.parametrize("n", range(4))
def test_every_byte_product(n):
    t = one(SLL, 0x01020304, 1)
    bad = rederive(set_row(t, S, 0, **{f"L{n}": get(t, S, 0, f"L{n}") + 1}), True, products=False)
    expect_rejected(B, bad, {f"byte_product_{n}"})


@pytest.mark.parametrize("n", range(4))
def test_every_product_byte_pair_range_checked(n):
    # byte n of a is 0xFF, shifted left by 1: its product 510 stored as L = 510, H = 0 (not bytes)
    t = one(SLL, 0xFF << (8 * n), 1)
    bad = rederive(set_row(t, S, 0, **{f"L{n}": 510, f"H{n}": 0}), True, products=False)
    expect_rejected(B, bad, bus=BUS_BYTES)


def test_low_operand_bytes_range_checked():
    # a = 0x100 stored as bytes (256, 0, ..): the same limb, every product still splits into bytes (256·2 =
    # 0 + 256·2), so only the lookup of (a0, a1) notices that a0 is no byte
    t = rederive(one(SLL, 0x100, 1), True, a0=256, a1=0)
    assert get(t, S, 0, "L0") == 0 and get(t, S, 0, "H0") == 2
    expect_rejected(B, t, bus=BUS_BYTES)
