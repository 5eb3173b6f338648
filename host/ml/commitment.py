"""The private-model commitment: what a model owner publishes once and every verifier compares.

    commitment = SHA-256(TAG || salt || blob)

TAG is the ASCII ``ZKML-MODEL-COMMITMENT-V1`` zero-padded to 32 bytes (domain separation: no other SHA-256 in
the project hashes this prefix), ``salt`` the owner's 32 secret random bytes, ``blob`` the model blob
(`host/ml/blob.py`). The guest (guest/nn/nn_guest.c) computes it from its private input and commits it; tag
and salt fill exactly one SHA-256 block, so the guest hashes the blob in whole blocks from its buffer.

Why a salt: without it the commitment would be a plain hash, and anyone could test a guessed or leaked model
against it. With 256 secret bits it is hiding; SHA-256's collision resistance makes it binding (the owner
cannot open it to two different models). The owner keeps blob and salt; opening the commitment (to an
auditor) is handing both over.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from zkvm.errors import InputError, VerificationError

TAG = b"ZKML-MODEL-COMMITMENT-V1".ljust(32, b"\0")
SALT_BYTES = 32
COMMITMENT_BYTES = 32


class ModelCommitmentMismatch(VerificationError):
    """The receipt's model commitment is not the one the verifier expects (another model or another salt)."""


class ModelCommitmentRequired(VerificationError):
    """A private-model receipt was verified without saying which committed model is expected."""


class NotAPrivateModelReceipt(VerificationError):
    """A model commitment was expected, but the receipt's model is public (bound by its image id)."""


def model_commitment(blob: bytes, salt: bytes) -> bytes:
    if len(salt) != SALT_BYTES:
        raise InputError(f"a model salt is {SALT_BYTES} bytes, got {len(salt)}")
    return hashlib.sha256(TAG + bytes(salt) + bytes(blob)).digest()


def parse_commitment(arg: str) -> bytes:
    """`--model-commitment` value: 64 hex digits, or a file holding them (as `ml commit` writes it)."""
    text = arg.strip()
    path = Path(arg)
    if len(text) != 2 * COMMITMENT_BYTES and path.is_file():
        try:
            text = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read model commitment file {arg}: {exc}") from None
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise InputError(f"model commitment {arg!r} is neither 64 hex digits nor a file holding them") from None
    if len(value) != COMMITMENT_BYTES:
        raise InputError(f"a model commitment is {COMMITMENT_BYTES} bytes (64 hex digits), got {len(value)}")
    return value
