"""ONNX -> FloatModel: what small real models (PyTorch / Keras exports) contain, imported into the guest engine's
layer vocabulary; and FloatModel -> ONNX for the bundled digits models.

Imported: Gemm; MatMul (+ Add of a constant: its bias); Conv (pads, auto_pad, strides; group 1, dilation 1);
BatchNormalization (folded into the Conv/Gemm/MatMul before it); Relu, Clip, LeakyRelu, Sigmoid, Tanh;
MaxPool, AveragePool, GlobalAveragePool; Flatten, Reshape (to [N, features]); Dropout and Identity (dropped);
a final Softmax/LogSoftmax (dropped: the guest commits the logits, whose argmax is the same class); Add of
two tensors where one is an earlier tensor of the chain (a residual block: the engine keeps one saved tensor).
Constant nodes are read as initializers. The graph is checked before anything is built: one float input, one
output, every node's inputs defined, no cycles, finite numeric weights. Anything else raises OnnxError naming
the node and its operator, and nothing is written.
"""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path

import numpy as np

from host.ml.float_model import (FAct, FAdd, FConv, FDense, FFlatten, FGlobalAvgPool, FloatModel, FPool, FRelu,
                                 FSave)
from zkvm.errors import InputError

SUPPORTED = ("Gemm", "MatMul", "Add", "Conv", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh",
             "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Dropout", "Identity", "Softmax",
             "LogSoftmax", "Constant")
OPSET = 13
#: Largest ONNX file read (float32 weights: 4x the guest's 8 MiB blob limit, with room for the graph).
MAX_ONNX_BYTES = 64 << 20
#: Largest single initializer, in elements, checked before it is converted.
MAX_TENSOR_ELEMENTS = 1 << 24
#: The guest engine's limits (guest/nn/nn.h), checked per node so the error can name it.
MAX_DIM, MAX_KERNEL, MAX_ACT = 4096, 16, 1 << 18


class OnnxError(InputError):
    """An ONNX model that cannot be imported: not ONNX, a malformed graph, or an unsupported node."""


def _onnx():
    try:
        import onnx  # noqa: PLC0415 - optional dependency (the `ml` extra)
    except ImportError:
        raise InputError("the onnx package is needed for ONNX models (pip install -e '.[ml]')") from None
    return onnx


def export(model: FloatModel, path: str | Path) -> None:
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper  # noqa: PLC0415

    c, h, w = model.input_shape
    flat_input = h == 1 and w == 1
    in_dims = [1, c] if flat_input else [1, c, h, w]
    nodes, inits = [], []
    cur = "input"
    is_flat = flat_input
    for i, op in enumerate(model.ops):
        out = f"t{i}"
        if isinstance(op, FDense):
            if not is_flat:
                nodes.append(helper.make_node("Flatten", [cur], [f"{out}_flat"], axis=1))
                cur = f"{out}_flat"
            inits += [numpy_helper.from_array(op.weight.astype(np.float32), f"W{i}"),
                      numpy_helper.from_array(op.bias.astype(np.float32), f"B{i}")]
            nodes.append(helper.make_node("Gemm", [cur, f"W{i}", f"B{i}"], [out], transB=1))
            is_flat = True
        elif isinstance(op, FConv):
            inits += [numpy_helper.from_array(op.weight.astype(np.float32), f"W{i}"),
                      numpy_helper.from_array(op.bias.astype(np.float32), f"B{i}")]
            nodes.append(helper.make_node("Conv", [cur, f"W{i}", f"B{i}"], [out], kernel_shape=list(op.weight.shape[2:]),
                                          strides=list(op.stride), pads=list(op.pads)))
        elif isinstance(op, FRelu):
            nodes.append(helper.make_node("Relu", [cur], [out]))
        elif isinstance(op, FPool):
            kind = "MaxPool" if op.is_max else "AveragePool"
            nodes.append(helper.make_node(kind, [cur], [out], kernel_shape=list(op.kernel), strides=list(op.stride),
                                          pads=list(op.pads)))
        elif isinstance(op, FFlatten):
            nodes.append(helper.make_node("Flatten", [cur], [out], axis=1))
            is_flat = True
        cur = out
    n_out = model.forward(np.zeros((1, c * h * w))).shape[1]
    graph = helper.make_graph(
        nodes, "zkvm_model",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_dims)],
        [helper.make_tensor_value_info(cur, TensorProto.FLOAT, [1, n_out])],
        inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="zkvm")
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def load(path: str | Path, input_range: tuple[float, float] | None = None) -> FloatModel:
    """Import an ONNX file (at most MAX_ONNX_BYTES; external data files are refused, never opened)."""
    from host.ml.files import read_limited  # noqa: PLC0415

    return from_bytes(read_limited(path, MAX_ONNX_BYTES, "ONNX file"), input_range, str(path))


