"""Reading the files a model owner or a prover hands us (ONNX, .npy tensors, blobs, int8 inputs) with the size
checked before any byte is read and the content checked before it is used: a hostile file costs at most its
stated limit, and every rejection is a typed error naming the file and the problem."""

from __future__ import annotations

import os
import stat
import tokenize
from pathlib import Path

import numpy as np

from zkvm.errors import InputError

#: An .npy of calibration or evaluation inputs (float64 rows: 64 MiB is ~8k inputs of 28x28x3 values).
MAX_NPY_BYTES = 64 << 20
#: What an inference input may hold: the guest engine's largest tensor is 2^18 values.
MAX_INPUT_VALUES = 1 << 18


class TensorFileError(InputError):
    """An .npy file that is not a finite real-valued array of the expected shape."""


def read_limited(path: str | os.PathLike, limit: int, what: str) -> bytes:
    """The whole of a regular file of at most `limit` bytes; InputError otherwise (missing, a directory or a
    device, too large). Reads at most limit + 1 bytes even if the file grows meanwhile."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise InputError(f"{what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what} {path} is not a regular file")
    if st.st_size > limit:
        raise InputError(f"{what} {path} is {st.st_size:,} bytes, more than the {limit:,} allowed")
    try:
        with open(p, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputError(f"{what} {path} is more than the {limit:,} bytes allowed")
    return data


def _real_dtype(dtype: np.dtype, what: str) -> None:
    if dtype.fields is not None or dtype.subdtype is not None:
        raise TensorFileError(f"{what} has a structured dtype {dtype}; give a plain numeric array")
    if dtype.kind not in "biuf":
        names = {"c": "complex", "U": "string", "S": "bytes", "O": "object", "M": "datetime", "m": "timedelta",
                 "V": "void"}
        raise TensorFileError(f"{what} has dtype {dtype} ({names.get(dtype.kind, dtype.kind)}); "
                              "give real numbers (float or integer)")


def load_npy(path: str | os.PathLike, what: str, limit: int = MAX_NPY_BYTES) -> np.ndarray:
    """A real, finite numeric array from an .npy file, as float64. The header is parsed and its dtype and shape
    checked against the file size before any data is read; pickles are never loaded."""
    data = read_limited(path, limit, what)
    import io

    f = io.BytesIO(data)
    try:
        major, _minor = np.lib.format.read_magic(f)
        if major == 1:
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif major in (2, 3):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unknown .npy version {major}")
    except (ValueError, TypeError, SyntaxError, OverflowError, UnicodeDecodeError, EOFError, RecursionError,
            tokenize.TokenError) as exc:  # what numpy's header parser raises on hostile text
        raise TensorFileError(f"{what} {path} is not a valid .npy file ({exc})") from None
    label = f"{what} {path}"
    _real_dtype(dtype, label)
    if any(d < 0 for d in shape):
        raise TensorFileError(f"{label} has a negative dimension {shape}")
    count = 1
    for d in shape:
        count *= int(d)
    body = data[f.tell():]
    if count * dtype.itemsize != len(body):
        raise TensorFileError(f"{label}: the header says {shape} {dtype} ({count * dtype.itemsize:,} bytes), "
                              f"the file holds {len(body):,}")
    arr = np.frombuffer(body, dtype=dtype, count=count)
    arr = arr.reshape(shape, order="F" if fortran else "C").astype(np.float64)
    check_finite(arr, label)
    return arr


def check_finite(arr: np.ndarray, label: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.unravel_index(int(np.argmax(bad)), arr.shape) if arr.ndim else ()
        raise TensorFileError(f"{label} holds {int(bad.sum())} NaN/inf value(s) (first at index {first})")


def as_real_array(x, label: str) -> np.ndarray:
    """An in-memory input (Python API) with the same checks as a file: numeric, real, finite -> float64."""
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise TensorFileError(f"{label} is not an array ({exc})") from None
    _real_dtype(arr.dtype, label)
    arr = arr.astype(np.float64)
    check_finite(arr, label)
    return arr
