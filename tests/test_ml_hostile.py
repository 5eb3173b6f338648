"""Bad models and inputs, each a regression test (issue 12 items 6-8): `ml quantize` on hostile ONNX files,
`ml run` on hostile .npy inputs, and huge files. Every case: exit status 1, a message naming the problem, no
traceback, and no blob written."""

from __future__ import annotations

import os

import numpy as np
import pytest

from host.api import ml
from host.cli import main as cli
from host.ml.blob_decode import decode_blob

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RNG_SEED = 1612


def _graph(nodes, inits, in_dims=("N", 6), out_dims=("N", 4), inputs=None, outputs=None):
    g = helper.make_graph(
        nodes, "hostile",
        inputs if inputs is not None else [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_dims))],
        outputs if outputs is not None else [helper.make_tensor_value_info(nodes[-1].output[0] if nodes and
                                                                           nodes[-1].output else "y",
                                                                           TensorProto.FLOAT, list(out_dims))],
        inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m.SerializeToString()


def _init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def _w(shape, seed=0):
    return np.random.default_rng([RNG_SEED, seed]).normal(0, 0.5, shape).astype(np.float32)


def _gemm_model(w=None, b=None, extra=()):
    w = _w((4, 6)) if w is None else w
    inits = [_init("W", w), _init("B", _w((w.shape[0],), 1) if b is None else b)]
    return _graph([helper.make_node("Gemm", ["x", "W", "B"], ["y"], transB=1, name="fc"), *extra], inits,
                  out_dims=("N", w.shape[0]))


def _conv_model(attrs=None, w=None, pool_attrs=None, in_dims=("N", 1, 6, 6)):
    w = _w((2, 1, 3, 3)) if w is None else w
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], name="conv", **(attrs if attrs is not None else
                                                                         {"kernel_shape": [3, 3]}))]
    if pool_attrs is not None:
        nodes.append(helper.make_node("MaxPool", ["c"], ["p"], name="pool", **pool_attrs))
    nodes.append(helper.make_node("Flatten", [nodes[-1].output[0]], ["y"], name="flat"))
    return _graph(nodes, [_init("W", w)], in_dims=in_dims, out_dims=("N", 32))


def _string_init_model():
    t = helper.make_tensor("W", TensorProto.STRING, [4, 6], [b"w"] * 24)
    return _graph([helper.make_node("Gemm", ["x", "W"], ["y"], transB=1, name="fc")], [t])


def _external_model():
    t = _init("W", _w((4, 6)))
    t.data_location = TensorProto.EXTERNAL
    t.ClearField("raw_data")
    entry = t.external_data.add()
    entry.key, entry.value = "location", "/etc/passwd"
    return _graph([helper.make_node("Gemm", ["x", "W"], ["y"], transB=1, name="fc")], [t])


def _huge_activation_model():
    # 64 channels of 128 x 128: 2^20 values, over the engine's 2^18 activation limit.
    return _conv_model({"kernel_shape": [1, 1]}, w=_w((64, 1, 1, 1)), in_dims=("N", 1, 128, 128))


