"""Multiply and divide tables, receiving bus "alu" (op, a_lo, a_hi, b_lo, b_hi, c_lo, c_hi).

Both rest on one gadget, the 64-bit product of two sign-extended words computed from bytes:
x = (x0..x3, 255·ex ×4) and y = (y0..y3, 255·ey ×4) are the bytes of the words sign-extended to 64 bits
(ex, ey = effective sign bits, 0 for unsigned operands), so x·y mod 2^64 is the signed/unsigned 64-bit product.
Column sums S_k = Σ_{i+j=k} x_i·y_j (k < 8; at most 8 terms < 2^16 each) are grouped in 16-bit limbs
T_l = S_2l + 256·S_2l+1 (< 2^27.1) and resolved limb by limb with carries:
    T_l + (extra terms)_l + k_{l-1} = z_l + 2^16·k_l,   l = 0..3.
Soundness of the gadget: every z_l is range-checked to 16 bits and every carry is k = kx + 16·ky with kx, ky
range-checked bytes (so 0 <= k <= 4335, while honest carries stay below 2100). Both sides are then integers
below 2^28.1 < p, so each limb equation holds over the integers and the chain proves
Σ_l (T_l + extra_l)·2^16l = Σ_l z_l·2^16l (mod 2^64). Note k need not be "a byte pair": any field
solution of k = kx + 16·ky with kx, ky bytes is an integer in [0, 4335].

MUL table: z = the 64-bit product; c = low word (MUL) or high word (MULH, MULHSU, MULHU); o = the other word.
DIV table: proves q·b + r = a (see the table's comments) with |r| < |b|, the sign rule, x/0 and INT_MIN/-1.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from zkvm.circuit.lookups import FamilyTable, MIN_HEIGHT, LookupSends, as_u32_operands, assemble, padded_height
from zkvm.circuit.opcodes import (BUS_ALU, BUS_BYTES, BUS_RANGE16, BYTE_RANGE, DIV, DIV_OPS, DIVU, MUL, MUL_OPS,
                                  MULH, MULHSU, MULHU, REM, REMU)
from zkvm.stark.air import Expr, Table

MUL_NAME = "mul"
DIV_NAME = "div"
_TWO16 = 1 << 16
_CARRIES = tuple(f"k{l}{part}" for l in range(4) for part in ("x", "y"))


def _ext_bytes(bs: Sequence[Expr], e: Expr) -> list[Expr]:
    return list(bs) + [255 * e] * 4


def _product_limbs(x: Sequence[Expr], y: Sequence[Expr]) -> list[Expr]:
    """T_0..T_3 of the 64-bit product of two 8-byte sign-extended values (degree 2)."""
    s = [sum(x[i] * y[k - i] for i in range(k + 1)) for k in range(8)]
    return [s[2 * l] + 256 * s[2 * l + 1] for l in range(4)]


def _carry_chain(t: Table, prefix: str, lhs: Sequence[Expr], z: Sequence[Expr], col: dict) -> None:
    """lhs_l + k_{l-1} = z_l + 2^16·k_l with k_l = k{l}x + 16·k{l}y; the carry bytes are range-checked here."""
    carry = [col[f"k{l}x"] + 16 * col[f"k{l}y"] for l in range(4)]
    for l in range(4):
        prev = carry[l - 1] if l else 0
        t.always(f"{prefix}_limb{l}", lhs[l] + prev - z[l] - _TWO16 * carry[l])


def _send_carries(t: Table, col: dict, mult: Expr) -> None:
    for l in range(4):
        t.send(BUS_BYTES, [BYTE_RANGE, col[f"k{l}x"], col[f"k{l}y"], 0], mult=mult)


def _np_bytes(w: np.ndarray) -> list[np.ndarray]:
    return [(w >> (8 * i)) & 255 for i in range(4)]


def _np_product_limbs(x: list[np.ndarray], y: list[np.ndarray]) -> list[np.ndarray]:
    s = [sum(x[i] * y[k - i] for i in range(k + 1)) for k in range(8)]
    return [s[2 * l] + 256 * s[2 * l + 1] for l in range(4)]


def _np_resolve(v: dict, lhs: list[np.ndarray], rhs_known: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Resolve the limb equations lhs_l + k_{l-1} = z_l + 2^16·k_l: returns z (when rhs_known is None) or checks
    the given z; stores the carries as (kx, ky) columns in v."""
    carry = np.zeros_like(lhs[0])
    z = []
    for l in range(4):
        total = lhs[l] + carry
        zl = total & 0xFFFF if rhs_known is None else rhs_known[l]
        diff = total - zl
        if (diff & 0xFFFF).any() or (diff < 0).any():
            raise AssertionError("muldiv fill: limb equation does not hold (witness bug)")
        carry = diff >> 16
        if (carry >= 4096).any():
            raise AssertionError("muldiv fill: carry out of range (witness bug)")
        v[f"k{l}x"], v[f"k{l}y"] = carry & 15, carry >> 4
        z.append(zl)
    return z


