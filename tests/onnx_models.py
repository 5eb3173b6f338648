"""Three ONNX models built with onnx.helper in the shape PyTorch / Keras exports have, none made by the project's
training code: a LeNet-5-style CNN (Conv + BatchNorm + MaxPool + GlobalAveragePool), an MLP (MatMul + Add +
Sigmoid), and a residual CNN (Add of two branches). Feature layers have seeded random weights (BatchNorm
statistics measured on the data, as after training); the last layer is fitted (logistic regression) on the digits
training split, so the classes are real. Between them they use every operator the importer supports."""

from __future__ import annotations

import functools

import numpy as np

SEED = 20261202
N_CLASSES = 10


def _onnx():
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    return onnx, TensorProto, helper, numpy_helper


def _digits(side: int):
    from host.ml import data

    xtr, ytr, xte, yte = data.digits(side)
    return xtr, ytr, xte, yte


def _fit_head(features: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression on the float features -> (W [10, F], b [10])."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=10.0, max_iter=3000)
    clf.fit(features, y)
    return clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32)


def _session(model_bytes: bytes):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])


def _make(nodes, inits, in_shape, out_dim, name):
    onnx, TensorProto, helper, numpy_helper = _onnx()
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", *in_shape])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", out_dim])],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="pytorch-like")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def _features(model, xs: np.ndarray, tensor: str) -> np.ndarray:
    """Run `model` up to `tensor` with onnxruntime (the graph's output redirected there)."""
    onnx, TensorProto, helper, _ = _onnx()
    m = onnx.ModelProto()
    m.CopyFrom(model)
    del m.graph.output[:]
    m.graph.output.append(helper.make_tensor_value_info(tensor, TensorProto.FLOAT, None))
    sess = _session(m.SerializeToString())
    return sess.run(None, {"input": xs.astype(np.float32)})[0].reshape(len(xs), -1)


def _bn_stats(model, xs, tensor, channels):
    f = _features(model, xs, tensor)
    f = f.reshape(len(xs), channels, -1)
    return f.mean(axis=(0, 2)).astype(np.float32), f.var(axis=(0, 2)).astype(np.float32)


def _finish(nodes_head, inits, build, xtr, ytr, feature_tensor):
    """Fit the head on the features the (already complete) trunk computes, then build the final model."""
    trunk = build(with_head=False)
    feats = _features(trunk, xtr, feature_tensor)
    w, b = _fit_head(feats, ytr)
    inits.update({"head.weight": w, "head.bias": b})
    return build(with_head=True)


