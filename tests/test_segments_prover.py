"""The segment prover's split of work (zkvm/segmented.py): the coordinator's trace-free view of a segment agrees with
the trace (oracle: ``riscv_air.generate``, what the proof commits to); phase 2 finishes a kept phase-1 state or
recomputes it and refuses a recomputation that does not reproduce the committed root; the kept states stay
within their byte budget; the coordinator refuses a trace that ends elsewhere than its execution."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

import rv32asm as A
from host.build import GUESTS_DIR, build_guest
from zkvm import abi
from zkvm import receipt as R
from zkvm import segmented
from zkvm.circuit import riscv_air, segments
from zkvm.circuit.cpu import CpuSegCols
from zkvm.elf import load_elf
from zkvm.errors import ZkvmError
from zkvm.exec import Executor

SEED = 2024
PO2 = 9


@pytest.fixture(scope="module")
def fib(tmp_path_factory):
    return load_elf(build_guest(Path(GUESTS_DIR) / "fib", tmp_path_factory.mktemp("g") / "fib.elf"))


def _dot_image():
    """Two DOT_I8 calls over image data, each result committed (the dot table's memory reads)."""
    rng = np.random.default_rng(SEED)
    a, b = rng.integers(0, 256, 40, dtype=np.uint8).tobytes(), rng.integers(0, 256, 40, dtype=np.uint8).tobytes()
    pa, pb = 0x0010_0000, 0x0020_0000
    data = {pa + i: int.from_bytes(a[i:i + 4], "little") for i in range(0, 40, 4)}
    data.update({pb + i: int.from_bytes(b[i:i + 4], "little") for i in range(0, 40, 4)})
    code = []
    for n in (40, 17):
        code += A.li("a0", pa) + A.li("a1", pb) + A.li("a2", n | (3 + 128) << abi.DOT_ZP_SHIFT)
        code += A.li("a7", abi.ECALL_DOT_I8) + [A.ECALL] + A.li("a1", 4) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL]
    return A.image(code + A.li("a0", 0) + A.halt(), data)


def _cases(fib, tmp_path):
    rng = np.random.default_rng(SEED)
    sort = load_elf(build_guest(Path(GUESTS_DIR) / "sort", tmp_path / "sort.elf"))
    sha = load_elf(build_guest(Path(__file__).parent / "sha_guest", tmp_path / "sha.elf"))
    msg = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
    return {  # name -> (image, input, segment po2)
        "fib, short READ_BUF (eof)": (fib, (300).to_bytes(2, "little"), PO2),
        "fib": (fib, (300).to_bytes(4, "little"), PO2),
        "sort": (sort, rng.integers(0, 1 << 32, 8, dtype=np.uint32).tobytes(), 12),
        "sha256 ecall + READ_BUF": (sha, np.array([2, 0, 3000, 77], "<u4").tobytes() + msg, 10),
        "dot": (_dot_image(), b"", 6),
    }


def test_coordinator_cells_agree_with_the_trace(fib, tmp_path):
    """Per segment: the touched cells and their last timestamps, the journal bytes and the eof flag the coordinator
    derives from the record alone are those of the segment's trace."""
    for name, (image, data, po2) in _cases(fib, tmp_path).items():
        s = riscv_air.setup(image)
        m = Executor(image, data, max_cycles=1 << 22).machine()
        state, jpos0, eof0, halted, index = segments.CellState(), 0, 0, False, 0
        while not halted:
            init = segmented._snapshot(m)
            halted = m.record_segment(1 << po2)
            rec = m.take_records(cycle0=index << po2, clk0=segments.clk_start(index, po2))
            cells, commit_bytes, short = segmented._segment_cells(s, rec)
            run_state = None
            if halted:
                run_state = segments.CellState(state.final_key, init(state.final_key), state.final_ts)
            seg_in = segments.SegmentInput(index, halted, po2, jpos0, eof0, init, state, run_state)
            w = riscv_air.generate(s, rec, segment=seg_in)
            where = f"{name}, segment {index}"
            assert np.array_equal(cells.final_key, w.touched.final_key), where
            assert np.array_equal(cells.final_ts, w.touched.final_ts), where
            assert commit_bytes == len(w.journal), where
            eof_end = int(w.main["cpu"][w.cycles - 1, CpuSegCols.INDEX["eof_out"]])
            assert int(eof0 or short) == eof_end, where
            state, jpos0, eof0, index = state.merged(cells), jpos0 + commit_bytes, eof_end, index + 1
        assert index >= (1 if name == "dot" else 2), f"{name}: {index} segments"
        if name.startswith("fib, short"):
            assert eof0 == 1, "the short read must be seen"


def _receipt(image, data, s, fc, jobs, commitments, result, opts, po2=PO2, **kw) -> R.Receipt:
    exit_code, journal, _, _ = result
    head = R.Seal(s.entry, s.image_lo, s.image_hi, s.text_lo, s.text_hi, segmented.image_fixed_digest(s, fc), b"")
    claim = R.Claim(head.image_id, exit_code, hashlib.sha256(journal).digest())
    challenges = segmented.shared_challenges(claim.to_bytes(), opts.to_bytes(), po2, commitments)
    proofs = segmented.prove_phase2(image, data, s, fc, jobs, opts, challenges, **kw)
    tag = segmented.run_tag(claim.to_bytes())
    entries = [segmented.label(i, tag, i == len(proofs) - 1) + p for i, p in enumerate(proofs)]
    return R.Receipt(claim, journal, segmented.SegmentedSeal(head.to_bytes(), po2, entries).to_bytes(), opts.zk,
                     False, True)


