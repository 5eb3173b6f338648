"""Strict model-blob parser, check for check and in the same order as `nn_validate` in guest/nn/nn.c, so
the host predicts the exact exit code the guest gives a malformed blob (the fuzz tests compare the two)."""

from __future__ import annotations

import struct

import numpy as np

from zkvm import abi
from host.ml.blob import (
    ADD, AVGPOOL, CONV2D, DENSE, FLATTEN, GLOBAL_AVGPOOL, LUT, MAGIC, MAXPOOL, MIN_VERSION, RELU, SAVE, VERSION, Add,
    BlobError, Conv2d, Dense, Flatten, GlobalAvgPool, Lut, Pool, QuantModel, Relu, Requant, Save, _f32,
)

MAX_LAYERS = 64
MAX_DIM = 4096
MAX_ACT = 1 << 18
MAX_KERNEL = 16
MAX_OUTPUTS = 1024
MAX_BLOB = 8 << 20


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.off = data, 0

    def u32(self) -> int:
        if len(self.data) - self.off < 4:
            raise BlobError(abi.EXIT_NN_TRUNCATED, "truncated")
        (v,) = struct.unpack_from("<I", self.data, self.off)
        self.off += 4
        return v

    def i32(self) -> int:
        v = self.u32()
        return v - (1 << 32) if v >= 1 << 31 else v

    def take(self, n: int) -> bytes:
        if n > len(self.data) - self.off:
            raise BlobError(abi.EXIT_NN_TRUNCATED, "truncated")
        out = self.data[self.off : self.off + n]
        self.off += n
        return out


def _int8(v: int) -> bool:
    return -128 <= v <= 127


def _extent(n: int, k: int, s: int, a: int, b: int) -> int:
    if n + a + b < k:
        raise BlobError(abi.EXIT_NN_BAD_SHAPE, "kernel larger than padded input")
    return (n + a + b - k) // s + 1


def _window(b: _Cursor, shape):
    kh, kw, sh, sw, pt, pl, pb, pr = (b.u32() for _ in range(8))
    if 0 in (kh, kw, sh, sw):
        raise BlobError(abi.EXIT_NN_BAD_LAYER, "zero kernel or stride")
    if max(kh, kw, sh, sw) > MAX_KERNEL:
        raise BlobError(abi.EXIT_NN_TOO_LARGE, "kernel or stride too large")
    if pt >= kh or pb >= kh or pl >= kw or pr >= kw:
        raise BlobError(abi.EXIT_NN_BAD_LAYER, "padding not smaller than the kernel")
    oh = _extent(shape[1], kh, sh, pt, pb)
    ow = _extent(shape[2], kw, sw, pl, pr)
    return (kh, kw), (sh, sw), (pt, pl, pb, pr), oh, ow


def _requant(b: _Cursor, out_ch: int, n_weights: int):
    zp, lo, hi, scale_bits = b.i32(), b.i32(), b.i32(), b.u32()
    if not (_int8(zp) and _int8(lo) and _int8(hi)) or lo > hi:
        raise BlobError(abi.EXIT_NN_BAD_LAYER, "zero point or activation range outside int8")
    w = np.frombuffer(b.take(n_weights), dtype=np.int8)
    bias = np.frombuffer(b.take(4 * out_ch), dtype="<i4").astype(np.int32)
    mult = np.frombuffer(b.take(4 * out_ch), dtype="<i4").astype(np.int32)
    shift = np.frombuffer(b.take(4 * out_ch), dtype="<i4").astype(np.int32)
    if np.any(mult < 0) or np.any(shift < -31) or np.any(shift > 30):
        raise BlobError(abi.EXIT_NN_BAD_LAYER, "multiplier or shift out of range")
    return w, Requant(bias, mult, shift, zp, lo, hi, _f32(scale_bits))


def _check_shape(s) -> None:
    if 0 in s:
        raise BlobError(abi.EXIT_NN_BAD_SHAPE, "empty tensor")
    if max(s) > MAX_DIM or s[0] * s[1] * s[2] > MAX_ACT:
        raise BlobError(abi.EXIT_NN_TOO_LARGE, "tensor too large")


