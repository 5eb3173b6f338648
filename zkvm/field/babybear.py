"""BabyBear p = 15·2^27 + 1 and its quartic extension GF(p^4) = F[x]/(x^4 - 11), vectorised with numpy.

Everything here is exact: field elements are canonical ``uint32`` in ``[0, p)``; products are formed in
``uint64`` (< 2^62, no overflow) and reduced with ``%``. Extension elements are arrays of shape ``(..., 4)``
holding the coefficients of ``c0 + c1·x + c2·x^2 + c3·x^3``.

This module is imported by the verifier, so it must stay pure Python + numpy (no compiled extension). The
prover's fast paths live in C (``field.h`` and ``zkvm/stark/backend/kernels.py``) and are tested against this file.

Scalar convenience for the verifier: the array functions accept Python ints / tuples (they go through
``np.asarray``), and the :class:`Ext` value type gives operator syntax on Python ints for a handful of
out-of-domain computations where numpy's per-call overhead would dominate.

Inverting zero raises ``ZeroDivisionError`` (never a silent 0): callers that divide by data derived from an
untrusted proof must catch it and turn it into their own typed error.
"""

from __future__ import annotations

import builtins
from typing import Iterable, Union

import numpy as np

P: int = 15 * 2**27 + 1  # 2013265921 < 2^31, so a + b of two canonical elements fits in uint32
TWO_ADICITY: int = 27  # p - 1 = 2^27 · 15
#: Generator of the whole multiplicative group (order p - 1 = 2^27·3·5); also the default LDE coset shift.
GENERATOR: int = 31
#: Non-residue defining the extension: x^4 = W.
W: int = 11
EXT_DEGREE: int = 4

_P64 = np.uint64(P)
_P32 = np.uint32(P)

ArrayLike = Union[np.ndarray, int, Iterable]


def two_adic_root(log_n: int) -> int:
    """A primitive 2^log_n-th root of unity, consistent across sizes: two_adic_root(k)^2 == two_adic_root(k-1)."""
    if not 0 <= log_n <= TWO_ADICITY:
        raise ValueError(f"log_n must be in [0, {TWO_ADICITY}], got {log_n}")
    # GENERATOR^15 has order exactly 2^27; squaring walks down the tower.
    return builtins.pow(GENERATOR, (P - 1) >> log_n, P)


# ---------------------------------------------------------------- base field (arrays of uint32)

def to_field(x: ArrayLike) -> np.ndarray:
    """Any integers (Python ints of any size, signed/unsigned numpy arrays) -> canonical uint32 array."""
    if isinstance(x, np.ndarray) and x.dtype == np.uint32:
        return x % _P32 if x.size and x.max() >= P else x  # 2^32 - 1 > 2p: one subtraction is not enough
    if isinstance(x, np.ndarray) and x.dtype.kind in "iu":
        return np.mod(x.astype(np.int64) if x.dtype != np.uint64 else x, P).astype(np.uint32)
    if isinstance(x, (int, np.integer)):
        return np.asarray(int(x) % P, dtype=np.uint32)
    arr = np.asarray(x, dtype=object)
    return np.asarray(np.vectorize(lambda v: int(v) % P, otypes=[np.int64])(arr), dtype=np.uint32) \
        if arr.size else np.zeros(arr.shape, dtype=np.uint32)


def _u64(a: ArrayLike) -> np.ndarray:
    return np.asarray(a).astype(np.uint64, copy=False) if isinstance(a, np.ndarray) else \
        np.asarray(a, dtype=np.uint64)


