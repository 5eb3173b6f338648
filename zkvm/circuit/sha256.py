"""SHA-256 compression accelerator: the SHA256 ecall (zkvm/abi.py) proven by three tables beside the CPU.

Tables and buses (the CPU row of the ecall does O(1) work: one send on ``ecall_sha256``):

* ``sha256_block`` — one row per call. Receives the call (clk, a0, a1) from the CPU, checks the pointers,
  reads the 8 state words and writes the 8 new ones on the memory bus (read-modify-write accesses at
  timestamp 4·clk + 2), sends the input state to the round table and receives the state after 64 rounds,
  and proves the final addition H_out = H_in + state mod 2^32.
* ``sha256_round`` — 64 rows per call, row r = round r (state a..h before the round, W_r, K_r). Rows 0..15
  read the 16 block words on the memory bus (same timestamp) and byte-swap them into W_0..W_15; rows 16..63
  derive W_r from the message schedule. a, e and W are 32 boolean columns each; b, c, f, g are bytes (shift
  transitions b' = a, c' = b, f' = e, g' = f). Σ0(a), Σ1(e), σ0(W), σ1(W) are degree-3 polynomials of the
  bits (x ^ y ^ z = x + y + z - 2(xy + yz + zx) + 4xyz), used directly in the limb additions: no column, no
  lookup. Ch = (e & f) + (~e & g) and Maj = (a + b + c - (a ^ b ^ c)) / 2 are byte lookups into the fixed
  ``bytes`` table (two per byte each), on bytes that are linear in the bits.
* ``sha256_k`` — fixed, 64 rows (r, r < 16, K_r, mw_r, mq_r): the round constant, the message-row flag and how
  many later rounds read round r's W and q on the ``sha256_w`` bus.

Why this layout (cells = padded rows x (main + 4 x aux extension columns); 64 rows + 1 block row per call):
the previous layout spent 32 byte columns + 32 XOR lookups (~96 cells a row) on Σ/σ and 48 columns on
shift-register windows of the schedule; the polynomials remove the first, and the ``sha256_w`` bus (each W_j
and q_j = σ0(W_j) + W_{j-1} sent once with its multiplicity, received by the one round that needs it; σ1 of
the row above by a transition) replaces the windows with 8 columns + 4 interactions. Maj's integer identity
saves one lookup and one column a byte over (a & b) + (c & (a ^ b)). Round table: 237 main + 128 aux -> 163
main + 64 aux columns. Keeping bits of b, c, f, g instead (Ch, Maj algebraic too) would cost 128 bit columns
against the 16 byte columns + 16 outputs + 16 lookups (~64 cells) here, so it does not pay with one round a
row; it pays with two rounds a row (the copies are shared), which is the next step if more is needed.

Buses: ``ecall_sha256`` (clk, a0_lo, a0_hi, a1_lo, a1_hi) cpu -> block; ``sha256_init`` (clk, block word
index, H0..H7 limbs) block -> first round row; ``sha256_final`` (clk, a..h limbs after round 63) last round
row -> block; ``sha256_k`` (r, is_msg, k_lo, k_hi, mw, mq) round rows -> the fixed K table; ``sha256_w``
(clk, index, lo, hi) round rows -> later round rows of the same call (schedule terms); plus ``mem``,
``bytes``, ``range16``.

Soundness (overall): every call is received exactly once (the CPU sends each clk once; a block row's call
tuple carries its clk; a round block's init/final tuples carry the same clk, constant over its 64 rows), so
no table row exists without an ecall and no ecall without its rows. Memory traffic goes through the same
offline-memory-checking argument as loads and stores, at timestamp 4·clk + 2 of the ecall's cycle (its own
CPU accesses that cycle are registers only). Interpreter traps are unprovable: a misaligned or out-of-range
pointer by the pointer decomposition below (or a cell without initialisation), a state in the program text
by the text-distance check, overlapping state and block because one cell would be accessed twice at the
same timestamp (the memory argument needs strictly increasing timestamps per cell).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkvm.circuit.lookups import LookupSends, padded_height, trace_rows
from zkvm.circuit.memory import BUS_MEM, SPACE_MEM, Accesses
from zkvm.circuit.opcodes import BUS_BYTES, BUS_RANGE16, BYTE_AND, BYTE_RANGE, BYTE_XOR
from zkvm.errors import ZkvmError
from zkvm.field.babybear import P

BUS_CALL, BUS_INIT, BUS_FINAL, BUS_K = "ecall_sha256", "sha256_init", "sha256_final", "sha256_k"
BUS_W = "sha256_w"
BLOCK_NAME, ROUND_NAME, K_NAME = "sha256_block", "sha256_round", "sha256_k"
#: Memory timestamp slot of the accelerator's accesses: 4·clk + TS_SLOT (the ecall row uses registers only).
TS_SLOT = 2
ROUNDS = 64
MEM_WORDS = 1 << 22  # guest memory in words (abi.MEM_END / 4)
K = (0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
     0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
     0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
     0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
     0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
     0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
     0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
     0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2)

#: Schedule senders: round j's W_j goes to round j + 7 (W_{r-7}), its q_j = σ0(W_j) + W_{j-1} to round j + 15.
W_LAG, Q_LAG, Q_BASE = 7, 15, ROUNDS

ROUND_COLUMNS = (
    ("is_real", "first", "last", "is_msg", "r", "clk", "bw", "k_lo", "k_hi", "md_lo", "md_hi", "mw", "mq")
    + tuple(f"{w}{i}" for w in "aew" for i in range(32))
    + tuple(f"{w}{k}" for w in "bcfg" for k in range(4))
    + ("d_lo", "d_hi", "h_lo", "h_hi", "an_lo", "an_hi", "en_lo", "en_hi", "ca_lo", "ca_hi", "ce_lo", "ce_hi",
       "cw_lo", "cw_hi")
    + tuple(f"{n}{k}" for n in ("u", "v", "x", "m") for k in range(4))
    + ("s1_lo", "s1_hi", "q_lo", "q_hi", "rw_lo", "rw_hi", "rq_lo", "rq_hi")
)
BLOCK_COLUMNS = (
    ("is_real", "clk", "a0_lo", "a0_hi", "a1_lo", "a1_hi", "sx", "bx", "rs_lo", "rs_hi", "rb_lo", "rb_hi",
     "above", "tx_lo", "tx_hi")
    + tuple(f"{n}{i}_{p}" for n in ("hin", "fin", "out") for i in range(8) for p in ("lo", "hi"))
    + tuple(f"c{j}_{i}" for j in (1, 2) for i in range(8))
    + tuple(f"d{i}_{p}" for i in range(8) for p in ("lo", "hi"))
)
K_FIXED = ("r", "msg", "k_lo", "k_hi", "mw", "mq")


# ---------------------------------------------------------------------------------------------- expressions

def _bytes_of(bits, rot: int = 0, shr: bool = False):
    """The 4 bytes (low first) of ROTR(x, rot) — or SHR(x, rot) — of the word whose bits are `bits`: linear."""
    out = []
    for k in range(4):
        terms = []
        for j in range(8):
            i = 8 * k + j + rot
            if i >= 32:
                if shr:
                    continue
                i -= 32
            terms.append((1 << j) * bits[i])
        acc = terms[0] if terms else 0  # SHR10's top byte is all zero bits
        for term in terms[1:]:
            acc = acc + term
        out.append(acc)
    return out


def _limbs(b):
    return b[0] + 256 * b[1], b[2] + 256 * b[3]


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
        c = {n: t.main(n) for n in ROUND_COLUMNS}
        is_real, first, last, is_msg, r = c["is_real"], c["first"], c["last"], c["is_msg"], c["r"]
        a = [c[f"a{i}"] for i in range(32)]
        e = [c[f"e{i}"] for i in range(32)]
        w = [c[f"w{i}"] for i in range(32)]
        bb, cb, fb, gb = ([c[f"{n}{k}"] for k in range(4)] for n in "bcfg")
        col4 = lambda n: [c[f"{n}{k}"] for k in range(4)]  # noqa: E731
        A, E, W = _bytes_of(a), _bytes_of(e), _bytes_of(w)

        def boolean(name):
            t.always(f"{name}_bool", c[name] * (1 - c[name]))

        # Soundness (control): real rows come first; a block is rows r = 0..63 — `first` on r = 0, r steps by
        # one until `last`, which only r = 63 may set, and the row after `last` starts the next block. r is
        # bound to 0..63 by the K lookup, so a block has exactly 64 rows: no round skipped or repeated.
        for name in ("is_real", "first", "last", "is_msg"):
            boolean(name)
        t.first("starts_block", first - is_real)
        t.transition("real_prefix", is_real.next * (1 - is_real))
        t.always("first_real", first * (1 - is_real))
        t.always("msg_real", is_msg * (1 - is_real))
        t.always("round_first", first * r)
        t.transition("round_step", (1 - last) * is_real.next * (r.next - r - 1))
        t.always("round_last", last * (r - (ROUNDS - 1)))
        t.transition("block_next", is_real.next * (first.next - last))
        t.transition("block_ends", is_real * (1 - is_real.next) * (1 - last))
        t.last("last_row_ends_block", is_real * (1 - last))
        # the call (clk) and block pointer stay the same over a block
        t.transition("clk_const", (1 - last) * (c["clk"].next - c["clk"]))
        t.transition("bw_const", (1 - last) * (c["bw"].next - c["bw"]))
        # Soundness (K): the fixed table holds exactly (r, [r < 16], K_r, mw_r, mq_r) for r = 0..63 (mw, mq: how
        # many later rounds read this round's W and q, see the schedule below).
        t.send(BUS_K, [r, is_msg, c["k_lo"], c["k_hi"], c["mw"], c["mq"]], mult=is_real)

        # Soundness (bits): a, e, W as 32 boolean columns each; every byte and limb below is a linear
        # combination of them, so it is in range by construction.
        for name in "aew":
            for i in range(32):
                boolean(f"{name}{i}")

        # ---- message: rows 0..15 read block word r; its little-endian bytes are W's big-endian bytes.
        # Soundness: same memory argument as loads (receive the previous (value, ts), send it back at ts),
        # ts - ts_prev - 1 range-checked < 2^24 (md_lo range16, md_hi byte).
        ts = 4 * c["clk"] + TS_SLOT
        m_lo, m_hi = W[3] + 256 * W[2], W[1] + 256 * W[0]
        md = c["md_lo"] + 65536 * c["md_hi"]
        addr = c["bw"] + r
        t.receive(BUS_MEM, [SPACE_MEM, addr, m_lo, m_hi, ts - 1 - md], mult=is_msg)
        t.send(BUS_MEM, [SPACE_MEM, addr, m_lo, m_hi, ts], mult=is_msg)
        t.send(BUS_RANGE16, [c["md_lo"]], mult=is_msg)

        # ---- Σ0(a) = ROTR2 ^ ROTR13 ^ ROTR22, Σ1(e) = ROTR6 ^ ROTR11 ^ ROTR25: degree-3 polynomials of the bits
        # (no column). Ch(e, f, g) = (e & f) + (~e & g) (disjoint bits: the XOR is a sum), two AND lookups per
        # byte. Maj(a, b, c) = (a + b + c - (a ^ b ^ c)) / 2 as integers (per bit a + b + c = xor + 2·maj), two
        # XOR lookups per byte (x = a ^ b, m = x ^ c). Soundness: the byte table only holds (AND/XOR, x, y,
        # x op y) for bytes, so u, v, m are exact and b, c, f, g are proven bytes.
        S0, S1 = _sigma_limbs(a, 2, 13, 22), _sigma_limbs(e, 6, 11, 25)
        for k in range(4):
            t.send(BUS_BYTES, [BYTE_AND, E[k], fb[k], c[f"u{k}"]], mult=is_real)
            t.send(BUS_BYTES, [BYTE_AND, 255 - E[k], gb[k], c[f"v{k}"]], mult=is_real)
            t.send(BUS_BYTES, [BYTE_XOR, A[k], bb[k], c[f"x{k}"]], mult=is_real)
            t.send(BUS_BYTES, [BYTE_XOR, c[f"x{k}"], cb[k], c[f"m{k}"]], mult=is_real)

        # ---- additions mod 2^32 in 16-bit limbs: sum_lo = res_lo + 2^16·carry_lo, sum_hi + carry_lo =
        # res_hi + 2^16·carry_hi (a's equations doubled, for Maj's halving). Soundness: carries are byte-checked
        # and results are in [0, 2^16) (bits, or range16 in the block table for the last row's a, e), so both
        # sides are integers < 2^25 < p and the decomposition is unique; a wrong carry forces a result limb out
        # of range.
        u, v = _limbs(col4("u")), _limbs(col4("v"))
        Al, Bl, Cl, Ml = _limbs(A), _limbs(bb), _limbs(cb), _limbs(col4("m"))
        maj2 = [Al[i] + Bl[i] + Cl[i] - Ml[i] for i in range(2)]  # 2·Maj, exactly
        h = (c["h_lo"], c["h_hi"])
        d = (c["d_lo"], c["d_hi"])
        k_ = (c["k_lo"], c["k_hi"])
        Wl = _limbs(W)
        t1 = [h[i] + S1[i] + u[i] + v[i] + k_[i] + Wl[i] for i in range(2)]
        an, en = (c["an_lo"], c["an_hi"]), (c["en_lo"], c["en_hi"])
        ca, ce = (c["ca_lo"], c["ca_hi"]), (c["ce_lo"], c["ce_hi"])
        t.always("add_a_lo", 2 * (t1[0] + S0[0] - an[0] - 65536 * ca[0]) + maj2[0])
        t.always("add_a_hi", 2 * (t1[1] + S0[1] + ca[0] - an[1] - 65536 * ca[1]) + maj2[1])
        t.always("add_e_lo", t1[0] + d[0] - en[0] - 65536 * ce[0])
        t.always("add_e_hi", t1[1] + d[1] + ce[0] - en[1] - 65536 * ce[1])

        # ---- schedule (rows 16..63): W_r = σ1(W_{r-2}) + W_{r-7} + q_{r-15}, q_j = σ0(W_j) + W_{j-1}.
        # s1 (row r) = σ1(W_{r-1}) and q (row r) = σ0(W_r) + W_{r-1} are defined by transitions from the row
        # above (degree 3, no selector: pure definitions, rows that do not need them just hold the value);
        # W_{r-7} and q_{r-15} arrive on the `sha256_w` bus: round j sends (clk, j, W_j) if j + 7 is a schedule
        # round and (clk, 64 + j, q_j) if j + 15 is (multiplicities mw, mq from the K table), each schedule row
        # receives (clk, r - 7, rw) and (clk, 64 + r - 15, rq). Soundness: clk is unique per block and r is
        # bound to the row's round (K, round_step), so rw and rq are exactly the values of those rounds of the
        # same call; rq < 2^17, so the carries are < 4 and the decomposition is unique as above.
        sched = is_real * (1 - is_msg)
        s1, q = (c["s1_lo"], c["s1_hi"]), (c["q_lo"], c["q_hi"])
        rw, rq, cw = (c["rw_lo"], c["rw_hi"]), (c["rq_lo"], c["rq_hi"]), (c["cw_lo"], c["cw_hi"])
        sig1 = _sigma_limbs(w, 17, 19, 10, shr=True)
        sig0_next = [x.next for x in _sigma_limbs(w, 7, 18, 3, shr=True)]
        Wl_next = _limbs(_bytes_of([x.next for x in w]))
        for i, p in enumerate(("lo", "hi")):
            t.transition(f"s1_{p}", s1[i].next - sig1[i])
            t.transition(f"q_{p}", q[i].next - sig0_next[i] - Wl[i])
        sn = sched.next
        t.transition("schedule_lo", sn * (Wl_next[0] + 65536 * cw[0].next - s1[0] - rw[0].next - rq[0].next))
        t.transition("schedule_hi", sn * (Wl_next[1] + 65536 * cw[1].next - cw[0].next - s1[1] - rw[1].next
                                          - rq[1].next))
        t.send(BUS_W, [c["clk"], r, Wl[0], Wl[1]], mult=is_real * c["mw"])
        t.send(BUS_W, [c["clk"], Q_BASE + r, q[0], q[1]], mult=is_real * c["mq"])
        t.receive(BUS_W, [c["clk"], r - W_LAG, rw[0], rw[1]], mult=sched)
        t.receive(BUS_W, [c["clk"], Q_BASE + r - Q_LAG, rq[0], rq[1]], mult=sched)
        t.send(BUS_BYTES, [BYTE_RANGE, ca[0], ca[1], 0], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, ce[0], ce[1], 0], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, cw[0], cw[1], 0], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, c["md_hi"], 0, 0], mult=is_msg)

        # ---- state to the next round (inside a block): a' = an, b' = a, c' = b, d' = c, e' = en, f' = e, ...
        # Soundness: the bits of the next a / e must represent exactly an / en (so an, en are 16-bit limbs).
        nxt = 1 - last
        A_next, E_next = _limbs(_bytes_of([x.next for x in a])), _limbs(_bytes_of([x.next for x in e]))
        for i, p in enumerate(("lo", "hi")):
            t.transition(f"a_next_{p}", nxt * (A_next[i] - an[i]))
            t.transition(f"e_next_{p}", nxt * (E_next[i] - en[i]))
        for k in range(4):
            t.transition(f"b_next{k}", nxt * (bb[k].next - A[k]))
            t.transition(f"c_next{k}", nxt * (cb[k].next - bb[k]))
            t.transition(f"f_next{k}", nxt * (fb[k].next - E[k]))
            t.transition(f"g_next{k}", nxt * (gb[k].next - fb[k]))
        C, G = _limbs(cb), _limbs(gb)
        for i, p in enumerate(("lo", "hi")):
            t.transition(f"d_next_{p}", nxt * (d[i].next - C[i]))
            t.transition(f"h_next_{p}", nxt * (h[i].next - G[i]))

        # ---- link to the block table: the first row takes H_in as a..h; the last row hands a..h after
        # round 63 back. Soundness: both tuples carry clk (and bw), constant over the block.
        El, Fl = _limbs(E), _limbs(fb)
        state = [*Al, *Bl, *C, *d, *El, *Fl, *G, *h]
        t.receive(BUS_INIT, [c["clk"], c["bw"], *state], mult=first)
        t.send(BUS_FINAL, [c["clk"], *an, *Al, *Bl, *C, *en, *El, *Fl, *G], mult=last)

    # ------------------------------------------------------------------------------------------ block table
    @staticmethod
    def _block(t, text_lo, text_hi) -> None:
        c = {n: t.main(n) for n in BLOCK_COLUMNS}
        is_real = c["is_real"]
        t.always("is_real_bool", is_real * (1 - is_real))
        t.receive(BUS_CALL, [c["clk"], c["a0_lo"], c["a0_hi"], c["a1_lo"], c["a1_hi"]], mult=is_real)
        # Soundness (pointers): a0 = 4·sx + 2^16·a0_hi with sx < 2^16 (range16) and a0_lo < 2^16 (a register
        # value), so a0_lo = 4·sx as integers: 4-aligned; a0_hi is a byte, so a0 < 2^24 = MEM_END and the
        # word index sw = sx + 2^14·a0_hi < 2^22. sw + 8 <= 2^22 by a range-checked distance (rs); same for
        # the block (bw, 16 words, rb). Pointers below MEM_START reach cells no table initialises:
        # unprovable, as they trap in the interpreter.
        sw = c["sx"] + 16384 * c["a0_hi"]
        bw = c["bx"] + 16384 * c["a1_hi"]
        t.always("state_ptr", is_real * (c["a0_lo"] - 4 * c["sx"]))
        t.always("block_ptr", is_real * (c["a1_lo"] - 4 * c["bx"]))
        t.always("state_end", is_real * (MEM_WORDS - 8 - sw - c["rs_lo"] - 65536 * c["rs_hi"]))
        t.always("block_end", is_real * (MEM_WORDS - 16 - bw - c["rb_lo"] - 65536 * c["rb_hi"]))
        # Soundness (text): the state is written, and the program's words are never written (the
        # interpreter traps on it, as for stores): sw >= text_hi, or sw + 8 <= text_lo.
        above = c["above"]
        t.always("above_bool", above * (1 - above))
        dist = above * (sw - text_hi) + (1 - above) * (text_lo - 8 - sw)
        t.always("state_outside_text", is_real * (dist - c["tx_lo"] - 65536 * c["tx_hi"]))
        for name in ("sx", "bx", "rs_lo", "rb_lo", "tx_lo"):
            t.send(BUS_RANGE16, [c[name]], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, c["a0_hi"], c["a1_hi"], 0], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, c["rs_hi"], c["rb_hi"], 0], mult=is_real)
        t.send(BUS_BYTES, [BYTE_RANGE, c["tx_hi"], 0, 0], mult=is_real)

        hin = [(c[f"hin{i}_lo"], c[f"hin{i}_hi"]) for i in range(8)]
        fin = [(c[f"fin{i}_lo"], c[f"fin{i}_hi"]) for i in range(8)]
        out = [(c[f"out{i}_lo"], c[f"out{i}_hi"]) for i in range(8)]
        t.send(BUS_INIT, [c["clk"], bw] + [x for pair in hin for x in pair], mult=is_real)
        t.receive(BUS_FINAL, [c["clk"]] + [x for pair in fin for x in pair], mult=is_real)
        # Soundness (final addition): out = hin + fin mod 2^32 with boolean carries and out limbs range16;
        # hin are memory words (well formed), fin's a and e limbs are range-checked here (the other six are
        # bytes/limbs the round table already bounds).
        ts = 4 * c["clk"] + TS_SLOT
        for i in range(8):
            c1, c2 = c[f"c1_{i}"], c[f"c2_{i}"]
            t.always(f"c1_{i}_bool", c1 * (1 - c1))
            t.always(f"c2_{i}_bool", c2 * (1 - c2))
            t.always(f"final{i}_lo", hin[i][0] + fin[i][0] - out[i][0] - 65536 * c1)
            t.always(f"final{i}_hi", hin[i][1] + fin[i][1] + c1 - out[i][1] - 65536 * c2)
            t.send(BUS_RANGE16, [out[i][0]], mult=is_real)
            t.send(BUS_RANGE16, [out[i][1]], mult=is_real)
        for i in (0, 4):
            t.send(BUS_RANGE16, [fin[i][0]], mult=is_real)
            t.send(BUS_RANGE16, [fin[i][1]], mult=is_real)
        # Soundness (memory): one read-modify-write access per state word, like a store.
        for i in range(8):
            d = c[f"d{i}_lo"] + 65536 * c[f"d{i}_hi"]
            t.receive(BUS_MEM, [SPACE_MEM, sw + i, hin[i][0], hin[i][1], ts - 1 - d], mult=is_real)
            t.send(BUS_MEM, [SPACE_MEM, sw + i, out[i][0], out[i][1], ts], mult=is_real)
            t.send(BUS_RANGE16, [c[f"d{i}_lo"]], mult=is_real)
        for i in range(0, 8, 2):
            t.send(BUS_BYTES, [BYTE_RANGE, c[f"d{i}_hi"], c[f"d{i + 1}_hi"], 0], mult=is_real)

    # ------------------------------------------------------------------------------------------ K table
    @staticmethod
    def _k(t) -> None:
        t.receive(BUS_K, [t.fixed(n) for n in K_FIXED], mult=t.main("mult"))

    @staticmethod
    def k_fixed() -> np.ndarray:
        k = np.array(K, dtype=np.int64)
        r = np.arange(ROUNDS)
        mw = (r + W_LAG >= 16) & (r + W_LAG < ROUNDS)
        mq = (r + Q_LAG >= 16) & (r + Q_LAG < ROUNDS)
        return np.stack([r, r < 16, k & 0xFFFF, k >> 16, mw, mq], axis=1).astype(np.uint32)

    # ------------------------------------------------------------------------------------------ trace
    def fill(self, calls: "ShaCalls", prev_ts: np.ndarray, sends: LookupSends, text: tuple[int, int],
             k: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Main traces of the three tables. ``prev_ts`` (int64[B, 24]): timestamps of the previous access of
        the 8 state then 16 block words of each call (from the memory replay). ``k`` overrides the round
        constants (malicious-prover tests only)."""
        B = len(calls.clk)
        rv = round_values(calls.state_in, calls.block, K if k is None else k)
        rmain, rcols = _round_main(rv, calls, prev_ts[:, 8:])
        bmain = _block_main(calls, rv, prev_ts[:, :8], text)
        kmain = np.full((ROUNDS, 1), B, dtype=np.uint32)
        report_lookups(self.round_t, rmain, sends, rcols)
        report_lookups(self.block_t, bmain, sends)
        return {ROUND_NAME: rmain, BLOCK_NAME: bmain, K_NAME: kmain}


