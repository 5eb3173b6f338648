"""Offline memory checking: registers and guest memory as one multiset argument on bus "mem".

Tuple: (space, addr, lo, hi, ts) with space 0 = registers (addr = index 0..31) and space 1 = memory
(addr = word index = byte address / 4). Every access (made by the CPU table, or by an accelerator table at a
timestamp 4·clk + slot of its ecall's cycle: sha256.py) *receives* the tuple of the
previous access to the same cell — its value and timestamp — and *sends* the new one with its own timestamp;
it proves ts_prev < ts by range-checking ts - ts_prev - 1 in [0, 2^24). Each cell starts with one init send
(timestamp 0) and ends with one final receive:

* registers: fixed table "regs" (32 rows, initial values fixed: all zero; crt0 sets sp);
* image memory: fixed table "image", one row per *non-zero* word of the image, sorted by address (word index,
  value), committed by the image id. It is sparse on purpose: its cost follows the image's bytes, not the
  span of addresses it covers (a data segment at 0x200000 adds one row, not 2^19), and zero words (.bss,
  zeros in .data) are left to zinit, which gives them the same initial value;
* other memory: table "zinit" of prover-chosen zero-initialised word indices, strictly increasing (so no cell
  is initialised twice), each >= MEM_START/4 and inside a *gap* of the image (so no image cell gets a second,
  zero, initialisation). The image table lists its gaps as fixed (gap_lo, gap_hi) pairs, the complement of
  its words in [MEM_START/4, 2^24): after each word up to the next one, plus the one below the first
  word; every zinit row sends the gap it claims on bus "gap", and range-checks gap_lo <= w <= gap_hi.

Soundness sketch: for one cell, the sends have timestamps {0} ∪ {ts of its accesses} and the receives
{ts_prev of its accesses} ∪ {final}. Sorting the accesses by ts, the first one's ts_prev < its ts can only
match the init send; inductively each ts_prev must be exactly the previous access's ts (every other send is
either later or already consumed — the multiset equality counts multiplicities), so each access sees the
value the previous one left. CPU timestamps are 4·clk + slot <= 2^24 + 3 (the CPU height is at most 2^22), so
a "difference" of a backwards pair is a field element >= p - 2^25, far outside [0, 2^24): no wrap-around.
In a run proven in segments the timestamps are global and stay below 2^29 (segments.py): a backwards
difference is then >= p - 2^29, still far outside [0, 2^24).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkvm import abi
from zkvm.circuit.columns import Col, Columns
from zkvm.circuit.lookups import LookupSends, fixed_lookups, padded_height, report_lookups
from zkvm.circuit.opcodes import BUS_BYTES, BUS_RANGE16, BYTE_RANGE
from zkvm.stark.dsl.air import Table

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

class RegsCols(Columns):
    idx, init_lo, init_hi = Col(fixed=True), Col(fixed=True), Col(fixed=True)
    final_lo, final_hi, final_ts = Col(), Col(), Col()


class RegsTable:
    """Fixed: idx, init_lo, init_hi (32 rows). Main: final value and timestamp of each register."""

    NAME = "regs"

    def __init__(self, t, is_last=1) -> None:
        """``is_last``: in a segmented run only the last segment initialises and finalises (segments.py)."""
        c = RegsCols.exprs(t)
        t.send(BUS_MEM, [SPACE_REG, c.idx, c.init_lo, c.init_hi, 0], mult=is_last)
        t.receive(BUS_MEM, [SPACE_REG, c.idx, c.final_lo, c.final_hi, c.final_ts], mult=is_last)

    @staticmethod
    def fixed_trace() -> np.ndarray:
        init = np.array(INITIAL_REGS, dtype=np.int64)
        return np.stack([np.arange(N_REGS), init & 0xFFFF, init >> 16], axis=1).astype(np.uint32)


BUS_GAP = "gap"
#: The last gap ends below 2^24, the bound of zinit's w (limb + byte); the CPU keeps addresses in guest memory.
WORD_LIMIT = 1 << 24
#: The (gap_lo, gap_hi) of padding rows: an empty gap (no w has 1 <= w <= 0), so a zinit row cannot use it.
EMPTY_GAP = (1, 0)


class ImageCols(Columns):
    valid, w, init_lo, init_hi = Col(fixed=True), Col(fixed=True), Col(fixed=True), Col(fixed=True)
    gap_lo, gap_hi = Col(fixed=True), Col(fixed=True)
    final_lo, final_hi, final_ts, gap_mult = Col(), Col(), Col(), Col()


class ImageTable:
    """Fixed: valid, w (word index), init_lo, init_hi for every non-zero image word (sorted by w), and the gap
    (gap_lo, gap_hi) of word indices after it. Main: final lo/hi/ts; gap_mult (zinit rows in that gap).

    Rows 0..n-1 are the words; row n (valid = 0) holds the gap below the first word; padding rows hold an
    empty gap. Soundness of the sparse layout: see the module docstring and `ZinitTable`."""

    NAME = "image"

    def __init__(self, t, is_last=1) -> None:
        c = ImageCols.exprs(t)
        t.send(BUS_MEM, [SPACE_MEM, c.w, c.init_lo, c.init_hi, 0], mult=c.valid * is_last)
        t.receive(BUS_MEM, [SPACE_MEM, c.w, c.final_lo, c.final_hi, c.final_ts], mult=c.valid * is_last)
        t.receive(BUS_GAP, [c.gap_lo, c.gap_hi], mult=c.gap_mult)

    @staticmethod
    def words(image) -> tuple[np.ndarray, np.ndarray]:
        """(word indices, uint32 values) of the image's non-zero words, sorted by index."""
        if not image.words:
            return np.zeros(0, np.int64), np.zeros(0, np.uint32)
        addrs = np.fromiter(image.words.keys(), dtype=np.int64, count=len(image.words))
        values = np.fromiter(image.words.values(), dtype=np.uint32, count=len(image.words))
        order = np.argsort(addrs)
        addrs, values = addrs[order], values[order]
        keep = values != 0
        return addrs[keep] // 4, values[keep]

    @staticmethod
    def fixed_trace(w: np.ndarray, values: np.ndarray, min_height: int = 1) -> np.ndarray:
        n = len(w)
        h = padded_height(max(n + 1, min_height))
        out = np.zeros((h, len(ImageCols.FIXED)), dtype=np.uint32)
        f = ImageCols.view(out, fixed=True)
        f.valid[:n] = 1
        f.w[:n] = w
        f.init_lo[:n] = values & 0xFFFF
        f.init_hi[:n] = values >> 16
        # gaps: after word i up to the next word (empty when they are adjacent: lo = hi + 1), after the last up
        # to the end of memory; row n: below the first word
        nxt = np.append(w[1:], WORD_LIMIT) if n else np.zeros(0, np.int64)
        f.gap_lo[:n] = w + 1
        f.gap_hi[:n] = nxt - 1
        f.gap_lo[n] = MEM_START_WORD
        f.gap_hi[n] = (w[0] if n else WORD_LIMIT) - 1
        f.gap_lo[n + 1:], f.gap_hi[n + 1:] = EMPTY_GAP
        return out

    @staticmethod
    def gap_row(w_image: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Row of the gap holding each (non-image) word index w: after the last image word below it, or n."""
        i = np.searchsorted(w_image, w)  # image words < w
        return np.where(i == 0, len(w_image), i - 1)


class ZinitCols(Columns):
    is_real, w_lo, w_hi, prev_w, d_lo, d_hi = Col(), Col(), Col(), Col(), Col(), Col()
    gap_lo, gap_hi, r_lo, r_hi, s_lo, s_hi = Col(), Col(), Col(), Col(), Col(), Col()
    final_lo, final_hi, final_ts = Col(), Col(), Col()


class ZinitTable:
    """Zero-initialised memory cells outside the image. Main columns:

    is_real; w_lo, w_hi (w = w_lo + 2^16 w_hi < 2^24); prev_w (w of the row above; MEM_START/4 - 1 on row 0);
    d_lo, d_hi (w - prev_w - 1 >= 0: strictly increasing); gap_lo, gap_hi (a gap of the image table, sent on
    bus "gap"); r_lo, r_hi (w - gap_lo >= 0); s_lo, s_hi (gap_hi - w >= 0); final_lo, final_hi, final_ts.

    Why w is not an image word: (gap_lo, gap_hi) is a row of the image table's fixed gap columns (LogUp: a
    tuple no row has cannot be balanced), and those gaps hold no image word by construction (committed by the
    image id). r = w - gap_lo and s = gap_hi - w are decomposed into a 16-bit limb and a byte, so each is an
    integer in [0, 2^24); w, gap_lo, gap_hi are < 2^24 too, so w - gap_lo = r (mod p) cannot hold with a
    negative w - gap_lo (it would need r = w - gap_lo + p > p - 2^24): gap_lo <= w <= gap_hi over the integers.
    """

    NAME = "zinit"

    def __init__(self, t, is_last=None) -> None:
        c = ZinitCols.exprs(t)
        is_real, w_lo, w_hi, prev_w = c.is_real, c.w_lo, c.w_hi, c.prev_w
        if is_last is not None:  # a segmented run initialises memory once, in its last segment (segments.py)
            t.always("zinit_only_last", is_real * (1 - is_last))
        d_lo, d_hi, r_lo, r_hi, s_lo, s_hi = c.d_lo, c.d_hi, c.r_lo, c.r_hi, c.s_lo, c.s_hi
        w = w_lo + 65536 * w_hi
        t.always("is_real_bool", is_real * (1 - is_real))
        t.transition("is_real_monotone", is_real.next * (1 - is_real))
        # Strictly increasing word indices: w - prev_w - 1 = d in [0, 2^24), w in [0, 2^24).
        t.first("prev_w_start", prev_w - (MEM_START_WORD - 1))
        t.transition("prev_w_step", prev_w.next - w)
        t.always("increasing", is_real * (w - prev_w - 1 - d_lo - 65536 * d_hi))
        # Inside a gap of the image: gap_lo <= w <= gap_hi.
        t.always("gap_above_lo", is_real * (w - c.gap_lo - r_lo - 65536 * r_hi))
        t.always("gap_below_hi", is_real * (c.gap_hi - w - s_lo - 65536 * s_hi))
        t.send(BUS_GAP, [c.gap_lo, c.gap_hi], mult=is_real)
        t.send(BUS_RANGE16, [w_lo], mult=is_real)
        t.send(BUS_RANGE16, [d_lo], mult=is_real)
        t.send(BUS_RANGE16, [r_lo], mult=is_real)
        t.send(BUS_RANGE16, [s_lo], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, w_hi, d_hi, 0], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, r_hi, s_hi, 0], mult=is_real)
        t.send(BUS_MEM, [SPACE_MEM, w, 0, 0, 0], mult=is_real)
        t.receive(BUS_MEM, [SPACE_MEM, w, c.final_lo, c.final_hi, c.final_ts], mult=is_real)


def _zinit_table() -> Table:
    t = Table(ZinitTable.NAME)
    ZinitTable(t)
    return t


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


def resolve(acc: Accesses, init_value, init_ts: int = 0) -> Resolved:
    """Replay the accesses cell by cell (sorted by key, then ts): values seen, previous values/timestamps,
    and the final state of every touched cell. ``init_value(keys)`` gives initial values, ``init_ts`` the
    timestamp a first access receives (0; a segment's boundary timestamp: segments.py). Vectorised."""
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
    prev_ts_sorted = np.where(new_group, init_ts, np.roll(ts, 1))
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
    v = RegsCols.values()
    v.final_lo, v.final_hi, v.final_ts = val & 0xFFFF, val >> 16, ts
    return v.assemble(N_REGS, N_REGS)


def image_main(res: Resolved, w_image: np.ndarray, values: np.ndarray, height: int,
               gap_mult: np.ndarray) -> np.ndarray:
    """final_lo, final_hi, final_ts, gap_mult per image row (``gap_mult`` from `zinit_main`)."""
    out = np.zeros((height, len(ImageCols.NAMES)), dtype=np.uint32)
    n = len(w_image)
    val = values.astype(np.int64)
    ts = np.zeros(n, dtype=np.int64)
    w = res.final_key & 0xFFFF_FFFF
    mem = (res.final_key >> 32) == SPACE_MEM
    i = np.minimum(np.searchsorted(w_image, w), max(n - 1, 0))
    sel = mem & (n > 0) & (w_image[i] == w) if n else np.zeros(len(w), bool)
    val[i[sel]], ts[i[sel]] = res.final_value[sel], res.final_ts[sel]
    o = ImageCols.view(out)
    o.final_lo[:n], o.final_hi[:n], o.final_ts[:n] = val & 0xFFFF, val >> 16, ts
    o.gap_mult = gap_mult
    return out


def zinit_main(res: Resolved, w_image: np.ndarray, image_height: int,
               sends: LookupSends) -> tuple[np.ndarray, np.ndarray]:
    """The zinit trace (touched memory words that are not image words) and the image table's gap_mult."""
    w_all = res.final_key & 0xFFFF_FFFF
    mem = (res.final_key >> 32) == SPACE_MEM
    n_img = len(w_image)
    if n_img:
        i = np.minimum(np.searchsorted(w_image, w_all), n_img - 1)
        in_image = w_image[i] == w_all
    else:
        in_image = np.zeros(len(w_all), bool)
    sel = mem & ~in_image
    w = w_all[sel]  # sorted, unique (final_key is)
    fval, fts = res.final_value[sel], res.final_ts[sel]
    n = len(w)
    h = padded_height(n)
    prev = np.empty(n, dtype=np.int64)
    if n:
        prev[0] = MEM_START_WORD - 1
        prev[1:] = w[:-1]
    d = w - prev - 1
    fixed = ImageTable.fixed_trace(w_image, np.zeros(n_img, np.uint32), image_height)
    row = ImageTable.gap_row(w_image, w)
    gaps = ImageCols.view(fixed, fixed=True)
    glo, ghi = gaps.gap_lo[row].astype(np.int64), gaps.gap_hi[row].astype(np.int64)
    r, s = w - glo, ghi - w
    v = ZinitCols.values()
    v.is_real, v.w_lo, v.w_hi, v.prev_w = np.ones(n, np.int64), w & 0xFFFF, w >> 16, prev
    v.d_lo, v.d_hi, v.gap_lo, v.gap_hi = d & 0xFFFF, d >> 16, glo, ghi
    v.r_lo, v.r_hi, v.s_lo, v.s_hi = r & 0xFFFF, r >> 16, s & 0xFFFF, s >> 16
    v.final_lo, v.final_hi, v.final_ts = fval & 0xFFFF, fval >> 16, fts
    out = v.assemble(n, h)
    # padding rows continue prev_w from the last real w (the transition holds on every row)
    if h > n:
        ZinitCols.view(out).prev_w[n] = w[-1] if n else MEM_START_WORD - 1
    report_lookups(fixed_lookups(_zinit_table), v.ordered(), n, sends)
    gap_mult = np.bincount(row, minlength=image_height).astype(np.uint32)
    return out, gap_mult
