"""Malicious-prover tests of the SHA-256 accelerator tables (zkvm/circuit/sha256.py): one per way to cheat,
each rejected by the checker at its named constraint or bus, and by the verifier.

The honest program makes five SHA256 calls: two one-block calls chained on one image state, one on a
zero-initialised state whose output the CPU then loads, one whose output nothing reads (so a forged output there
is consistent with the rest of memory and only the cheat itself can be caught), and a three-block call (blocks
chained inside the tables) whose output nothing reads either. Block rows: one per block, calls 0..3 are rows
0..3, the three-block call rows 4..6."""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "soundness"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import rv32asm as A  # noqa: E402
from harness import Run, check, expect_rejected, fresh_copy, prove_and_verify, rebalance_lookups  # noqa: E402

from zkvm import abi  # noqa: E402
from zkvm.circuit import riscv_air  # noqa: E402
from zkvm.circuit import sha256 as sha  # noqa: E402
from zkvm.circuit.lookups import LookupSends  # noqa: E402
from zkvm.circuit.sha256 import ShaBlockCols, ShaRoundCols  # noqa: E402
from zkvm.circuit.opcodes import BUS_BYTES  # noqa: E402
from zkvm.exec import Executor  # noqa: E402
from zkvm.field.babybear import P  # noqa: E402
from zkvm.stark.errors import BusError, ConstraintError  # noqa: E402

SEED = 1402
IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
S1, S3, BLK = abi.TEXT_START + 0x2000, abi.TEXT_START + 0x2040, abi.TEXT_START + 0x2100
S2, BLK2 = 0x0008_0000, 0x0008_0100  # zero-initialised
S4, BLK3 = abi.TEXT_START + 0x2080, abi.TEXT_START + 0x2200
UNREAD = 3  # the call whose output nothing reads
MULTI, NBLK = 4, 3  # the three-block call (its block rows MULTI .. MULTI + 2; output unread)


def _program():
    sha_call = A.li("a7", abi.ECALL_SHA256) + [A.ECALL]
    code = A.li("a2", 1) + A.li("a0", S1) + A.li("a1", BLK) + sha_call + [A.ECALL]
    code += A.li("a0", S2) + A.li("a1", BLK2) + [A.ECALL, A.load("lw", "t0", "a0", 4)]
    code += A.li("a0", S3) + A.li("a1", BLK) + [A.ECALL]
    code += A.li("a0", S4) + A.li("a1", BLK3) + A.li("a2", NBLK) + [A.ECALL]
    code += A.li("a0", 0) + A.halt()
    rng = random.Random(SEED)
    data = {S1 + 4 * i: v for i, v in enumerate(IV)}
    data.update({S3 + 4 * i: rng.getrandbits(32) for i in range(8)})
    data.update({BLK + 4 * i: rng.getrandbits(32) for i in range(16)})
    data.update({S4 + 4 * i: rng.getrandbits(32) for i in range(8)})
    data.update({BLK3 + 4 * i: rng.getrandbits(32) for i in range(16 * NBLK)})
    return A.image(code, data)


def _run(record=None, strict=True) -> Run:
    image = _program()
    result, rec = Executor(image).record()
    rec = rec if record is None else record
    s = riscv_air.setup(image)
    w = riscv_air.generate(s, rec, strict=strict)
    return Run(s, w, rec, result, {}, image)


@pytest.fixture(scope="module")
def honest() -> Run:
    return _run()


def _prev_ts(run: Run) -> np.ndarray:
    """Timestamps of the previous access of every SHA access (``ShaCalls.accesses`` order: per call a2 and its
    8 state words, then per block its 16 words), from the honest tables."""
    b = ShaBlockCols.view(run.witness.main[sha.BLOCK_NAME].astype(np.int64))
    start = np.nonzero(b.start)[0]
    ts = 4 * b.clk[start] + sha.TS_SLOT
    dist = lambda pair: pair[0][start] + 65536 * pair[1][start]  # noqa: E731
    per_call = np.stack([ts - 1 - dist(b.dn)] + [ts - 1 - dist(b.d[i]) for i in range(8)], axis=1)
    rc = ShaRoundCols.view(run.witness.main[sha.ROUND_NAME].astype(np.int64))
    msg = np.nonzero(rc.is_msg)[0]
    blk = np.stack([4 * rc.clk[msg] + sha.TS_SLOT - 1 - md[0][msg] - 65536 * md[1][msg] for md in (rc.md0, rc.md1)],
                   axis=1).reshape(-1, 16)
    return np.concatenate([per_call.ravel(), blk.ravel()])