@pytest.mark.parametrize("budget", ["default", "spilled", "none kept"])
def test_phase2_from_kept_spilled_or_recomputed_states(fib, monkeypatch, budget):
    """Small segments: every phase-1 state fits the default budget and phase 2 finishes them (none left after);
    with a zero budget they are spilled to disk and phase 2 finishes them from there (no recomputation); with no
    room on the disk either, none is kept and phase 2 recomputes each. Every receipt verifies (zk on: the
    recomputation must reproduce the randomised commitment)."""
    if budget != "default":
        monkeypatch.setattr(segmented, "KEEP_PENDING_BYTES", 0)
    if budget == "none kept":
        monkeypatch.setattr(segmented, "SPILL_RESERVE_BYTES", 1 << 62)
    segmented._PENDING.clear()
    data = (300).to_bytes(4, "little")
    opts = R.default_options(True)
    s, fc, jobs, commitments, result = segmented.prove_segmented(fib, data, PO2, opts, max_cycles=1 << 20)
    assert len(jobs) == 4
    assert set(segmented.pending_keys()) == ({j.key for j in jobs} if budget != "none kept" else set())
    spilled = [p for p in segmented._PENDING.values() if p.spilled]
    assert len(spilled) == (4 if budget == "spilled" else 0)
    files = {path for p in spilled for path, *_ in p._spilled}
    assert all(os.path.isfile(f) for f in files)
    recomputed = []
    real = segmented._commit
    monkeypatch.setattr(segmented, "_commit", lambda *a: recomputed.append(1) or real(*a))
    receipt = _receipt(fib, data, s, fc, jobs, commitments, result, opts)
    assert len(recomputed) == (4 if budget == "none kept" else 0)
    assert not segmented.pending_keys() and not any(os.path.exists(f) for f in files)
    assert R.verify(receipt, R.image_id(fib), require_zk=True) == Executor(fib, data).run().journal


@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_lost_spill_is_recomputed(fib, monkeypatch, damage):
    """A spilled state whose file is gone or cut short is recomputed (SpillLost), and the proof verifies."""
    monkeypatch.setattr(segmented, "KEEP_PENDING_BYTES", 0)
    segmented._PENDING.clear()
    data = (300).to_bytes(4, "little")
    opts = R.default_options(True)
    s, fc, jobs, commitments, result = segmented.prove_segmented(fib, data, PO2, opts, max_cycles=1 << 20)
    victim = segmented._PENDING[jobs[1].key]
    path = victim._spilled[0][0]
    if damage == "deleted":
        os.unlink(path)
    else:
        with open(path, "r+b") as fh:
            fh.truncate(os.path.getsize(path) // 2)
    recomputed = []
    real = segmented._commit
    monkeypatch.setattr(segmented, "_commit", lambda *a: recomputed.append(a[2].index) or real(*a))
    receipt = _receipt(fib, data, s, fc, jobs, commitments, result, opts)
    assert recomputed == [1]
    assert R.verify(receipt, R.image_id(fib), require_zk=True) == Executor(fib, data).run().journal


def test_kept_states_stay_within_the_budget(fib, monkeypatch):
    segmented._PENDING.clear()
    data = (300).to_bytes(4, "little")
    opts = R.default_options(False)
    _, _, jobs, _, _ = segmented.prove_segmented(fib, data, PO2, opts, max_cycles=1 << 20)
    one = max(p.nbytes for p in segmented._PENDING.values())
    assert one > 0
    segmented._forget(jobs)
    monkeypatch.setattr(segmented, "KEEP_PENDING_BYTES", 2 * one)
    _, _, jobs, _, _ = segmented.prove_segmented(fib, data, PO2, opts, max_cycles=1 << 20)
    in_memory = [k for k, p in segmented._PENDING.items() if not p.spilled]
    assert 1 <= len(in_memory) <= 2 and sum(segmented._PENDING[k].nbytes for k in in_memory) <= 2 * one
    assert in_memory[-1] == jobs[-1].key  # the newest stays in memory, the oldest went to disk
    assert segmented._PENDING[jobs[0].key].spilled and segmented._PENDING[jobs[0].key].nbytes < one
    segmented._forget(jobs)


def test_recomputation_must_reproduce_the_committed_root(fib):
    segmented._PENDING.clear()
    data = (300).to_bytes(4, "little")
    opts = R.default_options(False)
    _, _, jobs, commitments, _ = segmented.prove_segmented(fib, data, PO2, opts, max_cycles=1 << 20)
    segmented._PENDING.clear()
    job = jobs[1]
    job.root = bytes(32)
    with pytest.raises(segmented.SegmentRecomputeError, match="segment 1"):
        segmented.prove_segment(fib, data, job, opts, ((1, 2, 3, 4), (5, 6, 7, 8)))


def test_coordinator_refuses_a_trace_that_ends_elsewhere(fib, monkeypatch):
    """The coordinator's journal position for the next segment is wrong by one byte: the worker's trace disagrees
    and the prover stops with an internal error instead of making a receipt that cannot verify."""
    segmented._PENDING.clear()
    real = segmented._segment_cells

    def off_by_one(s, record):
        cells, commit_bytes, short = real(s, record)
        return cells, commit_bytes + 1, short

    monkeypatch.setattr(segmented, "_segment_cells", off_by_one)
    with pytest.raises(ZkvmError, match="ends in another state"):
        segmented.prove_segmented(fib, (300).to_bytes(4, "little"), PO2, R.default_options(False),
                                  max_cycles=1 << 20)
    assert not segmented.pending_keys(), "a failed run must not leave its phase-1 states behind"
