"""Claims and receipts: what a proof says, its byte format, and the checks a verifier runs.

A `Claim` says: the image with this id, run on some private input, halted with this exit code after
committing a journal whose SHA-256 is this digest. A `Receipt` is the claim, the journal and the seal.

Byte format (explicit little-endian, lengths everywhere, never pickle)::

    magic "ZKVMRCPT" | u16 version | u8 flags (bit 0: zk, bit 1: dev, bit 2: segments; others must be 0)
    claim:   u16 claim version | image_id (32 B) | u32 exit_code | journal_digest (32 B)
    u32 journal length | journal bytes
    u32 seal length    | seal bytes

Seal (empty for dev receipts): the statement's header (entry pc, image and text spans, fixed digest) and the
STARK proof; what it proves and how a verifier checks it against the claim: ``zkvm/circuit/statement.py``.

Segmented receipts (flag bit 2, a run longer than one segment): the seal is the same head followed by one
labelled proof per segment (``zkvm.segmented``; the argument linking them: ``zkvm/circuit/segments.py``).

Dev receipts (`dev=True`) are unproven: made only when asked, accepted only with `allow_dev=True` (and never
under `require_zk`).

Limits: a receipt is at most MAX_RECEIPT_BYTES; a proven receipt's journal at most 4 bytes per row of its
CPU table (checked before the journal is used). Verifying a receipt of N bytes takes at most
128 MiB + 16·N of address space and about 2 s + 1 µs·N (README, "Verifier cost").
"""

from __future__ import annotations

import hashlib
import logging
import struct
import time
from dataclasses import dataclass, field

from zkvm import abi
# the statement's errors are part of this module's API (callers catch them from here)
from zkvm.circuit.statement import (SEAL_HEAD, ImageIdMismatch, JournalTooLong, MalformedReceipt, Seal,  # noqa: F401
                                    SealError, default_options, image_id)
from zkvm.errors import GuestError, InputError, RunTooLong, VerificationError, ZkvmError

log = logging.getLogger(__name__)

MAGIC = b"ZKVMRCPT"
VERSION = 1
CLAIM_VERSION = 1
FLAG_ZK, FLAG_DEV, FLAG_SEGMENTS = 1, 2, 4
_HEADER = struct.Struct("<8sHB")
_CLAIM = struct.Struct("<H32sI32s")
#: Longest journal a proven receipt can carry: 4 bytes a CPU row of the tallest provable CPU table (cpu.py).
MAX_JOURNAL_BYTES = 4 * ((1 << 22) - 1)
#: Largest seal: the largest proof any options allow is ~4.7 MiB (every table 2^22 rows, 256 queries, blowup
#: 16, FRI arity 2, zk: tests/soundness/test_hostile_receipts.py computes it from the proof's shape).
MAX_SEAL_BYTES = 8 << 20
#: Largest receipt anything reads (``read_receipt`` reads at most this + 1 bytes; ``Receipt.from_bytes``
#: refuses more): header, claim, both lengths, the longest journal, the largest seal. ~24 MiB.
MAX_RECEIPT_BYTES = _HEADER.size + _CLAIM.size + 8 + MAX_JOURNAL_BYTES + MAX_SEAL_BYTES
#: A segmented receipt (FLAG_SEGMENTS, zkvm/segmented.py) carries one proof per segment: its seal may be larger
#: (a 2^26-cycle run in 2^18-cycle segments: 256 proofs of ~0.4 MB).
MAX_SEGMENTED_SEAL_BYTES = 256 << 20
MAX_SEGMENTED_RECEIPT_BYTES = _HEADER.size + _CLAIM.size + 8 + MAX_JOURNAL_BYTES + MAX_SEGMENTED_SEAL_BYTES


# ---------------------------------------------------------------------------------------------- errors

class JournalDigestMismatch(VerificationError):
    """The journal does not hash to the claim's journal digest."""


class DevReceiptRefused(VerificationError):
    """A dev-mode (unproven) receipt, and the verifier did not allow dev receipts."""


class NotZeroKnowledge(VerificationError):
    """The verifier requires a zero-knowledge proof and the receipt's proof is not one."""


# ---------------------------------------------------------------------------------------------- data

@dataclass(frozen=True)
class Claim:
    image_id: bytes
    exit_code: int
    journal_digest: bytes
    version: int = CLAIM_VERSION

    def to_bytes(self) -> bytes:
        return _CLAIM.pack(self.version, self.image_id, self.exit_code, self.journal_digest)

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(b"zkvm-claim-v1" + self.to_bytes()).digest()


