"""Fixed range table: 2^16 rows x = 0..65535, receiving bus "range16" (x,).

Soundness: the fixed column is committed by the verifier (preprocessed), so the only tuples this table can
absorb are (0,) .. (65535,). A send of any other value leaves an unmatched LogUp term and the bus cannot
balance (LogUp is sound while the total number of lookups stays below p, which the prover's table heights
guarantee). The multiplicity column is prover-chosen and unconstrained: a wrong count only unbalances the bus.
"""

from __future__ import annotations

import numpy as np

from zkvm.circuit.lookups import LookupSends
from zkvm.circuit.opcodes import BUS_RANGE16
from zkvm.stark.air import Table

NAME = "range16"
HEIGHT = 1 << 16
FIXED_COLUMNS = ("x",)
COLUMNS = ("mult",)


def table() -> Table:
    t = Table(NAME)
    x = t.fixed("x")
    mult = t.main("mult")
    t.receive(BUS_RANGE16, [x], mult=mult)
    return t


def fixed_columns() -> np.ndarray:
    return np.arange(HEIGHT, dtype=np.uint32).reshape(HEIGHT, 1)


def multiplicities(sends: LookupSends) -> np.ndarray:
    """uint32[2^16, 1]: how many times each x was sent (range16 values only)."""
    vals = np.concatenate(sends.range16) if sends.range16 else np.zeros(0, np.int64)
    return np.bincount(vals, minlength=HEIGHT).astype(np.uint32).reshape(HEIGHT, 1)