CASES = {
    "random bytes": (lambda: bytes(np.random.default_rng(RNG_SEED).integers(0, 256, 300, dtype=np.uint8)),
                     "not an ONNX model|no nodes"),
    "empty file": (lambda: b"", "no nodes"),
    "text file": (lambda: b"this is not a model\n", "not an ONNX model|no nodes"),
    "empty graph": (lambda: _graph([], [], outputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])]),
                    "no nodes"),
    "cycle": (lambda: _graph([helper.make_node("Gemm", ["x", "W"], ["h"], transB=1, name="fc"),
                              helper.make_node("Add", ["h", "z"], ["y"], name="loop_add"),
                              helper.make_node("Relu", ["y"], ["z"], name="loop_relu")],
                             [_init("W", _w((4, 6)))]), "cycle"),
    "dangling input": (lambda: _graph([helper.make_node("Gemm", ["x", "W"], ["h"], transB=1, name="fc"),
                                       helper.make_node("Relu", ["nowhere"], ["y"], name="lost")],
                                      [_init("W", _w((4, 6)))]), "'nowhere', which no node"),
    "NaN weights": (lambda: _gemm_model(w=np.where(_w((4, 6)) > 0.3, np.nan, _w((4, 6))).astype(np.float32)), "NaN"),
    "inf bias": (lambda: _gemm_model(b=np.array([0, np.inf, 0, 0], np.float32)), "NaN or infinite"),
    "huge weights overflow": (lambda: _gemm_model(w=np.full((4, 6), 1e308)), "non-finite"),
    "zero stride": (lambda: _conv_model({"kernel_shape": [3, 3], "strides": [0, 1]}), "zero stride"),
    "shapes do not chain": (lambda: _gemm_model(w=_w((4, 7))), "take 7 features, its input has 6"),
    "dense 5000 wide": (lambda: _gemm_model(w=_w((5000, 6))), "5000 outputs"),
    "activation too large": (_huge_activation_model, "over the guest engine's limits"),
    "maxpool without kernel_shape": (lambda: _conv_model(pool_attrs={}), "no kernel_shape"),
    "node without output": (lambda: _graph([helper.make_node("Gemm", ["x", "W"], ["y"], transB=1, name="fc"),
                                            helper.make_node("Relu", ["y"], [], name="void")],
                                           [_init("W", _w((4, 6)))], outputs=[helper.make_tensor_value_info(
                                               "y", TensorProto.FLOAT, [1, 4])]), "has no output"),
    "string initializer": (_string_init_model, "not a real number"),
    "1-D conv weights": (lambda: _conv_model({}, w=_w((2, 3))), "only 2-D convolutions"),
    "kernel_shape disagrees": (lambda: _conv_model({"kernel_shape": [5, 5]}), "does not match weights"),
    "grouped conv": (lambda: _conv_model({"group": 2}), "grouped"),
    "unsupported operator": (lambda: _gemm_model(extra=[helper.make_node("Erf", ["y"], ["e"], name="gelu_part")]),
                             "'Erf' \\(Erf node 'gelu_part'\\)"),
    "external data": (_external_model, "external file"),
    "softmax in the middle": (lambda: _graph([helper.make_node("Gemm", ["x", "W"], ["h"], transB=1, name="fc"),
                                              helper.make_node("Softmax", ["h"], ["s"], name="sm"),
                                              helper.make_node("Relu", ["s"], ["y"], name="r")],
                                             [_init("W", _w((4, 6)))]), "only supported as the model's last node"),
    "two consumers": (lambda: _graph([helper.make_node("Gemm", ["x", "W"], ["h"], transB=1, name="fc"),
                                      helper.make_node("Relu", ["h"], ["a"], name="r1"),
                                      helper.make_node("Sigmoid", ["h"], ["y"], name="r2")],
                                     [_init("W", _w((4, 6)))]), "feeds 2 nodes"),
    "batchnorm alone": (lambda: _graph([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"],
                                                         name="bn")],
                                       [_init(k, np.ones(6, np.float32)) for k in "sbmv"], out_dims=("N", 6)),
                        "must directly follow a Conv"),
    "two graph inputs": (lambda: _graph([helper.make_node("Gemm", ["x", "W"], ["y"], transB=1, name="fc")],
                                        [_init("W", _w((4, 6)))],
                                        inputs=[helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 6])
                                                for n in ("x", "x2")]), "exactly one input"),
    "pads not smaller than the kernel": (lambda: _conv_model({"kernel_shape": [3, 3], "pads": [3, 0, 0, 0]}),
                                         "smaller than the kernel"),
}


