"""Array algebra the protocol needs on top of :mod:`zkvm.field.babybear`: exact matrix products, tree batch
inversion, and the arithmetic backends the constraint evaluator runs on. Pure numpy (the verifier imports it).
"""

from __future__ import annotations

import functools

import numpy as np

from zkvm.field import babybear as bb
from zkvm.field.babybear import Ext, P

_P64 = np.uint64(P)


# ---------------------------------------------------------------- exact products through float64 BLAS

def mat_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(a @ b) mod p`` for canonical ``a: [r, K]`` and ``b: [K, c]``, exactly, using float64 BLAS.

    ``b`` is split into limbs of ``L`` bits and the inner dimension into chunks of ``S`` rows with
    ``S·2^(31+L) < 2^53``, so every partial sum is an exactly representable integer.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    r, k = a.shape
    k2, c = b.shape
    if k != k2:
        raise ValueError(f"mat_dot: inner dimensions {k} != {k2}")
    out = np.zeros((r, c), dtype=np.uint64)
    if k == 0 or r == 0 or c == 0:
        return out.astype(np.uint32)
    limb_bits, chunk = (16, 64) if k <= 4096 else (8, 1 << 14)
    n_limbs = -(-31 // limb_bits)
    mask = (1 << limb_bits) - 1
    b64 = b.astype(np.int64)
    limbs = np.concatenate([((b64 >> (limb_bits * j)) & mask) for j in range(n_limbs)], axis=1).astype(np.float64)
    row_block = 1 << 16 if k <= 4096 else max(1, (1 << 22) // k)
    for r0 in range(0, r, row_block):
        r1 = min(r, r0 + row_block)
        acc = np.zeros((r1 - r0, c), dtype=np.uint64)
        for k0 in range(0, k, chunk):
            k1 = min(k, k0 + chunk)
            s = a[r0:r1, k0:k1].astype(np.float64) @ limbs[k0:k1]  # [rows, n_limbs*c]
            s = s.astype(np.uint64) % _P64
            for j in range(n_limbs):
                part = s[:, j * c:(j + 1) * c]
                acc += (part << np.uint64(limb_bits * j)) % _P64
            acc %= _P64
        out[r0:r1] = acc
    return out.astype(np.uint32)


def base_dot_ext(m: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """``sum_j m[:, j] · coeffs[j]`` for base ``m: [N, k]`` and extension ``coeffs: [k, 4]`` -> ``[N, 4]``."""
    return mat_dot(m, coeffs)


# ---------------------------------------------------------------- inversion

def batch_inverse(a: np.ndarray) -> np.ndarray:
    """Inverse of every element of a 1-D base array: Montgomery's trick done level by level on a binary tree
    (about 3 multiplications per element plus one exponentiation). Raises ZeroDivisionError on a zero."""
    a = np.asarray(a, dtype=np.uint64).reshape(-1)
    n = a.shape[0]
    if n == 0:
        return a.astype(np.uint32)
    size = 1 << (n - 1).bit_length()
    level = np.ones(size, dtype=np.uint64)
    level[:n] = a % _P64
    levels = [level]
    while levels[-1].shape[0] > 1:
        cur = levels[-1]
        levels.append((cur[0::2] * cur[1::2]) % _P64)
    root = int(levels[-1][0])
    if root == 0:
        raise ZeroDivisionError("batch_inverse: zero element")
    inv = np.array([bb.inv_int(root)], dtype=np.uint64)
    for cur in reversed(levels[:-1]):
        nxt = np.empty(cur.shape[0], dtype=np.uint64)
        nxt[0::2] = (inv * cur[1::2]) % _P64
        nxt[1::2] = (inv * cur[0::2]) % _P64
        inv = nxt
    return inv[:n].astype(np.uint32)


def ext_batch_inverse(a: np.ndarray) -> np.ndarray:
    """Inverse of every element of an extension array ``[N, 4]`` (tree Montgomery trick in GF(p^4))."""
    a = np.asarray(a, dtype=np.uint32)
    n = a.shape[0]
    if n == 0:
        return a
    size = 1 << (n - 1).bit_length()
    level = np.zeros((size, 4), dtype=np.uint32)
    level[:, 0] = 1
    level[:n] = a
    levels = [level]
    while levels[-1].shape[0] > 1:
        cur = levels[-1]
        levels.append(bb.ext_mul(cur[0::2], cur[1::2]))
    root = Ext(levels[-1][0])
    if root.is_zero():
        raise ZeroDivisionError("ext_batch_inverse: zero element")
    inv = root.inverse().to_array()[None, :]
    for cur in reversed(levels[:-1]):
        nxt = np.empty_like(cur)
        nxt[0::2] = bb.ext_mul(inv, cur[1::2])
        nxt[1::2] = bb.ext_mul(inv, cur[0::2])
        inv = nxt
    return inv[:n]


# ---------------------------------------------------------------- scalars and powers

def ext_powers(x: Ext, n: int) -> np.ndarray:
    """``[1, x, ..., x^(n-1)]`` as ``uint32[n, 4]`` (doubling: O(log n) vectorised steps)."""
    out = np.zeros((max(n, 1), 4), dtype=np.uint32)
    out[0, 0] = 1
    filled, step = 1, x
    while filled < n:
        take = min(filled, n - filled)
        out[filled:filled + take] = bb.ext_mul(out[:take], step.to_array())
        filled += take
        step = step * step
    return out[:n]


def frobenius_conjugates(z: Ext) -> list[Ext]:
    return [z, z ** P, z ** (P * P), z ** (P * P * P)]


@functools.lru_cache(maxsize=64)
def _min_poly_parts(zc: tuple[int, int, int, int]) -> tuple[list[Ext], list[Ext]]:
    """``m(X) = prod_k (X - z^(p^k))`` (base coefficients, as Ext) and ``q(X) = m(X)/(X - z)``, low degree first.
    Cached: the prover asks for the same few points (zeta, zeta·g) once per row block and table."""
    z = Ext(zc)
    m = [Ext(1)]  # coefficients of prod (X - c), low degree first
    for c in frobenius_conjugates(z):
        m = [(m[i - 1] if i > 0 else Ext(0)) - (c * m[i] if i < len(m) else Ext(0)) for i in range(len(m) + 1)]
    if any(any(mc.c[1:]) for mc in m):
        raise ArithmeticError("minimal polynomial of z is not over the base field")
    # synthetic division of m by (X - z): q has degree 3
    q = [Ext(0)] * 4
    carry = Ext(0)
    for i in range(4, 0, -1):
        carry = m[i] + carry * z if i < 4 else m[4]
        q[i - 1] = carry
    return m, q


def inv_x_minus_z(xs: np.ndarray, z: Ext, kernels=None) -> np.ndarray:
    """``1 / (x - z)`` for base points ``xs`` (1-D) and one extension point ``z`` not in the base field.

    With ``m(X) = prod_k (X - z^(p^k))`` (base coefficients) and ``q(X) = m(X) / (X - z)``:
    ``1/(x - z) = q(x) / m(x)``, so only one base-field batch inversion is needed. ``kernels`` (optional)
    supplies faster ``mul, ext_mul_base, ext_add, batch_inverse`` array functions.
    """
    m, q = _min_poly_parts(z.c)
    if kernels is None:
        xs64 = np.asarray(xs, dtype=np.uint64)
        mx = np.zeros_like(xs64)
        for coef in reversed([mc.c[0] for mc in m]):
            mx = (mx * xs64 + np.uint64(coef)) % _P64
        qx = np.zeros(xs64.shape + (4,), dtype=np.uint64)
        for coef in reversed(q):
            qx = (qx * xs64[:, None] + np.array(coef.c, dtype=np.uint64)) % _P64
        return bb.ext_mul_base(qx.astype(np.uint32), batch_inverse(mx))
    k = kernels
    xs32 = np.ascontiguousarray(np.asarray(xs).astype(np.uint32))
    mx = np.full(xs32.shape, m[4].c[0], dtype=np.uint32)
    for coef in reversed([mc.c[0] for mc in m[:4]]):
        mx = bb.add(k.mul(mx, xs32), coef)
    qx = np.broadcast_to(q[3].to_array(), xs32.shape + (4,))
    for coef in reversed(q[:3]):
        qx = k.ext_add(k.ext_mul_base(qx, xs32), coef.to_array())
    return k.ext_mul_base(qx, k.batch_inverse(mx))


# ---------------------------------------------------------------- evaluator backends

class BaseArrayOps:
    """Base-field numpy arrays (uint64 holding canonical values) with Python-int constants mixed in."""

    @staticmethod
    def _red(s):
        return np.minimum(s, s - _P64)  # s < 2p: wraps below zero to a huge value when s < p

    def add(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return (a + b) % P
        if isinstance(a, int):
            a, b = b, a
        if isinstance(b, int):
            return a if b == 0 else self._red(a + np.uint64(b))
        return self._red(a + b)

    def sub(self, a, b):
        if isinstance(b, int):
            return self.add(a, (P - b) % P)
        if isinstance(a, int):
            return self._red((_P64 + np.uint64(a)) - b)
        return self._red(a + (_P64 - b))

    def mul(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return (a * b) % P
        if isinstance(a, int):
            a, b = b, a
        if isinstance(b, int):
            if b == 0:
                return 0
            if b == 1:
                return a
            return (a * np.uint64(b)) % _P64
        return (a * b) % _P64

    def neg(self, a):
        return self.sub(0, a)


class ExtScalarOps:
    """Extension scalars (:class:`Ext`) with Python-int constants: the verifier's backend."""

    def add(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return (a + b) % P
        return (a if isinstance(a, Ext) else Ext(a)) + b

    def sub(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return (a - b) % P
        return (a if isinstance(a, Ext) else Ext(a)) - b

    def mul(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return (a * b) % P
        if isinstance(a, int):
            a, b = b, a
        return a * b

    def neg(self, a):
        return (-a) % P if isinstance(a, int) else -a


class ExtArrayOps:
    """Mixed arrays: base values ``uint64[N]`` (or ints) and extension values ``[N, 4]`` / ``[4]`` (ext scalars
    broadcast). Used by the prover for the LogUp constraints over the LDE. ``f`` supplies the array kernels
    (``ext_add, ext_sub, ext_mul, ext_mul_base, mul``): numpy by default, the prover passes its C kernels."""

    base = BaseArrayOps()

    def __init__(self, f=None) -> None:
        self.f = f or bb

    @staticmethod
    def lift(v, n: int | None = None):
        """To an extension array (base arrays and ints get a zero upper part)."""
        if isinstance(v, Ext):
            return v.to_array()[None, :]
        if isinstance(v, int):
            return np.array([[v % P, 0, 0, 0]], dtype=np.uint32)
        v = np.asarray(v)
        if v.ndim == 2:
            return v
        return bb.ext_from_base(v)

    def add(self, a, b):
        return self.f.ext_add(self.lift(a), self.lift(b))

    def sub(self, a, b):
        return self.f.ext_sub(self.lift(a), self.lift(b))

    def mul(self, a, b):
        a_ext = isinstance(a, Ext) or (isinstance(a, np.ndarray) and a.ndim == 2)
        b_ext = isinstance(b, Ext) or (isinstance(b, np.ndarray) and b.ndim == 2)
        if not a_ext and not b_ext:
            return self.base.mul(a, b)
        if a_ext and not b_ext:
            a, b = b, a
            a_ext, b_ext = b_ext, a_ext
        # now b is ext
        if not a_ext:
            if isinstance(a, int):
                return self.f.ext_mul_base(self.lift(b), np.uint32(a % P))
            return self.f.ext_mul_base(self.lift(b), a)
        return self.f.ext_mul(self.lift(a), self.lift(b))

    def neg(self, a):
        return self.f.ext_sub(np.zeros(4, dtype=np.uint32), self.lift(a))
