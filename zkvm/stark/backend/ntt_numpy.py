"""Pure-numpy NTT / inverse NTT / coset LDE over the columns of a row-major ``uint32[n, w]`` matrix.

This is the readable reference the C implementation (``native/ntt.c``) is tested against, and the fallback
when the extension is not built. Radix-2 decimation in time, vectorised over all butterflies of a stage and all
columns at once. Conventions are those of :mod:`zkvm.stark.backend.ntt`.
"""

from __future__ import annotations

import numpy as np

from zkvm.field import babybear as bb

_P = np.uint64(bb.P)


def log2_exact(n: int) -> int:
    if n < 1 or n & (n - 1):
        raise ValueError(f"NTT size must be a power of two, got {n}")
    return n.bit_length() - 1


def bit_reverse_indices(log_n: int) -> np.ndarray:
    idx = np.arange(1 << log_n, dtype=np.uint64)
    rev = np.zeros_like(idx)
    for b in range(log_n):
        rev |= ((idx >> np.uint64(b)) & np.uint64(1)) << np.uint64(log_n - 1 - b)
    return rev.astype(np.int64)


def ntt(values: np.ndarray, root: int) -> np.ndarray:
    """out[i] = sum_j values[j] * root^(i*j) per column, for a root of order exactly n = len(values)."""
    n = values.shape[0]
    log_n = log2_exact(n)
    x = np.asarray(values, dtype=np.uint64)[bit_reverse_indices(log_n)]
    w = x.shape[1]
    m = 1
    while m < n:
        tw = bb.powers(bb.pow_int(root, n // (2 * m)), m).astype(np.uint64)[None, :, None]
        x = x.reshape(n // (2 * m), 2, m, w)
        u = x[:, 0]
        v = (x[:, 1] * tw) % _P
        x = np.stack([(u + v) % _P, (u + _P - v) % _P], axis=1).reshape(n, w)
        m *= 2
    return x.astype(np.uint32)


def interpolate(cols: np.ndarray, shift: int = 1) -> np.ndarray:
    n = cols.shape[0]
    log_n = log2_exact(n)
    coeffs = ntt(cols, bb.inv_int(bb.two_adic_root(log_n))).astype(np.uint64)
    scale = bb.powers(bb.inv_int(shift), n).astype(np.uint64) * np.uint64(bb.inv_int(n)) % _P
    return (coeffs * scale[:, None] % _P).astype(np.uint32)


def evaluate(coeffs: np.ndarray, log_blowup: int, shift: int) -> np.ndarray:
    n, w = coeffs.shape
    big = n << log_blowup
    padded = np.zeros((big, w), dtype=np.uint64)
    padded[:n] = np.asarray(coeffs, dtype=np.uint64) * bb.powers(shift, n).astype(np.uint64)[:, None] % _P
    return ntt(padded, bb.two_adic_root(log2_exact(big)))


def lde(cols: np.ndarray, log_blowup: int, shift: int = bb.GENERATOR) -> np.ndarray:
    return evaluate(interpolate(cols), log_blowup, shift)


def evaluate_wrapped(coeffs: np.ndarray, log_n: int, log_blowup: int, shift: int) -> np.ndarray:
    """Polynomials with any number ``len <= n·2^log_blowup`` of coefficients on ``shift·H_{n·2^log_blowup}``:
    zero-padded to the whole domain and evaluated (the plain definition the C block-wise version must match)."""
    length, w = coeffs.shape
    big = 1 << (log_n + log_blowup)
    if length > big:
        raise ValueError(f"{length} coefficients do not fit a domain of size {big}")
    padded = np.zeros((big, w), dtype=np.uint32)
    padded[:length] = coeffs
    return evaluate(padded, 0, shift)


def lde_randomised(cols: np.ndarray, r: np.ndarray, log_blowup: int, shift: int) -> np.ndarray:
    """Evaluations of ``interpolant(cols) + (X^n - 1)·r`` (``r``: ``k`` coefficient rows) on
    ``shift·H_{n·2^log_blowup}``, straight from the definition."""
    n, w = cols.shape
    k = r.shape[0]
    coeffs = np.zeros((n + k, w), dtype=np.uint64)
    coeffs[:n] = interpolate(cols)
    r64 = np.asarray(r, dtype=np.uint64) % _P
    coeffs[:k] = (coeffs[:k] + _P - r64) % _P  # - r  (the ranges overlap when k > n: subtract first)
    coeffs[n:] = (coeffs[n:] + r64) % _P       # + X^n·r
    return evaluate_wrapped(coeffs.astype(np.uint32), log2_exact(n), log_blowup, shift)