def lenet(rng=None):
    """LeNet-5-style on 16x16 digits: Conv5x5(pads 2)+BN+Relu+MaxPool, Conv5x5(auto_pad SAME_UPPER)+BN+Relu+MaxPool,
    Conv3x3 stride 2 + Relu, GlobalAveragePool, Flatten, Gemm + Tanh, Dropout, Gemm, Softmax."""
    rng = rng or np.random.default_rng([SEED, 1])
    xtr, ytr, _, _ = _digits(16)
    xs = xtr.reshape(-1, 1, 16, 16)
    _, _, helper, _ = _onnx()
    inits = {
        "conv1.weight": rng.normal(0, 0.4, (6, 1, 5, 5)).astype(np.float32),
        "conv1.bias": rng.normal(0, 0.1, 6).astype(np.float32),
        "conv2.weight": rng.normal(0, 0.15, (16, 6, 5, 5)).astype(np.float32),
        "conv2.bias": rng.normal(0, 0.1, 16).astype(np.float32),
        "conv3.weight": rng.normal(0, 0.2, (32, 16, 3, 3)).astype(np.float32),
        "conv3.bias": rng.normal(0, 0.1, 32).astype(np.float32),
        "fc1.weight": rng.normal(0, 0.3, (48, 32)).astype(np.float32),
        "fc1.bias": rng.normal(0, 0.1, 48).astype(np.float32),
    }
    for bn, ch in (("bn1", 6), ("bn2", 16)):
        inits[f"{bn}.weight"] = rng.uniform(0.8, 1.2, ch).astype(np.float32)
        inits[f"{bn}.bias"] = rng.normal(0, 0.1, ch).astype(np.float32)
        inits[f"{bn}.running_mean"] = np.zeros(ch, np.float32)
        inits[f"{bn}.running_var"] = np.ones(ch, np.float32)

    def build(with_head: bool, upto: str | None = None):
        nodes = [
            helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], name="/conv1/Conv",
                             kernel_shape=[5, 5], pads=[2, 2, 2, 2], strides=[1, 1]),
            helper.make_node("BatchNormalization", ["c1", "bn1.weight", "bn1.bias", "bn1.running_mean",
                                                    "bn1.running_var"], ["b1"], name="/bn1/BatchNormalization",
                             epsilon=1e-5),
            helper.make_node("Relu", ["b1"], ["r1"], name="/relu1/Relu"),
            helper.make_node("MaxPool", ["r1"], ["p1"], name="/pool1/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Conv", ["p1", "conv2.weight", "conv2.bias"], ["c2"], name="/conv2/Conv",
                             kernel_shape=[5, 5], auto_pad="SAME_UPPER"),
            helper.make_node("BatchNormalization", ["c2", "bn2.weight", "bn2.bias", "bn2.running_mean",
                                                    "bn2.running_var"], ["b2"], name="/bn2/BatchNormalization"),
            helper.make_node("Relu", ["b2"], ["r2"], name="/relu2/Relu"),
            helper.make_node("MaxPool", ["r2"], ["p2"], name="/pool2/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Conv", ["p2", "conv3.weight", "conv3.bias"], ["c3"], name="/conv3/Conv",
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
            helper.make_node("Relu", ["c3"], ["r3"], name="/relu3/Relu"),
            helper.make_node("GlobalAveragePool", ["r3"], ["g"], name="/gap/GlobalAveragePool"),
            helper.make_node("Flatten", ["g"], ["f"], name="/Flatten", axis=1),
            helper.make_node("Gemm", ["f", "fc1.weight", "fc1.bias"], ["h1"], name="/fc1/Gemm", transB=1),
            helper.make_node("Tanh", ["h1"], ["t1"], name="/tanh/Tanh"),
            helper.make_node("Dropout", ["t1"], ["d1"], name="/dropout/Dropout"),
        ]
        if with_head:
            nodes += [helper.make_node("Gemm", ["d1", "head.weight", "head.bias"], ["logits"], name="/head/Gemm",
                                       transB=1),
                      helper.make_node("Softmax", ["logits"], ["output"], name="/Softmax", axis=1)]
            return _make(nodes, inits, [1, 16, 16], N_CLASSES, "lenet")
        nodes.append(helper.make_node("Identity", ["d1"], ["output"]))
        return _make(nodes, {k: v for k, v in inits.items() if not k.startswith("head")}, [1, 16, 16], 48, "lenet")

    # BatchNorm statistics as training would leave them: measured on the data, one layer at a time.
    for bn, conv, ch in (("bn1", "c1", 6), ("bn2", "c2", 16)):
        mean, var = _bn_stats(build(False), xs, conv, ch)
        inits[f"{bn}.running_mean"], inits[f"{bn}.running_var"] = mean, var
    return _finish(None, inits, build, xs, ytr, "output")


