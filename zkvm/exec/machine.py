"""Thin Python layer over the C interpreter: a decoded ``Program`` and one ``Machine`` run over it.

``zkvm.exec.Executor`` is the public entry point; tests and tools that need final registers or memory
use ``Executor.machine()`` to get a ``Machine`` directly.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from zkvm import abi
from zkvm.errors import ElfError, GuestError, ZkvmError
from zkvm.exec._rv32 import ffi, lib
from zkvm.exec.record import FIELDS, SHA_LOG_WORDS, Record

if (lib.rv32_mem_start(), lib.rv32_mem_end()) != (abi.MEM_START, abi.MEM_END):
    raise ImportError("zkvm.exec._rv32 was built for another memory map: rebuild it (make setup)")
if tuple(f for f, *_ in ffi.typeof("rv32_rec").fields) != FIELDS:
    raise ImportError("rv32_rec in rv32.h disagrees with zkvm/exec/record.py FIELDS")
if lib.RV32_SHA_LOG_WORDS != SHA_LOG_WORDS:
    raise ImportError("RV32_SHA_LOG_WORDS in rv32.h disagrees with zkvm/exec/record.py")

#: cause code -> name, from the C enum (RV32_CAUSE_LOAD_MISALIGNED -> "load_misaligned").
CAUSES: dict[int, str] = {
    getattr(lib, name): name[len("RV32_CAUSE_") :].lower() for name in dir(lib) if name.startswith("RV32_CAUSE_")
}
_RECORD_WIDTH = len(FIELDS)


def release_cached_records() -> None:
    """Return the record buffer the interpreter keeps for reuse (the last one freed) to the system."""
    lib.rv32_release_cached_records()


class Program:
    """The executable ranges of an image, decoded once into the C table."""

    def __init__(self, words: np.ndarray, is_exec: np.ndarray, base: int) -> None:
        words = np.ascontiguousarray(words, dtype=np.uint32)
        is_exec = np.ascontiguousarray(is_exec, dtype=np.uint8)
        ptr = lib.rv32_program_new(
            base, ffi.from_buffer("uint32_t[]", words), ffi.from_buffer("uint8_t[]", is_exec), len(words)
        )
        if ptr == ffi.NULL:
            raise MemoryError("cannot allocate the decoded program")
        self.ptr = ffi.gc(ptr, lib.rv32_program_free)
        self.base = base
        self.n = len(words)


class Machine:
    """One execution: registers, guest memory, input cursor, journal, log, optional record buffer."""

    def __init__(
        self,
        program: Program,
        entry: int,
        image: tuple[int, np.ndarray],
        input: bytes,
        max_cycles: int,
        max_journal: int,
        max_log: int,
        initial_regs: Sequence[int] | None = None,
    ) -> None:
        ptr = lib.rv32_machine_new(program.ptr)
        if ptr == ffi.NULL:
            raise MemoryError("cannot allocate guest memory")
        self._m = ffi.gc(ptr, lib.rv32_machine_free)
        self.program = program  # the C machine points into it: keep it alive
        base, data = image
        data = np.ascontiguousarray(data, dtype=np.uint8)
        if len(data) and lib.rv32_load(self._m, base, ffi.from_buffer("uint8_t[]", data), len(data)) != 0:
            raise ElfError(f"image [0x{base:08x}, 0x{base + len(data):08x}) is outside guest memory")
        self._input = bytes(input)
        self._input_buf = ffi.from_buffer("uint8_t[]", self._input) if self._input else ffi.NULL
        m = self._m
        m.input, m.input_len = self._input_buf, len(self._input)
        m.pc = entry & 0xFFFFFFFF
        m.max_cycles, m.journal_max, m.log_max = max_cycles, max_journal, max_log
        if initial_regs is not None:
            if len(initial_regs) != 32:
                raise ValueError("initial_regs needs 32 values")
            for i, v in enumerate(initial_regs):
                m.regs[i] = int(v) & 0xFFFFFFFF
            m.regs[0] = 0
        self.initial_regs = self.regs

    # ------------------------------------------------------------------------------------------ running
    def run(self) -> int:
        """Run until HALT, a trap or the cycle limit. Returns the rv32_status (see ``raise_for_status``)."""
        return lib.rv32_run(self._m)

    def record(self) -> int:
        """Like ``run`` but appends one record row per executed instruction (``take_records``)."""
        return lib.rv32_record(self._m)

    def record_segment(self, cycles: int) -> bool:
        """Record at most ``cycles`` more instructions (one segment of a run). True when the guest halted, False
        when the segment is full and the run goes on (the next call continues it); a trap raises GuestError.
        ``take_records(cycle0)`` then detaches the segment's rows."""
        start = self.cycles
        m = self._m
        self.initial_regs = self.regs  # the segment's record starts from here
        m.max_cycles = start + int(cycles)
        m.sha_log_len = 0  # the log restarts with each segment (take_records reads it)
        status = lib.rv32_record(self._m)
        if status == lib.RV32_TRAPPED and m.trap_cause == lib.RV32_CAUSE_CYCLE_LIMIT and self.cycles == start + cycles:
            return False
        self.raise_for_status(status)
        return True

    def run_until(self, cycles: int) -> bool:
        """Run (fast, unrecorded) until ``cycles`` instructions executed in total; True if the guest halted first."""
        m = self._m
        m.max_cycles = int(cycles)
        status = lib.rv32_run(self._m)
        if status == lib.RV32_TRAPPED and m.trap_cause == lib.RV32_CAUSE_CYCLE_LIMIT and self.cycles == cycles:
            return False
        self.raise_for_status(status)
        return True

    def raise_for_status(self, status: int) -> None:
        if status == lib.RV32_HALTED:
            return
        if status == lib.RV32_NO_MEMORY:
            raise ZkvmError("host out of memory while running the guest (record buffer or journal)")
        if status != lib.RV32_TRAPPED:
            raise ZkvmError(f"interpreter returned unknown status {status}")
        m = self._m
        cause = CAUSES.get(m.trap_cause, f"cause_{m.trap_cause}")
        raise GuestError(cause, m.trap_pc, m.trap_insn, _detail(cause, m.trap_value, m))

    def take_records(self, cycle0: int = 0, clk0: int = 1) -> Record:
        """Detach the record rows (zero-copy: the numpy array owns the C buffer). For a segment, ``cycle0`` is the
        run's cycle count at its first row (the SHA log's cycle indices become row indices) and ``clk0`` the
        circuit clock of that row."""
        n = int(self._m.rec_len)
        size = ffi.new("uint64_t *")
        ptr = lib.rv32_take_records(self._m, size)
        nbytes = int(size[0])
        if n == 0 or ptr == ffi.NULL:
            rows = np.zeros((0, _RECORD_WIDTH), dtype=np.uint32)
            if ptr != ffi.NULL:
                lib.rv32_free_records(ptr, nbytes)
        else:
            owned = ffi.gc(ptr, lambda p: lib.rv32_free_records(p, nbytes))
            # ffi.buffer keeps `owned` alive, and the array keeps the buffer alive
            rows = np.frombuffer(ffi.buffer(owned, n * ffi.sizeof("rv32_rec")), dtype=np.uint32)
            rows = rows.reshape(n, _RECORD_WIDTH)
        m = self._m
        sha = np.frombuffer(ffi.buffer(m.sha_log, m.sha_log_len), dtype=np.uint32).copy() if m.sha_log_len else \
            np.zeros(0, np.uint32)
        sha = sha.reshape(-1, SHA_LOG_WORDS)
        if cycle0 and len(sha):
            sha[:, 0] -= np.uint32(cycle0)
        return Record(rows, self.initial_regs, self.regs, self._input[: int(m.input_pos)], sha, clk0)

    # ------------------------------------------------------------------------------------------ state
    @property
    def regs(self) -> np.ndarray:
        return np.frombuffer(ffi.buffer(self._m.regs, 4 * 32), dtype=np.uint32).copy()

    @property
    def pc(self) -> int:
        return int(self._m.pc)

    @property
    def cycles(self) -> int:
        return int(self._m.cycles)

    @property
    def exit_code(self) -> int:
        return int(self._m.exit_code)

    @property
    def journal(self) -> bytes:
        return bytes(ffi.buffer(self._m.journal, self._m.journal_len)) if self._m.journal_len else b""

    @property
    def logs(self) -> bytes:
        return bytes(ffi.buffer(self._m.log, self._m.log_len)) if self._m.log_len else b""

    @property
    def logs_truncated(self) -> bool:
        return bool(self._m.log_truncated)

    @property
    def input_consumed(self) -> int:
        return int(self._m.input_pos)

    def read(self, addr: int, n: int) -> bytes:
        """Guest memory [addr, addr + n)."""
        if addr < abi.MEM_START or n < 0 or addr + n > abi.MEM_END:
            raise ValueError(f"[0x{addr:08x}, +{n}) is not guest memory")
        return bytes(ffi.buffer(self._m.mem + (addr - abi.MEM_START), n))