def _refill(run: Run, calls: sha.ShaCalls, prev_ts: np.ndarray, k=None) -> None:
    c = riscv_air.circuit()
    run.witness.main.update(c.sha.fill(calls, prev_ts, LookupSends(), (run.setup.text_lo, run.setup.text_hi), k=k))
    rebalance_lookups(run)


def _forged_outputs(run: Run, call: int, k_row: np.ndarray) -> Run:
    """A run whose memory (CPU replay, image/zinit final values) holds what round constants `k_row` give for
    one-block `call`: the tables are then consistent everywhere except where the cheat itself is."""
    calls = sha.ShaCalls.from_record(run.record)
    log = np.array(run.record.sha_calls, copy=True)
    log[call, 25:33] = _compress(calls.state_in[call:call + 1], calls.block[call:call + 1], k_row)[0]
    return _run(replace(run.record, sha_calls=log), strict=False)


def _compress(state_in: np.ndarray, block: np.ndarray, k=sha.K) -> np.ndarray:
    """SHA-256 compression of each (state, block) row (the fill's own round values: for forging only)."""
    rv = sha.round_values(state_in, block, k)
    fin = np.stack([rv[n][:, -1] for n in ("A", "a", "b", "c", "E", "e", "f", "g")], axis=1)
    return (state_in + fin) & 0xFFFFFFFF


def _set(run: Run, table: str, row: int, **values: int) -> None:
    cols = sha.ROUND_COLUMNS if table == sha.ROUND_NAME else sha.BLOCK_COLUMNS
    for name, v in values.items():
        run.witness.main[table][row, cols.index(name)] = v % P


def _row(block: int, step: int) -> int:
    """The round-table row of `block`'s step `step` (rounds 2·step, 2·step + 1; after the block's pre-row)."""
    return sha.ROWS_PER_BLOCK * block + 1 + step


def _get(run: Run, table: str, row: int, name: str) -> int:
    cols = sha.ROUND_COLUMNS if table == sha.ROUND_NAME else sha.BLOCK_COLUMNS
    return int(run.witness.main[table][row, cols.index(name)])


# ---------------------------------------------------------------------------------------------- honest

def test_honest_run_checks_and_verifies(honest: Run) -> None:
    assert honest.record.sha_calls.shape[0] == 4 + NBLK
    rt = honest.witness.main[sha.ROUND_NAME]
    assert int(rt[:, sha.ROUND_COLUMNS.index("is_real")].sum()) == (4 + NBLK) * sha.ROWS_PER_BLOCK
    b = ShaBlockCols.view(honest.witness.main[sha.BLOCK_NAME])
    assert list(b.start[:8]) == [1, 1, 1, 1, 1, 0, 0, 0] and list(b.last[:8]) == [1, 1, 1, 1, 0, 0, 1, 0]
    assert list(b.rem[MULTI:MULTI + NBLK]) == [3, 2, 1]
    check(honest)
    prove_and_verify(honest)


def test_fill_matches_interpreter_outputs(honest: Run) -> None:
    """The block table's output words are the interpreter's state_out (an independent C implementation, itself
    checked against hashlib in tests/test_sha256_accel.py); inside the three-block call each block starts from
    the previous block's output and reads the next 16 words."""
    calls = sha.ShaCalls.from_record(honest.record)
    n = 4 + NBLK
    for i in range(8):
        lo = [_get(honest, sha.BLOCK_NAME, j, f"out{i}_lo") for j in range(n)]
        hi = [_get(honest, sha.BLOCK_NAME, j, f"out{i}_hi") for j in range(n)]
        assert [a + 65536 * b for a, b in zip(lo, hi)] == list(calls.state_out[:, i])
    assert np.array_equal(calls.state_in[MULTI + 1:MULTI + NBLK], calls.state_out[MULTI:MULTI + NBLK - 1])
    assert list(calls.bw[MULTI:MULTI + NBLK]) == [BLK3 // 4 + 16 * j for j in range(NBLK)]


# ---------------------------------------------------------------------------------------------- cheats

def test_forged_message_word(honest: Run) -> None:
    """Hash a different block word than memory holds (rounds and outputs recomputed consistently)."""
    run = fresh_copy(honest)
    calls = sha.ShaCalls.from_record(run.record)
    calls.block = calls.block.copy()
    calls.block[UNREAD, 5] ^= 1
    _refill(run, calls, _prev_ts(honest))
    expect_rejected(run, BusError, "mem")


def test_forged_state_word_in(honest: Run) -> None:
    run = fresh_copy(honest)
    calls = sha.ShaCalls.from_record(run.record)
    calls.state_in = calls.state_in.copy()
    calls.state_in[UNREAD, 3] ^= 1 << 20
    _refill(run, calls, _prev_ts(honest))
    expect_rejected(run, BusError, "mem")


def test_forged_state_word_out(honest: Run) -> None:
    run = fresh_copy(honest)
    _set(run, sha.BLOCK_NAME, UNREAD, out3_lo=_get(run, sha.BLOCK_NAME, UNREAD, "out3_lo") ^ 1)
    rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "final3_lo")


