"""Numpy reference of the guest's integer engine (guest/nn/nn.c), bit-exact, vectorised over a batch.

Integer semantics follow the C code operation for operation: int32 accumulators wrap like two's complement
(the C sums in uint32), the TFLite SaturatingRoundingDoublingHighMul / RoundingDivideByPOT pair, clamps.
"""

from __future__ import annotations

import numpy as np

from host.ml.blob import (ADD_LEFT_SHIFT, Add, Conv2d, Dense, Flatten, GlobalAvgPool, Lut, Pool, QuantModel, Relu,
                          Requant, Save)

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


def wrap_i32(x: np.ndarray) -> np.ndarray:
    """Two's complement wrap of int64 values to int32 range (kept as int64)."""
    return ((np.asarray(x, dtype=np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def sat_rounding_doubling_high_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b  # |ab| <= 2^62: exact in int64
    nudged = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    q = np.where(nudged >= 0, nudged >> 31, -((-nudged) >> 31))
    return np.where((a == I32_MIN) & (b == I32_MIN), I32_MAX, q)


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x: np.ndarray, mult: np.ndarray, shift: np.ndarray) -> np.ndarray:
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = np.clip(np.asarray(x, dtype=np.int64) << left, I32_MIN, I32_MAX)
    return rounding_divide_by_pot(sat_rounding_doubling_high_mul(shifted, mult), right)


def requantize(acc: np.ndarray, q: Requant, channel_axis: int) -> np.ndarray:
    """acc: int64 accumulators (already wrapped to int32), channels along `channel_axis`."""
    shape = [1] * acc.ndim
    shape[channel_axis] = -1
    mult = np.asarray(q.mult, dtype=np.int64).reshape(shape)
    shift = np.asarray(q.shift, dtype=np.int64).reshape(shape)
    r = multiply_by_quantized_multiplier(acc, mult, shift)
    r = np.clip(r, -512, 512) + q.out_zp
    return np.clip(r, q.act_min, q.act_max).astype(np.int8)


def _dense(x: np.ndarray, layer: Dense, in_zp: int) -> np.ndarray:
    xc = x.reshape(x.shape[0], -1).astype(np.int64) - in_zp
    acc = xc @ layer.weights.astype(np.int64).T + layer.q.bias.astype(np.int64)
    return requantize(wrap_i32(acc), layer.q, 1).reshape(x.shape[0], -1, 1, 1)


def _windows(x: np.ndarray, kernel, stride, pads, fill) -> np.ndarray:
    """(N, C, H, W) -> (N, C, OH, OW, KH, KW) windows of the padded input."""
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = kernel, stride, pads
    padded = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=fill)
    win = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))
    return win[:, :, ::sh, ::sw]


def _conv(x: np.ndarray, layer: Conv2d, in_zp: int) -> np.ndarray:
    oc, ic, kh, kw = layer.weights.shape
    xc = x.astype(np.int64) - in_zp  # padding contributes (zp - zp) * w = 0
    win = _windows(xc, (kh, kw), layer.stride, layer.pads, 0)  # N, C, OH, OW, KH, KW
    acc = np.einsum("nchwij,ocij->nohw", win, layer.weights.astype(np.int64), optimize=True)
    acc = acc + layer.q.bias.astype(np.int64).reshape(1, -1, 1, 1)
    return requantize(wrap_i32(acc), layer.q, 1)


def _pool(x: np.ndarray, layer: Pool) -> np.ndarray:
    x64 = x.astype(np.int64)
    valid = _windows(np.ones((1, 1) + x.shape[2:], dtype=np.int64), layer.kernel, layer.stride, layer.pads, 0)
    if layer.is_max:
        win = _windows(x64, layer.kernel, layer.stride, layer.pads, -(1 << 40))
        out = win.max(axis=(4, 5))
    else:
        win = _windows(x64, layer.kernel, layer.stride, layer.pads, 0)
        total = win.sum(axis=(4, 5))
        count = valid.sum(axis=(4, 5))
        half = count // 2
        # C integer division truncates toward zero; both operands' signs are handled explicitly.
        pos = (total + half) // count
        neg = -((-(total - half)) // count)
        out = np.where(total >= 0, pos, neg)
    return np.clip(out, -128, 127).astype(np.int8)


def _round_div(total: np.ndarray, count) -> np.ndarray:
    """C's (sum +- count/2) / count with truncating division: rounding half away from zero."""
    half = count // 2
    pos = (total + half) // count
    neg = -((-(total - half)) // count)
    return np.where(total >= 0, pos, neg)


def _global_avgpool(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    total = x.astype(np.int64).reshape(n, c, h * w).sum(axis=2)
    return np.clip(_round_div(total, h * w), -128, 127).astype(np.int8).reshape(n, c, 1, 1)


def _add(a: np.ndarray, zp_a: int, b: np.ndarray, zp_b: int, layer: Add) -> np.ndarray:
    va = multiply_by_quantized_multiplier((a.astype(np.int64) - zp_a) << ADD_LEFT_SHIFT, layer.mult_a, layer.shift_a)
    vb = multiply_by_quantized_multiplier((b.astype(np.int64) - zp_b) << ADD_LEFT_SHIFT, layer.mult_b, layer.shift_b)
    r = multiply_by_quantized_multiplier(wrap_i32(va + vb), layer.mult_out, layer.shift_out)
    r = np.clip(r, -512, 512) + layer.out_zp
    return np.clip(r, layer.act_min, layer.act_max).astype(np.int8)


def run(model: QuantModel, x: np.ndarray) -> np.ndarray:
    """int8 inputs of shape (N, C*H*W) or (N, C, H, W) -> int8 final tensors of shape (N, outputs)."""
    n = x.shape[0]
    act = np.asarray(x, dtype=np.int8).reshape(n, *model.input_shape)
    zp = model.input_zp
    stash, stash_zp = None, 0
    for layer in model.layers:
        if isinstance(layer, Dense):
            act, zp = _dense(act, layer, zp), layer.q.out_zp
        elif isinstance(layer, Conv2d):
            act, zp = _conv(act, layer, zp), layer.q.out_zp
        elif isinstance(layer, Pool):
            act = _pool(act, layer)
        elif isinstance(layer, Relu):
            act = np.maximum(act, np.int8(zp))
        elif isinstance(layer, Flatten):
            act = act.reshape(n, -1, 1, 1)
        elif isinstance(layer, Lut):
            act, zp = np.asarray(layer.table, dtype=np.int8)[act.astype(np.int64) + 128], layer.out_zp
        elif isinstance(layer, GlobalAvgPool):
            act = _global_avgpool(act)
        elif isinstance(layer, Save):
            stash, stash_zp = act.copy(), zp
        elif isinstance(layer, Add):
            act, zp = _add(act, zp, stash, stash_zp, layer), layer.out_zp
    return act.reshape(n, -1)


def predict(model: QuantModel, x: np.ndarray) -> np.ndarray:
    """Class = first index of the maximum int8 output, like nn_argmax."""
    return run(model, x).argmax(axis=1)
