"""Fast elementwise field kernels for the prover: threaded SIMD C from ``zkvm.stark.backend._native`` when built,
numpy (``zkvm.field.babybear``) otherwise, with identical results.

Base-field operands are ``uint32`` arrays of any shape, extension operands ``uint32[..., 4]``; operands
broadcast like numpy (the C path materialises them first). Inputs must be canonical field elements (< p),
which everything produced by this package is. Small inputs go to numpy, where the call overhead is lower.
Prover-only: the verifier never imports this module.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from zkvm.field import babybear as bb
from zkvm.stark.backend import BACKEND

_native = BACKEND.native

#: Below this many elements numpy is as fast as a C call (argument conversion dominates).
MIN_NATIVE = 2048


def native_available() -> bool:
    return _native is not None


def simd_level() -> int:
    """0 scalar, 1 AVX2, 2 AVX-512 (what the native kernels use); -1 without the extension."""
    return int(_native.lib.zk_simd_level()) if _native is not None else -1


def force_simd_level(level: int) -> int:
    """Cap the SIMD level (tests and benchmarks); -1 restores the best the CPU has. Returns the level in use."""
    return int(_native.lib.zk_force_simd_level(level)) if _native is not None else -1


def set_threads(n: int) -> None:
    """Threads used by all native primitives (0 = one per CPU, or the ZKVM_THREADS environment variable). Both
    extensions link their own copy of the thread pool (native/parallel.c), so both are told."""
    for ext in (_native, BACKEND.evalvm):
        if ext is not None:
            ext.lib.zk_set_num_threads(n)


def _ptr(a: np.ndarray):
    return _native.ffi.cast("uint32_t *", a.ctypes.data)


def _contig(a, shape) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(np.asarray(a).astype(np.uint32, copy=False), shape))


def _use_native(count: int, *arrays) -> bool:
    return _native is not None and count >= MIN_NATIVE and all(np.asarray(x).dtype.kind in "ui" for x in arrays)


def _run_binary(c_name: str, a, b, a_shape: tuple[int, ...], b_shape: tuple[int, ...], count: int) -> np.ndarray:
    """Materialise both operands at their broadcast shapes and run the C kernel ``c_name(out, a, b, count)``;
    the result has ``a``'s shape."""
    a2, b2 = _contig(a, a_shape), _contig(b, b_shape)
    out = np.empty(a_shape, dtype=np.uint32)
    getattr(_native.lib, c_name)(_ptr(out), _ptr(a2), _ptr(b2), count)
    return out


def _base_binary(c_name: str, np_fn, a, b) -> np.ndarray:
    a, b = np.asarray(a), np.asarray(b)
    shape = np.broadcast_shapes(a.shape, b.shape)
    count = int(np.prod(shape)) if shape else 1
    if not _use_native(count, a, b):
        return np_fn(a, b)
    return _run_binary(c_name, a, b, shape, shape, count)


def add(a, b) -> np.ndarray:
    return _base_binary("zk_vec_add", bb.add, a, b)


def sub(a, b) -> np.ndarray:
    return _base_binary("zk_vec_sub", bb.sub, a, b)


def mul(a, b) -> np.ndarray:
    return _base_binary("zk_vec_mul", bb.mul, a, b)


def batch_inv(a) -> np.ndarray:
    """Inverse of every element (Montgomery's trick per thread chunk); ZeroDivisionError if any is zero."""
    a = np.asarray(a)
    if not _use_native(a.size, a):
        return bb.batch_inv(a)
    flat = np.ascontiguousarray(a, dtype=np.uint32).reshape(-1)
    out = np.empty_like(flat)
    if _native.lib.zk_vec_inv(_ptr(out), _ptr(flat), flat.size) != 0:
        raise ZeroDivisionError("batch_inv: zero element")
    return out.reshape(a.shape)


def _ext_shape(a, b) -> tuple[tuple[int, ...], int]:
    shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    if shape[-1:] != (4,):
        raise ValueError(f"extension operands need a trailing axis of length 4, got {shape}")
    return shape, int(np.prod(shape[:-1])) if len(shape) > 1 else 1


def _ext_binary(c_name: str, np_fn, a, b) -> np.ndarray:
    a, b = np.asarray(a), np.asarray(b)
    shape, count = _ext_shape(a, b)
    if not _use_native(count, a, b):
        return np_fn(a, b)
    return _run_binary(c_name, a, b, shape, shape, count)


def ext_add(a, b) -> np.ndarray:
    return _ext_binary("zk_ext_add", bb.ext_add, a, b)


def ext_sub(a, b) -> np.ndarray:
    return _ext_binary("zk_ext_sub", bb.ext_sub, a, b)


def ext_mul(a, b) -> np.ndarray:
    return _ext_binary("zk_ext_mul", bb.ext_mul, a, b)


def ext_mul_base(a, b) -> np.ndarray:
    """Extension ``(..., 4)`` times base ``(...)``, elementwise."""
    a, b = np.asarray(a), np.asarray(b)
    lead = np.broadcast_shapes(a.shape[:-1], b.shape)
    count = int(np.prod(lead)) if lead else 1
    if a.shape[-1:] != (4,):
        raise ValueError(f"extension operand needs a trailing axis of length 4, got {a.shape}")
    if not _use_native(count, a, b):
        return bb.ext_mul_base(a, b)
    return _run_binary("zk_ext_mul_base", a, b, lead + (4,), lead, count)


