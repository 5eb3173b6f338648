"""Shift table: receives bus "alu" (op, a_lo, a_hi, b_lo, b_hi, c_lo, c_hi) for SLL, SRL, SRA (RV32I: the shift
amount is b mod 32).

One row per operation. The shift amount s = b_lo mod 32 is split as s = k + 8·j: k = s0 + 2·s1 + 4·s2 (bits)
shifts inside bytes, j (one-hot flags f0..f3) moves whole bytes. With a's bytes a0..a3:

* the bit shift multiplies every byte by mu (SLL: mu = 2^k; SRL/SRA: mu = 2^(8-k)) and splits the product into
  bytes a_n·mu = L_n + 256·H_n;
* SLL: byte n of (a << k) is w_n = L_n + H_{n-1}; SRL/SRA: byte n of (a >> k) is u_n = H_n + L_{n+1}, where the
  byte above the word, L4, brings in the sign bits for SRA (fill = is_sra·sign);
* the byte shift picks c's limbs out of those bytes with the flags f_j (degree 3 with the op selector).

Columns: is_sll, is_srl, is_sra; a0..a3 (a's bytes); b_lo, b_hi, c_lo, c_hi; s0, s1, s2, f0..f3, r (b_lo's
bits above 5); m1 = 2^k - 1, mu; L0..L3, H0..H3; sign (a's top bit), fill, L4.
Constraint degrees <= 3; bus tuples and multiplicities are linear.
"""

from __future__ import annotations

import numpy as np

from zkvm.circuit.columns import Col, Columns
from zkvm.circuit.lookups import (FamilyTable, MIN_HEIGHT, LookupSends, as_u32_operands, fixed_lookups, padded_height,
                                  report_lookups)
from zkvm.circuit.opcodes import BUS_ALU, BUS_BYTES, BUS_RANGE16, BYTE_RANGE, SHIFT_OPS, SLL, SRA, SRL
from zkvm.stark.dsl.air import Table

NAME = "shift"
SELECTORS = (("is_sll", SLL), ("is_srl", SRL), ("is_sra", SRA))


class ShiftCols(Columns):
    is_sll, is_srl, is_sra = Col(), Col(), Col()  # SELECTORS order
    a = Col(4)
    b_lo, b_hi, c_lo, c_hi = Col(), Col(), Col(), Col()
    s = Col(3)
    f = Col(4)
    r, m1, mu = Col(), Col(), Col()
    L, H = Col(4), Col(4)
    sign, fill, L4 = Col(), Col(), Col()


COLUMNS = ShiftCols.NAMES


