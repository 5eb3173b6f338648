"""The execution record: what the interpreter writes for the prover, one row per executed instruction.

This module is THE definition of the format (the C struct ``rv32_rec`` in ``rv32.h`` mirrors ``FIELDS``
and ``zkvm.exec`` refuses to load if the two disagree).

Row ``t`` describes the t-th executed instruction (t = 0 .. cycles-1; t is the cycle number, also the value
a CYCLES ecall at that row writes to a0). The last row is the HALT ecall. All fields are uint32:

``pc``          address of the instruction.
``insn``        the 32-bit instruction word.
``next_pc``     pc of the next row (pc + 4, or the branch/jump target). For the final HALT row: pc + 4.
``rs1_val``     value of x[rs1] *before* the instruction, when the format has an rs1 field (R/I/S/B-type:
                ALU, loads, stores, branches, JALR); 0 for LUI, AUIPC, JAL, FENCE, EBREAK.
                For ECALL: a0 before the call.
``rs2_val``     value of x[rs2] before the instruction for R/S/B-type; 0 otherwise. For ECALL: a1 before.
                (x0 always reads 0.)
``rd_val``      value written to rd by the instruction; 0 when rd = x0 or the instruction writes no
                register (stores, branches, FENCE). For ECALL: the value written to a0 (READ_WORD: the
                input word; CYCLES: the row index t mod 2^32; READ_BUF: the bytes copied), 0 for calls that
                write nothing
                (HALT, COMMIT_WORD, LOG).
``mem_addr``    for loads and stores: the word-aligned address containing the accessed byte(s)
                (addr & ~3); 0 for every other instruction.
``mem_before``  for loads and stores: the aligned 32-bit word at mem_addr before the instruction; for ECALL
                DOT_I8: a2 (length and zero point, read by the dot-product table); 0 otherwise.
``mem_after``   the aligned word after the instruction (== mem_before for loads; for SB/SH only the
                addressed byte/halfword differs); 0 for non-memory instructions.
``a1_val``      ECALL only: the value written to a1 (READ_WORD: number of input bytes, 0..4); for READ_BUF,
                which keeps a1, the input position before the call (the words it wrote are
                ``input_consumed[a1_val:]``, zero filled); else 0.
``a7_val``      ECALL only: the call number (a7); else 0.

Accelerator calls are logged beside the rows: ``sha_calls`` is ``uint32[k, 33]``, one row per block a SHA256
ecall compressed, in execution order: the cycle index t of its ecall row (the same for every block of a call;
a call's rows are consecutive), the 8 state words before the block, its 16 words (as stored in memory,
little-endian) and the 8 state words after it (see ``zkvm/abi.py`` ECALL_SHA256).

Besides the rows, a ``Record`` carries ``initial_regs`` (x0..x31 at the first row; all zero today: crt0
sets sp), ``final_regs`` (after the HALT), and ``input_consumed`` (the private-input bytes READ_WORD and
READ_BUF returned, in order). A segment's record (``Machine.record_segment``) holds the rows of that segment
only; ``sha_calls`` cycle indices are then relative to its first row, and ``clk0`` says where the circuit's
clock starts. Memory written before execution is the image (``MemoryImage.words``); everything
else starts as zero.

Reading the arrays: ``Record.rows`` is one C-contiguous ``uint32[cycles, len(FIELDS)]`` array; the named
attributes (``record.pc``...) are strided column views of it (use ``np.ascontiguousarray`` for a copy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Column order of ``Record.rows`` (and of the C struct ``rv32_rec``).
FIELDS: tuple[str, ...] = (
    "pc",
    "insn",
    "next_pc",
    "rs1_val",
    "rs2_val",
    "rd_val",
    "mem_addr",
    "mem_before",
    "mem_after",
    "a1_val",
    "a7_val",
)
COLUMN: dict[str, int] = {name: i for i, name in enumerate(FIELDS)}
#: Words per ``Record.sha_calls`` row (cycle, state in, block, state out: one block); rv32.h's RV32_SHA_LOG_WORDS.
SHA_LOG_WORDS = 33


@dataclass(frozen=True, eq=False)
class Record:
    """Per-cycle execution record (see the module docstring for every field)."""

    rows: np.ndarray  # uint32[cycles, len(FIELDS)]
    initial_regs: np.ndarray  # uint32[32]
    final_regs: np.ndarray  # uint32[32]
    input_consumed: bytes
    sha_calls: np.ndarray = field(default_factory=lambda: np.zeros((0, SHA_LOG_WORDS), np.uint32))
    #: The circuit clock of row 0: 1 for a whole run; a segment's rows continue the run's clock (segments.py).
    clk0: int = 1

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def column(self, name: str) -> np.ndarray:
        return self.rows[:, COLUMN[name]]

    @property
    def cycles(self) -> int:
        return len(self)

    pc = property(lambda self: self.column("pc"))
    insn = property(lambda self: self.column("insn"))
    next_pc = property(lambda self: self.column("next_pc"))
    rs1_val = property(lambda self: self.column("rs1_val"))
    rs2_val = property(lambda self: self.column("rs2_val"))
    rd_val = property(lambda self: self.column("rd_val"))
    mem_addr = property(lambda self: self.column("mem_addr"))
    mem_before = property(lambda self: self.column("mem_before"))
    mem_after = property(lambda self: self.column("mem_after"))
    a1_val = property(lambda self: self.column("a1_val"))
    a7_val = property(lambda self: self.column("a7_val"))
