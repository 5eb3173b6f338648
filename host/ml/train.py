"""Trainers for the three digits models, all with fixed seeds: scikit-learn MLPs, a small numpy CNN."""

from __future__ import annotations

import warnings

import numpy as np

from host.ml.float_model import FConv, FDense, FFlatten, FloatModel, FRelu


def train_mlp(x: np.ndarray, y: np.ndarray, hidden: int, seed: int = 0) -> FloatModel:
    from sklearn.exceptions import ConvergenceWarning  # noqa: PLC0415
    from sklearn.neural_network import MLPClassifier  # noqa: PLC0415

    clf = MLPClassifier(hidden_layer_sizes=(hidden,), activation="relu", alpha=1e-3, max_iter=400,
                        random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y)
    return FloatModel(
        (x.shape[1], 1, 1),
        [FDense(clf.coefs_[0].T.copy(), clf.intercepts_[0].copy()), FRelu(),
         FDense(clf.coefs_[1].T.copy(), clf.intercepts_[1].copy())],
    )


def _im2col(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """(N, H, W) single channel -> (N, OH*OW, k*k) patches, no padding."""
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s]
    return win.reshape(x.shape[0], -1, k * k)


def train_cnn(x: np.ndarray, y: np.ndarray, side: int = 28, filters: int = 4, k: int = 5, stride: int = 2,
              epochs: int = 60, seed: int = 0) -> FloatModel:
    """conv(filters, k x k, stride) -> relu -> flatten (channel-major) -> dense(10), Adam + softmax CE."""
    rng = np.random.default_rng(seed)
    imgs = x.reshape(-1, side, side)
    patches = _im2col(imgs, k, stride)  # N, P, kk
    n, p, kk = patches.shape
    n_cls = 10
    wc = rng.normal(0, np.sqrt(2 / kk), (filters, kk))
    bc = np.zeros(filters)
    wd = rng.normal(0, np.sqrt(1 / (filters * p)), (n_cls, filters * p))
    bd = np.zeros(n_cls)
    params = [wc, bc, wd, bd]
    m = [np.zeros_like(q) for q in params]
    v = [np.zeros_like(q) for q in params]
    lr, b1, b2, eps, wdecay, batch = 3e-3, 0.9, 0.999, 1e-8, 1e-4, 32
    t = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            pb, yb = patches[idx], y[idx]
            z = pb @ wc.T + bc  # B, P, F
            a = np.maximum(z, 0)
            flat = a.transpose(0, 2, 1).reshape(len(idx), -1)  # channel-major like the engine
            logits = flat @ wd.T + bd
            logits -= logits.max(axis=1, keepdims=True)
            prob = np.exp(logits)
            prob /= prob.sum(axis=1, keepdims=True)
            g = prob
            g[np.arange(len(idx)), yb] -= 1
            g /= len(idx)
            gwd = g.T @ flat + wdecay * wd
            gbd = g.sum(axis=0)
            gflat = g @ wd
            ga = gflat.reshape(len(idx), filters, p).transpose(0, 2, 1) * (z > 0)
            gwc = np.einsum("bpf,bpk->fk", ga, pb) + wdecay * wc
            gbc = ga.sum(axis=(0, 1))
            t += 1
            for i, grad in enumerate([gwc, gbc, gwd, gbd]):
                m[i] = b1 * m[i] + (1 - b1) * grad
                v[i] = b2 * v[i] + (1 - b2) * grad * grad
                params[i] -= lr * (m[i] / (1 - b1**t)) / (np.sqrt(v[i] / (1 - b2**t)) + eps)
    wc, bc, wd, bd = params
    return FloatModel(
        (1, side, side),
        [FConv(wc.reshape(filters, 1, k, k), bc, (stride, stride), (0, 0, 0, 0)), FRelu(), FFlatten(), FDense(wd, bd)],
    )
