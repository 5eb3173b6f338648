"""The model blob: a versioned, little-endian description of an integer network, read by `guest/nn/nn.c`.

Layout (version 2; every integer is 4 bytes little-endian, no alignment anywhere):

    header   magic "ZKNN", version, n_layers, in_c, in_h, in_w, in_zp (i32), in_scale (f32 bits, informational)
    layer    type, body_len, body[body_len]          (repeated n_layers times, nothing after the last)

Bodies (weights are int8, per-channel arrays are int32; scales are float32 bits the guest never reads):

    DENSE    in_n, out_n, out_zp, act_min, act_max, out_scale, w[out_n][in_n], bias[out_n], mult[out_n], shift[out_n]
    CONV2D   in_c, out_c, kh, kw, sh, sw, pad_top, pad_left, pad_bottom, pad_right, out_zp, act_min, act_max,
             out_scale, w[out_c][in_c][kh][kw], bias[out_c], mult[out_c], shift[out_c]
    RELU     (empty)      FLATTEN (empty)
    MAXPOOL / AVGPOOL  kh, kw, sh, sw, pad_top, pad_left, pad_bottom, pad_right
  version 2 adds (a version-1 blob is still read; it cannot hold these):
    LUT      out_zp, out_scale, table[256] int8        y = table[x + 128]   (sigmoid, tanh, leaky relu, clip)
    GLOBAL_AVGPOOL (empty)   SAVE (empty: copies the current tensor to the stash)
    ADD      out_zp, act_min, act_max, out_scale, mult_a, shift_a, mult_b, shift_b, mult_out, shift_out
             (a = the current tensor, b = the stash: the residual add)

The guest's checks (and exit codes) are mirrored by `decode()` so the host rejects what the guest would.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

import numpy as np

from zkvm.errors import InputError

MAGIC = b"ZKNN"
VERSION = 2
#: Oldest version still read (it has only the first six layer kinds).
MIN_VERSION = 1
DENSE, CONV2D, RELU, MAXPOOL, AVGPOOL, FLATTEN = 1, 2, 3, 4, 5, 6
LUT, GLOBAL_AVGPOOL, SAVE, ADD = 7, 8, 9, 10
LAYER_NAMES = {DENSE: "dense", CONV2D: "conv2d", RELU: "relu", MAXPOOL: "maxpool", AVGPOOL: "avgpool",
               FLATTEN: "flatten", LUT: "lut", GLOBAL_AVGPOOL: "global_avgpool", SAVE: "save", ADD: "add"}
#: The residual ADD shifts both centred inputs left by this many bits before rescaling them (TFLite's choice).
ADD_LEFT_SHIFT = 20
HEADER_BYTES = 32


def _f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", float(x)))[0]


def _f32(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits))[0]


@dataclass
class Requant:
    """Per-output-channel int32 bias, fixed-point multiplier and shift, and the output tensor's quantisation."""

    bias: np.ndarray  # int32[out]
    mult: np.ndarray  # int32[out], in [0, 2^31)
    shift: np.ndarray  # int32[out], in [-31, 30]; > 0 shifts left
    out_zp: int
    act_min: int
    act_max: int
    out_scale: float


@dataclass
class Dense:
    weights: np.ndarray  # int8[out, in]
    q: Requant


@dataclass
class Conv2d:
    weights: np.ndarray  # int8[out_c, in_c, kh, kw]
    stride: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    q: Requant


@dataclass
class Pool:
    is_max: bool
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pads: tuple[int, int, int, int]


@dataclass
class Relu:
    pass


@dataclass
class Flatten:
    pass


@dataclass
class Lut:
    """Elementwise int8 -> int8 function: y = table[x + 128]; the output has its own scale and zero point."""

    table: np.ndarray  # int8[256]
    out_zp: int
    out_scale: float


@dataclass
class GlobalAvgPool:
    pass


@dataclass
class Save:
    """Copy the current tensor to the stash, for a later Add (the skip branch of a residual block)."""


@dataclass
class Add:
    """current + stash: each centred input shifted left by ADD_LEFT_SHIFT and rescaled by its (mult, shift), the
    sum requantised by (mult_out, shift_out), then + out_zp and clamped to [act_min, act_max]."""

    mult_a: int
    shift_a: int
    mult_b: int
    shift_b: int
    mult_out: int
    shift_out: int
    out_zp: int
    act_min: int
    act_max: int
    out_scale: float