def mlp(rng=None):
    """Keras/TF-style dense net on 8x8 digits: MatMul + Add + Sigmoid, MatMul + Add + Sigmoid, MatMul + Add,
    Identity, Softmax. Fitted with scikit-learn (logistic activation)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    xtr, ytr, _, _ = _digits(8)
    clf = MLPClassifier(hidden_layer_sizes=(48, 24), activation="logistic", alpha=1e-4, max_iter=600,
                        random_state=SEED % 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(xtr, ytr)
    _, _, helper, _ = _onnx()
    inits = {}
    nodes = []
    cur = "input"
    for k, (w, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        inits[f"dense_{k}/kernel"] = w.astype(np.float32)
        inits[f"dense_{k}/bias"] = b.astype(np.float32)
        nodes.append(helper.make_node("MatMul", [cur, f"dense_{k}/kernel"], [f"mm{k}"], name=f"dense_{k}/MatMul"))
        nodes.append(helper.make_node("Add", [f"mm{k}", f"dense_{k}/bias"], [f"a{k}"], name=f"dense_{k}/BiasAdd"))
        cur = f"a{k}"
        if k < len(clf.coefs_) - 1:
            nodes.append(helper.make_node("Sigmoid", [cur], [f"s{k}"], name=f"dense_{k}/Sigmoid"))
            cur = f"s{k}"
    nodes.append(helper.make_node("Identity", [cur], ["logits"], name="Identity"))
    nodes.append(helper.make_node("Softmax", ["logits"], ["output"], name="dense_2/Softmax", axis=-1))
    return _make(nodes, inits, [64], N_CLASSES, "mlp")


def residual(rng=None):
    """A ResNet-style block on 8x8 digits: Conv+Clip(0, 6), then [Conv+BN+LeakyRelu, Conv] added to the block's
    input, Relu, AveragePool, Reshape, Gemm (fitted), LogSoftmax."""
    rng = rng or np.random.default_rng([SEED, 3])
    xtr, ytr, _, _ = _digits(8)
    xs = xtr.reshape(-1, 1, 8, 8)
    _, _, helper, _ = _onnx()
    inits = {
        "stem.weight": rng.normal(0, 0.5, (8, 1, 3, 3)).astype(np.float32),
        "stem.bias": rng.normal(0, 0.1, 8).astype(np.float32),
        "block.conv1.weight": rng.normal(0, 0.2, (8, 8, 3, 3)).astype(np.float32),
        "block.conv2.weight": rng.normal(0, 0.2, (8, 8, 3, 3)).astype(np.float32),
        "block.conv2.bias": rng.normal(0, 0.1, 8).astype(np.float32),
        "block.bn.weight": rng.uniform(0.8, 1.2, 8).astype(np.float32),
        "block.bn.bias": rng.normal(0, 0.1, 8).astype(np.float32),
        "block.bn.running_mean": np.zeros(8, np.float32),
        "block.bn.running_var": np.ones(8, np.float32),
        "shape": np.array([-1, 8 * 4 * 4], dtype=np.int64),
        "clip.min": np.array(0.0, np.float32),
        "clip.max": np.array(6.0, np.float32),
    }

    def build(with_head: bool):
        nodes = [
            helper.make_node("Conv", ["input", "stem.weight", "stem.bias"], ["s"], name="/stem/Conv",
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("Clip", ["s", "clip.min", "clip.max"], ["s6"], name="/stem/Clip"),
            helper.make_node("Conv", ["s6", "block.conv1.weight"], ["b1"], name="/block/conv1/Conv",
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("BatchNormalization", ["b1", "block.bn.weight", "block.bn.bias",
                                                    "block.bn.running_mean", "block.bn.running_var"], ["bn"],
                             name="/block/bn/BatchNormalization"),
            helper.make_node("LeakyRelu", ["bn"], ["lr"], name="/block/LeakyRelu", alpha=0.1),
            helper.make_node("Conv", ["lr", "block.conv2.weight", "block.conv2.bias"], ["b2"],
                             name="/block/conv2/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("Add", ["b2", "s6"], ["sum"], name="/block/Add"),
            helper.make_node("Relu", ["sum"], ["r"], name="/block/Relu"),
            helper.make_node("AveragePool", ["r"], ["p"], name="/pool/AveragePool", kernel_shape=[2, 2],
                             strides=[2, 2]),
            helper.make_node("Reshape", ["p", "shape"], ["f"], name="/Reshape"),
        ]
        if with_head:
            nodes += [helper.make_node("Gemm", ["f", "head.weight", "head.bias"], ["logits"], name="/head/Gemm",
                                       transB=1),
                      helper.make_node("LogSoftmax", ["logits"], ["output"], name="/LogSoftmax", axis=1)]
            return _make(nodes, inits, [1, 8, 8], N_CLASSES, "residual")
        nodes.append(helper.make_node("Identity", ["f"], ["output"]))
        return _make(nodes, {k: v for k, v in inits.items() if not k.startswith("head")}, [1, 8, 8], 128, "residual")

    mean, var = _bn_stats(build(False), xs, "b1", 8)
    inits["block.bn.running_mean"], inits["block.bn.running_var"] = mean, var
    return _finish(None, inits, build, xs, ytr, "output")


BUILDERS = {"lenet": (lenet, 16), "mlp": (mlp, 8), "residual": (residual, 8)}


@functools.lru_cache(maxsize=None)
def model_bytes(name: str) -> bytes:
    """The serialized model, built once per version of this file (cached under build/ml_test_cache, file-locked:
    fitting takes seconds and parallel workers share it)."""
    import fcntl
    import hashlib
    from pathlib import Path

    here = Path(__file__)
    key = hashlib.sha256(here.read_bytes() + (here.parents[1] / "host/ml/data.py").read_bytes()).hexdigest()[:16]
    cache = here.parents[1] / "build" / "ml_test_cache" / f"onnx-{key}"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{name}.onnx"
    with open(cache / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            tmp = cache / f"{name}.tmp"
            tmp.write_bytes(BUILDERS[name][0]().SerializeToString())
            tmp.replace(path)
    return path.read_bytes()


def data(name: str):
    """(calibration x, test x, test y) in the model's input layout."""
    side = BUILDERS[name][1]
    xtr, _, xte, yte = _digits(side)
    shape = (-1, 64) if name == "mlp" else (-1, 1, side, side)
    return xtr.reshape(shape), xte.reshape(shape), yte


def ort_logits(name: str, xs: np.ndarray) -> np.ndarray:
    """onnxruntime's float outputs (softmax / log-softmax of the logits: the same argmax)."""
    sess = _session(model_bytes(name))
    return sess.run(None, {"input": xs.astype(np.float32)})[0]
