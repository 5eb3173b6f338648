"""Seeded fuzzing of the files a model owner and a prover hand to `ml`: mutated ONNX models (bytes and graph
structure) through `ml quantize`, mutated .npy inputs through `ml run`'s input loading and as calibration data.
Every outcome is either a valid result (a blob the guest's checks accept and the reference runs; an int8
tensor of the model's size) or a typed ZkvmError; any other exception is a bug. A sample goes through the CLI:
exit status 0 or 1, never a traceback, and a blob only on success. `make test` runs >= 1,000 of each;
`make test-slow` >= 10^4."""

from __future__ import annotations

import io

import numpy as np
import pytest

from host.api import ml
from host.cli import main as cli
from host.ml.blob_decode import decode_blob
from host.ml import reference
from zkvm.errors import ZkvmError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

SEED = 20261216
INTS = [0, 1, 2, 3, 5, 16, 17, -1, -2, 4096, 5000, 1 << 31 - 1, -(1 << 31), 1 << 40]
FLOATS = [0.0, 1.0, -1.0, 1e-30, 1e30, float("nan"), float("inf"), -float("inf"), 0.5]
STRINGS = ["", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "bogus"]
OPS = ["Gemm", "MatMul", "Add", "Conv", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh",
       "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Dropout", "Identity", "Softmax",
       "LogSoftmax", "Constant", "Mul", "Transpose", "Concat", "Loop"]
ATTRS = ["auto_pad", "group", "dilations", "ceil_mode", "count_include_pad", "transA", "transB", "axis", "alpha",
         "beta", "epsilon", "training_mode", "storage_order", "pads", "strides", "kernel_shape", "min", "max"]


def _w(rng, shape, scale=0.5):
    return rng.normal(0, scale, shape).astype(np.float32)