def _np_carry_sends(v: dict, sends: LookupSends) -> None:
    for l in range(4):
        sends.add_bytes(BYTE_RANGE, v[f"k{l}x"], v[f"k{l}y"])


# ------------------------------------------------------------------------------------------------ MUL

MUL_SELECTORS = (("is_mul", MUL), ("is_mulh", MULH), ("is_mulhsu", MULHSU), ("is_mulhu", MULHU))
MUL_COLUMNS = (tuple(name for name, _ in MUL_SELECTORS)
               + tuple(f"a{i}" for i in range(4)) + tuple(f"b{i}" for i in range(4))
               + ("c_lo", "c_hi", "o_lo", "o_hi") + _CARRIES + ("sign_a", "sign_b", "ea", "eb"))


def mul_table() -> Table:
    t = Table(MUL_NAME)
    col = {name: t.main(name) for name in MUL_COLUMNS}
    sel = {code: col[name] for name, code in MUL_SELECTORS}
    is_real = sum(sel.values())
    a = [col[f"a{i}"] for i in range(4)]
    b = [col[f"b{i}"] for i in range(4)]
    c_lo, c_hi, o_lo, o_hi = col["c_lo"], col["c_hi"], col["o_lo"], col["o_hi"]
    sign_a, sign_b, ea, eb = col["sign_a"], col["sign_b"], col["ea"], col["eb"]

    for name, _ in MUL_SELECTORS:
        t.always(f"{name}_bool", col[name] * (1 - col[name]))
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
    _carry_chain(t, "product", _product_limbs(_ext_bytes(a, ea), _ext_bytes(b, eb)), z, col)
    for limb in (c_lo, c_hi, o_lo, o_hi):
        t.send(BUS_RANGE16, [limb], mult=is_real)
    _send_carries(t, col, is_real)
    return t


def _mul_witness(ops: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    v: dict[str, np.ndarray] = {name: (ops == code).astype(np.int64) for name, code in MUL_SELECTORS}
    ab, bb = _np_bytes(a), _np_bytes(b)
    for i in range(4):
        v[f"a{i}"], v[f"b{i}"] = ab[i], bb[i]
    sign_a, sign_b = a >> 31, b >> 31
    ea = sign_a * np.isin(ops, (MULH, MULHSU))
    eb = sign_b * (ops == MULH)
    v.update(sign_a=sign_a, sign_b=sign_b, ea=ea, eb=eb)
    # the same limb arithmetic the constraints check yields the 64-bit product mod 2^64
    z = _np_resolve(v, _np_product_limbs(ab + [255 * ea] * 4, bb + [255 * eb] * 4))
    low_word = ops == MUL
    v["c_lo"], v["c_hi"] = np.where(low_word, z[0], z[2]), np.where(low_word, z[1], z[3])
    v["o_lo"], v["o_hi"] = np.where(low_word, z[2], z[0]), np.where(low_word, z[3], z[1])
    return v


def mul_evaluate(ops: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RV32M multiplications, vectorised: uint32 results."""
    ops, a, b = as_u32_operands(ops, a, b, MUL_OPS)
    v = _mul_witness(ops, a, b)
    return (v["c_lo"] + (v["c_hi"] << 16)).astype(np.uint32)


def mul_fill(ops: np.ndarray, a: np.ndarray, b: np.ndarray, sends: LookupSends | None = None,
             min_height: int = MIN_HEIGHT) -> np.ndarray:
    """Trace uint32[h, len(MUL_COLUMNS)] (padding rows all zero); appends lookups to `sends`."""
    ops, a, b = as_u32_operands(ops, a, b, MUL_OPS)
    n = ops.size
    v = _mul_witness(ops, a, b)
    ab, bb = [v[f"a{i}"] for i in range(4)], [v[f"b{i}"] for i in range(4)]
    sign_a, sign_b = v["sign_a"], v["sign_b"]
    if sends is not None:
        sends.add_bytes(BYTE_RANGE, ab[0], ab[1])
        sends.add_bytes(BYTE_RANGE, ab[2], ab[3])
        sends.add_bytes(BYTE_RANGE, bb[0], bb[1])
        sends.add_bytes(BYTE_RANGE, bb[2], bb[3])
        sends.add_bytes(BYTE_RANGE, 2 * ab[3] - 256 * sign_a, 2 * bb[3] - 256 * sign_b)
        for name in ("c_lo", "c_hi", "o_lo", "o_hi"):
            sends.add_range16(v[name])
        _np_carry_sends(v, sends)
    return assemble(MUL_COLUMNS, v, n, padded_height(n, min_height))


MUL_SPEC = FamilyTable(MUL_NAME, MUL_OPS, MUL_COLUMNS, mul_table, mul_fill, mul_evaluate)
