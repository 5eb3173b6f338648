"""Proving and verifying a run in segments (continuations). The argument is in ``zkvm/circuit/segments.py``.

Proving, in two phases:
1. the coordinator executes the run, recording one segment at a time only to find the cells it touches and
   their last access timestamps (``_segment_cells``: no trace), and hands each segment to ``commit_segment``
   as a job: its index, journal position, eof flag, the timestamps its boundary table needs (the last segment:
   those of every cell the run touched) and a randomness key. The task re-executes the run up to the segment
   (unrecorded, ~3·10^8 cycles a second), traces it, commits its main trace (``stark.prove(commit_only=True)``,
   a paused ``PendingProof``) and returns the main root and heights; it keeps the paused prover in its process
   for phase 2 (at most ``KEEP_PENDING_BYTES`` in memory, older ones spilled to local disk). The coordinator
   checks each trace ended where its execution did.
2. the shared LogUp challenges = H(tag, claim, options, k, n, every segment's heights and main root); then
   ``prove_segment`` finishes every segment with them: from the kept or spilled state, or by recomputing phase 1 (same
   execution, trace and randomness key) and checking it reproduces the committed root. Both phases run in
   this process, or on Dask (``zkvm.distributed``), phase 2 of a segment on the worker that kept its state.

Seal of a segmented receipt (receipt flag FLAG_SEGMENTS):
    the single-proof seal head (image publics + fixed digest) | u8 k | u32 n | n x (u32 length | entry)
    entry = label (u32 index | 16 B run tag | u8 is_last) | proof
The labels only NAME what a tampered receipt did wrong (SegmentOrderError, SegmentFromAnotherRun, RunEndsEarly)
before the proofs are checked; soundness does not rest on them: a relabelled segment fails its proof
(its index, is_last and the shared challenges are in its transcript: SegmentProofInvalid).
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, field

import numpy as np

from zkvm import abi
from zkvm.errors import InputError, VerificationError, ZkvmError

CHALLENGE_TAG = b"zkvm-segments-logup-v1"
_SEG_HEAD = struct.Struct("<BI")


# ---------------------------------------------------------------------------------------------- errors

class SegmentCountError(VerificationError):
    """The receipt's segments are too few, too many, or of sizes a run cannot have."""


class SegmentProofInvalid(VerificationError):
    """One segment's proof does not verify for its place in this run (wrong index, not the last, another run's
    challenges...). The message names the segment and the failed check."""


class SegmentLinkError(VerificationError):
    """The segments verify one by one but do not link: their shared buses (memory, registers, machine state,
    journal, exit code) do not balance over the run - e.g. state changed between segments, a segment dropped."""


class DuplicateSegment(VerificationError):
    """The same segment proof appears twice."""


class SegmentOrderError(VerificationError):
    """A segment sits at another position than the one it was proven for: segments dropped or reordered."""


class SegmentFromAnotherRun(VerificationError):
    """A segment was proven for another run (another claim or segment count): spliced in."""


class RunEndsEarly(VerificationError):
    """The receipt's last segment was not proven as the end of the run: later segments were cut off."""


_LABEL = struct.Struct("<I16sB")


def run_tag(claim_bytes: bytes) -> bytes:
    return hashlib.sha256(b"zkvm-segment-run-v1" + claim_bytes).digest()[:16]


def label(index: int, tag: bytes, is_last: bool) -> bytes:
    return _LABEL.pack(index, tag, int(is_last))


def split_entry(entry: bytes) -> tuple[int, bytes, int, bytes]:
    """(index, run tag, is_last, proof bytes) of one seal entry."""
    from zkvm.receipt import MalformedReceipt

    if len(entry) < _LABEL.size:
        raise MalformedReceipt("segment entry shorter than its label")
    index, tag, last = _LABEL.unpack_from(entry)
    return index, tag, last, entry[_LABEL.size:]


# ---------------------------------------------------------------------------------------------- format

