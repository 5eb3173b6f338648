"""Multiply and divide tables, receiving bus "alu" (op, a_lo, a_hi, b_lo, b_hi, c_lo, c_hi).

Both rest on one gadget, the 64-bit product of two sign-extended words computed from bytes:
x = (x0..x3, 255·ex ×4) and y = (y0..y3, 255·ey ×4) are the bytes of the words sign-extended to 64 bits
(ex, ey = effective sign bits, 0 for unsigned operands), so x·y mod 2^64 is the signed/unsigned 64-bit product.
Column sums S_k = Σ_{i+j=k} x_i·y_j (k < 8; at most 8 terms < 2^16 each) are grouped in 16-bit limbs
T_l = S_2l + 256·S_2l+1 (< 2^27.1) and resolved limb by limb with carries:
    T_l + (extra terms)_l + k_{l-1} = z_l + 2^16·k_l,   l = 0..3.
Soundness of the gadget: every z_l is a 16-bit limb (range-checked here; for DIV, a's limbs, the sender's word)
and every carry is k = kx + 16·ky with kx, ky range-checked bytes, so k is an integer in [0, 4335] (honest
carries stay below 2100; the split of k need not be unique). Both sides are then integers below 2^28.1 < p, so
each limb equation holds over the integers and the chain proves Σ_l (T_l + extra_l)·2^16l = Σ_l z_l·2^16l
(mod 2^64). Each carry's lookup is needed: without it a carry k + 30720 (2^16·30720 = p - 1) absorbs a limb
off by one.

MUL table: z = the 64-bit product; c = low word (MUL) or high word (MULH, MULHSU, MULHU); o = the other word.
DIV table: proves q·b + r = a (see the table's comments) with |r| < |b|, the sign rule, x/0 and INT_MIN/-1.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from zkvm.circuit.columns import Col, Columns
from zkvm.circuit.lookups import (FamilyTable, MIN_HEIGHT, LookupSends, as_u32_operands, fixed_lookups, padded_height,
                                  report_lookups)
from zkvm.circuit.opcodes import (BUS_ALU, BUS_BYTES, BUS_RANGE16, BYTE_AND, BYTE_RANGE, DIV, DIV_OPS, DIVU, MUL,
                                  MUL_OPS, MULH, MULHSU, MULHU, REM, REMU)
from zkvm.stark.dsl.air import Expr, Table

MUL_NAME = "mul"
DIV_NAME = "div"
_TWO16 = 1 << 16
#: The carry bytes (k{l}x, k{l}y) of the limb chain, k_l = k{l}x + 16·k{l}y: a column group of both tables.
_CARRIES = [(f"k{l}x", f"k{l}y") for l in range(4)]


def _ext_bytes(bs: Sequence[Expr], e: Expr) -> list[Expr]:
    return list(bs) + [255 * e] * 4


def _product_limbs(x: Sequence[Expr], y: Sequence[Expr]) -> list[Expr]:
    """T_0..T_3 of the 64-bit product of two 8-byte sign-extended values (degree 2)."""
    s = [sum(x[i] * y[k - i] for i in range(k + 1)) for k in range(8)]
    return [s[2 * l] + 256 * s[2 * l + 1] for l in range(4)]


def _carry_chain(t: Table, prefix: str, lhs: Sequence[Expr], z: Sequence[Expr], k) -> None:
    """lhs_l + k_{l-1} = z_l + 2^16·k_l with k_l = kx + 16·ky (``k``: the (kx, ky) carry columns)."""
    carry = [kx + 16 * ky for kx, ky in k]
    for l in range(4):
        prev = carry[l - 1] if l else 0
        t.always(f"{prefix}_limb{l}", lhs[l] + prev - z[l] - _TWO16 * carry[l])


def _send_carries(t: Table, k, mult: Expr) -> None:
    for kx, ky in k:
        t.send(BUS_BYTES, [BYTE_RANGE, kx, ky, 0], mult=mult)


def _np_bytes(w: np.ndarray) -> list[np.ndarray]:
    return [(w >> (8 * i)) & 255 for i in range(4)]


def _np_product_limbs(x: list[np.ndarray], y: list[np.ndarray]) -> list[np.ndarray]:
    s = [sum(x[i] * y[k - i] for i in range(k + 1)) for k in range(8)]
    return [s[2 * l] + 256 * s[2 * l + 1] for l in range(4)]


def _np_resolve(v, lhs: list[np.ndarray], rhs_known: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Resolve the limb equations lhs_l + k_{l-1} = z_l + 2^16·k_l: returns z (when rhs_known is None) or checks
    the given z; stores the carries as (kx, ky) columns in v."""
    carry = np.zeros_like(lhs[0])
    z, k = [], []
    for l in range(4):
        total = lhs[l] + carry
        zl = total & 0xFFFF if rhs_known is None else rhs_known[l]
        diff = total - zl
        if (diff & 0xFFFF).any() or (diff < 0).any():
            raise AssertionError("muldiv fill: limb equation does not hold (witness bug)")
        carry = diff >> 16
        if (carry >= 4096).any():
            raise AssertionError("muldiv fill: carry out of range (witness bug)")
        k.append((carry & 15, carry >> 4))
        z.append(zl)
    v.k = k
    return z


