"""Merkle trees over the rows of a ``uint32[N, w]`` matrix (N a power of two), SHA-256, optional salts, and
mixed-height trees committing to several such matrices at once (:class:`MixedMerkleTree`, one per proof phase).

Hashing is done in C (``native/sha256.c``, ``native/merkle.c``: SHA-NI when the CPU has it, both cores) when
the extension is built, else with hashlib. The leaf and node encodings are defined in
:mod:`zkvm.stark.verifying.merkle`, which is what the verifier uses to check openings.

The lowest ``_UNSTORED_LEVELS`` levels (15/16 of all nodes) are not stored: the tree keeps a reference to the
committed rows (which the prover keeps anyway to send opened rows) and rehashes an opened leaf's sibling
subtrees there. At 2^20-cycle proofs this saves ~1.4 GB of peak memory for ~30 hashes per opening.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from zkvm.stark.backend import BACKEND
from zkvm.stark.verifying.merkle import (DIGEST_SIZE, bitrev, group_hash, leaf_hash, mixed_groups,  # noqa: F401
                                      mixed_position, multiproof_nodes, node_hash, root_from_path, verify_path)

_native = BACKEND.native

# Levels not stored, lowest first: opening a leaf rehashes its sibling subtrees there (2^k - 1 leaves and
# as many nodes per opening), storing only ~N/2^(k-1) digests instead of 2N.
_UNSTORED_LEVELS = 4

# Leaves hashed per C call: the C builder writes the whole subtree of a chunk (2·chunk-1 digests) into a
# scratch buffer, so the full leaf level never exists in memory at once.
_CHUNK = 1 << 16


class MerkleTree:
    """Commitment to the rows of ``rows`` (row i -> leaf i), salted per row when ``salts`` is given.

    Stores the levels from ``_UNSTORED_LEVELS`` up (each ``uint8[m, 32]``, the root last) and references ``rows`` and
    ``salts`` (not copied when already contiguous ``uint32`` / ``uint8``): do not mutate them afterwards.
    ``salts`` may also be a source that regenerates them on demand (``prng.SaltStream``: ``shape``, ``rows(b, e)``
    and indexing), so they need not be stored.
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
            if not hasattr(salts, "rows"):
                salts = np.ascontiguousarray(salts, dtype=np.uint8)
            if len(salts.shape) != 2 or salts.shape[0] != n:
                raise ValueError(f"salts must be uint8[{n}, k], got shape {salts.shape}")
        self.depth = n.bit_length() - 1
        self.width = rows.shape[1]
        self.rows = rows    # kept to rehash opened leaves' siblings (the leaf level is not stored)
        self.salts = salts  # kept so openings can send each opened leaf's salt
        self._first = min(_UNSTORED_LEVELS, self.depth)  # lowest stored level (the root is always stored)
        build = _build_native if _native is not None else _build_hashlib
        self._upper = build(rows, salts, keep_from=self._first)[self._first:]

    def stored_levels(self) -> list[np.ndarray]:
        """The stored levels (unsalted trees only), for `from_levels`."""
        if self.salts is not None:
            raise ValueError("a salted tree is never stored")
        return list(self._upper)

    @classmethod
    def from_levels(cls, rows: np.ndarray, levels: list[np.ndarray]) -> "MerkleTree":
        """The unsalted tree of ``rows`` rebuilt from `stored_levels` (not rehashed: the caller vouches for them)."""
        t = cls.__new__(cls)
        rows = np.ascontiguousarray(rows, dtype=np.uint32)
        t.depth = rows.shape[0].bit_length() - 1
        t.width = rows.shape[1]
        t.rows, t.salts = rows, None
        t._first = min(_UNSTORED_LEVELS, t.depth)
        if len(levels) != t.depth + 1 - t._first or levels[-1].shape != (1, 32):
            raise ValueError("stored levels do not fit these rows")
        t._upper = [np.ascontiguousarray(lv, dtype=np.uint8) for lv in levels]
        return t

    @property
    def root(self) -> bytes:
        return self._upper[-1][0].tobytes()

    @property
    def leaf_count(self) -> int:
        return 1 << self.depth

    @property
    def levels(self) -> list[np.ndarray]:
        """All levels, leaf digests first (recomputed: for tests and tools, not for the prover's hot path)."""
        if self.depth == 0:
            return list(self._upper)
        build = _build_native if _native is not None else _build_hashlib
        return build(self.rows, self.salts, keep_from=0)

    def leaf_digest(self, index: int) -> bytes:
        salt = b"" if self.salts is None else self.salts[index].tobytes()
        return leaf_hash(self.rows[index], salt)

    def _node(self, level: int, index: int) -> bytes:
        """Digest of node ``index`` of ``level``: stored, or rehashed from its 2^level leaves."""
        if level >= self._first:
            return self._upper[level - self._first][index].tobytes()
        lo, hi = index << level, (index + 1) << level
        salts = None if self.salts is None else self.salts[lo:hi]  # one call for a regenerated range
        nodes = [leaf_hash(self.rows[i], b"" if salts is None else salts[i - lo].tobytes()) for i in range(lo, hi)]
        while len(nodes) > 1:
            nodes = [node_hash(nodes[i], nodes[i + 1]) for i in range(0, len(nodes), 2)]
        return nodes[0]

    def open(self, indices: Sequence[int]) -> list[list[bytes]]:
        """Authentication path (siblings, leaf level first) for each index."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.leaf_count):
            raise IndexError(f"leaf index out of range [0, {self.leaf_count})")
        if self.depth == 0:
            return [[] for _ in range(len(indices))]
        # Siblings below the stored levels are rehashed from the rows; the others gathered one level at a time.
        per_level = []
        for d in range(self.depth):
            if d < self._first:
                per_level.append([self._node(d, int(j)) for j in idx ^ 1])
            else:
                per_level.append([x.tobytes() for x in self._upper[d - self._first][idx ^ 1]])
            idx = idx >> 1
        return [[per_level[d][k] for d in range(self.depth)] for k in range(len(indices))]

    def multi_open(self, indices: Sequence[int]) -> list[bytes]:
        """The siblings an opening of all ``indices`` at once needs, each sent once (``multiproof_nodes``)."""
        if any(not 0 <= i < self.leaf_count for i in indices):
            raise IndexError(f"leaf index out of range [0, {self.leaf_count})")
        return [self._node(d, i) for d, i in multiproof_nodes(indices, self.depth)]


def _upper_levels_hashlib(levels: list, depth: int) -> None:
    """Append the levels above ``levels[-1]`` up to the root, with hashlib."""
    while len(levels) <= depth:
        pairs = levels[-1].reshape(-1, 2 * DIGEST_SIZE)
        nxt = np.empty((pairs.shape[0], DIGEST_SIZE), dtype=np.uint8)
        for i in range(pairs.shape[0]):
            nxt[i] = np.frombuffer(hashlib.sha256(pairs[i].tobytes()).digest(), dtype=np.uint8)
        levels.append(nxt)


def _build_hashlib(rows: np.ndarray, salts: np.ndarray | None, keep_from: int = 0) -> list:
    """Every level, leaf digests first, root last; the levels below ``keep_from`` are None."""
    n = rows.shape[0]
    le = rows.astype("<u4", copy=False)
    leaves = np.empty((n, DIGEST_SIZE), dtype=np.uint8)
    if salts is not None and not isinstance(salts, np.ndarray):
        salts = np.asarray(salts)  # a regenerating source: all at once, not one leaf at a time
    for i in range(n):
        data = le[i].tobytes() + (salts[i].tobytes() if salts is not None else b"")
        leaves[i] = np.frombuffer(hashlib.sha256(data).digest(), dtype=np.uint8)
    levels = [leaves]
    _upper_levels_hashlib(levels, n.bit_length() - 1)
    return [lvl if d >= keep_from else None for d, lvl in enumerate(levels)]


def _build_native(rows: np.ndarray, salts: np.ndarray | None, keep_from: int = 0) -> list:
    """Same levels as :func:`_build_hashlib`, hashed in C one chunk of leaves (and its subtree) at a time."""
    ffi, lib = _native.ffi, _native.lib
    n, w = rows.shape
    depth = n.bit_length() - 1
    chunk = min(n, max(2, _CHUNK))  # >= 2 so a stored level sits above the leaves
    chunk_depth = chunk.bit_length() - 1
    top = chunk_depth  # the chunk roots' level is always filled: the levels above are hashed from it
    levels: list = [np.empty((n >> d, DIGEST_SIZE), dtype=np.uint8) if (d >= keep_from or d == top) else None
                    for d in range(top + 1)]
    scratch = np.empty((2 * chunk - 1, DIGEST_SIZE), dtype=np.uint8)
    salt_len = 0 if salts is None else salts.shape[1]
    lazy = salts is not None and not isinstance(salts, np.ndarray)  # regenerated per chunk, never stored
    row_base, salt_base = rows.ctypes.data, (0 if salts is None or lazy else salts.ctypes.data)
    out = ffi.cast("uint8_t *", scratch.ctypes.data)
    for j in range(n // chunk):
        chunk_salts = salts.rows(j * chunk, (j + 1) * chunk) if lazy else None
        if salts is None:
            salt_ptr = ffi.NULL
        elif lazy:
            salt_ptr = ffi.cast("const uint8_t *", chunk_salts.ctypes.data)
        else:
            salt_ptr = ffi.cast("const uint8_t *", salt_base + j * chunk * salt_len)
        status = lib.zk_merkle_build(ffi.cast("const uint32_t *", row_base + j * chunk * w * 4), chunk, w,
                                     salt_ptr, salt_len, out)
        if status != 0:
            raise MemoryError(f"merkle build failed with status {status}")
        start = 0
        for d in range(top + 1):
            size = chunk >> d
            if levels[d] is not None:
                levels[d][j * size:(j + 1) * size] = scratch[start:start + size]
            start += size
    _upper_levels_hashlib(levels, depth)  # above the chunk roots: n / chunk - 1 hashes
    return [lvl if d >= keep_from else None for d, lvl in enumerate(levels)]


class MixedMerkleTree:
    """One commitment to several ``uint32[h_m, w_m]`` matrices of power-of-two heights (encoding, placement and
    binding argument: :mod:`zkvm.stark.verifying.merkle`). The matrices stay in natural row order; row ``r`` of a
    matrix of height ``2^l`` sits at position ``bitrev_l(r)`` of its level, so a query opens one path.

    ``salts`` (zk): ``uint8[H, k]`` or a source regenerating them (``prng.SaltStream``), row ``i`` salting leaf ``i`` (only the leaves are salted: see
    ``merkle_verify`` for why that hides the injected rows too). Like :class:`MerkleTree`, the lowest
    ``_UNSTORED_LEVELS`` levels are not stored: an opened path's low siblings are rehashed from the matrices.
    The matrices and salts are referenced, not copied: do not mutate them afterwards.
    """

    def __init__(self, matrices: Sequence[np.ndarray], salts: np.ndarray | None = None) -> None:
        mats = []
        for m in matrices:
            m = np.asarray(m)
            if m.ndim != 2 or m.shape[0] < 1 or m.shape[0] & (m.shape[0] - 1) or m.shape[1] < 1:
                raise ValueError(f"each matrix must be uint32[2^l, w >= 1], got shape {m.shape}")
            mats.append(np.ascontiguousarray(m, dtype=np.uint32))
        if not mats:
            raise ValueError("a mixed tree needs at least one matrix")
        self.matrices = mats
        self.log_heights = [m.shape[0].bit_length() - 1 for m in mats]
        self.depth = max(self.log_heights)
        self.groups = mixed_groups(self.log_heights)
        self._group_at = dict(self.groups)
        self._salts = None  # salts of the leaf level only (injected rows are hidden by them, see above)
        if salts is not None:
            # a regenerating source (prng.SaltStream: ``shape``, ``rows(b, e)``) is kept as is: never stored whole
            s = salts if hasattr(salts, "rows") else np.ascontiguousarray(salts, dtype=np.uint8)
            if len(s.shape) != 2 or s.shape[0] != 1 << self.depth:
                raise ValueError(f"salts must be uint8[{1 << self.depth}, k], got shape {s.shape}")
            self._salts = s
        self._first = min(_UNSTORED_LEVELS, self.depth)
        self._upper = self._build()

    @property
    def root(self) -> bytes:
        return self._upper[-1][0].tobytes()

    # -- level operations (C when built, else hashlib)

    def _group_digests(self, d: int, start: int, count: int) -> np.ndarray:
        """``G_d(i)`` for positions ``start .. start + count - 1`` of level ``d``, as ``uint8[count, 32]``."""
        mats = [self.matrices[m] for m in self._group_at[d]]
        log_h = self.depth - d
        salts = self._salts if d == 0 else None
        if salts is not None:  # just this range: ``salts[0]`` below is salt ``start``
            salts = salts.rows(start, start + count) if hasattr(salts, "rows") else salts[start:start + count]
        out = np.empty((count, DIGEST_SIZE), dtype=np.uint8)
        if _native is not None:
            ffi, lib = _native.ffi, _native.lib
            ptrs = ffi.new("const uint32_t *[]", [ffi.cast("const uint32_t *", m.ctypes.data) for m in mats])
            widths = ffi.new("size_t[]", [m.shape[1] for m in mats])
            salt_len = 0 if salts is None else salts.shape[1]
            salt_ptr = ffi.NULL if salts is None else ffi.cast("const uint8_t *", salts.ctypes.data)
            status = lib.zk_mmcs_leaves(ptrs, widths, len(mats), log_h, start, count, salt_ptr, salt_len,
                                        ffi.cast("uint8_t *", out.ctypes.data))
            if status != 0:
                raise (ValueError if status == -1 else MemoryError)(f"mixed tree leaf hashing failed with status {status}")
            return out
        for k in range(count):
            r = bitrev(start + k, log_h)
            salt = b"" if salts is None else salts[k].tobytes()
            out[k] = np.frombuffer(group_hash([m[r] for m in mats], salt), dtype=np.uint8)
        return out

    @staticmethod
    def _compress(left: np.ndarray, right: np.ndarray, stride: int) -> np.ndarray:
        """``SHA256(left_i || right_i)`` for digests ``stride`` bytes apart (``left``/``right`` share a layout)."""
        count = left.shape[0]
        out = np.empty((count, DIGEST_SIZE), dtype=np.uint8)
        if _native is not None and count:
            ffi, lib = _native.ffi, _native.lib
            status = lib.zk_merkle_compress(ffi.cast("const uint8_t *", left.ctypes.data),
                                            ffi.cast("const uint8_t *", right.ctypes.data), stride, count,
                                            ffi.cast("uint8_t *", out.ctypes.data))
            if status != 0:
                raise ValueError(f"merkle compress failed with status {status}")
            return out
        for i in range(count):
            out[i] = np.frombuffer(hashlib.sha256(left[i].tobytes() + right[i].tobytes()).digest(), dtype=np.uint8)
        return out

    def _up(self, children: np.ndarray, d: int, start: int) -> np.ndarray:
        """Nodes ``start ..`` of level ``d`` from their children (level ``d - 1``, contiguous ``uint8[2m, 32]``)."""
        children = np.ascontiguousarray(children)
        pairs = children.reshape(-1, 2 * DIGEST_SIZE)
        nodes = self._compress(pairs[:, :DIGEST_SIZE], pairs[:, DIGEST_SIZE:], 2 * DIGEST_SIZE)
        if d in self._group_at:
            nodes = self._compress(nodes, self._group_digests(d, start, nodes.shape[0]), DIGEST_SIZE)
        return nodes

    def _subtree(self, level: int, index: int) -> list[np.ndarray]:
        """Levels 0..``level`` of the subtree under node ``index`` of ``level`` (its root last)."""
        cur = self._group_digests(0, index << level, 1 << level)
        out = [cur]
        for d in range(1, level + 1):
            cur = self._up(cur, d, index << (level - d))
            out.append(cur)
        return out

    def _build(self) -> list[np.ndarray]:
        """Levels ``_first`` .. depth (root last), hashed one chunk of leaves (and its subtree) at a time."""
        depth, first = self.depth, self._first
        chunk_depth = min(depth, _CHUNK.bit_length() - 1)
        levels = [np.empty((1 << (depth - d), DIGEST_SIZE), dtype=np.uint8) for d in range(first, depth + 1)]
        for j in range(1 << (depth - chunk_depth)):
            sub = self._subtree(chunk_depth, j)
            for d in range(first, chunk_depth + 1):
                size = 1 << (chunk_depth - d)
                levels[d - first][j * size:(j + 1) * size] = sub[d]
        for d in range(chunk_depth + 1, depth + 1):
            levels[d - first] = self._up(levels[d - 1 - first], d, 0)
        return levels

    def node(self, level: int, index: int) -> bytes:
        """``N_level(index)``: stored, or rehashed from the matrices."""
        if level >= self._first:
            return self._upper[level - self._first][index].tobytes()
        return self._subtree(level, index)[-1][0].tobytes()

    def open(self, query: int) -> tuple[list[list[int]], bytes, list[bytes]]:
        """Opening for a query of any domain at least as tall as the tallest matrix: (row ``query mod h_m`` of
        every matrix, the leaf's salt - empty when unsalted, the siblings leaves first)."""
        if not isinstance(query, int) or query < 0:
            raise IndexError(f"bad query index {query!r}")
        pos = mixed_position(query, self.log_heights)
        rows, salt = self.open_rows(query)
        return rows, salt, [self.node(d, (pos >> d) ^ 1) for d in range(self.depth)]

    def open_rows(self, query: int) -> tuple[list[list[int]], bytes]:
        """Rows and leaf salt of a query (see :meth:`open`), without the path (shared: :meth:`multi_open`)."""
        pos = mixed_position(query, self.log_heights)
        rows = [m[query % m.shape[0]].tolist() for m in self.matrices]
        return rows, b"" if self._salts is None else self._salts[pos].tobytes()

    def multi_open(self, queries: Sequence[int]) -> list[bytes]:
        """The siblings the openings of all ``queries`` need together, each sent once (``multiproof_nodes``)."""
        positions = [mixed_position(q, self.log_heights) for q in queries]
        return [self.node(d, i) for d, i in multiproof_nodes(positions, self.depth)]
