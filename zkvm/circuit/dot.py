"""Dot-product table: proves the ECALL_DOT_I8 calls (contract: zkvm/abi.py, "int8 dot product").

One call = a run of consecutive rows: row j reads the aligned word j of each operand (4 multiply-accumulates a
row). Both operands share their offset mod 4 (the ABI), so byte k of the a-word pairs with byte k of the b-word;
masks u0..u3 say which bytes of the row belong to [p, p + n). The CPU row of the ecall stays O(1): it sends
(4·clk, a0, a1, result) on bus "dot" and writes the result to a0; the call's first row receives that tuple.

Memory: every word is read on the same bus "mem" as the CPU's loads (memory.py), a-words at ts = 4·clk and
b-words at ts = 4·clk + 1 (distinct, so a = b still works); the first row also reads register a2 (length and
zero point) at 4·clk. On an ecall row the CPU's four slots all touch registers a7/a0/a1/a0, so no memory cell
and no register other than a2 is accessed at these timestamps; later/earlier accesses are at other cycles.

Columns (all rows): is_real, start, last (first/last row of a call), rw (the row reads: n > 0), ts, wa, wb
(word indices), rem (bytes still to consume, this row included), za (zero point of a), res (the call's result,
constant over the call), acc (running sum), s (this row's sum), u0..u3 (byte masks), ba*/bb* (bytes of the
words read), xa*/xb* (those bytes xor 0x80 = signed value + 128), da/db (timestamp distances of the reads).
First row only: o0..o3 (offset one-hot), qa/qb (low limb of the pointer / 4), pa_hi/pb_hi, dn (timestamp
distance of the a2 read), r_lo/r_hi/neg (the result as a u32 and its sign). Last row only: ea/eb (distance
of the last word to the end of memory).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkvm import abi
from zkvm.circuit.calls import constrain_calls
from zkvm.circuit.columns import Col, Columns
from zkvm.circuit.lookups import LookupSends, fixed_lookups, padded_height, report_lookups
from zkvm.circuit.memory import BUS_MEM, SPACE_MEM, SPACE_REG, Accesses
from zkvm.circuit.opcodes import BUS_BYTES, BUS_RANGE16, BYTE_RANGE, BYTE_XOR
from zkvm.errors import ZkvmError

NAME = "dot"
BUS_DOT = "dot"
REG_A2 = 12
#: Word indices are below this (guest memory is [0, 2^24) bytes).
MEM_WORDS = abi.MEM_END // 4



class DotCols(Columns):
    is_real, start, last, rw = Col(), Col(), Col(), Col()
    ts, wa, wb, rem, za, res, acc, s = Col(), Col(), Col(), Col(), Col(), Col(), Col(), Col()
    u = Col(4)            # byte k of the row's words is used
    ba, bb = Col(4), Col(4)  # the bytes read
    xa, xb = Col(4), Col(4)  # the bytes read XOR 0x80
    da_lo, da_hi, db_lo, db_hi = Col(), Col(), Col(), Col()
    o = Col(4)            # one-hot byte offset of the pointers (start rows)
    qa, qb, pa_hi, pb_hi = Col(), Col(), Col(), Col()
    dn_lo, dn_hi, r_lo, r_hi, neg = Col(), Col(), Col(), Col(), Col()
    ea_lo, ea_hi, eb_lo, eb_hi = Col(), Col(), Col(), Col()


COLUMNS = DotCols.NAMES


class DotError(ZkvmError):
    """The recorded dot-product calls cannot be turned into a valid table (strict fills only)."""


def table():
    from zkvm.stark.dsl.air import Table

    t = Table(NAME)
    c = DotCols.exprs(t)
    is_real, start, last, rw = c.is_real, c.start, c.last, c.rw
    ts, wa, wb, rem, za, res, acc, s = c.ts, c.wa, c.wb, c.rem, c.za, c.res, c.acc, c.s
    u, o, ba, bb, xa, xb = c.u, c.o, c.ba, c.bb, c.xa, c.xb
    off = o[1] + 2 * o[2] + 3 * o[3]
    used = u[0] + u[1] + u[2] + u[3]

    bits = [("is_real", is_real), ("start", start), ("last", last), ("rw", rw), ("neg", c.neg)]
    bits += [(f"u{k}", u[k]) for k in range(4)] + [(f"o{k}", o[k]) for k in range(4)]
    for name, bit in bits:
        t.always(f"{name}_bool", bit * (1 - bit))
    for name, flag in (("start", start), ("last", last), ("rw", rw)):
        t.always(f"{name}_real", flag * (1 - is_real))

    # ---- call structure: contiguous rows per call, start row first, last row last (soundness: calls.py)
    inside = constrain_calls(t, is_real, start, last)  # 1 on a real row that is not its call's last
    # ---- per-call constants and word pointers advance by one word a row
    t.transition("ts_const", inside * (ts.next - ts))
    t.transition("za_const", inside * (za.next - za))
    t.transition("res_const", inside * (res.next - res))
    t.transition("wa_step", inside * (wa.next - wa - 1))
    t.transition("wb_step", inside * (wb.next - wb - 1))

    # ---- length. Soundness: rem starts at n (read from a2 below), loses exactly the bytes a row uses, and the
    # last row uses all that is left; the masks are one contiguous run [off, off + n) over the call: nothing
    # before the offset on the first row (mask_offset), every byte from the offset on on non-last rows
    # (mask_full), and no gap on the last row (mask_contiguous). So the call consumes exactly bytes p..p+n-1.
    t.always("offset_onehot", o[0] + o[1] + o[2] + o[3] - start)
    t.transition("rem_step", inside * (rem.next - rem + used))
    t.always("rem_last", last * (rem - used))
    for k in range(4):
        later = sum(o[k + 1:], 0)  # 1 on the first row when the offset is past byte k
        t.always(f"mask_real{k}", u[k] * (1 - rw))
        if k < 3:
            t.always(f"mask_offset{k}", u[k] * later)
        t.always(f"mask_full{k}", (inside - later * (1 - last)) * (1 - u[k]))
        if k < 3:  # on a last row no used byte follows an unused one, except the first byte at the offset
            t.always(f"mask_contiguous{k}", last * u[k + 1] * (1 - u[k] - o[k + 1]))

    # ---- arithmetic. Soundness: xa/xb come from the byte table's XOR rows with 0x80, so each is the byte read
    # plus 128 in two's complement: (xa - 128) is exactly C's (int8_t) sign extension. s is the exact integer
    # row sum (|s| <= 4·255·128), acc the exact running sum (< 2^30 in absolute value for n < 2^15, far from p).
    t.always("row_sum", s - sum(u[k] * (xa[k] - 128 - za) * (xb[k] - 128) for k in range(4)))
    t.first("acc_start", acc - s)
    t.transition("acc_step", acc.next - (is_real.next - start.next) * acc - s.next)
    t.always("result", last * (res - acc))
    for k in range(4):
        t.send(BUS_BYTES, [BYTE_XOR, ba[k], 0x80, xa[k]], mult=is_real)
        t.send(BUS_BYTES, [BYTE_XOR, bb[k], 0x80, xb[k]], mult=is_real)

    # ---- operands through the memory argument. Soundness: each read receives the cell's previous (value, ts)
    # and sends it back unchanged at ts (a) / ts + 1 (b) after a range-checked ts_prev < ts, exactly like a CPU
    # load: a forged byte leaves the previous writer's tuple unmatched.
    wa_lo = ba[0] + 256 * ba[1]
    wa_hi = ba[2] + 256 * ba[3]
    wb_lo = bb[0] + 256 * bb[1]
    wb_hi = bb[2] + 256 * bb[3]
    da = c.da_lo + 65536 * c.da_hi
    db = c.db_lo + 65536 * c.db_hi
    t.receive(BUS_MEM, [SPACE_MEM, wa, wa_lo, wa_hi, ts - 1 - da], mult=rw)
    t.send(BUS_MEM, [SPACE_MEM, wa, wa_lo, wa_hi, ts], mult=rw)
    t.receive(BUS_MEM, [SPACE_MEM, wb, wb_lo, wb_hi, ts - db], mult=rw)
    t.send(BUS_MEM, [SPACE_MEM, wb, wb_lo, wb_hi, ts + 1], mult=rw)
    t.send(BUS_RANGE16, [c.da_lo], mult=rw)
    t.send(BUS_RANGE16, [c.db_lo], mult=rw)
    t.send(BUS_BYTES, [BYTE_RANGE, c.da_hi, c.db_hi, 0], mult=rw)
    # Soundness: the words are < 2^22 (guest memory): the first by the pointer decomposition below, the last by
    # 2^22 - 1 - w >= 0 (words in between lie between). Below MEM_START no memory cell exists at all.
    t.always("end_a", last * (MEM_WORDS - 1 - wa - c.ea_lo - 65536 * c.ea_hi))
    t.always("end_b", last * (MEM_WORDS - 1 - wb - c.eb_lo - 65536 * c.eb_hi))
    t.send(BUS_RANGE16, [c.ea_lo], mult=last * rw)
    t.send(BUS_RANGE16, [c.eb_lo], mult=last * rw)
    t.send(BUS_BYTES, [BYTE_RANGE, c.ea_hi, c.eb_hi, 0], mult=last * rw)

    # ---- the call (first row). Soundness: the tuple carries the CPU's a0/a1 limbs as 4·q + off and hi;
    # q < 2^14 (range16 of q, with 4q + off = lo < 2^16) and hi < 2^8 make the word index q + 2^14·hi exact
    # and < 2^22. The result leaves as 16-bit limbs whose signed value r_lo + 2^16·(r_hi - 2^16·neg) lies in
    # [-2^30, 2^30) (range16 of 2·h + 2^15) and equals res: as |res| < 2^30 too, this is integer equality.
    pa_lo, pb_lo = 4 * c.qa + off, 4 * c.qb + off
    h = c.r_hi - 65536 * c.neg
    t.always("ptr_a", start * (wa - c.qa - 16384 * c.pa_hi))
    t.always("ptr_b", start * (wb - c.qb - 16384 * c.pb_hi))
    t.always("result_limbs", start * (c.r_lo + 65536 * h - res))
    t.receive(BUS_DOT, [ts, pa_lo, c.pa_hi, pb_lo, c.pb_hi, c.r_lo, c.r_hi], mult=start)
    t.send(BUS_RANGE16, [c.qa], mult=start)
    t.send(BUS_RANGE16, [c.qb], mult=start)
    t.send(BUS_BYTES, [BYTE_RANGE, c.pa_hi, c.pb_hi, 0], mult=start)
    t.send(BUS_RANGE16, [c.r_lo], mult=start)
    t.send(BUS_RANGE16, [c.r_hi], mult=start)
    t.send(BUS_RANGE16, [2 * h + 32768], mult=start)
    # a2 = n | (za + 128) << 16, read from the register file at ts. Soundness: n < 2^15 (range16 of 2n) and
    # za + 128 a byte, exactly the values the interpreter accepts (it traps on the others).
    dn = c.dn_lo + 65536 * c.dn_hi
    t.receive(BUS_MEM, [SPACE_REG, REG_A2, rem, za + 128, ts - 1 - dn], mult=start)
    t.send(BUS_MEM, [SPACE_REG, REG_A2, rem, za + 128, ts], mult=start)
    t.send(BUS_RANGE16, [c.dn_lo], mult=start)
    t.send(BUS_RANGE16, [2 * rem], mult=start)
    t.send(BUS_BYTES, [BYTE_RANGE, c.dn_hi, za + 128, 0], mult=start)
    return t


# ---------------------------------------------------------------------------------------------- trace

@dataclass
class Calls:
    """The DOT_I8 ecalls of a record, and the rows/accesses the table will use for them."""

    ts: np.ndarray      # 4·clk of the ecall row
    pa: np.ndarray
    pb: np.ndarray
    a2: np.ndarray
    result: np.ndarray  # the interpreter's a0 after the call (u32)
    rows: np.ndarray    # rows of each call
    cid: np.ndarray     # per table row: its call
    j: np.ndarray       # per table row: index inside its call

    @property
    def n(self) -> np.ndarray:
        return self.a2 & 0xFFFF

    def accesses(self) -> Accesses:
        """The table's reads, in this order: a2 per call, then a-words, then b-words of rows that read."""
        reads = (self.n[self.cid] > 0)
        r = np.nonzero(reads)[0]
        wa = (self.pa[self.cid] >> 2) + self.j
        wb = (self.pb[self.cid] >> 2) + self.j
        key = np.concatenate([np.full(len(self.ts), (SPACE_REG << 32) | REG_A2, np.int64),
                              (SPACE_MEM << 32) | wa[r], (SPACE_MEM << 32) | wb[r]])
        ts = np.concatenate([self.ts, self.ts[self.cid][r], self.ts[self.cid][r] + 1])
        z = np.zeros(len(key), np.int64)
        return Accesses(key=key, ts=ts, is_write=z.astype(bool), value=z)


