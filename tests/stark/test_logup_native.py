"""The C LogUp kernels of the constraint VM (aux trace, quotient constraints, quotient division) agree with the
numpy formulas of ``logup.py`` / ``prover._quotient`` on random data: groups of one and two interactions,
sends and receives, tuples of several lengths, and row windows that wrap around the LDE."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from zkvm.field import babybear as bb
from zkvm.field.babybear import Ext, P
from zkvm.stark.backend import native_eval
from zkvm.stark.dsl.algebra import ExtArrayOps
from zkvm.stark.verifying import logup

pytestmark = pytest.mark.skipif(not native_eval.available(), reason="constraint VM extension not built")

GROUP_SIZES = [2, 1, 2, 2]


def _rand(rng, shape):
    return rng.integers(0, P, shape, dtype=np.uint64).astype(np.uint32)


def _random_bus(rng):
    """Groups of SimpleNamespace interactions (values / sign / bus), their raw layout and random raw values."""
    groups, pos = [], 0
    for size in GROUP_SIZES:
        g = []
        for _ in range(size):
            k = int(rng.integers(1, 5))
            g.append(SimpleNamespace(values=(None,) * k, sign=int(rng.choice([1, -1])), bus=f"b{int(rng.integers(3))}",
                                     raw=pos))
            pos += k + 1
        groups.append(g)
    bus_ids = {"b0": 1, "b1": 2, "b2": 7}
    return groups, bus_ids, pos


def _evals(groups, raw):
    out = {}
    for g in groups:
        for it in g:
            k = len(it.values)
            out[id(it)] = ([raw[it.raw + j].astype(np.uint64) for j in range(k)], raw[it.raw + k].astype(np.uint64))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_logup_aux_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    groups, bus_ids, n_raw = _random_bus(rng)
    n = 300  # not a multiple of the C row block
    raw = _rand(rng, (n_raw, n))
    alpha, beta = Ext(tuple(int(x) for x in _rand(rng, 4))), Ext(tuple(int(x) for x in _rand(rng, 4)))
    betas = logup.beta_powers(beta, 5)
    ct = SimpleNamespace(groups=groups, name="t")
    want, want_final = logup.aux_trace(ct, _evals(groups, raw), n, alpha, betas, bus_ids)
    hs = native_eval.logup_aux(raw, native_eval.logup_layout(groups, bus_ids), alpha.to_array(),
                               np.array([b.to_array() for b in betas], dtype=np.uint32))
    got, got_final = logup.with_running_sum(hs)
    assert np.array_equal(got, want), f"seed={seed}"
    assert got_final == want_final, f"seed={seed}"


@pytest.mark.parametrize("seed", range(3))
def test_logup_quotient_matches_numpy(seed):
    rng = np.random.default_rng(100 + seed)
    groups, bus_ids, n_raw = _random_bus(rng)
    big_n, blow, b = 512, 4, 200
    r0 = big_n - 150  # the window and its next rows wrap around
    raw = _rand(rng, (n_raw, b))
    aux_lde = _rand(rng, (big_n, 4 * (len(groups) + 1) + 3))[:, :4 * (len(groups) + 1)]  # strided view
    alpha, beta, final = (Ext(tuple(int(x) for x in _rand(rng, 4))) for _ in range(3))
    betas = logup.beta_powers(beta, 5)
    lam = _rand(rng, (len(groups) + 3, 4))
    acc0 = _rand(rng, (4, b, 4))

    rows = (np.arange(b) + r0) % big_n
    aux, aux_next = aux_lde[rows], aux_lde[(rows + blow) % big_n]
    ops = ExtArrayOps()
    evals = _evals(groups, raw)
    hs = [np.ascontiguousarray(aux[:, 4 * g:4 * g + 4]) for g in range(len(groups))]
    vals = [logup.group_constraints(ops, g, evals, hs[i], alpha, betas, bus_ids) for i, g in enumerate(groups)]
    g = len(groups)
    vals += list(logup.sum_constraints(ops, hs, aux[:, 4 * g:4 * g + 4], aux_next[:, 4 * g:4 * g + 4], final))
    kinds = [0] * len(groups) + [2, 1, 3]  # always, then first / transition / last
    want = acc0.copy()
    for v, kind, coeff in zip(vals, kinds, lam):
        want[kind] = bb.ext_add(want[kind], bb.ext_mul(np.broadcast_to(v, (b, 4)), coeff))

    got = acc0.copy()
    native_eval.logup_quotient(got, raw, native_eval.logup_layout(groups, bus_ids), aux_lde, r0, (r0 + blow) % big_n,
                               alpha.to_array(), np.array([x.to_array() for x in betas], dtype=np.uint32),
                               final.to_array(), lam)
    assert np.array_equal(got, want), f"seed={seed}"


@pytest.mark.parametrize("seed", range(3))
def test_quotient_finish_matches_numpy(seed):
    rng = np.random.default_rng(200 + seed)
    log_n, lb, r0, b = 6, 2, 40, 150
    n, blow = 1 << log_n, 1 << lb
    omega = bb.two_adic_root(log_n + lb)
    g_last = bb.inv_int(bb.two_adic_root(log_n))
    zh_period = bb.sub(bb.mul(bb.powers(bb.two_adic_root(lb), blow), bb.pow_int(bb.GENERATOR, n)), 1)
    acc = _rand(rng, (4, b, 4))
    x0 = bb.GENERATOR * bb.pow_int(omega, r0) % P
    xs = bb.mul(bb.powers(omega, b), x0)
    u, v = bb.sub(xs, 1), bb.sub(xs, g_last)
    zh = np.asarray(zh_period)[np.arange(r0, r0 + b) % blow]
    uv = bb.mul(u, v)
    num = bb.ext_add(bb.ext_mul_base(bb.ext_add(acc[0], bb.ext_mul_base(acc[1], v)), uv),
                     bb.ext_mul_base(bb.ext_add(bb.ext_mul_base(acc[2], v), bb.ext_mul_base(acc[3], u)), zh))
    want = bb.ext_mul_base(num, bb.batch_inv(bb.mul(uv, zh)))
    got = native_eval.quotient_finish(acc, r0, x0, omega, g_last, zh_period)
    assert np.array_equal(got, np.asarray(want, dtype=np.uint32)), f"seed={seed}"
