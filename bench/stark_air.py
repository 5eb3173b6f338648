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
    """The satisfying trace, built column by column into the final uint32 matrix (bounded extra memory)."""
    n = 1 << log_n
    rng = np.random.default_rng(seed)
    out = np.empty((n, width), dtype=np.uint32)
    recent: list[np.ndarray] = []  # the last four columns as uint64
    for j in range(width - 1):
        if j == 0:
            col = np.empty(n, dtype=np.uint64)
            col[0] = rng.integers(0, P)
        elif j < 4:
            col = rng.integers(0, P, n, dtype=np.uint64)
        else:
            col = ((recent[-1] * recent[-2]) % P * recent[-3] % P + recent[-4]) % P
        out[:, j] = col
        recent = (recent + [col])[-4:]
        if j == 2:  # c0.next = c1 + c2 needs c1, c2
            c0 = np.empty(n, dtype=np.uint64)
            c0[0] = out[0, 0]
            c0[1:] = (out[:-1, 1].astype(np.uint64) + out[:-1, 2]) % P
            out[:, 0] = c0
            recent[0] = c0
    out[:, width - 1] = np.roll(out[:, 4], 1)
    return out
