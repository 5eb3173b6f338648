"""Bulk-input table: proves the READ_BUF calls (contract: zkvm/abi.py, "bulk input").

One call = a run of consecutive rows, one per word written (a call with n = 0 has one row that writes nothing,
rw = 0), so the CPU row of the ecall stays O(1): it sends (4·clk, a0 limbs, a1 limbs, a0 written) on bus
"read_buf" and the call's first row receives that tuple exactly once.

What the table proves is where the private words go and how many, not their values (the prover chooses the
input, as with READ_WORD): row j writes word dst/4 + j through the memory argument, at ts = 4·clk (the CPU's
slots touch only registers on an ecall row, so no memory cell is accessed at that timestamp otherwise). Each
row carries a byte count 0..4 (one-hot c1..c4, none set for 0), with READ_WORD's shape: bytes above the count
are zero, and once a word is short every later word of the call is empty (0 bytes, all zero). The call's byte
total (rem on its first row) is what the CPU writes to a0; a total below 4n tells the CPU the input ended
(its eof flag, cpu.py), after which every read returns nothing. No input offset travels on the bus: the circuit
binds no value to a stream position (READ_WORD's values are advice just the same), only that the stream, once
short, stays empty.

Columns: is_real, start, last (first/last row of a call), rw (the call writes: n > 0), ts (4·clk of the ecall),
w (word index written), left (words of the call from this row on: n on the first row), rem (bytes from this
row on: the call's total on the first row), c1..c4 (byte count one-hot), b0..b3 (bytes written), p_lo/p_hi
(the word's previous value), d_lo/d_hi (timestamp distance to its previous access), above/sr_lo/sr_hi (the
word lies at/above the text or below it, by a range-checked distance). First row only: q (dst's low limb / 4),
hi (dst's high limb). Last row only: e_lo/e_hi (distance of the last word to the end of memory).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkvm import abi
from zkvm.circuit.calls import constrain_calls
from zkvm.circuit.columns import Col, Columns
from zkvm.circuit.lookups import LookupSends, fixed_lookups, padded_height, report_lookups
from zkvm.circuit.memory import BUS_MEM, SPACE_MEM, Accesses
from zkvm.circuit.opcodes import BUS_BYTES, BUS_RANGE16, BYTE_RANGE
from zkvm.errors import ZkvmError

NAME = "read_buf"
BUS_READ_BUF = "read_buf"
#: Word indices are below this (guest memory is [0, 2^24) bytes).
MEM_WORDS = abi.MEM_END // 4



class ReadBufCols(Columns):
    is_real, start, last, rw, ts, w, left, rem = Col(), Col(), Col(), Col(), Col(), Col(), Col(), Col()
    cnt = Col(names=[f"c{k}" for k in range(1, 5)])  # one-hot byte count 1..4 of the row's word
    b = Col(4)                                         # the word's bytes
    p_lo, p_hi, d_lo, d_hi, above, sr_lo, sr_hi = Col(), Col(), Col(), Col(), Col(), Col(), Col()
    q, hi, e_lo, e_hi = Col(), Col(), Col(), Col()


COLUMNS = ReadBufCols.NAMES


class ReadBufError(ZkvmError):
    """The recorded READ_BUF calls cannot be turned into a valid table (strict fills only)."""


def constrain(t, text_lo, text_hi) -> None:
    """Columns and constraints of the (empty) table `t`; `text_lo`/`text_hi`: the AIR's publics spanning
    the program's words."""
    c = ReadBufCols.exprs(t)
    is_real, start, last, rw = c.is_real, c.start, c.last, c.rw
    ts, w, left, rem = c.ts, c.w, c.left, c.rem
    cnt, b = c.cnt, c.b
    csum = cnt[0] + cnt[1] + cnt[2] + cnt[3]
    count = cnt[0] + 2 * cnt[1] + 3 * cnt[2] + 4 * cnt[3]

    bits = [("is_real", is_real), ("start", start), ("last", last), ("rw", rw), ("above", c.above)]
    for name, bit in bits + list(zip(ReadBufCols.cnt.flat(), cnt)):
        t.always(f"{name}_bool", bit * (1 - bit))
    for name, flag in (("start", start), ("last", last), ("rw", rw)):
        t.always(f"{name}_real", flag * (1 - is_real))

    # ---- call structure: contiguous rows per call, start row first, last row last (soundness: calls.py)
    inside = constrain_calls(t, is_real, start, last)  # 1 on a real row that is not its call's last
    t.transition("ts_const", inside * (ts.next - ts))
    t.transition("rw_const", inside * (rw.next - rw))

    # ---- length and addresses. Soundness: left counts the call's rows down to 1 on its last row (0 for a call
    # that writes nothing, which is a single row), so the n received on the start row is exactly the number of
    # words written; they are n consecutive words from dst/4 (w_step): none skipped, none written twice.
    t.transition("w_step", inside * (w.next - w - 1))
    t.transition("left_step", inside * (left.next - left + 1))
    t.always("left_last", last * (left - rw))
    t.always("noop_single_row", is_real * (1 - rw) * (1 - last))

    # ---- byte counts: READ_WORD's shape per word. Soundness: count in 0..4 (at most one of c1..c4), bytes
    # above it zero, a short word ends the call's stream (every later word 0 bytes), no bytes without a write.
    # rem falls by each row's count to exactly the last row's: the call's total is the sum of the counts.
    t.always("count_at_most_one", csum * (1 - csum))
    t.always("count_needs_write", (1 - rw) * csum)
    above_k = [csum, cnt[1] + cnt[2] + cnt[3], cnt[2] + cnt[3], cnt[3]]  # [count > k]
    for k in range(4):
        t.always(f"zero_pad{k}", (1 - above_k[k]) * b[k])
    t.transition("stream_ends", inside * (1 - cnt[3]) * csum.next)
    t.transition("rem_step", inside * (rem.next - rem + count))
    t.always("rem_last", last * (rem - count))

    # ---- the writes, through the memory argument. Soundness: each receives the cell's previous (value, ts)
    # and sends the new word at ts after a range-checked ts_prev < ts, exactly like a CPU store: a word sent
    # elsewhere, or not sent, leaves tuples unmatched. Cells exist only from MEM_START on (memory.py); the end
    # check keeps the last word (and so all) below MEM_END; the text check keeps every word out of the
    # program (the interpreter traps on both).
    d = c.d_lo + 65536 * c.d_hi
    t.receive(BUS_MEM, [SPACE_MEM, w, c.p_lo, c.p_hi, ts - 1 - d], mult=rw)
    t.send(BUS_MEM, [SPACE_MEM, w, b[0] + 256 * b[1], b[2] + 256 * b[3], ts], mult=rw)
    t.send(BUS_RANGE16, [c.d_lo], mult=rw)
    t.send(BUS_RANGE16, [c.sr_lo], mult=rw)
    t.send(BUS_BYTES, [BYTE_RANGE, c.d_hi, c.sr_hi, 0], mult=rw)
    t.send(BUS_BYTES, [BYTE_RANGE, b[0], b[1], 0], mult=rw)
    t.send(BUS_BYTES, [BYTE_RANGE, b[2], b[3], 0], mult=rw)
    above = c.above
    dist = above * (w - text_hi) + (1 - above) * (text_lo - 1 - w)
    t.always("outside_text", rw * (dist - c.sr_lo - 65536 * c.sr_hi))
    t.always("end_of_memory", last * (MEM_WORDS - 1 - w - c.e_lo - 65536 * c.e_hi))
    t.send(BUS_RANGE16, [c.e_lo], mult=last)
    t.send(BUS_BYTES, [BYTE_RANGE, c.e_hi, 0, 0], mult=last)

    # ---- the call (first row). Soundness: a0 arrives as limbs (4·q, hi): q < 2^14 (range16 of q, and 4q is a
    # 16-bit limb) makes dst 4-aligned and the word index q + 2^14·hi exact; hi a byte keeps it < 2^22. a1
    # arrives as (left, 0) and the a0 written as (rem, 0): a1 = n, and the CPU range-checks the count it writes.
    t.always("ptr", start * (w - c.q - 16384 * c.hi))
    t.receive(BUS_READ_BUF, [ts, 4 * c.q, c.hi, left, 0, rem, 0], mult=start)
    t.send(BUS_RANGE16, [c.q], mult=start)
    t.send(BUS_BYTES, [BYTE_RANGE, c.hi, 0, 0], mult=start)


