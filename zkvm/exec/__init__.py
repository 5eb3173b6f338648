"""The RV32IM executor: runs a ``MemoryImage`` on the C interpreter (``rv32.c``).

>>> result = Executor(image, input=b"...").run()            # fastest
>>> result, record = Executor(image, input=b"...").record()  # + one row per cycle for the prover

A trap raises ``GuestError(cause, pc, insn)``; cause names are the ``RV32_CAUSE_*`` names of ``rv32.h`` in
lower case (``illegal_instruction``, ``load_misaligned``, ``store_to_text``, ``cycle_limit``...).

Semantics worth knowing:
- Registers start at zero (crt0 sets sp); pc starts at ``image.entry``.
- ``cycles`` counts executed instructions, the final HALT included. ``max_cycles`` allows exactly that
  many; executing one more is a ``cycle_limit`` trap.
- The executable ranges are decoded once per ``Executor``; a store anywhere in the span they cover (from
  the lowest start to the highest end) traps (``store_to_text``): self-modifying code is not supported.
- FENCE (funct3 = 0) executes as a no-op; FENCE.I, CSR instructions, and compressed encodings are illegal.
- Jumps to bad targets follow RISC-V (``rv32.c``): a target that is not 4-byte aligned traps at the jump
  (``pc_misaligned``, rd unchanged, not counted); an aligned target without code lets the jump retire (rd
  written, counted, recorded) and the fetch there traps (``pc_out_of_range`` at the target).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from zkvm import abi
from zkvm.exec.machine import CAUSES, Machine, Program, release_cached_records
from zkvm.exec.record import FIELDS, Record

__all__ = [
    "CAUSES", "DEFAULT_MAX_JOURNAL", "DEFAULT_MAX_LOG", "MAX_CYCLES_LIMIT", "ExecResult", "Executor", "FIELDS",
    "Machine", "Record", "release_cached_records",
]

#: Journal size limit (a COMMIT_WORD beyond it traps with ``journal_overflow``).
DEFAULT_MAX_JOURNAL = 1 << 26
#: Largest accepted max_cycles (the C side counts in 64 bits).
MAX_CYCLES_LIMIT = 1 << 62
#: Debug log limit (LOG output beyond it is dropped; ``ExecResult.logs_truncated`` says so).
DEFAULT_MAX_LOG = 1 << 24


@dataclass
class ExecResult:
    exit_code: int
    journal: bytes
    cycles: int
    logs: bytes
    wall_s: float
    #: x0..x31 after the HALT
    regs: tuple[int, ...] = field(default=(), repr=False)
    logs_truncated: bool = False

    @property
    def mips(self) -> float:
        return self.cycles / self.wall_s / 1e6 if self.wall_s > 0 else float("inf")


class Executor:
    """Runs one image on given input. Reusable: every ``run``/``record`` starts from the initial state."""

    def __init__(
        self,
        image,
        input: bytes = b"",
        max_cycles: int = abi.DEFAULT_MAX_CYCLES,
        *,
        max_journal: int = DEFAULT_MAX_JOURNAL,
        max_log: int = DEFAULT_MAX_LOG,
        initial_regs: Sequence[int] | None = None,
    ) -> None:
        if not 0 <= max_cycles <= MAX_CYCLES_LIMIT:
            raise ValueError(f"max_cycles must be in [0, {MAX_CYCLES_LIMIT}]")
        if not 0 <= max_journal < 1 << 40 or not 0 <= max_log < 1 << 40:
            raise ValueError("max_journal and max_log must be in [0, 2^40)")
        self.image = image
        self.input = bytes(input)
        self.max_cycles = int(max_cycles)
        self.max_journal, self.max_log = int(max_journal), int(max_log)
        self.initial_regs = initial_regs
        self._memory = image.to_bytes_array()
        self.program = _decode(image, self._memory)

    def machine(self) -> Machine:
        """A fresh machine at the entry point (lower level than ``run``: exposes registers and memory)."""
        return Machine(
            self.program,
            self.image.entry,
            self._memory,
            self.input,
            self.max_cycles,
            self.max_journal,
            self.max_log,
            self.initial_regs,
        )

    def run(self) -> ExecResult:
        m = self.machine()
        t0 = time.perf_counter()
        status = m.run()
        wall = time.perf_counter() - t0
        m.raise_for_status(status)
        return _result(m, wall)

    def record(self) -> tuple[ExecResult, Record]:
        m = self.machine()
        t0 = time.perf_counter()
        status = m.record()
        wall = time.perf_counter() - t0
        m.raise_for_status(status)
        return _result(m, wall), m.take_records()


def _result(m: Machine, wall: float) -> ExecResult:
    return ExecResult(
        exit_code=m.exit_code,
        journal=m.journal,
        cycles=m.cycles,
        logs=m.logs,
        wall_s=wall,
        regs=tuple(int(v) for v in m.regs),
        logs_truncated=m.logs_truncated,
    )


def _decode(image, memory: tuple[int, np.ndarray]) -> Program:
    """Decode the span covering every executable range; words between ranges are holes that trap."""
    ranges = [(int(s), int(e)) for s, e in image.exec_ranges if e > s]
    if not ranges:
        return Program(np.zeros(0, np.uint32), np.zeros(0, np.uint8), image.entry & ~3 & 0xFFFFFFFF)
    lo = min(s for s, _ in ranges) & ~3
    hi = (max(e for _, e in ranges) + 3) & ~3
    n = (hi - lo) // 4
    base, data = memory
    words = np.zeros(n, dtype=np.uint32)
    # copy the image bytes that overlap [lo, hi)
    a, b = max(lo, base), min(hi, base + len(data))
    if b > a:
        chunk = np.zeros(hi - lo, dtype=np.uint8)
        chunk[a - lo : b - lo] = data[a - base : b - base]
        words = chunk.view("<u4").astype(np.uint32)
    is_exec = np.zeros(n, dtype=np.uint8)
    for s, e in ranges:
        is_exec[(s - lo) // 4 : (e - lo + 3) // 4] = 1
    return Program(words, is_exec, lo)
