"""Continuations (zkvm/circuit/segments.py, zkvm/segmented.py): an honest run in 3 segments verifies; every way of
cheating with segments named in the issue is rejected with a named error. No zk here (speed: the linking
argument does not depend on it); tests/test_segments_zk.py covers a zk run."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from host.build import GUESTS_DIR, build_guest
from zkvm import abi
from zkvm import receipt as R
from zkvm import segmented
from zkvm.elf import load_elf
from zkvm.exec import Executor

PO2 = 9  # fib(200): ~1250 cycles -> 3 segments of 512


@pytest.fixture(scope="module")
def fib(tmp_path_factory):
    out = tmp_path_factory.mktemp("guests")
    return load_elf(build_guest(Path(GUESTS_DIR) / "fib", out / "fib.elf"))


def _prove(image, n: int):
    return R.prove(image, n.to_bytes(4, "little"), zk=False, segment_po2=PO2)


@pytest.fixture(scope="module")
def honest(fib):
    return _prove(fib, 200)


def _with_proofs(receipt: R.Receipt, proofs: list[bytes]) -> R.Receipt:
    seal = segmented.SegmentedSeal.from_bytes(receipt.seal, R.SEAL_HEAD.size)
    seal.proofs = proofs
    return R.Receipt(receipt.claim, receipt.journal, seal.to_bytes(), receipt.zk, receipt.dev, segments=True)


def _proofs(receipt: R.Receipt) -> list[bytes]:
    return segmented.SegmentedSeal.from_bytes(receipt.seal, R.SEAL_HEAD.size).proofs


def test_honest_segmented_run_verifies(fib, honest):
    result, receipt = honest
    run = Executor(fib, (200).to_bytes(4, "little")).run()
    assert receipt.segments and len(_proofs(receipt)) == -(-run.cycles // (1 << PO2)) == 3
    assert (result.cycles, result.journal, result.exit_code) == (run.cycles, run.journal, run.exit_code)
    back = R.Receipt.from_bytes(receipt.to_bytes())
    assert R.verify(back, R.image_id(fib)) == run.journal


def test_run_within_one_segment_is_a_single_proof(fib):
    _, receipt = R.prove(fib, (10).to_bytes(4, "little"), zk=False, segment_po2=PO2)
    assert not receipt.segments
    assert R.verify(receipt, R.image_id(fib))


def _relabelled(receipt: R.Receipt, entries: list[bytes]) -> R.Receipt:
    """The smarter cheat: labels rewritten to look like an honest run of len(entries) segments."""
    tag = segmented.run_tag(receipt.claim.to_bytes())
    proofs = [segmented.split_entry(e)[3] for e in entries]
    return _with_proofs(receipt, [segmented.label(i, tag, i == len(proofs) - 1) + p for i, p in enumerate(proofs)])


CHEATS = {  # name -> (entries of the honest 3-segment receipt -> the cheat's entries, the named error)
    "drop": (lambda p: [p[0], p[2]], segmented.SegmentOrderError),
    "reorder": (lambda p: [p[1], p[0], p[2]], segmented.SegmentOrderError),
    "end early": (lambda p: p[:2], segmented.RunEndsEarly),
}


@pytest.mark.parametrize("cheat", CHEATS)
def test_drop_reorder_end_early(honest, cheat):
    """Rejected by name; and with the labels rewritten, by the segment proofs themselves (their index,
    is_last and the shared challenges are in their transcripts)."""
    rearrange, error = CHEATS[cheat]
    receipt = honest[1]
    entries = rearrange(_proofs(receipt))
    with pytest.raises(error):
        R.verify(_with_proofs(receipt, entries), receipt.claim.image_id)
    with pytest.raises(segmented.SegmentProofInvalid):
        R.verify(_relabelled(receipt, entries), receipt.claim.image_id)


def test_duplicate_a_segment(honest):
    p = _proofs(honest[1])
    with pytest.raises(segmented.DuplicateSegment):
        R.verify(_with_proofs(honest[1], [p[0], p[1], p[1], p[2]]), honest[1].claim.image_id)


def test_splice_a_segment_from_another_run(fib, honest):
    _, other = _prove(fib, 201)  # same image, same segment size, another input
    p, q = _proofs(honest[1]), _proofs(other)
    assert len(q) == 3
    with pytest.raises(segmented.SegmentFromAnotherRun):
        R.verify(_with_proofs(honest[1], [p[0], q[1], p[2]]), honest[1].claim.image_id)
    # relabelled: its main commitment changes the shared challenges, which every segment was proven under
    with pytest.raises(segmented.SegmentProofInvalid):
        R.verify(_relabelled(honest[1], [p[0], q[1], p[2]]), honest[1].claim.image_id)


def _prove_unchecked(image, data: bytes, po2: int = PO2) -> R.Receipt:
    """receipt.prove's segmented path without its honest-prover checks (a malicious prover skips them)."""
    opts = R.default_options(False)
    s, fc, jobs, commitments, (exit_code, journal, _, _) = segmented.prove_segmented(
        image, data, po2, opts, max_cycles=1 << 20)
    head = R.Seal(s.entry, s.image_lo, s.image_hi, s.text_lo, s.text_hi, segmented.image_fixed_digest(s, fc), b"")
    claim = R.Claim(head.image_id, exit_code, hashlib.sha256(journal).digest())
    challenges = segmented.shared_challenges(claim.to_bytes(), opts.to_bytes(), po2, commitments)
    proofs = segmented.prove_phase2(image, data, s, fc, jobs, opts, challenges)
    tag = segmented.run_tag(claim.to_bytes())
    entries = [segmented.label(i, tag, i == len(proofs) - 1) + p for i, p in enumerate(proofs)]
    return R.Receipt(claim, journal, segmented.SegmentedSeal(head.to_bytes(), po2, entries).to_bytes(), False, False,
                     True)


