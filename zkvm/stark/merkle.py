"""Merkle trees over the rows of a ``uint32[N, w]`` matrix (N a power of two), SHA-256, optional salts.

Hashing is done in C (``native/sha256.c``, ``native/merkle.c``: SHA-NI when the CPU has it, both cores) when
the extension is built, else with hashlib. The leaf and node encodings are defined in
:mod:`zkvm.stark.merkle_verify`, which is what the verifier uses to check openings.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from zkvm.stark.merkle_verify import DIGEST_SIZE, leaf_hash, node_hash, root_from_path, verify_path  # noqa: F401

try:
    from zkvm.stark import _native  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    _native = None


class MerkleTree:
    """Commitment to the rows of ``rows`` (row i -> leaf i), salted per row when ``salts`` is given.

    ``levels[0]`` holds the N leaf digests, ``levels[-1]`` the single root; each level is ``uint8[m, 32]``.
    """

    def __init__(self, rows: np.ndarray, salts: np.ndarray | None = None) -> None:
        rows = np.asarray(rows)
        if rows.ndim == 1:
            rows = rows[:, None]
        if rows.ndim != 2:
            raise ValueError(f"rows must be a uint32[N, w] matrix, got shape {rows.shape}")
        n = rows.shape[0]
        if n < 1 or n & (n - 1):
            raise ValueError(f"number of leaves must be a power of two, got {n}")
        rows = np.ascontiguousarray(rows, dtype=np.uint32)
        if salts is not None:
            salts = np.ascontiguousarray(salts, dtype=np.uint8)
            if salts.ndim != 2 or salts.shape[0] != n:
                raise ValueError(f"salts must be uint8[{n}, k], got shape {salts.shape}")
        self.depth = n.bit_length() - 1
        self.width = rows.shape[1]
        self.salts = salts  # kept so openings can send each opened leaf's salt
        self.levels = _build_native(rows, salts) if _native is not None else _build_hashlib(rows, salts)

    @property
    def root(self) -> bytes:
        return self.levels[-1][0].tobytes()

    @property
    def leaf_count(self) -> int:
        return 1 << self.depth

    def leaf_digest(self, index: int) -> bytes:
        return self.levels[0][index].tobytes()

    def open(self, indices: Sequence[int]) -> list[list[bytes]]:
        """Authentication path (siblings, leaf level first) for each index."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.leaf_count):
            raise IndexError(f"leaf index out of range [0, {self.leaf_count})")
        # Gather one level at a time for all indices (vectorised), then split per index.
        per_level = []
        for level in self.levels[:-1]:
            per_level.append(level[idx ^ 1])
            idx = idx >> 1
        return [[per_level[d][k].tobytes() for d in range(self.depth)] for k in range(len(indices))]


def _build_hashlib(rows: np.ndarray, salts: np.ndarray | None) -> list[np.ndarray]:
    n = rows.shape[0]
    le = rows.astype("<u4", copy=False)
    leaves = np.empty((n, DIGEST_SIZE), dtype=np.uint8)
    for i in range(n):
        data = le[i].tobytes() + (salts[i].tobytes() if salts is not None else b"")
        leaves[i] = np.frombuffer(hashlib.sha256(data).digest(), dtype=np.uint8)
    levels = [leaves]
    while levels[-1].shape[0] > 1:
        prev = levels[-1]
        pairs = prev.reshape(-1, 2 * DIGEST_SIZE)
        nxt = np.empty((pairs.shape[0], DIGEST_SIZE), dtype=np.uint8)
        for i in range(pairs.shape[0]):
            nxt[i] = np.frombuffer(hashlib.sha256(pairs[i].tobytes()).digest(), dtype=np.uint8)
        levels.append(nxt)
    return levels


def _build_native(rows: np.ndarray, salts: np.ndarray | None) -> list[np.ndarray]:
    ffi, lib = _native.ffi, _native.lib
    n, w = rows.shape
    depth = n.bit_length() - 1
    nodes = np.empty((2 * n - 1, DIGEST_SIZE), dtype=np.uint8)  # level 0 first, root last
    salt_ptr = ffi.NULL if salts is None else ffi.cast("const uint8_t *", salts.ctypes.data)
    salt_len = 0 if salts is None else salts.shape[1]
    status = lib.zk_merkle_build(ffi.cast("const uint32_t *", rows.ctypes.data), n, w, salt_ptr, salt_len,
                                 ffi.cast("uint8_t *", nodes.ctypes.data))
    if status != 0:
        raise MemoryError(f"merkle build failed with status {status}")
    levels, start = [], 0
    for d in range(depth + 1):
        size = n >> d
        levels.append(nodes[start:start + size])
        start += size
    return levels