def calls(record) -> Calls:
    """Every DOT_I8 ecall of a recorded run (ecall rows with a7 = DOT_I8; the record holds a2 in mem_before)."""
    a7 = np.asarray(record.a7_val, dtype=np.int64)
    insn = np.asarray(record.insn, dtype=np.int64)
    t = np.nonzero((a7 == abi.ECALL_DOT_I8) & (insn == 0x73))[0]
    col = lambda name: np.asarray(record.column(name), dtype=np.int64)[t]  # noqa: E731
    return make_calls(4 * (t + int(getattr(record, "clk0", 1))), col("rs1_val"), col("rs2_val"), col("mem_before"), col("rd_val"))


def make_calls(ts, pa, pb, a2, result) -> Calls:
    """Calls (timestamp 4·clk, a0, a1, a2, a0 after) -> their table rows: one per word touched, >= 1."""
    ts, pa, pb, a2, result = (np.asarray(x, dtype=np.int64) for x in (ts, pa, pb, a2, result))
    n = a2 & 0xFFFF
    words = np.where(n > 0, ((pa & 3) + n + 3) >> 2, 1)
    cid = np.repeat(np.arange(len(ts)), words)
    first = np.cumsum(words) - words
    j = np.arange(len(cid)) - first[cid]
    return Calls(ts, pa, pb, a2, result, words, cid, j)


