"""ECALL_READ_BUF in the interpreter (run and record modes) against READ_WORD semantics, and its traps.

The ABI defines READ_BUF(dst, n) as what n READ_WORD calls, each stored to the next word, leave in memory
(zkvm/abi.py, "bulk input"). The differential test runs, on the same random inputs, a program that makes a
random sequence of READ_BUF calls and one that does the same with READ_WORD + SW loops (encoded by the
independent rv32asm.py), and compares the buffers, the counts and the journal; the unicorn oracle (its own
Python implementation of the ABI) runs the READ_BUF program too.
"""

from __future__ import annotations

import numpy as np
import pytest

import rv32asm as A
from unicorn_oracle import run_image
from zkvm import abi
from zkvm.errors import GuestError
from zkvm.exec import Executor

BUF = 0x0008_0000
SEED = 7177


def _read_buf(dst: int, n: int) -> list[int]:
    """READ_BUF(dst, n), then commit the count it returned."""
    code = A.li("a0", dst) + A.li("a1", n) + A.li("a7", abi.ECALL_READ_BUF) + [A.ECALL]
    return code + A.li("a1", 4) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL]


def _read_words(dst: int, n: int) -> list[int]:
    """n x (READ_WORD, SW a0 to the next word, s2 += count), then commit s2: the ABI's definition."""
    code = A.li("s1", dst) + A.li("s2", 0)
    for i in range(n):
        code += A.li("a7", abi.ECALL_READ_WORD) + [A.ECALL]
        code += [A.store("sw", "a0", "s1", 4 * i), A.op("add", "s2", "s2", "a1")]
    return code + [A.op("add", "a0", "s2", "zero")] + A.li("a1", 4) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL]


def _program(calls, body) -> list[int]:
    code = []
    for dst, n in calls:
        code += body(dst, n)
    # a READ_WORD after the calls: its count shows where the stream is (and eof)
    code += A.li("a7", abi.ECALL_READ_WORD) + [A.ECALL] + [A.op("add", "s3", "a1", "zero")]
    code += A.li("a1", 4) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL]
    code += [A.op("add", "a0", "s3", "zero")] + A.li("a1", 4) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL]
    return code + A.li("a0", 0) + A.halt()