def _v2_layer(kind: int, b: _Cursor, shape, stash):
    if kind == LUT:
        zp, scale_bits = b.i32(), b.u32()
        if not _int8(zp):
            raise BlobError(abi.EXIT_NN_BAD_LAYER, "zero point outside int8")
        table = np.frombuffer(b.take(256), dtype=np.int8).copy()
        return Lut(table, zp, _f32(scale_bits)), shape
    if kind == GLOBAL_AVGPOOL:
        return GlobalAvgPool(), (shape[0], 1, 1)
    if kind == SAVE:
        return Save(), shape
    if stash is None:
        raise BlobError(abi.EXIT_NN_BAD_LAYER, "add without a saved tensor")
    if stash != shape:
        raise BlobError(abi.EXIT_NN_BAD_SHAPE, "add of tensors of different shapes")
    zp, lo, hi, scale_bits = b.i32(), b.i32(), b.i32(), b.u32()
    if not (_int8(zp) and _int8(lo) and _int8(hi)) or lo > hi:
        raise BlobError(abi.EXIT_NN_BAD_LAYER, "zero point or activation range outside int8")
    pairs = [(b.i32(), b.i32()) for _ in range(3)]
    for m, s in pairs:
        if m < 0 or not -31 <= s <= 30:
            raise BlobError(abi.EXIT_NN_BAD_LAYER, "multiplier or shift out of range")
    (ma, sa), (mb, sb), (mo, so) = pairs
    return Add(ma, sa, mb, sb, mo, so, zp, lo, hi, _f32(scale_bits)), shape


def decode_blob(data: bytes) -> QuantModel:
    data = bytes(data)
    if len(data) > MAX_BLOB:
        raise BlobError(abi.EXIT_NN_TOO_LARGE, "blob too large")
    c = _Cursor(data)
    if c.take(4) != MAGIC:
        raise BlobError(abi.EXIT_NN_BAD_MAGIC, "bad magic")
    version = c.u32()
    if not MIN_VERSION <= version <= VERSION:
        raise BlobError(abi.EXIT_NN_BAD_VERSION, f"unsupported version {version} (this engine reads "
                        f"{MIN_VERSION} to {VERSION}; rebuild the blob with `ml quantize`)")
    n_layers, ic, ih, iw, zp, scale_bits = c.u32(), c.u32(), c.u32(), c.u32(), c.i32(), c.u32()
    if n_layers == 0:
        raise BlobError(abi.EXIT_NN_BAD_LAYER, "no layers")
    if n_layers > MAX_LAYERS:
        raise BlobError(abi.EXIT_NN_TOO_LARGE, "too many layers")
    if not _int8(zp):
        raise BlobError(abi.EXIT_NN_BAD_LAYER, "input zero point outside int8")
    shape = (ic, ih, iw)
    _check_shape(shape)
    model = QuantModel(shape, _f32(scale_bits), zp, [])
    stash = None  # shape of the tensor the last SAVE copied
    for _ in range(n_layers):
        kind, body_len = c.u32(), c.u32()
        b = _Cursor(c.take(body_len))
        n_in = shape[0] * shape[1] * shape[2]
        if kind == DENSE:
            d_in, d_out = b.u32(), b.u32()
            if d_in != n_in or d_out == 0:
                raise BlobError(abi.EXIT_NN_BAD_SHAPE, "dense shape mismatch")
            if d_out > MAX_DIM:
                raise BlobError(abi.EXIT_NN_TOO_LARGE, "dense too large")
            w, q = _requant(b, d_out, d_out * d_in)
            layer = Dense(w.reshape(d_out, d_in), q)
            out = (d_out, 1, 1)
        elif kind == CONV2D:
            c_in, c_out = b.u32(), b.u32()
            if c_in != shape[0] or c_out == 0:
                raise BlobError(abi.EXIT_NN_BAD_SHAPE, "conv channel mismatch")
            if c_out > MAX_DIM:
                raise BlobError(abi.EXIT_NN_TOO_LARGE, "conv too large")
            k, s, p, oh, ow = _window(b, shape)
            w, q = _requant(b, c_out, c_out * c_in * k[0] * k[1])
            layer = Conv2d(w.reshape(c_out, c_in, *k), s, p, q)
            out = (c_out, oh, ow)
        elif kind in (MAXPOOL, AVGPOOL):
            k, s, p, oh, ow = _window(b, shape)
            layer = Pool(kind == MAXPOOL, k, s, p)
            out = (shape[0], oh, ow)
        elif kind == FLATTEN:
            layer, out = Flatten(), (n_in, 1, 1)
        elif kind == RELU:
            layer, out = Relu(), shape
        elif kind in (LUT, GLOBAL_AVGPOOL, SAVE, ADD) and version >= 2:
            layer, out = _v2_layer(kind, b, shape, stash)
            if kind == SAVE:
                stash = shape
        else:
            raise BlobError(abi.EXIT_NN_BAD_LAYER, f"unknown layer type {kind}")
        if b.off != len(b.data):
            raise BlobError(abi.EXIT_NN_BAD_LAYER, "layer body has extra bytes")
        _check_shape(out)
        model.layers.append(layer)
        shape = out
    if c.off != len(data):
        raise BlobError(abi.EXIT_NN_TRAILING, "bytes after the last layer")
    if shape[0] * shape[1] * shape[2] > MAX_OUTPUTS:
        raise BlobError(abi.EXIT_NN_TOO_LARGE, "output too large")
    return model