Layer = Dense | Conv2d | Pool | Relu | Flatten | Lut | GlobalAvgPool | Save | Add


@dataclass
class QuantModel:
    """An integer network: input shape (C, H, W) and quantisation, then layers in order."""

    input_shape: tuple[int, int, int]
    input_scale: float
    input_zp: int
    layers: list[Layer] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        return encode(self)

    def digest(self) -> bytes:
        return hashlib.sha256(encode(self)).digest()

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Float input(s) -> int8, with the model's input scale and zero point."""
        with np.errstate(over="ignore"):  # a huge value saturates to +-inf, then to the int8 range
            q = np.round(np.asarray(x, dtype=np.float64) / self.input_scale) + self.input_zp
        return np.clip(q, -128, 127).astype(np.int8)


def _u32s(*values: int) -> bytes:
    return b"".join(struct.pack("<I", v & 0xFFFFFFFF) for v in values)


def _requant_bytes(q: Requant) -> tuple[bytes, bytes]:
    head = _u32s(q.out_zp, q.act_min, q.act_max, _f32_bits(q.out_scale))
    tail = (
        np.asarray(q.bias, dtype="<i4").tobytes()
        + np.asarray(q.mult, dtype="<i4").tobytes()
        + np.asarray(q.shift, dtype="<i4").tobytes()
    )
    return head, tail


def encode(model: QuantModel) -> bytes:
    c, h, w = model.input_shape
    out = [MAGIC, _u32s(VERSION, len(model.layers), c, h, w, model.input_zp, _f32_bits(model.input_scale))]
    shape = (c, h, w)
    for layer in model.layers:
        if isinstance(layer, Dense):
            n_out, n_in = layer.weights.shape
            head, tail = _requant_bytes(layer.q)
            body = _u32s(n_in, n_out) + head + layer.weights.astype(np.int8).tobytes() + tail
            kind = DENSE
        elif isinstance(layer, Conv2d):
            oc, ic, kh, kw = layer.weights.shape
            head, tail = _requant_bytes(layer.q)
            body = _u32s(ic, oc, kh, kw, *layer.stride, *layer.pads) + head + layer.weights.astype(np.int8).tobytes() + tail
            kind = CONV2D
        elif isinstance(layer, Pool):
            body = _u32s(*layer.kernel, *layer.stride, *layer.pads)
            kind = MAXPOOL if layer.is_max else AVGPOOL
        elif isinstance(layer, Relu):
            body, kind = b"", RELU
        elif isinstance(layer, Flatten):
            body, kind = b"", FLATTEN
        elif isinstance(layer, Lut):
            body = _u32s(layer.out_zp, _f32_bits(layer.out_scale)) + np.asarray(layer.table, dtype=np.int8).tobytes()
            kind = LUT
        elif isinstance(layer, GlobalAvgPool):
            body, kind = b"", GLOBAL_AVGPOOL
        elif isinstance(layer, Save):
            body, kind = b"", SAVE
        elif isinstance(layer, Add):
            body = _u32s(layer.out_zp, layer.act_min, layer.act_max, _f32_bits(layer.out_scale), layer.mult_a,
                         layer.shift_a, layer.mult_b, layer.shift_b, layer.mult_out, layer.shift_out)
            kind = ADD
        else:  # pragma: no cover - programming error
            raise TypeError(f"not a layer: {layer!r}")
        out.append(_u32s(kind, len(body)) + body)
        shape = layer_output_shape(layer, shape)
    return b"".join(out)


def layer_output_shape(layer: Layer, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    c, h, w = shape
    if isinstance(layer, Dense):
        return (layer.weights.shape[0], 1, 1)
    if isinstance(layer, Flatten):
        return (c * h * w, 1, 1)
    if isinstance(layer, GlobalAvgPool):
        return (c, 1, 1)
    if isinstance(layer, (Conv2d, Pool)):
        kh, kw = layer.weights.shape[2:] if isinstance(layer, Conv2d) else layer.kernel
        (sh, sw), (pt, pl, pb, pr) = layer.stride, layer.pads
        oc = layer.weights.shape[0] if isinstance(layer, Conv2d) else c
        return (oc, (h + pt + pb - kh) // sh + 1, (w + pl + pr - kw) // sw + 1)
    return shape


class BlobError(InputError):
    """A model blob the guest would reject; `code` is the guest's exit code (zkvm.abi.EXIT_NN_*)."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(f"bad model blob ({message}, guest exit code {code})")