@dataclass(frozen=True)
class Receipt:
    claim: Claim
    journal: bytes
    seal: bytes
    zk: bool
    dev: bool
    segments: bool = False  # the seal is a zkvm.segmented.SegmentedSeal

    def to_bytes(self) -> bytes:
        flags = (FLAG_ZK if self.zk else 0) | (FLAG_DEV if self.dev else 0) | (FLAG_SEGMENTS if self.segments else 0)
        return b"".join([
            _HEADER.pack(MAGIC, VERSION, flags), self.claim.to_bytes(),
            struct.pack("<I", len(self.journal)), self.journal,
            struct.pack("<I", len(self.seal)), self.seal,
        ])

    @classmethod
    def from_bytes(cls, data: bytes) -> "Receipt":
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise MalformedReceipt("a receipt must be bytes")
        data = bytes(data)
        if len(data) < len(MAGIC) or data[:len(MAGIC)] != MAGIC:
            raise MalformedReceipt("not a zkvm receipt (bad magic)")
        limit = _size_limit(data[:_HEADER.size])
        if len(data) > limit:
            raise MalformedReceipt(f"{len(data)} bytes is larger than any receipt ({limit})")
        pos = 0

        def take(n: int, what: str) -> bytes:
            nonlocal pos
            if n > len(data) - pos:
                raise MalformedReceipt(f"truncated receipt: {what} needs {n} bytes, {len(data) - pos} left")
            out = data[pos:pos + n]
            pos += n
            return out

        _, version, flags = _HEADER.unpack(take(_HEADER.size, "header"))
        if version != VERSION:
            raise MalformedReceipt(f"unsupported receipt version {version} (this verifier reads {VERSION})")
        if flags & ~(FLAG_ZK | FLAG_DEV | FLAG_SEGMENTS):
            raise MalformedReceipt(f"unknown receipt flags 0x{flags:02x}")
        segmented = bool(flags & FLAG_SEGMENTS)
        cversion, image_id, exit_code, jdigest = _CLAIM.unpack(take(_CLAIM.size, "claim"))
        if cversion != CLAIM_VERSION:
            raise MalformedReceipt(f"unsupported claim version {cversion}")
        (jlen,) = struct.unpack("<I", take(4, "journal length"))
        journal = take(jlen, "journal")
        (slen,) = struct.unpack("<I", take(4, "seal length"))
        max_seal = MAX_SEGMENTED_SEAL_BYTES if segmented else MAX_SEAL_BYTES
        if slen > max_seal:
            raise MalformedReceipt(f"a seal of {slen} bytes is larger than any proof ({max_seal})")
        seal = take(slen, "seal")
        if pos != len(data):
            raise MalformedReceipt(f"{len(data) - pos} trailing bytes after the receipt")
        return cls(Claim(image_id, exit_code, jdigest, cversion), journal, seal,
                   zk=bool(flags & FLAG_ZK), dev=bool(flags & FLAG_DEV), segments=segmented)


# ---------------------------------------------------------------------------------------------- API

@dataclass
class ProveStats:
    """Wall time per phase (seconds) and sizes, for `-v` output and benchmarks."""

    phases: dict = field(default_factory=dict)
    heights: dict = field(default_factory=dict)
    receipt_bytes: int = 0
    segments: list = field(default_factory=list)  # per-segment proof bytes (segmented runs)


