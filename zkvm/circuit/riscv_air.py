"""The whole RISC-V AIR: every table, the image's preprocessed data, trace generation from a `Record`, the
public data (publics and public bus terms) and the image id.

Tables: cpu, program (fixed per image), regs / image (fixed) and zinit (memory init), alu / shift / muldiv
(the instruction families, receiving bus "alu"), dot (the DOT_I8 accelerator), read_buf (bulk private
input, READ_BUF), sha256_block / sha256_round /
sha256_k (the SHA-256 accelerator, sha256.py), range16 / bytes (fixed lookup tables).
Buses: program, alu, mem, range16, bytes, dot, read_buf, ecall_sha256 and the sha256_* links, journal (public terms: the
journal bytes), exit (public term: the
exit code).

Publics: entry_pc, image_lo, image_hi (word indices spanning the image's non-zero words: informational, the
sparse image table says which words it has), text_lo, text_hi (word indices spanning the executable ranges,
which stores may not write). They are bound to the image id
together with the fixed-column digest, so a verifier holding only the image id learns them from the receipt
and checks them by recomputing the id.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from zkvm import abi
from zkvm.circuit import bytes as bytes_table
from zkvm.circuit import dot
from zkvm.circuit import range as range_table
from zkvm.circuit import read_buf
from zkvm.circuit import sha256 as sha
from zkvm.circuit.families import FAMILIES, fill_families
from zkvm.circuit.cpu import CpuTable, _InRangeOnly
from zkvm.circuit.cpu import fill as fill_cpu
from zkvm.circuit.lookups import LookupSends
from zkvm.circuit.memory import (SPACE_MEM, SPACE_REG, Accesses, ImageTable, RegsTable, ZinitTable, image_main,
                                 regs_main, zinit_main, INITIAL_REGS)
from zkvm.circuit.program import ProgramTable, decode_program
from zkvm.errors import ElfError

PUBLICS = ("entry_pc", "image_lo", "image_hi", "text_lo", "text_hi")
@dataclass
class Circuit:
    air: object
    cpu: CpuTable
    families: list
    sha: sha.ShaTables


@lru_cache(maxsize=2)
def circuit(segmented: bool = False) -> Circuit:
    """The AIR (built once; it does not depend on the image — the image lives in the fixed columns).
    ``segmented``: the AIR of one segment of a longer run (segments.py): same fixed tables, publics
    `SEG_PUBLICS` more, a state bus in the CPU, memory initialised in the last segment, a boundary table."""
    from zkvm.stark.dsl.air import Air, Table
    from zkvm.circuit import segments

    # Our tables start empty so the Air (and its publics) exists before their constraints are written.
    cpu_t, prog_t, regs_t, image_t, zinit_t = (Table(n) for n in (
        CpuTable.NAME, ProgramTable.NAME, RegsTable.NAME, ImageTable.NAME, ZinitTable.NAME))
    families = [spec.table() for spec in FAMILIES]
    tables = [cpu_t, prog_t, regs_t, image_t, zinit_t] + families
    rbuf_t = Table(read_buf.NAME)
    tables += [dot.table(), rbuf_t, range_table.table(), bytes_table.table()]
    sha_ts = [Table(n) for n in (sha.ROUND_NAME, sha.BLOCK_NAME, sha.K_NAME)]
    tables += sha_ts
    if segmented:
        boundary_t = Table(segments.BoundaryTable.NAME)
        tables.append(boundary_t)
    # Tables a run may not use at all (no call of an accelerator, no instruction of a family, no lookup into a
    # fixed table, no zero-initialised word) are absent from its proof (stark/verifying/shape.py): each of these admits a
    # padding-only trace (every constraint holds, nothing sent or received; tests/soundness/test_absent.py
    # checks it table by table), so leaving it out proves nothing a padded table would not. The CPU (boundary
    # constraints on the entry pc and the halt), the program, registers and image tables are always present.
    for t in tables:
        t.optional = t.name not in (CpuTable.NAME, ProgramTable.NAME, RegsTable.NAME, ImageTable.NAME,
                                  segments.BoundaryTable.NAME)
    air = Air("zkvm-rv32im-segment" if segmented else "zkvm-rv32im", tables,
              publics=list(PUBLICS) + (list(segments.SEG_PUBLICS) if segmented else []), code_defined=True)
    seg = {name: air.public(name) for name in segments.SEG_PUBLICS} if segmented else None
    cpu = CpuTable(cpu_t, air.public("entry_pc"), air.public("text_lo"), air.public("text_hi"), seg)
    ProgramTable(prog_t)
    RegsTable(regs_t, seg["is_last"] if seg else 1)
    ImageTable(image_t, seg["is_last"] if seg else 1)
    ZinitTable(zinit_t, seg["is_last"] if seg else None)
    read_buf.constrain(rbuf_t, air.public("text_lo"), air.public("text_hi"))
    if seg:
        segments.BoundaryTable(boundary_t, seg["clk_start"])
    sha_tables = sha.ShaTables(*sha_ts, air.public("text_lo"), air.public("text_hi"))
    return Circuit(air, cpu, families, sha_tables)


# ---------------------------------------------------------------------------------------------- the image

@dataclass
class ImageSetup:
    """Everything the prover and the image id need from a `MemoryImage`."""

    entry: int
    image_lo: int        # word index of the first non-zero image word
    image_hi: int        # one past the last
    text_lo: int         # word indices spanning the executable ranges (stores may not touch them)
    text_hi: int
    image_w: np.ndarray  # word indices of the non-zero image words, sorted (the image table's rows)
    words: np.ndarray    # their uint32 values
    pcs: np.ndarray      # decoded program: pcs and fields
    fields: np.ndarray
    fixed: dict          # table name -> uint32[h, n_fixed]

    @property
    def publics(self) -> dict[str, int]:
        return {"entry_pc": self.entry, "image_lo": self.image_lo, "image_hi": self.image_hi,
                "text_lo": self.text_lo, "text_hi": self.text_hi}

    def init_value(self, keys: np.ndarray) -> np.ndarray:
        """Initial value of cells (key = space << 32 | addr)."""
        space, addr = keys >> 32, keys & 0xFFFF_FFFF
        out = np.zeros(len(keys), dtype=np.int64)
        regs = space == SPACE_REG
        out[regs] = np.array(INITIAL_REGS, dtype=np.int64)[addr[regs]]
        mem = np.nonzero(space == SPACE_MEM)[0]
        if len(self.image_w) and len(mem):
            i = np.minimum(np.searchsorted(self.image_w, addr[mem]), len(self.image_w) - 1)
            hit = self.image_w[i] == addr[mem]
            out[mem[hit]] = self.words[i[hit]]
        return out


@lru_cache(maxsize=1)
def min_fixed_height() -> int:
    """Smallest height of a table with fixed columns that the default zero-knowledge options can hide.

    Fixed columns are committed once, by the image id, at the fixed blowup, so a short table cannot be
    extended far enough for its randomisers (zk.table_plan); the program and image tables are padded to this
    height instead (32 rows at the defaults), so that a tiny program proves with zk as well as without."""
    from zkvm.stark.verifying import zk
    from zkvm.stark.verifying.options import FIXED_LOG_BLOWUP, default_options

    for log_h in range(1, 28):
        try:
            zk.table_plan(default_options(True), log_h, True, FIXED_LOG_BLOWUP)
        except ValueError:
            continue
        return 1 << log_h
    raise RuntimeError("the default zk options cannot hide any table with fixed columns")


def setup(image) -> ImageSetup:
    """The preprocessed image (what the image id commits); ElfError if the image exceeds the ABI's bounds."""
    if len(image.words) > abi.MAX_IMAGE_WORDS:
        raise ElfError(f"image too large: {len(image.words)} words (limit {abi.MAX_IMAGE_WORDS})")
    program = image.program()
    if len(program) > abi.MAX_PROGRAM_WORDS:
        raise ElfError(f"program too large: {len(program)} words (limit {abi.MAX_PROGRAM_WORDS})")
    image_w, words = ImageTable.words(image)
    pcs, fields = decode_program(program)
    fixed = {
        ProgramTable.NAME: ProgramTable.fixed_trace(pcs, fields, min_fixed_height()),
        RegsTable.NAME: RegsTable.fixed_trace(),
        ImageTable.NAME: ImageTable.fixed_trace(image_w, words, min_fixed_height()),
        range_table.NAME: range_table.fixed_columns(),
        bytes_table.NAME: bytes_table.fixed_columns(),
        sha.K_NAME: sha.ShaTables.k_fixed(),
    }
    if image.exec_ranges:
        text_lo = min(start for start, _ in image.exec_ranges) // 4
        text_hi = (max(end for _, end in image.exec_ranges) + 3) // 4
    else:
        text_lo = text_hi = 0
    lo, hi = (int(image_w[0]), int(image_w[-1]) + 1) if len(image_w) else (0, 0)
    return ImageSetup(int(image.entry), lo, hi, text_lo, text_hi, image_w, words, pcs, fields, fixed)