@dataclass
class SegmentedSeal:
    head: bytes          # the single-proof seal head (receipt.Seal without its proof)
    po2: int
    proofs: list = field(default_factory=list)

    def to_bytes(self) -> bytes:
        out = [self.head, _SEG_HEAD.pack(self.po2, len(self.proofs))]
        for p in self.proofs:
            out += [struct.pack("<I", len(p)), p]
        return b"".join(out)

    @classmethod
    def from_bytes(cls, data: bytes, head_size: int) -> "SegmentedSeal":
        from zkvm.receipt import MalformedReceipt

        if len(data) < head_size + _SEG_HEAD.size:
            raise MalformedReceipt("segmented seal too short")
        po2, n = _SEG_HEAD.unpack_from(data, head_size)
        pos = head_size + _SEG_HEAD.size
        if n > (len(data) - pos) // 4:
            raise MalformedReceipt(f"a seal of {len(data)} bytes cannot hold {n} segments")
        proofs = []
        for i in range(n):
            if len(data) - pos < 4:
                raise MalformedReceipt(f"segment {i}: truncated")
            (length,) = struct.unpack_from("<I", data, pos)
            pos += 4
            if length > len(data) - pos:
                raise MalformedReceipt(f"segment {i}: {length} bytes, {len(data) - pos} left")
            proofs.append(bytes(data[pos:pos + length]))
            pos += length
        if pos != len(data):
            raise MalformedReceipt(f"{len(data) - pos} trailing bytes after the segments")
        return cls(bytes(data[:head_size]), po2, proofs)


def shared_challenges(claim_bytes: bytes, options_bytes: bytes, po2: int, commitments: list):
    """(alpha, beta) for every segment: drawn after every segment's main trace is committed. ``commitments``:
    per segment (log heights, main root), in order."""
    from zkvm.stark.verifying.transcript import Transcript

    tr = Transcript(CHALLENGE_TAG)
    tr.absorb("claim", claim_bytes)
    tr.absorb("options", options_bytes)
    tr.absorb("segments", struct.pack("<BI", po2, len(commitments)))
    for heights, root in commitments:
        tr.absorb("heights", bytes(heights))
        tr.absorb("main_root", root)
    return tr.challenge_ext("alpha"), tr.challenge_ext("beta")


def initial_state_term(entry: int):
    """The verifier's send of the run's first state: (index 0, entry pc, journal position 0, eof 0)."""
    from zkvm.circuit.cpu import BUS_STATE

    return (BUS_STATE, (0, entry, 0, 0), 1)


# ---------------------------------------------------------------------------------------------- prover

class SegmentRecomputeError(ZkvmError):
    """A worker recomputed a segment's phase 1 (its first worker died or dropped the state) and did not get the
    main root the shared challenges were drawn from: the input, the image or the worker's code differ."""


@dataclass
class SegmentJob:
    """Everything a worker needs to commit and prove segment ``index`` (besides the image and the input)."""

    index: int
    is_last: bool
    po2: int
    jpos0: int
    eof0: int
    before: object           # segments.CellState: last access timestamps (before it) of the cells it touches
    run_state: object        # last segment: every cell the run touched before it (timestamps); else None
    key: bytes               # its zk randomness key
    max_cycles: int
    root: bytes = b""        # its main root, once phase 1 committed it
    where: str | None = None  # the worker that committed it (and may keep its prover state for phase 2)


@dataclass
class _Committed:
    """What phase 1 of one segment returns to the coordinator (a few hundred bytes)."""

    heights: list
    root: bytes
    jpos_end: int
    eof_end: int
    cells: bytes              # digest of the touched cells and their last timestamps (checked by the coordinator)
    where: str | None


def _start_machine(image, input: bytes, max_cycles: int, job_start: int):
    """A machine that has executed the run's first ``job_start`` cycles (unrecorded: ~3·10^8 cycles a second)."""
    from zkvm.exec import Executor

    m = Executor(image, input, max_cycles=max_cycles).machine()
    if job_start and m.run_until(job_start):
        raise InputError("the run halts before the segment starts (a different input?)")
    return m


def _snapshot(m):
    from zkvm.circuit import segments

    return segments.snapshot_init_value(m.regs, m.read(abi.MEM_START, abi.MEM_END - abi.MEM_START))


def _segment_witness(s, m, job: SegmentJob):
    """Record the job's segment on ``m`` (positioned at its start) and build its trace."""
    from zkvm.circuit import riscv_air, segments

    size = 1 << job.po2
    init_value = _snapshot(m)
    halted = m.record_segment(size)
    record = m.take_records(cycle0=job.index * size, clk0=segments.clk_start(job.index, job.po2))
    if halted != job.is_last:
        raise InputError(f"segment {job.index}: the run {'halts' if halted else 'goes on'} unexpectedly")
    run_state = job.run_state
    if run_state is not None:  # the coordinator sends timestamps only: the values are this segment's start state
        run_state = segments.CellState(run_state.final_key, init_value(run_state.final_key), run_state.final_ts)
    seg_in = segments.SegmentInput(job.index, job.is_last, job.po2, job.jpos0, job.eof0, init_value, job.before,
                                   run_state)
    return riscv_air.generate(s, record, segment=seg_in), seg_in


