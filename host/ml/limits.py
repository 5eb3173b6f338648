"""What one proof can hold, checked before proving: a run too long for the prover is a clear, typed error with
the reason and the way out, found in a second of execution rather than after minutes of trace building."""

from __future__ import annotations

from zkvm import abi
from zkvm.errors import InputError

#: Longest provable run: longer runs than one segment are proven in segments, up to this many cycles
#: (zkvm/circuit/segments.py: global memory timestamps stay below 2^29).
MAX_PROVABLE_CYCLES = abi.MAX_SEGMENTED_PROVE_CYCLES
#: Private-model guest cost per 64-byte block of blob: reading it (READ_BUF, one ecall per 64 KiB; 16
#: READ_WORD ecalls, ~92 cycles a block, before) and hashing it (one SHA256 ecall for all its blocks; ~5 cycles
#: a block with one ecall per block, ~4,300 in plain RV32IM before). Measured; tests/test_ml_prove.py keeps it
#: honest. Only used to explain where the cycles go.
SHA256_CYCLES_PER_BLOCK = 0.55


class CycleLimitExceeded(InputError):
    """The run needs more cycles than a proof in segments can hold."""


def sha256_blocks(n_bytes: int) -> int:
    """64-byte blocks SHA-256 compresses for a message of n_bytes (padding: one 0x80 byte and 8 length bytes)."""
    return (n_bytes + 9 + 63) // 64


def check_provable(cycles: int, model: str, mode: str, blob_len: int | None) -> None:
    """Raise CycleLimitExceeded when `cycles` do not fit a (segmented) proof. `blob_len` is given for the private-model
    modes, where the guest hashes tag || salt || blob for the model commitment."""
    if cycles <= MAX_PROVABLE_CYCLES:
        return
    msg = (f"model {model} in mode --public {mode} runs {cycles:,} cycles; a proof in segments (continuations) "
           f"holds at most {MAX_PROVABLE_CYCLES:,}")
    if blob_len is not None:
        blocks = sha256_blocks(64 + blob_len)
        hashing = round(blocks * SHA256_CYCLES_PER_BLOCK)
        msg += (f". About {hashing:,} of them read and hash the {blob_len:,}-byte model blob for its "
                f"commitment ({blocks:,} SHA-256 blocks at ~{SHA256_CYCLES_PER_BLOCK:,} cycles), leaving "
                f"~{max(cycles - hashing, 0):,} for inference. With a public model (--public model or both) "
                "nothing is hashed.")
    raise CycleLimitExceeded(msg)