# ---------------------------------------------------------------------------------------------- witness

@dataclass
class Witness:
    main: dict            # table name -> uint32[h, n_main]
    journal: bytes
    exit_code: int
    cycles: int
    touched: object = None  # a segment's final cell state (segments.CellState), for the segments after it


def generate(s: ImageSetup, record, strict: bool = True, segment=None) -> Witness:
    """Main traces of every table for one recorded execution (``strict``: see `cpu.fill`). ``segment``: a
    `segments.SegmentInput` when the record is one segment of a longer run (then ``Witness.touched`` is the
    segment's final cell state, for the segments after it)."""
    from zkvm.circuit import segments

    c = circuit(segment is not None)
    sends = LookupSends()
    dot_calls, sha_calls, rb_calls = dot.calls(record), sha.ShaCalls.from_record(record), read_buf.calls(record)
    dot_acc, sha_acc, rb_acc = dot_calls.accesses(), sha_calls.accesses(), rb_calls.accesses()
    # the accelerators' accesses replay with the CPU's, dot's first, then read_buf's, then sha's (cpu.fill keeps
    # their order; sha's are the tail)
    extra = Accesses(*(np.concatenate([getattr(dot_acc, f), getattr(rb_acc, f), getattr(sha_acc, f)])
                       for f in ("key", "ts", "is_write", "value")))
    if segment is None:
        cpu = fill_cpu(record, s.pcs, s.fields, s.init_value, sends, (s.text_lo, s.text_hi), strict, extra)
    else:
        cpu = fill_cpu(record, s.pcs, s.fields, segment.init_value, sends, (s.text_lo, s.text_hi), strict, extra,
                       init_ts=segment.init_ts, segment=(segment.jpos0, segment.eof0, segment.is_last))
    main = {CpuTable.NAME: cpu.main}
    n_dot = len(dot_acc.key)
    sha_tail = slice(len(cpu.resolved.prev_ts) - len(sha_acc.key), None)
    if strict:
        sha.check_replay(sha_calls, cpu.resolved.prev_value[sha_tail])
    main.update(c.sha.fill(sha_calls, cpu.resolved.prev_ts[sha_tail], sends, (s.text_lo, s.text_hi)))
    prog_h = s.fixed[ProgramTable.NAME].shape[0]
    main[ProgramTable.NAME] = ProgramTable.main_trace(s.pcs, prog_h, cpu.program_rows,
                                                      cpu.main.shape[0] - len(record))
    # memory init/final: the whole run's touched cells (a segmented run: in its last segment only)
    touched = segments.CellState(cpu.resolved.final_key, cpu.resolved.final_value, cpu.resolved.final_ts)
    if segment is None:
        run_state = cpu.resolved
    elif segment.is_last:
        run_state = (segment.run_state or segments.CellState()).merged(touched)
    else:
        run_state = segments.CellState()
    main[RegsTable.NAME] = regs_main(run_state)
    image_h = s.fixed[ImageTable.NAME].shape[0]
    main[ZinitTable.NAME], gap_mult = zinit_main(run_state, s.image_w, image_h, sends)
    main[ImageTable.NAME] = image_main(run_state, s.image_w, s.words, image_h, gap_mult)
    if segment is not None:
        main[segments.BoundaryTable.NAME] = segments.boundary_main(touched, segment, sends)
    ops, a, b = cpu.alu_ops
    main.update(fill_families(ops, a, b, sends))
    dot_seen = [x[:n_dot] for x in cpu.extra]
    main[dot.NAME] = dot.fill(dot_calls, *dot_seen, sends if strict else _InRangeOnly(sends), strict)
    rb = slice(sha_tail.start - len(rb_acc.key), sha_tail.start)
    main[read_buf.NAME] = read_buf.fill(rb_calls, cpu.resolved.prev_value[rb], cpu.resolved.prev_ts[rb],
                                        sends if strict else _InRangeOnly(sends), (s.text_lo, s.text_hi), strict)
    main[range_table.NAME] = range_table.multiplicities(sends)
    main[bytes_table.NAME] = bytes_table.multiplicities(sends)
    return Witness(main, cpu.journal, cpu.exit_code, len(record), touched)
