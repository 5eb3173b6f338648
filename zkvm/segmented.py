"""Proving and verifying a run in segments (continuations). The argument is in ``zkvm/circuit/segments.py``.

Proving, in two phases:
1. (sequential, bounded by a segment) execute the next 2^k cycles from where the run is, generate that
   segment's trace and commit its main trace (``stark.prove(commit_only=True)``) -> main root. What the later
   segments need is kept small: the journal position, the eof flag and the last-access timestamp of every
   cell touched so far (the last segment also gets their final values: it initialises and finalises memory).
2. the shared LogUp challenges = H(tag, claim, options, k, n, every segment's heights and main root); then
   every segment is proven independently (``stark.prove(logup_challenges=...)``): re-executed from the start
   up to its first cycle (unrecorded, fast), traced again and proven with the SAME randomness key as in
   phase 1, so its main commitment is the one the challenges were drawn from. Phase 2 is what runs on Dask
   (``zkvm.distributed``; ``prove_job`` is the task): a job is a few KB plus the touched-cell state.

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
from zkvm.errors import InputError, VerificationError

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
    from zkvm.stark.transcript import Transcript

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

@dataclass
class SegmentJob:
    """Everything a worker needs to prove segment ``index`` (besides the image and the input)."""

    index: int
    is_last: bool
    po2: int
    jpos0: int
    eof0: int
    before: object           # segments.CellState: last accesses before it, of the cells it touches
    run_state: object        # last segment: the run's cells before it; else None
    key: bytes               # its zk randomness key
    max_cycles: int


def _start_machine(image, input: bytes, max_cycles: int, job_start: int):
    """A machine that has executed the run's first ``job_start`` cycles (unrecorded)."""
    from zkvm.exec import Executor

    m = Executor(image, input, max_cycles=max_cycles).machine()
    if job_start and m.run_until(job_start):
        raise InputError("the run halts before the segment starts (a different input?)")
    return m


def _snapshot(m):
    from zkvm.circuit import segments

    return segments.snapshot_init_value(m.regs, m.read(abi.MEM_START, abi.MEM_END - abi.MEM_START))


def _segment_witness(s, m, job: SegmentJob, before, run_state):
    """Record the job's segment on ``m`` (positioned at its start) and build its trace."""
    from zkvm.circuit import riscv_air, segments

    size = 1 << job.po2
    init_value = _snapshot(m)
    halted = m.record_segment(size)
    record = m.take_records(cycle0=job.index * size, clk0=segments.clk_start(job.index, job.po2))
    if halted != job.is_last:
        raise InputError(f"segment {job.index}: the run {'halts' if halted else 'goes on'} unexpectedly")
    seg_in = segments.SegmentInput(job.index, job.is_last, job.po2, job.jpos0, job.eof0, init_value, before,
                                   run_state)
    return riscv_air.generate(s, record, segment=seg_in), seg_in


def _prove_witness(s, w, seg_in, opts, fc, key: bytes, challenges=None, progress=False, timings=None):
    from zkvm.circuit import riscv_air
    from zkvm.stark import prng
    from zkvm.stark.prover import prove

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
    from zkvm.stark.prover import commit_fixed_data

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
    from zkvm.stark.protocol import fixed_digest

    ca = riscv_air.circuit().air.compile()
    tables = [ct for ct in ca.tables if ct.n_fixed]
    return fixed_digest(ca, [s.fixed[ct.name].shape[0].bit_length() - 1 for ct in tables],
                        [fc.trees[ct.name].root for ct in tables])


def prove_job(image, input: bytes, job: SegmentJob, options, challenges, fixed_cache: str | None = None) -> bytes:
    """Phase 2 of one segment (what a Dask worker runs): re-execute up to it, trace it, prove it.
    ``challenges``: (alpha, beta), as ``Ext`` or as their coordinates."""
    from zkvm.field.babybear import Ext

    challenges = tuple(c if isinstance(c, Ext) else Ext(*c) for c in challenges)
    s, fc = _setup(image, fixed_cache)
    m = _start_machine(image, input, job.max_cycles, job.index << job.po2)
    w, seg_in = _segment_witness(s, m, job, job.before, job.run_state)
    del m
    return _prove_witness(s, w, seg_in, options, fc, job.key, challenges).to_bytes()


def commit_job(image, input: bytes, job: SegmentJob, options, fixed_cache: str | None = None):
    """Phase 1's main commitment of one segment on a worker: (log heights, main root), the same as
    ``prove_job`` will commit to (same execution, trace and randomness key)."""
    s, fc = _setup(image, fixed_cache)
    m = _start_machine(image, input, job.max_cycles, job.index << job.po2)
    w, seg_in = _segment_witness(s, m, job, job.before, job.run_state)
    del m
    root, heights = _prove_witness(s, w, seg_in, options, fc, job.key)
    return heights, root