# ---------------------------------------------------------------------------------------------- calls

class ShaTraceError(ZkvmError):
    """The recorded SHA256 calls disagree with the memory replay (the circuit would not accept them)."""


@dataclass
class ShaCalls:
    clk: np.ndarray        # int64[B]: the ecall rows' clk (cycle index + 1)
    a0: np.ndarray         # int64[B]: state pointer
    a1: np.ndarray         # int64[B]: block pointer
    state_in: np.ndarray   # int64[B, 8]
    block: np.ndarray      # int64[B, 16]: block words as stored (little-endian)
    state_out: np.ndarray  # int64[B, 8]

    @staticmethod
    def from_record(rec) -> "ShaCalls":
        log = np.asarray(rec.sha_calls, dtype=np.int64).reshape(-1, 33)
        t = log[:, 0]
        return ShaCalls(t + int(getattr(rec, "clk0", 1)), np.asarray(rec.rs1_val, np.int64)[t], np.asarray(rec.rs2_val, np.int64)[t],
                        log[:, 1:9], log[:, 9:25], log[:, 25:33])

    def accesses(self) -> Accesses:
        """The memory accesses of every call: 8 state read-modify-writes then 16 block reads, at 4·clk + 2."""
        B = len(self.clk)
        sw, bw = self.a0 >> 2, self.a1 >> 2
        addr = np.concatenate([sw[:, None] + np.arange(8), bw[:, None] + np.arange(16)], axis=1)
        key = (np.int64(SPACE_MEM) << 32) | addr
        ts = np.repeat(4 * self.clk + TS_SLOT, 24).reshape(B, 24)
        is_write = np.zeros((B, 24), bool)
        is_write[:, :8] = True
        value = np.concatenate([self.state_out, np.zeros((B, 16), np.int64)], axis=1)
        return Accesses(key.ravel(), ts.ravel(), is_write.ravel(), value.ravel())


