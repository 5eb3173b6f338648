"""Byte layouts shared with guest/nn/nn_guest.c: the request the host feeds the guest as private input, and
the journal the guest commits. Documented in guest/nn/README.md."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

from zkvm.errors import InputError

REQ_PUBLISH_INPUT = 1
REQ_PUBLISH_INPUT_DIGEST = 2
J_INPUT_BYTES, J_INPUT_DIGEST, J_MODEL_DIGEST = 1, 2, 4
JOURNAL_MAGIC = b"ZKML"
JOURNAL_VERSION = 1


def encode_request(x: np.ndarray, blob: bytes | None, publish_input: bool, input_digest: bool = False) -> bytes:
    """Private input: flags, [blob_len, blob] when the model is not linked into the guest, input_len, input."""
    flags = (REQ_PUBLISH_INPUT_DIGEST if input_digest else REQ_PUBLISH_INPUT) if publish_input else 0
    data = np.asarray(x, dtype=np.int8).reshape(-1).tobytes()
    parts = [struct.pack("<I", flags)]
    if blob is not None:
        parts.append(struct.pack("<I", len(blob)) + blob)
    parts.append(struct.pack("<I", len(data)) + data)
    return b"".join(parts)


@dataclass(frozen=True)
class Journal:
    predicted: int
    logits: bytes  # int8 values, as committed
    model_digest: bytes | None  # SHA-256 of the blob (public model), None when bound by the image id
    input_bytes: bytes | None  # the int8 input tensor (public input, bytes mode)
    input_digest: bytes | None  # SHA-256 of the input tensor (public input, digest mode)

    @property
    def logits_int8(self) -> list[int]:
        return np.frombuffer(self.logits, dtype=np.int8).tolist()

    def describe(self) -> dict:
        return {
            "predicted_class": self.predicted,
            "logits_int8": self.logits_int8,
            "model": f"sha256:{self.model_digest.hex()}" if self.model_digest else "private (bound by the image id)",
            "input": (
                f"public ({len(self.input_bytes)} bytes, sha256:{hashlib.sha256(self.input_bytes).hexdigest()})"
                if self.input_bytes is not None
                else f"public digest sha256:{self.input_digest.hex()}" if self.input_digest else "private"
            ),
        }


def expected_journal(logits: np.ndarray, blob: bytes | None, x: np.ndarray, publish_input: bool,
                     input_digest: bool = False) -> bytes:
    """The journal the guest must commit for these reference logits (blob=None: model linked in the guest)."""
    logits = np.asarray(logits, dtype=np.int8).reshape(-1)
    data = np.asarray(x, dtype=np.int8).reshape(-1).tobytes()
    flags = (J_MODEL_DIGEST if blob is not None else 0) | (
        (J_INPUT_DIGEST if input_digest else J_INPUT_BYTES) if publish_input else 0
    )
    out = [JOURNAL_MAGIC, bytes([JOURNAL_VERSION, flags]), struct.pack("<H", len(logits))]
    if blob is not None:
        out.append(hashlib.sha256(blob).digest())
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
        raise InputError("not an ML journal (bad magic or version)")
    flags = data[5]
    if flags & ~7 or (flags & J_INPUT_BYTES and flags & J_INPUT_DIGEST):
        raise InputError(f"ML journal has invalid flags {flags:#x}")
    (n_logits,) = struct.unpack_from("<H", data, 6)
    off = 8
    model_digest = input_bytes = input_digest = None
    if flags & J_MODEL_DIGEST:
        need(off, 32)
        model_digest, off = data[off : off + 32], off + 32
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
    return Journal(predicted, logits, model_digest, input_bytes, input_digest)
