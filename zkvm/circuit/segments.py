"""Continuations: one run proven as n segments whose union is one memory argument (DESIGN.md, "Accelerators
and segments").

Construction. Every segment is proven with the segment AIR (``riscv_air.circuit(segmented=True)``): the tables
of a whole-run proof (same fixed tables, so the same image id) plus a boundary table, and the publics
``seg`` (its index i), ``is_last`` and ``clk_start``. All n proofs share ONE pair of LogUp challenges, drawn from
a hash of the claim and of every segment's main commitment (``zkvm.segmented``): no segment's challenges exist
before every segment's main trace is committed. The verifier checks that the LogUp sums of all segments plus
the public terms (exit code, journal, initial state) add up to zero. With shared challenges this is one LogUp
argument over the union of all segments' tables, so every bus balances over the whole run (the bus-separation
argument of ``zkvm/stark/verifying/blinding.py``):

* memory and registers: the union is the offline memory argument of memory.py over the whole run. Timestamps
  are global: segment i's clock starts at ``clk_start = 1 + i·(2^k + 1)`` (one tick skipped per boundary), so
  its accesses at 4·clk + slot come after every access of segments < i. Memory and registers are initialised
  (timestamp 0) and finalised exactly once, by the image / zinit / regs tables of the LAST segment (their
  multiplicities are gated by ``is_last``; zinit rows are forbidden elsewhere), so each cell has one init.
  A segment's boundary table re-reads every cell the segment touches at its boundary timestamp
  ``ts_b = 4·clk_start - 4`` (the skipped tick): it receives (cell, value, ts_prev) with ts_b - ts_prev - 1 in
  [0, 2^29) and sends (cell, value, ts_b); the CPU's first access then lies within 2^24 of it, as in a single
  proof. Timestamps stay below 2^29 (``abi.MAX_SEGMENTED_PROVE_CYCLES``), so a backwards pair would need a
  "difference" >= p - 2^29 > 2^29: no wrap-around. Two accesses of one cell at one timestamp cannot both be
  fed (each receive needs an earlier send, and the earlier sends form one chain from the single init), so
  no per-segment uniqueness of boundary rows is needed.
* control: the first CPU row receives the state (i, pc, journal position, eof) on bus "state", the last row of
  a non-last segment sends (i + 1, next pc, ...). The verifier sends (0, entry, 0, 0). Non-last segments are
  full (2^k real rows, no HALT); the last ends with HALT (exit code on bus "exit"). The indices force the
  order: segment i can only receive what segment i - 1 sent.
* journal: positions continue across segments (the state carries them); the verifier receives the whole
  journal once.

Cheats and what stops them: dropping, duplicating or reordering segments changes a segment's publics (index,
clk_start, is_last) or leaves a state tuple unmatched; a segment from another run has another main root, hence
other challenges than those it was proven with; changing memory or registers between segments leaves a
boundary receive without its send; ending early leaves the last proven segment without HALT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from zkvm import abi
from zkvm.circuit.columns import Col, Columns
from zkvm.circuit.lookups import LookupSends, fixed_lookups, padded_height, report_lookups
from zkvm.circuit.memory import BUS_MEM, N_REGS, SPACE_MEM, SPACE_REG
from zkvm.circuit.opcodes import BUS_BYTES, BUS_RANGE16, BYTE_AND, BYTE_RANGE

SEG_PUBLICS = ("seg", "is_last", "clk_start")
#: Boundary distances ts_b - ts_prev - 1 are < 2^BOUNDARY_TS_BITS (16-bit limb, byte, 5-bit top).
BOUNDARY_TS_BITS = 29
#: Smallest and largest segment size (log2 of the CPU rows a full segment holds). The largest keeps a segment's
#: accesses within 2^24 timestamps of its boundary (the CPU's range check).
MIN_SEGMENT_PO2, MAX_SEGMENT_PO2 = 4, 21


def clk_start(index: int, po2: int) -> int:
    """Clock of segment ``index``'s first row: full segments of 2^po2 rows, one skipped tick per boundary."""
    return 1 + index * ((1 << po2) + 1)


def boundary_ts(clk: int) -> int:
    return 4 * clk - 4


def max_segments(po2: int) -> int:
    """Most segments whose timestamps stay below 2^BOUNDARY_TS_BITS (4·clk + 3 for the last row)."""
    last_clk_limit = ((1 << BOUNDARY_TS_BITS) - 4) // 4
    return (last_clk_limit - 1) // ((1 << po2) + 1)


def seg_publics(index: int, n: int, po2: int) -> dict[str, int]:
    return {"seg": index, "is_last": int(index == n - 1), "clk_start": clk_start(index, po2)}


class BoundaryCols(Columns):
    is_real, space, addr, lo, hi, ts_prev = Col(), Col(), Col(), Col(), Col(), Col()
    d0, d1, d2 = Col(), Col(), Col()  # ts_b - ts_prev - 1 = d0 + 2^16·d1 + 2^24·d2


