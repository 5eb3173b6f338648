"""Malicious-prover harness: an honest trace of a small program that uses every instruction family, helpers to
change one thing in it while keeping everything else consistent, and fast prove/verify.

The lookups that the fixed range16/bytes tables absorb are recounted from the (tampered) traces by evaluating
every send with the AIR's own expressions, so a tamper is caught by the constraint it targets, not by a stale
multiplicity. Options are weak on purpose (speed); the tests here are about *which* check rejects.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import rv32asm as A  # noqa: E402

from zkvm import abi  # noqa: E402
from zkvm.circuit import bytes as bytes_table  # noqa: E402
from zkvm.circuit import range as range_table  # noqa: E402
from zkvm.circuit import riscv_air, statement  # noqa: E402
from zkvm.circuit.cpu import CpuCols  # noqa: E402
from zkvm.circuit.opcodes import BUS_BYTES, BUS_RANGE16  # noqa: E402
from zkvm.exec import Executor  # noqa: E402
from zkvm.field.babybear import P  # noqa: E402
from zkvm.stark.dsl.air import evaluate  # noqa: E402
from zkvm.stark.dsl.algebra import BaseArrayOps  # noqa: E402
from zkvm.stark.verifying.options import ProofOptions  # noqa: E402

#: Fast, weak options for tests about which check rejects (not about security).
FAST = ProofOptions(log_blowup=1, num_queries=24, grinding_bits=0, zk=False)
DATA = abi.TEXT_START + 0x1000     # an image data word
SCRATCH = 0x0008_0000              # zero-initialised memory (zinit table)
INPUT = bytes([0xA1, 0xB2, 0xC3])


def kitchen_sink() -> tuple[list[int], dict[str, int]]:
    """A program touching every family; returns (code, labels: name -> instruction index)."""
    code: list[int] = []
    at: dict[str, int] = {}

    def mark(name):
        at[name] = len(code)

    code += A.li("t0", 0x1234ABCD) + A.li("t1", 7) + A.li("s0", DATA) + A.li("s1", SCRATCH)
    code += [A.op("add", "t2", "t0", "t1"), A.op("sub", "t3", "t0", "t1"), A.op("sltu", "t4", "t1", "t0")]
    mark("add_x0"); code += [A.op("add", "zero", "t0", "t1")]
    mark("sll_x0"); code += [A.op("sll", "zero", "t0", "t1")]
    mark("mul_x0"); code += [A.op("mul", "zero", "t0", "t1")]
    mark("div_x0"); code += [A.op("divu", "zero", "t0", "t1")]
    code += [A.op("sra", "t5", "t0", "t1"), A.op("mulh", "t6", "t0", "t0"), A.op("rem", "s2", "t0", "t1")]
    # memory: image word, zero-initialised word, sub-word stores and loads
    mark("lw_image"); code += [A.load("lw", "a2", "s0", 0)]
    code += [A.store("sw", "t0", "s1", 0), A.store("sb", "t1", "s1", 5),
             A.store("sh", "t1", "s1", 10)]
    mark("lw_after_sw"); code += [A.load("lw", "a3", "s1", 0)]
    mark("lb"); code += [A.load("lb", "a4", "s1", 3)]
    code += [A.load("lbu", "a5", "s1", 0), A.load("lh", "a6", "s1", 2),
             A.load("lhu", "s3", "s1", 8)]
    # branches and jumps
    mark("beq"); code += [A.branch("beq", "t1", "t1", 8)]
    code += [A.op_imm("addi", "s4", "s4", 1)]          # skipped
    code += [A.branch("bne", "t1", "t1", 8), A.op_imm("addi", "s4", "s4", 2)]
    code += [A.branch("blt", "t0", "t1", 8), A.op_imm("addi", "s4", "s4", 4)]
    mark("jal"); code += [A.jal("ra", 12)]
    code += [A.op_imm("addi", "s4", "s4", 8), A.jal("zero", 8)]
    code += [A.jalr("zero", "ra", 0)]  # "function": returns to the addi above
    mark("nop"); code += [A.op_imm("addi", "zero", "zero", 0)]
    # ecalls: read private input, commit 3 bytes, cycles
    code += A.li("a7", abi.ECALL_READ_WORD) + [A.ECALL]
    code += [A.op("add", "s5", "a0", "zero")]
    code += A.li("a1", 3) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL]
    code += A.li("a7", abi.ECALL_CYCLES)
    mark("cycles"); code += [A.ECALL]
    mark("last_lw"); code += [A.load("lw", "s6", "s1", 0)]
    mark("x0_write"); code += [A.op_imm("addi", "zero", "t1", 5)]
    code += A.li("a0", 3) + A.halt()
    return code, at


@dataclass
class Run:
    setup: object
    witness: object
    record: object
    result: object
    labels: dict
    image: object

    def cycle_of(self, label: str, occurrence: int = 0) -> int:
        pc = abi.TEXT_START + 4 * self.labels[label]
        return int(np.nonzero(np.asarray(self.record.pc) == pc)[0][occurrence])

    @property
    def cpu(self) -> np.ndarray:
        return self.witness.main["cpu"]

    def public_terms(self, journal: bytes | None = None, exit_code: int | None = None):
        return statement.public_terms(self.witness.journal if journal is None else journal,
                                      self.witness.exit_code if exit_code is None else exit_code)


def honest_run() -> Run:
    code, labels = kitchen_sink()
    image = A.image(code, {DATA: 0xCAFEF00D})
    result, record = Executor(image, INPUT).record()
    s = riscv_air.setup(image)
    w = riscv_air.generate(s, record)
    w.main = {k: v.copy() for k, v in w.main.items()}
    return Run(s, w, record, result, labels, image)


def fresh_copy(honest: Run) -> Run:
    """A copy of the honest run whose main traces can be tampered with."""
    w = honest.witness
    w2 = type(w)({k: v.copy() for k, v in w.main.items()}, w.journal, w.exit_code, w.cycles)
    return Run(honest.setup, w2, honest.record, honest.result, honest.labels, honest.image)


def expect_rejected(run: Run, check_error, where: str, **public) -> None:
    """The checker flags `where` (constraint name or bus name), and a proof of these traces does not verify."""
    import pytest

    from zkvm.errors import VerificationError
    from zkvm.stark.errors import ConstraintError

    with pytest.raises(check_error) as info:
        check(run, **public)
    got = info.value.constraint if check_error is ConstraintError else info.value.bus
    assert got == where, f"expected the checker to stop at {where!r}, got {info.value}"
    with pytest.raises(VerificationError):
        prove_and_verify(run, **public)


def set_cpu(run: Run, cycle: int, **values: int) -> None:
    for name, v in values.items():
        run.cpu[cycle, CpuCols.INDEX[name]] = v % P


def get_cpu(run: Run, cycle: int, name: str) -> int:
    return int(run.cpu[cycle, CpuCols.INDEX[name]])


def rebalance_lookups(run: Run) -> None:
    """Recount what every table sends to the fixed range16/bytes tables (values outside them stay unmatched)."""
    air = riscv_air.circuit().air
    ca = air.compile()
    r_mult = np.zeros(range_table.VALUES, dtype=np.int64)
    b_mult = np.zeros((bytes_table.PAIRS, len(bytes_table.MULT_OPS)), dtype=np.int64)
    ops = BaseArrayOps()
    for ct in ca.tables:
        t = ct.table
        main = run.witness.main.get(t.name)
        fixed = run.setup.fixed.get(t.name)

        def column(kind, idx, nxt, main=main, fixed=fixed):
            src = main if kind == "main" else fixed
            col = src[:, idx].astype(np.uint64)
            return np.roll(col, -1) if nxt else col

        for it in t.interactions:
            if it.sign != 1 or it.bus not in (BUS_RANGE16, BUS_BYTES):
                continue
            vals = evaluate([it.mult] + list(it.values), ops, column, lambda n: run.setup.publics[n])
            h = (main if main is not None else fixed).shape[0]
            mult, *tup = (np.broadcast_to(np.asarray(v, dtype=np.int64), (h,)) for v in vals)
            live = mult != 0
            if it.bus == BUS_RANGE16:
                x = tup[0][live]
                ok = x < range_table.VALUES
                np.add.at(r_mult, x[ok], mult[live][ok])
            else:
                op, x, y = tup[0][live], tup[1][live], tup[2][live]
                ok = (x < 256) & (y < 256)
                for j, code in enumerate(bytes_table.MULT_OPS):
                    sel = ok & (op == code)
                    np.add.at(b_mult[:, j], x[sel] * 256 + y[sel], mult[live][sel])
    run.witness.main[range_table.NAME] = range_table.fold(r_mult % P)
    run.witness.main[bytes_table.NAME] = bytes_table.fold(b_mult % P)


def check(run: Run, **terms) -> None:
    from zkvm.stark.dsl.check import check_trace

    check_trace(riscv_air.circuit().air, run.setup.fixed, run.witness.main, run.setup.publics,
                run.public_terms(**terms))


_FIXED_CACHE: dict = {}


def fixed_commitment(run: Run):
    """The fixed commitment of the kitchen-sink image (computed once per process: it dominates small proofs)."""
    from zkvm.stark.proving.prover import commit_fixed_data

    key = statement.image_id_from_parts(run.setup.publics, b"")
    if key not in _FIXED_CACHE:
        _FIXED_CACHE[key] = commit_fixed_data(riscv_air.circuit().air, run.setup.fixed)
    return _FIXED_CACHE[key]


def prove_and_verify(run: Run, journal: bytes | None = None, exit_code: int | None = None,
                     prove_terms: dict | None = None) -> None:
    """Prove the (possibly tampered) traces without checking them, then verify; raises what the verifier raises.
    `journal`/`exit_code` override the public data on the verifier's side (and the prover's, unless
    `prove_terms` gives the prover's separately)."""
    from zkvm.stark.proving.prover import prove
    from zkvm.stark.verifying.verifier import verify

    air = riscv_air.circuit().air
    pt = run.public_terms(**(prove_terms if prove_terms is not None else dict(journal=journal, exit_code=exit_code)))
    fc = fixed_commitment(run)
    timings: dict = {}
    proof = prove(air, run.setup.fixed, run.witness.main, run.setup.publics, pt, FAST, fixed_commitment=fc,
                  timings=timings)
    digest = fc.digest
    verify(air, proof.to_bytes(), run.setup.publics, run.public_terms(journal=journal, exit_code=exit_code),
           digest, min_security_bits=0)