def test_change_registers_between_segments(fib, honest, monkeypatch):
    """A prover that changes a register between segments 0 and 1 and executes segment 1 honestly from there:
    each segment proof is valid on its own, but the memory argument over the run does not balance."""
    real_snapshot, real_start = segmented._snapshot, segmented._start_machine

    def prove_with(reg: int):
        # the change happens when the run reaches segment 1, in phase 1 and in every phase-2 re-execution
        def snapshot(m):
            if m.cycles == 1 << PO2:
                m._m.regs[reg] ^= 1
            return real_snapshot(m)

        def start(image, input, max_cycles, job_start):
            if job_start <= 1 << PO2:
                return real_start(image, input, max_cycles, job_start)
            m = real_start(image, input, max_cycles, 1 << PO2)
            m._m.regs[reg] ^= 1
            m.run_until(job_start)
            return m

        monkeypatch.setattr(segmented, "_snapshot", snapshot)
        monkeypatch.setattr(segmented, "_start_machine", start)
        try:
            return _prove_unchecked(fib, (200).to_bytes(4, "little"))
        except Exception:  # this register steers the guest into a trap: try another
            return None
        finally:
            monkeypatch.setattr(segmented, "_snapshot", real_snapshot)
            monkeypatch.setattr(segmented, "_start_machine", real_start)

    # a change that matters: the run still halts, with another journal (an unused register changes nothing)
    receipt = next((r for r in map(prove_with, range(5, 32))
                    if r is not None and r.journal != honest[1].journal), None)
    assert receipt is not None, "no register could be changed without a trap"
    with pytest.raises(segmented.SegmentLinkError):
        R.verify(receipt, R.image_id(fib))


def test_tampered_segment_count_header(honest):
    seal = segmented.SegmentedSeal.from_bytes(honest[1].seal, R.SEAL_HEAD.size)
    one = R.Receipt(honest[1].claim, honest[1].journal,
                    segmented.SegmentedSeal(seal.head, seal.po2, seal.proofs[:1]).to_bytes(), False, False, True)
    with pytest.raises(segmented.SegmentCountError):
        R.verify(one, honest[1].claim.image_id)
    wrong_po2 = R.Receipt(honest[1].claim, honest[1].journal,
                          segmented.SegmentedSeal(seal.head, PO2 + 1, seal.proofs).to_bytes(), False, False, True)
    with pytest.raises(segmented.SegmentCountError):
        R.verify(wrong_po2, honest[1].claim.image_id)