def from_bytes(data: bytes, input_range: tuple[float, float] | None = None, source: str = "ONNX model") -> FloatModel:
    onnx = _onnx()
    from google.protobuf.message import DecodeError  # noqa: PLC0415 - comes with onnx

    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(bytes(data))
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise OnnxError(f"{source} is not an ONNX model (protobuf: {exc})") from None
    model = _Importer(proto.graph, source).run()
    model.input_range = input_range
    return model


def _label(node, index: int) -> str:
    name = node.name or (node.output[0] if len(node.output) and node.output[0] else f"#{index}")
    return f"{node.op_type} node '{name}'"


_NUMERIC = {1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 10: "float16",
            11: "double", 12: "uint32", 13: "uint64", 16: "bfloat16"}
_FLOAT_INPUTS = {1, 10, 11, 16}


class _Importer:
    def __init__(self, graph, source: str) -> None:
        self.g, self.source = graph, source
        self.consts: dict[str, np.ndarray] = {}
        self.notes: list[str] = []

    def fail(self, msg: str):
        raise OnnxError(f"{self.source}: {msg}")

    # ------------------------------------------------------------------------------------------- constants
    def _tensor(self, t, what: str) -> np.ndarray:
        from onnx import numpy_helper  # noqa: PLC0415

        if t.data_location == 1:  # TensorProto.EXTERNAL: a path on the importer's disk, never followed
            self.fail(f"{what} keeps its data in an external file; save the model with its weights inside")
        if t.data_type not in _NUMERIC:
            self.fail(f"{what} has element type {t.data_type} (not a real number: strings, booleans and complex "
                      "values are not weights)")
        if any(d < 0 for d in t.dims) or math.prod(t.dims) > MAX_TENSOR_ELEMENTS:
            self.fail(f"{what} has dimensions {list(t.dims)} (negative, or more than {MAX_TENSOR_ELEMENTS:,} values)")
        try:
            arr = numpy_helper.to_array(t)
        except Exception as exc:  # onnx raises assorted errors for inconsistent sizes and encodings
            self.fail(f"{what} cannot be decoded ({type(exc).__name__}: {exc})")
        arr = np.asarray(arr, dtype=np.float64) if arr.dtype.kind == "f" or arr.dtype.kind == "V" else arr
        if arr.dtype.kind not in "iuf":
            self.fail(f"{what} decodes to {arr.dtype}, not numbers")
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            self.fail(f"{what} holds NaN or infinite values")
        return arr

    def _constant_node(self, node, index: int) -> None:
        from onnx import helper  # noqa: PLC0415

        if len(node.output) != 1 or not node.output[0]:
            self.fail(f"{_label(node, index)} must have one output")
        attrs = {a.name: a for a in node.attribute}
        if "value" in attrs:
            value = self._tensor(attrs["value"].t, f"{_label(node, index)} value")
        else:
            known = [k for k in ("value_float", "value_floats", "value_int", "value_ints") if k in attrs]
            if len(known) != 1:
                self.fail(f"{_label(node, index)}: only numeric constants (value, value_float(s), value_int(s)) "
                          "are supported")
            value = np.asarray(self._attrs(node)[known[0]])
            if value.dtype.kind not in "iuf":
                self.fail(f"{_label(node, index)}: not a numeric constant")
            if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                self.fail(f"{_label(node, index)} holds NaN or infinite values")
        self.consts[node.output[0]] = value

    # ------------------------------------------------------------------------------------------- graph
    def run(self) -> FloatModel:
        g = self.g
        if len(g.node) == 0:
            self.fail("the graph has no nodes (is this an ONNX model?)")
        if len(g.sparse_initializer):
            self.fail("sparse initializers are not supported")
        for t in g.initializer:
            if not t.name:
                self.fail("an initializer has no name")
            self.consts[t.name] = self._tensor(t, f"initializer '{t.name}'")
        real_inputs = [i for i in g.input if i.name not in self.consts]
        if len(real_inputs) != 1:
            self.fail(f"the model must have exactly one input, found {len(real_inputs)} "
                      f"({', '.join(repr(i.name) for i in real_inputs) or 'none'})")
        if len(g.output) != 1:
            self.fail(f"the model must have exactly one output, found {len(g.output)}")
        inp = real_inputs[0]
        shape = self._input_shape(inp)
        nodes = self._sorted_nodes(inp.name)
        return self._build(nodes, inp.name, shape, g.output[0].name)

    def _input_shape(self, inp) -> tuple[int, ...]:
        tt = inp.type.tensor_type
        if not inp.type.HasField("tensor_type") or tt.elem_type not in _FLOAT_INPUTS:
            self.fail(f"input '{inp.name}' must be a float tensor")
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        if len(dims) not in (2, 4):
            self.fail(f"input '{inp.name}' must be [N, features] or [N, C, H, W], got {len(dims)} dimensions")
        if dims[0] not in (None, 1):
            self.fail(f"input '{inp.name}': the batch dimension must be 1 or symbolic, got {dims[0]}")
        rest = dims[1:]
        if any(d is None or d <= 0 for d in rest):
            self.fail(f"input '{inp.name}' has dimensions {dims}: all but the batch must be fixed positive numbers")
        if any(d > MAX_DIM for d in rest) or math.prod(rest) > MAX_ACT:
            self.fail(f"input '{inp.name}' of shape {rest} exceeds the guest engine's limits "
                      f"(any dimension <= {MAX_DIM}, at most {MAX_ACT:,} values)")
        return tuple(rest)

    def _sorted_nodes(self, input_name: str) -> list[tuple[int, object]]:
        """Kahn's algorithm over the non-Constant nodes, stable in file order; every data input must be produced
        by exactly one node (or be the graph input), and a cycle is an error naming a node on it."""
        producer: dict[str, int] = {}
        work = []
        for idx, node in enumerate(self.g.node):
            if node.domain not in ("", "ai.onnx"):
                self.fail(f"{_label(node, idx)} is in the custom domain '{node.domain}'")
            if node.op_type == "Constant":
                self._constant_node(node, idx)
            if len(node.output) == 0 or not node.output[0]:
                self.fail(f"{_label(node, idx)} has no output")
            for out in node.output:
                if not out:
                    continue
                if out in producer or out == input_name or (out in self.consts and node.op_type != "Constant"):
                    self.fail(f"tensor '{out}' is produced twice ({_label(node, idx)})")
                producer[out] = idx
            if node.op_type != "Constant":
                work.append(idx)
        deps: dict[int, set[int]] = {}
        users: dict[int, list[int]] = {i: [] for i in work}
        for idx in work:
            node = self.g.node[idx]
            need = set()
            for name in node.input:
                if not name or name in self.consts or name == input_name:
                    continue
                if name not in producer:
                    self.fail(f"{_label(node, idx)} reads '{name}', which no node, initializer or input defines")
                need.add(producer[name])
            deps[idx] = need
            for d in need:
                users[d].append(idx)
        ready = deque(sorted(i for i in work if not deps[i]))
        order = []
        while ready:
            idx = ready.popleft()
            order.append(idx)
            for u in users[idx]:
                deps[u].discard(idx)
                if not deps[u]:
                    ready.append(u)
        if len(order) != len(work):
            stuck = min(i for i in work if i not in set(order))
            self.fail(f"the graph has a cycle (through {_label(self.g.node[stuck], stuck)})")
        return [(i, self.g.node[i]) for i in order]

    # ------------------------------------------------------------------------------------------- layers
    def _build(self, nodes, input_name: str, in_shape: tuple[int, ...], output_name: str) -> FloatModel:
        alias: dict[str, str] = {}

        def res(name: str) -> str:
            while name in alias:
                name = alias[name]
            return name

        # Pass 1: dropped nodes become aliases (so consumer counts see through them).
        final_out = output_name
        for idx, node in nodes:
            op = node.op_type
            if op in ("Identity", "Dropout"):
                if op == "Dropout" and len(node.output) > 1 and node.output[1]:
                    if any(node.output[1] in n.input for _, n in nodes):
                        self.fail(f"{_label(node, idx)}: its mask output is used")
                if len(node.input) < 1 or not node.input[0]:
                    self.fail(f"{_label(node, idx)} has no input")
                alias[node.output[0]] = node.input[0]
        consumers: dict[str, list[int]] = {}
        for idx, node in nodes:
            if node.op_type in ("Identity", "Dropout"):
                continue
            for name in node.input:
                if name and name not in self.consts:
                    consumers.setdefault(res(name), []).append(idx)

        shapes: dict[str, tuple[int, ...]] = {input_name: in_shape}
        ops: list = []
        producer_op: dict[str, int] = {}  # tensor -> index in ops of the layer that produced it
        state = {"cur": input_name, "stash": None, "stash_used": True}

        def set_cur(name: str, idx_node=None) -> None:
            state["cur"] = name
            users = consumers.get(name, [])
            if len(users) <= 1:
                return
            adds = [u for u in users if self.g.node[u].op_type == "Add" and self._tensor_inputs(self.g.node[u]) == 2]
            if len(users) != 2 or len(adds) != 1:
                who = ", ".join(_label(self.g.node[u], u) for u in users)
                self.fail(f"tensor '{name}' feeds {len(users)} nodes ({who}); the engine runs a chain, and only a "
                          "residual Add may read an earlier tensor")
            if not state["stash_used"]:
                self.fail(f"tensor '{name}' starts a residual branch inside another one; nested residual blocks "
                          "are not supported")
            ops.append(FSave())
            state["stash"], state["stash_used"] = name, False

        set_cur(input_name)
        for idx, node in nodes:
            op = node.op_type
            label = _label(node, idx)
            if op in ("Identity", "Dropout"):
                continue
            if op not in SUPPORTED:
                self.fail(f"unsupported ONNX operator '{op}' ({label}); supported: {', '.join(SUPPORTED)}")
            if op in ("Softmax", "LogSoftmax"):
                x = self._data_input(node, label, state["cur"], res)
                if res(output_name) != node.output[0] and output_name != node.output[0]:
                    self.fail(f"{label}: {op} is only supported as the model's last node")
                rank = len(shapes[x])
                axis = self._attrs(node).get("axis", -1 if rank == 1 else 1)
                if rank != 1 or axis not in (1, -1):
                    self.fail(f"{label}: {op} over anything but the class axis of [N, classes] is not supported")
                alias[node.output[0]] = x
                self.notes.append(f"the final {op} ({label}) was dropped: the guest commits the logits, whose argmax "
                                  "is the same class")
                continue
            attrs = self._attrs(node)
            out = node.output[0]
            if op == "Add" and self._tensor_inputs(node) == 2:
                a, b = (res(n) for n in node.input[:2])
                cur = state["cur"]
                other = b if a == cur else a if b == cur else None
                if other is None or other != state["stash"] or state["stash_used"]:
                    self.fail(f"{label}: only a residual Add of the current tensor and one saved earlier tensor is "
                              "supported")
                if shapes[a] != shapes[b]:
                    self.fail(f"{label}: adds tensors of shapes {shapes[a]} and {shapes[b]}")
                ops.append(FAdd())
                state["stash_used"] = True
                shapes[out] = shapes[cur]
                set_cur(out)
                continue
            if op == "Add":  # a constant operand: the bias of the layer before, either side of the Add
                node_inputs = [n for n in node.input if n]
                if len(node_inputs) != 2:
                    self.fail(f"{label} must have two inputs")
                if node_inputs[0] in self.consts:
                    node_inputs.reverse()
                x = res(node_inputs[0])
                if x != state["cur"]:
                    self.fail(f"{label} reads '{x}', which is not the previous node's output")
            else:
                x = self._data_input(node, label, state["cur"], res)
            shape = shapes[x]
            if op in ("Add", "BatchNormalization"):
                last = ops[-1] if ops else None
                if (producer_op.get(x) != len(ops) - 1 or not isinstance(last, (FDense, FConv))
                        or len(consumers.get(x, [])) != 1):
                    self.fail(f"{label}: a constant Add or a BatchNormalization must directly follow a Conv, Gemm or "
                              "MatMul (it is folded into it)")
                if op == "Add":
                    self._fold_bias(last, node_inputs[1], label)
                else:
                    self._fold_batchnorm(last, node, label, attrs)
                alias[out] = x
                producer_op[x] = len(ops) - 1
                consumers[x] = consumers.pop(out, [])  # the folded node's readers now read x
                set_cur(x)
                continue
            if op in ("Gemm", "MatMul"):
                layer, new_shape = self._dense(node, label, attrs, shape)
            elif op == "Conv":
                layer, new_shape = self._conv(node, label, attrs, shape)
            elif op in ("MaxPool", "AveragePool"):
                layer, new_shape = self._pool(node, label, attrs, shape)
            elif op == "GlobalAveragePool":
                if len(shape) != 3:
                    self.fail(f"{label} needs an [N, C, H, W] input")
                layer, new_shape = FGlobalAvgPool(), (shape[0], 1, 1)
            elif op == "Flatten":
                axis = attrs.get("axis", 1)
                if axis not in (1, -len(shape)):
                    self.fail(f"{label}: only axis=1 (keep the batch, flatten the rest) is supported")
                layer, new_shape = FFlatten(), (math.prod(shape),)
            elif op == "Reshape":
                layer, new_shape = self._reshape(node, label, shape), (math.prod(shape),)
            elif op == "Relu":
                layer, new_shape = FRelu(), shape
            elif op == "LeakyRelu":
                alpha = self._float(attrs, "alpha", 0.01, label)
                layer, new_shape = FAct("leakyrelu", alpha=alpha), shape
            elif op in ("Sigmoid", "Tanh"):
                layer, new_shape = FAct(op.lower()), shape
            elif op == "Clip":
                layer, new_shape = self._clip(node, label, attrs), shape
            else:  # pragma: no cover - SUPPORTED and the branches above agree
                self.fail(f"unsupported ONNX operator '{op}' ({label})")
            if len(new_shape) == 3 and (max(new_shape) > MAX_DIM or math.prod(new_shape) > MAX_ACT):
                self.fail(f"{label} outputs a tensor of shape {new_shape}, over the guest engine's limits "
                          f"(any dimension <= {MAX_DIM}, at most {MAX_ACT:,} values)")
            if len(new_shape) == 1 and new_shape[0] > MAX_ACT:
                self.fail(f"{label} outputs {new_shape[0]:,} values, over the guest engine's {MAX_ACT:,}")
            ops.append(layer)
            producer_op[out] = len(ops) - 1
            shapes[out] = new_shape
            set_cur(out)
        final = res(final_out)
        if final != state["cur"]:
            self.fail(f"the graph output '{output_name}' is not the end of the chain of nodes "
                      f"(the last node computes '{state['cur']}')")
        if not ops or all(isinstance(o, FSave) for o in ops):
            self.fail("the graph computes nothing the engine can run (no layers)")
        if not state["stash_used"]:
            self.fail(f"tensor '{state['stash']}' is read by a residual Add that never comes")
        c = in_shape if len(in_shape) == 3 else (in_shape[0], 1, 1)
        return FloatModel(tuple(int(v) for v in c), ops, None, list(self.notes))

    def _tensor_inputs(self, node) -> int:
        return sum(1 for n in node.input if n and n not in self.consts)

    def _data_input(self, node, label: str, cur: str, res) -> str:
        if len(node.input) == 0 or not node.input[0] or node.input[0] in self.consts:
            self.fail(f"{label}: its first input must be a tensor computed by the model, not a constant")
        if self._tensor_inputs(node) != 1:
            self.fail(f"{label}: only its first input may be a computed tensor (weights must be initializers)")
        x = res(node.input[0])
        if x != cur:
            self.fail(f"{label} reads '{x}', which is not the previous node's output: branches other than a "
                      "residual Add are not supported")
        return x

    def _attrs(self, node) -> dict:
        from onnx import helper  # noqa: PLC0415

        out = {}
        for a in node.attribute:
            try:
                v = helper.get_attribute_value(a)
                out[a.name] = v.decode() if isinstance(v, bytes) else v
            except (ValueError, TypeError, UnicodeDecodeError):
                self.fail(f"{node.op_type} node '{node.name}': attribute '{a.name}' cannot be read")
        return out

    def _float(self, attrs: dict, key: str, default: float, label: str) -> float:
        v = attrs.get(key, default)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            self.fail(f"{label}: {key} must be a finite number, got {v!r}")
        return float(v)

    def _param(self, node, i: int, label: str, what: str, ndim: int | None = None, required: bool = True):
        if len(node.input) <= i or not node.input[i]:
            if required:
                self.fail(f"{label}: missing {what}")
            return None
        arr = self.consts.get(node.input[i])
        if arr is None:
            self.fail(f"{label}: {what} ('{node.input[i]}') must be a constant initializer")
        arr = np.asarray(arr, dtype=np.float64)
        if ndim is not None and arr.ndim != ndim:
            self.fail(f"{label}: {what} must have {ndim} dimensions, has shape {arr.shape}")
        return arr

    def _ints(self, attrs: dict, key: str, label: str, n: int, default: list[int]) -> list[int]:
        v = attrs.get(key, default)
        if not isinstance(v, (list, tuple)) or len(v) != n or not all(isinstance(e, int) for e in v):
            self.fail(f"{label}: {key} must be {n} integers, got {v}")
        return v

    def _vector(self, arr, n: int, label: str, what: str) -> np.ndarray:
        if arr.size == 1:
            return np.full(n, float(arr.reshape(-1)[0]))
        squeezed = arr.reshape([d for d in arr.shape if d != 1]) if arr.ndim else arr
        if squeezed.shape != (n,):
            self.fail(f"{label}: {what} of shape {arr.shape} does not fit {n} channels")
        return squeezed.astype(np.float64)

    def _dense(self, node, label: str, attrs: dict, shape):
        if len(shape) != 1:
            self.fail(f"{label} needs a 2-D [N, features] input, got [N, {', '.join(map(str, shape))}] "
                      "(add a Flatten before it)")
        if node.op_type == "MatMul":
            w = self._param(node, 1, label, "second operand", 2).T
            b = np.zeros(w.shape[0])
        else:
            if attrs.get("transA", 0):
                self.fail(f"{label}: transA=1 is not supported")
            alpha, beta = self._float(attrs, "alpha", 1.0, label), self._float(attrs, "beta", 1.0, label)
            b_mat = self._param(node, 1, label, "B (weights)", 2)
            w = alpha * (b_mat if attrs.get("transB", 0) else b_mat.T)
            c = self._param(node, 2, label, "C (bias)", required=False)
            b = np.zeros(w.shape[0]) if c is None else beta * self._vector(c, w.shape[0], label, "C (bias)")
        if w.shape[1] != shape[0]:
            self.fail(f"{label}: weights take {w.shape[1]} features, its input has {shape[0]}")
        if w.shape[0] == 0 or w.shape[0] > MAX_DIM:
            self.fail(f"{label} has {w.shape[0]} outputs; the guest engine allows 1 to {MAX_DIM}")
        return FDense(np.ascontiguousarray(w), b), (w.shape[0],)

    def _fold_bias(self, last, const_name: str, label: str) -> None:
        if const_name not in self.consts:
            self.fail(f"{label}: adds two computed tensors that are not a residual pair")
        c = np.asarray(self.consts[const_name], dtype=np.float64)
        n = last.weight.shape[0]
        if isinstance(last, FConv) and c.ndim >= 3 and c.shape[-2:] != (1, 1):
            self.fail(f"{label}: a per-pixel bias of shape {c.shape} is not supported")
        last.bias = last.bias + self._vector(c, n, label, "the added constant")

    def _fold_batchnorm(self, last, node, label: str, attrs: dict) -> None:
        if attrs.get("training_mode", 0):
            self.fail(f"{label}: training_mode=1 is not supported")
        n = last.weight.shape[0]
        scale, bias, mean, var = (self._vector(self._param(node, i, label, what), n, label, what)
                                  for i, what in ((1, "scale"), (2, "B"), (3, "mean"), (4, "var")))
        eps = self._float(attrs, "epsilon", 1e-5, label)
        if not np.all(var + eps > 0):
            self.fail(f"{label}: var + epsilon must be positive")
        g = scale / np.sqrt(var + eps)
        last.weight = last.weight * g.reshape((-1,) + (1,) * (last.weight.ndim - 1))
        last.bias = (last.bias - mean) * g + bias

    def _window(self, label: str, attrs: dict, shape, kernel: tuple[int, int]):
        kh, kw = kernel
        if kh < 1 or kw < 1:
            self.fail(f"{label}: kernel {kernel} must be positive")
        sh, sw = self._ints(attrs, "strides", label, 2, [1, 1])
        if sh < 1 or sw < 1:
            self.fail(f"{label}: strides {[sh, sw]} must be positive (a zero stride never advances)")
        if max(kh, kw, sh, sw) > MAX_KERNEL:
            self.fail(f"{label}: kernel {kernel} / strides {[sh, sw]} exceed the guest engine's {MAX_KERNEL}")
        if any(d != 1 for d in self._ints(attrs, "dilations", label, 2, [1, 1])):
            self.fail(f"{label}: dilations other than 1 are not supported")
        _, h, w = shape
        auto = attrs.get("auto_pad", "NOTSET")
        if auto in ("NOTSET", ""):
            pt, pl, pb, pr = self._ints(attrs, "pads", label, 4, [0, 0, 0, 0])
        elif auto == "VALID":
            pt = pl = pb = pr = 0
        elif auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = []
            for n, k, s in ((h, kh, sh), (w, kw, sw)):
                total = max((-(-n // s) - 1) * s + k - n, 0)
                small = total // 2
                pads.append((small, total - small) if auto == "SAME_UPPER" else (total - small, small))
            (pt, pb), (pl, pr) = pads
        else:
            self.fail(f"{label}: unknown auto_pad '{auto}'")
        if min(pt, pl, pb, pr) < 0:
            self.fail(f"{label}: negative pads {[pt, pl, pb, pr]}")
        if pt >= kh or pb >= kh or pl >= kw or pr >= kw:
            self.fail(f"{label}: pads {[pt, pl, pb, pr]} must be smaller than the kernel {list(kernel)}")
        if h + pt + pb < kh or w + pl + pr < kw:
            self.fail(f"{label}: kernel {list(kernel)} is larger than its padded input ({h}x{w})")
        oh, ow = (h + pt + pb - kh) // sh + 1, (w + pl + pr - kw) // sw + 1
        return (sh, sw), (pt, pl, pb, pr), oh, ow

    def _conv(self, node, label: str, attrs: dict, shape):
        if len(shape) != 3:
            self.fail(f"{label} needs an [N, C, H, W] input")
        if attrs.get("group", 1) != 1:
            self.fail(f"{label}: group={attrs.get('group')} (grouped or depthwise convolution) is not supported")
        w = self._param(node, 1, label, "weights")
        if w.ndim != 4:
            self.fail(f"{label}: weights of shape {w.shape}; only 2-D convolutions ([out, in, kh, kw]) are supported")
        if w.shape[1] != shape[0]:
            self.fail(f"{label}: weights take {w.shape[1]} channels, its input has {shape[0]}")
        if w.shape[0] == 0 or w.shape[0] > MAX_DIM:
            self.fail(f"{label} has {w.shape[0]} output channels; the guest engine allows 1 to {MAX_DIM}")
        if "kernel_shape" in attrs and attrs["kernel_shape"] != list(w.shape[2:]):
            self.fail(f"{label}: kernel_shape {attrs['kernel_shape']} does not match weights {w.shape}")
        b = self._param(node, 2, label, "bias", required=False)
        b = np.zeros(w.shape[0]) if b is None else self._vector(b, w.shape[0], label, "bias")
        stride, pads, oh, ow = self._window(label, attrs, shape, tuple(w.shape[2:]))
        return FConv(w, b, stride, pads), (w.shape[0], oh, ow)

    def _pool(self, node, label: str, attrs: dict, shape):
        if len(shape) != 3:
            self.fail(f"{label} needs an [N, C, H, W] input")
        if "kernel_shape" not in attrs:
            self.fail(f"{label} has no kernel_shape")
        kernel = tuple(self._ints(attrs, "kernel_shape", label, 2, []))
        if attrs.get("ceil_mode", 0):
            self.fail(f"{label}: ceil_mode=1 is not supported")
        if attrs.get("storage_order", 0):
            self.fail(f"{label}: storage_order=1 is not supported")
        if len(node.output) > 1 and node.output[1]:
            self.fail(f"{label}: the Indices output is not supported")
        stride, pads, oh, ow = self._window(label, attrs, shape, kernel)
        if node.op_type == "AveragePool" and attrs.get("count_include_pad", 0) and any(pads):
            self.fail(f"{label}: count_include_pad=1 with padding is not supported")
        return FPool(node.op_type == "MaxPool", kernel, stride, pads), (shape[0], oh, ow)

    def _reshape(self, node, label: str, shape) -> FFlatten:
        target = self._param(node, 1, label, "target shape", 1)
        n = math.prod(shape)
        ok = (target.size == 2 and target[0] in (0, 1, -1) and target[1] in (-1, n)
              and not (target[0] == -1 and target[1] == -1))
        if not ok:
            self.fail(f"{label}: only a reshape to [N, features] (a flatten) is supported, got {target.tolist()}")
        return FFlatten()

    def _clip(self, node, label: str, attrs: dict) -> FAct:
        lo = self._param(node, 1, label, "min", required=False)
        hi = self._param(node, 2, label, "max", required=False)
        lo = (self._float(attrs, "min", -np.inf, label) if "min" in attrs else -np.inf) if lo is None else \
            float(lo.reshape(-1)[0]) if lo.size == 1 else None
        hi = (self._float(attrs, "max", np.inf, label) if "max" in attrs else np.inf) if hi is None else \
            float(hi.reshape(-1)[0]) if hi.size == 1 else None
        if lo is None or hi is None or math.isnan(lo) or math.isnan(hi) or lo > hi:
            self.fail(f"{label}: min and max must be scalars with min <= max")
        return FAct("clip", lo=lo, hi=hi)
