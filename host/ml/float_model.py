"""Float networks in the layer vocabulary the guest engine supports: what the trainers produce, what the ONNX
importer yields, what the quantiser consumes. Activations are (N, C, H, W) like ONNX."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FDense:
    weight: np.ndarray  # [out, in]
    bias: np.ndarray  # [out]


@dataclass
class FConv:
    weight: np.ndarray  # [out_c, in_c, kh, kw]
    bias: np.ndarray  # [out_c]
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right


@dataclass
class FRelu:
    pass


@dataclass
class FPool:
    is_max: bool
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass
class FFlatten:
    pass


@dataclass
class FAct:
    """Elementwise activation quantised as a 256-entry lookup table (or fused as a clamp after dense/conv):
    "sigmoid", "tanh", "leakyrelu" (alpha) or "clip" (lo, hi)."""

    kind: str
    alpha: float = 0.01
    lo: float = -np.inf
    hi: float = np.inf

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "sigmoid":
            return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + e^-x), without overflow warnings
        if self.kind == "tanh":
            return np.tanh(x)
        if self.kind == "leakyrelu":
            return np.where(x >= 0, x, self.alpha * x)
        if self.kind == "clip":
            return np.clip(x, self.lo, self.hi)
        raise ValueError(f"unknown activation {self.kind!r}")


@dataclass
class FGlobalAvgPool:
    pass


@dataclass
class FSave:
    """Keep the current tensor for a later FAdd (the skip branch of a residual block)."""


@dataclass
class FAdd:
    """current tensor + the saved one."""


FOp = FDense | FConv | FRelu | FPool | FFlatten | FAct | FGlobalAvgPool | FSave | FAdd


@dataclass
class FloatModel:
    input_shape: tuple[int, int, int]  # (C, H, W); an MLP on F features is (F, 1, 1)
    ops: list[FOp] = field(default_factory=list)
    input_range: tuple[float, float] | None = (0.0, 1.0)  # input value range (None: the calibration data's)
    notes: list[str] = field(default_factory=list)  # what the importer changed (e.g. a dropped final softmax)

    def forward(self, x: np.ndarray, keep: bool = False):
        """Float inference. keep=True returns the list of every op's output instead of the final one."""
        act = np.asarray(x, dtype=np.float64).reshape(len(x), *self.input_shape)
        outs = []
        saved = None
        for op in self.ops:
            if isinstance(op, FSave):
                saved = act
            elif isinstance(op, FAdd):
                act = act + saved
            else:
                act = apply(op, act)
            outs.append(act)
        return outs if keep else act.reshape(len(x), -1)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x).argmax(axis=1)


def _windows(x, kernel, stride, pads, fill):
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = kernel, stride, pads
    padded = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=fill)
    return np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]


def apply(op: FOp, act: np.ndarray) -> np.ndarray:
    if isinstance(op, FDense):
        return (act.reshape(len(act), -1) @ op.weight.T + op.bias).reshape(len(act), -1, 1, 1)
    if isinstance(op, FConv):
        win = _windows(act, op.weight.shape[2:], op.stride, op.pads, 0.0)
        return np.einsum("nchwij,ocij->nohw", win, op.weight, optimize=True) + op.bias.reshape(1, -1, 1, 1)
    if isinstance(op, FRelu):
        return np.maximum(act, 0.0)
    if isinstance(op, FPool):
        if op.is_max:
            return _windows(act, op.kernel, op.stride, op.pads, -np.inf).max(axis=(4, 5))
        total = _windows(act, op.kernel, op.stride, op.pads, 0.0).sum(axis=(4, 5))
        ones = np.ones((1, 1) + act.shape[2:])
        return total / _windows(ones, op.kernel, op.stride, op.pads, 0.0).sum(axis=(4, 5))  # count_include_pad=0
    if isinstance(op, FFlatten):
        return act.reshape(len(act), -1, 1, 1)
    if isinstance(op, FAct):
        return op(act)
    if isinstance(op, FGlobalAvgPool):
        return act.mean(axis=(2, 3), keepdims=True)
    raise TypeError(f"not an op: {op!r}")