def test_wrong_round_constant(honest: Run) -> None:
    """Round 10 of the unread call uses K_10 ^ 1 everywhere (rounds, output, memory): only K catches it."""
    k = np.tile(np.array(sha.K, dtype=np.int64), (4 + NBLK, 1))
    k[UNREAD, 10] ^= 1
    run = _forged_outputs(honest, UNREAD, k[UNREAD:UNREAD + 1])
    _refill(run, sha.ShaCalls.from_record(run.record), _prev_ts(honest), k=k)
    expect_rejected(run, BusError, sha.BUS_K)


@pytest.mark.parametrize("kind", ["repeated", "skipped"])
def test_skipped_or_repeated_round(honest: Run, kind: str) -> None:
    """32 round rows whose step index repeats step 4 (rounds 8, 9; then stops at 30) or skips step 5 (then runs
    to 32), with K, the rounds and the output computed for that sequence."""
    rseq = list(range(5)) + (list(range(4, 31)) if kind == "repeated" else list(range(6, 33)))
    kk = np.array([sha.K[2 * r + j] if 2 * r + j < 64 else 0 for r in rseq for j in range(2)], dtype=np.int64)
    k = np.tile(np.array(sha.K, dtype=np.int64), (4 + NBLK, 1))
    k[UNREAD] = kk
    run = _forged_outputs(honest, UNREAD, kk[None])
    _refill(run, sha.ShaCalls.from_record(run.record), _prev_ts(honest), k=k)
    for i, r in enumerate(rseq):
        _set(run, sha.ROUND_NAME, _row(UNREAD, i), r=r)
    rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "round_step")


def test_wrong_carry_in_round_addition(honest: Run) -> None:
    """Carry one more out of a's low limb into the high one (low limb - 2^16, high limb + 1): both limb sums
    still hold, the next row's bits cannot represent the low limb."""
    run = fresh_copy(honest)
    row = _row(UNREAD, 10)
    _set(run, sha.ROUND_NAME, row, ca1_lo=_get(run, sha.ROUND_NAME, row, "ca1_lo") + 1,
         an_lo=_get(run, sha.ROUND_NAME, row, "an_lo") - 65536,
         an_hi=_get(run, sha.ROUND_NAME, row, "an_hi") + 1)
    rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "a_next_lo")


def test_wrong_carry_in_schedule(honest: Run) -> None:
    run = fresh_copy(honest)
    row = _row(UNREAD, 14)
    _set(run, sha.ROUND_NAME, row, cw0_lo=_get(run, sha.ROUND_NAME, row, "cw0_lo") + 1)
    rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "schedule0_lo")


def test_wrong_carry_in_final_addition(honest: Run) -> None:
    run = fresh_copy(honest)
    i = next(i for i in range(8) if _get(run, sha.BLOCK_NAME, UNREAD, f"c1_{i}") == 0)
    _set(run, sha.BLOCK_NAME, UNREAD, **{f"c1_{i}": 2})
    _set(run, sha.BLOCK_NAME, UNREAD, **{f"out{i}_lo": _get(run, sha.BLOCK_NAME, UNREAD, f"out{i}_lo") - 2 * 65536})
    rebalance_lookups(run)
    expect_rejected(run, ConstraintError, f"c1_{i}_bool")


