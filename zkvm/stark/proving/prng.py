"""The prover's randomness: the ChaCha20 keystream (64-bit block counter, 64-bit nonce) that expands its
os.urandom seed, and the salt and mask sources built on it (prover only: it runs on the backend, which verifier
code must never import; the zk plan itself is in verifying/zk.py).

:class:`Randomness` draws one 32-byte key from the OS per proof and takes every salt and mask from this
stream, one nonce per draw. The work is done in C (``native/prng.c``, both cores, AVX2) when the
extension is built; the numpy version below is the reference it is tested against (and the fallback).
"""

from __future__ import annotations

import os

import numpy as np

from zkvm.field.babybear import P
from zkvm.stark.backend import BACKEND
from zkvm.stark.verifying.zk import SALT_BYTES

_native = BACKEND.native

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


class Randomness:
    """Source of prover randomness: a ChaCha20 keystream keyed from the OS CSPRNG (or, tests only, from a seed).

    One 32-byte key per instance (one proof) from ``os.urandom``; each draw reads a fresh stream (its own
    nonce) of this module, generated in C at several GB/s - the OS delivers ~250 MB/s, and a zk proof
    draws ~150 MB of salts and mask coefficients at 2^18 rows."""

    def __init__(self, test_seed: int | None = None) -> None:
        if test_seed is None:
            self._key = os.urandom(KEY_BYTES)
        else:
            self._key = np.random.default_rng(test_seed).bytes(KEY_BYTES)
        self._draws = 0

    @classmethod
    def from_key(cls, key: bytes) -> "Randomness":
        """A keystream from a given 32-byte key (itself from ``os.urandom``): the segments of a run are proven
        twice (main commitment, then the rest: ``zkvm.segmented``), and must draw the same values both times."""
        if len(key) != KEY_BYTES:
            raise ValueError(f"a randomness key is {KEY_BYTES} bytes")
        out = cls.__new__(cls)
        out._key, out._draws = bytes(key), 0
        return out

    def _nonce(self) -> int:
        self._draws += 1
        return self._draws

    def field(self, shape) -> np.ndarray:
        """Uniform field elements (64 random bits reduced mod p: statistical distance < 2^-32)."""
        return field(self._key, self._nonce(), int(np.prod(shape))).reshape(shape)

    def salts(self, n: int) -> np.ndarray:
        """``uint8[n, SALT_BYTES]``: the same bytes :meth:`salt_stream` would give, materialised."""
        return self.salt_stream(n).rows(0, n)

    def salt_stream(self, n: int) -> "SaltStream":
        """Salts for a tree of ``n`` leaves, generated on demand (what the prover hands its Merkle trees)."""
        return SaltStream(self._key, self._nonce(), n)


class SaltStream:
    """The salts of one Merkle tree, regenerated from the keystream when needed instead of stored.

    Salt ``i`` is bytes ``16i .. 16i + 16`` of the keystream of one draw, so any range can be recomputed
    (counter mode): the tree hashes its leaves one chunk of salts at a time, and an opening regenerates the
    salts of the leaves it reveals or rehashes. Storing them instead would keep 16 bytes per leaf of every
    private tree alive until the openings (~100 MB at 2^18 rows) and page-fault all of it in."""

    #: Salts regenerated together for small requests: opening a leaf asks for its salt and for its sibling
    #: subtrees' (the levels below merkle._UNSTORED_LEVELS), all inside one aligned window of 16 leaves, and a
    #: tree opens all queries level by level - so up to _MAX_WINDOWS windows stay cached (4 KiB each at most).
    _WINDOW = 16
    _MAX_WINDOWS = 256

    def __init__(self, key: bytes, nonce: int, n: int) -> None:
        self._key, self._nonce, self._n = key, nonce, n
        self.shape = (n, SALT_BYTES)
        self._windows: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self._n

    def rows(self, begin: int, end: int) -> np.ndarray:
        """Salts ``begin .. end - 1`` as a fresh ``uint8[end - begin, SALT_BYTES]``."""
        if not 0 <= begin <= end <= self._n:
            raise IndexError(f"salt range [{begin}, {end}) outside [0, {self._n})")
        wb = begin - begin % self._WINDOW
        if end - wb <= self._WINDOW:
            win = self._windows.get(wb)
            if win is None:
                if len(self._windows) >= self._MAX_WINDOWS:
                    self._windows.clear()
                win = self._windows[wb] = self._generate(wb, min(wb + self._WINDOW, self._n))
            return win[begin - wb:end - wb].copy()
        return self._generate(begin, end)

    def _generate(self, begin: int, end: int) -> np.ndarray:
        per_block = 64 // SALT_BYTES  # ChaCha20 blocks are 64 bytes
        skip = (begin % per_block) * SALT_BYTES
        data = stream(self._key, self._nonce, skip + (end - begin) * SALT_BYTES, block0=begin // per_block)
        return data[skip:].reshape(end - begin, SALT_BYTES)

    def __getitem__(self, index):
        if isinstance(index, slice):
            begin, end, step = index.indices(self._n)
            if step != 1:
                raise IndexError("salt slices must be contiguous")
            return self.rows(begin, max(begin, end))
        i = int(index)
        if i < 0:
            i += self._n
        return self.rows(i, i + 1)[0]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        arr = self.rows(0, self._n)
        return arr if dtype is None else arr.astype(dtype)
