"""SHA-256 compression accelerator: the SHA256 ecall (zkvm/abi.py, "SHA-256") proven by three tables beside the CPU.

One ecall compresses n consecutive 64-byte blocks into a state in guest memory. The CPU row of the ecall does O(1)
work (one send on ``ecall_sha256``); the chaining of the state from block to block happens inside these tables.

* ``sha256_block`` — one row per block. A call is a run of consecutive rows (``start`` .. ``last``, the
  structure of zkvm/circuit/calls.py). The start row receives the call (clk, a0, a1) from the CPU, checks the
  pointers, reads register a2 (the block count) and the 8 state words on the memory bus; every row sends its
  input state to the round table and receives the state after 64 rounds, and proves the final addition
  H_out = H_in + state mod 2^32; H_out is the next row's H_in; the last row writes H_out to the state words.
* ``sha256_round`` — 33 rows per block: a pre-row holding the input state, then 32 rows of two rounds each
  (step r = rounds 2r, 2r + 1). Row t holds a_{2t-2}, a_{2t-1}, e_{2t-2}, e_{2t-1} as bits (a0, a1, e0, e1),
  d3 = a_{2t-3} and h3 = e_{2t-3} as limbs, and (t >= 1) W and K of the rounds it computes; the two rounds
  are constraints on the transition from the row above, which sees all of a..h of both (b, c, f, g are the
  two rows' bit words, so no copy of them is stored). Steps 0..7 read the 16 block words on the memory bus
  (same timestamp) and byte-swap them into W_0..W_15; steps 8..31 derive theirs from the message schedule.
  Σ0, Σ1, σ0, σ1 (x ^ y ^ z = x + y + z - 2(xy + yz + zx) + 4xyz), Ch (ef + (1 - e)g) and Maj
  (ab + bc + ca - 2abc) are polynomials of degree <= 3 in the bits, used directly in the limb additions: no
  column, no lookup.
* ``sha256_k`` — fixed, 32 rows (r, r < 8, K_2r, K_2r+1, m8_r, m3_r): the round constants, the message-row
  flag and which rows send schedule terms on the ``sha256_w`` bus.

Why several blocks per call (the ABI's argument is in zkvm/abi.py): a one-block call cost the guest ~5-8 CPU
cycles a block around the ecall (8,300 rows of model B's CPU table). Chaining inside the block table costs one
narrow row per block and 16 transition constraints (H_in' = H_out); the state's memory traffic is now once per
call (read on the start row, written by the last), and the block count is a register the start row reads
itself, so the CPU row is unchanged. Rows per block: 33 round + 1 block.

Why this round layout (cells = padded rows x (main + 4 x aux extension columns)). The first layout was 64 rows
of one round (237 main + 128 aux: Σ/σ through 32 byte columns and 32 XOR lookups, Ch/Maj through byte lookups
on byte columns of b, c, f, g, 48 shift-register columns for the schedule): 23,360 cells a block. Bits make
every bitwise function a polynomial, but one round a row needs b, c, f, g on the row too (128 more bit
columns, or 16 byte columns + 16 lookups); two rounds a row share them: the four a/e words of a row and of
the row above are exactly a..h of both rounds. The pre-row lets round 0 use the same transition as every
other round. The schedule's far terms travel on the ``sha256_w`` bus instead of windows: row j sends
(P_j, Q_j) = (W_2j + σ0(W_2j+1), W_2j+1 + σ0(W_2j+2)) once to row j + 8 and (W_2j-1, W_2j) once to row j + 3;
σ1 of the row above is a polynomial in the transition. 243 main + 44 aux columns x 33 rows a block.

Buses: ``ecall_sha256`` (clk, a0_lo, a0_hi, a1_lo, a1_hi) cpu -> block start row; ``sha256_init`` (clk, bw,
H_in limbs) block row -> first round row; ``sha256_final`` (clk, bw, a..h limbs after round 63) last round row
-> block row; ``sha256_k`` (r, is_msg, K_2r, K_2r+1 limbs, m8, m3) round rows -> the fixed K table;
``sha256_w`` (clk, bw, index, two limb pairs) round rows -> later round rows of the same block (schedule terms);
plus ``mem``, ``bytes``, ``range16``. A block is named by (clk, bw): clk is unique per call (the CPU sends each
clk once), bw (the block's word address) steps by 16 inside a call, so no two blocks share the pair.

Soundness (overall): every call is received exactly once, by a start row; the rows after it up to its last row
are that call's blocks (calls.py: rows no ecall asked for would need a start row no CPU send balances), and
there are exactly a2 of them: ``rem`` starts at a2 (read through the memory argument), drops by one a row and
is 1 on the last row (a2 = 0 is unprovable: rem would have to wrap p). Block i + 1 reads the words right after
block i (bw steps by 16) and starts from block i's output (chain constraints): no block skipped, repeated,
reordered, or started from a forged state. Each block row's round block is the one with its (clk, bw), so an
ecall with no rows, or a block row without its 33 round rows, leaves a bus unbalanced. Memory traffic goes
through the same offline-memory-checking argument as loads and stores, at timestamp 4·clk + 2 of the ecall's
cycle (its own CPU accesses that cycle are registers a7, a0, a1 only). Interpreter traps are unprovable: a
misaligned or out-of-range pointer by the pointer decomposition below (or a cell without initialisation), a
state in the program text by the text-distance check, state overlapping a block because one cell would be
accessed twice at the same timestamp (the memory argument needs strictly increasing timestamps per cell).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkvm import abi
from zkvm.circuit.calls import constrain_calls
from zkvm.circuit.columns import Col, Columns
from zkvm.circuit.lookups import LookupSends, padded_height, trace_rows
from zkvm.circuit.memory import BUS_MEM, SPACE_MEM, SPACE_REG, Accesses
from zkvm.circuit.opcodes import BUS_BYTES, BUS_RANGE16, BYTE_RANGE
from zkvm.errors import ZkvmError
from zkvm.field.babybear import P

BUS_CALL, BUS_INIT, BUS_FINAL, BUS_K = "ecall_sha256", "sha256_init", "sha256_final", "sha256_k"
BUS_W = "sha256_w"
BLOCK_NAME, ROUND_NAME, K_NAME = "sha256_block", "sha256_round", "sha256_k"
#: Memory timestamp slot of the accelerator's accesses: 4·clk + TS_SLOT (the ecall row uses registers only).
TS_SLOT = 2
#: Register holding the block count (a2).
REG_A2 = 12
ROUNDS = 64
MEM_WORDS = abi.MEM_END // 4  # guest memory in words
K = (0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
     0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
     0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
     0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
     0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
     0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
     0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
     0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2)

#: Rows of the round table per block: a pre-row holding the input state, then 32 rows of two rounds each.
STEPS = ROUNDS // 2
ROWS_PER_BLOCK = STEPS + 1
#: Schedule bus indices: step j sends (P, Q) to step j + P_LAG and (V, W0) to step j + V_LAG (at V_BASE + index).
P_LAG, V_LAG, V_BASE = 8, 3, STEPS
_WORDS = ("a0", "a1", "e0", "e1", "w0", "w1")


def _pair(name: str) -> Col:
    """A 32-bit value as two 16-bit limb columns name_lo, name_hi."""
    return Col(names=(f"{name}_lo", f"{name}_hi"))


def _bits(name: str) -> Col:
    """A 32-bit word as 32 boolean columns name_0..name_31 (bit 0 first)."""
    return Col(names=[f"{name}_{i}" for i in range(32)])


class ShaRoundCols(Columns):
    is_real, first, last, is_msg, r, clk, bw = (Col() for _ in range(7))
    k0, k1 = _pair("k0"), _pair("k1")          # K_2r, K_2r+1 (from the K table)
    md0, md1 = _pair("md0"), _pair("md1")      # timestamp distances of the two block-word reads (message rows)
    m8, m3 = Col(), Col()                      # this row sends schedule terms to row r + 8 / r + 3
    a0, a1, e0, e1, w0, w1 = (_bits(w) for w in _WORDS)
    d3, h3, an, en = _pair("d3"), _pair("h3"), _pair("an"), _pair("en")
    ca0, ce0, ca1, ce1 = _pair("ca0"), _pair("ce0"), _pair("ca1"), _pair("ce1")  # carries of the round additions
    cw0, cw1 = _pair("cw0"), _pair("cw1")      # carries of the schedule additions
    p, q, v, rp, rq, rv, rw = (_pair(n) for n in ("p", "q", "v", "rp", "rq", "rv", "rw"))


def _word(name: str) -> Col:
    """Eight 32-bit words as limb pairs name0_lo, name0_hi .. name7_hi (a state)."""
    return Col(names=[(f"{name}{i}_lo", f"{name}{i}_hi") for i in range(8)])


class ShaBlockCols(Columns):
    is_real, start, last, clk = Col(), Col(), Col(), Col()
    a0_lo, a0_hi, a1_lo, a1_hi = Col(), Col(), Col(), Col()  # the call's registers (the CPU's tuple)
    sx, bx, bw, rem = Col(), Col(), Col(), Col()  # a0_lo / 4, a1_lo / 4, this block's word index, blocks left
    rs, rb = _pair("rs"), _pair("rb")             # distances of the state / this block to the end of memory
    above = Col()                                 # the state lies above the program text (else below)
    tx, dn = _pair("tx"), _pair("dn")             # distance of the state to the text; of the a2 read (start)
    hin, fin, out = _word("hin"), _word("fin"), _word("out")  # H_in, state after 64 rounds, H_out
    c1 = Col(names=[f"c1_{i}" for i in range(8)])  # carries of the final addition
    c2 = Col(names=[f"c2_{i}" for i in range(8)])
    d = _word("d")                                # timestamp distances of the state reads (start)


class ShaKCols(Columns):
    """Fixed: step r, [r < 8], K_2r, K_2r+1 limbs, m8_r, m3_r; main: how many blocks look the row up."""
    r, msg = Col(fixed=True), Col(fixed=True)
    k0_lo, k0_hi, k1_lo, k1_hi = (Col(fixed=True) for _ in range(4))
    m8, m3 = Col(fixed=True), Col(fixed=True)
    mult = Col()


ROUND_COLUMNS, BLOCK_COLUMNS, K_FIXED = ShaRoundCols.NAMES, ShaBlockCols.NAMES, ShaKCols.FIXED


# ---------------------------------------------------------------------------------------------- expressions

def _bytes_of(bits):
    """The 4 bytes (low first) of the word whose bits are `bits`: linear."""
    return [_weighted(bits[8 * k:8 * k + 8]) for k in range(4)]


def _sigma_limbs(bits, r1: int, r2: int, r3: int, shr: bool = False):
    """The two 16-bit limbs of ROTR(x, r1) ^ ROTR(x, r2) ^ ROTR(x, r3) (SHR for the third if `shr`) of the word
    whose boolean columns are `bits`: each output bit is x + y + z - 2(xy + yz + zx) + 4xyz, so degree 3, no
    column and no lookup (the integer value is exact when the bits are boolean)."""
    out = []
    for half in range(2):
        acc = None
        for j in range(16):
            i = 16 * half + j
            x, y = bits[(i + r1) % 32], bits[(i + r2) % 32]
            xy = x * y
            if shr and i + r3 >= 32:
                bit = x + y - 2 * xy
            else:
                z = bits[(i + r3) % 32]
                bit = x + y + z - 2 * (xy + y * z + z * x) + 4 * (xy * z)
            term = (1 << j) * bit
            acc = term if acc is None else acc + term
        out.append(acc)
    return out


def _bit_limbs(bits):
    """The two 16-bit limbs of the word whose boolean columns are `bits` (linear)."""
    return tuple(_weighted([bits[16 * h + j] for j in range(16)]) for h in range(2))


def _weighted(terms):
    acc = terms[0]
    for j in range(1, len(terms)):
        acc = acc + (1 << j) * terms[j]
    return acc


def _ch_limbs(e, f, g):
    """Limbs of Ch(e, f, g) = (e & f) ^ (~e & g): per bit e·f + (1 - e)·g (degree 2)."""
    return tuple(_weighted([e[i] * f[i] + (1 - e[i]) * g[i] for i in range(16 * h, 16 * h + 16)])
                 for h in range(2))


def _maj_limbs(a, b, c):
    """Limbs of Maj(a, b, c): per bit ab + bc + ca - 2abc (degree 3)."""
    def bit(i):
        ab = a[i] * b[i]
        return ab + b[i] * c[i] + c[i] * a[i] - 2 * (ab * c[i])
    return tuple(_weighted([bit(i) for i in range(16 * h, 16 * h + 16)]) for h in range(2))


class ShaTables:
    """Builds the constraints of the three tables (``Table`` objects made by riscv_air) and fills them."""

    def __init__(self, round_t, block_t, k_t, text_lo, text_hi) -> None:
        self.round_t, self.block_t, self.k_t = round_t, block_t, k_t
        self._round(round_t)
        self._block(block_t, text_lo, text_hi)
        self._k(k_t)

    # ------------------------------------------------------------------------------------------ round table
    @staticmethod
    def _round(t) -> None:
        c = ShaRoundCols.exprs(t)
        is_real, first, last, is_msg, r, clk, bw = c.is_real, c.first, c.last, c.is_msg, c.r, c.clk, c.bw
        A0, A1, E0, E1, W0, W1 = (list(getattr(c, w)) for w in _WORDS)
        nx = lambda ws: [x.next for x in ws]  # noqa: E731
        nxp = lambda pair: (pair[0].next, pair[1].next)  # noqa: E731
        L = {w: _bit_limbs(list(getattr(c, w))) for w in _WORDS}
        rnd = is_real - first  # a row of two rounds (not the pre-row, not padding)

        def boolean(name, x):
            t.always(f"{name}_bool", x * (1 - x))

        # Soundness (control): real rows come first; a block is a pre-row (`first`: the input state, no round)
        # then rows r = 0..31 of two rounds each — r = 0 after the pre-row, r steps by one until `last`, which
        # only r = 31 may set, and the row after `last` is the next block's pre-row. r is bound to 0..31 by the
        # K lookup on every round row, so a block has exactly 32 round rows: no round skipped or repeated.
        for name in ("is_real", "first", "last", "is_msg"):
            boolean(name, getattr(c, name))
        t.first("starts_block", first - is_real)
        t.transition("real_prefix", is_real.next * (1 - is_real))
        t.always("first_real", first * (1 - is_real))
        t.always("last_real", last * (1 - is_real))
        t.always("first_not_last", first * last)
        t.always("msg_round", is_msg * (1 - rnd))
        t.transition("round_first", first * r.next)
        t.transition("round_step", (rnd - last) * (r.next - r - 1))
        t.always("round_last", last * (r - (STEPS - 1)))
        t.transition("block_next", is_real.next * (first.next - last))
        t.transition("block_ends", is_real * (1 - is_real.next) * (1 - last))
        t.last("last_row_ends_block", is_real * (1 - last))
        # the call (clk) and block pointer stay the same over a block
        t.transition("clk_const", (1 - last) * (clk.next - clk))
        t.transition("bw_const", (1 - last) * (bw.next - bw))
        # Soundness (K): the fixed table holds exactly (r, [r < 8], K_2r, K_2r+1, m8_r, m3_r) for r = 0..31.
        t.send(BUS_K, [r, is_msg, *c.k0, *c.k1, c.m8, c.m3], mult=rnd)

        # Soundness (bits): six words as 32 boolean columns each; every limb below is a linear combination of
        # them, so it is in range by construction.
        for w in _WORDS:
            for i, x in enumerate(getattr(c, w)):
                boolean(f"{w}_{i}", x)

        # ---- message: round rows 0..7 read block words 2r and 2r + 1; their little-endian bytes are W's
        # big-endian bytes. Soundness: same memory argument as loads (receive the previous (value, ts), send it
        # back at ts), ts - ts_prev - 1 range-checked < 2^24 (md_lo range16, md_hi byte).
        ts = 4 * clk + TS_SLOT
        for j, (w, (md_lo, md_hi)) in enumerate(((W0, c.md0), (W1, c.md1))):
            B = _bytes_of(w)
            m_lo, m_hi = B[3] + 256 * B[2], B[1] + 256 * B[0]
            md = md_lo + 65536 * md_hi
            addr = bw + 2 * r + j
            t.receive(BUS_MEM, [SPACE_MEM, addr, m_lo, m_hi, ts - 1 - md], mult=is_msg)
            t.send(BUS_MEM, [SPACE_MEM, addr, m_lo, m_hi, ts], mult=is_msg)
            t.send(BUS_RANGE16, [md_lo], mult=is_msg)
        t.send(BUS_BYTES, [BYTE_RANGE, c.md0[1], c.md1[1], 0], mult=is_msg)

        # ---- the two rounds of row t + 1, on the transition t -> t + 1. Row t holds a_{2t-2} (a0), a_{2t-1}
        # (a1), e likewise, and the limbs d3 = a_{2t-3}, h3 = e_{2t-3}; row t + 1 holds W and K of rounds 2t,
        # 2t + 1 and their results: a_{2t+1}, e_{2t+1} as its a1, e1 bits, a_{2t+2}, e_{2t+2} as its an, en
        # limbs (the next row's a0, e0). Σ0, Σ1 (degree 3), Ch (degree 2) and Maj (degree 3) are polynomials of
        # the bits: no column, no lookup. Additions mod 2^32 in 16-bit limbs: sum_lo = res_lo + 2^16·carry_lo,
        # sum_hi + carry_lo = res_hi + 2^16·carry_hi.
        # Soundness: on a round row the carries are byte-checked and results are in [0, 2^16) (bits, or the
        # next row's bits for an, en, or range16 in the block table for the last row's), both sides are
        # integers < 2^24 < p and the decomposition is unique; a wrong carry forces a result out of range. Into
        # a row that computes no round (a pre-row, padding) the carries are not range-checked: free field
        # elements that satisfy the equations, which then say nothing (no selector, so the degree stays 3).
        def rounds(a, b, cc, d, e, f, g, h, k, w, res_a, res_e, ca, ce, tag):
            s1, ch = _sigma_limbs(e, 6, 11, 25), _ch_limbs(e, f, g)
            t1 = [h[i] + s1[i] + ch[i] + k[i] + w[i] for i in range(2)]
            s0, maj = _sigma_limbs(a, 2, 13, 22), _maj_limbs(a, b, cc)
            t.transition(f"add_a{tag}_lo", t1[0] + s0[0] + maj[0] - res_a[0] - 65536 * ca[0])
            t.transition(f"add_a{tag}_hi", t1[1] + s0[1] + maj[1] + ca[0] - res_a[1] - 65536 * ca[1])
            t.transition(f"add_e{tag}_lo", t1[0] + d[0] - res_e[0] - 65536 * ce[0])
            t.transition(f"add_e{tag}_hi", t1[1] + d[1] + ce[0] - res_e[1] - 65536 * ce[1])

        a0n, a1n, e0n, e1n = nx(A0), nx(A1), nx(E0), nx(E1)
        k0n, k1n = nxp(c.k0), nxp(c.k1)
        w0n, w1n = _bit_limbs(nx(W0)), _bit_limbs(nx(W1))
        rounds(a0n, A1, A0, c.d3, e0n, E1, E0, c.h3, k0n, w0n, _bit_limbs(a1n), _bit_limbs(e1n),
               nxp(c.ca0), nxp(c.ce0), 0)
        rounds(a1n, a0n, A1, L["a0"], e1n, e0n, E1, L["e0"], k1n, w1n, nxp(c.an), nxp(c.en), nxp(c.ca1),
               nxp(c.ce1), 1)
        for carry in (c.ca0, c.ce0, c.ca1, c.ce1):
            t.send(BUS_BYTES, [BYTE_RANGE, carry[0], carry[1], 0], mult=rnd)

        # ---- state to the next row inside a block: a0' = an, e0' = en, d3' = a1, h3' = e1.
        # Soundness: the bits of the next a0 / e0 must represent exactly an / en (so an, en are 16-bit limbs).
        nxt = 1 - last
        a0_next, e0_next = _bit_limbs(a0n), _bit_limbs(e0n)
        for i, p in enumerate(("lo", "hi")):
            t.transition(f"a_next_{p}", nxt * (a0_next[i] - c.an[i]))
            t.transition(f"e_next_{p}", nxt * (e0_next[i] - c.en[i]))
            t.transition(f"d_next_{p}", nxt * (c.d3[i].next - L["a1"][i]))
            t.transition(f"h_next_{p}", nxt * (c.h3[i].next - L["e1"][i]))

        # ---- schedule (round rows 8..31): W_2u = σ1(W_2u-2) + W_2u-7 + P_{u-8}, W_2u+1 = σ1(W_2u-1) + W_2u-6 +
        # Q_{u-8}, with P_j = W_2j + σ0(W_2j+1) and Q_j = W_2j+1 + σ0(W_2j+2) (defined on row j; Q from the next
        # row's bits by a transition) and V_j = W_2j-1 (the row above's w1, a transition). Row j sends (clk, bw,
        # j, P, Q) to row j + 8 and (clk, bw, 32 + j, V, W_2j) to row j + 3 (multiplicities m8, m3 from the K
        # table); a schedule row receives (clk, bw, u - 8, rp, rq) and (clk, bw, 32 + u - 3, rv, rw). σ1 of the
        # row above is a polynomial of its bits, in the transition. Soundness: (clk, bw) is unique per block
        # and r is bound to the row's step (K, round_step), so the received values are exactly those of the
        # right rows of the same block; rp, rq < 2^17, so the carries are < 4 (byte-checked on schedule rows,
        # free elsewhere, as above).
        sched = rnd - is_msg
        s0_w1, s0_w0n = _sigma_limbs(W1, 7, 18, 3, shr=True), _sigma_limbs(nx(W0), 7, 18, 3, shr=True)
        for i, p in enumerate(("lo", "hi")):
            t.always(f"p_{p}", c.p[i] - L["w0"][i] - s0_w1[i])
            t.transition(f"q_{p}", c.q[i] - L["w1"][i] - s0_w0n[i])
            t.transition(f"v_{p}", c.v[i].next - L["w1"][i])
        for j, (wn, s1, rv, rp, cw) in enumerate(((w0n, _sigma_limbs(W0, 17, 19, 10, shr=True), c.rv, c.rp, c.cw0),
                                                   (w1n, _sigma_limbs(W1, 17, 19, 10, shr=True), c.rw, c.rq, c.cw1))):
            cwn, rvn, rpn = nxp(cw), nxp(rv), nxp(rp)
            t.transition(f"schedule{j}_lo", wn[0] + 65536 * cwn[0] - s1[0] - rvn[0] - rpn[0])
            t.transition(f"schedule{j}_hi", wn[1] + 65536 * cwn[1] - cwn[0] - s1[1] - rvn[1] - rpn[1])
            t.send(BUS_BYTES, [BYTE_RANGE, cw[0], cw[1], 0], mult=sched)
        t.send(BUS_W, [clk, bw, r, *c.p, *c.q], mult=rnd * c.m8)
        t.send(BUS_W, [clk, bw, V_BASE + r, *c.v, *L["w0"]], mult=rnd * c.m3)
        t.receive(BUS_W, [clk, bw, r - P_LAG, *c.rp, *c.rq], mult=sched)
        t.receive(BUS_W, [clk, bw, V_BASE + r - V_LAG, *c.rv, *c.rw], mult=sched)

        # ---- link to the block table: the pre-row takes H_in as (an, a1, a0, d3, en, e1, e0, h3) = a..h; the
        # last row hands a..h after round 63 back in the same places. Soundness: both tuples carry (clk, bw),
        # constant over the block and unique per block.
        state = [*c.an, *L["a1"], *L["a0"], *c.d3, *c.en, *L["e1"], *L["e0"], *c.h3]
        t.receive(BUS_INIT, [clk, bw, *state], mult=first)
        t.send(BUS_FINAL, [clk, bw, *state], mult=last)

    # ------------------------------------------------------------------------------------------ block table
    @staticmethod
    def _block(t, text_lo, text_hi) -> None:
        c = ShaBlockCols.exprs(t)
        is_real, start, last, clk, bw, rem = c.is_real, c.start, c.last, c.clk, c.bw, c.rem
        for name in ("is_real", "start", "last"):
            x = getattr(c, name)
            t.always(f"{name}_bool", x * (1 - x))
        t.always("start_real", start * (1 - is_real))
        t.always("last_real", last * (1 - is_real))
        # Soundness (call structure): a call's rows are contiguous, begin with its start row (which receives the
        # CPU's call once) and end with its last row (calls.py).
        inside = constrain_calls(t, is_real, start, last)
        t.receive(BUS_CALL, [clk, c.a0_lo, c.a0_hi, c.a1_lo, c.a1_hi], mult=start)
        # Soundness (chaining): inside a call the next row is the next block of the same call — same clk and
        # state pointer, block address + 16 words, one block fewer left, and its input state is this row's
        # output. With rem = a2 on the start row and 1 on the last, the call has exactly a2 rows; with bw
        # stepping by 16 they read blocks 0..a2-1 in order, each once.
        for name in ("clk", "a0_hi", "sx"):
            x = getattr(c, name)
            t.transition(f"{name}_const", inside * (x.next - x))
        t.transition("block_step", inside * (bw.next - bw - 16))
        t.transition("rem_step", inside * (rem.next - rem + 1))
        t.always("rem_last", last * (rem - 1))
        for i in range(8):
            for h, p in enumerate(("lo", "hi")):
                t.transition(f"chain{i}_{p}", inside * (c.hin[i][h].next - c.out[i][h]))

        # Soundness (pointers): a0 = 4·sx + 2^16·a0_hi with sx < 2^16 (range16) and a0_lo < 2^16 (a register
        # value), so a0_lo = 4·sx as integers: 4-aligned; a0_hi is a byte, so a0 < 2^24 = MEM_END and the
        # word index sw = sx + 2^14·a0_hi < 2^22; sw + 8 <= 2^22 by a range-checked distance (rs). Same for the
        # first block (bx, a1_hi: bw of the start row); every block's bw + 16 <= 2^22 (rb, each row). The
        # per-call columns hold the same values on every row of the call (honest fill), so their range checks
        # run on every real row. Pointers below MEM_START reach cells no table initialises: unprovable, as they
        # trap in the interpreter.
        sw = c.sx + 16384 * c.a0_hi
        t.always("state_ptr", is_real * (c.a0_lo - 4 * c.sx))
        t.always("block_ptr", start * (c.a1_lo - 4 * c.bx))
        t.always("block_start", start * (bw - c.bx - 16384 * c.a1_hi))
        t.always("state_end", is_real * (MEM_WORDS - 8 - sw - c.rs[0] - 65536 * c.rs[1]))
        t.always("block_end", is_real * (MEM_WORDS - 16 - bw - c.rb[0] - 65536 * c.rb[1]))
        # Soundness (text): the state is written, and the program's words are never written (the
        # interpreter traps on it, as for stores): sw >= text_hi, or sw + 8 <= text_lo.
        above = c.above
        t.always("above_bool", above * (1 - above))
        dist = above * (sw - text_hi) + (1 - above) * (text_lo - 8 - sw)
        t.always("state_outside_text", is_real * (dist - c.tx[0] - 65536 * c.tx[1]))
        for x in (c.sx, c.bx, c.rs[0], c.rb[0], c.tx[0], c.dn[0]):
            t.send(BUS_RANGE16, [x], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, c.a0_hi, c.a1_hi, 0], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, c.rs[1], c.rb[1], 0], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, c.tx[1], c.dn[1], 0], mult=is_real)

        # Soundness (count): the start row reads register a2 at the call's timestamp (the CPU row touches only
        # a7, a0, a1) and its value must be rem with a zero high limb: 1 <= a2 < 2^16 blocks (the ABI's bound).
        ts = 4 * clk + TS_SLOT
        dn = c.dn[0] + 65536 * c.dn[1]
        t.receive(BUS_MEM, [SPACE_REG, REG_A2, rem, 0, ts - 1 - dn], mult=start)
        t.send(BUS_MEM, [SPACE_REG, REG_A2, rem, 0, ts], mult=start)

        t.send(BUS_INIT, [clk, bw] + [x for pair in c.hin for x in pair], mult=is_real)
        t.receive(BUS_FINAL, [clk, bw] + [x for pair in c.fin for x in pair], mult=is_real)
        # Soundness (final addition): out = hin + fin mod 2^32 with boolean carries and out limbs range16;
        # hin are memory words (start row) or range-checked outs of the row above, fin's a and e limbs are
        # range-checked here (the other six are bits/limbs the round table already bounds).
        for i in range(8):
            c1, c2 = c.c1[i], c.c2[i]
            hin, fin, out = c.hin[i], c.fin[i], c.out[i]
            t.always(f"c1_{i}_bool", c1 * (1 - c1))
            t.always(f"c2_{i}_bool", c2 * (1 - c2))
            t.always(f"final{i}_lo", hin[0] + fin[0] - out[0] - 65536 * c1)
            t.always(f"final{i}_hi", hin[1] + fin[1] + c1 - out[1] - 65536 * c2)
            t.send(BUS_RANGE16, [out[0]], mult=is_real)
            t.send(BUS_RANGE16, [out[1]], mult=is_real)
        for i in (0, 4):
            t.send(BUS_RANGE16, [c.fin[i][0]], mult=is_real)
            t.send(BUS_RANGE16, [c.fin[i][1]], mult=is_real)
        # Soundness (memory): one read-modify-write access per state word, like a store: the start row
        # receives the old value (the first block's H_in), the last row sends the new one (the last H_out),
        # both at the call's timestamp and address (clk, a0_hi, sx constant over the call).
        for i in range(8):
            d = c.d[i][0] + 65536 * c.d[i][1]
            t.receive(BUS_MEM, [SPACE_MEM, sw + i, *c.hin[i], ts - 1 - d], mult=start)
            t.send(BUS_MEM, [SPACE_MEM, sw + i, *c.out[i], ts], mult=last)
            t.send(BUS_RANGE16, [c.d[i][0]], mult=is_real)
        for i in range(0, 8, 2):
            t.send(BUS_BYTES, [BYTE_RANGE, c.d[i][1], c.d[i + 1][1], 0], mult=is_real)

    # ------------------------------------------------------------------------------------------ K table
    @staticmethod
    def _k(t) -> None:
        c = ShaKCols.exprs(t)
        t.receive(BUS_K, [c.r, c.msg, c.k0_lo, c.k0_hi, c.k1_lo, c.k1_hi, c.m8, c.m3], mult=c.mult)

    @staticmethod
    def k_fixed() -> np.ndarray:
        k = np.array(K, dtype=np.int64)
        r = np.arange(STEPS)
        k0, k1 = k[0::2], k[1::2]
        m8 = r + P_LAG < STEPS
        m3 = (r + V_LAG >= 8) & (r + V_LAG < STEPS)
        return np.stack([r, r < 8, k0 & 0xFFFF, k0 >> 16, k1 & 0xFFFF, k1 >> 16, m8, m3], axis=1).astype(np.uint32)

    # ------------------------------------------------------------------------------------------ trace
    def fill(self, calls: "ShaCalls", prev_ts: np.ndarray, sends: LookupSends, text: tuple[int, int],
             k: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Main traces of the three tables. ``prev_ts``: timestamps of the previous access of each of
        ``calls.accesses()`` (from the memory replay, same order). ``k`` overrides the round constants
        (malicious-prover tests only)."""
        B = len(calls.clk)
        pt_call, pt_block = calls.split(np.asarray(prev_ts, np.int64))
        rv = round_values(calls.state_in, calls.block, K if k is None else k)
        rmain, rcols = _round_main(rv, calls, pt_block)
        bmain = _block_main(calls, rv, pt_call, text)
        kmain = np.full((STEPS, 1), B, dtype=np.uint32)
        report_lookups(self.round_t, rmain, sends, rcols)
        report_lookups(self.block_t, bmain, sends)
        return {ROUND_NAME: rmain, BLOCK_NAME: bmain, K_NAME: kmain}


