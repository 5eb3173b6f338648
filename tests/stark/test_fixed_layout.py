"""The leaf order of fixed trees (protocol.fixed_leaf): a bijection whose first leaves are exactly the rows a proof
at a smaller blowup reads, and the order the prover's tree is built in."""

from __future__ import annotations

import numpy as np
import pytest

from zkvm.stark.verifying.options import FIXED_LOG_BLOWUP
from zkvm.stark.verifying.protocol import fixed_leaf, fixed_leaf_rows


@pytest.mark.parametrize("log_h", [1, 5, 9])
def test_fixed_leaf_is_a_bijection_matching_the_tree_rows(log_h: int) -> None:
    log_rows = log_h + FIXED_LOG_BLOWUP
    n = 1 << log_rows
    leaves = [fixed_leaf(i, log_rows) for i in range(n)]
    assert sorted(leaves) == list(range(n))
    lde = np.arange(2 * n, dtype=np.uint32).reshape(n, 2)
    rows = fixed_leaf_rows(lde)
    assert np.array_equal(rows[leaves], lde)


@pytest.mark.parametrize("lb", range(1, FIXED_LOG_BLOWUP + 1))
def test_rows_read_at_a_smaller_blowup_fill_the_first_leaves(lb: int) -> None:
    log_h = 6
    log_rows = log_h + FIXED_LOG_BLOWUP
    stride = 1 << (FIXED_LOG_BLOWUP - lb)
    read = sorted(fixed_leaf(k * stride, log_rows) for k in range((1 << log_h) << lb))
    assert read == list(range((1 << log_h) << lb))
