"""ALU table: receives bus "alu" (op, a_lo, a_hi, b_lo, b_hi, c_lo, c_hi) for ADD, SUB, SLT, SLTU, AND, OR, XOR.

One row per operation. Operands arrive as 16-bit limbs; the sender (CPU) guarantees a and b are well-formed
words (register values were range-checked when written, immediates come from the committed program). This
table proves c = op(a, b) and that c's limbs are 16-bit.

Columns (shared between ops to keep the table narrow):
  is_add .. is_xor   one-hot op selectors; is_real = their sum (0 on padding rows)
  a_lo .. c_hi       the bus tuple
  x0..x3, y0..y3, z0..z3   bytes: for AND/OR/XOR the bytes of a, b, c; for ADD/SUB x = bytes of c; for
                     SLT/SLTU x = bytes of d = a - b mod 2^32. Every row sends (op_b, x_i, y_i, z_i) to the byte
                     table, op_b = the bitwise op or RANGE (so on arithmetic rows x_i are range-checked bytes)
  carry0, carry1     carries (ADD) / borrows (SUB, SLT, SLTU) of the limb additions
  sign_a, sign_b     top bits of a and b (SLT only)
Every constraint has degree <= 2; sends/receives have degree-1 tuples and degree-1 multiplicities.
"""

from __future__ import annotations

import numpy as np

from zkvm.circuit.columns import Col, Columns
from zkvm.circuit.lookups import (FamilyTable, LookupSends, as_u32_operands, fixed_lookups, padded_height,
                                  report_lookups, MIN_HEIGHT)
from zkvm.circuit.opcodes import (ADD, ALU_OPS, AND, BUS_ALU, BUS_BYTES, BUS_RANGE16, BYTE_AND, BYTE_OR,
                                  BYTE_RANGE, BYTE_XOR, OR, SLT, SLTU, SUB, XOR)
from zkvm.stark.dsl.air import Table

NAME = "alu"
SELECTORS = (("is_add", ADD), ("is_sub", SUB), ("is_slt", SLT), ("is_sltu", SLTU),
             ("is_and", AND), ("is_or", OR), ("is_xor", XOR))


class AluCols(Columns):
    sel = Col(names=[name for name, _ in SELECTORS])  # one-hot op selectors, in SELECTORS order
    a_lo, a_hi, b_lo, b_hi, c_lo, c_hi = Col(), Col(), Col(), Col(), Col(), Col()
    x, y, z = Col(4), Col(4), Col(4)
    carry0, carry1, sign_a, sign_b = Col(), Col(), Col(), Col()


COLUMNS = AluCols.NAMES
_TWO16 = 1 << 16


def table() -> Table:
    t = Table(NAME)
    col = AluCols.exprs(t)
    sel = {code: s for (_, code), s in zip(SELECTORS, col.sel)}
    is_real = sum(sel.values())
    a_lo, a_hi, b_lo, b_hi, c_lo, c_hi = col.a_lo, col.a_hi, col.b_lo, col.b_hi, col.c_lo, col.c_hi
    x, y, z = col.x, col.y, col.z
    carry0, carry1, sign_a, sign_b = col.carry0, col.carry1, col.sign_a, col.sign_b

    def limbs(bs):
        return bs[0] + 256 * bs[1], bs[2] + 256 * bs[3]

    # Selectors: booleans summing to 0 or 1, so a row is exactly one op or inert.
    for (name, _), s in zip(SELECTORS, col.sel):
        t.always(f"{name}_bool", s * (1 - s))
    t.always("one_op", is_real * (1 - is_real))
    t.receive(BUS_ALU, [sum(code * s for code, s in sel.items()), a_lo, a_hi, b_lo, b_hi, c_lo, c_hi],
              mult=is_real)

    # Byte lookups. Soundness: each (op_b, x_i, y_i, z_i) is in the fixed byte table, so x_i, y_i, z_i are bytes
    # and for bitwise ops z_i = x_i op y_i; for RANGE, z_i = 0 and x_i, y_i are bytes.
    is_bitwise = sel[AND] + sel[OR] + sel[XOR]
    is_arith = sel[ADD] + sel[SUB] + sel[SLT] + sel[SLTU]
    op_byte = BYTE_AND * sel[AND] + BYTE_OR * sel[OR] + BYTE_XOR * sel[XOR] + BYTE_RANGE * is_arith
    for i in range(4):
        t.send(BUS_BYTES, [op_byte, x[i], y[i], z[i]], mult=is_real)

    # Bitwise: a, b, c are exactly the looked-up bytes. Soundness: the limbs equal the byte recompositions, and
    # each byte triple was checked by the table, so c = a op b bytewise.
    for word, (lo, hi), bs in (("a", (a_lo, a_hi), x), ("b", (b_lo, b_hi), y), ("c", (c_lo, c_hi), z)):
        blo, bhi = limbs(bs)
        t.always(f"bitwise_{word}_lo", is_bitwise * (lo - blo))
        t.always(f"bitwise_{word}_hi", is_bitwise * (hi - bhi))

    # Carries/borrows are booleans on every row (zero on rows that don't use them).
    t.always("carry0_bool", carry0 * (1 - carry0))
    t.always("carry1_bool", carry1 * (1 - carry1))

    # ADD: a + b = c + carry1·2^32. Soundness: c's limbs are range-checked (x bytes), a, b are words and carries
    # are bits, so both limb equations hold over the integers (all terms < 2^18 << p): c = (a + b) mod 2^32.
    xlo, xhi = limbs(x)
    t.always("add_c_lo_bytes", sel[ADD] * (c_lo - xlo))
    t.always("add_c_hi_bytes", sel[ADD] * (c_hi - xhi))
    t.always("add_lo", sel[ADD] * (a_lo + b_lo - c_lo - _TWO16 * carry0))
    t.always("add_hi", sel[ADD] * (a_hi + b_hi + carry0 - c_hi - _TWO16 * carry1))

    # SUB: written as b + c = a + borrow·2^32, i.e. the ADD gadget on (b, c) -> a; same soundness argument.
    t.always("sub_c_lo_bytes", sel[SUB] * (c_lo - xlo))
    t.always("sub_c_hi_bytes", sel[SUB] * (c_hi - xhi))
    t.always("sub_lo", sel[SUB] * (b_lo + c_lo - a_lo - _TWO16 * carry0))
    t.always("sub_hi", sel[SUB] * (b_hi + c_hi + carry0 - a_hi - _TWO16 * carry1))

    # SLT/SLTU: d = a - b (bytes x) with b + d = a + borrow·2^32. Soundness: as SUB, d and borrow are unique;
    # borrow = 1 iff a <u b. Signed: with a_s = a - 2^32·sign_a, a_s - b_s = d - 2^32·(borrow + sign_a - sign_b),
    # and since |a_s - b_s| < 2^32 and 0 <= d < 2^32, k = borrow + sign_a - sign_b is 0 or 1 and equals
    # [a_s < b_s]. So SLT's result is the linear expression k.
    is_lt = sel[SLT] + sel[SLTU]
    t.always("lt_lo", is_lt * (b_lo + xlo - a_lo - _TWO16 * carry0))
    t.always("lt_hi", is_lt * (b_hi + xhi + carry0 - a_hi - _TWO16 * carry1))
    t.always("lt_c_hi_zero", is_lt * c_hi)
    t.always("sltu_result", sel[SLTU] * (c_lo - carry1))
    t.always("slt_result", sel[SLT] * (c_lo - carry1 - sign_a + sign_b))

    # Sign bits (SLT rows): sign_a is a bit and 2·a_hi - 2^16·sign_a is in [0, 2^16). Soundness: with a_hi a
    # 16-bit limb the value lies in (-2^16, 2^17) as an integer, so the range check forces sign_a = a_hi >> 15.
    t.always("sign_a_bool", sign_a * (1 - sign_a))
    t.always("sign_b_bool", sign_b * (1 - sign_b))
    t.send(BUS_RANGE16, [2 * a_hi - _TWO16 * sign_a], mult=sel[SLT])
    t.send(BUS_RANGE16, [2 * b_hi - _TWO16 * sign_b], mult=sel[SLT])
    return t