def prove_segmented(image, input: bytes, po2: int, options, *, max_cycles: int, progress: bool = False,
                    fixed_cache: str | None = None, scheduler=None, stats=None):
    """Phase 1 of a run of more than one segment: returns (image setup, fixed commitment, one SegmentJob per
    segment, per segment (log heights, main root), (exit code, journal, cycles, machine)). ``zkvm.receipt.prove``
    then draws the shared challenges and runs phase 2 (``prove_phase2``)."""
    from zkvm.circuit import riscv_air, segments
    from zkvm.exec import Executor

    s, fc = _setup(image, fixed_cache)
    size = 1 << po2
    m = Executor(image, input, max_cycles=max_cycles).machine()
    state = segments.CellState()
    jobs, commitments, journal = [], [], bytearray()
    jpos0 = eof0 = 0
    exit_code = None
    bar = _bar(progress, "commit segments")
    index = 0
    futures = []
    if scheduler is not None:  # a distributed.Client: main commitments run on its workers, traces stay here
        image_f, input_f = scheduler.scatter([image, bytes(input)], broadcast=True)
    while exit_code is None:
        if index >= segments.max_segments(po2):
            raise InputError(f"the run needs more than {segments.max_segments(po2)} segments of 2^{po2} cycles "
                             f"(at most {abi.MAX_SEGMENTED_PROVE_CYCLES} cycles are provable)")
        job = SegmentJob(index, False, po2, jpos0, eof0, None, None, os.urandom(32), max_cycles)
        init_value = _snapshot(m)
        halted = m.record_segment(size)
        job.is_last = halted
        record = m.take_records(cycle0=index * size, clk0=segments.clk_start(index, po2))
        seg_in = segments.SegmentInput(index, halted, po2, jpos0, eof0, init_value, state,
                                       state if halted else None)
        w = riscv_air.generate(s, record, segment=seg_in)
        del record
        touched = w.touched
        job.before = _restrict(state, touched.final_key)
        job.run_state = state if halted else None
        cpu = w.main["cpu"]
        from zkvm.circuit.cpu import CpuSegCols
        eof0 = int(cpu[w.cycles - 1, CpuSegCols.INDEX["eof_out"]])
        jpos0 += len(w.journal)
        journal += w.journal
        if halted:
            exit_code = w.exit_code
        if scheduler is None:
            root, heights = _prove_witness(s, w, seg_in, options, fc, job.key)
            commitments.append((heights, root))
        else:  # only the cell state had to be computed here, in order; the commitment is a worker's
            futures.append(scheduler.submit(commit_job, image_f, input_f, job, options, pure=False,
                                            key=f"zkvm-commit-{index}-{job.key[:8].hex()}"))
        del w
        jobs.append(job)
        state = state.merged(touched)
        index += 1
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if futures:
        commitments = [(list(h), r) for h, r in scheduler.gather(futures)]
    result = (exit_code, bytes(journal), m.cycles, m)
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
                 scheduler=None) -> list[bytes]:
    """Phase 2 of every segment: in this process, or on Dask when ``scheduler`` is given (zkvm.distributed)."""
    if scheduler is not None:
        from zkvm.distributed import run_jobs

        return run_jobs(scheduler, image, input, jobs, options, challenges, progress=progress)
    out = []
    bar = _bar(progress, "prove segments", len(jobs))
    for job in jobs:
        m = _start_machine(image, input, job.max_cycles, job.index << job.po2)
        w, seg_in = _segment_witness(s, m, job, job.before, job.run_state)
        del m
        out.append(_prove_witness(s, w, seg_in, options, fc, job.key, challenges).to_bytes())
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return out


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
    from zkvm.stark import logup
    from zkvm.stark.blinding import compiled_air
    from zkvm.stark.errors import MalformedProof
    from zkvm.stark.proof import Proof
    from zkvm.stark.protocol import fixed_digest, normalize_public_terms
    from zkvm.stark.verifier import verify as stark_verify

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
    from zkvm.stark.protocol import max_tuple_len

    ca_zk = compiled_air(air_seg, options.zk)
    betas = logup.beta_powers(beta, max_tuple_len(ca_zk))
    try:
        total = total + logup.public_contribution(ca_zk, normalize_public_terms(ca_seg, terms), alpha, betas)
    except ZeroDivisionError:
        raise SegmentLinkError("a public term's LogUp denominator vanished") from None
    if not total.is_zero():
        raise SegmentLinkError("the segments do not link: memory, registers, machine state, journal or exit code "
                               "differ across their boundaries")
