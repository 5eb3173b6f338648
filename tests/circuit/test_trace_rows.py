"""Trace assembly (`lookups.trace_rows`: native kernel and numpy fallback) against a column-by-column numpy
reference, and the is-zero inverse table against a Fermat power."""

from __future__ import annotations

import numpy as np
import pytest

from zkvm.circuit import cpu, lookups
from zkvm.field.babybear import P, batch_inv


def _reference(cols, n, height):
    out = np.zeros((height, len(cols)), dtype=np.uint32)
    for j, c in enumerate(cols):
        if c is not None:
            out[:n, j] = np.mod(np.asarray(c, dtype=np.int64), P).astype(np.uint32)
    return out


@pytest.mark.parametrize("native", [True, False], ids=["native", "numpy"])
@pytest.mark.parametrize("n,height,w", [(0, 4, 3), (1, 4, 1), (1000, 1024, 7), (5000, 8192, 93), (4096, 4096, 2)])
def test_trace_rows_matches_reference(n, height, w, native, monkeypatch):
    seed = n * 31 + w
    rng = np.random.default_rng(seed)
    if not native:
        monkeypatch.setattr(lookups, "_native", lambda: None)
    elif lookups._native() is None:
        pytest.skip("native extension not built")
    edge = np.array([0, 1, P - 1, P, P + 1, -1, -P, -P - 1, 2**32 - 1, 2**40, -(2**40), 2**62], np.int64)
    cols = []
    for j in range(w):
        if j % 5 == 4:
            cols.append(None)
        else:
            c = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64) if j % 2 else rng.integers(0, 1 << 16, n)
            c[: min(n, len(edge))] = edge[: min(n, len(edge))]
            cols.append(c)
    got = lookups.trace_rows(cols, n, height)
    assert got.dtype == np.uint32 and got.flags.c_contiguous, f"seed={seed}"
    assert np.array_equal(got, _reference(cols, n, height)), f"seed={seed}"
    out = np.full((height, w), 7, np.uint32)
    assert lookups.trace_rows(cols, n, height, out=out) is out
    assert np.array_equal(out, _reference(cols, n, height)), f"seed={seed}"


def test_trace_rows_rejects_bad_shapes():
    with pytest.raises(ValueError, match="length"):
        lookups.trace_rows([np.zeros(3, np.int64)], 4, 4)
    with pytest.raises(ValueError, match="out must be"):
        lookups.trace_rows([np.zeros(4, np.int64)], 4, 4, out=np.zeros((4, 2), np.uint32))


def test_big_empty_is_a_writable_uint32_array():
    a = lookups.big_empty((1 << 20, 3))  # above BIG_BYTES: an anonymous mapping
    a[:] = 5
    assert a.shape == (1 << 20, 3) and a.dtype == np.uint32 and int(a.sum()) == 15 << 20


def test_inverse_table_matches_fermat():
    rng = np.random.default_rng(3)
    x = np.concatenate([[0, 1, 2, cpu._INV_TABLE_SIZE - 1], rng.integers(0, cpu._INV_TABLE_SIZE, 5000)])
    got = cpu._field_inverse(x)
    nz = x != 0
    assert np.array_equal(got[nz], np.asarray(batch_inv(x[nz].astype(np.uint32)), dtype=np.int64))
    assert (got[~nz] == 0).all()
    big = np.array([0, cpu._INV_TABLE_SIZE, P - 1], np.int64)  # beyond the table: the Fermat path
    assert list(cpu._field_inverse(big)) == [0, *np.asarray(batch_inv(big[1:].astype(np.uint32)), dtype=np.int64)]


def test_sha_lookups_exact_integers_match_field_arithmetic(monkeypatch):
    """report_lookups evaluates the lookup tuples in exact integers; forcing its mod-p fallback on every
    interaction (bound limit 0) must report the same lookups."""
    from zkvm.circuit import riscv_air
    from zkvm.circuit import sha256 as sha
    from zkvm.circuit.lookups import LookupSends

    rng = np.random.default_rng(11)
    B = 3
    state = rng.integers(0, 1 << 32, (B, 8), dtype=np.int64)
    block = rng.integers(0, 1 << 32, (B, 16), dtype=np.int64)
    # two calls: one of one block, one of two blocks
    start = np.array([True, True, False])
    calls = sha.ShaCalls(np.array([10, 20, 20]), np.full(B, 0x1000), np.array([0x2000, 0x2000, 0x2000]),
                         np.array([1, 2, 2]), np.array([0x800, 0x800, 0x810]), start, state, block,
                         np.zeros((B, 8), np.int64))
    prev_ts = np.zeros(2 * 9 + B * 16, np.int64)
    tables = riscv_air.circuit().sha

    def counts(limit):
        monkeypatch.setattr(sha._ExactIntOps, "LIMIT", limit)
        sends = LookupSends()
        tables.fill(calls, prev_ts, sends, (0, 0))
        r = np.bincount(np.concatenate(sends.range16), minlength=1 << 16)
        b = {op: np.bincount(np.concatenate(p), minlength=1 << 16) for op, p in sends.bytes.items() if p}
        return r, b

    (r1, b1), (r0, b0) = counts(1 << 62), counts(0)
    assert np.array_equal(r1, r0) and b1.keys() == b0.keys()
    assert all(np.array_equal(b1[k], b0[k]) for k in b1)
