"""The synthetic AIR of the STARK benchmark: a wide table with degree-3 constraints and one bus."""

from __future__ import annotations

import numpy as np

from zkvm.field.babybear import P
from zkvm.stark import Air, Table

WIDTH = 64


def synthetic_air(width: int = WIDTH) -> Air:
    """Columns c0..c{w-1}: c1..c3 free, c0.next = c1 + c2 (transition), c_j = c_{j-1}·c_{j-2}·c_{j-3} + c_{j-4}
    for 4 <= j < w-1 (degree 3), and c_{w-1} a permutation of c4 checked through the bus "syn"."""
    t = Table("syn")
    c = [t.main(f"c{j}") for j in range(width)]
    t.transition("c0_step", c[0].next - (c[1] + c[2]))
    for j in range(4, width - 1):
        t.always(f"chain{j}", c[j] - (c[j - 1] * c[j - 2] * c[j - 3] + c[j - 4]))
    t.send("syn", [c[4]])
    t.receive("syn", [c[width - 1]])
    return Air("synthetic", [t])


def synthetic_trace(log_n: int, width: int = WIDTH, seed: int = 0) -> np.ndarray:
    n = 1 << log_n
    rng = np.random.default_rng(seed)
    cols = np.zeros((width, n), dtype=np.uint64)
    cols[1:4] = rng.integers(0, P, (3, n), dtype=np.uint64)
    cols[0, 0] = rng.integers(0, P)
    cols[0, 1:] = (cols[1, :-1] + cols[2, :-1]) % P
    for j in range(4, width - 1):
        cols[j] = ((cols[j - 1] * cols[j - 2]) % P * cols[j - 3] % P + cols[j - 4]) % P
    cols[width - 1] = np.roll(cols[4], 1)
    return np.ascontiguousarray(cols.T.astype(np.uint32))