def check_replay(calls: ShaCalls, prev_value: np.ndarray) -> None:
    """The words the replay says each call read must be the ones the interpreter hashed."""
    pv = prev_value.reshape(-1, 24)
    if not (np.array_equal(pv[:, :8], calls.state_in) and np.array_equal(pv[:, 8:], calls.block)):
        raise ShaTraceError("a SHA256 call read memory the replay disagrees with")


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


def _round_main(rv: dict, calls: ShaCalls, prev_ts_block: np.ndarray) -> tuple[np.ndarray, list]:
    """The round table's trace, and its columns (canonical uint32: main[:, j] == columns[j])."""
    B = rv["a"].shape[0]
    n = B * ROUNDS
    height = padded_height(n)
    flat = lambda x: np.concatenate([np.asarray(x, np.int64).reshape(-1), np.zeros(height - n, np.int64)])  # noqa
    a, b, c, d, e, f, g, h = (flat(rv[x]) for x in "abcdefgh")
    W, Kr, an, en = flat(rv["W"]), flat(rv["K"]), flat(rv["A"]), flat(rv["E"])
    real = np.arange(height) < n
    r = np.where(real, np.arange(height) % ROUNDS, 0)
    v: dict[str, np.ndarray] = {}
    v["is_real"] = real.astype(np.int64)
    v["first"] = (real & (r == 0)).astype(np.int64)
    v["last"] = (real & (r == ROUNDS - 1)).astype(np.int64)
    v["is_msg"] = (real & (r < 16)).astype(np.int64)
    v["r"] = r
    v["clk"] = flat(np.repeat(calls.clk, ROUNDS))
    v["bw"] = flat(np.repeat(calls.a1 >> 2, ROUNDS))
    v["k_lo"], v["k_hi"] = Kr & 0xFFFF, Kr >> 16
    ts = 4 * v["clk"] + TS_SLOT
    md = np.zeros(height, np.int64)
    msg_rows = np.nonzero(v["is_msg"])[0]
    md[msg_rows] = ts[msg_rows] - 1 - prev_ts_block.reshape(-1)
    v["md_lo"], v["md_hi"] = md & 0xFFFF, md >> 16
    for name, word in (("a", a), ("e", e), ("w", W)):
        for i in range(32):
            v[f"{name}{i}"] = (word >> i) & 1
    for name, word in (("b", b), ("c", c), ("f", f), ("g", g)):
        for k in range(4):
            v[f"{name}{k}"] = (word >> (8 * k)) & 0xFF
    v["d_lo"], v["d_hi"] = d & 0xFFFF, d >> 16
    v["h_lo"], v["h_hi"] = h & 0xFFFF, h >> 16
    v["an_lo"], v["an_hi"] = an & 0xFFFF, an >> 16
    v["en_lo"], v["en_hi"] = en & 0xFFFF, en >> 16
    S0 = _rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)
    S1 = _rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)
    s0 = _rotr(W, 7) ^ _rotr(W, 18) ^ (W >> 3)
    s1 = _rotr(W, 17) ^ _rotr(W, 19) ^ (W >> 10)
    u, vv = np.where(real, e & f, 0), np.where(real, (~e & M32) & g, 0)
    x = a ^ b
    m = x ^ c
    for name, word in (("u", u), ("v", vv), ("x", x), ("m", m)):
        for k in range(4):
            v[f"{name}{k}"] = (word >> (8 * k)) & 0xFF
    lo = lambda x: x & 0xFFFF  # noqa: E731
    hi = lambda x: x >> 16  # noqa: E731
    maj = (a & b) ^ (a & c) ^ (b & c)
    t1 = [p(h) + p(S1) + p(u) + p(vv) + p(Kr) + p(W) for p in (lo, hi)]
    v["ca_lo"] = (t1[0] + lo(S0) + lo(maj)) >> 16
    v["ca_hi"] = (t1[1] + hi(S0) + hi(maj) + v["ca_lo"]) >> 16
    v["ce_lo"] = (t1[0] + lo(d)) >> 16
    v["ce_hi"] = (t1[1] + hi(d) + v["ce_lo"]) >> 16

    def shift(x, k):
        out = np.zeros(height, np.int64)
        if k < height:
            out[k:] = x[:height - k]
        return out

    # s1 and q hold on every row (transition definitions), padding included; rw, rq only on schedule rows
    v["s1_lo"], v["s1_hi"] = shift(lo(s1), 1), shift(hi(s1), 1)
    q = [lo(s0) + shift(lo(W), 1), hi(s0) + shift(hi(W), 1)]
    v["q_lo"], v["q_hi"] = q
    sched = (v["is_real"] == 1) & (v["is_msg"] == 0)
    v["rw_lo"], v["rw_hi"] = (np.where(sched, shift(p(W), W_LAG), 0) for p in (lo, hi))
    v["rq_lo"], v["rq_hi"] = (np.where(sched, shift(qp, Q_LAG), 0) for qp in q)
    s1_prev = [shift(v["s1_lo"], 1), shift(v["s1_hi"], 1)]  # σ1(W_{r-2})
    cw_lo = np.where(sched, (s1_prev[0] + v["rw_lo"] + v["rq_lo"]) >> 16, 0)
    cw_hi = np.where(sched, (s1_prev[1] + v["rw_hi"] + v["rq_hi"] + cw_lo) >> 16, 0)
    v["cw_lo"], v["cw_hi"] = cw_lo, cw_hi
    v["mw"] = np.where(real, (r + W_LAG >= 16) & (r + W_LAG < ROUNDS), 0).astype(np.int64)
    v["mq"] = np.where(real, (r + Q_LAG >= 16) & (r + Q_LAG < ROUNDS), 0).astype(np.int64)
    cols = [v[name] for name in ROUND_COLUMNS]
    out = trace_rows(cols, height, height)
    v.clear()
    for j, col in enumerate(cols):  # canonical and 4 bytes a cell: each int64 column is freed as it is replaced
        cols[j] = np.mod(col, P).astype(np.uint32)
    return out, cols


