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
import os
import secrets
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


def read_salt(path: str | os.PathLike) -> bytes:
    """The owner's salt file: exactly SALT_BYTES bytes (read with a bound: it is a file we are handed)."""
    from host.ml.files import read_limited  # noqa: PLC0415

    p = Path(path)
    if not p.exists():
        raise InputError(f"model has no salt ({p}); the model owner creates it with `python -m host ml commit`")
    salt = read_limited(p, 4 * SALT_BYTES, "model salt")
    if len(salt) != SALT_BYTES:
        raise InputError(f"{p} holds {len(salt)} bytes, a model salt is {SALT_BYTES}")
    return salt


def create_salt(path: str | os.PathLike, fresh: bool = False) -> bytes:
    """The salt at `path`, drawn from the OS's CSPRNG if missing (or `fresh`: a new, unlinkable commitment).
    The file is created owner-only (0600) before any secret byte is written to it."""
    p = Path(path)
    if fresh or not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(SALT_BYTES))
        tmp.replace(p)
    return read_salt(p)


def commit_files(blob: bytes, salt_path: str | os.PathLike, commitment_path: str | os.PathLike,
                 fresh_salt: bool = False) -> bytes:
    """The owner's step: make (or reuse) the salt, write the commitment (hex) to `commitment_path`, return it.
    With `fresh_salt` the old salt is kept as <salt>.<first 16 hex digits of its commitment>, so a commitment
    already published stays openable."""
    salt_path = Path(salt_path)
    if fresh_salt and salt_path.exists():
        old = model_commitment(blob, read_salt(salt_path))
        salt_path.replace(salt_path.with_name(f"{salt_path.name}.{old.hex()[:16]}"))
    c = model_commitment(blob, create_salt(salt_path, fresh_salt))
    try:
        Path(commitment_path).write_text(c.hex() + "\n")
    except OSError as exc:
        raise InputError(f"cannot write {commitment_path}: {exc.strerror or exc}") from None
    return c