# ---------------------------------------------------------------------------------------------- tamper helpers

def fix_eq_gadget(run: Run, cycle: int) -> None:
    """Recompute the is-zero witness (eq, inv) of a CPU row after its alu result c changed."""
    s = (get_cpu(run, cycle, "c_lo") + get_cpu(run, cycle, "c_hi")) % P
    set_cpu(run, cycle, eq=int(s == 0), inv=pow(s, P - 2, P) if s else 0)


def family_row(run: Run, table: str, c_lo: int, c_hi: int) -> int:
    """First row of a family table whose result is (c_lo, c_hi)."""
    spec = next(s for s in families_specs() if s.name == table)
    t = run.witness.main[table]
    lo, hi = spec.columns.index("c_lo"), spec.columns.index("c_hi")
    rows = np.nonzero((t[:, lo] == c_lo) & (t[:, hi] == c_hi))[0]
    return int(rows[0])


def families_specs():
    from zkvm.circuit.families import FAMILIES

    return FAMILIES


def set_family(run: Run, table: str, row: int, **values: int) -> None:
    spec = next(s for s in families_specs() if s.name == table)
    for name, v in values.items():
        run.witness.main[table][row, spec.columns.index(name)] = v % P


def get_family(run: Run, table: str, row: int, name: str) -> int:
    spec = next(s for s in families_specs() if s.name == table)
    return int(run.witness.main[table][row, spec.columns.index(name)])