def _block_main(calls: ShaCalls, rv: dict, prev_ts_state: np.ndarray, text: tuple[int, int]) -> np.ndarray:
    B = len(calls.clk)
    height = padded_height(B)
    v: dict[str, np.ndarray] = {"is_real": np.ones(B, np.int64), "clk": calls.clk}
    a0, a1 = calls.a0, calls.a1
    v["a0_lo"], v["a0_hi"], v["a1_lo"], v["a1_hi"] = a0 & 0xFFFF, a0 >> 16, a1 & 0xFFFF, a1 >> 16
    v["sx"], v["bx"] = (a0 & 0xFFFF) >> 2, (a1 & 0xFFFF) >> 2
    sw, bw = a0 >> 2, a1 >> 2
    rs, rb = MEM_WORDS - 8 - sw, MEM_WORDS - 16 - bw
    v["rs_lo"], v["rs_hi"], v["rb_lo"], v["rb_hi"] = rs & 0xFFFF, rs >> 16, rb & 0xFFFF, rb >> 16
    text_lo, text_hi = text
    above = (sw >= text_hi).astype(np.int64)
    tx = np.where(above == 1, sw - text_hi, text_lo - 8 - sw) % P
    v["above"], v["tx_lo"], v["tx_hi"] = above, tx & 0xFFFF, tx >> 16
    last = ROUNDS - 1
    fin = [rv["A"][:, last], rv["a"][:, last], rv["b"][:, last], rv["c"][:, last],
           rv["E"][:, last], rv["e"][:, last], rv["f"][:, last], rv["g"][:, last]]
    ts = 4 * calls.clk + TS_SLOT
    for i in range(8):
        hin, fi = calls.state_in[:, i], fin[i]
        out = (hin + fi) & M32
        v[f"hin{i}_lo"], v[f"hin{i}_hi"] = hin & 0xFFFF, hin >> 16
        v[f"fin{i}_lo"], v[f"fin{i}_hi"] = fi & 0xFFFF, fi >> 16
        v[f"out{i}_lo"], v[f"out{i}_hi"] = out & 0xFFFF, out >> 16
        c1 = ((hin & 0xFFFF) + (fi & 0xFFFF)) >> 16
        v[f"c1_{i}"] = c1
        v[f"c2_{i}"] = ((hin >> 16) + (fi >> 16) + c1) >> 16
        dd = ts - 1 - prev_ts_state[:, i]
        v[f"d{i}_lo"], v[f"d{i}_hi"] = dd & 0xFFFF, dd >> 16
    return trace_rows([v[name] for name in BLOCK_COLUMNS], B, height)


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
    from zkvm.stark.air import evaluate
    from zkvm.stark.algebra import BaseArrayOps

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
