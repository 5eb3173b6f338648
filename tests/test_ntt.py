"""NTT / interpolation / coset LDE: exact against an O(n^2) evaluation for small sizes, C == numpy reference
for larger ones, and the round trips the prover relies on."""

from __future__ import annotations

import numpy as np
import pytest

from zkvm.field import babybear as bb, reference as ref
from zkvm.stark.backend import ntt, ntt_numpy

P = bb.P


def slow_eval(coeffs: np.ndarray, points: list[int]) -> np.ndarray:
    """O(n·m) Horner evaluation of every column at every point, on Python ints."""
    return np.array([[ref.poly_eval([int(c) for c in coeffs[:, j]], x) for j in range(coeffs.shape[1])]
                     for x in points], dtype=np.uint32).reshape(len(points), coeffs.shape[1])


def domain(log_n: int, shift: int = 1) -> list[int]:
    w = bb.two_adic_root(log_n)
    return [shift * pow(w, i, P) % P for i in range(1 << log_n)]


@pytest.mark.parametrize("impl", ["api", "numpy"])
@pytest.mark.parametrize("log_n", [0, 1, 2, 3, 5])
def test_small_sizes_against_quadratic_reference(impl, log_n):
    seed = 1000 + log_n
    rng = np.random.default_rng(seed)
    mod = ntt if impl == "api" else ntt_numpy
    n, w = 1 << log_n, 3
    coeffs = rng.integers(0, P, (n, w), dtype=np.uint32)
    evals = slow_eval(coeffs, domain(log_n))
    assert (mod.interpolate(evals) == coeffs).all(), f"seed {seed}"
    for log_blowup, shift in [(0, 1), (1, bb.GENERATOR), (2, 7), (3, bb.GENERATOR)]:
        expect = slow_eval(coeffs, domain(log_n + log_blowup, shift))
        assert (mod.evaluate(coeffs, log_blowup, shift) == expect).all(), f"seed {seed} blowup {log_blowup}"
        assert (mod.lde(evals, log_blowup, shift) == expect).all(), f"seed {seed} blowup {log_blowup}"
        # interpolating on the coset recovers the coefficients, zero-padded
        back = mod.interpolate(expect, shift)
        assert (back[:n] == coeffs).all() and (back[n:] == 0).all(), f"seed {seed}"


@pytest.mark.parametrize("log_n,w,log_blowup", [(6, 1, 1), (8, 5, 2), (10, 16, 2), (11, 3, 3), (12, 64, 1)])
def test_api_matches_numpy_reference(log_n, w, log_blowup):
    seed = 77 + log_n * 13 + w
    rng = np.random.default_rng(seed)
    cols = rng.integers(0, P, (1 << log_n, w), dtype=np.uint32)
    coeffs = ntt.interpolate(cols)
    assert (coeffs == ntt_numpy.interpolate(cols)).all(), f"seed {seed}"
    assert (ntt.lde(cols, log_blowup) == ntt_numpy.lde(cols, log_blowup, bb.GENERATOR)).all(), f"seed {seed}"
    assert (ntt.evaluate(coeffs, log_blowup, 5) == ntt_numpy.evaluate(coeffs, log_blowup, 5)).all()
    # LDE restricted to the even... every 2^log_blowup-th point with shift 1 is the original domain
    assert (ntt.lde(cols, log_blowup, 1)[:: 1 << log_blowup] == cols).all(), f"seed {seed}"


def test_low_degree_column_stays_low_degree():
    rng = np.random.default_rng(5)
    coeffs = np.zeros((64, 2), dtype=np.uint32)
    coeffs[:10] = rng.integers(0, P, (10, 2), dtype=np.uint32)
    evals = ntt.evaluate(coeffs, 0, 1)
    big = ntt.lde(evals, 2)
    back = ntt.interpolate(big, bb.GENERATOR)
    assert (back[:10] == coeffs[:10]).all() and not back[10:].any()


def test_inputs_are_reduced_and_validated():
    cols = np.array([[P], [P + 1], [2**32 - 1], [0]], dtype=np.uint32)
    assert (ntt.interpolate(cols) == ntt.interpolate(cols % P)).all()
    one_d = ntt.lde(np.arange(8), 1)
    assert one_d.shape == (16,)
    with pytest.raises(ValueError):
        ntt.interpolate(np.zeros((6, 2), dtype=np.uint32))
    with pytest.raises(ValueError):
        ntt.lde(np.zeros((4, 2), dtype=np.uint32), -1)
    with pytest.raises(ValueError):
        ntt.interpolate(np.zeros((4, 2), dtype=np.uint32), shift=P)


def test_out_buffers_are_used_and_checked():
    rng = np.random.default_rng(8)
    cols = rng.integers(0, P, (64, 3), dtype=np.uint32)
    out = np.empty((256, 3), dtype=np.uint32)
    assert ntt.lde(cols, 2, out=out) is out
    assert (out == ntt_numpy.lde(cols, 2, bb.GENERATOR)).all()
    coeffs = np.empty_like(cols)
    assert ntt.interpolate(cols, out=coeffs) is coeffs and (coeffs == ntt_numpy.interpolate(cols)).all()
    assert ntt.evaluate(coeffs, 1, 5, out=out[:128]) is not None
    with pytest.raises(ValueError):
        ntt.lde(cols, 2, out=np.empty((128, 3), dtype=np.uint32))  # wrong shape
    with pytest.raises(ValueError):
        ntt.interpolate(cols, out=cols)  # aliasing the input


def test_evaluate_on_any_number_of_coefficients():
    seed = 31
    rng = np.random.default_rng(seed)
    for m, log_domain in [(1, 0), (5, 3), (64 + 3, 8), (100, 7)]:
        coeffs = rng.integers(0, P, (m, 2), dtype=np.uint32)
        got = ntt.evaluate_on(coeffs, log_domain, 7)
        assert (got == slow_eval(coeffs, domain(log_domain, 7))).all(), f"seed {seed} m {m}"
    with pytest.raises(ValueError):
        ntt.evaluate_on(np.zeros((9, 1), dtype=np.uint32), 3)