def _prove_witness(s, w, seg_in, opts, fc, key: bytes, challenges=None, progress=False, timings=None):
    """The segment's proof with given challenges; without, a PendingProof (phase 1, ``stark.prove``)."""
    from zkvm.circuit import riscv_air
    from zkvm.stark.proving import prng
    from zkvm.stark.proving.prover import prove

    air = riscv_air.circuit(True).air
    publics = {**s.publics, **seg_in.publics}
    main, w.main = w.main, None
    return prove(air, s.fixed, main, publics, (), opts, progress=progress, fixed_commitment=fc,
                 zk_randomness=prng.Randomness.from_key(key) if opts.zk else None, timings=timings,
                 logup_challenges=challenges, commit_only=challenges is None)


_SETUP_CACHE: dict = {}


def _setup(image, fixed_cache):
    """The image's setup and fixed commitment, kept per process (a worker proves many segments of one image)."""
    from zkvm.circuit import riscv_air
    from zkvm.stark.proving.prover import commit_fixed_data

    h = hashlib.sha256(repr((image.entry, tuple(image.exec_ranges))).encode())
    h.update(np.asarray(sorted(image.words.items()), dtype=np.int64).tobytes())
    key = h.digest()
    if key not in _SETUP_CACHE:
        _SETUP_CACHE.clear()
        s = riscv_air.setup(image)
        _SETUP_CACHE[key] = (s, commit_fixed_data(riscv_air.circuit(True).air, s.fixed, fixed_cache))
    return _SETUP_CACHE[key]


def image_fixed_digest(s, fc) -> bytes:
    """The image id's fixed digest (single-proof AIR) from the segment AIR's fixed commitment: same tables."""
    from zkvm.circuit import riscv_air
    from zkvm.stark.verifying.protocol import fixed_digest

    ca = riscv_air.circuit().air.compile()
    tables = [ct for ct in ca.tables if ct.n_fixed]
    return fixed_digest(ca, [s.fixed[ct.name].shape[0].bit_length() - 1 for ct in tables],
                        [fc.trees[ct.name].root for ct in tables])


# Phase-1 prover states kept in this process for phase 2 (job key -> stark.prover.PendingProof), at most
# KEEP_PENDING_BYTES of them in memory (a state is the traces, their LDEs and the main tree: ~0.65 GB for a
# 2^18-cycle fib segment with zk, so one of them; ~8 of 2^16): a worker stays within one segment's proving memory
# plus this budget. Beyond it the oldest state is spilled to this process's scratch folder (its traces and LDEs
# written once, ~1 s for 0.65 GB, read back memory-mapped by phase 2: cheaper than the ~4 CPU s of tracing and
# committing the segment again), while the disk keeps SPILL_RESERVE_BYTES free; else it is dropped. A segment
# whose state is neither kept nor spilled (or whose spill was lost) is recomputed in phase 2.
_PENDING: dict = {}
KEEP_PENDING_BYTES = 1 << 30
SPILL_RESERVE_BYTES = 4 << 30
_SPILL_DIR: list = []


def _spill_dir() -> str:
    """This process's scratch folder: in the Dask worker's local directory (removed with the worker), else a
    temporary folder removed at exit."""
    if not _SPILL_DIR:
        import atexit
        import shutil
        import tempfile

        base = None
        try:
            from distributed import get_worker

            base = get_worker().local_directory
        except (ImportError, ValueError, AttributeError):
            pass
        path = tempfile.mkdtemp(prefix="zkvm-spill-", dir=base)
        atexit.register(shutil.rmtree, path, True)
        _SPILL_DIR.append(path)
    return _SPILL_DIR[0]