# ------------------------------------------------------------------------------------------------ MUL

MUL_SELECTORS = (("is_mul", MUL), ("is_mulh", MULH), ("is_mulhsu", MULHSU), ("is_mulhu", MULHU))


class MulCols(Columns):
    sel = Col(names=[name for name, _ in MUL_SELECTORS])
    a, b = Col(4), Col(4)
    c_lo, c_hi, o_lo, o_hi = Col(), Col(), Col(), Col()
    k = Col(names=_CARRIES)
    sign_a, sign_b, ea, eb = Col(), Col(), Col(), Col()


MUL_COLUMNS = MulCols.NAMES


def mul_table() -> Table:
    t = Table(MUL_NAME)
    col = MulCols.exprs(t)
    sel = {code: s for (_, code), s in zip(MUL_SELECTORS, col.sel)}
    is_real = sum(sel.values())
    a, b = col.a, col.b
    c_lo, c_hi, o_lo, o_hi = col.c_lo, col.c_hi, col.o_lo, col.o_hi
    sign_a, sign_b, ea, eb = col.sign_a, col.sign_b, col.ea, col.eb

    for (name, _), s in zip(MUL_SELECTORS, col.sel):
        t.always(f"{name}_bool", s * (1 - s))
    t.always("one_op", is_real * (1 - is_real))
    t.receive(BUS_ALU, [sum(code * s for code, s in sel.items()), a[0] + 256 * a[1], a[2] + 256 * a[3],
                        b[0] + 256 * b[1], b[2] + 256 * b[3], c_lo, c_hi], mult=is_real)

    # Operand bytes are range-checked; a's and b's limbs on the bus are their recompositions.
    t.send(BUS_BYTES, [BYTE_RANGE, a[0], a[1], 0], mult=is_real)
    t.send(BUS_BYTES, [BYTE_RANGE, a[2], a[3], 0], mult=is_real)
    t.send(BUS_BYTES, [BYTE_RANGE, b[0], b[1], 0], mult=is_real)
    t.send(BUS_BYTES, [BYTE_RANGE, b[2], b[3], 0], mult=is_real)

    # Signs: 2·a3 - 256·sign_a is a byte (lookup) and sign_a a bit => sign_a = a3 >> 7 (a3 is a byte). The
    # effective signs select signedness: a is signed for MULH and MULHSU, b only for MULH.
    t.always("sign_a_bool", sign_a * (1 - sign_a))
    t.always("sign_b_bool", sign_b * (1 - sign_b))
    t.send(BUS_BYTES, [BYTE_RANGE, 2 * a[3] - 256 * sign_a, 2 * b[3] - 256 * sign_b, 0], mult=is_real)
    t.always("ea", ea - sign_a * (sel[MULH] + sel[MULHSU]))
    t.always("eb", eb - sign_b * sel[MULH])

    # 64-bit product z = (z0..z3): c is its low word for MUL, its high word otherwise; o the other word.
    # Soundness: see the module docstring (range-checked z limbs, byte-bounded carries => exact mod 2^64).
    is_mul = sel[MUL]
    z = [o_lo + is_mul * (c_lo - o_lo), o_hi + is_mul * (c_hi - o_hi),
         c_lo + is_mul * (o_lo - c_lo), c_hi + is_mul * (o_hi - c_hi)]
    _carry_chain(t, "product", _product_limbs(_ext_bytes(a, ea), _ext_bytes(b, eb)), z, col.k)
    for limb in (c_lo, c_hi, o_lo, o_hi):
        t.send(BUS_RANGE16, [limb], mult=is_real)
    _send_carries(t, col.k, is_real)
    return t


