"""Example AIRs shared by the STARK tests: Fibonacci, a range-checked table, a two-table permutation."""

from __future__ import annotations

import numpy as np

from zkvm.field.babybear import P
from zkvm.stark import Air, ProofOptions, Table

#: Fast options for tests that are not about security (the verifier's minimum must be lowered to match).
FAST = ProofOptions(log_blowup=1, num_queries=6, grinding_bits=2, log_fold_arity=2, log_final_len=1)
FAST_BITS = FAST.security_bits


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
