"""Prover-side array arithmetic, the ``ops`` object the prover hands to ``algebra``, ``logup`` and ``fri``:
the elementwise kernels of :mod:`zkvm.stark.backend.kernels` (threaded C when built, else numpy; identical results)
plus a scalar fast path for extension ops and flat batch inverses. Never imported by the verifier.
"""

from __future__ import annotations

import numpy as np

from zkvm.stark.backend import kernels, native_eval
from zkvm.stark.backend.kernels import _native, _ptr, _use_native
from zkvm.stark.dsl.algebra import batch_inverse as _np_batch_inverse

# Base products and extension-times-base products: exactly the kernels of ``kernels``.
mul = kernels.mul
ext_mul_base = kernels.ext_mul_base

_EXT_BINARY = {"mul": kernels.ext_mul, "add": kernels.ext_add, "sub": kernels.ext_sub}


def _ext_binary(op: str, a, b) -> np.ndarray:
    """``kernels``' extension op, except that one operand being a single extension element runs the scalar
    kernel of the constraint VM (no broadcast copy)."""
    a, b = np.asarray(a), np.asarray(b)
    shape, count = kernels._ext_shape(a, b)
    if (_use_native(count, a, b) and native_eval.available() and (a.size == 4 or b.size == 4)
            and a.shape != b.shape):
        if b.size == 4 and a.shape == shape:
            return native_eval.ext_scalar_op(a, b, op)
        if a.size == 4 and b.shape == shape:
            return native_eval.ext_scalar_op(b, a, "rsub" if op == "sub" else op)
    return _EXT_BINARY[op](a, b)


def ext_mul(a, b) -> np.ndarray:
    return _ext_binary("mul", a, b)


def ext_add(a, b) -> np.ndarray:
    return _ext_binary("add", a, b)


def ext_sub(a, b) -> np.ndarray:
    return _ext_binary("sub", a, b)


def batch_inverse(a) -> np.ndarray:
    """Flat inverse of every element; the numpy fallback is the tree Montgomery trick of ``algebra``."""
    a = np.ascontiguousarray(np.asarray(a).astype(np.uint32, copy=False).reshape(-1))
    if not _use_native(a.size, a):
        return _np_batch_inverse(a)
    out = np.empty_like(a)
    if _native.lib.zk_vec_inv(_ptr(out), _ptr(a), a.size) != 0:
        raise ZeroDivisionError("batch_inverse: zero element")
    return out


def ext_batch_inverse(a) -> np.ndarray:
    from zkvm.stark.dsl.algebra import ext_batch_inverse as np_ext_inv

    a = np.ascontiguousarray(np.asarray(a, dtype=np.uint32))
    if not _use_native(a.shape[0], a):
        return np_ext_inv(a)
    out = np.empty_like(a)
    if _native.lib.zk_ext_inv(_ptr(out), _ptr(a), a.shape[0]) != 0:
        raise ZeroDivisionError("ext_batch_inverse: zero element")
    return out
