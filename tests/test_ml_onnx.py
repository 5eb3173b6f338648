"""A user's own ONNX model, end to end, checked against onnxruntime (the float oracle): three models written with
onnx.helper in the shape of PyTorch / Keras exports (tests/onnx_models.py). On 200 digits test inputs each:
our importer's float network equals onnxruntime's, the RV32IM guest's journal equals the numpy reference of the
int8 network byte for byte, and the int8 argmax agrees with onnxruntime's float argmax on >= 98% of inputs.
Then the user's flows: three CLI commands (quantize --commit, prove, verify) and the Python API's five lines."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import onnx_models as om
from host.api import ml
from host.cli import main as cli
from host.ml import guest_io, models, reference
from ml_support import InterpreterRunner, expected, interpreter_available

pytest.importorskip("onnxruntime", reason="onnxruntime (the float oracle) is in the dev extra")
N_INPUTS = 200
NAMES = ["lenet", "mlp", "residual"]


def _quantized(name: str) -> ml.Model:
    calib, xte, yte = om.data(name)
    return ml.quantize(om.model_bytes(name), calib, eval_data=xte, labels=yte)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("name", NAMES)
def test_float_import_matches_onnxruntime_and_int8_agrees(name: str) -> None:
    m = _quantized(name)
    _, xte, yte = om.data(name)
    xs = xte[:N_INPUTS]
    ort = om.ort_logits(name, xs)
    ours = m.float_model.forward(xs)  # logits: the final (Log)Softmax was dropped, with a note
    assert any("Softmax" in n for n in m.notes)
    if name == "residual":  # LogSoftmax
        np.testing.assert_allclose(np.log(_softmax(ours)), ort, rtol=1e-3, atol=1e-3)
    else:
        np.testing.assert_allclose(_softmax(ours), ort, rtol=1e-3, atol=1e-4)
    int8 = reference.predict(m.quant, m.quant.quantize_input(xs.reshape(len(xs), -1)))
    agreement = float(np.mean(int8 == ort.argmax(axis=1)))
    r = m.report
    print(f"\n{name}: int8 vs onnxruntime argmax agreement {agreement:.3f} on {N_INPUTS} inputs; whole test split: "
          f"float top-1 {r.float_top1:.4f}, int8 top-1 {r.int8_top1:.4f}, agreement {r.agreement:.4f}",
          file=sys.stderr)
    assert agreement >= 0.98, f"{name}: int8 agrees with onnxruntime on {agreement:.3f}"
    assert r.samples == len(yte) and r.int8_top1 >= r.float_top1 - 0.01, r
    assert r.float_top1 >= 0.85, r  # the fitted heads make real classifiers


@pytest.mark.parametrize("name", NAMES)
def test_guest_int8_engine_is_bit_exact_with_reference(name: str) -> None:
    """The RV32IM guest (public-model image, on the interpreter) on 200 inputs: journal == reference's."""
    if not interpreter_available():
        pytest.skip("interpreter (zkvm.exec) not built")
    m = _quantized(name)
    _, xte, _ = om.data(name)
    xq = m.quant.quantize_input(xte[:N_INPUTS].reshape(N_INPUTS, -1))
    run = InterpreterRunner(models.public_model_guest_dir(m.blob))
    for i, x in enumerate(xq):
        publish = i % 4 == 0
        code, journal = run(guest_io.encode_request(x, None, publish))
        assert code == 0, f"{name} input {i}: exit {code}"
        assert journal == expected(m.quant, None, x, publish), f"{name} input {i}"


def _tiny_onnx(path, rng) -> None:
    """A small PyTorch-style classifier (Gemm, Relu, Gemm, Softmax) on 12 features, 4 classes: cheap to prove."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(rng.normal(0, 0.6, (8, 12)).astype(np.float32), "fc1.weight"),
             numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "fc1.bias"),
             numpy_helper.from_array(rng.normal(0, 0.6, (4, 8)).astype(np.float32), "fc2.weight"),
             numpy_helper.from_array(rng.normal(0, 0.1, 4).astype(np.float32), "fc2.bias")]
    nodes = [helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["h"], transB=1, name="/fc1/Gemm"),
             helper.make_node("Relu", ["h"], ["r"], name="/relu/Relu"),
             helper.make_node("Gemm", ["r", "fc2.weight", "fc2.bias"], ["z"], transB=1, name="/fc2/Gemm"),
             helper.make_node("Softmax", ["z"], ["output"], axis=1, name="/Softmax")]
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 12])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 4])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)


def test_cli_three_commands_private_model(tmp_path, capsys) -> None:
    """The owner quantises and commits (one command), the prover proves, the verifier verifies against the
    published commitment: a user's ONNX to a verified receipt in three commands, nothing under build/models."""
    rng = np.random.default_rng(om.SEED)
    _tiny_onnx(tmp_path / "net.onnx", rng)
    np.save(tmp_path / "calib.npy", rng.normal(0, 1, (64, 12)))
    np.save(tmp_path / "labels.npy", rng.integers(0, 4, 64))
    x = rng.normal(0, 1, 12)
    np.save(tmp_path / "x.npy", x)
    blob, rcpt = tmp_path / "net.blob", tmp_path / "r.rcpt"
    capsys.readouterr()
    assert cli(["ml", "quantize", str(tmp_path / "net.onnx"), "--calibration", str(tmp_path / "calib.npy"),
                "--labels", str(tmp_path / "labels.npy"), "--out", str(blob), "--commit"]) == 0
    out = capsys.readouterr()
    assert "float top-1" in out.out and "int8 top-1" in out.out and "agreement" in out.out
    assert "Softmax" in out.err  # the note: the logits are committed
    commitment = (tmp_path / "net.commitment").read_text().strip()
    assert (tmp_path / "net.salt").stat().st_mode & 0o077 == 0
    assert cli(["ml", "prove", str(blob), "--input", str(tmp_path / "x.npy"), "--receipt", str(rcpt)]) == 0
    proved = capsys.readouterr().out
    assert cli(["ml", "verify", str(rcpt), "--model-commitment", str(tmp_path / "net.commitment")]) == 0
    verified = capsys.readouterr().out
    model = ml.load_model(blob)
    want = model.predict(x)
    assert f"predicted_class: {want}" in proved and f"predicted_class: {want}" in verified
    assert commitment in verified
    # Another salt is another commitment: the receipt does not verify against it.
    other = tmp_path / "other.commitment"
    assert cli(["ml", "commit", str(blob), "--salt", str(tmp_path / "other.salt"), "--out", str(other)]) == 0
    capsys.readouterr()
    assert cli(["ml", "verify", str(rcpt), "--model-commitment", str(other)]) == 1
    err = capsys.readouterr().err
    assert "ModelCommitmentMismatch" in err and "Traceback" not in err