def test_change_memory_between_segments(tmp_path, monkeypatch):
    """As for registers: a memory word that segment 1 loads is changed before it; segment 1 runs honestly from
    there. Its boundary reads the changed word, which no earlier access left: SegmentLinkError."""
    from zkvm.exec._rv32 import ffi

    from zkvm import abi

    sort = load_elf(build_guest(Path(GUESTS_DIR) / "sort", tmp_path / "sort.elf"))
    po2 = 12  # sorting 8 words: ~10,300 cycles -> 3 segments, each touching memory
    data = np.random.default_rng(7).integers(0, 1 << 32, 8, dtype=np.uint32).tobytes()
    m = Executor(sort, data).machine()
    m.run_until(1 << po2)
    m.record_segment(1 << po2)
    rec = m.take_records()
    loads = (rec.insn & 0x7F) == 0x03
    words = list(dict.fromkeys(int(a) for a in rec.mem_addr[loads]))[:8]
    assert words, "segment 1 loads nothing"
    real_snapshot, real_start = segmented._snapshot, segmented._start_machine

    def flip(m, addr):
        buf = ffi.buffer(m._m.mem + (addr - abi.MEM_START), 4)
        buf[0:1] = bytes([buf[0][0] ^ 1])

    def prove_with(addr: int):
        def snapshot(m):
            if m.cycles == 1 << po2:
                flip(m, addr)
            return real_snapshot(m)

        def start(image, input, max_cycles, job_start):
            if job_start <= 1 << po2:
                return real_start(image, input, max_cycles, job_start)
            m = real_start(image, input, max_cycles, 1 << po2)
            flip(m, addr)
            m.run_until(job_start)
            return m

        monkeypatch.setattr(segmented, "_snapshot", snapshot)
        monkeypatch.setattr(segmented, "_start_machine", start)
        try:
            return _prove_unchecked(sort, data, po2)
        except Exception:  # this word steers the guest into a trap: try another
            return None
        finally:
            monkeypatch.setattr(segmented, "_snapshot", real_snapshot)
            monkeypatch.setattr(segmented, "_start_machine", real_start)

    receipt = next((r for r in map(prove_with, words) if r is not None), None)
    assert receipt is not None, "no loaded word could be changed without a trap"
    with pytest.raises(segmented.SegmentLinkError):
        R.verify(receipt, R.image_id(sort))


def test_verifying_segments_loads_no_compiled_extension(fib, honest, tmp_path):
    """With the extensions built, verifying a segmented receipt in a fresh process loads no module of the project
    whose file is a compiled extension (the segment verifier stays pure Python, like the single-proof one)."""
    _, receipt = honest
    path = tmp_path / "r.bin"
    path.write_bytes(receipt.to_bytes())
    iid = R.image_id(fib).hex()
    root = Path(__file__).resolve().parents[2]
    code = textwrap.dedent(f"""
        import sys
        from zkvm import receipt as R
        R.verify(R.read_receipt({str(path)!r}), bytes.fromhex({iid!r}))
        # a compiled file of the project's packages, whatever its module name; or any module of the prover's side
        loaded = [m for m, mod in list(sys.modules.items())
                  if str(getattr(mod, "__file__", "") or "").endswith((".so", ".pyd"))
                  and str(getattr(mod, "__file__", "")).startswith(({str(root / "zkvm")!r}, {str(root / "host")!r}))
                  or m.startswith(("zkvm.stark.proving", "zkvm.stark.backend"))]
        print("loaded", loaded)
        import zkvm.stark.backend._native, zkvm.exec._rv32  # built and importable: the check above is not vacuous
        print("built")
    """)
    res = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.splitlines()[-2:] == ["loaded []", "built"], res.stdout


def test_short_read_buf_hands_eof_to_the_next_segment(fib):
    """fib given 2 input bytes: its READ_BUF (one word) comes back short in segment 0, so eof is set there and must
    travel on the state bus (eof_out counts READ_BUF's short reads like READ_WORD's) through 4 more segments."""
    data = (400).to_bytes(2, "little")
    res, rec = Executor(fib, data).record()
    rbuf = np.nonzero((np.asarray(rec.a7_val) == abi.ECALL_READ_BUF) & (np.asarray(rec.insn) == 0x73))[0]
    assert len(rbuf) == 1 and rbuf[0] < 1 << PO2 and int(np.asarray(rec.rd_val)[rbuf[0]]) == 2
    assert res.cycles > 4 << PO2
    _, receipt = R.prove(fib, data, zk=False, segment_po2=PO2)
    assert R.verify(R.Receipt.from_bytes(receipt.to_bytes()), R.image_id(fib)) == res.journal
