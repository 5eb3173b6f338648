"""Byte layouts shared with guest/nn/nn_guest.c: the request the host feeds the guest as private input, and
the journal the guest commits. Documented in guest/nn/README.md."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

from host.ml.commitment import SALT_BYTES
from zkvm.errors import InputError

REQ_PUBLISH_INPUT = 1
REQ_PUBLISH_INPUT_DIGEST = 2
J_INPUT_BYTES, J_INPUT_DIGEST, J_MODEL_COMMITMENT = 1, 2, 4
JOURNAL_MAGIC = b"ZKML"
#: 2: bit 2 is the salted model commitment (version 1 had a plain SHA-256 of a public blob there).
JOURNAL_VERSION = 2


def encode_request(x: np.ndarray, blob: bytes | None, publish_input: bool, input_digest: bool = False,
                   salt: bytes | None = None) -> bytes:
    """Private input: flags, [salt, blob_len, blob] for the private-model guest (blob given; then `salt`, the
    owner's 32 secret bytes, is required), input_len, input. blob=None: the model is linked into the guest."""
    flags = (REQ_PUBLISH_INPUT_DIGEST if input_digest else REQ_PUBLISH_INPUT) if publish_input else 0
    data = np.asarray(x, dtype=np.int8).reshape(-1).tobytes()
    parts = [struct.pack("<I", flags)]
    if blob is not None:
        if salt is None or len(salt) != SALT_BYTES:
            raise InputError(f"a private model needs its owner's {SALT_BYTES}-byte salt")
        parts.append(bytes(salt) + struct.pack("<I", len(blob)) + blob)
    parts.append(struct.pack("<I", len(data)) + data)
    return b"".join(parts)


@dataclass(frozen=True)
class Journal:
    predicted: int
    logits: bytes  # int8 values, as committed
    model_commitment: bytes | None  # SHA-256(tag || salt || blob) of a private model; None: public model, linked
    input_bytes: bytes | None  # the int8 input tensor (public input, bytes mode)
    input_digest: bytes | None  # SHA-256 of the input tensor (public input, digest mode)

    @property
    def logits_int8(self) -> list[int]:
        return np.frombuffer(self.logits, dtype=np.int8).tolist()

    def describe(self) -> dict:
        return {
            "predicted_class": self.predicted,
            "logits_int8": self.logits_int8,
            "model": (f"private, commitment {self.model_commitment.hex()}" if self.model_commitment
                      else "public (linked into the guest: bound by the image id)"),
            "input": (
                f"public ({len(self.input_bytes)} bytes, sha256:{hashlib.sha256(self.input_bytes).hexdigest()})"
                if self.input_bytes is not None
                else f"public digest sha256:{self.input_digest.hex()}" if self.input_digest else "private"
            ),
        }


def expected_journal(logits: np.ndarray, commitment: bytes | None, x: np.ndarray, publish_input: bool,
                     input_digest: bool = False) -> bytes:
    """The journal the guest must commit for these reference logits. `commitment`: the private model's
    (`commitment.model_commitment`), None for a public model linked into the guest."""
    logits = np.asarray(logits, dtype=np.int8).reshape(-1)
    data = np.asarray(x, dtype=np.int8).reshape(-1).tobytes()
    flags = (J_MODEL_COMMITMENT if commitment is not None else 0) | (
        (J_INPUT_DIGEST if input_digest else J_INPUT_BYTES) if publish_input else 0
    )
    out = [JOURNAL_MAGIC, bytes([JOURNAL_VERSION, flags]), struct.pack("<H", len(logits))]
    if commitment is not None:
        out.append(bytes(commitment))
    if publish_input and not input_digest:
        out.append(struct.pack("<I", len(data)) + data)
    if publish_input and input_digest:
        out.append(hashlib.sha256(data).digest())
    out.append(struct.pack("<I", int(logits.argmax())) + logits.tobytes())
    return b"".join(out)


def decode_journal(data: bytes) -> Journal:
    """Strictly parse a journal; InputError on anything the guest could not have written."""
    data = bytes(data)

    def need(off: int, n: int) -> None:
        if len(data) < off + n:
            raise InputError("ML journal truncated")

    need(0, 8)
    if data[:4] != JOURNAL_MAGIC or data[4] != JOURNAL_VERSION:
        raise InputError(f"not an ML journal of version {JOURNAL_VERSION} (bad magic or version)")
    flags = data[5]
    if flags & ~7 or (flags & J_INPUT_BYTES and flags & J_INPUT_DIGEST):
        raise InputError(f"ML journal has invalid flags {flags:#x}")
    (n_logits,) = struct.unpack_from("<H", data, 6)
    off = 8
    commitment = input_bytes = input_digest = None
    if flags & J_MODEL_COMMITMENT:
        need(off, 32)
        commitment, off = data[off : off + 32], off + 32
    if flags & J_INPUT_BYTES:
        need(off, 4)
        (n,) = struct.unpack_from("<I", data, off)
        need(off + 4, n)
        input_bytes, off = data[off + 4 : off + 4 + n], off + 4 + n
    if flags & J_INPUT_DIGEST:
        need(off, 32)
        input_digest, off = data[off : off + 32], off + 32
    need(off, 4 + n_logits)
    (predicted,) = struct.unpack_from("<I", data, off)
    logits = data[off + 4 : off + 4 + n_logits]
    if off + 4 + n_logits != len(data):
        raise InputError("ML journal has trailing bytes")
    if n_logits == 0 or predicted >= n_logits:
        raise InputError("ML journal prediction out of range")
    return Journal(predicted, logits, commitment, input_bytes, input_digest)