def add(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    s = _u64(a) + _u64(b)
    return np.where(s >= _P64, s - _P64, s).astype(np.uint32)


def sub(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    s = _u64(a) + (_P64 - _u64(b))
    return np.where(s >= _P64, s - _P64, s).astype(np.uint32)


def neg(a: ArrayLike) -> np.ndarray:
    a = _u64(a)
    return np.where(a == 0, a, _P64 - a).astype(np.uint32)


def mul(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    return ((_u64(a) * _u64(b)) % _P64).astype(np.uint32)


def pow(a: ArrayLike, e: int) -> np.ndarray:  # noqa: A001 - field power, shadows builtin inside this module only
    """a^e elementwise for a Python int exponent e >= 0 (square and multiply over whole arrays)."""
    if e < 0:
        return pow(inv(a), -e)
    base = _u64(a) % _P64
    result = np.ones_like(base)
    while e:
        if e & 1:
            result = (result * base) % _P64
        e >>= 1
        if e:
            base = (base * base) % _P64
    return result.astype(np.uint32)


def inv(a: ArrayLike) -> np.ndarray:
    """Elementwise inverse (Fermat); raises ZeroDivisionError if any element is zero."""
    a = _u64(a) % _P64
    if np.any(a == 0):
        raise ZeroDivisionError("inverse of zero in BabyBear")
    return pow(a, P - 2)


def batch_inv(a: ArrayLike) -> np.ndarray:
    """Inverse of every element of a 1-D (or any-shape) array. Same contract as :func:`inv`."""
    return inv(a)


def sum_mod(a: ArrayLike, axis=None) -> np.ndarray:
    """Field sum along an axis (uint64 accumulation; exact for up to 2^32 terms)."""
    return (np.sum(_u64(a) % _P64, axis=axis, dtype=np.uint64) % _P64).astype(np.uint32)


def powers(base: int, n: int) -> np.ndarray:
    """[1, base, base^2, ..., base^(n-1)] as uint32, in O(log n) vector steps."""
    out = np.ones(max(n, 1), dtype=np.uint64)
    if n <= 1:
        return out[:n].astype(np.uint32)
    out[1] = base % P
    filled, step = 2, (base * base) % P  # step = base^filled
    while filled < n:
        take = min(filled, n - filled)
        out[filled:filled + take] = (out[:take] * np.uint64(step)) % _P64
        filled += take
        step = pow_int(base, filled)
    return out.astype(np.uint32)


def pow_int(a: int, e: int) -> int:
    """Scalar a^e mod p on Python ints (e may be negative for a != 0)."""
    return builtins.pow(a % P, e, P)


def inv_int(a: int) -> int:
    a %= P
    if a == 0:
        raise ZeroDivisionError("inverse of zero in BabyBear")
    return pow_int(a, P - 2)


def batch_inv_ints(xs: list[int]) -> list[int]:
    """Inverses of non-zero base-field ints with one exponentiation for all (prefix products): for a handful of
    values this beats a vectorised Fermat power."""
    prefix = [1]
    for x in xs:
        prefix.append(prefix[-1] * x % P)
    inv = pow_int(prefix[-1], P - 2)
    out = [0] * len(xs)
    for i in range(len(xs) - 1, -1, -1):
        out[i] = inv * prefix[i] % P
        inv = inv * xs[i] % P
    return out


# ---------------------------------------------------------------- extension GF(p^4), arrays (..., 4)

def _ext64(a: ArrayLike) -> np.ndarray:
    arr = _u64(a)
    if arr.shape[-1:] != (4,):
        raise ValueError(f"extension elements need a trailing axis of length 4, got shape {arr.shape}")
    return arr


def ext_from_base(a: ArrayLike) -> np.ndarray:
    a = np.asarray(a).astype(np.uint32)
    out = np.zeros(a.shape + (4,), dtype=np.uint32)
    out[..., 0] = a
    return out


def ext_add(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    return add(_ext64(a), _ext64(b))


def ext_sub(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    return sub(_ext64(a), _ext64(b))


def ext_mul_base(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Extension (..., 4) times base (...) elementwise."""
    return mul(_ext64(a), _u64(b)[..., None])


def ext_mul(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    a, b = _ext64(a), _ext64(b)
    a0, a1, a2, a3 = (a[..., i] for i in range(4))
    b0, b1, b2, b3 = (b[..., i] for i in range(4))

    def m(x, y):  # reduced product, < 2^31 so sums of a few stay far below 2^64
        return (x * y) % _P64

    w = np.uint64(W)
    c0 = m(a0, b0) + w * ((m(a1, b3) + m(a2, b2) + m(a3, b1)) % _P64)
    c1 = m(a0, b1) + m(a1, b0) + w * ((m(a2, b3) + m(a3, b2)) % _P64)
    c2 = m(a0, b2) + m(a1, b1) + m(a2, b0) + w * m(a3, b3)
    c3 = m(a0, b3) + m(a1, b2) + m(a2, b1) + m(a3, b0)
    return (np.stack(np.broadcast_arrays(c0, c1, c2, c3), axis=-1) % _P64).astype(np.uint32)


def _ext_norm_parts(a: np.ndarray):
    """For a = e(x^2) + x·o(x^2): a(x)·a(-x) = b0 + b1·x^2 (an element of GF(p^2)), its norm N = b0^2 - W·b1^2."""
    a0, a1, a2, a3 = (a[..., i] for i in range(4))
    w = np.uint64(W)

    def m(x, y):
        return (x * y) % _P64

    b0 = (m(a0, a0) + w * m(a2, a2) + (_P64 - (2 * w * m(a1, a3)) % _P64)) % _P64
    b1 = (2 * m(a0, a2) + 2 * _P64 - m(a1, a1) - (w * m(a3, a3)) % _P64) % _P64
    norm = (m(b0, b0) + _P64 - (w * m(b1, b1)) % _P64) % _P64
    return b0, b1, norm


def _ext_inv_given_norm_inv(a: np.ndarray, b0, b1, ninv) -> np.ndarray:
    # a^{-1} = a(-x) · (b0 - b1·x^2) / N
    a0, a1, a2, a3 = (a[..., i] for i in range(4))
    w = np.uint64(W)

    def m(x, y):
        return (x * y) % _P64

    r0 = (m(a0, b0) + _P64 - (w * m(a2, b1)) % _P64) % _P64
    r1 = ((w * m(a3, b1)) % _P64 + _P64 - m(a1, b0)) % _P64
    r2 = (m(a2, b0) + _P64 - m(a0, b1)) % _P64
    r3 = (m(a1, b1) + _P64 - m(a3, b0)) % _P64
    ninv = _u64(ninv)
    return np.stack([m(r, ninv) for r in (r0, r1, r2, r3)], axis=-1).astype(np.uint32)


def ext_inv(a: ArrayLike) -> np.ndarray:
    """Elementwise inverse via the norm to the base field (one base inversion per element)."""
    a = _ext64(a) % _P64
    b0, b1, norm = _ext_norm_parts(a)
    return _ext_inv_given_norm_inv(a, b0, b1, inv(norm))


def ext_batch_inv(a: ArrayLike) -> np.ndarray:
    return ext_inv(a)


def ext_pow(a: ArrayLike, e: int) -> np.ndarray:
    if e < 0:
        return ext_pow(ext_inv(a), -e)
    base = _ext64(a).astype(np.uint32)
    result = np.zeros_like(base)
    result[..., 0] = 1
    while e:
        if e & 1:
            result = ext_mul(result, base)
        e >>= 1
        if e:
            base = ext_mul(base, base)
    return result


def ext_sum(a: ArrayLike, axis: int = 0) -> np.ndarray:
    """Sum of extension elements along one of the leading axes (negative axes count those axes only)."""
    arr = _ext64(a)
    lead = arr.ndim - 1
    if not -lead <= axis < lead:
        raise ValueError(f"axis {axis} out of range for {lead} leading axes")
    return sum_mod(arr, axis=axis % lead)


# ---------------------------------------------------------------- scalar extension value type

class Ext:
    """An immutable GF(p^4) element on Python ints, with operators; ints mix in as base-field elements.

    Meant for the verifier's few out-of-domain evaluations, where numpy's per-call overhead would dominate.
    """

    __slots__ = ("c",)

    def __init__(self, c0: int | Iterable[int] = 0, c1: int = 0, c2: int = 0, c3: int = 0) -> None:
        if type(c0) is int and type(c1) is int and type(c2) is int and type(c3) is int:  # the common case, fast
            object.__setattr__(self, "c", (c0 % P, c1 % P, c2 % P, c3 % P))
            return
        if isinstance(c0, (int, np.integer)):
            coeffs = (int(c0), int(c1), int(c2), int(c3))
        else:
            coeffs = tuple(int(v) for v in c0)
            if len(coeffs) != 4:
                raise ValueError("an extension element has exactly 4 coefficients")
        object.__setattr__(self, "c", tuple(v % P for v in coeffs))

    def __setattr__(self, name, value):  # immutability: these are used as dict keys and shared freely
        raise AttributeError("Ext is immutable")

    @staticmethod
    def lift(v: "Ext | int") -> "Ext":
        return v if isinstance(v, Ext) else Ext(int(v))

    def __iter__(self):
        return iter(self.c)

    def __repr__(self) -> str:
        return f"Ext{self.c}"

    def __eq__(self, other) -> bool:
        if isinstance(other, (int, np.integer)):
            other = Ext(int(other))
        return isinstance(other, Ext) and self.c == other.c

    def __hash__(self) -> int:
        return hash(self.c)

    def is_zero(self) -> bool:
        return not any(self.c)

    def to_array(self) -> np.ndarray:
        return np.array(self.c, dtype=np.uint32)

    def __add__(self, other):
        o = Ext.lift(other).c
        return Ext(*(x + y for x, y in zip(self.c, o)))

    __radd__ = __add__

    def __sub__(self, other):
        o = Ext.lift(other).c
        return Ext(*(x - y for x, y in zip(self.c, o)))

    def __rsub__(self, other):
        return Ext.lift(other) - self

    def __neg__(self):
        return Ext(*(-x for x in self.c))

    def __mul__(self, other):
        if isinstance(other, (int, np.integer)):
            k = int(other)
            return Ext(*(x * k for x in self.c))
        a0, a1, a2, a3 = self.c
        b0, b1, b2, b3 = other.c
        return Ext(a0 * b0 + W * (a1 * b3 + a2 * b2 + a3 * b1),
                   a0 * b1 + a1 * b0 + W * (a2 * b3 + a3 * b2),
                   a0 * b2 + a1 * b1 + a2 * b0 + W * a3 * b3,
                   a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0)

    __rmul__ = __mul__

    def inverse(self) -> "Ext":
        a0, a1, a2, a3 = self.c
        b0 = (a0 * a0 + W * a2 * a2 - 2 * W * a1 * a3) % P
        b1 = (2 * a0 * a2 - a1 * a1 - W * a3 * a3) % P
        ninv = inv_int(b0 * b0 - W * b1 * b1)  # raises ZeroDivisionError iff self == 0
        return Ext((a0 * b0 - W * a2 * b1) * ninv, (W * a3 * b1 - a1 * b0) * ninv,
                   (a2 * b0 - a0 * b1) * ninv, (a1 * b1 - a3 * b0) * ninv)

    def __truediv__(self, other):
        return self * Ext.lift(other).inverse()

    def __rtruediv__(self, other):
        return Ext.lift(other) * self.inverse()

    def __pow__(self, e: int):
        if e < 0:
            return self.inverse() ** (-e)
        result, base = Ext(1), self
        while e:
            if e & 1:
                result = result * base
            e >>= 1
            if e:
                base = base * base
        return result
