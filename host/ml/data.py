"""The digits data: scikit-learn's bundled 8x8 digits (no download), optionally upscaled to 28x28.

One fixed split (seeded) is used for training, calibration and every accuracy number we report."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from zkvm.errors import InputError

TEST_FRACTION = 0.25
SPLIT_SEED = 0


def _sklearn():
    try:
        import sklearn.datasets  # noqa: F401, PLC0415
        import sklearn.model_selection  # noqa: F401, PLC0415
    except ImportError:
        raise InputError("scikit-learn is needed for the digits models (pip install -e '.[ml]')") from None
    import sklearn

    return sklearn


def upscale(images8: np.ndarray, size: int = 28) -> np.ndarray:
    """(N, 8, 8) in [0, 1] -> (N, size, size) by bilinear interpolation (pixel centres aligned)."""
    n = images8.shape[0]
    src = (np.arange(size) + 0.5) * 8 / size - 0.5
    src = np.clip(src, 0, 7)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, 7)
    frac = src - lo
    rows = images8[:, lo, :] * (1 - frac)[None, :, None] + images8[:, hi, :] * frac[None, :, None]
    out = rows[:, :, lo] * (1 - frac)[None, None, :] + rows[:, :, hi] * frac[None, None, :]
    return out.reshape(n, size, size)


@lru_cache(maxsize=4)
def digits(size: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test); x flattened, float in [0, 1], `size` x `size` pixels."""
    sk = _sklearn()
    d = sk.datasets.load_digits()
    x = d.images.astype(np.float64) / 16.0
    if size != 8:
        x = upscale(x, size)
    x = x.reshape(len(x), -1)
    xtr, xte, ytr, yte = sk.model_selection.train_test_split(
        x, d.target, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=d.target
    )
    return xtr, ytr, xte, yte
