"""Reference runner: executes a `MemoryImage` on unicorn's RISC-V 32 CPU with our ecall ABI.

It is the independent oracle for end-to-end tests of the guests (and of our interpreter): same image, same
input, compare exit code, journal, cycle count and final registers.

Cycles are counted per translated block (unicorn reports each block's size when it is entered). An ecall
always ends a block, so the count is exact whenever execution ends at HALT; the cycle limit is enforced at
block granularity. Memory outside [MEM_START, MEM_END) is unmapped, so wild accesses fault; unicorn (like
real hardware with misaligned-access emulation) does not trap misaligned accesses, so this oracle does not
check alignment.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from unicorn import UC_ARCH_RISCV, UC_HOOK_BLOCK, UC_HOOK_INTR, UC_MODE_RISCV32, Uc, UcError
from unicorn import riscv_const as rc

from rv32_ref import sha256_compress
from zkvm import abi
from zkvm.elf import MemoryImage

#: x0..x31 in unicorn's register numbering.
XREGS = [getattr(rc, f"UC_RISCV_REG_X{i}") for i in range(32)]
_A0, _A1, _A7 = XREGS[10], XREGS[11], XREGS[17]
#: unicorn's exception number for an environment call from M-mode (the mode unicorn starts in).
_ECALL_CAUSES = {8, 9, 11}


class OracleError(Exception):
    """The guest did something our ABI forbids, or unicorn faulted."""


@dataclass
class OracleResult:
    exit_code: int
    journal: bytes
    cycles: int
    regs: tuple[int, ...]  # x0..x31 after the HALT ecall
    logs: bytes = b""


@dataclass
class _State:
    input: bytes
    max_cycles: int
    pos: int = 0
    cycles: int = 0
    journal: bytearray = field(default_factory=bytearray)
    logs: bytearray = field(default_factory=bytearray)
    exit_code: int | None = None
    error: str | None = None


def _probe_ecall_pc() -> bool:
    """Whether unicorn reports pc = ecall address + 4 (rather than the ecall's own address) in the
    interrupt hook; versions differ, so ask it once."""
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
    uc.mem_map(0x10000, 0x1000)
    uc.mem_write(0x10000, (0x00000073).to_bytes(4, "little") * 2)  # ecall; ecall
    seen: list[int] = []

    def hook(uc: Uc, _cause: int, _user) -> None:
        seen.append(uc.reg_read(rc.UC_RISCV_REG_PC))
        uc.emu_stop()

    uc.hook_add(UC_HOOK_INTR, hook)
    uc.emu_start(0x10000, 0x11000)
    if seen not in ([0x10000], [0x10004]):
        raise OracleError(f"unexpected unicorn ecall behaviour: pcs {seen}")
    return seen == [0x10004]


_ECALL_PC_ADVANCED = _probe_ecall_pc()


def run_image(image: MemoryImage, input: bytes = b"", max_cycles: int = 100_000_000) -> OracleResult:
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
    uc.mem_map(abi.MEM_START, abi.MEM_END - abi.MEM_START)
    base, data = image.to_bytes_array()
    uc.mem_write(base, data.tobytes())
    state = _State(input=bytes(input), max_cycles=max_cycles)

    def on_block(uc: Uc, address: int, size: int, _user) -> None:
        state.cycles += size // 4
        if state.cycles > state.max_cycles:
            state.error = f"cycle limit {state.max_cycles} exceeded"
            uc.emu_stop()

    def on_interrupt(uc: Uc, cause: int, _user) -> None:
        pc = uc.reg_read(rc.UC_RISCV_REG_PC) - (4 if _ECALL_PC_ADVANCED else 0)  # pc of the ecall
        if cause not in _ECALL_CAUSES:
            state.error = f"exception {cause} at pc=0x{pc:08x}"
            uc.emu_stop()
            return
        _ecall(uc, state, pc)
        uc.reg_write(rc.UC_RISCV_REG_PC, pc + 4)  # resume after the ecall
        if state.exit_code is not None or state.error is not None:
            uc.emu_stop()

    uc.hook_add(UC_HOOK_BLOCK, on_block)
    uc.hook_add(UC_HOOK_INTR, on_interrupt)
    try:
        uc.emu_start(image.entry, abi.MEM_END)
    except UcError as exc:
        pc = uc.reg_read(rc.UC_RISCV_REG_PC)
        raise OracleError(f"unicorn fault at pc=0x{pc:08x}: {exc}") from None
    if state.error is not None:
        raise OracleError(state.error)
    if state.exit_code is None:
        raise OracleError("guest stopped without a HALT ecall")
    regs = tuple(uc.reg_read(r) & 0xFFFFFFFF for r in XREGS)
    return OracleResult(state.exit_code, bytes(state.journal), state.cycles, regs, bytes(state.logs))


def _ecall(uc: Uc, state: _State, pc: int) -> None:
    number = uc.reg_read(_A7)
    a0, a1 = uc.reg_read(_A0), uc.reg_read(_A1)
    if number == abi.ECALL_HALT:
        state.exit_code = a0 & 0xFFFFFFFF
    elif number == abi.ECALL_READ_WORD:
        chunk = state.input[state.pos : state.pos + 4]
        state.pos += len(chunk)
        uc.reg_write(_A0, int.from_bytes(chunk.ljust(4, b"\0"), "little"))
        uc.reg_write(_A1, len(chunk))
    elif number == abi.ECALL_COMMIT_WORD:
        if not 1 <= a1 <= 4:
            state.error = f"COMMIT_WORD with byte count {a1} at pc=0x{pc:08x}"
            return
        state.journal += (a0 & 0xFFFFFFFF).to_bytes(4, "little")[:a1]
    elif number == abi.ECALL_LOG:
        try:
            state.logs += uc.mem_read(a0, a1)
        except UcError:
            state.error = f"LOG buffer [0x{a0:08x}, +{a1}) outside guest memory at pc=0x{pc:08x}"
    elif number == abi.ECALL_CYCLES:
        # Cycles executed before this ecall: the block counter already includes the ecall itself.
        uc.reg_write(_A0, (state.cycles - 1) & 0xFFFFFFFF)
    elif number == abi.ECALL_SHA256:
        n = uc.reg_read(XREGS[12])  # a2: consecutive blocks (zkvm/abi.py, "SHA-256")
        if (not 1 <= n <= abi.SHA256_MAX_BLOCKS or (a0 | a1) & 3
                or not (abi.MEM_START <= a0 <= abi.MEM_END - 32 and abi.MEM_START <= a1 <= abi.MEM_END - 64 * n)):
            state.error = f"SHA256 with bad arguments a0=0x{a0:08x} a1=0x{a1:08x} a2={n} at pc=0x{pc:08x}"
            return
        st = list(struct.unpack("<8I", uc.mem_read(a0, 32)))
        for i in range(n):
            st = sha256_compress(st, bytes(uc.mem_read(a1 + 64 * i, 64)))
        uc.mem_write(a0, struct.pack("<8I", *st))
    elif number == abi.ECALL_READ_BUF:
        # the ABI's definition: what a1 READ_WORD calls, each stored to the next word, leave in memory
        if a1 > abi.READ_BUF_MAX_WORDS or a0 & 3 or not (abi.MEM_START <= a0 and a0 + 4 * a1 <= abi.MEM_END):
            state.error = f"READ_BUF with bad arguments a0=0x{a0:08x} a1={a1} at pc=0x{pc:08x}"
            return
        got = 0
        for i in range(a1):
            chunk = state.input[state.pos : state.pos + 4]
            state.pos += len(chunk)
            got += len(chunk)
            uc.mem_write(a0 + 4 * i, chunk.ljust(4, b"\0"))
        uc.reg_write(_A0, got)
    else:
        state.error = f"unknown ecall {number} at pc=0x{pc:08x}"

