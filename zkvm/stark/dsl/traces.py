"""Reading and validating the traces handed to the prover and the checker."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from zkvm.field.babybear import P
from zkvm.stark.dsl.air import CompiledAir
from zkvm.stark.errors import TraceShapeError
from zkvm.stark.verifying.protocol import MAX_LOG_HEIGHT


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


#: Log height of an absent table (``Table.optional``): nothing of it is committed, opened or summed.
ABSENT = 0


def read_traces(ca: CompiledAir, fixed: Mapping, main: Mapping) -> tuple[dict, dict, list[int]]:
    """Validate shapes; returns (fixed arrays, main arrays, log heights) keyed by table name. A main trace of 0
    rows marks an optional table absent (log height ``ABSENT``, no main array; its fixed trace is kept: the
    fixed commitment of the image covers it whether or not a proof uses it)."""
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
            m = _as_trace(main[ct.name], "main", ct.name, ct.n_main)
            if m.shape[0] == 0:
                if not ct.optional:
                    raise TraceShapeError(f"table {ct.name!r} may not be absent (0 rows): it is not optional")
                heights.append(ABSENT)
                continue
            m_out[ct.name] = m
            if n is not None and m_out[ct.name].shape[0] != n:
                raise TraceShapeError(f"table {ct.name!r}: main height {m_out[ct.name].shape[0]} != fixed "
                                      f"height {n}")
            n = m_out[ct.name].shape[0]
        if n is None:
            raise TraceShapeError(f"table {ct.name!r} has no columns")
        heights.append(_log_height(n, ct.name))
    return f_out, m_out, heights




def silent(ct, main: np.ndarray | None, fixed: np.ndarray | None, pubs: Mapping[str, int],
           chunk: int = 1 << 12) -> bool:
    """True if no row of the table sends or receives anything: every interaction's multiplicity is 0 on every
    row (what makes an optional table absent). Rows are scanned a chunk at a time and a used table is usually
    seen on its first chunk, so this costs little for tables that are present."""
    from zkvm.stark.dsl.air import evaluate
    from zkvm.stark.dsl.algebra import BaseArrayOps

    mults = [it.mult for it in ct.table.interactions]
    if not mults:
        return False  # a table without interactions could only matter through its constraints: keep it
    n = (main if main is not None else fixed).shape[0]
    ops = BaseArrayOps()
    for r0 in range(0, n, chunk):
        r1 = min(n, r0 + chunk)

        def column(kind, idx, nxt, r0=r0, r1=r1):
            src = main if kind == "main" else fixed
            return src[r0:r1, idx].astype(np.uint64)

        for v in evaluate(mults, ops, column, pubs.__getitem__):
            if np.any(np.asarray(v) % P != 0):
                return False
    return True