def _fit_budget() -> None:
    """Spill (or drop) the oldest in-memory states until the rest fit in KEEP_PENDING_BYTES. A spilled state
    keeps only its Merkle tree's stored digests in memory (under 1% of it), which the budget does not count."""
    import shutil

    while sum(p.nbytes for p in _PENDING.values() if not p.spilled) > KEEP_PENDING_BYTES:
        key = next(k for k, p in _PENDING.items() if not p.spilled)
        pending = _PENDING[key]
        folder = _spill_dir()
        try:
            if shutil.disk_usage(folder).free - pending.nbytes < SPILL_RESERVE_BYTES:
                raise OSError("not enough free disk to spill")
            pending.spill(folder)
        except OSError:
            _PENDING.pop(key).discard()  # recomputed in phase 2


def pending_keys() -> list[bytes]:
    """Keys of the jobs whose phase-1 state this process keeps (the coordinator asks every worker)."""
    return list(_PENDING)


def _use_worker_threads() -> None:
    """On a Dask worker: the native kernels use the worker's thread count (not one thread per core), so that
    workers sharing a machine do not oversubscribe it."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return
    from zkvm.stark.backend import kernels

    kernels.set_threads(worker.state.nthreads)


def _worker_address() -> str | None:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return None


def _cells_digest(cells) -> bytes:
    return hashlib.sha256(np.ascontiguousarray(cells.final_key, "<i8").tobytes()
                          + np.ascontiguousarray(cells.final_ts, "<i8").tobytes()).digest()[:16]


def _commit(image, input: bytes, job: SegmentJob, options, fixed_cache):
    """Phase 1 of one segment from scratch: re-execute up to it, trace it, commit its main trace. Returns the
    PendingProof and the _Committed summary."""
    from zkvm.circuit.cpu import CpuSegCols

    s, fc = _setup(image, fixed_cache)
    m = _start_machine(image, input, job.max_cycles, job.index << job.po2)
    w, seg_in = _segment_witness(s, m, job)
    del m
    eof_end = int(w.main["cpu"][w.cycles - 1, CpuSegCols.INDEX["eof_out"]])
    done = (job.jpos0 + len(w.journal), eof_end, _cells_digest(w.touched))
    pending = _prove_witness(s, w, seg_in, options, fc, job.key)
    return pending, _Committed(pending.log_heights, pending.root, *done, _worker_address())


def commit_segment(image, input: bytes, job: SegmentJob, options, fixed_cache: str | None = None) -> _Committed:
    """Phase 1 of one segment (a Dask task): commit its main trace; keep the prover's state here for phase 2 (at
    most KEEP_PENDING_BYTES of states a process, the oldest dropped); return the root and heights."""
    _use_worker_threads()
    pending, out = _commit(image, input, job, options, fixed_cache)
    _PENDING[job.key] = pending
    _fit_budget()  # the oldest goes first: the state just made is the likeliest to be finished soon
    return out


def prove_segment(image, input: bytes, job: SegmentJob, options, challenges, fixed_cache: str | None = None) -> bytes:
    """Phase 2 of one segment (a Dask task): finish the proof with the shared ``challenges`` ((alpha, beta), as
    ``Ext`` or as their coordinates) from the state phase 1 kept in this process, or - on another worker, or
    after the state was dropped - recompute phase 1 (deterministic: same execution, trace and randomness key)
    and check it gives ``job.root``, the root the challenges were drawn from."""
    from zkvm.field.babybear import Ext
    from zkvm.stark.proving.prover import SpillLost

    _use_worker_threads()
    challenges = tuple(c if isinstance(c, Ext) else Ext(*c) for c in challenges)
    pending = _PENDING.pop(job.key, None)
    if pending is not None and pending.spilled:
        try:
            return pending.finish(challenges).to_bytes()
        except SpillLost:
            pending.discard()
            pending = None
    if pending is None:
        pending, _ = _commit(image, input, job, options, fixed_cache)
        if pending.root != job.root:
            raise SegmentRecomputeError(f"segment {job.index}: recomputed main root {pending.root.hex()[:16]}... "
                                        f"differs from the committed {job.root.hex()[:16]}...")
    return pending.finish(challenges).to_bytes()


def _segment_cells(s, record):
    """What the coordinator needs of a recorded segment, without its trace: the cells it touches with their last
    access timestamps (values 0: a worker reads them from its own start state), the journal bytes it commits and
    whether a READ in it came back short (eof). The same accesses ``cpu.fill`` replays, in the same encoding;
    the worker's trace reports the same three (``_Committed``) and the coordinator checks they agree."""
    from zkvm.circuit import cpu, dot, read_buf
    from zkvm.circuit import segments
    from zkvm.circuit import sha256 as sha
    from zkvm.circuit.memory import SPACE_REG
    from zkvm.circuit.program import REG_A1

    n = len(record)
    row = np.minimum(np.searchsorted(s.pcs, record.column("pc").astype(np.int64)), max(len(s.pcs) - 1, 0))
    keys, tss = [], []
    commit_bytes, short = 0, False
    for lo in range(0, n, cpu.BLOCK):
        hi = min(lo + cpu.BLOCK, n)
        d = cpu._Decoded(record, s.fields, row, lo, hi)
        for k, reg in ((0, d.f["rs1"]), (1, d.f["rs2"]), (3, d.f["rd"])):
            keys.append((SPACE_REG << 32) | reg)
            tss.append(4 * d.clk + k)
        sel = (d.is_mem + d.is_ecall) > 0
        addr2 = np.where(d.is_mem == 1, d.mem_word, np.where(d.is_ecall == 1, REG_A1, 0))
        keys.append((d.is_mem << 32 | addr2)[sel])
        tss.append((4 * d.clk + 2)[sel])
        a1 = record.column("rs2_val")[lo:hi].astype(np.int64)  # an ecall's a1 before the call
        commit_bytes += int(np.where(d.ek["e_commit"] == 1, a1, 0).sum())
        short |= bool((((d.e_read == 1) & (d.a1_val < 4)) | ((d.e_rbuf == 1) & (d.rd_val < 4 * a1))).any())
    for acc in (dot.calls(record).accesses(), read_buf.calls(record).accesses(),
                sha.ShaCalls.from_record(record).accesses()):
        keys.append(acc.key)
        tss.append(acc.ts)
    key = np.concatenate(keys).astype(np.int64)
    ts = np.concatenate(tss).astype(np.int64)
    del keys, tss
    order = np.lexsort((ts, key))
    key, ts = key[order], ts[order]
    last = np.ones(len(key), bool)
    last[:-1] = key[1:] != key[:-1]
    key, ts = key[last], ts[last]
    return segments.CellState(key, np.zeros(len(key), np.int64), ts), commit_bytes, short


