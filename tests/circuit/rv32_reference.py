"""Operands for the circuit's family tables, and the RV32IM result each op must give: the tests' one reference
model (tests/rv32_ref.py), looked up by the circuit's op codes."""

from __future__ import annotations

from rv32_ref import RTYPE
from zkvm.circuit.opcodes import ALU_OPS, DIV_OPS, MUL_OPS, SHIFT_OPS

_NAME = {code: name.lower() for ops in (ALU_OPS, SHIFT_OPS, MUL_OPS, DIV_OPS) for name, code in ops.items()}


def rv32(op: int, a: int, b: int) -> int:
    """The spec result of alu-bus op ``op`` on unsigned 32-bit words."""
    return RTYPE[_NAME[op]](a, b)


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