def base_models() -> list[tuple[bytes, tuple[int, ...]]]:
    """-> [(serialized model, input shape without batch)]: an MLP and a residual CNN using most operators."""
    rng = np.random.default_rng([SEED, 0])
    models = []
    inits = [numpy_helper.from_array(a, n) for n, a in (
        ("W1", _w(rng, (8, 6))), ("B1", _w(rng, (8,), 0.1)), ("W2", _w(rng, (8, 5))), ("B2", _w(rng, (5,), 0.1)))]
    nodes = [helper.make_node("Gemm", ["x", "W1", "B1"], ["h"], transB=1, name="fc1"),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "W2"], ["m"], name="mm"),
             helper.make_node("Add", ["m", "B2"], ["a"], name="bias"),
             helper.make_node("Sigmoid", ["a"], ["s"], name="sig"),
             helper.make_node("Softmax", ["s"], ["y"], axis=1, name="softmax")]
    models.append((_model(nodes, inits, ["N", 6], ["N", 5]), (6,)))
    c = 3
    inits = [numpy_helper.from_array(a, n) for n, a in (
        ("Wc", _w(rng, (c, 1, 3, 3))), ("Bc", _w(rng, (c,), 0.1)), ("Wr", _w(rng, (c, c, 3, 3), 0.3)),
        ("g", np.ones(c, np.float32)), ("b", np.zeros(c, np.float32)), ("mu", np.zeros(c, np.float32)),
        ("var", np.ones(c, np.float32)), ("Wf", _w(rng, (4, c))), ("Bf", _w(rng, (4,), 0.1)),
        ("lo", np.array(0.0, np.float32)), ("hi", np.array(6.0, np.float32)))]
    nodes = [helper.make_node("Conv", ["x", "Wc", "Bc"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv1"),
             helper.make_node("Clip", ["c1", "lo", "hi"], ["k"], name="relu6"),
             helper.make_node("Conv", ["k", "Wr"], ["c2"], kernel_shape=[3, 3], auto_pad="SAME_UPPER", name="conv2"),
             helper.make_node("BatchNormalization", ["c2", "g", "b", "mu", "var"], ["bn"], name="bn"),
             helper.make_node("LeakyRelu", ["bn"], ["lr"], alpha=0.1, name="leaky"),
             helper.make_node("Add", ["lr", "k"], ["sum"], name="residual"),
             helper.make_node("MaxPool", ["sum"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
             helper.make_node("AveragePool", ["p"], ["ap"], kernel_shape=[2, 2], pads=[1, 1, 0, 0], name="avg"),
             helper.make_node("GlobalAveragePool", ["ap"], ["gap"], name="gap"),
             helper.make_node("Flatten", ["gap"], ["f"], axis=1, name="flatten"),
             helper.make_node("Dropout", ["f"], ["d"], name="drop"),
             helper.make_node("Gemm", ["d", "Wf", "Bf"], ["z"], transB=1, name="fc"),
             helper.make_node("Tanh", ["z"], ["y"], name="tanh")]
    models.append((_model(nodes, inits, ["N", 1, 6, 6], ["N", 4]), (1, 6, 6)))
    return models


def _model(nodes, inits, in_dims, out_dims) -> bytes:
    g = helper.make_graph(nodes, "fuzz", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_dims)],
                          [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, out_dims)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m.SerializeToString()


def _pick(rng, seq):
    return seq[int(rng.integers(0, len(seq)))]


def _attr_value(rng, name):
    kind = int(rng.integers(0, 5))
    if kind == 0:
        return int(_pick(rng, INTS))
    if kind == 1:
        return float(_pick(rng, FLOATS))
    if kind == 2:
        return [int(_pick(rng, INTS)) for _ in range(int(rng.integers(1, 6)))]
    if kind == 3:
        return _pick(rng, STRINGS)
    return [float(_pick(rng, FLOATS)) for _ in range(int(rng.integers(1, 4)))]


def mutate_onnx(data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    """One seeded mutation: raw bytes, or a structural edit of the graph."""
    kind = int(rng.integers(0, 12))
    if kind <= 1:  # bytes: truncate, flip, overwrite, insert
        b = bytearray(data)
        op = int(rng.integers(0, 4))
        pos = int(rng.integers(0, len(b)))
        if op == 0:
            return f"truncate@{pos}", bytes(b[:pos])
        if op == 1:
            for _ in range(int(rng.integers(1, 5))):
                p = int(rng.integers(0, len(b)))
                b[p] ^= 1 << int(rng.integers(0, 8))
            return "bitflips", bytes(b)
        if op == 2:
            b[pos] = int(rng.integers(0, 256))
            return f"byte@{pos}", bytes(b)
        return f"insert@{pos}", bytes(b[:pos] + bytes(rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8))
                                      + b[pos:])
    m = onnx.ModelProto()
    m.ParseFromString(data)
    g = m.graph
    nodes = g.node
    n = _pick(rng, list(nodes)) if len(nodes) else None
    names = [o for nd in nodes for o in nd.output] + [t.name for t in g.initializer] + ["x", "dangling", ""]
    if kind == 2 and n is not None and len(n.attribute):  # change an attribute's value
        a = _pick(rng, list(n.attribute))
        new = helper.make_attribute(a.name, _attr_value(rng, a.name))
        n.attribute.remove(a)
        n.attribute.append(new)
        label = f"attr {n.name}.{a.name}"
    elif kind == 3 and n is not None:  # add an attribute
        name = _pick(rng, ATTRS)
        for a in list(n.attribute):
            if a.name == name:
                n.attribute.remove(a)
        n.attribute.append(helper.make_attribute(name, _attr_value(rng, name)))
        label = f"add attr {n.name}.{name}"
    elif kind == 4 and n is not None and len(n.input):  # rewire an input
        i = int(rng.integers(0, len(n.input)))
        n.input[i] = _pick(rng, names)
        label = f"rewire {n.name}.input[{i}]"
    elif kind == 5 and n is not None:  # delete, duplicate or move a node
        idx = list(nodes).index(n)
        op = int(rng.integers(0, 3))
        if op == 0:
            del nodes[idx]
        elif op == 1:
            nodes.add().CopyFrom(n)
        else:
            moved = onnx.NodeProto()
            moved.CopyFrom(n)
            del nodes[idx]
            nodes.insert(int(rng.integers(0, len(nodes) + 1)), moved)
        label = f"node op{op} {n.name}"
    elif kind == 6 and n is not None:  # another operator
        n.op_type = _pick(rng, OPS)
        label = f"op {n.name}->{n.op_type}"
    elif kind == 7 and len(g.initializer):  # initializer: values, dims, type, bytes
        t = _pick(rng, list(g.initializer))
        arr = numpy_helper.to_array(t).astype(np.float32).copy()
        op = int(rng.integers(0, 5))
        if op == 0 and arr.size:
            arr.reshape(-1)[int(rng.integers(0, arr.size))] = _pick(rng, FLOATS)
            t.CopyFrom(numpy_helper.from_array(arr, t.name))
        elif op == 1:
            t.CopyFrom(numpy_helper.from_array(arr.reshape(-1) if arr.ndim > 1 else arr.reshape(1, -1), t.name))
        elif op == 2:
            t.data_type = int(rng.integers(0, 17))
        elif op == 3:
            del t.dims[:]
            t.dims.extend(int(abs(_pick(rng, INTS))) % 64 for _ in range(int(rng.integers(0, 5))))
        else:
            g.initializer.remove(t)
        label = f"init {t.name} op{op}"
    elif kind == 8:  # graph input / output types and dims
        vi = g.input[0] if rng.integers(0, 2) else g.output[0]
        dims = vi.type.tensor_type.shape.dim
        if len(dims) and rng.integers(0, 3):
            d = dims[int(rng.integers(0, len(dims)))]
            if rng.integers(0, 2):
                d.dim_value = int(_pick(rng, [0, 1, 2, 7, 4096, 1 << 20]))
            else:
                d.dim_param = "sym"
        elif rng.integers(0, 2):
            vi.type.tensor_type.elem_type = int(rng.integers(0, 17))
        else:
            dims.add().dim_value = 3
        label = f"io {vi.name}"
    elif kind == 9:  # extra or missing graph inputs / outputs
        if rng.integers(0, 2):
            g.input.append(helper.make_tensor_value_info(_pick(rng, names) or "e", TensorProto.FLOAT, [1, 6]))
        else:
            del g.output[:]
            if rng.integers(0, 2):
                g.output.append(helper.make_tensor_value_info(_pick(rng, names) or "o", TensorProto.FLOAT, [1]))
        label = "io count"
    elif kind == 10 and n is not None:  # outputs of a node
        op = int(rng.integers(0, 3))
        if op == 0:
            del n.output[:]
        elif op == 1:
            n.output[0] = _pick(rng, names)
        else:
            n.output.append(_pick(rng, names))
        label = f"outputs {n.name} op{op}"
    else:  # a Constant node feeding something
        value = _pick(rng, [np.array([-1, 6]), np.array([1, -1]), np.array([0, 0]), np.float32(0.5),
                            np.array([1.0, np.nan], np.float32), np.array([[1.0, 2.0]], np.float32)])
        c = helper.make_node("Constant", [], ["cst"], value=numpy_helper.from_array(np.asarray(value), "v"))
        nodes.insert(0, c)
        if n is not None and len(n.input) > 1:
            n.input[1] = "cst"
        label = "constant"
    return label, m.SerializeToString()


def _check_quantize(data: bytes, calib: np.ndarray, label: str) -> bool:
    """True: quantised to a valid blob; False: a typed rejection. Anything else fails the test."""
    try:
        model = ml.quantize(data, calib)
    except ZkvmError:
        return False
    except Exception as exc:  # noqa: BLE001 - the point of the fuzzer
        raise AssertionError(f"seed {SEED} {label}: {type(exc).__name__}: {exc}") from exc
    qm = decode_blob(model.blob)  # the guest's checks accept it
    n = int(np.prod(qm.input_shape))
    out = reference.run(qm, qm.quantize_input(np.zeros((1, n))))  # and the integer network runs
    assert out.shape[0] == 1 and 0 < out.shape[1] <= 1024, f"seed {SEED} {label}: output {out.shape}"
    return True


def _onnx_fuzz(count: int, tmp_path, capsys) -> None:
    outcomes = {True: 0, False: 0}
    cli_checked = 0
    for which, (data, in_shape) in enumerate(base_models()):
        rng = np.random.default_rng([SEED, which])
        calib = rng.normal(0, 1, (8, *in_shape))
        assert _check_quantize(data, calib, "unmutated")
        for k in range(count // 2):
            label, mutated = mutate_onnx(data, rng)
            label = f"model {which} #{k} {label}"
            outcomes[_check_quantize(mutated, calib, label)] += 1
            if k % 50 == 0:  # the CLI on the same bytes: 0 with a blob or 1 without, never a traceback
                src, out = tmp_path / "m.onnx", tmp_path / "m.blob"
                src.write_bytes(mutated)
                np.save(tmp_path / "c.npy", calib)
                out.unlink(missing_ok=True)
                capsys.readouterr()
                status = cli(["ml", "quantize", str(src), "--calibration", str(tmp_path / "c.npy"), "--out", str(out)])
                err = capsys.readouterr().err
                assert status in (0, 1) and "Traceback" not in err, f"seed {SEED} {label}: {err}"
                assert out.exists() == (status == 0), f"seed {SEED} {label}"
                cli_checked += 1
    # the mutations reach both outcomes: not all rejected at parse time, not all accepted
    assert outcomes[False] > count // 4 and outcomes[True] > count // 50, outcomes
    assert cli_checked >= count // 50


def test_onnx_fuzz(tmp_path, capsys) -> None:
    _onnx_fuzz(1000, tmp_path, capsys)


@pytest.mark.slow
def test_onnx_fuzz_long(tmp_path, capsys) -> None:
    _onnx_fuzz(10_000, tmp_path, capsys)


# ---------------------------------------------------------------------------------------------- .npy inputs

DTYPES = ["<f8", "<f4", "<i8", "|u1", "|b1", "<U3", "|S2", "|O", "<c16", "<M8[s]", "<m8[s]", "|V8",
          "[('a', '<f4'), ('b', '<i4')]", "<f2", ">f8", "<i4", "bogus"]


def _npy_bytes(arr: np.ndarray) -> bytes:
    f = io.BytesIO()
    np.save(f, arr, allow_pickle=False)
    return f.getvalue()


def mutate_npy(data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    header_end = data.index(b"\n") + 1
    kind = int(rng.integers(0, 8))
    b = bytearray(data)
    if kind == 0:
        pos = int(rng.integers(0, len(b)))
        return f"truncate@{pos}", bytes(b[:pos])
    if kind == 1:  # a flipped bit in the header
        p = int(rng.integers(0, header_end))
        b[p] ^= 1 << int(rng.integers(0, 8))
        return f"header bit@{p}", bytes(b)
    if kind == 2:  # body bytes: any float pattern (NaN, inf, denormals...)
        for _ in range(int(rng.integers(1, 4))):
            p = int(rng.integers(header_end, len(b)))
            b[p] = int(rng.integers(0, 256))
        return "body bytes", bytes(b)
    if kind == 3:  # another dtype in the header text
        text = data[:header_end].decode("latin1")
        d = _pick(rng, DTYPES)
        new = text.replace("'<f8'", d if d.startswith("[") else repr(d))
        return f"dtype {d}", _fix_header(new) + data[header_end:]
    if kind == 4:  # another shape
        text = data[:header_end].decode("latin1")
        shape = _pick(rng, ["()", "(0,)", "(7,)", "(1, 6)", "(6, 1)", "(2, 3)", "(1, 1, 6, 1)", "(1099511627776,)",
                            "(-1,)", "(3, -2)", "'x'", "(6, 6)"])
        start = text.index("'shape': ") + len("'shape': ")
        end = text.index("}", start)
        new = text[:start] + shape + ", " + text[end:]
        return f"shape {shape}", _fix_header(new) + data[header_end:]
    if kind == 5:  # extra bytes after the data
        return "trailing", data + bytes(int(rng.integers(1, 16)))
    if kind == 6:  # NaN / inf / huge values, well formed
        arr = np.frombuffer(data[header_end:], dtype="<f8").copy()
        arr[int(rng.integers(0, len(arr)))] = _pick(rng, [np.nan, np.inf, -np.inf, 1e308, -1e308, 5e-324])
        return "special value", data[:header_end] + arr.tobytes()
    p = int(rng.integers(0, 8))  # magic / version bytes
    b[p] = int(rng.integers(0, 256))
    return f"magic@{p}", bytes(b)


def _fix_header(text: str) -> bytes:
    """Re-pad a header to a multiple of 64 bytes (as numpy writes it) so the mutation reaches the checks."""
    body = text[10:].rstrip("\n").rstrip(" ")
    total = 10 + len(body) + 1
    pad = (-total) % 64
    body = body + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body.encode("latin1")


def _npy_fuzz(count: int, tmp_path, capsys) -> None:
    data, _ = base_models()[0]
    model = ml.quantize(data, np.random.default_rng(0).normal(0, 1, (16, 6)))
    rng = np.random.default_rng([SEED, 99])
    base = _npy_bytes(rng.normal(0, 1, 6))
    path = tmp_path / "x.npy"
    ok = 0
    for k in range(count):
        label, mutated = mutate_npy(base, rng)
        label = f"#{k} {label}"
        path.write_bytes(mutated)
        try:
            xq = ml.prepare_input(model, path)
            assert xq.dtype == np.int8 and xq.shape == (6,), label
            ok += 1
        except ZkvmError:
            pass
        except Exception as exc:  # noqa: BLE001 - the point of the fuzzer
            raise AssertionError(f"seed {SEED} {label}: {type(exc).__name__}: {exc}") from exc
        if k % 10 == 0:  # the same file as calibration data
            try:
                ml.quantize(data, path)
            except ZkvmError:
                pass
            except Exception as exc:  # noqa: BLE001
                raise AssertionError(f"seed {SEED} calibration {label}: {type(exc).__name__}: {exc}") from exc
        if k % 100 == 0:  # and through the CLI: exit 0 or 1, never a traceback
            capsys.readouterr()
            blob = model.save(tmp_path / "m.blob")
            status = cli(["ml", "run", str(blob), "--public", "model", "--input", str(path)])
            err = capsys.readouterr().err
            assert status in (0, 1) and "Traceback" not in err, f"seed {SEED} {label}: {err}"
    assert count // 20 < ok < count, ok


def test_npy_fuzz(tmp_path, capsys) -> None:
    _npy_fuzz(1000, tmp_path, capsys)


@pytest.mark.slow
def test_npy_fuzz_long(tmp_path, capsys) -> None:
    _npy_fuzz(10_000, tmp_path, capsys)


def test_fuzz_mutators_are_seeded() -> None:
    data, _ = base_models()[1]
    a = [mutate_onnx(data, np.random.default_rng([SEED, 5]))[1] for _ in range(3)]
    b = [mutate_onnx(data, np.random.default_rng([SEED, 5]))[1] for _ in range(3)]
    assert a == b
