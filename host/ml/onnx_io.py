"""ONNX <-> FloatModel for linear chains of Gemm/MatMul(+Add)/Conv/Relu/MaxPool/AveragePool/Flatten/Reshape.

Anything else raises InputError naming the operator, so a user knows exactly what the guest cannot run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from host.ml.float_model import FConv, FDense, FFlatten, FloatModel, FPool, FRelu
from zkvm.errors import InputError

SUPPORTED = ("Gemm", "MatMul", "Conv", "Relu", "MaxPool", "AveragePool", "Flatten", "Reshape")
OPSET = 13


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


def _attrs(node) -> dict:
    from onnx import helper  # noqa: PLC0415

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _pads(attrs: dict, node) -> tuple[int, int, int, int]:
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise InputError(f"{node.op_type} node '{node.name}': auto_pad is not supported, give explicit pads")
    p = list(attrs.get("pads", [0, 0, 0, 0]))
    if len(p) != 4:
        raise InputError(f"{node.op_type} node '{node.name}': only 2-D pads are supported")
    return (p[0], p[1], p[2], p[3])  # ONNX order: top, left, bottom, right


def _check_unit(attrs: dict, node, name: str) -> None:
    if any(v != 1 for v in attrs.get(name, [1, 1])):
        raise InputError(f"{node.op_type} node '{node.name}': {name} other than 1 is not supported")


def load(path: str | Path, input_range: tuple[float, float] = (0.0, 1.0)) -> FloatModel:
    onnx = _onnx()
    from onnx import numpy_helper  # noqa: PLC0415

    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # onnx raises assorted protobuf/OS errors
        raise InputError(f"cannot read ONNX file {path}: {exc}") from None
    g = proto.graph
    inits = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
    real_inputs = [i for i in g.input if i.name not in inits]
    if len(real_inputs) != 1:
        raise InputError(f"ONNX model must have exactly one input, found {len(real_inputs)}")
    dims = [d.dim_value for d in real_inputs[0].type.tensor_type.shape.dim]
    if len(dims) == 2:
        shape = (dims[1], 1, 1)
    elif len(dims) == 4:
        shape = (dims[1], dims[2], dims[3])
    else:
        raise InputError(f"ONNX input must be [N, F] or [N, C, H, W], got {dims}")
    if 0 in shape:
        raise InputError(f"ONNX input has symbolic dimensions {dims}; fix them")
    model = FloatModel(shape, [], input_range)
    nodes = list(g.node)
    cur = real_inputs[0].name
    i = 0
    while i < len(nodes):
        node = nodes[i]
        op, attrs = node.op_type, _attrs(node)
        if op not in SUPPORTED:
            raise InputError(f"unsupported ONNX operator '{op}' (node '{node.name}'); supported: {', '.join(SUPPORTED)}")
        if not node.input or node.input[0] != cur:
            raise InputError(f"ONNX node '{node.name}' ({op}) does not continue a linear chain")
        params = [inits.get(n) for n in node.input[1:]]
        if op == "Gemm":
            if attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0 or attrs.get("transA", 0):
                raise InputError(f"Gemm node '{node.name}': only alpha=beta=1, transA=0 are supported")
            if params[0] is None:
                raise InputError(f"Gemm node '{node.name}': B must be a constant initializer")
            w = params[0] if attrs.get("transB", 0) else params[0].T
            b = params[1].reshape(-1) if len(params) > 1 and params[1] is not None else np.zeros(w.shape[0])
            model.ops.append(FDense(w, np.broadcast_to(b, (w.shape[0],)).copy()))
        elif op == "MatMul":
            if params[0] is None:
                raise InputError(f"MatMul node '{node.name}': the second operand must be a constant initializer")
            w = params[0].T
            b = np.zeros(w.shape[0])
            nxt = nodes[i + 1] if i + 1 < len(nodes) else None
            if nxt is not None and nxt.op_type == "Add" and nxt.input[0] == node.output[0] and nxt.input[1] in inits:
                b = inits[nxt.input[1]].reshape(-1)
                node = nxt
                i += 1
            model.ops.append(FDense(w, b))
        elif op == "Conv":
            if attrs.get("group", 1) != 1:
                raise InputError(f"Conv node '{node.name}': grouped convolution is not supported")
            _check_unit(attrs, node, "dilations")
            w = params[0]
            if w is None:
                raise InputError(f"Conv node '{node.name}': weights must be a constant initializer")
            b = params[1] if len(params) > 1 and params[1] is not None else np.zeros(w.shape[0])
            model.ops.append(FConv(w, b, tuple(attrs.get("strides", [1, 1])), _pads(attrs, node)))
        elif op == "Relu":
            model.ops.append(FRelu())
        elif op in ("MaxPool", "AveragePool"):
            _check_unit(attrs, node, "dilations")
            if attrs.get("ceil_mode", 0):
                raise InputError(f"{op} node '{node.name}': ceil_mode=1 is not supported")
            if op == "AveragePool" and attrs.get("count_include_pad", 0):
                raise InputError(f"AveragePool node '{node.name}': count_include_pad=1 is not supported")
            k = tuple(attrs["kernel_shape"])
            model.ops.append(FPool(op == "MaxPool", k, tuple(attrs.get("strides", [1, 1])), _pads(attrs, node)))
        elif op == "Flatten":
            if attrs.get("axis", 1) != 1:
                raise InputError(f"Flatten node '{node.name}': only axis=1 is supported")
            model.ops.append(FFlatten())
        elif op == "Reshape":
            target = params[0]
            if target is None or target.size != 2 or target[0] not in (1, -1, 0):
                raise InputError(f"Reshape node '{node.name}': only flattening to [N, features] is supported")
            model.ops.append(FFlatten())
        cur = node.output[0]
        i += 1
    return model