def prove(image, input: bytes = b"", *, zk: bool = True, dev: bool = False, progress: bool = False,
          options=None, max_cycles: int = abi.DEFAULT_MAX_CYCLES, stats: ProveStats | None = None,
          fixed_cache: str | None = None, segment_po2: int | None = None, scheduler=None):
    """Run the guest and prove the run. Returns (ExecResult, Receipt). A trap raises GuestError (a trapping
    run has no receipt). `dev=True` skips proving and returns an unproven (dev) receipt. `fixed_cache`: a
    directory keeping the fixed columns' LDEs and trees between proofs (the proving key; see
    `statement.commit_image`).

    A run longer than 2^segment_po2 cycles (default ``abi.DEFAULT_SEGMENT_PO2``) is proven in segments
    (``zkvm.segmented``); a shorter one exactly as
    before, by one proof."""
    from zkvm.exec import Executor

    stats = stats if stats is not None else ProveStats()
    t0 = time.perf_counter()
    executor = Executor(image, input, max_cycles=max_cycles)
    if dev:
        result = executor.run()
        stats.phases["execute"] = time.perf_counter() - t0
        claim = Claim(image_id(image), result.exit_code & 0xFFFF_FFFF, hashlib.sha256(result.journal).digest())
        return result, Receipt(claim, result.journal, b"", zk=False, dev=True)

    from zkvm.circuit import riscv_air, statement

    opts = options if options is not None else default_options(zk)
    if opts.zk != zk:
        raise InputError("proof options disagree with the zk flag")
    bar = None
    if progress:  # the STARK prover shows its own phases; this covers the ones before it
        from tqdm import tqdm

        bar = tqdm(total=3, desc="execute", unit="phase", leave=False)

    def step(name: str) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_description(name)

    from zkvm.circuit import segments as seg_mod

    po2 = abi.DEFAULT_SEGMENT_PO2 if segment_po2 is None else int(segment_po2)
    if not seg_mod.MIN_SEGMENT_PO2 <= po2 <= seg_mod.MAX_SEGMENT_PO2:
        raise InputError(f"segment size 2^{po2}: k must be in {seg_mod.MIN_SEGMENT_PO2}..{seg_mod.MAX_SEGMENT_PO2}")
    # Record at most one segment: a longer run is proven in segments, recorded one segment at a time.
    executor.max_cycles = min(max_cycles, 1 << po2, abi.MAX_PROVE_CYCLES)
    try:
        try:
            result, record = executor.record()
        except GuestError as exc:
            if exc.cause == "cycle_limit" and max_cycles > executor.max_cycles:
                del exc
                if bar is not None:
                    bar.close()
                    bar = None
                return _prove_segmented(image, input, po2, opts, max_cycles, progress, fixed_cache, scheduler,
                                        stats, t0)
            raise
        stats.phases["execute"] = time.perf_counter() - t0
        step("setup")
        t = time.perf_counter()
        s, fixed_commitment = statement.commit_image(image, fixed_cache)
        stats.phases["setup"] = time.perf_counter() - t
        step("trace")
        t = time.perf_counter()
        w = riscv_air.generate(s, record)
        del record
        stats.phases["trace"] = time.perf_counter() - t
        step("prove")
    finally:
        if bar is not None:
            bar.close()
    if w.journal != result.journal or w.exit_code != result.exit_code:
        raise ZkvmError("internal error: the trace's journal/exit code differ from the execution's")
    t = time.perf_counter()
    timings: dict = {}
    # options=None: the defaults' security, with the FRI shape that makes this proof smallest
    seal, stats.heights = statement.prove(s, fixed_commitment, w, opts, smallest=options is None,
                                          progress=progress, timings=timings)
    stats.phases["prove"] = time.perf_counter() - t
    stats.phases.update({f"prove.{k}": v for k, v in timings.items()})
    claim = Claim(seal.image_id, w.exit_code, hashlib.sha256(w.journal).digest())
    receipt = Receipt(claim, w.journal, seal.to_bytes(), zk=opts.zk, dev=False)
    stats.receipt_bytes = len(receipt.to_bytes())
    return result, receipt


def _prove_segmented(image, input, po2, opts, max_cycles, progress, fixed_cache, scheduler, stats, t0):
    from zkvm.exec import Executor

    # A fast unrecorded run first: a trap or a run too long to prove is known before any proving work.
    limit = min(max_cycles, abi.MAX_SEGMENTED_PROVE_CYCLES)
    try:
        result = Executor(image, input, max_cycles=limit).run()  # the run's outcome (proving re-executes it)
    except GuestError as exc:
        if exc.cause == "cycle_limit" and max_cycles > limit:
            raise RunTooLong(f"the run does not halt within {abi.MAX_SEGMENTED_PROVE_CYCLES} cycles, the most a "
                             f"segmented proof covers (run it without --prove to see its length)") from None
        raise
    cluster = None
    if scheduler is not None:  # connect (or start the local cluster) before any proving work
        from zkvm.distributed import Cluster

        cluster = Cluster(scheduler)
    try:
        remote = None
        if cluster is not None:
            from zkvm.distributed import Remote

            remote = Remote(cluster.client, image, input)
        receipt = _prove_segments(image, input, po2, opts, limit, progress, fixed_cache, remote, stats, t0)
    finally:
        if cluster is not None:
            cluster.close()
    if (receipt.journal, receipt.claim.exit_code) != (result.journal, result.exit_code & 0xFFFF_FFFF):
        raise ZkvmError("internal error: the segments' journal/exit code differ from the execution's")
    return result, receipt