def _mul_witness(ops: np.ndarray, a: np.ndarray, b: np.ndarray):
    v = MulCols.values()
    v.sel = [(ops == code).astype(np.int64) for _, code in MUL_SELECTORS]
    v.a, v.b = ab, bb = _np_bytes(a), _np_bytes(b)
    v.sign_a, v.sign_b = sign_a, sign_b = a >> 31, b >> 31
    v.ea = ea = sign_a * np.isin(ops, (MULH, MULHSU))
    v.eb = eb = sign_b * (ops == MULH)
    # the same limb arithmetic the constraints check yields the 64-bit product mod 2^64
    z = _np_resolve(v, _np_product_limbs(ab + [255 * ea] * 4, bb + [255 * eb] * 4))
    low_word = ops == MUL
    v.c_lo, v.c_hi = np.where(low_word, z[0], z[2]), np.where(low_word, z[1], z[3])
    v.o_lo, v.o_hi = np.where(low_word, z[2], z[0]), np.where(low_word, z[3], z[1])
    return v


def mul_evaluate(ops: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RV32M multiplications, vectorised: uint32 results."""
    ops, a, b = as_u32_operands(ops, a, b, MUL_OPS)
    v = _mul_witness(ops, a, b)
    return (v.c_lo + (v.c_hi << 16)).astype(np.uint32)


def mul_fill(ops: np.ndarray, a: np.ndarray, b: np.ndarray, sends: LookupSends | None = None,
             min_height: int = MIN_HEIGHT) -> np.ndarray:
    """Trace uint32[h, len(MUL_COLUMNS)] (padding rows all zero); appends lookups to `sends`."""
    ops, a, b = as_u32_operands(ops, a, b, MUL_OPS)
    n = ops.size
    v = _mul_witness(ops, a, b)
    if sends is not None:
        report_lookups(fixed_lookups(mul_table), v.ordered(), n, sends)
    return v.assemble(n, padded_height(n, min_height))


MUL_SPEC = FamilyTable(MUL_NAME, MUL_OPS, MUL_COLUMNS, mul_table, mul_fill, mul_evaluate)


# ------------------------------------------------------------------------------------------------ DIV

DIV_SELECTORS = (("is_div", DIV), ("is_divu", DIVU), ("is_rem", REM), ("is_remu", REMU))


class DivCols(Columns):
    sel = Col(names=[name for name, _ in DIV_SELECTORS])
    a_lo, a_hi = Col(), Col()
    b, q = Col(4), Col(4)
    r_lo, r_hi, c_lo, c_hi = Col(), Col(), Col(), Col()
    a3, sign_a, sign_b, ea, eb, eq, er = Col(), Col(), Col(), Col(), Col(), Col(), Col()
    b_zero, ovf = Col(), Col()
    k = Col(names=_CARRIES)
    abs_b_lo, abs_b_hi, neg_b_carry, abs_r_lo, abs_r_hi, neg_r_carry = Col(), Col(), Col(), Col(), Col(), Col()
    gap_lo, gap_hi, gap_carry = Col(), Col(), Col()


DIV_COLUMNS = DivCols.NAMES
INT_MIN = 1 << 31


def div_table() -> Table:
    t = Table(DIV_NAME)
    col = DivCols.exprs(t)
    sel = {code: s for (_, code), s in zip(DIV_SELECTORS, col.sel)}
    is_real = sum(sel.values())
    is_signed = sel[DIV] + sel[REM]
    a_lo, a_hi, r_lo, r_hi, c_lo, c_hi = col.a_lo, col.a_hi, col.r_lo, col.r_hi, col.c_lo, col.c_hi
    b, q = col.b, col.q
    b_lo, b_hi = b[0] + 256 * b[1], b[2] + 256 * b[3]
    q_lo, q_hi = q[0] + 256 * q[1], q[2] + 256 * q[3]
    sign = {"a": col.sign_a, "b": col.sign_b}
    eff = {"a": col.ea, "b": col.eb, "q": col.eq, "r": col.er}
    b_zero, ovf = col.b_zero, col.ovf

    for (name, _), s in zip(DIV_SELECTORS, col.sel):
        t.always(f"{name}_bool", s * (1 - s))
    t.always("one_op", is_real * (1 - is_real))
    t.receive(BUS_ALU, [sum(code * s for code, s in sel.items()), a_lo, a_hi, b_lo, b_hi, c_lo, c_hi],
              mult=is_real)
    # c is the quotient (DIV, DIVU) or the remainder (REM, REMU).
    is_quot, is_rem = sel[DIV] + sel[DIVU], sel[REM] + sel[REMU]
    t.always("c_quot_lo", is_quot * (c_lo - q_lo))
    t.always("c_quot_hi", is_quot * (c_hi - q_hi))
    t.always("c_rem_lo", is_rem * (c_lo - r_lo))
    t.always("c_rem_hi", is_rem * (c_hi - r_hi))

    # Range checks: b and q as bytes, r as 16-bit limbs (a is the sender's well-formed word).
    t.send(BUS_BYTES, [BYTE_RANGE, b[0], b[1], 0], mult=is_real)
    t.send(BUS_BYTES, [BYTE_RANGE, b[2], b[3], 0], mult=is_real)
    t.send(BUS_BYTES, [BYTE_RANGE, q[0], q[1], 0], mult=is_real)
    t.send(BUS_BYTES, [BYTE_RANGE, q[2], q[3], 0], mult=is_real)
    t.send(BUS_RANGE16, [r_lo], mult=is_real)
    t.send(BUS_RANGE16, [r_hi], mult=is_real)

    # Signs. a and b: the byte lookups (AND, top, 0x80, 0x80·sign) force sign = top >> 7 — a bit, with no
    # booleanity constraint — for a byte `top` (b3; for a, its top byte a3, with a_hi - 256·a3 a byte too).
    # Effective signs ea, eb = sign·is_signed (a wrong ea or eb changes the statement, e.g. eb = 1 for b = 3 would
    # let DIV(5, 3) = 0 rem 5 pass). q and r: their effective signs eq, er only need to be bits (er is one by
    # the remainder-sign and |r| constraints below: if ea = 0, rem_sign_pos gives er = 0; if ea = 1, either
    # er = 1 or r = 0, and r = 0 with er != 0, 1 makes |r| = 0 and 2^16 at once). Soundness of any bits: with
    # b != 0 the identity below is an integer equation, so q_ext = (a - r) / b with |r| < |b|, hence
    # |q_ext| <= 2^31; a bit eq that disagrees with q's top bit makes q_ext = q - 2^32 < -2^31 (impossible) or
    # q >= 2^31 (only q = 2^31 = INT_MIN for INT_MIN / -1, the right word anyway). Likewise er disagreeing with
    # r's top bit makes |r| computed below > 2^31 >= |b|, and for unsigned ops rem_sign_pos forces er = 0 while
    # eq = 1 would need q >= 2^32. With b = 0 the identity reads r = a (mod 2^32) whatever eq and er are.
    a3 = col.a3
    t.send(BUS_BYTES, [BYTE_AND, a3, 0x80, 0x80 * sign["a"]], mult=is_real)
    t.send(BUS_BYTES, [BYTE_AND, b[3], 0x80, 0x80 * sign["b"]], mult=is_real)
    t.send(BUS_BYTES, [BYTE_RANGE, a_hi - 256 * a3, 0, 0], mult=is_real)
    for w in "ab":
        t.always(f"e{w}", eff[w] - sign[w] * is_signed)
    t.always("eq_bool", eff["q"] * (1 - eff["q"]))

    # Division identity over 64 bits: q_ext·b_ext + r_ext - ovf·2^32 = a_ext (mod 2^64), the -2^32 written as
    # + 0xFFFF·2^32 + 0xFFFF·2^48 so every left-hand term is non-negative (carries stay >= 0).
    # Soundness: for signed ops |q·b + r| < 2^63, for unsigned q·b + r < 2^64, so without overflow the
    # congruence is the integer equation q·b + r = a. Together with |r| < |b| (below) and the remainder's sign
    # rule, q and r are the truncated quotient and remainder (unique). Overflow INT_MIN / -1: see ovf below.
    extra = [r_lo, r_hi, 0xFFFF * eff["r"] + 0xFFFF * ovf, 0xFFFF * eff["r"] + 0xFFFF * ovf]
    prod = _product_limbs(_ext_bytes(q, eff["q"]), _ext_bytes(b, eff["b"]))
    a_ext = [a_lo, a_hi, 0xFFFF * eff["a"], 0xFFFF * eff["a"]]
    _carry_chain(t, "identity", [prod[l] + extra[l] for l in range(4)], a_ext, col.k)
    _send_carries(t, col.k, is_real)

    # Division by zero. b_zero·(b_lo + b_hi) = 0 (a sum of two 16-bit limbs is 0 iff both are) so b_zero = 0 when
    # b != 0. When b = 0, b_zero = 1 is forced without an inverse: any other value keeps the |r| < |b| check
    # (gated by g = is_real - b_zero, below) switched on, and |r| + 1 + gap = 0 has no solution. Then q must be
    # 2^32 - 1 (both limbs 0xFFFF: their sum is 0x1FFFE only then), and the identity gives r_ext = a_ext, i.e.
    # r = a, for every op.
    b_sum = b_lo + b_hi
    t.always("b_zero_flag", b_zero * b_sum)
    t.always("div_by_zero_quotient", b_zero * (q_lo + q_hi - 0x1FFFE))

    # Overflow: ovf may be non-zero only when dist = 0, dist being a sum of non-negative terms (< 2^19) that is 0
    # exactly when a = INT_MIN and b = -1, and only for signed ops. In that case no inverse is needed to force it
    # either: whatever (field) value ovf takes, limbs 2 and 3 absorb the same integer I = 0xFFFF·ovf, so
    # -q + r + I·(2^32 + 2^48) = -2^31 (mod 2^64) with r = 0 (|r| < |b| = 1), and q's low 32 bits — the whole
    # word q — are 2^31 = INT_MIN, as RV32M requires; the honest witness has ovf = 1.
    dist = ((1 - sign["a"]) + a_lo + (a_hi - 0x8000 * sign["a"]) + (0xFFFF - b_lo) + (0xFFFF - b_hi))
    t.always("ovf_flag", ovf * dist)
    t.always("ovf_signed_only", (sel[DIVU] + sel[REMU]) * ovf)

    # Remainder sign: r >= 0 when a >= 0, and r <= 0 when a < 0 (signed ops; effective signs are 0 otherwise).
    t.always("rem_sign_pos", (1 - eff["a"]) * eff["r"])
    t.always("rem_sign_neg_lo", eff["a"] * (1 - eff["r"]) * r_lo)
    t.always("rem_sign_neg_hi", eff["a"] * (1 - eff["r"]) * r_hi)

    # |b| and |r|: equal to the word when its effective sign is 0, else the limbs of 2^32 - word (x + |x| = 2^32
    # with a borrow between limbs). Soundness: the borrow is a bit, so |x|_lo + 2^16·|x|_hi = 2^32 - x exactly as
    # an integer, whatever the limbs look like (a negative |x|_lo with borrow 0 is the same integer); the gap
    # equations below only use that integer, so |x| needs no range check. The borrow's booleanity matters: with
    # borrow (r_lo + s + p) / 2^16 = 30721 (2^16·30720 = p - 1) |r|_lo = s stays small and |r|_hi drops by 30721,
    # claiming |r| about 2^31 smaller than it is.
    for w, (x_lo, x_hi), (abs_lo, abs_hi, carry) in (
            ("b", (b_lo, b_hi), (col.abs_b_lo, col.abs_b_hi, col.neg_b_carry)),
            ("r", (r_lo, r_hi), (col.abs_r_lo, col.abs_r_hi, col.neg_r_carry))):
        e = eff[w]
        t.always(f"abs_{w}_pos_lo", (1 - e) * (abs_lo - x_lo))
        t.always(f"abs_{w}_pos_hi", (1 - e) * (abs_hi - x_hi))
        t.always(f"abs_{w}_neg_lo", e * (x_lo + abs_lo - _TWO16 * carry))
        t.always(f"abs_{w}_neg_hi", e * (x_hi + abs_hi + carry - _TWO16))
        t.always(f"neg_{w}_carry_bool", carry * (1 - carry))

    # |r| < |b| when b != 0: |r| + 1 + gap = |b| with gap >= 0 (range-checked limbs, boolean carry, no carry out
    # of the high limb), an integer equation (|r| and |b| limbs lie in (-2^16, 2^16], see above). g = is_real - b_zero is 1 on real rows with b != 0.
    g = is_real - b_zero
    gap_lo, gap_hi, gap_carry = col.gap_lo, col.gap_hi, col.gap_carry
    t.always("gap_lo", g * (col.abs_r_lo + 1 + gap_lo - col.abs_b_lo - _TWO16 * gap_carry))
    t.always("gap_hi", g * (col.abs_r_hi + gap_hi + gap_carry - col.abs_b_hi))
    t.always("gap_carry_bool", gap_carry * (1 - gap_carry))
    t.send(BUS_RANGE16, [gap_lo], mult=is_real)
    t.send(BUS_RANGE16, [gap_hi], mult=is_real)
    return t


def _div_results(ops: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RV32M quotient and remainder (as uint32 words in int64) for every row, spec edge cases included."""
    signed = np.isin(ops, (DIV, REM))
    sa = np.where(signed, a - ((a >> 31) << 32), a)
    sb = np.where(signed, b - ((b >> 31) << 32), b)
    zero = b == 0
    ovf = signed & (a == INT_MIN) & (b == 0xFFFFFFFF)
    safe_b = np.where(zero | ovf, 1, sb)
    mag = np.abs(sa) // np.abs(safe_b)  # truncating division via magnitudes
    quot = np.where((sa < 0) != (safe_b < 0), -mag, mag)
    rem = sa - quot * safe_b
    quot = np.where(zero, -1, np.where(ovf, INT_MIN, quot))
    rem = np.where(zero, sa, np.where(ovf, 0, rem))
    return quot & 0xFFFFFFFF, rem & 0xFFFFFFFF


def div_evaluate(ops: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RV32M divisions and remainders, vectorised: uint32 results."""
    ops, a, b = as_u32_operands(ops, a, b, DIV_OPS)
    quot, rem = _div_results(ops, a, b)
    return np.where(np.isin(ops, (DIV, DIVU)), quot, rem).astype(np.uint32)


def div_fill(ops: np.ndarray, a: np.ndarray, b: np.ndarray, sends: LookupSends | None = None,
             min_height: int = MIN_HEIGHT) -> np.ndarray:
    """Trace uint32[h, len(DIV_COLUMNS)] (padding rows all zero); appends lookups to `sends`."""
    ops, a, b = as_u32_operands(ops, a, b, DIV_OPS)
    n = ops.size
    quot, rem = _div_results(ops, a, b)
    v = DivCols.values()
    v.sel = [(ops == code).astype(np.int64) for _, code in DIV_SELECTORS]
    v.b, v.q = bb, qb = _np_bytes(b), _np_bytes(quot)
    v.a_lo, v.a_hi, v.a3, v.r_lo, v.r_hi = a & 0xFFFF, a >> 16, a >> 24, rem & 0xFFFF, rem >> 16
    c = np.where(np.isin(ops, (DIV, DIVU)), quot, rem)
    v.c_lo, v.c_hi = c & 0xFFFF, c >> 16
    signed = np.isin(ops, (DIV, REM)).astype(np.int64)
    v.sign_a, v.sign_b = a >> 31, b >> 31
    v.ea, v.eb, v.eq, v.er = ((word >> 31) * signed for word in (a, b, quot, rem))
    v.b_zero = (b == 0).astype(np.int64)
    sign_a = v.sign_a
    dist = (1 - sign_a) + v.a_lo + (v.a_hi - 0x8000 * sign_a) + (0xFFFF - (b & 0xFFFF)) + (0xFFFF - (b >> 16))
    v.ovf = ((dist == 0) & (signed == 1)).astype(np.int64)
    prod = _np_product_limbs(qb + [255 * v.eq] * 4, bb + [255 * v.eb] * 4)
    fill_hi = 0xFFFF * v.er + 0xFFFF * v.ovf
    extra = [v.r_lo, v.r_hi, fill_hi, fill_hi]
    _np_resolve(v, [prod[l] + extra[l] for l in range(4)], [v.a_lo, v.a_hi, 0xFFFF * v.ea, 0xFFFF * v.ea])
    mags = []
    for e, word in ((v.eb, b), (v.er, rem)):
        mag = np.where(e == 1, (1 << 32) - word, word)
        mags.append((mag & 0xFFFF, mag >> 16, np.where(e == 1, ((word & 0xFFFF) + (mag & 0xFFFF)) >> 16, 0)))
    (v.abs_b_lo, v.abs_b_hi, v.neg_b_carry), (v.abs_r_lo, v.abs_r_hi, v.neg_r_carry) = mags
    abs_b = v.abs_b_lo + (v.abs_b_hi << 16)
    abs_r = v.abs_r_lo + (v.abs_r_hi << 16)
    gap = np.where(b == 0, 0, abs_b - abs_r - 1)
    if (gap < 0).any():
        raise AssertionError("div fill: |r| >= |b| (witness bug)")
    v.gap_lo, v.gap_hi = gap & 0xFFFF, gap >> 16
    v.gap_carry = np.where(b == 0, 0, (v.abs_r_lo + 1 + v.gap_lo) >> 16)
    if sends is not None:
        report_lookups(fixed_lookups(div_table), v.ordered(), n, sends)
    return v.assemble(n, padded_height(n, min_height))


DIV_SPEC = FamilyTable(DIV_NAME, DIV_OPS, DIV_COLUMNS, div_table, div_fill, div_evaluate)
