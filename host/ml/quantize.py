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

from host.ml.blob import (ADD_LEFT_SHIFT, Add, Conv2d, Dense, Flatten, GlobalAvgPool, Lut, Pool, QuantModel, Relu,
                          Requant, Save)
from host.ml.float_model import FAct, FAdd, FConv, FDense, FFlatten, FGlobalAvgPool, FloatModel, FPool, FRelu, FSave
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
    if not math.isfinite(scale) or scale > 1e30:  # the blob records scales as float32
        raise InputError(f"a value range of [{lo:.3g}, {hi:.3g}] is too wide to quantise (inputs or weights too large)")
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


def _clamp_range(act: FAct, s_out: float, zp_out: int) -> tuple[int, int]:
    """A Clip fused into the layer before it: its bounds on the output's int8 grid."""
    lo = -128 if not np.isfinite(act.lo) else int(np.clip(zp_out + round(act.lo / s_out), -128, 127))
    hi = 127 if not np.isfinite(act.hi) else int(np.clip(zp_out + round(act.hi / s_out), -128, 127))
    return lo, max(lo, hi)


def lut_layer(act: FAct, s_in: float, zp_in: int) -> Lut:
    """The 256-entry table of an elementwise activation: every int8 input's real value through the function,
    requantised to an output scale covering the function's image of the whole input grid (nothing clamps)."""
    x = (np.arange(-128, 128, dtype=np.float64) - zp_in) * s_in
    y = act(x)
    s_out, zp_out = activation_qparams(float(y.min()), float(y.max()))
    table = np.clip(np.round(y / s_out) + zp_out, -128, 127).astype(np.int8)
    return Lut(table, zp_out, s_out)


def add_layer(s_a: float, s_b: float, s_out: float, zp_out: int, relu: bool) -> Add:
    """TFLite's quantised ADD: both inputs rescaled to twice the larger scale (multipliers <= 1/2, so the sum
    of two shifted inputs stays below 2^29), the sum rescaled to the output."""
    twice_max = 2.0 * max(s_a, s_b)
    ma, sa = quantize_multiplier(s_a / twice_max)
    mb, sb = quantize_multiplier(s_b / twice_max)
    mo, so = quantize_multiplier(twice_max / ((1 << ADD_LEFT_SHIFT) * s_out))
    return Add(ma, sa, mb, sb, mo, so, zp_out, zp_out if relu else -128, 127, s_out)


def quantize(model: FloatModel, calibration: np.ndarray,
             input_range: tuple[float, float] | None = None) -> QuantModel:
    """Quantise `model`; `calibration` (N, ...) float inputs set the activation ranges. The input's range is
    `input_range`, else the model's, else the calibration data's."""
    calibration = np.asarray(calibration, dtype=np.float64)
    if calibration.size == 0 or not np.all(np.isfinite(calibration)):
        raise InputError("calibration data must be a non-empty array of finite numbers")
    with np.errstate(all="ignore"):
        outs = model.forward(calibration, keep=True)
    for k, out in enumerate(outs):
        if not np.all(np.isfinite(out)):
            raise InputError(f"the float model gives non-finite values (inf/NaN) at layer {k} "
                             f"({type(model.ops[k]).__name__}) on the calibration data: weights too large?")
    rng = input_range or model.input_range or (float(calibration.min()), float(calibration.max()))
    s_in, zp_in = activation_qparams(*rng)
    qm = QuantModel(model.input_shape, s_in, zp_in, [])
    stash = (s_in, zp_in)
    ops = model.ops
    i = 0
    while i < len(ops):
        op = ops[i]
        nxt = ops[i + 1] if i + 1 < len(ops) else None
        fuse_clip = isinstance(nxt, FAct) and nxt.kind == "clip"
        fuse = isinstance(nxt, FRelu) or fuse_clip
        if isinstance(op, (FDense, FConv)):
            out = outs[i + 1] if fuse else outs[i]
            s_out, zp_out = activation_qparams(float(out.min()), float(out.max()))
            wq, q = _requant(op.weight, op.bias, s_in, s_out, zp_out, isinstance(nxt, FRelu))
            if fuse_clip:
                q.act_min, q.act_max = _clamp_range(nxt, s_out, zp_out)
            qm.layers.append(Dense(wq, q) if isinstance(op, FDense) else Conv2d(wq, op.stride, op.pads, q))
            s_in, zp_in = s_out, zp_out
            i += 2 if fuse else 1
            continue
        if isinstance(op, FAdd):
            out = outs[i + 1] if fuse else outs[i]
            s_out, zp_out = activation_qparams(float(out.min()), float(out.max()))
            layer = add_layer(s_in, stash[0], s_out, zp_out, isinstance(nxt, FRelu))
            if fuse_clip:
                layer.act_min, layer.act_max = _clamp_range(nxt, s_out, zp_out)
            qm.layers.append(layer)
            s_in, zp_in = s_out, zp_out
            i += 2 if fuse else 1
            continue
        if isinstance(op, FRelu):
            qm.layers.append(Relu())
        elif isinstance(op, FAct):
            layer = lut_layer(op, s_in, zp_in)
            qm.layers.append(layer)
            s_in, zp_in = layer.out_scale, layer.out_zp
        elif isinstance(op, FPool):
            qm.layers.append(Pool(op.is_max, op.kernel, op.stride, op.pads))
        elif isinstance(op, FGlobalAvgPool):
            qm.layers.append(GlobalAvgPool())
        elif isinstance(op, FFlatten):
            qm.layers.append(Flatten())
        elif isinstance(op, FSave):
            qm.layers.append(Save())
            stash = (s_in, zp_in)
        else:  # pragma: no cover
            raise InputError(f"cannot quantise {type(op).__name__}")
        i += 1
    return qm
