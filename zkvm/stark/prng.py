"""The ChaCha20 keystream (64-bit block counter, 64-bit nonce) that expands the prover's os.urandom seed.

:class:`zkvm.stark.zk.Randomness` draws one 32-byte key from the OS per proof and takes every salt and mask
from this stream, one nonce per draw. The work is done in C (``native/prng.c``, both cores, AVX2) when the
extension is built; the numpy version below is the reference it is tested against (and the fallback).
"""

from __future__ import annotations

import numpy as np

from zkvm.field.babybear import P

try:
    from zkvm.stark import _native  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - exercised on machines that did not build the extension
    _native = None

KEY_BYTES = 32
_SIGMA = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)
_QUARTER_ROUNDS = ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                   (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14))


def _check(key: bytes, nonce: int) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a ChaCha20 key has {KEY_BYTES} bytes, got {len(key)}")
    if not 0 <= nonce < 1 << 64:
        raise ValueError("the nonce must fit in 64 bits")


def stream_numpy(key: bytes, nonce: int, nbytes: int, block0: int = 0) -> np.ndarray:
    """Reference keystream: all blocks at once, one numpy lane per block."""
    _check(key, nonce)
    blocks = -(-nbytes // 64)
    ctr = np.arange(block0, block0 + blocks, dtype=np.uint64)
    init = [np.full(blocks, c, dtype=np.uint32) for c in _SIGMA]
    init += [np.full(blocks, w, dtype=np.uint32) for w in np.frombuffer(key, dtype="<u4")]
    init += [(ctr & np.uint64(0xFFFFFFFF)).astype(np.uint32), (ctr >> np.uint64(32)).astype(np.uint32),
             np.full(blocks, nonce & 0xFFFFFFFF, dtype=np.uint32), np.full(blocks, nonce >> 32, dtype=np.uint32)]
    x = [v.copy() for v in init]

    def rotl(v: np.ndarray, c: int) -> np.ndarray:
        return (v << np.uint32(c)) | (v >> np.uint32(32 - c))

    for _ in range(10):
        for a, b, c, d in _QUARTER_ROUNDS:
            x[a] += x[b]; x[d] = rotl(x[d] ^ x[a], 16)  # noqa: E702
            x[c] += x[d]; x[b] = rotl(x[b] ^ x[c], 12)  # noqa: E702
            x[a] += x[b]; x[d] = rotl(x[d] ^ x[a], 8)  # noqa: E702
            x[c] += x[d]; x[b] = rotl(x[b] ^ x[c], 7)  # noqa: E702
    words = np.stack([xi + ii for xi, ii in zip(x, init)], axis=1).astype("<u4")
    return words.view(np.uint8).reshape(-1)[:nbytes].copy()


def stream(key: bytes, nonce: int, nbytes: int, block0: int = 0) -> np.ndarray:
    """``nbytes`` of the keystream of ``(key, nonce)`` from block ``block0`` (``uint8[nbytes]``)."""
    _check(key, nonce)
    if _native is None:
        return stream_numpy(key, nonce, nbytes, block0)
    out = np.empty(nbytes, dtype=np.uint8)
    if _native.lib.zk_chacha20_stream(key, nonce, block0, _native.ffi.cast("uint8_t *", out.ctypes.data), nbytes):
        raise ValueError("chacha20 stream: bad arguments")
    return out


def field_numpy(key: bytes, nonce: int, count: int) -> np.ndarray:
    return (stream_numpy(key, nonce, 8 * count).view("<u8") % np.uint64(P)).astype(np.uint32)


def field(key: bytes, nonce: int, count: int) -> np.ndarray:
    """``count`` field elements: little-endian 64-bit word i of the keystream, mod p (within 2^-32 of uniform)."""
    _check(key, nonce)
    if _native is None:
        return field_numpy(key, nonce, count)
    out = np.empty(count, dtype=np.uint32)
    if _native.lib.zk_chacha20_field(key, nonce, _native.ffi.cast("uint32_t *", out.ctypes.data), count) != 0:
        raise ValueError("chacha20 field: bad arguments")
    return out