def test_output_not_written(honest: Run) -> None:
    """Memory keeps the old state of call 2 (the CPU's later load sees it), the table computes the digest."""
    from zkvm.exec.record import COLUMN

    log = np.array(honest.record.sha_calls, copy=True)
    log[2, 25:33] = log[2, 1:9]
    rows = np.array(honest.record.rows, copy=True)
    load = int(log[2, 0]) + 1  # the lw right after the call reads state word 1
    assert rows[load, COLUMN["mem_addr"]] == S2 + 4
    rows[load, COLUMN["rd_val"]] = rows[load, COLUMN["mem_before"]] = rows[load, COLUMN["mem_after"]] = log[2, 2]
    run = _run(replace(honest.record, sha_calls=log, rows=rows), strict=False)
    rebalance_lookups(run)
    expect_rejected(run, BusError, "mem")


def test_output_written_elsewhere(honest: Run) -> None:
    run = fresh_copy(honest)
    _set(run, sha.BLOCK_NAME, 2, sx=_get(run, sha.BLOCK_NAME, 2, "sx") + 1)
    rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "state_ptr")


def test_block_read_elsewhere(honest: Run) -> None:
    run = fresh_copy(honest)
    _set(run, sha.BLOCK_NAME, 1, bx=_get(run, sha.BLOCK_NAME, 1, "bx") + 1)
    rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "block_ptr")


def test_state_in_text_claimed_outside(honest: Run) -> None:
    run = fresh_copy(honest)
    _set(run, sha.BLOCK_NAME, 0, above=1 - _get(run, sha.BLOCK_NAME, 0, "above"))
    rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "state_outside_text")


def _take_calls(calls: sha.ShaCalls, prev_ts: np.ndarray, idx) -> tuple[sha.ShaCalls, np.ndarray]:
    """The calls `idx` (call indices, repeats allowed) with all their blocks, and their accesses' prev_ts."""
    first = np.nonzero(calls.start)[0]
    ends = np.append(first[1:], len(calls.start))
    blocks = np.concatenate([np.arange(first[i], ends[i]) for i in idx])
    sub = sha.ShaCalls(*(np.asarray(getattr(calls, f))[blocks] for f in
                         ("clk", "a0", "a1", "n", "bw", "start", "state_in", "block", "state_out")))
    pc, pb = calls.split(prev_ts)
    return sub, np.concatenate([pc[list(idx)].ravel(), pb[blocks].ravel()])


def _refill_calls(run: Run, honest: Run, idx) -> None:
    _refill(run, *_take_calls(sha.ShaCalls.from_record(run.record), _prev_ts(honest), idx))


def test_rows_no_ecall_asked_for(honest: Run) -> None:
    """A sixth call (a copy of call 3: its memory traffic duplicates an honest call's)."""
    run = fresh_copy(honest)
    _refill_calls(run, honest, [0, 1, 2, 3, 3, MULTI])
    expect_rejected(run, BusError, sha.BUS_CALL)


def test_ecall_with_no_rows(honest: Run) -> None:
    run = fresh_copy(honest)
    _refill_calls(run, honest, [0, 1, 2, MULTI])
    expect_rejected(run, BusError, sha.BUS_CALL)


# ---------------------------------------------------------------------------------------------- multi-block calls

def _forged_call(honest: Run, blocks: list[int], n: int) -> Run:
    """Calls 0..3 as recorded, then the multi-block call made of its recorded blocks `blocks` (indices 0..2, in
    this order, each read from where it lies) with block count n; every block's input state is the previous
    block's output (recomputed), so only the cheat itself is inconsistent."""
    run = fresh_copy(honest)
    calls = sha.ShaCalls.from_record(honest.record)
    pc, pb = calls.split(_prev_ts(honest))
    idx = list(range(MULTI)) + [MULTI + j for j in blocks]
    sub = sha.ShaCalls(*(np.array(np.asarray(getattr(calls, f))[idx]) for f in
                         ("clk", "a0", "a1", "n", "bw", "start", "state_in", "block", "state_out")))
    sub.n[MULTI:], sub.start[MULTI:], sub.start[MULTI] = n, False, True
    _rechain(sub, MULTI)
    _refill(run, sub, np.concatenate([pc.ravel(), pb[idx].ravel()]))
    return run


def _rechain(calls: sha.ShaCalls, first: int) -> None:
    """Recompute the outputs of blocks first.. (in place), each block starting from the previous output."""
    for j in range(first, len(calls.clk)):
        if j > first:
            calls.state_in[j] = calls.state_out[j - 1]
        calls.state_out[j] = _compress(calls.state_in[j:j + 1], calls.block[j:j + 1])[0]


