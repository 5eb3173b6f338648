"""CPU table: one row per executed instruction (the final HALT included), padded to a power of two.

Each real row
* looks up its instruction in the program table (bus "program": (1, pc, decoded fields)); padding rows look
  up the all-zero padding tuple, so every decoded selector is 0 there and padding rows send nothing;
* makes four accesses on the memory bus (memory.py), at timestamps 4·clk + slot:
  slot 0 reads rs1 (value a), slot 1 reads rs2 (value r2), slot 2 is the data memory access of a load/store
  (or a1 for an ecall), slot 3 writes rd (value wv; x0 and instructions without rd write 0 to x0);
* sends one tuple on bus "alu" for ALU ops, branches (SUB / SLT / SLTU), load/store addresses and JALR
  targets (ADD), whose result c the family tables prove;
* derives next_pc; the next row's pc must equal it (and must itself be a program address: misaligned or
  out-of-program targets are unprovable, as they trap in the interpreter).

Ecalls (a7 in slot 0, a0 in slot 1 and rewritten by slot 3, a1 in slot 2): HALT sends the exit code on bus
"exit" (balanced by the verifier's public term) and must be the last real row; READ_WORD writes advice to
a0/a1 — the private input — shaped as the ABI says (count 0..4, zero padding, nothing after a short read);
COMMIT_WORD sends its 1..4 bytes as (position, byte) on bus "journal", balanced by the verifier against the
public journal; LOG is a no-op; CYCLES writes clk - 1; DOT_I8 sends (4·clk, a0, a1, result) on bus "dot" and
writes the result to a0 (the dot table, dot.py, does the reads and the arithmetic); SHA256 sends (clk, a0, a1)
on bus "ecall_sha256" and keeps a0 (its memory work is the sha256 tables', zkvm/circuit/sha256.py); READ_BUF
sends (4·clk, a0, a1, bytes) on bus "read_buf" and writes the byte count to a0 (the read_buf table writes the
words, zkvm/circuit/read_buf.py); a count below 4·a1 sets eof, like a short READ_WORD.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from zkvm import abi
from zkvm.circuit import opcodes as op
from zkvm.circuit.dot import BUS_DOT
from zkvm.circuit.lookups import LookupSends, big_empty, fixed_lookups, report_lookups, trace_rows
from zkvm.circuit.memory import BUS_MEM, SPACE_REG, TS_BITS, Accesses, Resolved, resolve
from zkvm.circuit.opcodes import BUS_ALU, BUS_BYTES, BUS_RANGE16, BYTE_AND, BYTE_RANGE
from zkvm.circuit.columns import Col, Columns, Include
from zkvm.circuit.program import FIELDS, REG_A1, Decoded
from zkvm.circuit.read_buf import BUS_READ_BUF
from zkvm.circuit.semantics import alu_result
from zkvm.circuit.sha256 import BUS_CALL as BUS_SHA256
from zkvm.errors import ZkvmError
from zkvm.field.babybear import P

BUS_PROGRAM, BUS_JOURNAL, BUS_EXIT = "program", "journal", "exit"


class EcallKinds(Columns):
    """One-hot kind of an ecall row, selected by a7 (ECALL_NUMBERS, in this order)."""

    e_halt, e_read, e_commit, e_log, e_cycles, e_dot, e_sha, e_rbuf = (Col() for _ in range(8))


ECALL_NUMBERS = (abi.ECALL_HALT, abi.ECALL_READ_WORD, abi.ECALL_COMMIT_WORD, abi.ECALL_LOG, abi.ECALL_CYCLES,
                 abi.ECALL_DOT_I8, abi.ECALL_SHA256, abi.ECALL_READ_BUF)
ECALL_KINDS = tuple(zip(EcallKinds.NAMES, ECALL_NUMBERS))


class CpuCols(Columns):
    is_real, clk, pc, next_pc = Col(), Col(), Col(), Col()
    fields = Include(Decoded)  # the row's instruction, looked up in the program table
    # register values (a: rs1, r2: rs2), the alu operand b and result c, the result and the value written
    a_lo, a_hi, r2_lo, r2_hi, b_lo, b_hi, c_lo, c_hi = (Col() for _ in range(8))
    res_lo, res_hi, wv_lo, wv_hi = Col(), Col(), Col(), Col()
    # slot 3's previous rd value, slot 2's previous (m) and new (n) value, slot 2's word index
    p_lo, p_hi, m_lo, m_hi, n_lo, n_hi, maddr = (Col() for _ in range(7))
    eq, inv, taken, bit0 = Col(), Col(), Col(), Col()
    o = Col(4)        # one-hot byte offset of a load/store address
    rx = Col()
    mb = Col(4)       # bytes of the accessed word (or of a0 for COMMIT / READ)
    rsb, rsbh, sel_byte, sign_src, sign, bx, st_above, sr_lo, sr_hi = (Col() for _ in range(9))
    ecall = Include(EcallKinds)
    cnt = Col(names=[f"cnt{k}" for k in range(1, 5)])  # one-hot byte count of COMMIT / READ
    jpos, eof = Col(), Col()
    d = Col(names=[(f"d{k}_lo", f"d{k}_hi") for k in range(4)])  # timestamp gap of each memory slot


class CpuSegCols(CpuCols):
    """A segment's CPU table: first/last row flags and the state after the row, after the CPU's columns."""

    is_start, is_end, jpos_out, eof_out = Col(), Col(), Col(), Col()


#: Bus of the machine state passed from segment to segment (segments.py).
BUS_STATE = "state"
#: The CPU's clock is limited so that timestamps 4·clk + 3 stay below 2^TS_BITS (memory.py).
MAX_LOG_HEIGHT = TS_BITS - 2
#: COMMIT_WORD appends 1..4 bytes to the journal, one call a row, and the last real row is HALT.
JOURNAL_BYTES_PER_ROW = 4


def max_journal_bytes(log_height: int) -> int:
    """The longest journal a CPU table of height 2^log_height can commit (what a verifier checks first)."""
    return JOURNAL_BYTES_PER_ROW * ((1 << log_height) - 1)


# ---------------------------------------------------------------------------------------------- trace

class TraceError(ZkvmError):
    """The execution cannot be turned into a valid trace (the circuit would not accept it)."""


def _limbs(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(v, dtype=np.int64)
    return v & 0xFFFF, v >> 16


@dataclass
class CpuTrace:
    main: np.ndarray            # uint32[height, len(CpuCols.NAMES)] (a segment's: CpuSegCols)
    program_rows: np.ndarray    # program-table row of every cycle
    alu_ops: np.ndarray         # (op, a, b) of every alu-bus send, int64[3, k]
    resolved: Resolved          # the memory replay (final states for the memory tables)
    journal: bytes
    exit_code: int
    extra: tuple = ()           # (value, prev_ts) of the `extra` accesses, in their order


#: Cycles per block of `fill`'s row-local work: its few dozen int64 temporaries (256 KiB each) stay in cache
#: and are reused, instead of ~100 arrays as long as the run in fresh memory (page faults dominated the fill).
BLOCK = 1 << 15


class _Decoded:
    """Decoded fields and record columns of the cycles lo..hi-1 (int64 arrays), and what both passes of `fill`
    derive from them."""

    def __init__(self, rec, fields: np.ndarray, row: np.ndarray, lo: int, hi: int) -> None:
        col = lambda name: rec.column(name)[lo:hi].astype(np.int64)  # noqa: E731
        fr = fields[row[lo:hi]]
        self.f = f = {name: fr[:, i].astype(np.int64) for i, name in enumerate(FIELDS)}
        self.pc = col("pc")
        clk0 = int(getattr(rec, "clk0", 1))  # a segment continues the run's clock (segments.py)
        self.clk = np.arange(clk0 + lo, clk0 + hi, dtype=np.int64)
        self.is_load = f["is_lw"] + f["is_lh"] + f["is_lhu"] + f["is_lb"] + f["is_lbu"]
        self.is_store = f["is_sw"] + f["is_sh"] + f["is_sb"]
        self.is_mem = self.is_load + self.is_store
        self.is_ecall = is_ecall = f["is_ecall"]
        a7 = col("a7_val")
        self.ek = ek = {name: (is_ecall * (a7 == num)).astype(np.int64) for name, num in ECALL_KINDS}
        self.unknown_ecall = (is_ecall.astype(bool) & ~np.any([ek[k] for k in ek], axis=0)).any()
        self.rd_val, self.mem_after, self.a1_val = col("rd_val"), col("mem_after"), col("a1_val")
        self.e_read = ek["e_read"]
        self.e_rbuf = ek["e_rbuf"]
        self.writes_a0 = self.e_read + ek["e_cycles"] + ek["e_dot"] + self.e_rbuf
        self.mem_word = col("mem_addr") >> 2
        # slot 3 writes wv = rd_val, except for ecalls that keep a0 (their record rd_val is 0): a0 kept by
        # HALT/COMMIT/LOG is what slot 1 reads (rs2 = a0), written back unchanged, so the replay models it as a
        # read-only access (is_write False) and wv comes from the value seen
        self.keep_a0 = is_ecall - self.writes_a0


# ---------------------------------------------------------------------------------------------- gadgets
#
# Each gadget below owns some of the CPU's columns: its constraints (`*_constraints(t, c, x, ...)`, on the
# columns' expressions `c` and the shared selectors `x`) and, next to them, how the fill computes those columns
# (`*_fill(r)`, on a block of rows `r`). CpuTable emits the constraints gadget by gadget; `_rows` fills them in
# the same order. The range / byte lookups are declared once (`range_byte_lookups`): the fill reports what those
# declarations evaluate to (lookups.report_lookups), so the two cannot disagree. Constraints and bus sends are
# emitted in a fixed order: it fixes the composition and the LogUp grouping, hence the proof bytes.


class _Sel:
    """Selectors and sums several gadgets use, built once from the columns."""

    def __init__(self, c: CpuCols) -> None:
        self.is_load = c.is_lw + c.is_lh + c.is_lhu + c.is_lb + c.is_lbu
        self.is_store = c.is_sw + c.is_sh + c.is_sb
        self.is_mem = self.is_load + self.is_store
        cnt = c.cnt
        self.count = cnt[0] + 2 * cnt[1] + 3 * cnt[2] + 4 * cnt[3]  # COMMIT's a1 (1..4) or READ's a1 (0..4)
        self.cnt_sum = cnt[0] + cnt[1] + cnt[2] + cnt[3]
        self.above = [self.cnt_sum, cnt[1] + cnt[2] + cnt[3], cnt[2] + cnt[3], cnt[3]]  # [count > k]
        # READ_WORD / READ_BUF came back short: eof is set after this row
        self.short = c.e_read * (1 - cnt[3]) + c.e_rbuf * (1 - c.eq)


def _boolean(t, name: str, col) -> None:
    t.always(f"{name}_bool", col * (1 - col))


class _Rows:
    """One block of rows being filled: the column values ``v`` and what the gadgets derive on the way."""

    def __init__(self, d: "_Decoded", v, rec, lo: int, n_all: int, strict: bool) -> None:
        self.d, self.f, self.v, self.rec, self.lo, self.n_all, self.strict = d, d.f, v, rec, lo, n_all, strict
        self.n = len(d.pc)


# ---- control: real rows first, starting at the entry, ending with exactly one HALT

def control_constraints(t, c: CpuCols, x: _Sel, entry_pc, seg) -> None:
    is_real, clk, pc = c.is_real, c.clk, c.pc
    _boolean(t, "is_real", is_real)
    t.first("starts_real", is_real - 1)
    if seg is None:
        t.first("clk_start", clk - 1)
        t.first("pc_start", pc - entry_pc)
        t.first("jpos_start", c.jpos)
    t.transition("real_prefix", is_real.next * (1 - is_real))
    t.transition("clk_step", clk.next - clk - 1)
    t.transition("pc_flow", is_real.next * (pc.next - c.next_pc))
    t.transition("halt_is_last", c.e_halt * is_real.next)
    t.transition("ends_with_halt", is_real * (1 - is_real.next) * (1 - c.e_halt))
    if seg is None:
        t.last("last_row_halts", is_real * (1 - c.e_halt))
    t.transition("jpos_step", c.jpos.next - c.jpos - c.e_commit * x.count)


def control_fill(r: _Rows) -> None:
    """Real rows; padding rows are written by `fill` (clk keeps counting, next_pc = 4, ...)."""
    r.v.is_real, r.v.clk, r.v.pc = np.ones(r.n, np.int64), r.d.clk, r.d.pc


# ---- decode: the row's instruction is in the program (padding rows: the all-zero padding tuple)

def decode_constraints(t, c: CpuCols) -> None:
    t.send(BUS_PROGRAM, [c.is_real, c.pc, *c.fields])


def decode_fill(r: _Rows) -> None:
    r.v.fields = [r.f[name] for name in FIELDS]


# ---- registers and memory slots: four accesses at timestamps 4·clk + slot, each receiving the previous
# (value, ts) and sending the new one; ts_prev = ts - 1 - d, d range-checked (16-bit limb + byte)

def memory_slots(c: CpuCols, x: _Sel) -> list:
    """(space, address, old value limbs, new value limbs, multiplicity) of slots 0..3."""
    return [
        (SPACE_REG, c.rs1, (c.a_lo, c.a_hi), (c.a_lo, c.a_hi), c.is_real),
        (SPACE_REG, c.rs2, (c.r2_lo, c.r2_hi), (c.r2_lo, c.r2_hi), c.is_real),
        (x.is_mem, c.maddr, (c.m_lo, c.m_hi), (c.n_lo, c.n_hi), x.is_mem + c.is_ecall),
        (SPACE_REG, c.rd, (c.p_lo, c.p_hi), (c.wv_lo, c.wv_hi), c.is_real),
    ]


def memory_bus(t, c: CpuCols, x: _Sel) -> None:
    ts = [4 * c.clk + k for k in range(4)]
    d = [lo + 65536 * hi for lo, hi in c.d]
    for k, (space, addr, old, new, mult) in enumerate(memory_slots(c, x)):
        t.receive(BUS_MEM, [space, addr, old[0], old[1], ts[k] - 1 - d[k]], mult=mult)
        t.send(BUS_MEM, [space, addr, new[0], new[1], ts[k]], mult=mult)


def memory_fill(r: _Rows, seen, prev_v, prev_t, active2) -> None:
    """Slot values from the memory replay: a (rs1), r2 (rs2), n / m (slot 2 after / before), wv / p (rd)."""
    v, clk = r.v, r.d.clk
    active = [True, True, active2, True]
    gaps = []
    for k in range(4):
        dd = np.where(active[k], 4 * clk + k - prev_t[k] - 1, 0)
        gaps.append((dd & 0xFFFF, dd >> 16))
    v.d = gaps
    r.a_val, r.r2_val, r.n_val, r.wv = seen
    r.m_val, p_val = prev_v[2], prev_v[3]
    v.a_lo, v.a_hi = _limbs(r.a_val)
    v.r2_lo, v.r2_hi = _limbs(r.r2_val)
    v.m_lo, v.m_hi = _limbs(r.m_val)
    v.n_lo, v.n_hi = _limbs(r.n_val)
    v.p_lo, v.p_hi = _limbs(p_val)
    v.wv_lo, v.wv_hi = _limbs(r.wv)


# ---- ALU bus: b = imm or rs2; c proven by the family tables

def alu_constraints(t, c: CpuCols, x: _Sel) -> None:
    t.always("b_lo", c.b_lo - c.r2_lo - c.use_imm * (c.imm_lo - c.r2_lo))
    t.always("b_hi", c.b_hi - c.r2_hi - c.use_imm * (c.imm_hi - c.r2_hi))
    alu_mult = c.is_aluop + c.br_eq + c.br_lt + c.is_jalr + x.is_mem
    t.send(BUS_ALU, [c.alu_op, c.a_lo, c.a_hi, c.b_lo, c.b_hi, c.c_lo, c.c_hi], mult=alu_mult)


def alu_fill(r: _Rows) -> None:
    f, v, d = r.f, r.v, r.d
    imm = f["imm_lo"] | (f["imm_hi"] << 16)
    b_val = np.where(f["use_imm"] == 1, imm, r.r2_val)
    v.b_lo, v.b_hi = _limbs(b_val)
    alu_mult = f["is_aluop"] + f["br_eq"] + f["br_lt"] + f["is_jalr"] + d.is_mem
    r.c_val = np.where(alu_mult > 0, alu_result(f["alu_op"], r.a_val, b_val), 0)
    c_lo, c_hi = _limbs(r.c_val)
    c_lo = np.where(d.e_rbuf == 1, 4 * r.m_val - d.rd_val, c_lo)  # READ_BUF: 0 iff the call was full (c_hi = 0)
    v.c_lo, v.c_hi = c_lo, c_hi
    alu_rows = np.nonzero(alu_mult)[0]
    r.alu_ops = np.stack([f["alu_op"][alu_rows], r.a_val[alu_rows], b_val[alu_rows]])


# ---- branches: eq = [c == 0] for SUB (limbs are range-checked by the ALU table, so c_lo + c_hi is 0 exactly
# when both are); lt = c_lo for SLT/SLTU. taken = cond xor br_neg.

def branch_constraints(t, c: CpuCols) -> None:
    s = c.c_lo + c.c_hi
    t.always("eq_zero", c.eq * s)
    t.always("eq_inv", 1 - c.eq - s * c.inv)
    cond = c.br_eq * c.eq + c.br_lt * c.c_lo
    t.always("taken", c.taken - (cond + c.br_neg - 2 * cond * c.br_neg))


def branch_fill(r: _Rows) -> None:
    f, v = r.f, r.v
    s = v.c_lo + v.c_hi
    v.eq = (s == 0).astype(np.int64)
    v.inv = _field_inverse(s)
    cond = f["br_eq"] * v.eq + f["br_lt"] * v.c_lo
    v.taken = cond + f["br_neg"] - 2 * cond * f["br_neg"]


# ---- next pc. JALR: target = (rs1 + imm) & ~1; bit0 needs no range check: a wrong bit0 makes the target odd,
# and no program row has an odd pc. c_hi < 2^8 (byte check) keeps it < 2^24 < p.

def next_pc_constraints(t, c: CpuCols) -> None:
    _boolean(t, "bit0", c.bit0)
    seq = c.pc + 4
    t.always("next_pc", c.next_pc - seq - c.is_jal * (c.target - seq)
             - c.is_jalr * (c.c_lo + 65536 * c.c_hi - c.bit0 - seq) - c.taken * (c.target - seq))


def next_pc_fill(r: _Rows) -> None:
    f, v, c_val = r.f, r.v, r.c_val
    v.bit0 = f["is_jalr"] * (c_val & 1)
    seq = r.d.pc + 4
    next_pc = np.where(f["is_jal"] == 1, f["target"], seq)
    next_pc = np.where(f["is_jalr"] == 1, c_val - v.bit0, next_pc)
    next_pc = np.where(v.taken == 1, f["target"], next_pc)
    v.next_pc = next_pc
    rec_next = r.rec.column("next_pc")[r.lo:r.lo + r.n].astype(np.int64)
    mismatch = (next_pc != rec_next)
    if r.lo + r.n == r.n_all:
        mismatch[-1] = False  # the HALT row's next_pc is not followed
    if r.strict and mismatch.any():
        t = int(np.argmax(mismatch))
        raise TraceError(f"cycle {r.lo + t}: circuit next_pc 0x{int(next_pc[t]):x} != executed "
                         f"0x{int(rec_next[t]):x}")


# ---- result written to rd; x0 (and instructions without rd) write 0

def result_constraints(t, c: CpuCols) -> None:
    x0 = c.rd_is_x0
    t.always("wv_lo", c.wv_lo - (1 - x0) * c.res_lo)
    t.always("wv_hi", c.wv_hi - (1 - x0) * c.res_hi)
    t.always("res_alu_lo", c.is_aluop * (c.res_lo - c.c_lo))
    t.always("res_alu_hi", c.is_aluop * (c.res_hi - c.c_hi))
    t.always("res_const_lo", c.is_const * (c.res_lo - c.k_lo))
    t.always("res_const_hi", c.is_const * (c.res_hi - c.k_hi))


def result_fill(r: _Rows) -> None:
    """The result before the x0 mask (loads: from `loadstore_fill`; ecalls: a0 kept or written)."""
    f, d, v = r.f, r.d, r.v
    res = np.zeros(r.n, np.int64)
    res = np.where(f["is_aluop"] == 1, r.c_val, res)
    res = np.where(f["is_const"] == 1, f["k_lo"] | (f["k_hi"] << 16), res)
    res = np.where(f["is_lw"] == 1, r.m_val, res)
    res = np.where(f["is_lhu"] == 1, r.half, res)
    res = np.where(f["is_lh"] == 1, r.half | (r.sign * 0xFFFF0000), res)
    res = np.where(f["is_lbu"] == 1, r.sel_byte, res)
    res = np.where(f["is_lb"] == 1, r.sel_byte | (r.sign * 0xFFFFFF00), res)
    res = np.where(d.keep_a0 == 1, r.r2_val, res)
    res = np.where(d.writes_a0 == 1, d.rd_val, res)
    v.res_lo, v.res_hi = _limbs(res)
    expect_wv = np.where(f["rd_is_x0"] == 1, 0, res)
    if r.strict and (expect_wv != r.wv).any():
        t = int(np.argmax(expect_wv != r.wv))
        raise TraceError(f"cycle {r.lo + t} (pc 0x{int(d.pc[t]):x}, insn 0x{int(r.rec.insn[r.lo + t]):08x}): "
                         f"circuit result 0x{int(expect_wv[t]):x} != interpreter's 0x{int(r.wv[t]):x}")


# ---- loads/stores: address c = rs1 + imm (alu ADD) = 4·rx + offset, offset one-hot o0..o3, rx < 2^16
# (range16) and c_hi < 2^8: word index maddr = rx + 2^14·c_hi < 2^22. Natural alignment via o.

def loadstore_constraints(t, c: CpuCols, x: _Sel) -> None:
    o, mb = c.o, c.mb
    lw, lh, lhu, lb, lbu = c.is_lw, c.is_lh, c.is_lhu, c.is_lb, c.is_lbu
    sw, sh, sb = c.is_sw, c.is_sh, c.is_sb
    m_lo, m_hi, n_lo, n_hi, r2_lo, r2_hi, res_lo, res_hi = (c.m_lo, c.m_hi, c.n_lo, c.n_hi, c.r2_lo, c.r2_hi,
                                                            c.res_lo, c.res_hi)
    for k in range(4):
        _boolean(t, f"o{k}", o[k])
    t.always("o_onehot", o[0] + o[1] + o[2] + o[3] - 1)
    t.always("addr_split", x.is_mem * (c.c_lo - 4 * c.rx - o[1] - 2 * o[2] - 3 * o[3]))
    t.always("align_word", (lw + sw) * (1 - o[0]))
    t.always("align_half", (lh + lhu + sh) * (o[1] + o[3]))
    t.always("maddr", c.maddr - x.is_mem * (c.rx + 16384 * c.c_hi) - c.is_ecall * REG_A1)
    # bytes of the accessed word (memory ops), of a0 (COMMIT_WORD) or of the a0 written (READ_WORD)
    t.always("bytes_lo", mb[0] + 256 * mb[1] - x.is_mem * m_lo - c.e_commit * r2_lo - c.e_read * res_lo)
    t.always("bytes_hi", mb[2] + 256 * mb[3] - x.is_mem * m_hi - c.e_commit * r2_hi - c.e_read * res_hi)
    t.always("sel_byte", c.sel_byte - (o[0] * mb[0] + o[1] * mb[1] + o[2] * mb[2] + o[3] * mb[3]))
    half = o[0] * m_lo + o[2] * m_hi
    # sign bit of the loaded byte / half: (AND, src, 0x80, 0x80·sign) in the byte table
    t.always("sign_src_b", lb * (c.sign_src - c.sel_byte))
    t.always("sign_src_h", lh * (c.sign_src - o[0] * mb[1] - o[2] * mb[3]))
    sign = c.sign
    t.always("res_lw_lo", lw * (res_lo - m_lo))
    t.always("res_lw_hi", lw * (res_hi - m_hi))
    t.always("res_lhu_lo", lhu * (res_lo - half))
    t.always("res_lhu_hi", lhu * res_hi)
    t.always("res_lh_lo", lh * (res_lo - half))
    t.always("res_lh_hi", lh * (res_hi - 0xFFFF * sign))
    t.always("res_lbu_lo", lbu * (res_lo - c.sel_byte))
    t.always("res_lbu_hi", lbu * res_hi)
    t.always("res_lb_lo", lb * (res_lo - c.sel_byte - 0xFF00 * sign))
    t.always("res_lb_hi", lb * (res_hi - 0xFFFF * sign))
    # slot-2 new value: loads and non-READ ecalls leave the cell unchanged; stores merge rs2 in
    keep = x.is_load + c.is_ecall - c.e_read
    t.always("keep_lo", keep * (n_lo - m_lo))
    t.always("keep_hi", keep * (n_hi - m_hi))
    t.always("sw_lo", sw * (n_lo - r2_lo))
    t.always("sw_hi", sw * (n_hi - r2_hi))
    t.always("sh_lo", sh * (n_lo - o[0] * r2_lo - o[2] * m_lo))
    t.always("sh_hi", sh * (n_hi - o[0] * m_hi - o[2] * r2_lo))
    rsb = c.rsb
    t.always("sb_split", sb * (r2_lo - rsb - 256 * c.rsbh))
    t.always("sb_lo", sb * (n_lo - m_lo - o[0] * (rsb - mb[0]) - 256 * o[1] * (rsb - mb[1])))
    t.always("sb_hi", sb * (n_hi - m_hi - o[2] * (rsb - mb[2]) - 256 * o[3] * (rsb - mb[3])))


def loadstore_fill(r: _Rows) -> None:
    f, d, v = r.f, r.d, r.v
    is_mem, m_val, r2_val = d.is_mem, r.m_val, r.r2_val
    addr = r.c_val
    off = addr & 3
    v.o = [np.where(is_mem == 1, (off == k).astype(np.int64), int(k == 0)) for k in range(4)]
    if r.strict and ((is_mem == 1) & ((addr >> 2) != d.mem_word)).any():
        raise TraceError("a load/store address differs between the circuit and the interpreter")
    dec_word = np.where(is_mem == 1, m_val, np.where(d.ek["e_commit"] == 1, r2_val,
                                                     np.where(d.e_read == 1, d.rd_val, 0)))
    r.mbs = mbs = [(dec_word >> (8 * k)) & 0xFF for k in range(4)]
    v.mb = mbs
    r.sel_byte = v.sel_byte = np.choose(np.where(is_mem == 1, off, 0), mbs)
    r.half = np.where(off >= 2, m_val >> 16, m_val & 0xFFFF)
    hb = np.where(off >= 2, mbs[3], mbs[1])
    v.sign_src = sign_src = np.where(f["is_lb"] == 1, r.sel_byte, np.where(f["is_lh"] == 1, hb, 0))
    r.sign = v.sign = (sign_src >> 7) & 1
    is_sb = f["is_sb"]
    v.rsb = np.where(is_sb == 1, r2_val & 0xFF, 0)
    v.rsbh = np.where(is_sb == 1, (r2_val >> 8) & 0xFF, 0)
    v.maddr = np.where(is_mem == 1, d.mem_word, np.where(d.is_ecall == 1, REG_A1, 0))


# ---- stores never write the program's words (the interpreter traps on self-modifying code): the word index
# is below text_lo or at/above text_hi, shown by a range-checked distance (all values < 2^22)

def store_guard_constraints(t, c: CpuCols, x: _Sel, text_lo, text_hi) -> None:
    _boolean(t, "st_above", c.st_above)
    st_dist = c.st_above * (c.maddr - text_hi) + (1 - c.st_above) * (text_lo - 1 - c.maddr)
    t.always("store_outside_text", x.is_store * (st_dist - c.sr_lo - 65536 * c.sr_hi))


def store_guard_fill(r: _Rows, text: tuple[int, int]) -> None:
    d, v = r.d, r.v
    text_lo, text_hi = text
    st_above = d.is_store * (d.mem_word >= text_hi)
    sr = np.where(st_above == 1, d.mem_word - text_hi, text_lo - 1 - d.mem_word) * d.is_store
    v.st_above = st_above
    sr %= P  # honest runs: sr >= 0; non-strict (test) traces may hold a "negative" distance
    v.sr_lo, v.sr_hi = sr & 0xFFFF, sr >> 16


# ---- ecalls: the kind is selected by a7's value; what each kind does to a0, a1 and the journal

def ecall_constraints(t, c: CpuCols, x: _Sel, seg) -> None:
    e = dict(zip(EcallKinds.NAMES, c.ecall))
    r2_lo, r2_hi, res_lo, res_hi, n_lo, n_hi = c.r2_lo, c.r2_hi, c.res_lo, c.res_hi, c.n_lo, c.n_hi
    for name, col in e.items():
        _boolean(t, name, col)
    t.always("ecall_onehot", sum(e.values()) - c.is_ecall)
    t.always("ecall_number", c.is_ecall * c.a_lo - sum(num * col for num, col in zip(ECALL_NUMBERS, c.ecall)))
    t.always("ecall_number_hi", c.is_ecall * c.a_hi)
    keep_a0 = c.e_halt + c.e_commit + c.e_log + c.e_sha
    t.always("res_keep_a0_lo", keep_a0 * (res_lo - r2_lo))
    t.always("res_keep_a0_hi", keep_a0 * (res_hi - r2_hi))
    t.always("read_a1_hi", c.e_read * n_hi)
    # a segment's clock skips one tick per boundary before it (segments.py): cycle = clk - 1 - index
    skipped = seg["seg"] if seg else 0
    t.always("cycles", c.e_cycles * (res_lo + 65536 * res_hi - c.clk + 1 + skipped))
    t.always("rx_advice", (c.e_read + c.e_cycles + c.e_rbuf) * (c.rx - res_lo))
    cnt, count, cnt_sum, above = c.cnt, x.count, x.cnt_sum, x.above
    for k in range(4):
        _boolean(t, f"cnt{k + 1}", cnt[k])
    # cnt1..cnt4: one-hot count of COMMIT (exactly one set) or READ (at most one: count 0 sets none);
    # all zero on other rows.
    t.always("count_at_most_one", cnt_sum * (1 - cnt_sum))
    t.always("commit_onehot", cnt_sum - c.e_commit - c.e_read * cnt_sum)
    # READ returns what some private input could give (ABI: a1 = count in 0..4, a0 = that many bytes, zero
    # padded; once a READ is short every later READ returns 0 bytes). Soundness: without these a cheating
    # prover could hand the guest a count up to 255 (the runtime's word loop copies `count` bytes into the
    # caller's buffer: an overflow no input can cause), junk above the count, or more input after the end.
    # a0's bytes are mb0..mb3 on READ rows (bytes_lo/hi, byte-checked); eof = a short READ happened before.
    t.always("read_count", c.e_read * (n_lo - count))
    for k in range(4):
        t.always(f"read_zero_pad{k}", c.e_read * (1 - above[k]) * c.mb[k])
    eof = c.eof
    # READ_BUF: c = 4·a1 - a0 written (c is free on ecall rows: no ALU send), so eq = [the call was full].
    # Soundness: the read_buf table proves 0 <= a0 <= 4·a1 < 2^16, so c = 0 in the field only when full.
    t.always("rbuf_short_lo", c.e_rbuf * (c.c_lo - 4 * c.m_lo + res_lo))
    t.always("rbuf_short_hi", c.e_rbuf * c.c_hi)
    if seg is None:  # a segment receives its eof with the state
        t.first("eof_start", eof)
    t.transition("eof_step", eof.next - eof - x.short * (1 - eof))
    t.always("read_after_eof", eof * c.e_read * cnt_sum)
    t.always("read_buf_after_eof", eof * c.e_rbuf * res_lo)
    t.always("commit_count", c.e_commit * (c.m_lo - count))
    t.always("commit_count_hi", c.e_commit * c.m_hi)


def ecall_fill(r: _Rows, count, read_count, eof, jpos) -> None:
    """Kinds, counts, the running eof / journal position (from `fill`'s first pass); the journal bytes."""
    v, ek = r.v, r.d.ek
    e_commit, e_read = ek["e_commit"], r.d.e_read
    v.ecall = [ek[name] for name in EcallKinds.NAMES]
    if ((e_commit == 1) & ((count < 1) | (count > 4))).any():
        raise TraceError("COMMIT_WORD with a length outside 1..4 cannot be proven")
    v.cnt = [(count == k).astype(np.int64) * e_commit + (read_count == k).astype(np.int64) * e_read
             for k in range(1, 5)]
    v.eof, v.jpos = eof, jpos
    jbytes = np.stack(r.mbs, axis=1)[e_commit == 1]
    jcount = count[e_commit == 1]
    r.journal = bytes(jbytes[np.arange(4)[None, :] < jcount[:, None]].astype(np.uint8).tobytes())


# ---- byte-check helpers: rx (the word index of an access, or an ecall's 16-bit advice) and bx (c_hi of an
# address / JALR target, READ's count, CYCLES' high limb), both checked by the lookups below

def checks_constraints(t, c: CpuCols, x: _Sel) -> None:
    t.always("bx", c.bx - (x.is_mem + c.is_jalr) * c.c_hi - c.e_read * c.n_lo - c.e_cycles * c.res_hi)


def checks_fill(r: _Rows) -> None:
    f, d, v = r.f, r.d, r.v
    v.rx = np.where(d.is_mem == 1, v.c_lo >> 2, np.where(d.writes_a0 == 1, v.res_lo, 0))
    v.bx = np.where((d.is_mem + f["is_jalr"]) == 1, v.c_hi, 0) + d.e_read * v.n_lo + d.ek["e_cycles"] * v.res_hi


def range_byte_lookups(t, c: CpuCols, x: _Sel) -> None:
    """Range / byte checks (linear tuples, in pairs for the LogUp grouping). The fill reports exactly these,
    evaluated on its rows (`report_lookups`)."""
    is_real = c.is_real
    for lo, _ in c.d:
        t.send(BUS_RANGE16, [lo], mult=is_real)
    t.send(BUS_RANGE16, [c.rx], mult=x.is_mem + c.e_read + c.e_cycles + c.e_rbuf)
    t.send(BUS_RANGE16, [c.res_hi], mult=c.e_read)
    t.send(BUS_RANGE16, [c.sr_lo], mult=x.is_store)
    (_, d0_hi), (_, d1_hi), (_, d2_hi), (_, d3_hi) = c.d
    t.send(BUS_BYTES, [BYTE_RANGE, d0_hi, d1_hi, 0], mult=is_real)
    t.send(BUS_BYTES, [BYTE_RANGE, d2_hi, d3_hi, 0], mult=is_real)
    mb = c.mb
    t.send(BUS_BYTES, [BYTE_RANGE, mb[0], mb[1], 0], mult=x.is_mem + c.e_commit + c.e_read)
    t.send(BUS_BYTES, [BYTE_RANGE, mb[2], mb[3], 0], mult=x.is_mem + c.e_commit + c.e_read)
    t.send(BUS_BYTES, [BYTE_RANGE, c.rsb, c.rsbh, 0], mult=c.is_sb)
    t.send(BUS_BYTES, [BYTE_RANGE, c.bx, c.sr_hi, 0], mult=x.is_mem + c.is_jalr + c.e_read + c.e_cycles)
    t.send(BUS_BYTES, [BYTE_AND, c.sign_src, 0x80, 0x80 * c.sign], mult=c.is_lb + c.is_lh)


# ---- calls out of the CPU: accelerators and public outputs

def calls_out(t, c: CpuCols, x: _Sel) -> None:
    r2_lo, r2_hi, m_lo, m_hi, res_lo, res_hi = c.r2_lo, c.r2_hi, c.m_lo, c.m_hi, c.res_lo, c.res_hi
    # SHA256 accelerator: the call (clk, a0, a1) goes to the sha256 tables, which do its memory work
    t.send(BUS_SHA256, [c.clk, r2_lo, r2_hi, m_lo, m_hi], mult=c.e_sha)
    t.send(BUS_EXIT, [r2_lo, r2_hi], mult=c.e_halt)
    # DOT_I8: O(1) here; soundness of the result written to a0 (res, unconstrained above) rests on the dot
    # table receiving exactly this tuple (a0 = r2, a1 = m: the registers this row read).
    t.send(BUS_DOT, [4 * c.clk, r2_lo, r2_hi, m_lo, m_hi, res_lo, res_hi], mult=c.e_dot)
    # READ_BUF: the same shape; the table receives (4·clk, a0, a1, a0 written) once per call.
    t.send(BUS_READ_BUF, [4 * c.clk, r2_lo, r2_hi, m_lo, m_hi, res_lo, res_hi], mult=c.e_rbuf)
    # COMMIT_WORD: its 1..4 bytes as (position, byte), balanced by the verifier against the public journal
    jmult = [c.e_commit, c.e_commit * x.above[1], c.e_commit * x.above[2], c.e_commit * x.above[3]]
    for k in range(4):
        t.send(BUS_JOURNAL, [c.jpos + k, c.mb[k]], mult=jmult[k])


# ---- a segment of a run (segments.py)

def segment_constraints(t, c: CpuSegCols, x: _Sel, seg: dict) -> None:
    """The clock starts at the public clk_start; the first row receives the machine state (index, pc, journal
    position, eof) on bus "state", the last row of a segment that is not the run's last sends the state after it
    (index + 1). Every segment but the last is full (all rows real, no HALT); the last ends with HALT as a whole
    run does. ``x.short``: the row's read came back short (READ_WORD or READ_BUF), which sets eof after it
    exactly as eof_step does."""
    is_real, clk, is_start, is_end = c.is_real, c.clk, c.is_start, c.is_end
    index, is_last = seg["seg"], seg["is_last"]
    t.first("seg_clk_start", clk - seg["clk_start"])
    t.always("is_start_bool", is_start * (1 - is_start))
    t.first("is_start_first", is_start - 1)
    t.transition("is_start_once", is_start.next)
    t.always("is_end_bool", is_end * (1 - is_end))
    t.last("is_end_last", is_end - 1)
    t.transition("is_end_once", is_end)
    t.always("jpos_out", c.jpos_out - c.jpos - c.e_commit * x.count)
    t.always("eof_out", c.eof_out - c.eof - x.short * (1 - c.eof))
    t.last("full_unless_last", (1 - is_last) * (1 - is_real))
    t.last("no_halt_unless_last", (1 - is_last) * c.e_halt)
    t.last("last_segment_halts", is_last * is_real * (1 - c.e_halt))
    t.receive(BUS_STATE, [index, c.pc, c.jpos, c.eof], mult=is_start)
    t.send(BUS_STATE, [index + 1, c.next_pc, c.jpos_out, c.eof_out], mult=is_end * (1 - is_last))


class CpuTable:
    NAME = "cpu"

    def __init__(self, t, entry_pc, text_lo, text_hi, seg: dict | None = None) -> None:
        c = (CpuSegCols if seg else CpuCols).exprs(t)
        x = _Sel(c)
        control_constraints(t, c, x, entry_pc, seg)
        decode_constraints(t, c)
        alu_constraints(t, c, x)
        branch_constraints(t, c)
        next_pc_constraints(t, c)
        result_constraints(t, c)
        loadstore_constraints(t, c, x)
        store_guard_constraints(t, c, x, text_lo, text_hi)
        ecall_constraints(t, c, x, seg)
        checks_constraints(t, c, x)
        memory_bus(t, c, x)
        range_byte_lookups(t, c, x)
        calls_out(t, c, x)
        if seg is not None:
            segment_constraints(t, c, x, seg)


def _lookup_table():
    """The CPU's range / byte sends (publics enter constraints only, never these lookups)."""
    from zkvm.stark.dsl.air import Table

    t = Table(CpuTable.NAME)
    CpuTable(t, 0, 0, 0)
    return t


# ---------------------------------------------------------------------------------------------- fill

def fill(rec, pcs: np.ndarray, fields: np.ndarray, init_value, sends: LookupSends, text: tuple[int, int],
         strict: bool = True, extra: Accesses | None = None, init_ts: int = 0, segment: tuple | None = None
         ) -> CpuTrace:
    """The CPU trace of a recorded execution, vectorised over cycles. Also replays the memory accesses (the
    values read come from that replay, not from the record) and reports every range/byte lookup to `sends`.
    ``extra``: accelerator accesses, replayed together with the CPU's and placed last in ``resolved``.

    ``strict`` (always, except in malicious-prover tests) raises TraceError where the circuit's view of the
    run disagrees with the record, instead of producing a trace the verifier would reject. ``extra``: reads
    the accelerator tables make on the same memory bus, replayed with the CPU's (``CpuTrace.extra``).

    Two passes over blocks of BLOCK cycles: the first collects the memory accesses, replayed for the whole run
    at once; the second computes each block's rows (`_rows`) and writes them into the trace."""
    n = len(rec)
    if n == 0:
        raise TraceError("empty execution record")
    if not strict:
        sends = _InRangeOnly(sends)
    height = 1 << max(2, (n - 1).bit_length())
    # One cycle short of a full 2^22-row table: the last row's timestamps 4·2^22 + slot would leave a gap from
    # timestamp 0 (a first access) of 2^24 or more, beyond the 2^24 range check (completeness, not soundness).
    if n >= 1 << MAX_LOG_HEIGHT:
        raise TraceError(f"{n} cycles exceed the provable maximum of {(1 << MAX_LOG_HEIGHT) - 1} per proof")
    pc = rec.column("pc").astype(np.int64)
    row = np.searchsorted(pcs, pc)
    row_c = np.minimum(row, max(len(pcs) - 1, 0))
    bad = (row >= len(pcs)) | (pcs[row_c] != pc)
    if bad.any():
        t = int(np.argmax(bad))
        raise TraceError(f"cycle {t}: instruction 0x{int(rec.insn[t]):08x} at pc 0x{int(pc[t]):08x} "
                         "is not in the program table (the circuit cannot prove it)")
    row = row_c
    del pc, bad
    blocks = [(lo, min(lo + BLOCK, n)) for lo in range(0, n, BLOCK)]

    # --- pass 1, memory accesses: the record gives every value written; the replay gives every value read.
    # Order: slot 0 of every row, slot 1, slot 2 (memory ops and ecalls only: the a1 of an ecall), slot 3, extra.
    n_extra = len(extra.key) if extra is not None else 0
    slot013 = [np.empty((4, n), np.int64) for _ in range(3)]  # key, ts, value of slots 0, 1, 3 (row 2 unused)
    write3 = np.empty(n, bool)
    s2, s2_rows = [], []
    e_commit, e_read, read_count = np.empty(n, bool), np.empty(n, bool), np.empty(n, np.int64)
    e_rbuf, rbuf_count = np.empty(n, bool), np.empty(n, np.int64)  # READ_BUF rows, bytes they wrote to a0
    for lo, hi in blocks:
        d = _Decoded(rec, fields, row, lo, hi)
        if d.unknown_ecall:
            raise TraceError("an ecall with an unknown call number cannot be proven")
        f, clk = d.f, d.clk
        key, ts, val = slot013
        for k, reg in ((0, f["rs1"]), (1, f["rs2"]), (3, f["rd"])):
            key[k, lo:hi] = (SPACE_REG << 32) | reg
            ts[k, lo:hi] = 4 * clk + k
        val[3, lo:hi] = d.rd_val
        write3[lo:hi] = d.keep_a0 == 0
        sel = np.nonzero((d.is_mem + d.is_ecall) > 0)[0]
        addr2 = np.where(d.is_mem == 1, d.mem_word, np.where(d.is_ecall == 1, REG_A1, 0))
        s2.append(((d.is_mem << 32 | addr2)[sel], (4 * clk + 2)[sel], ((d.is_store + d.e_read) > 0)[sel],
                   np.where(d.is_store == 1, d.mem_after, d.a1_val)[sel]))
        s2_rows.append(sel + lo)
        e_commit[lo:hi], e_read[lo:hi] = d.ek["e_commit"] == 1, d.e_read == 1
        read_count[lo:hi] = np.where(d.e_read == 1, d.a1_val, 0)
        e_rbuf[lo:hi] = d.e_rbuf == 1
        rbuf_count[lo:hi] = np.where(d.e_rbuf == 1, d.rd_val, 0)
    s2_rows = np.concatenate(s2_rows)
    n2 = len(s2_rows)
    zeros, falses = np.zeros(n, np.int64), np.zeros(n, bool)
    key, ts, val = slot013
    parts = [(key[0], ts[0], falses, zeros), (key[1], ts[1], falses, zeros),
             tuple(np.concatenate([p[j] for p in s2]) for j in range(4)), (key[3], ts[3], write3, val[3])]
    if extra is not None:
        parts.append((extra.key, extra.ts, extra.is_write, extra.value))
    acc = Accesses(*(np.concatenate([p[j] for p in parts]) for j in range(4)))
    del parts, s2, slot013, key, ts, val, write3
    res_mem = resolve(acc, init_value, init_ts)
    del acc
    n_cpu = 3 * n + n2
    offs = [0, n, 2 * n, 2 * n + n2, n_cpu]
    # per slot and row: the value seen, the previous value and timestamp (slot 2: zero on rows without access)
    seen, prev_v, prev_t = [], [], []
    for k in range(4):
        part = slice(offs[k], offs[k + 1])
        out = (res_mem.value[part], res_mem.prev_value[part], res_mem.prev_ts[part])
        if k == 2:
            full = tuple(np.zeros(n, np.int64) for _ in range(3))
            for x, src in zip(full, out):
                x[s2_rows] = src
            out = full
        seen.append(out[0]), prev_v.append(out[1]), prev_t.append(out[2])
    active2 = np.zeros(n, bool)
    active2[s2_rows] = True
    del s2_rows

    # --- running sums over the run: COMMIT_WORD count -> journal position; a short READ -> eof after it
    count = np.where(e_commit, prev_v[2], 0)
    short = (e_read & (read_count < 4)) | (e_rbuf & (rbuf_count < 4 * prev_v[2]))  # a1 = words asked for
    jpos0, eof0, must_halt = segment if segment is not None else (0, 0, True)  # a segment's state on entry
    eof_after = (np.cumsum(short) > 0) | bool(eof0)
    eof = np.concatenate([[eof0], eof_after[:-1]]).astype(np.int64)
    jpos = jpos0 + np.concatenate([[0], np.cumsum(count)[:-1]])
    seg_cols = None
    if segment is not None:  # first/last row flags and the state after each row (the last row's is sent on)
        is_start, is_end = np.zeros(n, np.int64), np.zeros(n, np.int64)
        is_start[0] = 1
        if n == height:
            is_end[-1] = 1
        seg_cols = (is_start, is_end, jpos + count, eof_after.astype(np.int64))

    # --- pass 2: the rows, block by block
    main = big_empty((height, len((CpuCols if segment is None else CpuSegCols).NAMES)))
    alu_parts, journal_parts = [], []
    halts = False
    for lo, hi in blocks:
        at = slice(lo, hi)
        d = _Decoded(rec, fields, row, lo, hi)
        ops, jb = _rows(d, rec, lo, n, [x[at] for x in seen], [x[at] for x in prev_v], [x[at] for x in prev_t],
                        active2[at], count[at], read_count[at], eof[at], jpos[at], text, strict, sends,
                        main[lo:hi], None if seg_cols is None else [x[at] for x in seg_cols])
        alu_parts.append(ops)
        journal_parts.append(jb)
        halts = bool(d.ek["e_halt"][-1])
    journal = b"".join(journal_parts)
    if strict and must_halt and not halts:
        raise TraceError("the execution does not end with HALT")
    # padding rows: clk keeps counting, next_pc = pc + 4 = 4, o0 = 1, eq = 1, jpos stays at the journal length
    pad = slice(n, height)
    main[pad] = 0
    clk0 = int(getattr(rec, "clk0", 1))
    m = (CpuCols if segment is None else CpuSegCols).view(main)
    m.clk[pad] = np.arange(clk0 + n, clk0 + height, dtype=np.uint32)
    m.next_pc[pad] = 4
    m.o[0][pad] = 1
    m.eq[pad] = 1
    m.jpos[pad] = jpos0 + len(journal)
    m.eof[pad] = int(eof_after[-1])
    if segment is not None and n < height:
        m.is_end[height - 1] = 1
        m.jpos_out[pad] = jpos0 + len(journal)
        m.eof_out[pad] = int(eof_after[-1])
    exit_code = int(seen[1][-1]) if halts else 0
    extra_seen = (res_mem.value[n_cpu:], res_mem.prev_ts[n_cpu:]) if extra is not None else ()
    return CpuTrace(main, row, np.concatenate(alu_parts, axis=1), res_mem, journal, exit_code, extra_seen)


def _rows(d: _Decoded, rec, lo: int, n_all: int, seen, prev_v, prev_t, active2, count, read_count, eof, jpos,
          text, strict, sends, out, seg_cols=None) -> tuple[np.ndarray, bytes]:
    """Rows lo..lo+len-1 of the trace into ``out`` (from the replay's view of their accesses and the running
    sums), gadget by gadget; reports their lookups. Returns their alu-bus sends (op, a, b) and journal bytes."""
    v = (CpuCols if seg_cols is None else CpuSegCols).values()
    r = _Rows(d, v, rec, lo, n_all, strict)
    control_fill(r)
    decode_fill(r)
    memory_fill(r, seen, prev_v, prev_t, active2)
    alu_fill(r)
    branch_fill(r)
    next_pc_fill(r)
    loadstore_fill(r)
    store_guard_fill(r, text)
    result_fill(r)
    checks_fill(r)
    ecall_fill(r, count, read_count, eof, jpos)
    if seg_cols is not None:
        v.is_start, v.is_end, v.jpos_out, v.eof_out = seg_cols
    cols = v.ordered()
    report_lookups(fixed_lookups(_lookup_table), cols, r.n, sends)  # real rows only: padding sends nothing
    trace_rows(cols, r.n, r.n, out=out)
    return r.alu_ops, r.journal


class _InRangeOnly:
    """Non-strict fills report only lookups the fixed tables can absorb (the rest stays unbalanced)."""

    def __init__(self, sends: LookupSends) -> None:
        self.sends = sends

    def add_range16(self, values) -> None:
        v = np.asarray(values, dtype=np.int64)
        self.sends.add_range16(v[(v >= 0) & (v < 1 << 16)])

    def add_bytes(self, op, x, y) -> None:
        x, y = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
        ok = (x >= 0) & (x < 256) & (y >= 0) & (y < 256)
        self.sends.add_bytes(op if np.ndim(op) == 0 else np.asarray(op)[ok], x[ok], y[ok])


#: The is-zero gadget inverts c_lo + c_hi < 2^17: a table of those inverses replaces a Fermat power per row.
_INV_TABLE_SIZE = 1 << 17


@lru_cache(maxsize=1)
def _inverse_table() -> np.ndarray:
    t = np.zeros(_INV_TABLE_SIZE, np.int64)
    from zkvm.field.babybear import batch_inv
    t[1:] = np.asarray(batch_inv(np.arange(1, _INV_TABLE_SIZE, dtype=np.uint32)), dtype=np.int64)
    return t


def _field_inverse(x: np.ndarray) -> np.ndarray:
    """x^-1 mod p elementwise (0 for 0): the is-zero gadget's witness."""
    x = np.asarray(x, dtype=np.int64) % P
    if x.size and int(x.max()) < _INV_TABLE_SIZE:
        return _inverse_table()[x]
    out = np.zeros_like(x)
    nz = np.nonzero(x)[0]
    if nz.size:
        from zkvm.field.babybear import batch_inv
        out[nz] = np.asarray(batch_inv(x[nz].astype(np.uint32)), dtype=np.int64)
    return out