class BoundaryTable:
    """One row per cell (register or memory word) the segment touches: a read at the boundary timestamp.

    Columns: is_real, space, addr, lo, hi (the value), ts_prev, d0 (16 bits), d1 (byte), d2 (< 32):
    ts_b - ts_prev - 1 = d0 + 2^16·d1 + 2^24·d2 in [0, 2^29)."""

    NAME = "boundary"

    def __init__(self, t, clk_start_pub) -> None:
        c = BoundaryCols.exprs(t)
        is_real = c.is_real
        ts_b = 4 * clk_start_pub - 4
        t.always("is_real_bool", is_real * (1 - is_real))
        t.always("ts_before", is_real * (ts_b - c.ts_prev - 1 - c.d0 - 65536 * c.d1 - 16777216 * c.d2))
        cell = [c.space, c.addr, c.lo, c.hi]
        t.receive(BUS_MEM, cell + [c.ts_prev], mult=is_real)
        t.send(BUS_MEM, cell + [ts_b], mult=is_real)
        t.send(BUS_RANGE16, [c.d0], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, c.d1, c.d2, 0], mult=is_real)
        t.send(BUS_BYTES, [BYTE_AND, c.d2, 0xE0, 0], mult=is_real)


def _boundary_table():
    """The boundary table's sends (the segment's clock only enters a constraint)."""
    from zkvm.stark.dsl.air import Table

    t = Table(BoundaryTable.NAME)
    BoundaryTable(t, 0)
    return t


# ---------------------------------------------------------------------------------------------- prover side

@dataclass
class CellState:
    """Cells (key = space << 32 | addr, sorted, unique) with a value and the timestamp of their last access."""

    final_key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    final_value: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    final_ts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def merged(self, later) -> "CellState":
        """This state updated by a later one (``later``'s cells win)."""
        key = np.concatenate([self.final_key, later.final_key]).astype(np.int64)
        val = np.concatenate([self.final_value, later.final_value]).astype(np.int64)
        ts = np.concatenate([self.final_ts, later.final_ts]).astype(np.int64)
        order = np.argsort(key, kind="stable")
        key, val, ts = key[order], val[order], ts[order]
        last = np.ones(len(key), bool)
        last[:-1] = key[1:] != key[:-1]
        return CellState(key[last], val[last], ts[last])

    def ts_of(self, keys: np.ndarray) -> np.ndarray:
        """Last-access timestamps of ``keys`` (0, the initialisation, for cells never touched)."""
        if not len(self.final_key):
            return np.zeros(len(keys), np.int64)
        i = np.minimum(np.searchsorted(self.final_key, keys), len(self.final_key) - 1)
        return np.where(self.final_key[i] == keys, self.final_ts[i], 0)


@dataclass
class SegmentInput:
    """What a segment's trace needs beyond its record: where it sits in the run and the state it starts from."""

    index: int
    is_last: bool
    po2: int
    jpos0: int
    eof0: int
    init_value: Callable[[np.ndarray], np.ndarray]  # cell values at the segment's start
    before: CellState                                 # last accesses of the segments before it
    #: last segment only: the final state of every cell the run touched before it
    run_state: CellState | None = None

    @property
    def clk0(self) -> int:
        return clk_start(self.index, self.po2)

    @property
    def init_ts(self) -> int:
        return boundary_ts(self.clk0) if self.index else 0

    @property
    def publics(self) -> dict[str, int]:
        return {"seg": self.index, "is_last": int(self.is_last), "clk_start": self.clk0}


def snapshot_init_value(regs: np.ndarray, memory: bytes) -> Callable[[np.ndarray], np.ndarray]:
    """``init_value`` over a machine state: 32 registers and guest memory [MEM_START, MEM_END)."""
    words = np.frombuffer(memory, dtype="<u4")
    regs = np.asarray(regs, dtype=np.int64)

    def init_value(keys: np.ndarray) -> np.ndarray:
        space, addr = keys >> 32, keys & 0xFFFF_FFFF
        out = np.zeros(len(keys), dtype=np.int64)
        r = space == SPACE_REG
        out[r] = regs[np.minimum(addr[r], N_REGS - 1)]
        m = space == SPACE_MEM
        idx = addr[m] - abi.MEM_START // 4
        ok = (idx >= 0) & (idx < len(words))
        vals = np.zeros(len(idx), np.int64)
        vals[ok] = words[idx[ok]]
        out[m] = vals
        return out

    return init_value


def boundary_main(touched, seg: SegmentInput, sends: LookupSends) -> np.ndarray:
    """The boundary rows: every cell the segment touches (``touched.final_key``), read at ts_b from the value
    and timestamp the earlier segments left. Segment 0 has none (its first accesses follow the init)."""
    keys = touched.final_key if seg.index else np.zeros(0, np.int64)
    n = len(keys)
    v = BoundaryCols.values()
    if n:
        val = seg.init_value(keys)
        ts_prev = seg.before.ts_of(keys)
        d = seg.init_ts - ts_prev - 1
        if d.min() < 0 or d.max() >= 1 << BOUNDARY_TS_BITS:
            raise ValueError("boundary distance out of range: the segment's clock or the run's state is wrong")
        v.is_real, v.space, v.addr, v.lo, v.hi = np.ones(n, np.int64), keys >> 32, keys & 0xFFFF_FFFF, val & 0xFFFF, val >> 16
        v.ts_prev, v.d0, v.d1, v.d2 = ts_prev, d & 0xFFFF, (d >> 16) & 0xFF, d >> 24
        report_lookups(fixed_lookups(_boundary_table), v.ordered(), n, sends)
    return v.assemble(n, padded_height(n))