# ---------------------------------------------------------------------------------------------- calls

class ShaTraceError(ZkvmError):
    """The recorded SHA256 calls disagree with the memory replay (the circuit would not accept them)."""


@dataclass
class ShaCalls:
    """One entry per block compressed, in execution order; a call's blocks are consecutive entries, the first
    with ``start`` set."""

    clk: np.ndarray        # int64[B]: the ecall row's clk (cycle index + 1), the same for a call's blocks
    a0: np.ndarray         # int64[B]: the call's state pointer
    a1: np.ndarray         # int64[B]: the call's first block pointer
    n: np.ndarray          # int64[B]: the call's block count (a2)
    bw: np.ndarray         # int64[B]: this block's word index
    start: np.ndarray      # bool[B]: the call's first block
    state_in: np.ndarray   # int64[B, 8]
    block: np.ndarray      # int64[B, 16]: block words as stored (little-endian)
    state_out: np.ndarray  # int64[B, 8]

    @staticmethod
    def from_record(rec) -> "ShaCalls":
        log = np.asarray(rec.sha_calls, dtype=np.int64).reshape(-1, 33)
        t = log[:, 0]
        B = len(t)
        start = np.ones(B, bool)
        start[1:] = t[1:] != t[:-1]  # a call's blocks share its cycle; two calls never do
        first = np.nonzero(start)[0]
        call = np.cumsum(start) - 1
        j = np.arange(B) - first[call]          # block index inside its call
        n = np.diff(np.append(first, B))[call]  # blocks of its call
        a0 = np.asarray(rec.rs1_val, np.int64)[t]
        a1 = np.asarray(rec.rs2_val, np.int64)[t]
        return ShaCalls(t + int(getattr(rec, "clk0", 1)), a0, a1, n, (a1 >> 2) + 16 * j, start,
                        log[:, 1:9], log[:, 9:25], log[:, 25:33])

    @property
    def last(self) -> np.ndarray:
        """bool[B]: the call's last block."""
        out = np.ones(len(self.start), bool)
        out[:-1] = self.start[1:]
        return out

    def accesses(self) -> Accesses:
        """The memory accesses, all at 4·clk + 2: per call (in order) a read of register a2 and 8 state
        read-modify-writes (the value written: the last block's output), then 16 word reads per block."""
        s, e = np.nonzero(self.start)[0], np.nonzero(self.last)[0]
        C, B = len(s), len(self.clk)
        sw = self.a0[s] >> 2
        key_c = np.concatenate([np.full((C, 1), (SPACE_REG << 32) | REG_A2, np.int64),
                                (np.int64(SPACE_MEM) << 32) | (sw[:, None] + np.arange(8))], axis=1)
        val_c = np.concatenate([self.n[s][:, None], self.state_out[e]], axis=1)
        wr_c = np.ones((C, 9), bool)
        wr_c[:, 0] = False
        key_b = (np.int64(SPACE_MEM) << 32) | (self.bw[:, None] + np.arange(16))
        ts_c = np.repeat(4 * self.clk[s] + TS_SLOT, 9)
        ts_b = np.repeat(4 * self.clk + TS_SLOT, 16)
        return Accesses(np.concatenate([key_c.ravel(), key_b.ravel()]), np.concatenate([ts_c, ts_b]),
                        np.concatenate([wr_c.ravel(), np.zeros(16 * B, bool)]),
                        np.concatenate([val_c.ravel(), np.zeros(16 * B, np.int64)]))

    def split(self, per_access: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values given per access (``accesses()`` order) -> (int64[C, 9]: a2 then the state words, per call;
        int64[B, 16]: the block words, per block)."""
        C = int(self.start.sum())
        return per_access[:9 * C].reshape(C, 9), per_access[9 * C:].reshape(-1, 16)


def check_replay(calls: ShaCalls, prev_value: np.ndarray) -> None:
    """The words the replay says each call read must be the ones the interpreter hashed."""
    pc, pb = calls.split(np.asarray(prev_value, np.int64))
    s = calls.start
    if not (np.array_equal(pc[:, 0], calls.n[s]) and np.array_equal(pc[:, 1:], calls.state_in[s])
            and np.array_equal(pb, calls.block)):
        raise ShaTraceError("a SHA256 call read memory the replay disagrees with")
    if not np.array_equal(calls.state_in[~s], calls.state_out[np.nonzero(~s)[0] - 1]):
        raise ShaTraceError("a SHA256 block did not start from the previous block's state")


# ---------------------------------------------------------------------------------------------- fill

M32 = 0xFFFFFFFF


def _rotr(x, n):
    return ((x >> n) | (x << (32 - n))) & M32


def _bswap(x):
    return ((x & 0xFF) << 24) | ((x & 0xFF00) << 8) | ((x >> 8) & 0xFF00) | (x >> 24)


def round_values(state_in: np.ndarray, block: np.ndarray, k=K) -> dict[str, np.ndarray]:
    """Every per-round word of B compressions, int64[B, 64] each (row r = the state before round r)."""
    B = state_in.shape[0]
    kk = np.asarray(k, dtype=np.int64).reshape(-1, ROUNDS) if np.ndim(k) == 2 else \
        np.broadcast_to(np.asarray(k, dtype=np.int64), (B, ROUNDS))
    W = np.zeros((B, ROUNDS), np.int64)
    W[:, :16] = _bswap(block.astype(np.int64))
    s0 = lambda x: _rotr(x, 7) ^ _rotr(x, 18) ^ (x >> 3)  # noqa: E731
    s1 = lambda x: _rotr(x, 17) ^ _rotr(x, 19) ^ (x >> 10)  # noqa: E731
    for i in range(16, ROUNDS):
        W[:, i] = (W[:, i - 16] + s0(W[:, i - 15]) + W[:, i - 7] + s1(W[:, i - 2])) & M32
    names = "abcdefgh"
    out = {n: np.zeros((B, ROUNDS), np.int64) for n in names + "AE"}
    st = [state_in[:, i].astype(np.int64) for i in range(8)]
    for r in range(ROUNDS):
        for n, x in zip(names, st):
            out[n][:, r] = x
        a, b, c, d, e, f, g, h = st
        S1 = _rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)
        ch = (e & f) ^ (~e & M32 & g)
        t1 = (h + S1 + ch + kk[:, r] + W[:, r]) & M32
        S0 = _rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)
        maj = (a & b) ^ (a & c) ^ (b & c)
        st = [(t1 + S0 + maj) & M32, a, b, c, (d + t1) & M32, e, f, g]
        out["A"][:, r], out["E"][:, r] = st[0], st[4]  # a, e after the round (an, en)
    out["W"], out["K"] = W, np.array(kk)
    return out


def _sig(x, r1, r2, r3, shr):
    return _rotr(x, r1) ^ _rotr(x, r2) ^ ((x >> r3) if shr else _rotr(x, r3))


def _round_main(rv: dict, calls: ShaCalls, prev_ts_block: np.ndarray) -> tuple[np.ndarray, list]:
    """The round table's trace, and its columns (canonical uint32: main[:, j] == columns[j]). Carries are
    computed from the columns themselves (the constraints' own sums), so rows that compute no round get the
    field elements that satisfy the transitions into them."""
    B = rv["a"].shape[0]
    n = B * ROWS_PER_BLOCK
    height = padded_height(n)
    real = np.arange(height) < n
    t = np.where(real, np.arange(height) % ROWS_PER_BLOCK, 0)
    pre = real & (t == 0)
    rnd = real & (t > 0)

    def rows(per_block):
        """int64[B, 33] -> one value per row of the table (0 on padding)."""
        out = np.zeros(height, np.int64)
        out[:n] = np.asarray(per_block, np.int64).reshape(-1)
        return out

    # a_j for j = -3..64 (index j + 3): b, c, d of the input state are a_{-1}, a_{-2}, a_{-3}
    aa = np.concatenate([rv["d"][:, :1], rv["c"][:, :1], rv["b"][:, :1], rv["a"], rv["A"][:, -1:]], axis=1)
    ee = np.concatenate([rv["h"][:, :1], rv["g"][:, :1], rv["f"][:, :1], rv["e"], rv["E"][:, -1:]], axis=1)
    st = np.arange(ROWS_PER_BLOCK)
    word = {"a0": rows(aa[:, 2 * st + 1]), "a1": rows(aa[:, 2 * st + 2]), "d3": rows(aa[:, 2 * st]),
            "an": rows(aa[:, 2 * st + 3]), "e0": rows(ee[:, 2 * st + 1]), "e1": rows(ee[:, 2 * st + 2]),
            "h3": rows(ee[:, 2 * st]), "en": rows(ee[:, 2 * st + 3])}
    zero = np.zeros((B, 1), np.int64)
    for name, src in (("w", rv["W"]), ("k", rv["K"])):
        word[f"{name}0"] = rows(np.concatenate([zero, src[:, 0::2]], axis=1))
        word[f"{name}1"] = rows(np.concatenate([zero, src[:, 1::2]], axis=1))
    v = ShaRoundCols.values()
    v.is_real, v.first = real.astype(np.int64), pre.astype(np.int64)
    v.last = (real & (t == STEPS)).astype(np.int64)
    r = np.where(rnd, t - 1, 0)
    is_msg = (rnd & (r < 8)).astype(np.int64)
    v.is_msg, v.r = is_msg, r
    clk = rows(np.repeat(calls.clk, ROWS_PER_BLOCK))
    v.clk, v.bw = clk, rows(np.repeat(calls.bw, ROWS_PER_BLOCK))
    lo = lambda x: x & 0xFFFF  # noqa: E731
    hi = lambda x: x >> 16  # noqa: E731
    v.k0, v.k1 = (lo(word["k0"]), hi(word["k0"])), (lo(word["k1"]), hi(word["k1"]))
    ts = 4 * clk + TS_SLOT
    msg_rows = np.nonzero(is_msg)[0]
    prev = prev_ts_block.reshape(-1, 2)  # block words 2r, 2r + 1 of each message row, in row order
    for j in range(2):
        md = np.zeros(height, np.int64)
        md[msg_rows] = ts[msg_rows] - 1 - prev[:, j]
        setattr(v, f"md{j}", (md & 0xFFFF, md >> 16))
    v.m8 = (rnd & (r + P_LAG < STEPS)).astype(np.int64)
    v.m3 = (rnd & (r + V_LAG >= 8) & (r + V_LAG < STEPS)).astype(np.int64)
    for w in _WORDS:
        x = word[w]
        setattr(v, w, [(x >> i) & 1 for i in range(32)])
    for name in ("d3", "h3", "an", "en"):
        setattr(v, name, (lo(word[name]), hi(word[name])))

    def shift(x, k):
        """Row i gets x[i - k] (k > 0: from above; k < 0: from below), zero where there is none."""
        out = np.zeros(height, np.int64)
        if 0 < k < height:
            out[k:] = x[:height - k]
        elif -height < k < 0:
            out[:k] = x[-k:]
        return out

    inv = pow(65536, P - 2, P)

    def carries(sum_lo, sum_hi, res):
        """The carries that make sum = res + 2^16·carry hold limb by limb, as field elements (exact small
        integers wherever the sums are real)."""
        c_lo = (sum_lo - lo(res)) % P * inv % P
        c_hi = (sum_hi + c_lo - hi(res)) % P * inv % P
        return c_lo, c_hi

    # the two rounds computed on the transition into each row (cur = the row above)
    cur = {w: shift(word[w], 1) for w in ("a0", "a1", "e0", "e1", "d3", "h3")}
    a0, a1, e0, e1, wn0, wn1 = (word[w] for w in ("a0", "a1", "e0", "e1", "w0", "w1"))

    def one_round(a, b, c, d, e, f, g, h, k, w, res_a, res_e, tag):
        s1, ch = _sig(e, 6, 11, 25, False), (e & f) ^ (~e & M32 & g)
        s0, maj = _sig(a, 2, 13, 22, False), (a & b) ^ (a & c) ^ (b & c)
        t1 = [p(h) + p(s1) + p(ch) + p(k) + p(w) for p in (lo, hi)]
        setattr(v, f"ca{tag}", carries(t1[0] + lo(s0) + lo(maj), t1[1] + hi(s0) + hi(maj), res_a))
        setattr(v, f"ce{tag}", carries(t1[0] + lo(d), t1[1] + hi(d), res_e))

    one_round(a0, cur["a1"], cur["a0"], cur["d3"], e0, cur["e1"], cur["e0"], cur["h3"], word["k0"], wn0, a1, e1, 0)
    one_round(a1, a0, cur["a1"], cur["a0"], e1, e0, cur["e1"], cur["e0"], word["k1"], wn1, word["an"], word["en"], 1)
    for name in ("ca0", "ce0", "ca1", "ce1"):  # the first table row has no row above: its carries are unused
        for x in getattr(v, name):
            x[0] = 0

    # schedule: P, Q, V on every row (definitions), the received values on schedule rows only
    s0 = lambda x: _sig(x, 7, 18, 3, True)  # noqa: E731
    s1 = lambda x: _sig(x, 17, 19, 10, True)  # noqa: E731
    vals = {"p": [lo(wn0) + lo(s0(wn1)), hi(wn0) + hi(s0(wn1))],
            "q": [lo(wn1) + lo(s0(shift(wn0, -1))), hi(wn1) + hi(s0(shift(wn0, -1)))],
            "v": [lo(shift(wn1, 1)), hi(shift(wn1, 1))]}
    sched = rnd & (is_msg == 0)
    vals["rp"] = [np.where(sched, shift(x, P_LAG), 0) for x in vals["p"]]
    vals["rq"] = [np.where(sched, shift(x, P_LAG), 0) for x in vals["q"]]
    vals["rv"] = [np.where(sched, shift(x, V_LAG), 0) for x in vals["v"]]
    vals["rw"] = [np.where(sched, shift(p(wn0), V_LAG), 0) for p in (lo, hi)]
    for name, pair in vals.items():
        setattr(v, name, tuple(pair))
    for j, (wn, rv_, rp_) in enumerate(((wn0, "rv", "rp"), (wn1, "rw", "rq"))):
        s1w = s1(shift(wn, 1))
        c_lo, c_hi = carries(lo(s1w) + vals[rv_][0] + vals[rp_][0], hi(s1w) + vals[rv_][1] + vals[rp_][1], wn)
        c_lo[0] = c_hi[0] = 0
        setattr(v, f"cw{j}", (c_lo, c_hi))
    cols = v.ordered()
    out = trace_rows(cols, height, height)
    v.store.clear()
    for j, col in enumerate(cols):  # canonical and 4 bytes a cell: each int64 column is freed as it is replaced
        cols[j] = np.mod(col, P).astype(np.uint32)
    return out, cols


def _block_main(calls: ShaCalls, rv: dict, prev_ts_call: np.ndarray, text: tuple[int, int]) -> np.ndarray:
    """One row per block; ``prev_ts_call`` (int64[C, 9]): previous-access timestamps of a2 and the 8 state
    words of each call."""
    B = len(calls.clk)
    height = padded_height(B)
    start, last = calls.start, calls.last
    call = np.cumsum(start) - 1  # the call of each block
    v = ShaBlockCols.values()
    v.is_real, v.start, v.last, v.clk = np.ones(B, np.int64), start.astype(np.int64), last.astype(np.int64), calls.clk
    a0, a1 = calls.a0, calls.a1
    v.a0_lo, v.a0_hi, v.a1_lo, v.a1_hi = a0 & 0xFFFF, a0 >> 16, a1 & 0xFFFF, a1 >> 16
    v.sx, v.bx = (a0 & 0xFFFF) >> 2, (a1 & 0xFFFF) >> 2
    sw, bw = a0 >> 2, calls.bw
    v.bw = bw
    v.rem = calls.n - (np.arange(B) - np.nonzero(start)[0][call])
    rs, rb = MEM_WORDS - 8 - sw, MEM_WORDS - 16 - bw
    v.rs, v.rb = (rs & 0xFFFF, rs >> 16), (rb & 0xFFFF, rb >> 16)
    text_lo, text_hi = text
    above = (sw >= text_hi).astype(np.int64)
    tx = np.where(above == 1, sw - text_hi, text_lo - 8 - sw) % P
    v.above, v.tx = above, (tx & 0xFFFF, tx >> 16)
    ts = 4 * calls.clk + TS_SLOT
    dn = np.where(start, ts - 1 - prev_ts_call[call, 0], 0)
    v.dn = (dn & 0xFFFF, dn >> 16)
    end = ROUNDS - 1
    fin = [rv["A"][:, end], rv["a"][:, end], rv["b"][:, end], rv["c"][:, end],
           rv["E"][:, end], rv["e"][:, end], rv["f"][:, end], rv["g"][:, end]]
    hin_l, fin_l, out_l, c1_l, c2_l, d_l = [], [], [], [], [], []
    for i in range(8):
        hin, fi = calls.state_in[:, i], fin[i]
        out = (hin + fi) & M32
        hin_l.append((hin & 0xFFFF, hin >> 16))
        fin_l.append((fi & 0xFFFF, fi >> 16))
        out_l.append((out & 0xFFFF, out >> 16))
        c1 = ((hin & 0xFFFF) + (fi & 0xFFFF)) >> 16
        c1_l.append(c1)
        c2_l.append(((hin >> 16) + (fi >> 16) + c1) >> 16)
        dd = np.where(start, ts - 1 - prev_ts_call[call, 1 + i], 0)
        d_l.append((dd & 0xFFFF, dd >> 16))
    v.hin, v.fin, v.out, v.c1, v.c2, v.d = hin_l, fin_l, out_l, c1_l, c2_l, d_l
    return v.assemble(B, height)


class _Overflow(Exception):
    pass


class _Exact:
    """An int64 array or a Python int, with a bound on its absolute value."""

    __slots__ = ("v", "bound")

    def __init__(self, v, bound: int) -> None:
        self.v, self.bound = v, bound


class _ExactIntOps:
    """Integer arithmetic on int64 arrays, exact while every bound stays below 2^62 (else _Overflow), reduced
    mod p once at the end: the field values, without a division per operation (the lookup tuples are small
    linear combinations of bits, bytes and limbs)."""

    LIMIT = 1 << 62

    @staticmethod
    def _lift(x) -> _Exact:
        return x if isinstance(x, _Exact) else _Exact(x, abs(x))

    def add(self, a, b):
        a, b = self._lift(a), self._lift(b)
        if a.bound + b.bound >= self.LIMIT:
            raise _Overflow
        return _Exact(a.v + b.v, a.bound + b.bound)

    def sub(self, a, b):
        a, b = self._lift(a), self._lift(b)
        if a.bound + b.bound >= self.LIMIT:
            raise _Overflow
        return _Exact(a.v - b.v, a.bound + b.bound)

    def mul(self, a, b):
        a, b = self._lift(a), self._lift(b)
        if a.bound * b.bound >= self.LIMIT:
            raise _Overflow
        return _Exact(a.v * b.v, a.bound * b.bound)

    def neg(self, a):
        a = self._lift(a)
        return _Exact(-a.v, a.bound)

    @staticmethod
    def reduce(x):
        x = x.v if isinstance(x, _Exact) else x
        return x % P if isinstance(x, int) else np.mod(x, P)


def report_lookups(table, main: np.ndarray, sends: LookupSends, columns: list | None = None) -> None:
    """Report every range16 / bytes send of `table` (a fixed-column-free table) over its trace, evaluated with
    the AIR's own expressions: the fill cannot disagree with the constraints about what is looked up.
    ``columns``: the trace's columns (main[:, j] == columns[j]), read instead of the row-major trace (a column
    of it is a strided read of the whole trace). Evaluated in exact integers (`_ExactIntOps`), or mod p per
    operation where a bound could exceed int64."""
    from zkvm.stark.dsl.air import evaluate
    from zkvm.stark.dsl.algebra import BaseArrayOps

    ops = BaseArrayOps()
    exact = _ExactIntOps()
    cache: dict = {}

    def column(kind, idx, nxt):
        key = (idx, nxt)
        if key not in cache:
            col = (main[:, idx] if columns is None else columns[idx]).astype(np.uint64)
            cache[key] = np.roll(col, -1) if nxt else col
        return cache[key]

    exact_cache: dict = {}

    def exact_column(kind, idx, nxt):
        key = (idx, nxt)
        if key not in exact_cache:
            col = (main[:, idx] if columns is None else columns[idx]).astype(np.int64)
            col = np.roll(col, -1) if nxt else col
            exact_cache[key] = _Exact(col, int(col.max()) if col.size else 0)
        return exact_cache[key]

    h = main.shape[0]
    for it in table.interactions:
        if it.sign != 1 or it.bus not in (BUS_RANGE16, BUS_BYTES):
            continue
        try:
            vals = [exact.reduce(x) for x in evaluate([it.mult] + list(it.values), exact, exact_column, lambda n: 0)]
        except _Overflow:
            vals = evaluate([it.mult] + list(it.values), ops, column, lambda n: 0)
        mult, *tup = (np.broadcast_to(np.asarray(x, dtype=np.int64), (h,)) for x in vals)
        live = mult == 1
        if it.bus == BUS_RANGE16:
            sends.add_range16(tup[0][live])
        else:
            op = tup[0][live]
            sends.add_bytes(op, tup[1][live], tup[2][live])
