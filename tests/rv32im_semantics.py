"""RV32IM instruction semantics in plain Python, written from the ISA manual (not from any implementation
under test). Values are unsigned 32-bit ints; results too."""

from __future__ import annotations

MASK = 0xFFFF_FFFF


def s32(x: int) -> int:
    x &= MASK
    return x - (1 << 32) if x & 0x8000_0000 else x


def sext(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return (value - (1 << bits) if value >> (bits - 1) else value) & MASK


def _div(a: int, b: int) -> int:
    if b == 0:
        return MASK  # quotient of division by zero: all ones
    sa, sb = s32(a), s32(b)
    if sa == -(1 << 31) and sb == -1:
        return 0x8000_0000  # overflow: the dividend
    q = abs(sa) // abs(sb)  # rounds toward zero
    return (-q if (sa < 0) != (sb < 0) else q) & MASK


def _rem(a: int, b: int) -> int:
    if b == 0:
        return a  # remainder of division by zero: the dividend
    sa, sb = s32(a), s32(b)
    if sa == -(1 << 31) and sb == -1:
        return 0
    r = abs(sa) % abs(sb)  # sign follows the dividend
    return (-r if sa < 0 else r) & MASK


RTYPE = {
    "add": lambda a, b: (a + b) & MASK,
    "sub": lambda a, b: (a - b) & MASK,
    "sll": lambda a, b: (a << (b & 31)) & MASK,
    "slt": lambda a, b: int(s32(a) < s32(b)),
    "sltu": lambda a, b: int(a < b),
    "xor": lambda a, b: a ^ b,
    "srl": lambda a, b: a >> (b & 31),
    "sra": lambda a, b: (s32(a) >> (b & 31)) & MASK,
    "or": lambda a, b: a | b,
    "and": lambda a, b: a & b,
    "mul": lambda a, b: (a * b) & MASK,
    "mulh": lambda a, b: ((s32(a) * s32(b)) >> 32) & MASK,
    "mulhsu": lambda a, b: ((s32(a) * b) >> 32) & MASK,
    "mulhu": lambda a, b: (a * b) >> 32,
    "div": _div,
    "divu": lambda a, b: MASK if b == 0 else a // b,
    "rem": _rem,
    "remu": lambda a, b: a if b == 0 else a % b,
}

# I-type ALU ops: the 12-bit immediate is sign-extended, then the R-type rule applies (sltiu compares
# against the sign-extended immediate as unsigned; shifts use the 5-bit shamt).
ITYPE = {
    "addi": "add",
    "slti": "slt",
    "sltiu": "sltu",
    "xori": "xor",
    "ori": "or",
    "andi": "and",
    "slli": "sll",
    "srli": "srl",
    "srai": "sra",
}

BRANCH = {
    "beq": lambda a, b: a == b,
    "bne": lambda a, b: a != b,
    "blt": lambda a, b: s32(a) < s32(b),
    "bge": lambda a, b: s32(a) >= s32(b),
    "bltu": lambda a, b: a < b,
    "bgeu": lambda a, b: a >= b,
}


def load(memory: bytes, offset: int, kind: str) -> int:
    size = {"lb": 1, "lbu": 1, "lh": 2, "lhu": 2, "lw": 4}[kind]
    raw = int.from_bytes(memory[offset : offset + size], "little")
    return sext(raw, 8 * size) if kind in ("lb", "lh") else raw


def store(memory: bytearray, offset: int, value: int, kind: str) -> None:
    size = {"sb": 1, "sh": 2, "sw": 4}[kind]
    memory[offset : offset + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