def _lookup_table():
    """The table's sends (the text span only enters a constraint, never a lookup)."""
    from zkvm.stark.dsl.air import Table

    t = Table(NAME)
    constrain(t, 0, 0)
    return t


# ---------------------------------------------------------------------------------------------- trace

@dataclass
class Calls:
    """The READ_BUF ecalls of a record and the words each writes (rows of the table, in order)."""

    ts: np.ndarray     # 4·clk of the ecall row
    dst: np.ndarray    # a0 (destination pointer)
    n: np.ndarray      # a1 (words)
    total: np.ndarray  # bytes copied (the a0 written)
    words: np.ndarray  # per table row of a call with n > 0: the word written (u32)
    cid: np.ndarray    # per table row: its call
    j: np.ndarray      # per table row: index inside its call

    @property
    def rw(self) -> np.ndarray:
        return (self.n[self.cid] > 0).astype(np.int64)

    def accesses(self) -> Accesses:
        """The table's writes, one per row that writes, in row order."""
        r = np.nonzero(self.rw)[0]
        key = (SPACE_MEM << 32) | ((self.dst[self.cid][r] >> 2) + self.j[r])
        return Accesses(key=key, ts=self.ts[self.cid][r], is_write=np.ones(len(r), bool), value=self.words[r])


def calls(record) -> Calls:
    """Every READ_BUF ecall of a recorded run: a0/a1 before (rs1_val/rs2_val), a0 after (rd_val) and the input
    position before the call (a1_val); the words come from the consumed input, zero filled."""
    a7 = np.asarray(record.a7_val, dtype=np.int64)
    insn = np.asarray(record.insn, dtype=np.int64)
    t = np.nonzero((a7 == abi.ECALL_READ_BUF) & (insn == 0x73))[0]
    col = lambda name: np.asarray(record.column(name), dtype=np.int64)[t]  # noqa: E731
    dst, n, total, pos = col("rs1_val"), col("rs2_val"), col("rd_val"), col("a1_val")
    data = np.frombuffer(bytes(record.input_consumed), dtype=np.uint8).astype(np.int64)
    cid = np.repeat(np.arange(len(t)), n)  # one entry per word written, vectorised over calls
    j = np.arange(len(cid)) - (np.cumsum(n) - n)[cid]
    at = 4 * j[:, None] + np.arange(4)[None, :]  # byte offsets inside the call
    src = pos[cid][:, None] + at
    ok = (at < total[cid][:, None]) & (src < len(data))
    byte = np.where(ok, data[np.where(ok, src, 0)] if len(data) else 0, 0)
    words = np.sum(byte << (8 * np.arange(4))[None, :], axis=1)
    return make_calls(4 * (t + int(getattr(record, "clk0", 1))), dst, n, total, words)


