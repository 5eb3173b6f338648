"""Prover-side array arithmetic: the threaded C field kernels of ``zkvm.stark._native`` when built, else the
numpy functions of ``zkvm.field.babybear`` (identical results). Operands broadcast like numpy; the C path
materialises broadcast operands first. Never imported by the verifier.
"""

from __future__ import annotations

import numpy as np

from zkvm.field import babybear as bb
from zkvm.stark import native_eval
from zkvm.stark.algebra import batch_inverse as _np_batch_inverse

try:
    from zkvm.stark import _native  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    _native = None

_MIN_NATIVE = 4096  # below this, call overhead dominates: use numpy
_SCALAR_OP = {"zk_ext_mul": "mul", "zk_ext_add": "add", "zk_ext_sub": "sub"}


def _prep(a, shape) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=np.uint32), shape))


def _ptr(a):
    return _native.ffi.cast("uint32_t *", a.ctypes.data)


def _ext_binary(fn_name: str, np_fn, a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    shape = np.broadcast_shapes(a.shape, b.shape)
    n = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    if _native is None or n < _MIN_NATIVE or a.dtype.kind not in "ui" or b.dtype.kind not in "ui":
        return np_fn(a, b)
    # one operand a single extension element: the scalar kernel, no broadcast copy
    if native_eval.available() and (a.size == 4 or b.size == 4) and a.shape != b.shape:
        op = _SCALAR_OP[fn_name]
        if b.size == 4 and a.shape == shape:
            return native_eval.ext_scalar_op(a, b, op)
        if a.size == 4 and b.shape == shape:
            return native_eval.ext_scalar_op(b, a, "rsub" if op == "sub" else op)
    a2, b2 = _prep(a, shape), _prep(b, shape)
    out = np.empty(shape, dtype=np.uint32)
    getattr(_native.lib, fn_name)(_ptr(out), _ptr(a2), _ptr(b2), n)
    return out


def ext_mul(a, b) -> np.ndarray:
    return _ext_binary("zk_ext_mul", bb.ext_mul, a, b)


def ext_add(a, b) -> np.ndarray:
    return _ext_binary("zk_ext_add", bb.ext_add, a, b)


def ext_sub(a, b) -> np.ndarray:
    return _ext_binary("zk_ext_sub", bb.ext_sub, a, b)


def ext_mul_base(a, b) -> np.ndarray:
    """Extension (..., 4) times base (...)."""
    a = np.asarray(a)
    b = np.asarray(b)
    shape = np.broadcast_shapes(a.shape[:-1], b.shape)
    n = int(np.prod(shape)) if shape else 1
    if _native is None or n < _MIN_NATIVE:
        return bb.ext_mul_base(a, b)
    a2 = _prep(a, shape + (4,))
    b2 = np.ascontiguousarray(np.broadcast_to(b, shape).astype(np.uint32, copy=False))
    out = np.empty(shape + (4,), dtype=np.uint32)
    _native.lib.zk_ext_mul_base(_ptr(out), _ptr(a2), _ptr(b2), n)
    return out


def mul(a, b) -> np.ndarray:
    a = np.asarray(a)
    b = np.asarray(b)
    shape = np.broadcast_shapes(a.shape, b.shape)
    n = int(np.prod(shape)) if shape else 1
    if _native is None or n < _MIN_NATIVE:
        return bb.mul(a, b)
    a2 = np.ascontiguousarray(np.broadcast_to(a, shape).astype(np.uint32, copy=False))
    b2 = np.ascontiguousarray(np.broadcast_to(b, shape).astype(np.uint32, copy=False))
    out = np.empty(shape, dtype=np.uint32)
    _native.lib.zk_vec_mul(_ptr(out), _ptr(a2), _ptr(b2), n)
    return out


def batch_inverse(a) -> np.ndarray:
    a = np.ascontiguousarray(np.asarray(a).astype(np.uint32, copy=False).reshape(-1))
    if _native is None or a.size < _MIN_NATIVE:
        return _np_batch_inverse(a)
    out = np.empty_like(a)
    if _native.lib.zk_vec_inv(_ptr(out), _ptr(a), a.size) != 0:
        raise ZeroDivisionError("batch_inverse: zero element")
    return out


def ext_batch_inverse(a) -> np.ndarray:
    from zkvm.stark.algebra import ext_batch_inverse as np_ext_inv

    a = np.ascontiguousarray(np.asarray(a, dtype=np.uint32))
    if _native is None or a.shape[0] < _MIN_NATIVE:
        return np_ext_inv(a)
    out = np.empty_like(a)
    if _native.lib.zk_ext_inv(_ptr(out), _ptr(a), a.shape[0]) != 0:
        raise ZeroDivisionError("ext_batch_inverse: zero element")
    return out