def test_python_api_five_lines_public_model(tmp_path) -> None:
    """The README's Python example (public model: the image id binds it), proven once, on the MLP."""
    calib, xte, _ = om.data("mlp")
    (tmp_path / "mlp.onnx").write_bytes(om.model_bytes("mlp"))
    model = ml.quantize(tmp_path / "mlp.onnx", calibration=calib)
    proof = ml.prove(model, xte[0], public="model")
    checked = ml.verify(proof.receipt, model=model)
    assert checked.prediction.predicted == model.predict(xte[0]) == proof.prediction.predicted
    assert checked.image_id == ml.image_id(model, public="model")
    with pytest.raises(ml.NotAPrivateModelReceipt):
        ml.verify(proof.receipt, commitment=bytes(32), image_id=checked.image_id)
    other = ml.quantize(tmp_path / "mlp.onnx", calibration=calib[:40])  # other scales: another model
    assert other.blob != model.blob
    from zkvm.receipt import ImageIdMismatch

    with pytest.raises(ImageIdMismatch):
        ml.verify(proof.receipt, model=other)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mlp", "residual"])
def test_private_model_prove_verify(name: str, tmp_path) -> None:
    """The MLP and residual models proven with a private model and input, verified against their commitments
    (slow: the guest hashes the blob). LeNet is left out: its private run (~2.8 M cycles) is a 2^22-row proof
    whose prover exceeded 14 GB of memory; its guest execution is checked bit-exact above."""
    m = _quantized(name)
    _, xte, _ = om.data(name)
    m = ml.load_model(m.save(tmp_path / f"{name}.blob"))
    owner = ml.commit(m)
    proof = ml.prove(m, xte[1], public="none")
    checked = ml.verify(proof.receipt, commitment=owner.commitment)
    assert checked.prediction.predicted == m.predict(xte[1])
    assert checked.prediction.logits == proof.prediction.logits


def test_user_model_runs_in_every_mode(tmp_path) -> None:
    """A user's ONNX file, quantised on the way, in the four privacy modes (executed, not proven): the journal
    carries exactly what the mode publishes, and the prediction is the reference's."""
    import hashlib

    rng = np.random.default_rng([om.SEED, 7])
    _tiny_onnx(tmp_path / "net.onnx", rng)
    calib = rng.normal(0, 1, (32, 12))
    model = ml.load_model(tmp_path / "net.onnx", calibration=calib)
    salt = tmp_path / "owner" / "secret.salt"
    owner = ml.commit(model, salt=salt, out=tmp_path / "owner" / "published.commitment")
    assert owner.salt_path == salt and not (tmp_path / "net.salt").exists()
    x = rng.normal(0, 1, (1, 12))
    xq = model.quantize_input(x)
    for mode in ml.MODES:
        for digest in ((False, True) if mode in ("input", "both") else (False,)):
            r = ml.run(model, x, public=mode, input_digest=digest, salt=salt)
            j = r.prediction
            assert j.predicted == model.predict(x) and r.provable
            assert j.model_commitment == (None if mode in ("model", "both") else owner.commitment)
            assert j.input_bytes == (xq.tobytes() if mode in ("input", "both") and not digest else None)
            assert j.input_digest == (hashlib.sha256(xq.tobytes()).digest() if digest else None)
    with pytest.raises(ml.InputError, match="no salt"):
        ml.run(model, x, public="none")  # the default salt (next to net.onnx) was never created
    with pytest.raises(ml.TensorFileError, match="takes one input of shape \\[12\\]"):
        ml.run(model, np.zeros((3, 4)), public="model")
