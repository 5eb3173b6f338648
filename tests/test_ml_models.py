"""Model tooling: accuracy targets on the whole digits test split, the ONNX path (import/export, MatMul+Add,
Reshape, every supported op, clear errors for unsupported ones), blob round trips, the CLI's run command."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from host.ml import blob as blobmod
from host.ml.blob_decode import decode_blob
from host.ml import onnx_io, reference
from host.ml.float_model import FDense, FloatModel, FRelu
from ml_support import REPO, model
from zkvm.errors import InputError


@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_integer_accuracy_tracks_float(name: str) -> None:
    fm, qm, _, xte, yte = model(name)
    fp = fm.predict(xte)
    ip = reference.predict(qm, qm.quantize_input(xte))
    f_acc, i_acc, agree = (fp == yte).mean(), (ip == yte).mean(), (fp == ip).mean()
    assert len(yte) >= 400  # the whole test split, not a sample
    assert f_acc >= 0.94, f"model {name}: float top-1 {f_acc:.4f}"
    assert i_acc >= f_acc - 0.01, f"model {name}: int {i_acc:.4f} vs float {f_acc:.4f}"
    assert agree >= 0.98, f"model {name}: agreement {agree:.4f}"


@pytest.mark.parametrize("name", ["a", "c"])
def test_blob_round_trip(name: str) -> None:
    _, qm, blob, _, _ = model(name)
    again = decode_blob(blob)
    assert again.to_bytes() == blob
    assert again.digest() == qm.digest()


def _onnx_model(nodes, inits, in_dims, out_dims):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_dims)],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, out_dims)],
        [numpy_helper.from_array(np.asarray(v, dtype=np.float32) if k != "shape" else np.asarray(v, dtype=np.int64), k)
         for k, v in inits.items()],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def test_unsupported_onnx_op_is_named(tmp_path) -> None:
    import onnx
    from onnx import helper

    rng = np.random.default_rng(0)
    m = _onnx_model([helper.make_node("Gemm", ["x", "W", "B"], ["h"], transB=1),
                     helper.make_node("Sin", ["h"], ["y"], name="squash")],
                    {"W": rng.normal(size=(4, 6)), "B": np.zeros(4)}, [1, 6], [1, 4])
    onnx.save(m, tmp_path / "m.onnx")
    with pytest.raises(InputError, match="unsupported ONNX operator 'Sin'.*squash"):
        onnx_io.load(tmp_path / "m.onnx")


def test_matmul_add_reshape_import_matches_numpy(tmp_path) -> None:
    import onnx
    from onnx import helper

    rng = np.random.default_rng(1)
    w1, b1, w2 = rng.normal(size=(12, 5)), rng.normal(size=5), rng.normal(size=(5, 3))
    m = _onnx_model([
        helper.make_node("Reshape", ["x", "shape"], ["f"]),
        helper.make_node("MatMul", ["f", "W1"], ["m"]), helper.make_node("Add", ["m", "B1"], ["a"]),
        helper.make_node("Relu", ["a"], ["r"]), helper.make_node("MatMul", ["r", "W2"], ["y"]),
    ], {"shape": [1, -1], "W1": w1, "B1": b1, "W2": w2}, [1, 3, 2, 2], [1, 3])
    onnx.save(m, tmp_path / "m.onnx")
    fm = onnx_io.load(tmp_path / "m.onnx")
    x = rng.normal(size=(7, 12))
    want = np.maximum(x @ w1 + b1, 0) @ w2
    np.testing.assert_allclose(fm.forward(x), want, rtol=1e-5, atol=1e-5)


def test_onnx_round_trip_every_layer_kind(tmp_path) -> None:
    from host.ml.float_model import FConv, FFlatten, FPool

    rng = np.random.default_rng(2)
    fm = FloatModel((2, 9, 9), [
        FConv(rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3), (2, 1), (1, 2, 0, 1)), FRelu(),
        FPool(True, (2, 3), (1, 2), (1, 0, 1, 2)), FPool(False, (3, 2), (2, 1), (2, 1, 1, 0)), FFlatten(),
        FDense(rng.normal(size=(4, 45)), rng.normal(size=4)),
    ])
    onnx_io.export(fm, tmp_path / "m.onnx")
    back = onnx_io.load(tmp_path / "m.onnx")
    x = rng.normal(size=(5, 162))
    np.testing.assert_allclose(back.forward(x), fm.forward(x), rtol=1e-4, atol=1e-4)
    # cross-check our float semantics (pads, count_include_pad=0) against onnx's reference evaluator
    from onnx.reference import ReferenceEvaluator

    sess = ReferenceEvaluator(str(tmp_path / "m.onnx"))
    for row in x:
        got = sess.run(None, {"input": row.reshape(1, 2, 9, 9).astype(np.float32)})[0]
        np.testing.assert_allclose(got.reshape(-1), fm.forward(row[None])[0], rtol=1e-3, atol=1e-3)


def test_cli_run_prints_prediction() -> None:
    from host.ml import models

    if not models.paths("a")["blob"].exists():
        models.build_model("a", log=lambda m: None)
    proc = subprocess.run([sys.executable, "-m", "host", "ml", "run", "a", "--input", "digits:5"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    qm = models.load_model("a")
    x, _ = models.test_data("a")
    want = int(reference.predict(qm, qm.quantize_input(x[5:6]))[0])
    assert f"predicted_class: {want}" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "host", "ml", "run", "a", "--input", "digits:99999"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert bad.returncode == 1 and "out of range" in bad.stderr


def test_version_1_blobs_stay_readable() -> None:
    """Blob version 2 added layer kinds; a version-1 blob (the six original kinds) still decodes and runs the
    same, and a version-1 header on a blob using the new kinds is refused with the guest's BAD_LAYER code."""
    import struct

    from test_ml_fuzz import synthetic_v2_model
    from zkvm import abi

    _, qm, blob, xte, _ = model("a")
    assert struct.unpack_from("<I", blob, 4)[0] == blobmod.VERSION == 2
    old = blob[:4] + struct.pack("<I", 1) + blob[8:]
    x = qm.quantize_input(xte[:20])
    np.testing.assert_array_equal(reference.run(decode_blob(old), x), reference.run(qm, x))
    v2, _ = synthetic_v2_model()
    b2 = v2.to_bytes()
    with pytest.raises(blobmod.BlobError) as err:
        decode_blob(b2[:4] + struct.pack("<I", 1) + b2[8:])
    assert err.value.code == abi.EXIT_NN_BAD_LAYER
    with pytest.raises(blobmod.BlobError, match="unsupported version 3"):
        decode_blob(b2[:4] + struct.pack("<I", 3) + b2[8:])