def _prove_segments(image, input, po2, opts, limit, progress, fixed_cache, remote, stats, t0):
    from zkvm import segmented

    s, fc, jobs, commitments, (exit_code, journal, cycles, m) = segmented.prove_segmented(
        image, input, po2, opts, max_cycles=limit, progress=progress, fixed_cache=fixed_cache, remote=remote)
    stats.phases["commit"] = time.perf_counter() - t0
    head = Seal(s.entry, s.image_lo, s.image_hi, s.text_lo, s.text_hi, segmented.image_fixed_digest(s, fc), b"")
    claim = Claim(head.image_id, exit_code, hashlib.sha256(journal).digest())
    challenges = segmented.shared_challenges(claim.to_bytes(), opts.to_bytes(), po2, commitments)
    t = time.perf_counter()
    proofs = segmented.prove_phase2(image, input, s, fc, jobs, opts, challenges, progress=progress, remote=remote)
    stats.phases["prove"] = time.perf_counter() - t
    stats.segments = [len(p) for p in proofs]
    tag = segmented.run_tag(claim.to_bytes())
    seal = segmented.SegmentedSeal(head.to_bytes(), po2, [segmented.label(i, tag, i == len(proofs) - 1) + p
                                                          for i, p in enumerate(proofs)])
    receipt = Receipt(claim, journal, seal.to_bytes(), zk=opts.zk, dev=False, segments=True)
    stats.receipt_bytes = len(receipt.to_bytes())
    return receipt


def verify(receipt: Receipt, image_id: bytes, *, allow_dev: bool = False, require_zk: bool = False,
           min_security_bits: int = 100) -> bytes:
    """Check a receipt against the expected image id; return the journal or raise a VerificationError
    subclass naming the failed check.

    Cost: what the receipt's size justifies (README "Verifier cost"). The proof's header (options, table
    heights) is read first and the journal's length checked against the heights (``JournalTooLong``) before
    the journal is hashed or turned into public terms; the proof is then parsed against its derived shape."""
    if not isinstance(receipt, Receipt):
        raise MalformedReceipt("not a Receipt")
    if len(image_id) != 32:
        raise InputError("an image id is 32 bytes (64 hex digits)")
    claim = receipt.claim
    if claim.image_id != image_id:
        raise ImageIdMismatch(f"receipt is for image {claim.image_id.hex()}, expected {image_id.hex()}")
    if receipt.dev:
        if not allow_dev:
            raise DevReceiptRefused("dev-mode receipt (unproven): refused unless dev receipts are allowed")
        if require_zk:  # an unproven receipt proves nothing, let alone in zero knowledge
            raise NotZeroKnowledge("a dev-mode receipt is unproven, hence not zero-knowledge")
        if receipt.seal:
            raise SealError("a dev receipt carries no seal")
        _check_journal_digest(receipt)
        return receipt.journal
    if require_zk and not receipt.zk:
        raise NotZeroKnowledge("the receipt's proof is not zero-knowledge")

    if receipt.segments:
        from zkvm import segmented

        seal = Seal.from_bytes(receipt.seal[:SEAL_HEAD.size])
        seg = segmented.SegmentedSeal.from_bytes(receipt.seal, SEAL_HEAD.size)
        segmented.verify_segmented(receipt, seal, seg, min_security_bits)
        return receipt.journal
    from zkvm.circuit import statement

    seal, _ = statement.open_seal(receipt.seal, receipt.zk, len(receipt.journal))  # the heights first
    _check_journal_digest(receipt)
    statement.verify_seal(seal, claim.image_id, receipt.journal, claim.exit_code, min_security_bits)
    return receipt.journal


def _check_journal_digest(receipt: Receipt) -> None:
    if hashlib.sha256(receipt.journal).digest() != receipt.claim.journal_digest:
        raise JournalDigestMismatch("the journal does not match the claim's journal digest")


def _size_limit(head: bytes) -> int:
    """Largest receipt with this header: a segmented one (flag FLAG_SEGMENTS) may be larger."""
    if len(head) >= _HEADER.size and head[:len(MAGIC)] == MAGIC and _HEADER.unpack_from(head)[2] & FLAG_SEGMENTS:
        return MAX_SEGMENTED_RECEIPT_BYTES
    return MAX_RECEIPT_BYTES


def read_receipt(path: str) -> Receipt:
    """Load a receipt file; every failure is a typed error with a clear message. Only regular files are read
    (a FIFO would block, a device need not end), and never more than the largest receipt its header allows (+ 1 byte)."""
    import os
    import stat

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise InputError(f"cannot read {path}: {kind}")
        with open(path, "rb") as f:
            head = f.read(_HEADER.size)
            limit = _size_limit(head)
            if st.st_size > limit:
                raise MalformedReceipt(f"{path}: {st.st_size} bytes is larger than any receipt ({limit})")
            data = head + f.read(limit + 1 - len(head))  # the file may have grown since the stat
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise MalformedReceipt(f"{path}: larger than any receipt ({limit} bytes)")
    try:
        return Receipt.from_bytes(data)
    except MalformedReceipt as exc:
        raise MalformedReceipt(f"{path}: {exc}") from None
