"""Reading and validating the traces handed to the prover and the checker."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from zkvm.field.babybear import P
from zkvm.stark.air import CompiledAir
from zkvm.stark.errors import TraceShapeError
from zkvm.stark.protocol import MAX_LOG_HEIGHT


def _as_trace(arr, name: str, table: str, width: int) -> np.ndarray:
    a = np.asarray(arr)
    if a.ndim == 1 and width == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] != width:
        raise TraceShapeError(f"table {table!r}: {name} trace must be [height, {width}], got shape {a.shape}")
    if a.dtype.kind not in "iu":
        raise TraceShapeError(f"table {table!r}: {name} trace must hold integers, got {a.dtype}")
    if a.size and (int(a.min()) < 0 or int(a.max()) >= P):
        raise TraceShapeError(f"table {table!r}: {name} trace has values outside [0, p)")
    return np.ascontiguousarray(a, dtype=np.uint32)


def _log_height(n: int, table: str) -> int:
    if n < 2 or n & (n - 1):
        raise TraceShapeError(f"table {table!r}: height {n} is not a power of two >= 2")
    lh = n.bit_length() - 1
    if lh > MAX_LOG_HEIGHT:
        raise TraceShapeError(f"table {table!r}: height 2^{lh} exceeds 2^{MAX_LOG_HEIGHT}")
    return lh


def read_traces(ca: CompiledAir, fixed: Mapping, main: Mapping) -> tuple[dict, dict, list[int]]:
    """Validate shapes; returns (fixed arrays, main arrays, log heights) keyed by table name."""
    names = {ct.name for ct in ca.tables}
    for what, m in (("fixed", fixed), ("main", main)):
        extra = set(m) - names
        if extra:
            raise TraceShapeError(f"{what} traces given for unknown tables {sorted(extra)}")
    f_out, m_out, heights = {}, {}, []
    for ct in ca.tables:
        n = None
        if ct.n_fixed:
            if ct.name not in fixed:
                raise TraceShapeError(f"table {ct.name!r}: fixed trace missing")
            f_out[ct.name] = _as_trace(fixed[ct.name], "fixed", ct.name, ct.n_fixed)
            n = f_out[ct.name].shape[0]
        if ct.n_main:
            if ct.name not in main:
                raise TraceShapeError(f"table {ct.name!r}: main trace missing")
            m_out[ct.name] = _as_trace(main[ct.name], "main", ct.name, ct.n_main)
            if n is not None and m_out[ct.name].shape[0] != n:
                raise TraceShapeError(f"table {ct.name!r}: main height {m_out[ct.name].shape[0]} != fixed "
                                      f"height {n}")
            n = m_out[ct.name].shape[0]
        if n is None:
            raise TraceShapeError(f"table {ct.name!r} has no columns")
        heights.append(_log_height(n, ct.name))
    return f_out, m_out, heights