def make_calls(ts, dst, n, total, words) -> Calls:
    """Calls (timestamp 4·clk, a0, a1, a0 after) and the words of those with n > 0, in order -> table rows."""
    ts, dst, n, total = (np.asarray(x, dtype=np.int64) for x in (ts, dst, n, total))
    rows = np.maximum(n, 1)
    cid = np.repeat(np.arange(len(ts)), rows)
    first = np.cumsum(rows) - rows
    j = np.arange(len(cid)) - first[cid]
    full = np.zeros(len(cid), np.int64)
    writes = np.nonzero(n[cid] > 0)[0]
    full[writes] = np.asarray(words, dtype=np.int64)
    return Calls(ts, dst, n, total, full, cid, j)


def fill(cl: Calls, prev_value: np.ndarray, prev_ts: np.ndarray, sends: LookupSends, text: tuple[int, int],
         strict: bool = True) -> np.ndarray:
    """The table's trace. `prev_value`/`prev_ts`: the memory replay's answers for `cl.accesses()` (same order)."""
    nrows, cid, j = len(cl.cid), cl.cid, cl.j
    rw = cl.rw
    r = np.nonzero(rw)[0]
    n = cl.n[cid]
    total = cl.total[cid]
    count = np.where(rw == 1, np.clip(total - 4 * j, 0, 4), 0)
    word = cl.words
    if strict:
        over = total > 4 * n
        pad = np.where(count < 4, word >> (8 * np.minimum(count, 3)), 0)  # the bytes above the count
        if over.any() or (pad != 0).any():
            raise ReadBufError("a READ_BUF call's words do not have READ_WORD's shape (count / zero padding)")
    start = (j == 0).astype(np.int64)
    last = (j == np.maximum(n, 1) - 1).astype(np.int64)
    rem = rw * np.maximum(np.minimum(total, 4 * n) - 4 * j, 0)  # the counts from this row to the call's end
    ts = cl.ts[cid]
    w = (cl.dst[cid] >> 2) + j
    pv = np.zeros(nrows, np.int64)
    pt = np.zeros(nrows, np.int64)
    pv[r], pt[r] = prev_value, prev_ts
    dd = np.where(rw == 1, ts - pt - 1, 0)
    text_lo, text_hi = text
    above = (w >= text_hi).astype(np.int64)
    sr = np.where(rw == 1, np.where(above == 1, w - text_hi, text_lo - 1 - w), 0)  # < 0 only in forged traces
    e = last * (MEM_WORDS - 1 - w)
    dst = cl.dst[cid]
    v = ReadBufCols.values()
    v.is_real, v.start, v.last, v.rw, v.ts, v.w = np.ones(nrows, np.int64), start, last, rw, ts, w
    v.left, v.rem = np.where(rw == 1, n - j, 0), rem
    v.cnt = [(count == k + 1).astype(np.int64) for k in range(4)]
    v.b = [(word >> (8 * k)) & 0xFF for k in range(4)]
    v.p_lo, v.p_hi, v.d_lo, v.d_hi, v.above = pv & 0xFFFF, pv >> 16, dd & 0xFFFF, dd >> 16, above * rw
    v.sr_lo, v.sr_hi, v.q, v.hi = sr & 0xFFFF, sr >> 16, start * ((dst & 0xFFFF) >> 2), start * (dst >> 16)
    v.e_lo, v.e_hi = e & 0xFFFF, e >> 16
    report_lookups(fixed_lookups(_lookup_table), v.ordered(), nrows, sends)
    return v.assemble(nrows, padded_height(nrows))
