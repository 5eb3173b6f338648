"""Fixed range table: the 2^16 values x = 0..65535, receiving bus "range16" (x,), folded FOLD values a row.

Row r holds x = r·FOLD + j for j < FOLD (one fixed column: the row's base r·FOLD) and one multiplicity column per
j. Folding keeps the table's height at 2^16 / FOLD, so a small proof's tallest table (which sets the size of
its FRI domain) is its own work, not this table; the area (and every value it can absorb) is unchanged.

Soundness: the fixed column is committed by the verifier (preprocessed), so the only tuples this table can
absorb are (base + j,) = (0,) .. (65535,). A send of any other value leaves an unmatched LogUp term and the bus
cannot balance (LogUp is sound while the total number of lookups stays below p, which the prover's table
heights guarantee). The multiplicity columns are prover-chosen and unconstrained: a wrong count only unbalances
the bus.
"""

from __future__ import annotations

import numpy as np

from zkvm.circuit.lookups import LookupSends
from zkvm.circuit.opcodes import BUS_RANGE16
from zkvm.circuit.columns import Col, Columns
from zkvm.stark.dsl.air import Table

NAME = "range16"
VALUES = 1 << 16
#: Values per row (a power of two dividing 256).
FOLD = 8
HEIGHT = VALUES // FOLD


class RangeCols(Columns):
    x = Col(fixed=True)  # the row's base r·FOLD
    mult = Col(FOLD)     # how many times x + j was looked up


FIXED_COLUMNS = RangeCols.FIXED
COLUMNS = RangeCols.NAMES


def table() -> Table:
    t = Table(NAME)
    c = RangeCols.exprs(t)
    for j in range(FOLD):
        t.receive(BUS_RANGE16, [c.x + j], mult=c.mult[j])
    return t


def fixed_columns() -> np.ndarray:
    return (np.arange(HEIGHT, dtype=np.uint32) * FOLD).reshape(HEIGHT, 1)


def fold(counts: np.ndarray) -> np.ndarray:
    """Per-value counts (length 2^16) -> the table's multiplicity columns uint32[HEIGHT, FOLD]."""
    return np.asarray(counts).reshape(HEIGHT, FOLD).astype(np.uint32)


def multiplicities(sends: LookupSends) -> np.ndarray:
    """uint32[HEIGHT, FOLD]: how many times each x was sent (range16 values only)."""
    vals = np.concatenate(sends.range16) if sends.range16 else np.zeros(0, np.int64)
    return fold(np.bincount(vals, minlength=VALUES))
