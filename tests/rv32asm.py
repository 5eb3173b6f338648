"""A tiny RV32IM encoder for tests: one function per instruction, returning the 32-bit word.

Independent of the interpreter's decoder on purpose (written from the ISA manual's encoding tables), so
tests built from it check the decoder rather than mirror it.
"""

from __future__ import annotations

from zkvm import abi
from zkvm.elf import MemoryImage

REG = {f"x{i}": i for i in range(32)}
REG.update(zero=0, ra=1, sp=2, gp=3, tp=4, t0=5, t1=6, t2=7, s0=8, s1=9, a0=10, a1=11, a2=12, a3=13, a4=14)
REG.update(a5=15, a6=16, a7=17, s2=18, s3=19, s4=20, s5=21, s6=22, s7=23, s8=24, s9=25, s10=26, s11=27)
REG.update(t3=28, t4=29, t5=30, t6=31)


def _r(x: int | str) -> int:
    return REG[x] if isinstance(x, str) else x


def r_type(f7: int, rs2, rs1, f3: int, rd, opcode: int = 0x33) -> int:
    return (f7 << 25) | (_r(rs2) << 20) | (_r(rs1) << 15) | (f3 << 12) | (_r(rd) << 7) | opcode


def i_type(imm: int, rs1, f3: int, rd, opcode: int) -> int:
    assert -2048 <= imm < 4096, imm
    return ((imm & 0xFFF) << 20) | (_r(rs1) << 15) | (f3 << 12) | (_r(rd) << 7) | opcode


def s_type(imm: int, rs2, rs1, f3: int) -> int:
    assert -2048 <= imm < 2048, imm
    imm &= 0xFFF
    return ((imm >> 5) << 25) | (_r(rs2) << 20) | (_r(rs1) << 15) | (f3 << 12) | ((imm & 0x1F) << 7) | 0x23


def b_type(offset: int, rs2, rs1, f3: int) -> int:
    assert offset % 2 == 0 and -4096 <= offset < 4096, offset
    o = offset & 0x1FFF
    return (
        ((o >> 12) << 31) | (((o >> 5) & 0x3F) << 25) | (_r(rs2) << 20) | (_r(rs1) << 15) | (f3 << 12)
        | (((o >> 1) & 0xF) << 8) | (((o >> 11) & 1) << 7) | 0x63
    )


def lui(rd, imm20: int) -> int:
    return ((imm20 & 0xFFFFF) << 12) | (_r(rd) << 7) | 0x37


def auipc(rd, imm20: int) -> int:
    return ((imm20 & 0xFFFFF) << 12) | (_r(rd) << 7) | 0x17


def jal(rd, offset: int) -> int:
    assert offset % 2 == 0 and -(1 << 20) <= offset < (1 << 20), offset
    o = offset & 0x1FFFFF
    return (
        ((o >> 20) << 31) | (((o >> 1) & 0x3FF) << 21) | (((o >> 11) & 1) << 20) | (((o >> 12) & 0xFF) << 12)
        | (_r(rd) << 7) | 0x6F
    )


def jalr(rd, rs1, imm: int = 0) -> int:
    return i_type(imm, rs1, 0, rd, 0x67)


_BRANCH = {"beq": 0, "bne": 1, "blt": 4, "bge": 5, "bltu": 6, "bgeu": 7}
_LOAD = {"lb": 0, "lh": 1, "lw": 2, "lbu": 4, "lhu": 5}
_STORE = {"sb": 0, "sh": 1, "sw": 2}
_OPIMM = {"addi": 0, "slti": 2, "sltiu": 3, "xori": 4, "ori": 6, "andi": 7}
_SHIFTI = {"slli": (1, 0), "srli": (5, 0), "srai": (5, 0x20)}
_OP = {
    "add": (0, 0), "sub": (0x20, 0), "sll": (0, 1), "slt": (0, 2), "sltu": (0, 3), "xor": (0, 4),
    "srl": (0, 5), "sra": (0x20, 5), "or": (0, 6), "and": (0, 7),
    "mul": (1, 0), "mulh": (1, 1), "mulhsu": (1, 2), "mulhu": (1, 3),
    "div": (1, 4), "divu": (1, 5), "rem": (1, 6), "remu": (1, 7),
}
BRANCHES, LOADS, STORES = tuple(_BRANCH), tuple(_LOAD), tuple(_STORE)
OP_IMMS, SHIFT_IMMS, OPS = tuple(_OPIMM), tuple(_SHIFTI), tuple(_OP)


def branch(name: str, rs1, rs2, offset: int) -> int:
    return b_type(offset, rs2, rs1, _BRANCH[name])


def load(name: str, rd, rs1, imm: int) -> int:
    return i_type(imm, rs1, _LOAD[name], rd, 0x03)


def store(name: str, rs2, rs1, imm: int) -> int:
    return s_type(imm, rs2, rs1, _STORE[name])


def op_imm(name: str, rd, rs1, imm: int) -> int:
    if name in _SHIFTI:
        f3, f7 = _SHIFTI[name]
        assert 0 <= imm < 32
        return r_type(f7, imm, rs1, f3, rd, 0x13)
    return i_type(imm, rs1, _OPIMM[name], rd, 0x13)


def op(name: str, rd, rs1, rs2) -> int:
    f7, f3 = _OP[name]
    return r_type(f7, rs2, rs1, f3, rd)


ECALL, EBREAK, FENCE = 0x00000073, 0x00100073, 0x0FF0000F
NOP = 0x00000013


def li(rd, value: int) -> list[int]:
    """Load a 32-bit constant: LUI + ADDI (2 words, always, so code layout is predictable)."""
    value &= 0xFFFFFFFF
    lo = value & 0xFFF
    lo = lo - 0x1000 if lo >= 0x800 else lo
    hi = ((value - lo) >> 12) & 0xFFFFF
    return [lui(rd, hi), i_type(lo, rd, 0, rd, 0x13)]


def halt(code_reg="a0") -> list[int]:
    """a7 <- HALT; ecall (exit code in a0 unless code_reg says otherwise)."""
    words = [] if code_reg == "a0" else [op("add", "a0", code_reg, "zero")]
    return words + li("a7", abi.ECALL_HALT) + [ECALL]


def image(code: list[int], data: dict[int, int] | None = None, base: int = abi.TEXT_START) -> MemoryImage:
    """A MemoryImage with `code` at `base` (executable) and optional data words."""
    words = {base + 4 * i: w & 0xFFFFFFFF for i, w in enumerate(code)}
    for addr, w in (data or {}).items():
        assert addr % 4 == 0 and addr not in words
        words[addr] = w & 0xFFFFFFFF
    return MemoryImage(entry=base, words=words, exec_ranges=((base, base + 4 * len(code)),))


def elf(code: list[int], base: int = abi.TEXT_START) -> bytes:
    """A minimal static ELF32 RV32 executable: one R+X PT_LOAD segment holding `code`, entry at its start."""
    import struct

    text = struct.pack(f"<{len(code)}I", *(w & 0xFFFFFFFF for w in code))
    ehdr, phdr = struct.Struct("<16sHHIIIIIHHHHHH"), struct.Struct("<8I")
    offset = ehdr.size + phdr.size
    ident = b"\x7fELF\x01\x01\x01" + b"\0" * 9
    header = ehdr.pack(ident, 2, 243, 1, base, ehdr.size, 0, 0, ehdr.size, phdr.size, 1, 40, 0, 0)
    segment = phdr.pack(1, offset, base, base, len(text), len(text), 5, 4)  # PT_LOAD, flags R+X
    return header + segment + text
