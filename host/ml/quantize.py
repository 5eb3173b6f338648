"""Post-training quantisation of a FloatModel to the guest's integer scheme (TFLite convention).

- Activations: asymmetric int8, scale and zero point from the min/max seen on calibration data (the range
  always includes 0 so that padding and ReLU are exact). A ReLU right after a dense/conv is fused into it
  (its clamp starts at the zero point).
- Weights: symmetric int8 per output channel (scale = max|w| / 127). Bias: int32 at scale s_in * s_w.
- Requantisation: real multiplier s_in * s_w / s_out as a Q31 multiplier and a power-of-two shift.
"""

from __future__ import annotations

import math

import numpy as np

from host.ml.blob import Conv2d, Dense, Flatten, Pool, QuantModel, Relu, Requant
from host.ml.float_model import FConv, FDense, FFlatten, FloatModel, FPool, FRelu
from zkvm.errors import InputError


def quantize_multiplier(real: float) -> tuple[int, int]:
    """real >= 0 -> (mult in [2^30, 2^31) or 0, shift) with real ~= mult * 2^shift / 2^31 (TFLite)."""
    if real < 0:
        raise InputError(f"negative requantisation multiplier {real}")
    if real == 0.0:
        return 0, 0
    frac, exp = math.frexp(real)
    mult = int(round(frac * (1 << 31)))
    if mult == 1 << 31:
        mult //= 2
        exp += 1
    if exp < -31:
        return 0, 0
    if exp > 30:
        raise InputError(f"requantisation multiplier {real} too large")
    return mult, exp


def activation_qparams(lo: float, hi: float) -> tuple[float, int]:
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < 1e-12:
        hi = lo + 1e-6
    scale = (hi - lo) / 255.0
    zp = int(np.clip(round(-128 - lo / scale), -128, 127))
    return scale, zp


def _requant(weight: np.ndarray, bias: np.ndarray, s_in: float, s_out: float, zp_out: int, relu: bool):
    w2 = weight.reshape(weight.shape[0], -1)
    s_w = np.abs(w2).max(axis=1) / 127.0
    s_w[s_w == 0] = 1.0
    wq = np.clip(np.round(w2 / s_w[:, None]), -127, 127).astype(np.int8).reshape(weight.shape)
    bq = np.clip(np.round(bias / (s_in * s_w)), -(1 << 31), (1 << 31) - 1).astype(np.int32)
    mults, shifts = zip(*(quantize_multiplier(s_in * s / s_out) for s in s_w))
    q = Requant(
        bq, np.array(mults, dtype=np.int32), np.array(shifts, dtype=np.int32), zp_out, zp_out if relu else -128, 127, s_out
    )
    return wq, q


def quantize(model: FloatModel, calibration: np.ndarray) -> QuantModel:
    """Quantise `model`; `calibration` (N, ...) float inputs set the activation ranges."""
    outs = model.forward(calibration, keep=True)
    s_in, zp_in = activation_qparams(*model.input_range)
    qm = QuantModel(model.input_shape, s_in, zp_in, [])
    ops = model.ops
    i = 0
    while i < len(ops):
        op = ops[i]
        if isinstance(op, (FDense, FConv)):
            fuse = i + 1 < len(ops) and isinstance(ops[i + 1], FRelu)
            out = outs[i + 1] if fuse else outs[i]
            s_out, zp_out = activation_qparams(float(out.min()), float(out.max()))
            wq, q = _requant(op.weight, op.bias, s_in, s_out, zp_out, fuse)
            qm.layers.append(Dense(wq, q) if isinstance(op, FDense) else Conv2d(wq, op.stride, op.pads, q))
            s_in, zp_in = s_out, zp_out
            i += 2 if fuse else 1
            continue
        if isinstance(op, FRelu):
            qm.layers.append(Relu())
        elif isinstance(op, FPool):
            qm.layers.append(Pool(op.is_max, op.kernel, op.stride, op.pads))
        elif isinstance(op, FFlatten):
            qm.layers.append(Flatten())
        else:  # pragma: no cover
            raise InputError(f"cannot quantise {type(op).__name__}")
        i += 1
    return qm