def fill(cl: Calls, value: np.ndarray, prev_ts: np.ndarray, sends: LookupSends, strict: bool = True) -> np.ndarray:
    """The table's trace. `value`/`prev_ts`: the memory replay's answers for `cl.accesses()` (same order)."""
    m, nrows = len(cl.ts), len(cl.cid)
    cid, j = cl.cid, cl.j
    n_call = cl.n
    rw = (n_call[cid] > 0).astype(np.int64)
    r = np.nonzero(rw)[0]
    nr = len(r)
    a2_seen, a2_pts = value[:m], prev_ts[:m]
    if strict and (a2_seen != cl.a2).any():
        raise DotError("the register a2 seen by the table differs from the recorded call")
    wa_val = np.zeros(nrows, np.int64)
    wb_val = np.zeros(nrows, np.int64)
    pta = np.zeros(nrows, np.int64)
    ptb = np.zeros(nrows, np.int64)
    wa_val[r], wb_val[r] = value[m:m + nr], value[m + nr:]
    pta[r], ptb[r] = prev_ts[m:m + nr], prev_ts[m + nr:]
    ts = cl.ts[cid]
    off = cl.pa[cid] & 3
    n = n_call[cid]
    za = (cl.a2[cid] >> abi.DOT_ZP_SHIFT) - 128
    start = (j == 0).astype(np.int64)
    last = (j == cl.rows[cid] - 1).astype(np.int64)
    pos = 4 * j[:, None] + np.arange(4)[None, :] - off[:, None]  # byte position inside the operand
    u = ((pos >= 0) & (pos < n[:, None])).astype(np.int64)
    ba = (wa_val[:, None] >> (8 * np.arange(4))[None, :]) & 0xFF
    bb = (wb_val[:, None] >> (8 * np.arange(4))[None, :]) & 0xFF
    xa, xb = ba ^ 0x80, bb ^ 0x80
    s = np.sum(u * (xa - 128 - za[:, None]) * (xb - 128), axis=1)
    cs = np.cumsum(s)
    first = np.cumsum(cl.rows) - cl.rows
    base = cs[first] - s[first] if m else np.zeros(0, np.int64)
    acc = cs - base[cid]
    res_call = acc[first + cl.rows - 1] if m else np.zeros(0, np.int64)
    if strict and ((res_call & 0xFFFF_FFFF) != cl.result).any():
        k = int(np.argmax((res_call & 0xFFFF_FFFF) != cl.result))
        raise DotError(f"dot call {k}: table result {int(res_call[k])} != interpreter's {int(cl.result[k])}")
    res = res_call[cid]
    rem = n - np.clip(4 * j - off, 0, None) * (j > 0)
    v = DotCols.values()
    v.is_real, v.start, v.last, v.rw, v.ts = np.ones(nrows, np.int64), start, last, rw, ts
    v.wa, v.wb, v.rem, v.za, v.res, v.acc, v.s = (cl.pa[cid] >> 2) + j, (cl.pb[cid] >> 2) + j, rem, za, res, acc, s
    v.u, v.ba, v.bb, v.xa, v.xb = u.T, ba.T, bb.T, xa.T, xb.T
    v.o = [start * (off == k) for k in range(4)]
    da = np.where(rw == 1, ts - pta - 1, 0)
    db = np.where(rw == 1, ts - ptb, 0)
    v.da_lo, v.da_hi, v.db_lo, v.db_hi = da & 0xFFFF, da >> 16, db & 0xFFFF, db >> 16
    pa, pb = cl.pa[cid], cl.pb[cid]
    v.qa, v.qb = start * ((pa & 0xFFFF) >> 2), start * ((pb & 0xFFFF) >> 2)
    v.pa_hi, v.pb_hi = start * (pa >> 16), start * (pb >> 16)
    dn = start * (ts - a2_pts[cid] - 1)
    v.dn_lo, v.dn_hi = dn & 0xFFFF, dn >> 16
    ru = res & 0xFFFF_FFFF
    v.r_lo, v.r_hi, v.neg = start * (ru & 0xFFFF), start * (ru >> 16), start * (res < 0)
    ea = last * (MEM_WORDS - 1 - v.wa)
    eb = last * (MEM_WORDS - 1 - v.wb)
    v.ea_lo, v.ea_hi, v.eb_lo, v.eb_hi = ea & 0xFFFF, ea >> 16, eb & 0xFFFF, eb >> 16
    report_lookups(fixed_lookups(table), v.ordered(), nrows, sends)
    return v.assemble(nrows, padded_height(nrows))
