"""Jumps to targets that cannot be fetched: one rule (RISC-V's), the same in run and record modes.

* a target that is not 4-byte aligned traps AT THE JUMP (pc_misaligned, pc = the jump): rd unchanged, the
  jump is not counted and has no record row;
* an aligned target without code (just past the text, further out, before it, in a hole between executable
  ranges) lets the jump retire (rd written, one cycle, one record row with next_pc = target) and the fetch
  at the target traps (pc_out_of_range, pc = the target).

Before this rule, `jalr` to the word just past a 16-byte text wrote rd and left 3 record rows while 4 bytes
further it left rd unchanged and 2 rows. unicorn agrees on the aligned case (it maps only the text, so the
fetch at the target faults after the jump retired); it implements the C extension, so it does not trap on
2-byte-aligned targets and cannot check the misaligned case.
"""

from __future__ import annotations

import struct

import pytest
from unicorn import UC_ARCH_RISCV, UC_MODE_RISCV32, Uc, UcError
from unicorn import riscv_const as rc

import rv32asm as A
from zkvm import abi
from zkvm.elf import MemoryImage
from zkvm.errors import GuestError
from zkvm.exec import Executor

T = abi.TEXT_START
LINK_REG = 1  # ra
PRE = [A.op_imm("addi", "a1", "zero", 5), A.op_imm("addi", "ra", "zero", 77)]  # 2 instructions before the jump
JUMP_AT = T + 4 * len(PRE)


def program(kind: str, target: int) -> list[int]:
    """PRE, then a jump of `kind` to `target` (t0 holds it for jalr), then a HALT that is never reached; the
    text is 16 words long (0x40 bytes)."""
    off = target - JUMP_AT
    if kind == "jalr":
        jump = A.jalr("ra", "t0", 0)
    elif kind == "jal":
        jump = A.jal("ra", off)
    else:  # a taken branch (a1 == a1)
        jump = A.branch("beq", "a1", "a1", off)
    code = PRE + [jump] + A.halt()
    return code + [A.NOP] * (16 - len(code))


TEXT_END = T + 4 * 16
ALIGNED = {"text_end": TEXT_END, "text_end+4": TEXT_END + 4, "before_text": T - 4, "far": T + 0x800}
MISALIGNED = {"text_end+2": TEXT_END + 2, "inside+2": T + 6, "inside+3_jalr": T + 7}


def execute(code: list[int], target: int, mode: str, image: MemoryImage | None = None):
    image = image or A.image(code)
    regs = [0] * 32
    regs[5] = target & 0xFFFF_FFFF  # t0: the jalr target
    m = Executor(image, max_cycles=100, initial_regs=regs).machine()
    status = m.run() if mode == "run" else m.record()
    with pytest.raises(GuestError) as info:
        m.raise_for_status(status)
    rows = m.take_records() if mode == "record" else None
    return info.value, m, rows


@pytest.mark.parametrize("mode", ["run", "record"])
@pytest.mark.parametrize("kind", ["jal", "jalr", "beq"])
@pytest.mark.parametrize("where", sorted(ALIGNED))
def test_aligned_unfetchable_target_retires_the_jump(kind, where, mode):
    target = ALIGNED[where]
    if kind == "beq" and not -4096 <= target - JUMP_AT < 4096:
        pytest.skip("out of branch range")
    err, m, rows = execute(program(kind, target), target, mode)
    assert (err.cause, err.pc, err.insn) == ("pc_out_of_range", target, 0), err
    assert m.pc == target and m.cycles == len(PRE) + 1
    assert m.regs[LINK_REG] == (JUMP_AT + 4 if kind != "beq" else 77)
    if rows is not None:
        assert len(rows) == len(PRE) + 1
        assert int(rows.next_pc[-1]) == target and int(rows.pc[-1]) == JUMP_AT
        assert int(rows.rd_val[-1]) == (JUMP_AT + 4 if kind != "beq" else 0)


@pytest.mark.parametrize("mode", ["run", "record"])
@pytest.mark.parametrize("kind", ["jal", "jalr", "beq"])
@pytest.mark.parametrize("where", sorted(MISALIGNED))
def test_misaligned_target_traps_at_the_jump(kind, where, mode):
    target = MISALIGNED[where]
    if kind != "jalr" and target % 2:
        pytest.skip("JAL/branch offsets are even")
    code = program(kind, target)
    err, m, rows = execute(code, target, mode)
    expected = target & ~1 if kind == "jalr" else target  # jalr clears bit 0
    assert (err.cause, err.pc, err.insn) == ("pc_misaligned", JUMP_AT, code[len(PRE)]), err
    assert f"0x{expected:08x}" in str(err)
    assert m.pc == JUMP_AT and m.cycles == len(PRE)
    assert m.regs[LINK_REG] == 77  # rd unchanged
    if rows is not None:
        assert len(rows) == len(PRE)


@pytest.mark.parametrize("mode", ["run", "record"])
def test_jump_into_a_hole_between_executable_ranges(mode):
    """A hole inside the decoded span is an aligned target without code: same rule as past the text."""
    second = T + 0x100
    code = PRE + [A.jal("ra", 0x80)] + A.halt()
    words = {T + 4 * i: w for i, w in enumerate(code)}
    words.update({second + 4 * i: w for i, w in enumerate(A.halt())})
    image = MemoryImage(T, words, ((T, T + 4 * len(code)), (second, second + 12)))
    err, m, rows = execute(code, 0, mode, image)
    assert (err.cause, err.pc) == ("pc_out_of_range", JUMP_AT + 0x80)
    assert m.regs[LINK_REG] == JUMP_AT + 4 and m.cycles == len(PRE) + 1
    if rows is not None:
        assert len(rows) == len(PRE) + 1


def test_cycle_limit_at_the_jump_target_comes_first():
    """The fetch at the target is the next instruction: with no cycle left, the cycle limit is reported."""
    target = TEXT_END + 4
    for mode in ("run", "record"):
        code = program("jal", target)
        m = Executor(A.image(code), max_cycles=len(PRE) + 1).machine()
        status = m.run() if mode == "run" else m.record()
        with pytest.raises(GuestError) as info:
            m.raise_for_status(status)
        assert (info.value.cause, info.value.pc) == ("cycle_limit", target), mode
        assert m.regs[LINK_REG] == JUMP_AT + 4


@pytest.mark.parametrize("kind", ["jal", "jalr", "beq"])
@pytest.mark.parametrize("where", ["text_end", "text_end+4", "far"])
def test_aligned_case_agrees_with_unicorn(kind, where):
    # unicorn maps whole pages: the text is placed at the end of one, so every target here is unmapped there
    shift = 0x1000 - 4 * 16
    target = ALIGNED[where] + shift
    code = program(kind, ALIGNED[where])  # pc-relative, except the jalr target (t0)
    base = T + shift
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
    uc.mem_map(T, 0x1000)
    uc.mem_write(base, struct.pack(f"<{len(code)}I", *code))
    uc.reg_write(rc.UC_RISCV_REG_X5, target)
    with pytest.raises(UcError):
        uc.emu_start(base, base + 0x1000, count=len(PRE) + 2)
    err, m, _ = execute(code, target, "run", A.image(code, base=base))
    assert (err.cause, err.pc) == ("pc_out_of_range", target)
    assert uc.reg_read(rc.UC_RISCV_REG_PC) == m.pc == target
    got = m.regs.tolist()
    for i in range(1, 32):
        assert got[i] == uc.reg_read(getattr(rc, f"UC_RISCV_REG_X{i}")) & 0xFFFF_FFFF, f"x{i}"
