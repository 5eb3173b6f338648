"""Example AIRs shared by the STARK tests: Fibonacci, a range-checked table, a two-table permutation."""

from __future__ import annotations

import numpy as np

from zkvm.field.babybear import P
from zkvm.stark import Air, ProofOptions, Table

#: Fast options for tests that are not about security (the verifier's minimum must be lowered to match).
FAST = ProofOptions(log_blowup=1, num_queries=6, grinding_bits=2, log_fold_arity=2, log_final_len=1, zk=False)
FAST_BITS = FAST.security_bits
#: The same with zero knowledge (its conjectured security is lower: the zk degree slack costs rate).
FAST_ZK = ProofOptions(log_blowup=1, num_queries=6, grinding_bits=2, log_fold_arity=2, log_final_len=1, zk=True)
FAST_ZK_BITS = FAST_ZK.security_bits


def fibonacci_air() -> Air:
    t = Table("fib")
    a, b = t.main("a"), t.main("b")
    t.transition("step_a", a.next - b)
    t.transition("step_b", b.next - (a + b))
    air = Air("fib", [t], publics=["a0", "b0", "out"])
    t.first("start_a", a - air.public("a0"))
    t.first("start_b", b - air.public("b0"))
    t.last("end", b - air.public("out"))
    return air


def fibonacci_trace(n: int, a0: int = 1, b0: int = 1) -> tuple[np.ndarray, dict[str, int]]:
    tr = np.zeros((n, 2), dtype=np.uint64)
    tr[0] = (a0, b0)
    for i in range(1, n):
        tr[i] = (tr[i - 1][1], (tr[i - 1][0] + tr[i - 1][1]) % P)
    return tr.astype(np.uint32), {"a0": a0, "b0": b0, "out": int(tr[-1][1])}


# ---------------------------------------------------------------- range check through a lookup bus

RANGE_BITS = 8


def range_air() -> Air:
    """``vals`` sends x and y (a LogUp pair) on bus "range8"; the fixed table ``range`` receives each value
    0..255 with a prover-chosen multiplicity. ``vals`` also proves z = x·y + 1 as a local constraint."""
    rt = Table("range")
    value = rt.fixed("value")
    mult = rt.main("mult")
    rt.receive("range8", [value], mult=mult)
    vt = Table("vals")
    x, y, z = vt.main("x"), vt.main("y"), vt.main("z")
    vt.always("z_is_xy_plus_1", z - (x * y + 1))
    vt.send("range8", [x])
    vt.send("range8", [y])
    return Air("range", [rt, vt], publics=[])


def range_traces(n_vals: int, rng: np.random.Generator, public_lookups=()) -> tuple[dict, dict]:
    """Fixed and main traces; ``public_lookups`` are (value, mult) public terms the verifier adds itself."""
    size = 1 << RANGE_BITS
    x = rng.integers(0, size, n_vals, dtype=np.int64)
    y = rng.integers(0, size, n_vals, dtype=np.int64)
    z = (x * y + 1) % P
    counts = np.bincount(np.concatenate([x, y]), minlength=size)
    for v, m in public_lookups:
        counts[v] += m
    fixed = {"range": np.arange(size, dtype=np.uint32)[:, None]}
    main = {"range": counts.astype(np.uint32)[:, None], "vals": np.stack([x, y, z], axis=1).astype(np.uint32)}
    return fixed, main


# ---------------------------------------------------------------- two-table permutation

def permutation_air() -> Air:
    """``left`` sends (k, v) and (k + 1000, v^2) (a degree-2 tuple: its own LogUp column); ``right`` receives
    tuples with a boolean multiplicity ``m`` (padding rows have m = 0)."""
    lt = Table("left")
    k, v = lt.main("k"), lt.main("v")
    lt.send("perm", [k, v])
    lt.send("perm", [k + 1000, v * v])
    rt = Table("right")
    rk, rv, m = rt.main("k"), rt.main("v"), rt.main("m")
    rt.always("m_boolean", m * (m - 1))
    rt.receive("perm", [rk, rv], mult=m)
    return Air("perm", [lt, rt])


def permutation_traces(n_left: int, rng: np.random.Generator, duplicate: bool = False) -> dict:
    """``duplicate``: left rows 0 and 1 are equal (so their tuples appear twice on the bus)."""
    k = rng.integers(0, 1000, n_left, dtype=np.int64)
    v = rng.integers(0, P, n_left, dtype=np.int64)
    if duplicate:
        k[1], v[1] = k[0], v[0]
    tuples = np.concatenate([np.stack([k, v], 1), np.stack([k + 1000, (v * v) % P], 1)])
    tuples = tuples[rng.permutation(len(tuples))]
    right = np.zeros((4 * n_left, 3), dtype=np.int64)
    right[:2 * n_left, :2] = tuples
    right[:2 * n_left, 2] = 1
    right = right[rng.permutation(len(right))]
    return {"left": np.stack([k, v], 1).astype(np.uint32), "right": right.astype(np.uint32)}
