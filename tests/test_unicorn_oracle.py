"""The unicorn oracle itself: exact cycle counts, ecall ABI, and the errors it reports."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest
from unicorn import UC_HOOK_CODE

sys.path.insert(0, str(Path(__file__).parent))
import unicorn_oracle  # noqa: E402
from unicorn_oracle import OracleError, run_image  # noqa: E402

from host.build import GUESTS_DIR, build_guest  # noqa: E402
from zkvm import abi  # noqa: E402
from zkvm.elf import MemoryImage, load_elf  # noqa: E402

BASE = abi.TEXT_START
ECALL = 0x00000073


def addi(rd: int, rs1: int, imm: int) -> int:
    return ((imm & 0xFFF) << 20) | (rs1 << 15) | (rd << 7) | 0x13


def lw(rd: int, rs1: int, imm: int) -> int:
    return ((imm & 0xFFF) << 20) | (rs1 << 15) | (0b010 << 12) | (rd << 7) | 0x03


def lui(rd: int, imm20: int) -> int:
    return (imm20 << 12) | (rd << 7) | 0x37


def jal(rd: int, offset: int) -> int:
    o = offset & 0x1FFFFF
    return (((o >> 20) & 1) << 31) | (((o >> 1) & 0x3FF) << 21) | (((o >> 11) & 1) << 20) | (((o >> 12) & 0xFF) << 12) | (rd << 7) | 0x6F


def image(*insns: int) -> MemoryImage:
    words = {BASE + 4 * i: w for i, w in enumerate(insns)}
    return MemoryImage(entry=BASE, words=words, exec_ranges=((BASE, BASE + 4 * len(insns)),))


A0, A1, A7 = 10, 11, 17
HALT = [addi(A7, 0, abi.ECALL_HALT), ECALL]


def test_halt_exit_code_and_registers():
    result = run_image(image(addi(A0, 0, 42), addi(5, 0, -7), *HALT))
    assert (result.exit_code, result.journal, result.cycles) == (42, b"", 4)
    assert result.regs[A0] == 42 and result.regs[5] == 0xFFFFFFF9 and result.regs[0] == 0


def test_read_commit_cycles_log():
    prog = image(
        addi(A7, 0, abi.ECALL_READ_WORD), ECALL,             # a0 = "abcd", a1 = 4
        addi(A7, 0, abi.ECALL_COMMIT_WORD), addi(A1, 0, 3), ECALL,  # commit "abc"
        addi(A7, 0, abi.ECALL_READ_WORD), ECALL,             # a0 = "e", a1 = 1
        addi(A7, 0, abi.ECALL_COMMIT_WORD), ECALL,           # commit "e" (a1 = 1)
        addi(A7, 0, abi.ECALL_CYCLES), ECALL,                # 10 instructions completed before this one
        addi(A7, 0, abi.ECALL_COMMIT_WORD), addi(A1, 0, 1), ECALL,
        lui(A0, BASE >> 12), addi(A0, A0, 0), addi(A1, 0, 4), addi(A7, 0, abi.ECALL_LOG), ECALL,
        addi(A0, 0, 0), *HALT,
    )  # fmt: skip
    result = run_image(prog, b"abcde")
    assert result.journal == b"abce" + bytes([10])
    assert result.cycles == 22  # every instruction, the final ecall included
    assert result.exit_code == 0
    assert result.logs == struct.pack("<I", prog.words[BASE])  # LOG printed the first instruction's bytes


def test_block_cycle_count_matches_per_instruction_count(tmp_path):
    """The oracle counts per translated block; check it against a per-instruction hook on a real guest."""
    img = load_elf(build_guest(GUESTS_DIR / "fib", tmp_path / "fib.elf"))
    counted = []
    original = unicorn_oracle.Uc.hook_add

    def hook_add_also_counting(self, kind, callback, *args, **kwargs):
        if not counted:
            counted.append(0)
            original(self, UC_HOOK_CODE, lambda uc, addr, size, user: counted.__setitem__(0, counted[0] + 1))
        return original(self, kind, callback, *args, **kwargs)

    unicorn_oracle.Uc.hook_add = hook_add_also_counting
    try:
        result = run_image(img, struct.pack("<I", 300))
    finally:
        unicorn_oracle.Uc.hook_add = original
    assert result.cycles == counted[0] > 300


@pytest.mark.parametrize("count", [0, 5])
def test_bad_commit_length(count):
    prog = image(addi(A1, 0, count), addi(A7, 0, abi.ECALL_COMMIT_WORD), ECALL, *HALT)
    with pytest.raises(OracleError, match=f"COMMIT_WORD with byte count {count} at pc=0x{BASE + 8:08x}"):
        run_image(prog)


def test_unknown_ecall():
    with pytest.raises(OracleError, match=f"unknown ecall 99 at pc=0x{BASE + 4:08x}"):
        run_image(image(addi(A7, 0, 99), ECALL, *HALT))


def test_cycle_limit():
    with pytest.raises(OracleError, match="cycle limit 1000 exceeded"):
        run_image(image(addi(5, 5, 1), jal(0, -4)), max_cycles=1000)


def test_unmapped_load_faults():
    with pytest.raises(OracleError, match="unicorn fault at pc=0x00010000"):
        run_image(image(lw(5, 0, 16), *HALT))  # address 16 is below MEM_START


def test_illegal_instruction():
    with pytest.raises(OracleError, match="exception 2 at pc=0x00010000"):
        run_image(image(0x00000000, *HALT))
