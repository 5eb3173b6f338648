"""Fixed byte table: 2^16 rows for every byte pair (x, y), receiving bus "bytes" (op, x, y, z).

Fixed columns: x = row >> 8, y = row & 255, and = x & y, or = x | y, xor = x ^ y. Main columns: one
multiplicity per byte op. Row (x, y) receives (AND, x, y, x&y), (OR, x, y, x|y), (XOR, x, y, x^y) and
(RANGE, x, y, 0) with their own multiplicities.

Soundness: every received tuple is built from committed fixed columns and constant op ids, so a sent tuple
balances only if it is one of these 4·2^16 tuples: sending (AND, x, y, z) proves x, y bytes and z = x & y;
(RANGE, x, y, 0) proves x and y are bytes. Multiplicities are free prover witnesses; wrong ones unbalance the bus.
"""

from __future__ import annotations

import numpy as np

from zkvm.circuit.lookups import LookupSends
from zkvm.circuit.opcodes import BUS_BYTES, BYTE_AND, BYTE_OR, BYTE_RANGE, BYTE_XOR
from zkvm.stark.air import Table

NAME = "bytes"
HEIGHT = 1 << 16
FIXED_COLUMNS = ("x", "y", "and", "or", "xor")
#: multiplicity column per byte op, in this order
MULT_OPS = (BYTE_AND, BYTE_OR, BYTE_XOR, BYTE_RANGE)
COLUMNS = ("mult_and", "mult_or", "mult_xor", "mult_range")


def table() -> Table:
    t = Table(NAME)
    x, y, x_and_y, x_or_y, x_xor_y = (t.fixed(name) for name in FIXED_COLUMNS)
    m_and, m_or, m_xor, m_range = (t.main(name) for name in COLUMNS)
    t.receive(BUS_BYTES, [BYTE_AND, x, y, x_and_y], mult=m_and)
    t.receive(BUS_BYTES, [BYTE_OR, x, y, x_or_y], mult=m_or)
    t.receive(BUS_BYTES, [BYTE_XOR, x, y, x_xor_y], mult=m_xor)
    t.receive(BUS_BYTES, [BYTE_RANGE, x, y, 0], mult=m_range)
    return t


def fixed_columns() -> np.ndarray:
    row = np.arange(HEIGHT, dtype=np.uint32)
    x, y = row >> 8, row & 255
    return np.stack([x, y, x & y, x | y, x ^ y], axis=1).astype(np.uint32)


def multiplicities(sends: LookupSends) -> np.ndarray:
    """uint32[2^16, 4]: per row (x, y) = x*256 + y, how often each op looked it up."""
    out = np.zeros((HEIGHT, len(MULT_OPS)), dtype=np.uint32)
    for j, op in enumerate(MULT_OPS):
        parts = sends.bytes[op]
        if parts:
            out[:, j] = np.bincount(np.concatenate(parts), minlength=HEIGHT).astype(np.uint32)
    return out
