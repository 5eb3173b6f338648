"""The instruction-family tables receiving bus "alu", and routing of a batch of (op, a, b) to them."""

from __future__ import annotations

import numpy as np

from zkvm.circuit import alu, muldiv, shift
from zkvm.circuit.lookups import MIN_HEIGHT, FamilyTable, LookupSends

FAMILIES: tuple[FamilyTable, ...] = (alu.SPEC, shift.SPEC, muldiv.MUL_SPEC, muldiv.DIV_SPEC)


def fill_families(ops: np.ndarray, a: np.ndarray, b: np.ndarray, sends: LookupSends,
                  min_height: int = MIN_HEIGHT) -> dict[str, np.ndarray]:
    """Split the operations sent on bus "alu" by family and fill every family table (empty ones are all
    padding). Returns {table name: trace}; the lookups they make are appended to `sends`."""
    ops = np.asarray(ops, dtype=np.int64).ravel()
    a = np.asarray(a, dtype=np.int64).ravel()
    b = np.asarray(b, dtype=np.int64).ravel()
    known = np.zeros(ops.shape, dtype=bool)
    out = {}
    for spec in FAMILIES:
        mine = np.isin(ops, list(spec.ops.values()))
        known |= mine
        out[spec.name] = spec.fill(ops[mine], a[mine], b[mine], sends, min_height)
    if not known.all():
        raise ValueError(f"op {int(ops[~known][0])} is not an ALU-bus operation")
    return out
