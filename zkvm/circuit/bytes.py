"""Fixed byte table: every byte pair (x, y), receiving bus "bytes" (op, x, y, z), folded FOLD pairs a row.

Pair index p = 256·x + y; row r holds p = r·FOLD + j for j < FOLD, i.e. one x and y = y0 + j (FOLD divides 256).
Fixed columns: x, y0 and for each j: and_j = x & (y0 + j), or_j, xor_j. Main columns: one multiplicity per (op,
j). Pair (x, y) receives (AND, x, y, x&y), (OR, x, y, x|y), (XOR, x, y, x^y) and (RANGE, x, y, 0), each with its
own multiplicity. Folding keeps the height at 2^16 / FOLD (see range.py: the tallest table sets the FRI domain).

Soundness: every received tuple is built from committed fixed columns and constant op ids, so a sent tuple
balances only if it is one of these 4·2^16 tuples: sending (AND, x, y, z) proves x, y bytes and z = x & y;
(RANGE, x, y, 0) proves x and y are bytes. Multiplicities are free prover witnesses; wrong ones unbalance the bus.
"""

from __future__ import annotations

import numpy as np

from zkvm.circuit.lookups import LookupSends
from zkvm.circuit.opcodes import BUS_BYTES, BYTE_AND, BYTE_OR, BYTE_RANGE, BYTE_XOR
from zkvm.circuit.range import FOLD
from zkvm.circuit.columns import Col, Columns
from zkvm.stark.dsl.air import Table

NAME = "bytes"
PAIRS = 1 << 16
HEIGHT = PAIRS // FOLD
#: multiplicity columns: per byte op (this order), FOLD of them
MULT_OPS = (BYTE_AND, BYTE_OR, BYTE_XOR, BYTE_RANGE)


class BytesCols(Columns):
    x = Col(fixed=True)    # the row's x
    y0 = Col(fixed=True)   # its first y (the row holds y0 .. y0 + FOLD - 1)
    res = Col(names=[(f"and{j}", f"or{j}", f"xor{j}") for j in range(FOLD)], fixed=True)  # x op (y0 + j)
    mult_and, mult_or, mult_xor, mult_range = (Col(names=[f"mult_{op}{j}" for j in range(FOLD)])
                                              for op in ("and", "or", "xor", "range"))


FIXED_COLUMNS = BytesCols.FIXED
COLUMNS = BytesCols.NAMES


def table() -> Table:
    t = Table(NAME)
    c = BytesCols.exprs(t)
    x, y0 = c.x, c.y0
    for j in range(FOLD):
        y = y0 + j
        and_j, or_j, xor_j = c.res[j]
        t.receive(BUS_BYTES, [BYTE_AND, x, y, and_j], mult=c.mult_and[j])
        t.receive(BUS_BYTES, [BYTE_OR, x, y, or_j], mult=c.mult_or[j])
        t.receive(BUS_BYTES, [BYTE_XOR, x, y, xor_j], mult=c.mult_xor[j])
        t.receive(BUS_BYTES, [BYTE_RANGE, x, y, 0], mult=c.mult_range[j])
    return t


def fixed_columns() -> np.ndarray:
    base = np.arange(HEIGHT, dtype=np.uint32) * FOLD
    x, y0 = base >> 8, base & 255
    cols = [x, y0]
    for j in range(FOLD):
        y = y0 + j
        cols += [x & y, x | y, x ^ y]
    return np.stack(cols, axis=1).astype(np.uint32)


def fold(counts: np.ndarray) -> np.ndarray:
    """Per-pair counts uint[2^16, len(MULT_OPS)] (row 256·x + y) -> the multiplicity columns uint32[HEIGHT, ...]."""
    counts = np.asarray(counts)
    return np.concatenate([counts[:, o].reshape(HEIGHT, FOLD) for o in range(len(MULT_OPS))], axis=1).astype(np.uint32)


def multiplicities(sends: LookupSends) -> np.ndarray:
    """uint32[HEIGHT, 4·FOLD]: per pair (x, y) = x*256 + y, how often each op looked it up (folded)."""
    out = np.zeros((PAIRS, len(MULT_OPS)), dtype=np.int64)
    for j, op in enumerate(MULT_OPS):
        parts = sends.bytes[op]
        if parts:
            out[:, j] = np.bincount(np.concatenate(parts), minlength=PAIRS)
    return fold(out)
