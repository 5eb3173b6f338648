"""The statement a proof makes about a run, as the circuit states it: the public inputs, the seal's header, the
image id, and the table heights a verifier accepts.

A run of image I halting with exit code e after committing journal J is proven by a STARK of the RISC-V AIR
(riscv_air.py) whose publics are I's entry pc, image span and text span, whose fixed columns are I's decoded
program and memory (committed by the fixed digest), and whose public bus terms are e and every byte of J.

Seal (``Seal``): u32 entry_pc | u32 image_lo | u32 image_hi | u32 text_lo | u32 text_hi (word indices of the
image span and of the executable span) | fixed digest (32 B) | STARK proof bytes. The verifier recomputes the
image id from the first six fields and compares it with the id it was given, then checks the proof against the
publics and the public terms derived from the claim: the proof balances only for that exit code and journal.

Image id = SHA-256(tag ‖ publics (u32 LE, riscv_air.PUBLICS order) ‖ fixed digest): a verifier holding only the
id never needs the ELF.

Height policy (``open_seal``): the proof lists one height per table of the AIR (plus the zk blinding hub); the
CPU table is at most 2^cpu.MAX_LOG_HEIGHT rows (memory timestamps stay below 2^24), and a journal is at most
cpu.JOURNAL_BYTES_PER_ROW bytes a CPU row: both are checked from the proof's header, before the journal is
hashed or turned into public terms, so a long journal costs the verifier nothing a proof could not back.

This module is on the verifier's side: the prover's modules are imported only inside the proving functions.
It is imported by `zkvm.receipt` for the seal and the errors, so it loads the circuit (and numpy) only in the
functions that need it: parsing or writing a receipt costs no more than its bytes.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zkvm.errors import VerificationError

if TYPE_CHECKING:
    from zkvm.circuit.riscv_air import ImageSetup, Witness

IMAGE_ID_TAG = b"zkvm-image-id-v1"
#: The seal's header: entry pc, image span, text span (u32 each), fixed digest (32 bytes).
SEAL_HEAD = struct.Struct("<IIIII32s")


class MalformedReceipt(VerificationError):
    """The receipt bytes do not parse (bad magic, version, flags, lengths, trailing bytes...)."""


class ImageIdMismatch(VerificationError):
    """The receipt is for another image than the one the verifier expects (or its seal's image data do not
    hash to the claimed id)."""


class SealError(VerificationError):
    """The seal is inconsistent with the receipt (flags, sizes, heights)."""


class JournalTooLong(VerificationError):
    """The journal is longer than the proven CPU table could have committed (checked before anything else is
    done with the journal: a long journal must not cost the verifier work before the proof can back it)."""


# ---------------------------------------------------------------------------------------------- publics

def public_terms(journal: bytes, exit_code: int) -> list:
    """What the verifier adds to the buses itself: it *receives* the exit code and every journal byte (the
    CPU sends them), so the proof balances only if the committed bytes are exactly the journal. The journal's
    terms are one block of (position, byte) rows: 8 bytes a journal byte, never a Python object per byte."""
    import numpy as np

    from zkvm.circuit.cpu import BUS_EXIT, BUS_JOURNAL
    from zkvm.field.babybear import P
    from zkvm.stark.verifying.logup import TermBlock

    receive = P - 1
    data = np.frombuffer(bytes(journal), dtype=np.uint8)
    rows = np.empty((data.shape[0], 2), dtype=np.uint32)
    rows[:, 0] = np.arange(data.shape[0], dtype=np.uint32)
    rows[:, 1] = data
    return [(BUS_EXIT, (exit_code & 0xFFFF, exit_code >> 16), receive), TermBlock(BUS_JOURNAL, rows, receive)]


# ---------------------------------------------------------------------------------------------- image id

def image_id_from_parts(publics: dict[str, int], digest: bytes) -> bytes:
    """Image id = SHA-256(tag ‖ publics (entry pc, image span, text span; u32 LE, PUBLICS order) ‖ fixed digest)."""
    from zkvm.circuit.riscv_air import PUBLICS as pubs

    return hashlib.sha256(IMAGE_ID_TAG + struct.pack(f"<{len(pubs)}I", *(publics[k] for k in pubs))
                          + digest).digest()


def image_id(image) -> bytes:
    """The id of a `MemoryImage`: binds its entry pc, its memory and its decoded program."""
    from zkvm.circuit import riscv_air
    from zkvm.stark.proving.prover import commit_fixed

    s = riscv_air.setup(image)
    return image_id_from_parts(s.publics, commit_fixed(riscv_air.circuit().air, s.fixed))


# ---------------------------------------------------------------------------------------------- seal

@dataclass(frozen=True)
class Seal:
    entry: int
    image_lo: int
    image_hi: int
    text_lo: int
    text_hi: int
    fixed_digest: bytes
    proof: bytes

    @classmethod
    def of(cls, s: ImageSetup, fixed_digest: bytes, proof: bytes = b"") -> "Seal":
        return cls(s.entry, s.image_lo, s.image_hi, s.text_lo, s.text_hi, fixed_digest, proof)

    def to_bytes(self) -> bytes:
        return SEAL_HEAD.pack(self.entry, self.image_lo, self.image_hi, self.text_lo, self.text_hi,
                              self.fixed_digest) + self.proof

    @classmethod
    def from_bytes(cls, data: bytes) -> "Seal":
        if len(data) < SEAL_HEAD.size:
            raise MalformedReceipt(f"seal too short ({len(data)} bytes)")
        entry, lo, hi, tlo, thi, digest = SEAL_HEAD.unpack_from(data)
        return cls(entry, lo, hi, tlo, thi, digest, data[SEAL_HEAD.size:])

    @property
    def publics(self) -> dict[str, int]:
        return {"entry_pc": self.entry, "image_lo": self.image_lo, "image_hi": self.image_hi,
                "text_lo": self.text_lo, "text_hi": self.text_hi}

    @property
    def image_id(self) -> bytes:
        return image_id_from_parts(self.publics, self.fixed_digest)


# ---------------------------------------------------------------------------------------------- heights

def table_heights(air, options, log_heights) -> dict[str, int]:
    """Table name -> log2 height (0: absent) of a proof of ``air`` with these options (zk: + the blinding hub).
    MalformedProof when the proof lists another number of tables."""
    from zkvm.stark.verifying.blinding import compiled_air
    from zkvm.stark.errors import MalformedProof

    names = [ct.name for ct in compiled_air(air, options.zk).tables]
    if len(log_heights) != len(names):
        raise MalformedProof(f"{len(log_heights)} table heights for {len(names)} tables")
    return dict(zip(names, log_heights))


def open_seal(seal_bytes: bytes, zk: bool, journal_len: int):
    """Parse a single-proof seal and apply the height policy to its proof's header, before anything is done
    with the journal. Returns (seal, options)."""
    from zkvm.circuit import riscv_air
    from zkvm.circuit.cpu import MAX_LOG_HEIGHT, max_journal_bytes
    from zkvm.stark.verifying.proof import Proof

    seal = Seal.from_bytes(seal_bytes)
    options, log_heights = Proof.read_header(seal.proof)
    if options.zk != zk:
        raise SealError("the receipt's zk flag disagrees with its proof options")
    cpu_h = table_heights(riscv_air.circuit().air, options, log_heights)["cpu"]
    if cpu_h > MAX_LOG_HEIGHT:  # keeps memory timestamps below 2^24 (see memory.py)
        raise SealError(f"cpu table of height 2^{cpu_h} exceeds 2^{MAX_LOG_HEIGHT}")
    if journal_len > max_journal_bytes(cpu_h):
        raise JournalTooLong(f"a journal of {journal_len} bytes, but a cpu table of height 2^{cpu_h} "
                             f"commits at most {max_journal_bytes(cpu_h)}")
    return seal, options


def verify_seal(seal: Seal, image_id: bytes, journal: bytes, exit_code: int, min_security_bits: int) -> None:
    """The seal's image data hash to ``image_id`` and its proof proves this exit code and journal."""
    from zkvm.circuit import riscv_air
    from zkvm.stark.verifying.proof import Proof
    from zkvm.stark.verifying.verifier import verify

    if seal.image_id != image_id:
        raise ImageIdMismatch("the seal's image data do not hash to the claimed image id")
    air = riscv_air.circuit().air
    proof = Proof.from_bytes(seal.proof, air)
    verify(air, proof, seal.publics, public_terms(journal, exit_code), seal.fixed_digest,
           min_security_bits=min_security_bits)