def set_reg_final(run: Run, reg: int, value: int) -> None:
    regs = run.witness.main["regs"]
    regs[reg, 0], regs[reg, 1] = value & 0xFFFF, (value >> 16) & 0xFFFF


def refill_families(run: Run) -> None:
    """Rebuild the family tables from what the (tampered) CPU trace sends on bus "alu"."""
    from zkvm.circuit.families import fill_families
    from zkvm.circuit.lookups import LookupSends

    cpu = run.cpu.astype(np.int64)
    ci = CpuCols.INDEX
    mult = sum(cpu[:, ci[n]] for n in ("is_aluop", "br_eq", "br_lt", "is_jalr", "is_lw", "is_lh", "is_lhu",
                                       "is_lb", "is_lbu", "is_sw", "is_sh", "is_sb"))
    rows = np.nonzero(mult)[0]
    ops = cpu[rows, ci["alu_op"]]
    a = cpu[rows, ci["a_lo"]] | (cpu[rows, ci["a_hi"]] << 16)
    b = cpu[rows, ci["b_lo"]] | (cpu[rows, ci["b_hi"]] << 16)
    run.witness.main.update(fill_families(ops, a, b, LookupSends()))


def relink_x0_read(run: Run, index: int, after: int) -> None:
    """Timestamp-order attack on x0 (all values 0, so only timestamps move): take the `index`-th access to x0
    out of its place in the chain and put it after the `after`-th, i.e. it claims to follow a *later* access.
    Every bus still balances; only the range check of ts - ts_prev - 1 can object."""
    cpu = run.cpu.astype(np.int64)
    ci = CpuCols.INDEX
    real = np.nonzero(cpu[:, ci["is_real"]])[0]
    acc = []  # (ts, row, slot)
    for slot, field in ((0, "rs1"), (1, "rs2"), (3, "rd")):
        rows = real[cpu[real, ci[field]] == 0]
        acc += [(4 * int(cpu[r, ci["clk"]]) + slot, int(r), slot) for r in rows]
    acc.sort()
    assert index + 1 < after < len(acc) - 1
    moved = acc.pop(index)
    acc.insert(after, moved)  # now right after the access that used to be at position `after`
    prev_ts = 0
    for ts, row, slot in acc:
        d = (ts - prev_ts - 1) % P
        set_cpu(run, row, **{f"d{slot}_lo": d & 0xFFFF, f"d{slot}_hi": d >> 16})
        prev_ts = ts
    run.witness.main["regs"][0, 2] = prev_ts  # the final state follows the last access in the new chain


