"""Lookup sends collected while filling the family tables, and the trace helpers those tables share.

The fixed range16 / bytes tables need, per row, how many times that row is looked up (their multiplicity
columns). Rather than re-deriving that from constraint expressions, each family table's `fill` reports every
range16 / bytes tuple it sends (real rows only: padding rows send with multiplicity 0), into a `LookupSends`.
Once every table is filled, `range.multiplicities(sends)` and `bytes.multiplicities(sends)` count them with
`np.bincount`. If a fill forgot to report a send, the bus would not balance: `check_trace` names the bus.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping, Sequence

import numpy as np

from zkvm.circuit.opcodes import BYTE_OPS
from zkvm.field.babybear import P

#: Smallest height a family table is padded to (all-inert rows). Kept tiny; the prover may require more.
MIN_HEIGHT = 4


class LookupSends:
    """Accumulates range16 values and bytes (op, x, y) pairs sent by the family tables."""

    def __init__(self) -> None:
        self.range16: list[np.ndarray] = []
        self.bytes: dict[int, list[np.ndarray]] = {op: [] for op in BYTE_OPS.values()}

    def add_range16(self, values: np.ndarray) -> None:
        """Each value must be in [0, 2^16) (an honest fill never sends anything else)."""
        v = np.asarray(values, dtype=np.int64).ravel()
        if v.size and (v.min() < 0 or v.max() >= 1 << 16):
            raise ValueError("range16 send out of range: the fill computed a wrong witness")
        self.range16.append(v)

    def add_bytes(self, op: int | np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        """Pairs (x, y) of bytes looked up under byte op `op` (a scalar or one op per pair)."""
        x = np.asarray(x, dtype=np.int64).ravel()
        y = np.asarray(y, dtype=np.int64).ravel()
        if x.size and (min(x.min(), y.min()) < 0 or max(x.max(), y.max()) > 255):
            raise ValueError("bytes send out of range: the fill computed a wrong witness")
        ops = np.broadcast_to(np.asarray(op, dtype=np.int64), x.shape)
        for code in self.bytes:
            sel = ops == code
            if sel.any():
                self.bytes[code].append(x[sel] * 256 + y[sel])

    def extend(self, other: "LookupSends") -> None:
        self.range16.extend(other.range16)
        for code, parts in other.bytes.items():
            self.bytes[code].extend(parts)


def padded_height(n: int, min_height: int = MIN_HEIGHT) -> int:
    """Next power of two >= max(n, min_height)."""
    h = max(int(n), int(min_height), 1)
    return 1 << (h - 1).bit_length()


def assemble(columns: Sequence[str], values: Mapping[str, np.ndarray], n: int, height: int) -> np.ndarray:
    """Stack named columns (length n, any integer dtype, possibly negative) into a canonical uint32[height, w]
    trace; rows n..height-1 stay zero (the inert padding rows: every table's constraints accept all-zero rows)."""
    unknown = set(values) - set(columns)
    if unknown:
        raise KeyError(f"unknown columns {sorted(unknown)}")
    return trace_rows([values.get(name) for name in columns], n, height)


#: Rows per block of the numpy fallback of `trace_rows` (its output block stays in cache).
_BLOCK = 4096


def trace_rows(cols: Sequence[np.ndarray | None], n: int, height: int, out: np.ndarray | None = None) -> np.ndarray:
    """uint32[height, len(cols)] with row r < n holding cols[j][r] mod p (values any integers, negative
    included; a None column is zero) and zero rows below. Row-major in one pass (the native kernel, or blocks of
    rows in numpy): storing a whole column at a time into a row-major trace touches every row once per column,
    which dominated the fill of wide tables. ``out``: a C-contiguous uint32[height, len(cols)] to fill."""
    w = len(cols)
    arrs = [None if c is None else np.ascontiguousarray(np.asarray(c, dtype=np.int64).reshape(-1))
            for c in cols]
    for a in arrs:
        if a is not None and a.shape[0] != n:
            raise ValueError(f"trace column of length {a.shape[0]}, expected {n}")
    if out is None:
        out = big_empty((height, w))
    elif out.shape != (height, w) or out.dtype != np.uint32 or not out.flags.c_contiguous:
        raise ValueError(f"trace_rows: out must be a C-contiguous uint32[{height}, {w}]")
    native = _native()
    if native is not None and w:
        ffi, lib = native.ffi, native.lib
        ptrs = ffi.new("int64_t *[]", [ffi.NULL if a is None else ffi.cast("int64_t *", a.ctypes.data)
                                       for a in arrs])
        if lib.zk_trace_rows(ptrs, w, n, height, ffi.cast("uint32_t *", out.ctypes.data)) != 0:
            raise ValueError("trace assembly: bad arguments")
        return out
    out[n:] = 0
    for r0 in range(0, n, _BLOCK):
        r1 = min(r0 + _BLOCK, n)
        block = out[r0:r1]
        for j, a in enumerate(arrs):
            block[:, j] = 0 if a is None else np.mod(a[r0:r1], P)
    return out


#: Arrays from this size on are mapped by `big_empty` (smaller ones come from numpy's allocator).
BIG_BYTES = 1 << 22


def big_empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised uint32 array for a large trace, in an anonymous mapping populated up front: the
    kernel maps every page in one call instead of one fault per page on first write. numpy's own large
    allocations ask for transparent huge pages, whose first touch (page compaction) cost several times more
    on the shared VM we measure on (bench/README.md, "Where the prover's time goes")."""
    size = int(np.prod(shape, dtype=np.int64)) * 4
    if size < BIG_BYTES or not hasattr(mmap, "MAP_POPULATE"):
        return np.empty(shape, dtype=np.uint32)
    try:
        buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE)
    except OSError:
        return np.empty(shape, dtype=np.uint32)
    return np.frombuffer(buf, dtype=np.uint32).reshape(shape)


def _native():
    """The prover's compiled kernels, or None (numpy backend). Imported on first use: the verifier imports the
    circuit modules (for the AIR) and must never load a compiled extension."""
    from zkvm.stark.backend import BACKEND

    return BACKEND.native


def as_u32_operands(ops: np.ndarray, a: np.ndarray, b: np.ndarray, allowed: Mapping[str, int]):
    """Validate and normalise fill inputs: equal-length arrays, ops among `allowed`."""
    ops = np.asarray(ops, dtype=np.int64).ravel()
    a = np.asarray(a, dtype=np.int64).ravel()
    b = np.asarray(b, dtype=np.int64).ravel()
    if not (ops.shape == a.shape == b.shape):
        raise ValueError("ops, a, b must have the same length")
    bad = ~np.isin(ops, list(allowed.values()))
    if bad.any():
        raise ValueError(f"op {int(ops[bad][0])} is not handled by this table")
    if a.size and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= 1 << 32):
        raise ValueError("operands must be 32-bit unsigned words")
    return ops, a, b


@dataclass(frozen=True)
class FamilyTable:
    """What the circuit needs from an instruction-family table: its name, the ops it receives on bus "alu", its
    main columns, how to build its constraints, how to fill it and the reference semantics the fill uses."""

    name: str
    ops: Mapping[str, int]
    columns: tuple[str, ...]
    table: Callable[[], object]  # () -> zkvm.stark.dsl.air.Table
    fill: Callable[..., np.ndarray]  # (ops, a, b, sends=None, min_height=MIN_HEIGHT) -> uint32[h, len(columns)]
    evaluate: Callable[..., np.ndarray]  # (ops, a, b) -> uint32 results


#: Constants below this multiply without a reduction in `report_lookups` (limb and byte factors, op codes).
_SMALL = 1 << 20
#: Rows per block of `report_lookups` (its temporaries stay in cache, as in the CPU fill).
_LOOKUP_BLOCK = 1 << 15
#: No honest row sends one lookup more than this many times (multiplicities are sums of a few selectors).
_MAX_MULT = 16


class _IntOps:
    """numpy int64 arithmetic for `report_lookups`: sums exact (a lookup adds a few small terms), products reduced
    mod p (operands below 2^31 in absolute value, so a product fits in int64); results are reduced at the end."""

    def add(self, a, b):
        return a + b

    def sub(self, a, b):
        return a - b

    def mul(self, a, b):
        if isinstance(a, int) and a < _SMALL or isinstance(b, int) and b < _SMALL:
            return a * b  # a small constant times a value below 2^34: no overflow, no division
        return (a * b) % P

    def neg(self, a):
        return -a


def _canonical(x: np.ndarray) -> np.ndarray:
    """x mod p, skipping the division when every value already is in [0, p) (an honest fill's always are)."""
    if x.size and (int(x.min()) < 0 or int(x.max()) >= P):
        return x % P
    return x


@lru_cache(maxsize=None)
def fixed_lookups(build: Callable[[], object]) -> tuple:
    """The range16 / bytes sends of the DSL table ``build()`` makes: what its fill reports (`report_lookups`).
    Built once per builder (the table does not depend on the image)."""
    from zkvm.circuit.opcodes import BUS_BYTES, BUS_RANGE16

    return tuple(it for it in build().interactions if it.sign > 0 and it.bus in (BUS_RANGE16, BUS_BYTES))


def report_lookups(lookups: Sequence, values: Sequence[np.ndarray | None], n: int, sends: "LookupSends") -> None:
    """Report to `sends` every range16 / bytes tuple the rows send, evaluated from the constraints' own send
    declarations (`fixed_lookups`) on the fill's column values (``values[j]``: main column j over the n rows, None
    for zero). One declaration, so the fill cannot drift from the constraints; a row sends its tuple ``mult``
    times (rows with mult 0, the padding among them, send nothing). Values are taken mod p: an honest fill's
    are small non-negative integers, anything else is out of range and refused (or dropped) by `sends`."""
    roots = [e for it in lookups for e in (it.mult, *it.values)]
    cols = [None if v is None else np.asarray(v, dtype=np.int64).reshape(-1) for v in values]
    for lo in range(0, n, _LOOKUP_BLOCK):
        hi = min(lo + _LOOKUP_BLOCK, n)
        _report_block(lookups, roots, [None if c is None else c[lo:hi] for c in cols], hi - lo, sends)


def _report_block(lookups: Sequence, roots: list, cols: list, n: int, sends) -> None:
    from zkvm.circuit.opcodes import BUS_RANGE16
    from zkvm.stark.dsl.air import AirError, evaluate

    zeros = np.zeros(n, np.int64)

    def column(kind: str, index: int, is_next: bool) -> np.ndarray:
        if kind != "main" or is_next:
            raise AirError("a fixed-table lookup may only use the row's own main columns")
        c = cols[index]
        return zeros if c is None else c

    def public(name: str):
        raise AirError(f"a fixed-table lookup may not use the public input {name!r}")

    # one walk over every lookup's expressions: the selectors they share are computed once
    out = iter(evaluate(roots, _IntOps(), column, public))
    for it in lookups:
        mult, *vals = (_canonical(np.broadcast_to(np.asarray(next(out), dtype=np.int64), (n,)))
                       for _ in range(1 + len(it.values)))
        rows = np.nonzero(mult)[0]
        times = mult[rows]
        if times.size and times.max() > _MAX_MULT:
            raise ValueError(f"bus {it.bus}: a lookup multiplicity of {int(times.max())}: the fill computed a "
                             "wrong witness")
        if times.size and times.max() > 1:
            rows = np.repeat(rows, times)
        if it.bus == BUS_RANGE16:
            sends.add_range16(vals[0][rows])
        else:
            sends.add_bytes(vals[0][rows], vals[1][rows], vals[2][rows])
