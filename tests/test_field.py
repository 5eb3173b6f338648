"""BabyBear and GF(p^4): field axioms, inverses, and agreement of numpy == Python-int reference (== C when
the native module is built)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from zkvm.field import babybear as bb, reference as ref

P = bb.P
felt = st.integers(0, P - 1)
nonzero = st.integers(1, P - 1)
ext = st.tuples(felt, felt, felt, felt)
nonzero_ext = ext.filter(lambda t: any(t))
# A few values at the edges of every representation (0, 1, p-1, near 2^31 / 2^32 when unreduced).
edge = st.sampled_from([0, 1, 2, P - 1, P - 2, (P - 1) // 2, 2**27, 2**30, 11])
any_felt = st.one_of(felt, edge)


def arr(*vals):
    return np.array(vals, dtype=np.uint32)


@given(any_felt, any_felt, any_felt)
def test_base_axioms(a, b, c):
    A, B, C = arr(a), arr(b), arr(c)
    assert bb.add(A, B) == bb.add(B, A) and bb.mul(A, B) == bb.mul(B, A)
    assert bb.add(bb.add(A, B), C) == bb.add(A, bb.add(B, C))
    assert bb.mul(bb.mul(A, B), C) == bb.mul(A, bb.mul(B, C))
    assert bb.mul(A, bb.add(B, C)) == bb.add(bb.mul(A, B), bb.mul(A, C))
    assert bb.add(A, bb.neg(A)) == 0 and bb.sub(A, B) == bb.add(A, bb.neg(B))
    assert int(bb.add(A, B)[0]) == ref.add(a, b) and int(bb.sub(A, B)[0]) == ref.sub(a, b)
    assert int(bb.mul(A, B)[0]) == ref.mul(a, b)


@given(nonzero)
def test_base_inverse(a):
    assert int(bb.mul(arr(a), bb.inv(arr(a)))[0]) == 1
    assert int(bb.inv(arr(a))[0]) == ref.inv(a) == bb.inv_int(a)


def test_inverse_of_zero_raises():
    with pytest.raises(ZeroDivisionError):
        bb.inv(arr(3, 0))
    with pytest.raises(ZeroDivisionError):
        bb.ext_inv(np.zeros((2, 4), dtype=np.uint32))
    with pytest.raises(ZeroDivisionError):
        bb.Ext(0).inverse()


@settings(max_examples=30)
@given(st.lists(any_felt, min_size=1, max_size=50), st.integers(0, 2**64))
def test_vector_ops_match_reference(values, e):
    a = np.array(values, dtype=np.uint32)
    b = a[::-1].copy()
    assert bb.mul(a, b).tolist() == [ref.mul(x, y) for x, y in zip(values, values[::-1])]
    assert bb.pow(a, e).tolist() == [pow(x, e, P) for x in values]
    nz = a[a != 0]
    assert bb.batch_inv(nz).tolist() == [ref.inv(int(x)) for x in nz]


def test_generator_and_roots():
    for q in (2, 3, 5):  # p - 1 = 2^27 * 3 * 5
        assert pow(bb.GENERATOR, (P - 1) // q, P) != 1
    for k in range(bb.TWO_ADICITY + 1):
        w = bb.two_adic_root(k)
        assert pow(w, 1 << k, P) == 1
        if k:
            assert pow(w, 1 << (k - 1), P) == P - 1  # order exactly 2^k
            assert bb.two_adic_root(k - 1) == w * w % P
    with pytest.raises(ValueError):
        bb.two_adic_root(28)


def test_to_field_reduces_everything():
    assert bb.to_field([-1, P, 2**40, 7]).tolist() == [P - 1, 0, 2**40 % P, 7]
    assert bb.to_field(np.array([2**32 - 1, P], dtype=np.uint32)).tolist() == [(2**32 - 1) % P, 0]
    assert bb.to_field(np.array([-5], dtype=np.int64)).tolist() == [P - 5]


@given(ext, ext, ext)
def test_ext_axioms_and_reference(a, b, c):
    A, B, C = (np.array(x, dtype=np.uint32) for x in (a, b, c))
    ab = bb.ext_mul(A, B)
    assert tuple(ab.tolist()) == ref.ext_mul(a, b) == tuple(bb.ext_mul(B, A).tolist())
    assert (bb.ext_mul(bb.ext_mul(A, B), C) == bb.ext_mul(A, bb.ext_mul(B, C))).all()
    assert (bb.ext_mul(A, bb.ext_add(B, C)) == bb.ext_add(ab, bb.ext_mul(A, C))).all()
    assert tuple(bb.ext_sub(A, B).tolist()) == ref.ext_sub(a, b)
    assert tuple(bb.ext_add(A, B).tolist()) == ref.ext_add(a, b)
    # the scalar value type agrees with both
    assert (bb.Ext(a) * bb.Ext(b)).c == ref.ext_mul(a, b)
    assert (bb.Ext(a) - bb.Ext(b) + bb.Ext(c)).c == ref.ext_add(ref.ext_sub(a, b), c)


@given(nonzero_ext)
def test_ext_inverse(a):
    A = np.array(a, dtype=np.uint32)
    inv = bb.ext_inv(A)
    assert bb.ext_mul(A, inv).tolist() == [1, 0, 0, 0]
    assert tuple(inv.tolist()) == bb.Ext(a).inverse().c
    assert (bb.Ext(a) / bb.Ext(a)) == 1


@settings(max_examples=5, deadline=None)
@given(nonzero_ext)
def test_ext_inverse_matches_fermat(a):
    assert tuple(bb.ext_inv(np.array(a, dtype=np.uint32)).tolist()) == ref.ext_inv(a)


@given(ext, felt, st.integers(0, 300))
def test_ext_base_embedding_and_pow(a, s, e):
    A = np.array(a, dtype=np.uint32)
    assert tuple(bb.ext_mul_base(A, s).tolist()) == ref.ext_mul_base(a, s)
    assert (bb.ext_mul(A, bb.ext_from_base(s)) == bb.ext_mul_base(A, s)).all()
    assert tuple(bb.ext_pow(A, e).tolist()) == ref.ext_pow(a, e) == (bb.Ext(a) ** e).c


def test_ext_batch_shapes():
    rng = np.random.default_rng(7)
    a = rng.integers(1, P, (3, 5, 4), dtype=np.uint32)
    inv = bb.ext_batch_inv(a)
    assert inv.shape == a.shape
    one = bb.ext_mul(a, inv)
    assert (one[..., 0] == 1).all() and (one[..., 1:] == 0).all()
    assert bb.ext_sum(a, axis=1).shape == (3, 4)
    assert bb.ext_sum(a, axis=0).tolist() == bb.sum_mod(a, axis=0).tolist()
    with pytest.raises(ValueError):
        bb.ext_mul(a[..., :3], a[..., :3])


def test_powers():
    assert bb.powers(3, 0).tolist() == []
    assert bb.powers(3, 1).tolist() == [1]
    assert bb.powers(123456789, 37).tolist() == [pow(123456789, i, P) for i in range(37)]