@pytest.mark.parametrize("blocks", [[0, 2], [0, 1, 1], [0, 2, 1]], ids=["skipped", "repeated", "reordered"])
def test_skipped_repeated_or_reordered_block(honest: Run, blocks: list[int]) -> None:
    """The call hashes blocks in another order than memory holds them (each block word read where it lies,
    the state chained through the blocks it claims): the block address must step by 16 words a row."""
    run = _forged_call(honest, blocks, len(blocks))
    expect_rejected(run, ConstraintError, "block_step")


def test_wrong_chained_state(honest: Run) -> None:
    """The second block of the call starts from a state other than the first block's output (the later
    blocks chained from there, the rounds consistent with it)."""
    run = fresh_copy(honest)
    calls = sha.ShaCalls.from_record(honest.record)
    calls.state_in, calls.state_out = calls.state_in.copy(), calls.state_out.copy()
    calls.state_in[MULTI + 1, 3] ^= 1 << 20
    _rechain(calls, MULTI + 1)
    _refill(run, calls, _prev_ts(honest))
    expect_rejected(run, ConstraintError, "chain3_hi")


@pytest.mark.parametrize("field", ["sx", "clk"])
def test_call_fields_change_inside_a_call(honest: Run, field: str) -> None:
    """The last block row of the three-block call claims another state pointer (writing the chained state one
    word further, its own pointer checks kept consistent) or another call's clk (its timestamp)."""
    run = fresh_copy(honest)
    row = MULTI + NBLK - 1
    if field == "sx":
        assert _get(run, sha.BLOCK_NAME, row, "above") == 1
        _set(run, sha.BLOCK_NAME, row, sx=_get(run, sha.BLOCK_NAME, row, "sx") + 1,
             a0_lo=_get(run, sha.BLOCK_NAME, row, "a0_lo") + 4, rs_lo=_get(run, sha.BLOCK_NAME, row, "rs_lo") - 1,
             tx_lo=_get(run, sha.BLOCK_NAME, row, "tx_lo") + 1)
    else:
        _set(run, sha.BLOCK_NAME, row, clk=_get(run, sha.BLOCK_NAME, row, "clk") + 1)
    rebalance_lookups(run)
    expect_rejected(run, ConstraintError, f"{field}_const")


@pytest.mark.parametrize("kind", ["fewer", "more"])
def test_block_count_differs_from_a2(honest: Run, kind: str) -> None:
    """The run claims the three-block call compressed 2 (or 4: the next 64 bytes, zero-initialised memory)
    blocks: memory, outputs and tables are all consistent with that, only a2 = 3 disagrees with the count the
    start row reads."""
    log = np.array(honest.record.sha_calls, copy=True)
    last = MULTI + NBLK - 1
    if kind == "fewer":
        log = np.delete(log, last, axis=0)
    else:
        extra = log[last].copy()
        extra[1:9] = log[last, 25:33]
        extra[9:25] = 0
        extra[25:33] = _compress(extra[None, 1:9].astype(np.int64), np.zeros((1, 16), np.int64))[0]
        log = np.insert(log, last + 1, extra, axis=0)
    run = _run(replace(honest.record, sha_calls=log), strict=False)
    assert _unbalanced_buses(run) == ["mem"]
    expect_rejected(run, BusError, "mem")


def test_round_rows_without_block_row(honest: Run) -> None:
    """Round rows of a call whose block row is gone (and the call still sent by the CPU)."""
    run = fresh_copy(honest)
    blk = run.witness.main[sha.BLOCK_NAME]
    n = 4 + NBLK
    blk[UNREAD:n - 1] = blk[UNREAD + 1:n].copy()  # the rows after it move up: the call structure holds
    blk[n - 1] = 0
    rebalance_lookups(run)
    expect_rejected(run, BusError, sha.BUS_CALL)


# ---------------------------------------------------------------------------------------------- narrow layout

def test_non_boolean_bit(honest: Run) -> None:
    """a_i = 2, a_{i+1} = 0 in place of 0, 1: every limb of a is unchanged, only the bit is not a bit."""
    run = fresh_copy(honest)
    row = _row(UNREAD, 10)
    i = next(i for i in range(15) if (_get(run, sha.ROUND_NAME, row, f"a1_{i}"),
                                      _get(run, sha.ROUND_NAME, row, f"a1_{i + 1}")) == (0, 1))
    _set(run, sha.ROUND_NAME, row, **{f"a1_{i}": 2, f"a1_{i + 1}": 0})
    rebalance_lookups(run)
    expect_rejected(run, ConstraintError, f"a1_{i}_bool")