def _quantize_rejected(tmp_path, capsys, data: bytes, pattern: str, calib_shape=(16, 6)) -> str:
    import re

    src = tmp_path / "m.onnx"
    src.write_bytes(data)
    np.save(tmp_path / "calib.npy", np.random.default_rng(0).normal(size=calib_shape))
    out = tmp_path / "m.blob"
    capsys.readouterr()
    status = cli(["ml", "quantize", str(src), "--calibration", str(tmp_path / "calib.npy"), "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 1, err
    assert "Traceback" not in err and err.startswith("error: "), err
    assert re.search(pattern, err), err
    assert not out.exists()
    return err


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_onnx_is_a_clear_error(case: str, tmp_path, capsys) -> None:
    make, pattern = CASES[case]
    data = make()
    calib_shape = (16, 1, 128, 128) if case == "activation too large" else (16, 1, 6, 6) if "conv" in case or \
        "stride" in case or "kernel" in case or "pads" in case else (16, 6)
    _quantize_rejected(tmp_path, capsys, data, pattern, calib_shape)


def test_conv_without_kernel_shape_takes_it_from_the_weights(tmp_path, capsys) -> None:
    """Issue 12 item 6 listed it as a KeyError traceback; kernel_shape is optional in ONNX, so it now imports."""
    (tmp_path / "m.onnx").write_bytes(_conv_model({}))
    np.save(tmp_path / "calib.npy", np.random.default_rng(0).normal(size=(16, 1, 6, 6)))
    assert cli(["ml", "quantize", str(tmp_path / "m.onnx"), "--calibration", str(tmp_path / "calib.npy"),
                "--out", str(tmp_path / "m.blob")]) == 0
    qm = decode_blob((tmp_path / "m.blob").read_bytes())
    assert qm.layers[0].weights.shape == (2, 1, 3, 3)


@pytest.mark.parametrize("bad", ["wrong width", "NaN", "strings", "complex", "3-D"])
def test_hostile_calibration_data(bad: str, tmp_path, capsys) -> None:
    x = np.random.default_rng(1).normal(size=(16, 6))
    arr = {"wrong width": x[:, :5], "NaN": np.where(x > 1, np.nan, x), "strings": x.astype(str),
           "complex": x.astype(complex), "3-D": x.reshape(16, 3, 2)[:, :, :1]}[bad]
    (tmp_path / "m.onnx").write_bytes(_gemm_model())
    np.save(tmp_path / "calib.npy", arr)
    capsys.readouterr()
    assert cli(["ml", "quantize", str(tmp_path / "m.onnx"), "--calibration", str(tmp_path / "calib.npy"),
                "--out", str(tmp_path / "m.blob")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "calibration" in err, err
    assert not (tmp_path / "m.blob").exists()


@pytest.fixture
def user_blob(tmp_path):
    (tmp_path / "m.onnx").write_bytes(_gemm_model())
    model = ml.quantize(tmp_path / "m.onnx", np.random.default_rng(2).normal(size=(32, 6)))
    path = model.save(tmp_path / "m.blob")
    ml.commit(ml.load_model(path))
    return path


NPY_CASES = {
    "string dtype": (np.array(["a"] * 6), "string"),
    "bytes dtype": (np.array([b"ab"] * 6), "bytes"),
    "structured dtype": (np.zeros(6, dtype=[("a", "<f4"), ("b", "<i4")]), "structured"),
    "complex": (np.ones(6, dtype=complex), "complex"),
    "datetime": (np.array(["2026-01-01"] * 6, dtype="datetime64[D]"), "datetime"),
    "timedelta": (np.arange(6).astype("timedelta64[s]"), "timedelta"),
    "NaN": (np.array([0, 1, np.nan, 0, 0, 0.5]), "NaN"),
    "inf": (np.array([0, 1, np.inf, 0, 0, 0.5]), "NaN/inf"),
    "wrong shape": (np.zeros((2, 3)), "has shape \\(2, 3\\)"),
    "wrong size": (np.zeros(7), "has shape \\(7,\\)"),
    "empty": (np.zeros(0), "has shape \\(0,\\)"),
}


@pytest.mark.parametrize("case", list(NPY_CASES))
def test_hostile_npy_input(case: str, user_blob, tmp_path, capsys) -> None:
    import re

    arr, pattern = NPY_CASES[case]
    np.save(tmp_path / "x.npy", arr, allow_pickle=False)
    for cmd in (["run"], ["prove", "--receipt", str(tmp_path / "r.rcpt")]):
        capsys.readouterr()
        assert cli(["ml", *cmd[:1], str(user_blob), "--input", str(tmp_path / "x.npy"), *cmd[1:]]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and re.search(pattern, err), err
    assert not (tmp_path / "r.rcpt").exists()


def test_pickled_npy_is_never_loaded(user_blob, tmp_path, capsys) -> None:
    np.save(tmp_path / "x.npy", np.array([object()] * 6, dtype=object), allow_pickle=True)
    assert cli(["ml", "run", str(user_blob), "--input", str(tmp_path / "x.npy")]) == 1
    assert "object" in capsys.readouterr().err


def test_npy_header_claiming_a_huge_array(user_blob, tmp_path, capsys) -> None:
    """A 200-byte file whose header says 2^40 floats: rejected from the header, nothing allocated."""
    header = {"descr": "<f8", "fortran_order": False, "shape": (1 << 40,)}
    with open(tmp_path / "x.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 64)
    assert cli(["ml", "run", str(user_blob), "--input", str(tmp_path / "x.npy")]) == 1
    err = capsys.readouterr().err
    assert "the header says" in err and "Traceback" not in err


def _sparse(path, size: int):
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def test_huge_files_are_refused_before_reading(user_blob, tmp_path, capsys) -> None:
    """Issue 12 item 8: sparse multi-GiB files (no disk used) and /dev/zero; each refused from its size."""
    big = _sparse(tmp_path / "big.bin", 4 << 30)
    cases = [
        (["ml", "run", str(user_blob), "--input", str(big)], "more than the 6 allowed"),
        (["ml", "run", str(user_blob), "--input", str(_sparse(tmp_path / "big.npy", 4 << 30))], "allowed"),
        (["ml", "image-id", "--public", "model", "--model-blob", str(big)], "more than the 8,388,608 allowed"),
        (["ml", "run", str(big), "--input", "x.npy"], "more than the 8,388,608 allowed"),
        (["ml", "verify", "r.rcpt", "--model-blob", str(big)], "more than the 8,388,608 allowed"),
        (["ml", "quantize", str(_sparse(tmp_path / "big.onnx", 4 << 30)), "--calibration", "digits8", "--out",
          str(tmp_path / "o.blob")], "more than the 67,108,864 allowed"),
        (["ml", "quantize", str(tmp_path / "big.onnx"), "--calibration", str(tmp_path / "big.npy"), "--out",
          str(tmp_path / "o.blob")], "allowed"),
        (["ml", "run", str(user_blob), "--input", str(tmp_path / "m.blob"), "--salt", str(big)], "allowed"),
    ]
    if os.path.exists("/dev/zero"):
        cases.append((["ml", "run", str(user_blob), "--input", "/dev/zero"], "not a regular file"))
        cases.append((["ml", "image-id", "--public", "model", "--model-blob", "/dev/zero"], "not a regular file"))
    for argv, pattern in cases:
        capsys.readouterr()
        assert cli(argv) == 1, argv
        err = capsys.readouterr().err
        assert pattern in err and "Traceback" not in err, (argv, err)
    assert not (tmp_path / "o.blob").exists()


def test_wrong_model_kind_and_missing_files(user_blob, tmp_path, capsys) -> None:
    cases = [
        (["ml", "run", str(tmp_path / "nope.blob"), "--input", "digits:0"], "not found"),
        (["ml", "run", str(tmp_path / "m.onnx"), "--input", "digits:0"], "give calibration data"),
        (["ml", "run", str(user_blob), "--input", "digits:0"], "8x8 or 28x28"),
        (["ml", "run", str(user_blob), "--input", str(tmp_path / "none.npy")], "No such file"),
        (["ml", "run", str(user_blob), "--input", str(tmp_path / "m.onnx")], "more than the 6 allowed"),
        (["ml", "run", str(tmp_path / "m.onnx"), "--input", "x", "--calibration", str(tmp_path / "m.blob")],
         "not a valid .npy"),
        (["ml", "run", str(user_blob), "--input", str(tmp_path / "six.bin"), "--salt", str(tmp_path / "none.salt")],
         "no salt"),
    ]
    (tmp_path / "six.bin").write_bytes(bytes(6))
    for argv, pattern in cases:
        capsys.readouterr()
        assert cli(argv) == 1, argv
        err = capsys.readouterr().err
        assert pattern in err and "Traceback" not in err, (argv, err)