def prove_segmented(image, input: bytes, po2: int, options, *, max_cycles: int, progress: bool = False,
                    fixed_cache: str | None = None, remote=None, stats=None):
    """Phase 1 of a run of more than one segment: returns (image setup, fixed commitment, one SegmentJob per
    segment, per segment (log heights, main root), (exit code, journal, cycles, machine)). ``zkvm.receipt.prove``
    then draws the shared challenges and runs phase 2 (``prove_phase2``).

    This process only executes the run, recording one segment at a time to find the cells each segment touches
    and their last access timestamps before it (what its boundary table needs: ``_segment_cells``, no trace);
    the segments' traces and main commitments are made by ``commit_segment`` tasks, on Dask when ``remote`` (a
    ``zkvm.distributed.Remote``) is given, else here, one after the other."""
    from zkvm.circuit import segments
    from zkvm.exec import Executor

    s, fc = _setup(image, fixed_cache)
    size = 1 << po2
    m = Executor(image, input, max_cycles=max_cycles).machine()
    state = segments.CellState()
    jobs, expected, done = [], [], []
    jpos0 = eof0 = 0
    halted = False
    bar = _bar(progress, "commit segments")
    try:
        while not halted:
            index = len(jobs)
            if index >= segments.max_segments(po2):
                raise InputError(f"the run needs more than {segments.max_segments(po2)} segments of 2^{po2} cycles "
                                 f"(at most {abi.MAX_SEGMENTED_PROVE_CYCLES} cycles are provable)")
            # The segment's start state, read as a worker reads it (_segment_witness): the coordinator needs none of
            # its values, but this keeps one place where a run's state between segments is taken (the malicious-
            # prover tests change it there, for the coordinator and the workers alike). ~10 ms for 16 MiB.
            _snapshot(m)
            halted = m.record_segment(size)
            record = m.take_records(cycle0=index * size, clk0=segments.clk_start(index, po2))
            cells, commit_bytes, short = _segment_cells(s, record)
            del record
            job = SegmentJob(index, halted, po2, jpos0, eof0, _restrict(state, cells.final_key),
                             state if halted else None, os.urandom(32), max_cycles)
            jpos0, eof0 = jpos0 + commit_bytes, int(eof0 or short)
            expected.append((jpos0, eof0, _cells_digest(cells)))
            state = state.merged(cells)
            del cells
            jobs.append(job)
            if remote is None:
                done.append(commit_segment(image, input, job, options, fixed_cache))
                if bar is not None:
                    bar.update(1)
            else:
                done.append(remote.submit(commit_segment, job, options, fixed_cache,
                                          key=f"zkvm-commit-{index}-{job.key[:8].hex()}"))
        if remote is not None:
            from zkvm.distributed import gather

            done = gather(remote.client, done, bar)
        if bar is not None:
            bar.close()
        for job, got, want in zip(jobs, done, expected):
            if (got.jpos_end, got.eof_end, got.cells) != want:
                raise ZkvmError(f"internal error: segment {job.index}'s trace ends in another state (journal position, "
                                "eof, touched cells) than the coordinator's execution")
            job.root, job.where = got.root, got.where
    except BaseException:  # a failed run leaves no phase-1 state in this process
        _forget(jobs)
        raise
    commitments = [(list(c.heights), c.root) for c in done]
    result = (m.exit_code & 0xFFFF_FFFF, m.journal, m.cycles, m)
    return s, fc, jobs, commitments, result