def ext_batch_inv(a) -> np.ndarray:
    """Inverse of every extension element (norms inverted together); ZeroDivisionError if any is zero."""
    a = np.asarray(a)
    if a.shape[-1:] != (4,):
        raise ValueError(f"extension operand needs a trailing axis of length 4, got {a.shape}")
    count = a.size // 4
    if not _use_native(count, a):
        return bb.ext_batch_inv(a)
    flat = np.ascontiguousarray(a, dtype=np.uint32).reshape(-1, 4)
    out = np.empty_like(flat)
    status = _native.lib.zk_ext_inv(_ptr(out), _ptr(flat), count)
    if status == -2:
        raise MemoryError("ext_batch_inv: out of memory")
    if status != 0:
        raise ZeroDivisionError("ext_batch_inv: zero element")
    return out.reshape(a.shape)


def fma_rows_periodic(acc: np.ndarray, a: np.ndarray, factors) -> np.ndarray:
    """In place: ``acc[i, :] += a[i, :] * factors[i % len(factors)]`` for row-major ``uint32[rows, w]``
    matrices (e.g. adding ``x^n · hi(x)`` on an LDE coset, where ``x^n`` repeats with period 2^log_blowup).
    ``acc`` must be a C-contiguous uint32 array; returns it."""
    if not (isinstance(acc, np.ndarray) and acc.dtype == np.uint32 and acc.flags.c_contiguous):
        raise ValueError("acc must be a C-contiguous uint32 array")
    a = np.asarray(a)
    if a.shape != acc.shape:
        raise ValueError(f"shape mismatch: acc {acc.shape}, a {a.shape}")
    f = np.ascontiguousarray(np.asarray(factors).reshape(-1) % bb.P, dtype=np.uint32)
    if f.size == 0:
        raise ValueError("factors must not be empty")
    rows = acc.shape[0] if acc.ndim else 1
    width = acc.size // rows if rows else 0
    if _use_native(acc.size, a):
        a2 = np.ascontiguousarray(a, dtype=np.uint32)
        status = _native.lib.zk_rows_fma_periodic(_ptr(acc), _ptr(a2), rows, width, _ptr(f), f.size)
        if status != 0:
            raise MemoryError("fma_rows_periodic: out of memory")
        return acc
    per_row = f[np.arange(rows) % f.size].astype(np.uint64).reshape((rows,) + (1,) * (acc.ndim - 1))
    acc[...] = bb.add(acc, bb.mul(a, per_row))
    return acc


def poly_eval_ext(coeffs: np.ndarray, z: Iterable[int] | bb.Ext) -> np.ndarray:
    """Evaluate every column of ``coeffs`` (``uint32[n, w]``, row j = coefficient of x^j) at the extension
    point ``z``: returns ``uint32[w, 4]``. A 1-D ``coeffs`` is one column and gives ``uint32[4]``."""
    c = np.asarray(coeffs)
    squeeze = c.ndim == 1
    if squeeze:
        c = c[:, None]
    if c.ndim != 2:
        raise ValueError(f"coeffs must be uint32[n, w], got shape {c.shape}")
    zt = tuple(int(v) % bb.P for v in z)
    if len(zt) != 4:
        raise ValueError("z must have 4 coordinates")
    n, w = c.shape
    if _native is not None and n * w >= MIN_NATIVE and c.dtype.kind in "ui":
        c2 = np.ascontiguousarray(c, dtype=np.uint32)
        out = np.empty((w, 4), dtype=np.uint32)
        zarr = np.array(zt, dtype=np.uint32)
        _native.lib.zk_poly_eval_ext(_ptr(c2), n, w, _ptr(zarr), _ptr(out))
    else:
        out = _poly_eval_ext_numpy(c, zt)
    return out[0] if squeeze else out


def ext_powers(z: Iterable[int] | bb.Ext, n: int) -> np.ndarray:
    """[1, z, z^2, ..., z^(n-1)] as uint32[n, 4], in O(log n) vector steps (doubling)."""
    zz = bb.Ext(tuple(z))
    out = np.zeros((max(n, 1), 4), dtype=np.uint32)
    out[0, 0] = 1
    filled, step = 1, zz  # step = z^filled
    while filled < n:
        take = min(filled, n - filled)
        out[filled:filled + take] = bb.ext_mul(out[:take], step.to_array())
        filled += take
        step = zz ** filled
    return out[:n]


def _poly_eval_ext_numpy(c: np.ndarray, z: tuple[int, ...], block: int = 1 << 14) -> np.ndarray:
    n, w = c.shape
    zpow = ext_powers(z, n).astype(np.uint64)
    acc = np.zeros((w, 4), dtype=np.uint64)
    for s in range(0, n, block):  # bounded temporaries: block x w x 4 uint64
        prod = (np.asarray(c[s:s + block], dtype=np.uint64)[:, :, None] * zpow[s:s + block, None, :]) % np.uint64(bb.P)
        acc = (acc + prod.sum(axis=0, dtype=np.uint64)) % np.uint64(bb.P)
    return acc.astype(np.uint32)
