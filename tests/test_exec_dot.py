"""ECALL_DOT_I8 in the interpreter (run and record modes) against an independent oracle, and its traps.

Oracle: numpy int64 arithmetic of sum (a[i] - za) * b[i], wrapped to int32 — written from the ABI text in
zkvm/abi.py, sharing no code with the C interpreter. Programs come from the independent encoder rv32asm.py.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

import rv32asm as A
from zkvm import abi
from zkvm.errors import GuestError
from zkvm.exec import Executor

DATA_A = 0x0010_0000
DATA_B = 0x0020_0000
SEED = 1313


def oracle(a: np.ndarray, b: np.ndarray, za: int) -> int:
    s = int(np.sum((a.astype(np.int64) - za) * b.astype(np.int64)))
    return (s + (1 << 31)) % (1 << 32) - (1 << 31)


def _words(base: int, data: bytes) -> dict[int, int]:
    """Image words holding `data` at byte address `base` (any alignment)."""
    lo = base & ~3
    buf = bytes(base - lo) + data
    buf += bytes(-len(buf) % 4)
    return {lo + 4 * i: int.from_bytes(buf[4 * i:4 * i + 4], "little") for i in range(len(buf) // 4)}


def dot_program(pa: int, pb: int, a2: int) -> list[int]:
    """a0 = pa, a1 = pb, a2 = a2, ecall DOT, commit a0 (4 bytes), halt 0."""
    code = A.li("a0", pa) + A.li("a1", pb) + A.li("a2", a2) + A.li("a7", abi.ECALL_DOT_I8) + [A.ECALL]
    code += A.li("a1", 4) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL]
    return code + A.li("a0", 0) + A.halt()


def a2_of(n: int, za: int) -> int:
    return n | (za + 128) << abi.DOT_ZP_SHIFT


def run_dot(a: bytes, b: bytes, off: int, za: int, record: bool = False) -> int:
    pa, pb = DATA_A + off, DATA_B + off
    data = {**_words(pa, a), **_words(pb, b)}
    ex = Executor(A.image(dot_program(pa, pb, a2_of(len(a), za)), data), b"", 10_000)
    if record:
        res, rec = ex.record()
        row = np.nonzero(np.asarray(rec.a7_val) == abi.ECALL_DOT_I8)[0]
        assert len(row) == 1 and int(rec.mem_before[row[0]]) == a2_of(len(a), za)
        assert int(rec.rd_val[row[0]]) == int.from_bytes(res.journal, "little")
    else:
        res = ex.run()
    assert res.exit_code == 0
    return int.from_bytes(res.journal, "little", signed=True)


LENGTHS = [0, 1, 2, 3, 4, 5, 7, 8, 31, 64, 255, 784, 1000, 4093, 4096]


@pytest.mark.parametrize("off", range(4))
@pytest.mark.parametrize("record", [False, True])
def test_dot_matches_oracle(off, record):
    rng = np.random.default_rng([SEED, off, record])
    for n in LENGTHS + [int(x) for x in rng.integers(0, 4097, 6)]:
        a = rng.integers(-128, 128, n).astype(np.int8)
        b = rng.integers(-128, 128, n).astype(np.int8)
        za = int(rng.integers(-128, 128))
        got = run_dot(a.tobytes(), b.tobytes(), off, za, record)
        assert got == oracle(a, b, za), f"seed {SEED} off {off} n {n} za {za}"


def test_dot_extremes_max_length():
    """The largest |sum|: all a = -128 with za = 127, all b = -128, at the maximum length."""
    n = abi.DOT_MAX_LEN
    a, b = np.full(n, -128, np.int8), np.full(n, -128, np.int8)
    assert run_dot(a.tobytes(), b.tobytes(), 1, 127) == oracle(a, b, 127) == 255 * 128 * n
    assert run_dot(a.tobytes(), (-b.astype(np.int16) - 1).astype(np.int8).tobytes(), 0, 127) == -255 * 127 * n


def _trap(pa: int, pb: int, a2: int) -> GuestError:
    ex = Executor(A.image(dot_program(pa, pb, a2), _words(DATA_A, bytes(16))), b"", 10_000)
    with pytest.raises(GuestError) as info:
        ex.run()
    with pytest.raises(GuestError) as info2:
        ex.record()
    assert info.value.cause == info2.value.cause
    return info.value


@pytest.mark.parametrize("pa, pb, a2, cause", [
    (DATA_A, DATA_B, a2_of(abi.DOT_MAX_LEN + 1, 0), "bad_ecall_arg"),       # too long
    (DATA_A, DATA_B, 0xFFFF_FFFF, "bad_ecall_arg"),                           # zero point byte out of range
    (DATA_A, DATA_B + 1, a2_of(4, 0), "load_misaligned"),                    # different alignments
    (DATA_A + 2, DATA_B + 1, a2_of(0, 0), "load_misaligned"),                # even for n = 0
    (abi.MEM_END - 2, DATA_B + 2, a2_of(3, 0), "load_out_of_range"),        # runs past the end of memory
    (DATA_A, abi.MEM_END - 4, a2_of(5, 0), "load_out_of_range"),
    (abi.MEM_START - 4, DATA_B, a2_of(4, 0), "load_out_of_range"),          # below guest memory
    (0, 0, a2_of(1, 0), "load_out_of_range"),                               # null
    (abi.MEM_END, DATA_B, a2_of(0, 0), "load_out_of_range"),                # pointer itself outside, n = 0
    (0xFFFF_FFFC, 0xFFFF_FFFC, a2_of(8, 0), "load_out_of_range"),           # wraps around 2^32
])
def test_dot_traps_name_their_cause(pa, pb, a2, cause):
    err = _trap(pa, pb, a2)
    assert err.cause == cause, err


def test_dot_in_range_edges_do_not_trap():
    """The last bytes of memory and n = 0 with any in-range pointer are fine."""
    ex = Executor(A.image(dot_program(abi.MEM_END - 3, DATA_B + 1, a2_of(3, -5)), {}), b"", 10_000)
    assert ex.run().journal == bytes(4)
    ex = Executor(A.image(dot_program(8, 12, a2_of(0, 0)), {}), b"", 10_000)
    assert ex.run().journal == bytes(4)