def _restrict(state, keys: np.ndarray):
    from zkvm.circuit import segments

    if not len(state.final_key) or not len(keys):
        return segments.CellState()
    i = np.minimum(np.searchsorted(state.final_key, keys), len(state.final_key) - 1)
    hit = state.final_key[i] == keys
    j = i[hit]
    return segments.CellState(state.final_key[j], state.final_value[j], state.final_ts[j])


def prove_phase2(image, input: bytes, s, fc, jobs, options, challenges, *, progress: bool = False,
                 remote=None, fixed_cache: str | None = None) -> list[bytes]:
    """Phase 2 of every segment (``prove_segment``): in this process, or on Dask when ``remote`` (a
    ``zkvm.distributed.Remote`` holding the run's image and input) is given, each segment on the worker that kept
    its phase-1 state (zkvm.distributed)."""
    if remote is not None:
        from zkvm.distributed import run_jobs

        return run_jobs(remote, jobs, options, challenges, progress=progress, fixed_cache=fixed_cache)
    out: list = [None] * len(jobs)
    bar = _bar(progress, "prove segments", len(jobs))
    kept = set(_PENDING)
    try:
        for job in sorted(jobs, key=lambda j: j.key not in kept):  # kept states first: their memory goes first
            out[job.index] = prove_segment(image, input, job, options, challenges, fixed_cache)
            if bar is not None:
                bar.update(1)
    finally:
        _forget(jobs)
        if bar is not None:
            bar.close()
    return out


def _forget(jobs) -> None:
    for job in jobs:
        pending = _PENDING.pop(job.key, None)
        if pending is not None:
            pending.discard()


def _bar(progress: bool, desc: str, total: int | None = None):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="segment", leave=False)


# ---------------------------------------------------------------------------------------------- verifier