# ---------------------------------------------------------------------------------------------- proving

def default_options(zk: bool = True):
    """100+ conjectured bits either way; the zk defaults spend one more query on the zk rate slack."""
    from zkvm.stark.verifying.options import default_options as stark_defaults

    return stark_defaults(zk)


def commit_image(image, fixed_cache: str | None = None):
    """The preprocessed image and its fixed columns' commitment (``fixed_cache``: a directory keeping the fixed
    columns' LDEs and trees between proofs, the proving key). Returns (setup, commitment)."""
    from zkvm.circuit import riscv_air
    from zkvm.stark.proving.prover import commit_fixed_data

    s = riscv_air.setup(image)
    return s, commit_fixed_data(riscv_air.circuit().air, s.fixed, fixed_cache)


def prove(s: ImageSetup, fixed_commitment, w: Witness, options, *, smallest: bool,
          progress: bool = False, timings: dict | None = None) -> tuple[Seal, dict[str, int]]:
    """Prove the witness ``w`` of a run of the image ``s``: (seal, proven table heights; 0 = absent).
    ``smallest``: keep the options' security but pick the FRI shape that makes this proof smallest. The
    witness's main traces are handed over to the prover (``w.main`` is None afterwards): it frees them once
    it no longer needs them, before DEEP/FRI (the memory peak)."""
    from zkvm.circuit import riscv_air
    from zkvm.stark.proving.prover import proof_log_heights
    from zkvm.stark.proving.prover import prove as stark_prove

    air = riscv_air.circuit().air
    if smallest:
        from zkvm.stark.verifying.shape import smallest_options

        options = smallest_options(air, options, proof_log_heights(air, s.fixed, w.main, s.publics, options.zk))
    main, w.main = w.main, None
    proof = stark_prove(air, s.fixed, main, s.publics, public_terms(w.journal, w.exit_code), options,
                        progress=progress, timings=timings if timings is not None else {},
                        fixed_commitment=fixed_commitment)
    heights = {ct.name: 1 << h if h else 0 for ct, h in zip(air.tables, proof.log_heights)}
    return Seal.of(s, fixed_commitment.digest, proof.to_bytes()), heights
