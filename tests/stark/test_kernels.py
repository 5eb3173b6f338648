"""The prover's fast paths (C constraint VM, C dot products, tree batch inversion, float64 exact products)
agree with the plain numpy / Python-int definitions."""

from __future__ import annotations

import numpy as np
import pytest

from .airs import FAST, permutation_air, permutation_traces, range_air, range_traces
from zkvm.field.babybear import Ext, P
from zkvm.stark.backend import native_eval
from zkvm.stark.dsl import algebra
from zkvm.stark.proving import prover


def _rand(rng, shape):
    return rng.integers(0, P, shape, dtype=np.uint64).astype(np.uint32)


@pytest.mark.parametrize("seed", range(3))
def test_mat_dot_exact(seed):
    rng = np.random.default_rng(seed)
    for r, k, c in [(5, 3, 4), (7, 70, 4), (3, 5000, 16), (1, 1, 1)]:
        a, b = _rand(rng, (r, k)), _rand(rng, (k, c))
        want = (a.astype(object) @ b.astype(object)) % P
        assert np.array_equal(algebra.mat_dot(a, b), want.astype(np.uint32)), f"seed={seed} shape={(r, k, c)}"


def test_batch_inverse_matches_fermat():
    rng = np.random.default_rng(7)
    a = _rand(rng, 1000)
    a[a == 0] = 1
    inv = algebra.batch_inverse(a)
    assert all(int(x) * int(y) % P == 1 for x, y in zip(a, inv))
    with pytest.raises(ZeroDivisionError):
        algebra.batch_inverse(np.array([1, 0, 2], dtype=np.uint32))


def test_inv_x_minus_z():
    rng = np.random.default_rng(8)
    xs = _rand(rng, 64)
    z = Ext(*(int(v) for v in _rand(rng, 4)))
    got = algebra.inv_x_minus_z(xs, z)
    for x, g in zip(xs, got):
        assert (Ext(int(x)) - z) * Ext(g) == Ext(1)
    from zkvm.stark.backend import accel
    assert np.array_equal(algebra.inv_x_minus_z(xs, z, accel), got)


needs_vm = pytest.mark.skipif(not native_eval.available(), reason="constraint VM extension not built")


@needs_vm
@pytest.mark.parametrize("seed", range(3))
def test_native_dot_products(seed):
    rng = np.random.default_rng(seed)
    m, cf = _rand(rng, (9000, 37)), _rand(rng, (37, 4))
    assert np.array_equal(native_eval.base_dot_ext(m, cf), algebra.mat_dot(m, cf)), f"seed={seed}"
    strided = _rand(rng, (9000, 5))[::3]
    assert np.array_equal(native_eval.base_dot_ext(strided, cf[:5]), algebra.mat_dot(strided, cf[:5]))
    w = _rand(rng, (9000, 4))
    assert np.array_equal(native_eval.weighted_col_sums(m, w), algebra.mat_dot(m.T, w)), f"seed={seed}"


@needs_vm
@pytest.mark.parametrize("make", ["range", "perm"])
def test_native_quotient_equals_numpy(make, monkeypatch):
    """The same proof comes out of the VM path and the numpy evaluator path (byte for byte)."""
    rng = np.random.default_rng(3)
    if make == "range":
        air = range_air()
        fixed, main = range_traces(16, rng, [(5, 1)])
        terms = [("range8", (5,), 1)]
    else:
        air, fixed, terms = permutation_air(), {}, []
        main = permutation_traces(8, rng)
    fast = prover.prove(air, fixed, main, {}, terms, FAST).to_bytes()
    monkeypatch.setattr(native_eval, "available", lambda: False)
    slow = prover.prove(air, fixed, main, {}, terms, FAST).to_bytes()
    assert fast == slow


@needs_vm
@pytest.mark.parametrize("bits", [0, 1, 5, 12])
def test_native_grind_equals_python(bits):
    from zkvm.stark.verifying.transcript import Transcript

    t = Transcript()
    t.absorb("seed", bytes([bits]))
    fast = t.grind(bits, native_eval.grind)
    assert fast == t.grind(bits), f"bits={bits}"
    assert t.check_pow(fast, bits) and (fast == 0 or not t.check_pow(fast - 1, bits) or bits == 0)


@needs_vm
@pytest.mark.parametrize("op", ["mul", "add", "sub", "rsub"])
def test_ext_scalar_ops(op):
    from zkvm.field import babybear as bb

    rng = np.random.default_rng(17)
    a, s = _rand(rng, (5000, 4)), _rand(rng, 4)
    want = {"mul": bb.ext_mul(a, s), "add": bb.ext_add(a, s), "sub": bb.ext_sub(a, s), "rsub": bb.ext_sub(s, a)}[op]
    assert np.array_equal(native_eval.ext_scalar_op(a, s, op), want)
    from zkvm.stark.backend import accel
    fn = {"mul": accel.ext_mul, "add": accel.ext_add, "sub": accel.ext_sub}
    if op in fn:
        assert np.array_equal(fn[op](a, s[None, :]), want)
        assert np.array_equal(fn[op](a, s), want)
    else:
        assert np.array_equal(accel.ext_sub(s, a), want)
