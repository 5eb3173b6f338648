"""RV32IM results of every op id on bus "alu", vectorised: the CPU's witness for the value c it sends.

The family tables constrain c independently; this module only lets the CPU fill its own columns (and lets
trace generation notice when the interpreter and the circuit disagree, before any proving).
"""

from __future__ import annotations

import numpy as np

from zkvm.circuit import opcodes as op

_M32 = 0xFFFF_FFFF


def alu_result(ops: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """c = op(a, b) per the RV32IM spec (division edge cases included); int64 arrays in [0, 2^32)."""
    ops = np.asarray(ops, dtype=np.int64)
    a = np.asarray(a, dtype=np.int64) & _M32
    b = np.asarray(b, dtype=np.int64) & _M32
    sa = a - ((a >> 31) << 32)
    sb = b - ((b >> 31) << 32)
    sh = b & 31
    c = np.zeros_like(a)

    def put(code: int, value: np.ndarray) -> None:
        sel = ops == code
        if sel.any():
            c[sel] = value[sel] & _M32

    put(op.ADD, a + b)
    put(op.SUB, a - b)
    put(op.SLT, (sa < sb).astype(np.int64))
    put(op.SLTU, (a < b).astype(np.int64))
    put(op.AND, a & b)
    put(op.OR, a | b)
    put(op.XOR, a ^ b)
    put(op.SLL, a << sh)
    put(op.SRL, a >> sh)
    put(op.SRA, sa >> sh)
    put(op.MUL, _mul_lo(a, b))
    put(op.MULH, (sa * sb) >> 32)
    put(op.MULHSU, _mulhsu(sa, b))
    put(op.MULHU, _mulhu(a, b))
    bz = b == 0
    safe_b = np.where(bz, 1, b)
    safe_sb = np.where(bz, 1, sb)
    overflow = (sa == -(1 << 31)) & (sb == -1)
    safe_sb = np.where(overflow, 1, safe_sb)
    q_s = np.where(bz, -1, np.where(overflow, sa, _tdiv(sa, safe_sb)))
    r_s = np.where(bz, sa, np.where(overflow, 0, sa - _tdiv(sa, safe_sb) * safe_sb))
    put(op.DIV, q_s)
    put(op.REM, r_s)
    put(op.DIVU, np.where(bz, _M32, a // safe_b))
    put(op.REMU, np.where(bz, a, a % safe_b))
    return c


def _tdiv(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Division rounding toward zero (RISC-V), for int64 arrays with y != 0."""
    q = np.abs(x) // np.abs(y)
    return np.where((x < 0) ^ (y < 0), -q, q)


def _mul_lo(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a.astype(np.uint64) * b.astype(np.uint64)).astype(np.int64) & _M32


def _mulhu(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # 64-bit unsigned product without overflow: split b into 16-bit halves.
    a, b = a.astype(np.uint64), b.astype(np.uint64)
    lo = a * (b & np.uint64(0xFFFF))
    hi = a * (b >> np.uint64(16))
    total_hi = (hi + (lo >> np.uint64(16))) >> np.uint64(16)
    return total_hi.astype(np.int64)


def _mulhsu(sa: np.ndarray, b: np.ndarray) -> np.ndarray:
    # signed x unsigned: (sa * b) >> 32 = mulhu(a, b) - (b if a < 0)
    a = sa & _M32
    return _mulhu(a, b) - np.where(sa < 0, b, 0)
