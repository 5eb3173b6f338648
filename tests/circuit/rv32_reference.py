"""Plain-Python RV32IM semantics (one operation at a time, Python ints) used as the oracle for the circuit tables."""

from __future__ import annotations

from zkvm.circuit.opcodes import (ADD, AND, DIV, DIVU, MUL, MULH, MULHSU, MULHU, OR, REM, REMU, SLL, SLT, SLTU,
                                  SRA, SRL, SUB, XOR)

MASK = 0xFFFFFFFF


def signed(x: int) -> int:
    return x - (1 << 32) if x & 0x80000000 else x


def rv32(op: int, a: int, b: int) -> int:
    sa, sb = signed(a), signed(b)
    if op == ADD:
        return (a + b) & MASK
    if op == SUB:
        return (a - b) & MASK
    if op == SLT:
        return int(sa < sb)
    if op == SLTU:
        return int(a < b)
    if op == AND:
        return a & b
    if op == OR:
        return a | b
    if op == XOR:
        return a ^ b
    if op == SLL:
        return (a << (b & 31)) & MASK
    if op == SRL:
        return a >> (b & 31)
    if op == SRA:
        return (sa >> (b & 31)) & MASK
    if op == MUL:
        return (a * b) & MASK
    if op == MULH:
        return ((sa * sb) >> 32) & MASK
    if op == MULHSU:
        return ((sa * b) >> 32) & MASK
    if op == MULHU:
        return (a * b) >> 32
    if op in (DIV, REM):
        if sb == 0:
            return MASK if op == DIV else a
        if sa == -(1 << 31) and sb == -1:
            return a if op == DIV else 0
        q = abs(sa) // abs(sb)
        q = -q if (sa < 0) != (sb < 0) else q
        return (q if op == DIV else sa - q * sb) & MASK
    if op in (DIVU, REMU):
        if b == 0:
            return MASK if op == DIVU else a
        return a // b if op == DIVU else a % b
    raise ValueError(op)


EDGE = (0, 1, 2, 3, 7, 31, 32, 33, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
        0x80000001, 0xFFFFFFFE, 0xFFFFFFFF)


def operands(seed: int, ops: tuple[int, ...], n: int):
    """Seeded random operations: all edge-value pairs for every op, then random words mixed with edge values."""
    import numpy as np

    rng = np.random.default_rng(seed)
    edge = np.array(EDGE, dtype=np.int64)
    ea, eb = np.meshgrid(edge, edge)
    o = np.repeat(np.array(ops, dtype=np.int64), ea.size)
    a = np.tile(ea.ravel(), len(ops))
    b = np.tile(eb.ravel(), len(ops))
    ro = rng.choice(np.array(ops, dtype=np.int64), n)
    ra = np.where(rng.random(n) < 0.2, rng.choice(edge, n), rng.integers(0, 1 << 32, n))
    rb = np.where(rng.random(n) < 0.2, rng.choice(edge, n), rng.integers(0, 1 << 32, n))
    # small operands matter for division and shifts
    rb = np.where(rng.random(n) < 0.2, rng.integers(0, 64, n), rb)
    return np.concatenate([o, ro]), np.concatenate([a, ra]), np.concatenate([b, rb])