def verify_segmented(receipt, seal_head, seg: SegmentedSeal, min_security_bits: int) -> None:
    """Every segment's proof with the shared challenges, then the run's bus balance (pure Python)."""
    from zkvm.circuit import riscv_air, segments, statement
    from zkvm.circuit.cpu import MAX_LOG_HEIGHT, max_journal_bytes
    from zkvm.field.babybear import Ext
    from zkvm.receipt import ImageIdMismatch, JournalTooLong, SealError
    from zkvm.stark.errors import MalformedProof
    from zkvm.stark.verifying import logup
    from zkvm.stark.verifying.blinding import compiled_air
    from zkvm.stark.verifying.proof import Proof
    from zkvm.stark.verifying.protocol import fixed_digest, normalize_public_terms
    from zkvm.stark.verifying.verifier import verify as stark_verify

    n, po2 = len(seg.proofs), seg.po2
    if n < 2:
        raise SegmentCountError(f"a segmented receipt has at least 2 segments, this one {n}")
    if not segments.MIN_SEGMENT_PO2 <= po2 <= segments.MAX_SEGMENT_PO2:
        raise SegmentCountError(f"segment size 2^{po2} outside 2^{segments.MIN_SEGMENT_PO2}.."
                                f"2^{segments.MAX_SEGMENT_PO2}")
    if n > segments.max_segments(po2):
        raise SegmentCountError(f"{n} segments of 2^{po2} cycles exceed the provable run length")
    split = [split_entry(e) for e in seg.proofs]
    if len({p for *_, p in split}) != n:
        raise DuplicateSegment("the same segment proof appears twice")
    tag = run_tag(receipt.claim.to_bytes())
    for i, (index, seg_tag, last, _) in enumerate(split):
        if index != i:
            raise SegmentOrderError(f"position {i} holds segment {index} of its run: segments dropped or reordered")
        if seg_tag != tag:
            raise SegmentFromAnotherRun(f"segment {i} was proven for another run")
        if i == n - 1 and not last:
            raise RunEndsEarly(f"segment {i}, the receipt's last, does not end the run: segments cut off")
        if i < n - 1 and last:
            raise SegmentOrderError(f"segment {i} ends the run but {n - 1 - i} more follow")
    air_seg = riscv_air.circuit(True).air
    air_one = riscv_air.circuit(False).air
    options = None
    parsed = []
    journal_cap = 0
    for i, (*_, data) in enumerate(split):
        opts, log_heights = Proof.read_header(data)
        if options is None:
            options = opts
        elif opts.to_bytes() != options.to_bytes():
            raise SealError(f"segment {i}: proof options differ from segment 0's")
        if opts.zk != receipt.zk:
            raise SealError("the receipt's zk flag disagrees with its proof options")
        names = [ct.name for ct in compiled_air(air_seg, opts.zk).tables]
        if len(log_heights) != len(names):
            raise MalformedProof(f"segment {i}: {len(log_heights)} table heights for {len(names)} tables")
        cpu_h = log_heights[names.index("cpu")]
        if cpu_h > MAX_LOG_HEIGHT or (i < n - 1 and cpu_h != po2) or cpu_h > po2:
            raise SegmentCountError(f"segment {i}: cpu table of height 2^{cpu_h} in a run of 2^{po2}-cycle segments")
        journal_cap += max_journal_bytes(cpu_h)
        parsed.append((data, log_heights))
    if len(receipt.journal) > journal_cap:
        raise JournalTooLong(f"a journal of {len(receipt.journal)} bytes, but the segments commit at most {journal_cap}")
    from zkvm.receipt import _check_journal_digest

    _check_journal_digest(receipt)
    if seal_head.image_id != receipt.claim.image_id:
        raise ImageIdMismatch("the seal's image data do not hash to the claimed image id")
    ca_seg, ca_one = air_seg.compile(), air_one.compile()
    proofs = []
    for i, (data, _) in enumerate(parsed):
        proof = Proof.from_bytes(data, air_seg)
        fixed_heights = list(proof.fixed_log_heights)  # absent fixed tables keep their height here
        # the fixed tables are the single-proof AIR's: their roots must give the image id's fixed digest
        if fixed_digest(ca_one, fixed_heights, proof.fixed_roots) != seal_head.fixed_digest:
            raise ImageIdMismatch(f"segment {i}: its fixed columns are not the image's")
        proofs.append((proof, fixed_digest(ca_seg, fixed_heights, proof.fixed_roots)))
    commitments = [(p.log_heights, p.main_roots[0] if p.main_roots else b"") for p, _ in proofs]
    challenges = shared_challenges(receipt.claim.to_bytes(), options.to_bytes(), po2, commitments)
    total = Ext(0)
    for i, (proof, digest) in enumerate(proofs):
        publics = {**seal_head.publics, **segments.seg_publics(i, n, po2)}
        try:
            total = total + stark_verify(air_seg, proof, publics, (), digest, min_security_bits=min_security_bits,
                                         logup_challenges=challenges)
        except VerificationError as exc:
            raise SegmentProofInvalid(f"segment {i} of {n}: {type(exc).__name__}: {exc}") from None
    terms = statement.public_terms(receipt.journal, receipt.claim.exit_code)
    terms.append(initial_state_term(seal_head.entry))
    alpha, beta = challenges
    from zkvm.stark.verifying.protocol import max_tuple_len

    ca_zk = compiled_air(air_seg, options.zk)
    betas = logup.beta_powers(beta, max_tuple_len(ca_zk))
    try:
        total = total + logup.public_contribution(ca_zk, normalize_public_terms(ca_seg, terms), alpha, betas)
    except ZeroDivisionError:
        raise SegmentLinkError("a public term's LogUp denominator vanished") from None
    if not total.is_zero():
        raise SegmentLinkError("the segments do not link: memory, registers, machine state, journal or exit code "
                               "differ across their boundaries")