def _final(code, data: bytes, record: bool, span: int):
    """(journal, the buffer region) after running `code` on `data`, filling memory with 0xA5 first."""
    fill = {BUF + 4 * i: 0xA5A5A5A5 for i in range(span // 4)}
    ex = Executor(A.image(code, fill), data, 1_000_000)
    m = ex.machine()
    status = m.record() if record else m.run()
    m.raise_for_status(status)
    return m.journal, m.read(BUF, span), m.input_consumed


@pytest.mark.parametrize("record", [False, True])
def test_read_buf_matches_read_word_loop(record):
    rng = np.random.default_rng([SEED, record])
    for trial in range(12):
        data = rng.integers(0, 256, int(rng.integers(0, 200))).astype(np.uint8).tobytes()
        calls, at = [], 0
        for _ in range(int(rng.integers(1, 6))):
            n = int(rng.choice([0, 1, 2, 3, int(rng.integers(4, 24))]))
            calls.append((BUF + at, n))
            at += 4 * n + 4 * int(rng.integers(0, 3))
        span = at + 64
        got = _final(_program(calls, _read_buf), data, record, span)
        want = _final(_program(calls, _read_words), data, record, span)
        assert got == want, f"seed {SEED} trial {trial}: calls {calls}, input {len(data)} bytes"
        if trial < 4:
            oracle = run_image(A.image(_program(calls, _read_buf)), data)
            assert oracle.journal == got[0], f"seed {SEED} trial {trial}"


def test_record_carries_the_input_position():
    """The prover rebuilds the words from a1_val (input position before the call) and the consumed input."""
    data = bytes(range(1, 40))
    code = _program([(BUF, 3), (BUF + 64, 0), (BUF + 128, 20)], _read_buf)
    res, rec = Executor(A.image(code), data, 10_000).record()
    t = np.nonzero(np.asarray(rec.a7_val) == abi.ECALL_READ_BUF)[0]
    assert [int(rec.a1_val[k]) for k in t] == [0, 12, 12]
    assert [int(rec.rd_val[k]) for k in t] == [12, 0, 27]
    assert [int(rec.rs2_val[k]) for k in t] == [3, 0, 20]  # a1 is kept
    assert rec.input_consumed == data
    assert res.journal == bytes([12, 0, 0, 0, 0, 0, 0, 0, 27, 0, 0, 0]) + bytes(8)


def _trap(dst: int, n: int, data: bytes = b"\x11" * 64) -> tuple[GuestError, bytes]:
    """The trap of READ_BUF(dst, n) in run and record modes, and the last 16 bytes of memory afterwards."""
    code = A.li("a0", dst) + A.li("a1", n) + A.li("a7", abi.ECALL_READ_BUF) + [A.ECALL] + A.li("a0", 0) + A.halt()
    ex = Executor(A.image(code), data, 10_000)
    causes = []
    for mode in ("run", "record"):
        m = ex.machine()
        status = getattr(m, mode)()
        with pytest.raises(GuestError) as info:
            m.raise_for_status(status)
        causes.append(info.value)
        assert m.input_consumed == 0  # nothing was read
        tail = m.read(abi.MEM_END - 16, 16)
    assert causes[0].cause == causes[1].cause
    return causes[0], tail


@pytest.mark.parametrize("dst, n, cause", [
    (BUF, abi.READ_BUF_MAX_WORDS + 1, "bad_ecall_arg"),
    (BUF, 0xFFFF_FFFF, "bad_ecall_arg"),
    (BUF + 2, 1, "store_misaligned"),
    (BUF + 1, 0, "store_misaligned"),                       # even for n = 0
    (abi.MEM_END - 8, 3, "store_out_of_range"),             # runs past the end of memory
    (abi.MEM_START - 4, 1, "store_out_of_range"),            # below guest memory
    (0, 1, "store_out_of_range"),                            # null
    (abi.MEM_END, 0, "store_out_of_range"),                  # pointer itself outside, n = 0
    (0xFFFF_FFFC, 4, "store_out_of_range"),                  # wraps around 2^32
    (abi.TEXT_START, 1, "store_to_text"),
    (abi.TEXT_START - 8, 4, "store_to_text"),                # ends inside the text
])
def test_read_buf_traps_name_their_cause(dst, n, cause):
    err, tail = _trap(dst, n)
    assert err.cause == cause, err
    assert tail == bytes(16)  # no byte written before the trap
    if cause == "bad_ecall_arg":
        assert "READ_BUF" in str(err)


def test_read_buf_in_range_edges_do_not_trap():
    """The last words of memory, the word just below the text, and n = 0 anywhere below MEM_END are fine."""
    for dst, n, want in [(abi.MEM_END - 8, 2, 8), (abi.TEXT_START - 4, 1, 4), (8, 0, 0), (abi.TEXT_START, 0, 0)]:
        code = _read_buf(dst, n) + A.li("a0", 0) + A.halt()
        res = Executor(A.image(code), bytes(range(100, 140)), 10_000).run()
        assert res.journal == want.to_bytes(4, "little"), (hex(dst), n)


def test_max_words_in_one_call():
    data = np.random.default_rng(SEED).integers(0, 256, 4 * abi.READ_BUF_MAX_WORDS + 5).astype(np.uint8).tobytes()
    code = _read_buf(BUF, abi.READ_BUF_MAX_WORDS) + _read_buf(BUF + 0x10000, 2) + A.li("a0", 0) + A.halt()
    m = Executor(A.image(code), data, 10_000).machine()
    m.raise_for_status(m.run())
    assert m.journal == (4 * abi.READ_BUF_MAX_WORDS).to_bytes(4, "little") + (5).to_bytes(4, "little")
    assert m.read(BUF, 4 * abi.READ_BUF_MAX_WORDS) == data[:-5]
    assert m.read(BUF + 0x10000, 8) == data[-5:] + bytes(3)