def evaluate(ops: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RV32I semantics of the ALU ops, vectorised: uint32 results."""
    ops, a, b = as_u32_operands(ops, a, b, ALU_OPS)
    sa, sb = a - ((a >> 31) << 32), b - ((b >> 31) << 32)
    c = np.zeros_like(a)
    c = np.where(ops == ADD, (a + b) & 0xFFFFFFFF, c)
    c = np.where(ops == SUB, (a - b) & 0xFFFFFFFF, c)
    c = np.where(ops == SLT, (sa < sb).astype(np.int64), c)
    c = np.where(ops == SLTU, (a < b).astype(np.int64), c)
    c = np.where(ops == AND, a & b, c)
    c = np.where(ops == OR, a | b, c)
    c = np.where(ops == XOR, a ^ b, c)
    return c.astype(np.uint32)


def _bytes_of(w: np.ndarray) -> list[np.ndarray]:
    return [(w >> (8 * i)) & 255 for i in range(4)]


def fill(ops: np.ndarray, a: np.ndarray, b: np.ndarray, sends: LookupSends | None = None,
         min_height: int = MIN_HEIGHT) -> np.ndarray:
    """Trace uint32[h, len(COLUMNS)] for the given operations (h = padded power of two); appends the table's
    lookups to `sends` when given."""
    ops, a, b = as_u32_operands(ops, a, b, ALU_OPS)
    n = ops.size
    c = evaluate(ops, a, b).astype(np.int64)
    v = AluCols.values()
    v.sel = [(ops == code).astype(np.int64) for _, code in SELECTORS]
    v.a_lo, v.a_hi, v.b_lo, v.b_hi, v.c_lo, v.c_hi = a & 0xFFFF, a >> 16, b & 0xFFFF, b >> 16, c & 0xFFFF, c >> 16

    bitwise = np.isin(ops, (AND, OR, XOR))
    is_lt = np.isin(ops, (SLT, SLTU))
    d = (a - b) & 0xFFFFFFFF
    # x: a (bitwise), d (comparisons), c (add/sub); y, z: b, c (bitwise) else 0
    xw = np.where(bitwise, a, np.where(is_lt, d, c))
    yw = np.where(bitwise, b, 0)
    zw = np.where(bitwise, c, 0)
    v.x, v.y, v.z = _bytes_of(xw), _bytes_of(yw), _bytes_of(zw)

    # carries of the limb addition each op is written as: ADD a+b=c, SUB b+c=a, SLT/SLTU b+d=a
    u = np.where(ops == ADD, a, b)
    w2 = np.where(ops == ADD, b, np.where(ops == SUB, c, d))
    uses_carry = np.isin(ops, (ADD, SUB, SLT, SLTU))
    v.carry0 = np.where(uses_carry, ((u & 0xFFFF) + (w2 & 0xFFFF)) >> 16, 0)
    v.carry1 = np.where(uses_carry, (u + w2) >> 32, 0)
    v.sign_a = np.where(ops == SLT, a >> 31, 0)
    v.sign_b = np.where(ops == SLT, b >> 31, 0)

    if sends is not None:
        report_lookups(fixed_lookups(table), v.ordered(), n, sends)
    return v.assemble(n, padded_height(n, min_height))


SPEC = FamilyTable(NAME, ALU_OPS, COLUMNS, table, fill, evaluate)