@pytest.mark.parametrize("name", ["p_hi", "q_lo", "v_lo"])
def test_wrong_schedule_term(honest: Run, name: str) -> None:
    """A sending row's P (W_2j + σ0(W_2j+1)), Q (W_2j+1 + σ0(W_2j+2)) or V (W_2j-1) off by one: its defining
    constraint fails."""
    run = fresh_copy(honest)
    row = _row(UNREAD, 10)
    _set(run, sha.ROUND_NAME, row, **{name: _get(run, sha.ROUND_NAME, row, name) + 1})
    expect_rejected(run, ConstraintError, name)


def test_wrong_schedule_bus_value(honest: Run) -> None:
    """W_{2u-6} received one higher and Q_{u-8} one lower: the schedule sum still holds, the bus does not."""
    run = fresh_copy(honest)
    row = _row(UNREAD, 20)
    _set(run, sha.ROUND_NAME, row, rw_lo=_get(run, sha.ROUND_NAME, row, "rw_lo") + 1,
         rq_lo=_get(run, sha.ROUND_NAME, row, "rq_lo") - 1)
    expect_rejected(run, BusError, sha.BUS_W)


def test_schedule_word_not_sent(honest: Run) -> None:
    """A sending row claims no later row reads its P, Q (m8 = 0): the K table's tuple differs."""
    run = fresh_copy(honest)
    row = _row(UNREAD, 10)
    assert _get(run, sha.ROUND_NAME, row, "m8") == 1
    _set(run, sha.ROUND_NAME, row, m8=0)
    expect_rejected(run, BusError, sha.BUS_K)


def test_block_without_rounds(honest: Run) -> None:
    """A pre-row that also ends its block (zero rounds: the output would be the input state)."""
    run = fresh_copy(honest)
    _set(run, sha.ROUND_NAME, _row(UNREAD, -1), last=1)
    expect_rejected(run, ConstraintError, "first_not_last")


def test_round_row_carry_not_a_byte(honest: Run) -> None:
    """Carries are free field elements only into rows that compute no round. Here the last round row of the
    unread call claims e_64 one higher (output word 4 and memory follow, the final bus and the block table's
    final addition agree) with the carries of that round's e equations set to the field elements that make
    them hold: only the byte range check of the carry catches it."""
    calls = sha.ShaCalls.from_record(honest.record)
    log = np.array(honest.record.sha_calls, copy=True)
    assert int(log[UNREAD, 25 + 4]) & 0xFFFF != 0xFFFF
    log[UNREAD, 25 + 4] += 1
    run = _run(replace(honest.record, sha_calls=log), strict=False)
    _refill(run, calls, _prev_ts(honest))
    row = _row(UNREAD, sha.STEPS - 1)
    assert _get(run, sha.ROUND_NAME, row, "last") == 1
    inv = pow(65536, P - 2, P)
    ce_lo = (_get(run, sha.ROUND_NAME, row, "ce1_lo") - inv) % P
    ce_hi = (_get(run, sha.ROUND_NAME, row, "ce1_hi") - inv * inv) % P
    _set(run, sha.ROUND_NAME, row, en_lo=_get(run, sha.ROUND_NAME, row, "en_lo") + 1, ce1_lo=ce_lo, ce1_hi=ce_hi)
    for name in ("fin4_lo", "out4_lo"):
        _set(run, sha.BLOCK_NAME, UNREAD, **{name: _get(run, sha.BLOCK_NAME, UNREAD, name) + 1})
    rebalance_lookups(run)
    assert _unbalanced_buses(run) == [BUS_BYTES]
    expect_rejected(run, BusError, BUS_BYTES)


def _unbalanced_buses(run: Run) -> list[str]:
    """Every bus whose terms do not cancel (the checker names only the first)."""
    from zkvm.stark.dsl.check import check_balance, check_trace

    parts = check_trace(riscv_air.circuit().air, run.setup.fixed, run.witness.main, run.setup.publics,
                        run.public_terms(), balance=False)
    bad = []
    for bus, part in parts.items():
        try:
            check_balance({bus: part})
        except BusError:
            bad.append(bus)
    return bad