def table() -> Table:
    t = Table(NAME)
    col = ShiftCols.exprs(t)
    is_sll, is_srl, is_sra = col.is_sll, col.is_srl, col.is_sra
    is_real = is_sll + is_srl + is_sra
    is_sr = is_srl + is_sra
    a = col.a
    b_lo, b_hi, c_lo, c_hi = col.b_lo, col.b_hi, col.c_lo, col.c_hi
    s0, s1, s2 = col.s
    f = col.f
    r, m1, mu = col.r, col.m1, col.mu
    lo = list(col.L) + [col.L4]
    hi = col.H
    sign, fill = col.sign, col.fill

    for name, _ in SELECTORS:
        t.always(f"{name}_bool", getattr(col, name) * (1 - getattr(col, name)))
    t.always("one_op", is_real * (1 - is_real))
    t.receive(BUS_ALU, [SLL * is_sll + SRL * is_srl + SRA * is_sra, a[0] + 256 * a[1], a[2] + 256 * a[3],
                        b_lo, b_hi, c_lo, c_hi], mult=is_real)

    # Bytes of a, and the bit-shift products, are range-checked bytes (lookups below). a's limbs on the bus are
    # these byte recompositions, so the bytes are exactly a's.
    # Shift amount. Soundness: bits and one-hot flags give s = k + 8j in [0, 32); r is range-checked to 16 bits,
    # so b_lo = s + 32·r is an integer equation (< 2^22 << p) and s = b_lo mod 32. b_hi is ignored (RV32I).
    for name, bit in zip(ShiftCols.s.flat() + ShiftCols.f.flat(), col.s + col.f):
        t.always(f"{name}_bool", bit * (1 - bit))
    t.always("one_byte_shift", f[0] + f[1] + f[2] + f[3] - is_real)
    t.always("amount", b_lo - (s0 + 2 * s1 + 4 * s2 + 8 * (f[1] + 2 * f[2] + 3 * f[3]) + 32 * r))

    # Multiplier. m = 2^k from the bits (m1 = m - 1 so all-zero padding rows satisfy it); mu = m for SLL and
    # mu = 256 / m for right shifts (mu·m = 256 pins mu given m). So mu is a power of two <= 256.
    m = m1 + 1
    t.always("pow2_k", m1 - ((1 + s0) * (1 + 3 * s1) * (1 + 15 * s2) - 1))
    t.always("mu_sll", is_sll * (mu - m))
    t.always("mu_sr", is_sr * (mu * m - 256))

    # Byte products. Soundness: a_n < 256 and mu <= 256, so a_n·mu < 2^16; L_n, H_n are range-checked bytes, so
    # a_n·mu = L_n + 256·H_n holds over the integers and (L_n, H_n) are the low/high bytes of the product.
    for n in range(4):
        t.always(f"byte_product_{n}", a[n] * mu - lo[n] - 256 * hi[n])

    # Sign for SRA: sign is a bit and 2·a3 - 256·sign is a byte (lookup), which for a byte a3 forces
    # sign = a3 >> 7. fill = sign on SRA rows only; L4 = fill·(256 - mu) are the sign bits shifted into byte 3
    # (the low byte of 0xFF·mu).
    t.always("sign_bool", sign * (1 - sign))
    t.always("fill", fill - is_sra * sign)
    t.always("fill_bits", lo[4] - fill * (256 - mu))

    # Left shift: w_n = byte n of (a << k) mod 2^32; c = w shifted up by j bytes.
    w = [lo[0]] + [lo[n] + hi[n - 1] for n in range(1, 4)]
    t.always("sll_lo", is_sll * (c_lo - f[0] * (w[0] + 256 * w[1]) - f[1] * (256 * w[0])))
    t.always("sll_hi", is_sll * (c_hi - f[0] * (w[2] + 256 * w[3]) - f[1] * (w[1] + 256 * w[2])
                                 - f[2] * (w[0] + 256 * w[1]) - f[3] * (256 * w[0])))

    # Right shifts: u_n = byte n of (a >> k) (sign-filled for SRA); c = u shifted down by j bytes with fill
    # bytes F = 0xFF·fill above.
    u = [hi[n] + lo[n + 1] for n in range(4)]
    full = 255 * fill
    t.always("sr_lo", is_sr * (c_lo - f[0] * (u[0] + 256 * u[1]) - f[1] * (u[1] + 256 * u[2])
                               - f[2] * (u[2] + 256 * u[3]) - f[3] * (u[3] + 256 * full)))
    t.always("sr_hi", is_sr * (c_hi - f[0] * (u[2] + 256 * u[3]) - f[1] * (u[3] + 256 * full)
                               - (f[2] + f[3]) * (257 * full)))

    # Lookups (multiplicity is_real): bytes of a, the product bytes, the sign split; r fits 16 bits.
    t.send(BUS_BYTES, [BYTE_RANGE, a[0], a[1], 0], mult=is_real)
    t.send(BUS_BYTES, [BYTE_RANGE, a[2], a[3], 0], mult=is_real)
    for n in range(4):
        t.send(BUS_BYTES, [BYTE_RANGE, lo[n], hi[n], 0], mult=is_real)
    t.send(BUS_BYTES, [BYTE_RANGE, 2 * a[3] - 256 * sign, 0, 0], mult=is_real)
    t.send(BUS_RANGE16, [r], mult=is_real)
    return t


def evaluate(ops: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RV32I shifts, vectorised: uint32 results."""
    ops, a, b = as_u32_operands(ops, a, b, SHIFT_OPS)
    s = b & 31
    signed = a - ((a >> 31) << 32)
    c = np.where(ops == SLL, (a << s) & 0xFFFFFFFF, 0)
    c = np.where(ops == SRL, a >> s, c)
    c = np.where(ops == SRA, (signed >> s) & 0xFFFFFFFF, c)
    return c.astype(np.uint32)


def fill(ops: np.ndarray, a: np.ndarray, b: np.ndarray, sends: LookupSends | None = None,
         min_height: int = MIN_HEIGHT) -> np.ndarray:
    """Trace uint32[h, len(COLUMNS)] (h a power of two, padding rows all zero); appends lookups to `sends`."""
    ops, a, b = as_u32_operands(ops, a, b, SHIFT_OPS)
    n = ops.size
    c = evaluate(ops, a, b).astype(np.int64)
    v = ShiftCols.values()
    v.is_sll, v.is_srl, v.is_sra = ((ops == code).astype(np.int64) for _, code in SELECTORS)
    v.a = [(a >> (8 * i)) & 255 for i in range(4)]
    v.b_lo, v.b_hi, v.c_lo, v.c_hi = b & 0xFFFF, b >> 16, c & 0xFFFF, c >> 16
    k = b & 7
    j = (b >> 3) & 3
    v.s = [(b >> bit) & 1 for bit in range(3)]
    v.f = [(j == jj).astype(np.int64) for jj in range(4)]
    v.r = (b & 0xFFFF) >> 5
    m = np.left_shift(1, k)
    v.m1 = m - 1
    v.mu = mu = np.where(ops == SLL, m, 256 >> k)
    prods = [ab * mu for ab in v.a]
    v.L, v.H = [p & 255 for p in prods], [p >> 8 for p in prods]
    v.sign = a >> 31
    v.fill = fill_bit = np.where(ops == SRA, v.sign, 0)
    v.L4 = fill_bit * (256 - mu)
    if sends is not None:
        report_lookups(fixed_lookups(table), v.ordered(), n, sends)
    return v.assemble(n, padded_height(n, min_height))


SPEC = FamilyTable(NAME, SHIFT_OPS, COLUMNS, table, fill, evaluate)
