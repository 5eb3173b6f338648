"""The whole RISC-V AIR: every table, the image's preprocessed data, trace generation from a `Record`, the
public data (publics and public bus terms) and the image id.

Tables: cpu, program (fixed per image), regs / image (fixed) and zinit (memory init), alu / shift / muldiv
(the instruction families, receiving bus "alu"), range16 / bytes (fixed lookup tables), sha256_block /
sha256_round / sha256_k (the SHA-256 accelerator, sha256.py).
Buses: program, alu, mem, range16, bytes, journal (public terms: the journal bytes), exit (public term: the
exit code).

Publics: entry_pc, image_lo, image_hi (word indices of the image span), text_lo, text_hi (word indices spanning
the executable ranges, which stores may not write). They are bound to the image id
together with the fixed-column digest, so a verifier holding only the image id learns them from the receipt
and checks them by recomputing the id.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from zkvm.circuit import bytes as bytes_table
from zkvm.circuit import range as range_table
from zkvm.circuit.families import FAMILIES, fill_families
from zkvm.circuit.cpu import BUS_EXIT, BUS_JOURNAL, CpuTable, TraceError
from zkvm.circuit.cpu import fill as fill_cpu
from zkvm.circuit.lookups import LookupSends
from zkvm.circuit.memory import (SPACE_MEM, SPACE_REG, ImageTable, RegsTable, ZinitTable, image_main, regs_main,
                                 zinit_main, INITIAL_REGS)
from zkvm.circuit.program import ProgramTable, decode_program
from zkvm.circuit import sha256 as sha
from zkvm.field.babybear import P

IMAGE_ID_TAG = b"zkvm-image-id-v1"
PUBLICS = ("entry_pc", "image_lo", "image_hi", "text_lo", "text_hi")
@dataclass
class Circuit:
    air: object
    cpu: CpuTable
    families: list
    sha: sha.ShaTables


@lru_cache(maxsize=1)
def circuit() -> Circuit:
    """The AIR (built once; it does not depend on the image — the image lives in the fixed columns)."""
    from zkvm.stark.air import Air, Table

    # Our tables start empty so the Air (and its publics) exists before their constraints are written.
    cpu_t, prog_t, regs_t, image_t, zinit_t = (Table(n) for n in (
        CpuTable.NAME, ProgramTable.NAME, RegsTable.NAME, ImageTable.NAME, ZinitTable.NAME))
    families = [spec.table() for spec in FAMILIES]
    tables = [cpu_t, prog_t, regs_t, image_t, zinit_t] + families
    tables += [range_table.table(), bytes_table.table()]
    sha_ts = [Table(n) for n in (sha.ROUND_NAME, sha.BLOCK_NAME, sha.K_NAME)]
    tables += sha_ts
    air = Air("zkvm-rv32im", tables, publics=list(PUBLICS))
    cpu = CpuTable(cpu_t, air.public("entry_pc"), air.public("text_lo"), air.public("text_hi"))
    ProgramTable(prog_t)
    RegsTable(regs_t)
    ImageTable(image_t)
    ZinitTable(zinit_t, air.public("image_lo"), air.public("image_hi"))
    sha_tables = sha.ShaTables(*sha_ts, air.public("text_lo"), air.public("text_hi"))
    return Circuit(air, cpu, families, sha_tables)


# ---------------------------------------------------------------------------------------------- the image

@dataclass
class ImageSetup:
    """Everything the prover and the image id need from a `MemoryImage`."""

    entry: int
    image_lo: int        # word index of the first image word
    image_hi: int        # one past the last
    text_lo: int         # word indices spanning the executable ranges (stores may not touch them)
    text_hi: int
    words: np.ndarray    # uint32 words of the span
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
        inside = (space == SPACE_MEM) & (addr >= self.image_lo) & (addr < self.image_hi)
        out[inside] = self.words[addr[inside] - self.image_lo]
        return out


def setup(image) -> ImageSetup:
    lo, words = ImageTable.span(image)
    pcs, fields = decode_program(image.program())
    fixed = {
        ProgramTable.NAME: ProgramTable.fixed_trace(pcs, fields),
        RegsTable.NAME: RegsTable.fixed_trace(),
        ImageTable.NAME: ImageTable.fixed_trace(lo, words),
        range_table.NAME: range_table.fixed_columns(),
        bytes_table.NAME: bytes_table.fixed_columns(),
        sha.K_NAME: sha.ShaTables.k_fixed(),
    }
    if image.exec_ranges:
        text_lo = min(start for start, _ in image.exec_ranges) // 4
        text_hi = (max(end for _, end in image.exec_ranges) + 3) // 4
    else:
        text_lo = text_hi = 0
    return ImageSetup(int(image.entry), lo, lo + len(words), text_lo, text_hi, words, pcs, fields, fixed)


def fixed_digest(s: ImageSetup) -> bytes:
    from zkvm.stark.prover import commit_fixed

    return commit_fixed(circuit().air, s.fixed)


def image_id_from_parts(publics: dict[str, int], digest: bytes) -> bytes:
    """Image id = SHA-256(tag ‖ publics (entry pc, image span, text span; u32 LE, PUBLICS order) ‖ fixed digest)."""
    return hashlib.sha256(IMAGE_ID_TAG + struct.pack(f"<{len(PUBLICS)}I", *(publics[k] for k in PUBLICS))
                          + digest).digest()


def image_id(s: ImageSetup) -> bytes:
    return image_id_from_parts(s.publics, fixed_digest(s))


# ---------------------------------------------------------------------------------------------- witness

@dataclass
class Witness:
    main: dict            # table name -> uint32[h, n_main]
    journal: bytes
    exit_code: int
    cycles: int


def public_terms(journal: bytes, exit_code: int) -> list[tuple[str, tuple[int, ...], int]]:
    """What the verifier adds to the buses itself: it *receives* the exit code and every journal byte (the
    CPU sends them), so the proof balances only if the committed bytes are exactly the journal."""
    receive = P - 1
    terms = [(BUS_EXIT, (exit_code & 0xFFFF, exit_code >> 16), receive)]
    terms += [(BUS_JOURNAL, (i, b), receive) for i, b in enumerate(journal)]
    return terms


def generate(s: ImageSetup, record, strict: bool = True) -> Witness:
    """Main traces of every table for one recorded execution (``strict``: see `cpu.fill`)."""
    c = circuit()
    sends = LookupSends()
    calls = sha.ShaCalls.from_record(record)
    extra = calls.accesses()
    cpu = fill_cpu(record, s.pcs, s.fields, s.init_value, sends, (s.text_lo, s.text_hi), strict, extra)
    main = {CpuTable.NAME: cpu.main}
    tail = slice(len(cpu.resolved.prev_ts) - len(extra.key), None)
    if strict:
        sha.check_replay(calls, cpu.resolved.prev_value[tail])
    main.update(c.sha.fill(calls, cpu.resolved.prev_ts[tail].reshape(-1, 24), sends, (s.text_lo, s.text_hi)))
    prog_h = s.fixed[ProgramTable.NAME].shape[0]
    main[ProgramTable.NAME] = ProgramTable.main_trace(s.pcs, prog_h, cpu.program_rows,
                                                      cpu.main.shape[0] - len(record))
    main[RegsTable.NAME] = regs_main(cpu.resolved)
    main[ImageTable.NAME] = image_main(cpu.resolved, s.image_lo, s.words, s.fixed[ImageTable.NAME].shape[0])
    main[ZinitTable.NAME] = zinit_main(cpu.resolved, s.image_lo, s.image_hi, sends)
    ops, a, b = cpu.alu_ops
    main.update(fill_families(ops, a, b, sends))
    main[range_table.NAME] = range_table.multiplicities(sends)
    main[bytes_table.NAME] = bytes_table.multiplicities(sends)
    return Witness(main, cpu.journal, cpu.exit_code, len(record))