def zinit_trace(run: Run, cells: list[tuple[int, int, int]], gaps: dict[int, int] | None = None) -> np.ndarray:
    """A zinit table for the given (word index, final value, final ts) rows, in the given order, with every
    witness column computed as the honest fill would (differences taken mod p when they are "negative").
    Each row claims the image gap that holds its word (``gaps``: word -> image row whose gap to claim
    instead, or a forged (gap_lo, gap_hi)); the image table's gap multiplicities are recounted to match."""
    from zkvm.circuit.lookups import padded_height
    from zkvm.circuit.memory import MEM_START_WORD, ImageTable, ZinitCols

    fixed = run.setup.fixed["image"]
    n = len(cells)
    out = np.zeros((padded_height(n), len(ZinitCols.NAMES)), dtype=np.uint32)
    gap_mult = np.zeros(fixed.shape[0], dtype=np.int64)
    prev = MEM_START_WORD - 1
    for i, (w, val, ts) in enumerate(cells):
        g = (gaps or {}).get(w)
        if g is None:
            g = int(ImageTable.gap_row(run.setup.image_w, np.array([w]))[0])
        if isinstance(g, tuple):  # a forged gap, in no image row
            glo, ghi = g
        else:
            gap_mult[g] += 1
            glo, ghi = int(fixed[g, 4]), int(fixed[g, 5])
        d = (w - prev - 1) % P
        r, s = (w - glo) % P, (ghi - w) % P
        row = dict(is_real=1, w_lo=w & 0xFFFF, w_hi=w >> 16, prev_w=prev, d_lo=d & 0xFFFF, d_hi=d >> 16,
                   gap_lo=glo, gap_hi=ghi, r_lo=r & 0xFFFF, r_hi=r >> 16, s_lo=s & 0xFFFF, s_hi=s >> 16,
                   final_lo=val & 0xFFFF, final_hi=val >> 16, final_ts=ts)
        out[i] = [row[c] for c in ZinitCols.NAMES]
        prev = w
    if out.shape[0] > n:
        out[n, ZinitCols.NAMES.index("prev_w")] = prev
    run.witness.main["image"][:, 3] = gap_mult
    return out


def zinit_cells(run: Run) -> list[tuple[int, int, int]]:
    from zkvm.circuit.memory import ZinitCols

    z = run.witness.main["zinit"].astype(np.int64)
    col = {c: z[:, i] for i, c in enumerate(ZinitCols.NAMES)}
    real = np.nonzero(col["is_real"])[0]
    return [(int(col["w_lo"][i] + 65536 * col["w_hi"][i]), int(col["final_lo"][i] + 65536 * col["final_hi"][i]),
             int(col["final_ts"][i])) for i in real]
