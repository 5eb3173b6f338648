"""Offline memory checking: registers and guest memory as one multiset argument on bus "mem".

Tuple: (space, addr, lo, hi, ts) with space 0 = registers (addr = index 0..31) and space 1 = memory
(addr = word index = byte address / 4). Every access (made by the CPU table, or by an accelerator table at a
timestamp 4·clk + slot of its ecall's cycle: sha256.py) *receives* the tuple of the
previous access to the same cell — its value and timestamp — and *sends* the new one with its own timestamp;
it proves ts_prev < ts by range-checking ts - ts_prev - 1 in [0, 2^24). Each cell starts with one init send
(timestamp 0) and ends with one final receive:

* registers: fixed table "regs" (32 rows, initial values fixed: all zero; crt0 sets sp);
* memory in the image span: fixed table "image" (every word of [image_lo, image_hi), committed by the image id);
* other memory: table "zinit" of prover-chosen zero-initialised word indices, strictly increasing (so no cell
  is initialised twice), each >= MEM_START/4 and outside the image span (so no image cell gets a second,
  zero, initialisation).

Soundness sketch: for one cell, the sends have timestamps {0} ∪ {ts of its accesses} and the receives
{ts_prev of its accesses} ∪ {final}. Sorting the accesses by ts, the first one's ts_prev < its ts can only
match the init send; inductively each ts_prev must be exactly the previous access's ts (every other send is
either later or already consumed — the multiset equality counts multiplicities), so each access sees the
value the previous one left. CPU timestamps are 4·clk + slot <= 2^24 + 3 (the CPU height is at most 2^22), so
a "difference" of a backwards pair is a field element >= p - 2^25, far outside [0, 2^24): no wrap-around.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkvm import abi
from zkvm.circuit.lookups import LookupSends, padded_height
from zkvm.circuit.opcodes import BUS_BYTES, BUS_RANGE16, BYTE_RANGE

BUS_MEM = "mem"
SPACE_REG, SPACE_MEM = 0, 1
N_REGS = 32
#: Initial register values (fixed in the circuit; the interpreter starts from the same).
INITIAL_REGS = (0,) * N_REGS
#: Lowest word index a zero-initialised cell may have.
MEM_START_WORD = abi.MEM_START // 4
#: Timestamp differences are range-checked below 2^24 (a 16-bit limb and a byte).
TS_BITS = 24


def _key(space, addr):
    return (np.asarray(space, dtype=np.int64) << 32) | np.asarray(addr, dtype=np.int64)


# ---------------------------------------------------------------------------------------------- tables

class RegsTable:
    """Fixed: idx, init_lo, init_hi (32 rows). Main: final value and timestamp of each register."""

    NAME = "regs"

    def __init__(self, t) -> None:
        idx, ilo, ihi = t.fixed("idx"), t.fixed("init_lo"), t.fixed("init_hi")
        flo, fhi, fts = t.main("final_lo"), t.main("final_hi"), t.main("final_ts")
        t.send(BUS_MEM, [SPACE_REG, idx, ilo, ihi, 0])
        t.receive(BUS_MEM, [SPACE_REG, idx, flo, fhi, fts])

    @staticmethod
    def fixed_trace() -> np.ndarray:
        init = np.array(INITIAL_REGS, dtype=np.int64)
        return np.stack([np.arange(N_REGS), init & 0xFFFF, init >> 16], axis=1).astype(np.uint32)


class ImageTable:
    """Fixed: valid, w (word index), init_lo, init_hi for every word of the image span. Main: final lo/hi/ts."""

    NAME = "image"

    def __init__(self, t) -> None:
        valid, w, ilo, ihi = t.fixed("valid"), t.fixed("w"), t.fixed("init_lo"), t.fixed("init_hi")
        flo, fhi, fts = t.main("final_lo"), t.main("final_hi"), t.main("final_ts")
        t.send(BUS_MEM, [SPACE_MEM, w, ilo, ihi, 0], mult=valid)
        t.receive(BUS_MEM, [SPACE_MEM, w, flo, fhi, fts], mult=valid)

    @staticmethod
    def span(image) -> tuple[int, np.ndarray]:
        """(first word index, uint32 words) of the contiguous image span (gaps between segments are zeros)."""
        base, data = image.to_bytes_array()
        words = np.ascontiguousarray(data).view("<u4").astype(np.uint32)
        return base // 4, words

    @staticmethod
    def fixed_trace(lo_word: int, words: np.ndarray) -> np.ndarray:
        n = len(words)
        h = padded_height(n)
        out = np.zeros((h, 4), dtype=np.uint32)
        out[:n, 0] = 1
        out[:n, 1] = np.arange(lo_word, lo_word + n, dtype=np.uint32)
        out[:n, 2] = words & 0xFFFF
        out[:n, 3] = words >> 16
        return out


class ZinitTable:
    """Zero-initialised memory cells outside the image span. Main columns:

    is_real; w_lo, w_hi (w = w_lo + 2^16 w_hi < 2^24); prev_w (w of the row above; MEM_START/4 - 1 on row 0);
    d_lo, d_hi (w - prev_w - 1 >= 0: strictly increasing); above (w >= image_hi, else w < image_lo);
    r_lo, r_hi (the distance to the image span, >= 0); final_lo, final_hi, final_ts.
    """

    NAME = "zinit"
    COLUMNS = ("is_real", "w_lo", "w_hi", "prev_w", "d_lo", "d_hi", "above", "r_lo", "r_hi",
               "final_lo", "final_hi", "final_ts")

    def __init__(self, t, image_lo, image_hi) -> None:
        c = {n: t.main(n) for n in self.COLUMNS}
        is_real, w_lo, w_hi, prev_w = c["is_real"], c["w_lo"], c["w_hi"], c["prev_w"]
        d_lo, d_hi, above, r_lo, r_hi = c["d_lo"], c["d_hi"], c["above"], c["r_lo"], c["r_hi"]
        w = w_lo + 65536 * w_hi
        t.always("is_real_bool", is_real * (1 - is_real))
        t.transition("is_real_monotone", is_real.next * (1 - is_real))
        t.always("above_bool", above * (1 - above))
        # Strictly increasing word indices: w - prev_w - 1 = d in [0, 2^24), w in [0, 2^24).
        t.first("prev_w_start", prev_w - (MEM_START_WORD - 1))
        t.transition("prev_w_step", prev_w.next - w)
        t.always("increasing", is_real * (w - prev_w - 1 - d_lo - 65536 * d_hi))
        # Outside the image span: above -> w - image_hi >= 0, else image_lo - 1 - w >= 0.
        dist = above * (w - image_hi) + (1 - above) * (image_lo - 1 - w)
        t.always("outside_image", is_real * (dist - r_lo - 65536 * r_hi))
        t.send(BUS_RANGE16, [w_lo], mult=is_real)
        t.send(BUS_RANGE16, [d_lo], mult=is_real)
        t.send(BUS_RANGE16, [r_lo], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, w_hi, d_hi, 0], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, r_hi, 0, 0], mult=is_real)
        t.send(BUS_MEM, [SPACE_MEM, w, 0, 0, 0], mult=is_real)
        t.receive(BUS_MEM, [SPACE_MEM, w, c["final_lo"], c["final_hi"], c["final_ts"]], mult=is_real)


# ---------------------------------------------------------------------------------------------- trace

@dataclass
class Accesses:
    """All CPU accesses, flattened: key = space << 32 | addr, ts, and for writes the value written."""

    key: np.ndarray
    ts: np.ndarray
    is_write: np.ndarray
    value: np.ndarray  # value written (writes); ignored for reads


@dataclass
class Resolved:
    value: np.ndarray    # value of the cell after each access (== before, for reads)
    prev_value: np.ndarray
    prev_ts: np.ndarray
    final_key: np.ndarray   # one entry per touched cell, sorted
    final_value: np.ndarray
    final_ts: np.ndarray


def resolve(acc: Accesses, init_value) -> Resolved:
    """Replay the accesses cell by cell (sorted by key, then ts): values seen, previous values/timestamps,
    and the final state of every touched cell. ``init_value(keys)`` gives initial values. Vectorised."""
    n = len(acc.key)
    order = np.lexsort((acc.ts, acc.key))
    key, ts = acc.key[order], acc.ts[order]
    is_write, wval = acc.is_write[order], acc.value[order].astype(np.int64)
    idx = np.arange(n)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = key[1:] != key[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, idx, 0))
    last_write = np.maximum.accumulate(np.where(is_write, idx, -1))
    init = init_value(key).astype(np.int64)
    value_sorted = np.where(last_write >= group_start, wval[np.maximum(last_write, 0)], init)
    prev_value_sorted = np.where(new_group, init, np.roll(value_sorted, 1))
    prev_ts_sorted = np.where(new_group, 0, np.roll(ts, 1))
    value, prev_value, prev_ts = (np.empty(n, np.int64) for _ in range(3))
    value[order], prev_value[order], prev_ts[order] = value_sorted, prev_value_sorted, prev_ts_sorted
    last = np.ones(n, dtype=bool)
    last[:-1] = new_group[1:]
    return Resolved(value, prev_value, prev_ts, key[last], value_sorted[last], ts[last])


def regs_main(res: Resolved) -> np.ndarray:
    val = np.array(INITIAL_REGS, dtype=np.int64)
    ts = np.zeros(N_REGS, dtype=np.int64)
    sel = (res.final_key >> 32) == SPACE_REG
    regs = res.final_key[sel] & 0xFFFF_FFFF
    val[regs], ts[regs] = res.final_value[sel], res.final_ts[sel]
    return np.stack([val & 0xFFFF, val >> 16, ts], axis=1).astype(np.uint32)


def image_main(res: Resolved, lo_word: int, words: np.ndarray, height: int) -> np.ndarray:
    out = np.zeros((height, 3), dtype=np.uint32)
    n = len(words)
    val = words.astype(np.int64)
    ts = np.zeros(n, dtype=np.int64)
    w = res.final_key & 0xFFFF_FFFF
    sel = ((res.final_key >> 32) == SPACE_MEM) & (w >= lo_word) & (w < lo_word + n)
    val[w[sel] - lo_word], ts[w[sel] - lo_word] = res.final_value[sel], res.final_ts[sel]
    out[:n] = np.stack([val & 0xFFFF, val >> 16, ts], axis=1)
    return out


def zinit_main(res: Resolved, lo_word: int, hi_word: int, sends: LookupSends) -> np.ndarray:
    w_all = res.final_key & 0xFFFF_FFFF
    sel = ((res.final_key >> 32) == SPACE_MEM) & ((w_all < lo_word) | (w_all >= hi_word))
    w = w_all[sel]  # sorted, unique (final_key is)
    fval, fts = res.final_value[sel], res.final_ts[sel]
    n = len(w)
    h = padded_height(n)
    prev = np.empty(n, dtype=np.int64)
    if n:
        prev[0] = MEM_START_WORD - 1
        prev[1:] = w[:-1]
    d = w - prev - 1
    above = (w >= hi_word).astype(np.int64)
    r = np.where(above == 1, w - hi_word, lo_word - 1 - w)
    cols = dict(is_real=np.ones(n, np.int64), w_lo=w & 0xFFFF, w_hi=w >> 16, prev_w=prev,
                d_lo=d & 0xFFFF, d_hi=d >> 16, above=above, r_lo=r & 0xFFFF, r_hi=r >> 16,
                final_lo=fval & 0xFFFF, final_hi=fval >> 16, final_ts=fts)
    out = np.zeros((h, len(ZinitTable.COLUMNS)), dtype=np.uint32)
    for j, name in enumerate(ZinitTable.COLUMNS):
        out[:n, j] = cols[name]
    # padding rows continue prev_w from the last real w (the transition holds on every row)
    if h > n:
        out[n, 3] = w[-1] if n else MEM_START_WORD - 1
        out[n + 1:, 3] = 0
    sends.add_range16(cols["w_lo"]); sends.add_range16(cols["d_lo"]); sends.add_range16(cols["r_lo"])
    sends.add_bytes(BYTE_RANGE, cols["w_hi"], cols["d_hi"])
    sends.add_bytes(BYTE_RANGE, cols["r_hi"], np.zeros(n, np.int64))
    return out