def _detail(cause: str, value: int, m) -> str:
    if cause in ("load_misaligned", "load_out_of_range", "store_misaligned", "store_out_of_range"):
        return f"address 0x{value:08x}"
    if cause == "store_to_text":
        return f"address 0x{value:08x} is in the program (self-modifying code is not supported)"
    if cause == "pc_misaligned":  # trap at the jump (it did not retire); value = its target
        return "pc not 4-byte aligned" if value == m.trap_pc else f"jump target 0x{value:08x} not 4-byte aligned"
    if cause == "pc_out_of_range":  # the fetch at pc; a jump there retired
        return "no executable code here"
    if cause == "bad_ecall":
        return f"unknown ecall number {value} in a7"
    if cause == "bad_ecall_arg":
        if int(m.regs[17]) == abi.ECALL_DOT_I8:
            return (f"DOT_I8 a2 = 0x{value:08x}: length {value & 0xFFFF} > {abi.DOT_MAX_LEN} or zero-point byte "
                    f"{value >> abi.DOT_ZP_SHIFT} > 255")
        if int(m.regs[17]) == abi.ECALL_READ_BUF:
            return f"READ_BUF a1 = {value} words > {abi.READ_BUF_MAX_WORDS}"
        if int(m.regs[17]) == abi.ECALL_SHA256:
            return f"SHA256 a2 = {value} blocks not in 1..{abi.SHA256_MAX_BLOCKS}"
        return f"COMMIT_WORD byte count {value} not in 1..4"
    if cause == "journal_overflow":
        return f"journal would exceed {int(m.journal_max)} bytes"
    if cause.startswith("sha_"):
        what = {"sha_misaligned": "is not 4-aligned", "sha_out_of_range": "leaves guest memory",
                "sha_state_in_text": "(state) overlaps the program text", "sha_overlap": "(state) overlaps the blocks"}
        return f"SHA256 ecall: pointer 0x{value:08x} {what.get(cause, '')}"
    if cause == "cycle_limit":
        return f"executed {int(m.cycles)} instructions without HALT (limit {int(m.max_cycles)})"
    return ""
