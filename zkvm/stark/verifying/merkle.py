"""Merkle leaf hashing and authentication-path checking in pure hashlib: the verifier's side of
:mod:`zkvm.stark.proving.merkle` (which builds the trees in C). No compiled extension is imported here.

Leaf ``i`` commits to the row ``(v_0, ..., v_{w-1})`` of ``uint32`` field elements and an optional salt:
``SHA256(le32(v_0) || ... || le32(v_{w-1}) || salt)``; an internal node is ``SHA256(left || right)``.
An authentication path lists the sibling hashes from the leaf level up to (not including) the root.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Sequence

import numpy as np

DIGEST_SIZE = 32


def leaf_bytes(row_values: Iterable[int] | np.ndarray, salt: bytes = b"") -> bytes:
    """The exact bytes hashed for a leaf: little-endian u32 of each value, then the salt."""
    return np.asarray(row_values, dtype="<u4").tobytes() + bytes(salt)


def leaf_hash(row_values: Iterable[int] | np.ndarray, salt: bytes = b"") -> bytes:
    return hashlib.sha256(leaf_bytes(row_values, salt)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(left + right).digest()


def root_from_path(leaf_digest: bytes, index: int, path: Sequence[bytes]) -> bytes:
    node = leaf_digest
    for sibling in path:
        node = node_hash(sibling, node) if index & 1 else node_hash(node, sibling)
        index >>= 1
    return node


def verify_path(root: bytes, leaf_digest: bytes, index: int, path: Sequence[bytes],
                depth: int | None = None) -> bool:
    """True iff ``path`` authenticates ``leaf_digest`` at position ``index`` under ``root``.

    ``depth`` (log2 of the number of leaves), when given, is enforced: the path must have exactly that many
    siblings and the index must lie inside the tree. Malformed inputs give False, never an exception.
    """
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        return False
    if not isinstance(leaf_digest, (bytes, bytearray)) or len(leaf_digest) != DIGEST_SIZE:
        return False
    if not isinstance(path, (list, tuple)) or any(not isinstance(s, (bytes, bytearray)) or len(s) != DIGEST_SIZE
                                                  for s in path):
        return False
    if depth is not None and (not isinstance(depth, int) or len(path) != depth or index >> depth):
        return False
    if depth is None and index >> len(path):
        return False
    if not isinstance(root, (bytes, bytearray)):
        return False
    return root_from_path(bytes(leaf_digest), index, [bytes(s) for s in path]) == bytes(root)


# ---------------------------------------------------------------- mixed-height trees (one commitment per phase)
#
# One tree commits to several matrices whose heights are powers of two (``log_heights``, in a fixed order).
# Let ``H = 2^L`` be the largest height. The matrices of height ``h = 2^l`` form the *group* of ``l``; their
# rows enter the tree at the level of width ``h`` (level ``d = L - l`` counted from the leaves):
#
# * group digest of position ``i`` of level ``d``: ``G_d(i) = SHA256(row_a || row_b || ... || salt_d(i))``, where
#   ``row_m`` is row ``bitrev_l(i)`` of each matrix ``m`` of the group, in the order given, as le32 words, and
#   ``salt_d(i)`` is leaf ``i``'s salt for ``d = 0`` under zk, empty otherwise (injections are never salted);
# * node ``i`` of level 0 (the leaves) is ``N_0(i) = G_0(i)`` (the tallest matrices always exist);
# * node ``i`` of level ``d > 0`` is ``C_d(i) = SHA256(N_(d-1)(2i) || N_(d-1)(2i+1))`` and, when a group of width
#   ``2^(L-d)`` exists, ``N_d(i) = SHA256(C_d(i) || G_d(i))`` (the *injection*), else ``N_d(i) = C_d(i)``.
# * the root is ``N_L(0)``.
#
# Placement: rows sit at bit-reversed positions so that a query ``q`` of the largest domain, which opens row
# ``q mod h`` of every matrix of height ``h``, finds all of them on ONE path: the position of row ``q mod h`` in
# its level is ``bitrev_l(q mod h) = bitrev_L(q mod H) >> (L - l)``, i.e. the ancestor at level ``L - l`` of
# leaf ``bitrev_L(q mod H)``. The prover keeps its matrices in natural order; only the placement changes.
#
# Binding (soundness): the verifier derives the whole shape (groups, widths, salt length, depth, which
# levels inject) from the AIR and the proof options before hashing, and recomputes every hash of an opening
# in the one role that shape gives it: leaf messages have the fixed length ``4·(sum of the group's widths) +
# salt`` of their group, node and injection messages are exactly 64 bytes. No digest is ever read as a leaf by
# one party and as a node by another, so two different openings (rows or salts) of the same query under one
# root yield, at the lowest level where the two recomputed digests agree, two different SHA-256 inputs with
# the same output: a collision. (A leaf message that happens to be 64 bytes long is harmless for the same
# reason: its position fixes its role.)
#
# Hiding (zk): only the leaves carry salts (fresh, 16 bytes each). Every node is either an ancestor of an
# opened leaf - then its injected rows are opened anyway (they are the rows of that query) - or has no opened
# leaf below it: then all its leaf salts stay secret, its children digests ``C_d(i)`` are uniform to the
# verifier (random oracle; guessing a salt costs 2^128), and ``N_d(i) = SHA256(C_d(i) || G_d(i))`` hides its
# unsalted rows. Authentication paths only ever send nodes of the second kind (a node of the first kind is
# on an opened path and is recomputed, never sent), so a salt per injection would add bytes, not hiding.

def bitrev(x: int, bits: int) -> int:
    """``x`` with its low ``bits`` bits reversed."""
    return int(format(x, f"0{bits}b")[::-1], 2) if bits else 0


def mixed_groups(log_heights: Sequence[int]) -> list[tuple[int, list[int]]]:
    """``[(level d, matrix indices of the group injected there)]``, leaves (d = 0) first."""
    top = max(log_heights)
    groups: dict[int, list[int]] = {}
    for m, lh in enumerate(log_heights):
        groups.setdefault(top - lh, []).append(m)
    return sorted(groups.items())


def group_hash(rows: Sequence[Iterable[int] | np.ndarray], salt: bytes = b"") -> bytes:
    """``G = SHA256(le32(rows of the group's matrices, in order) || salt)``."""
    return hashlib.sha256(b"".join(np.asarray(r, dtype="<u4").tobytes() for r in rows) + bytes(salt)).digest()


def mixed_position(query: int, log_heights: Sequence[int]) -> int:
    """Leaf position of the query ``query`` (an index of any domain at least as large as the tallest matrix)."""
    top = max(log_heights)
    return bitrev(query % (1 << top), top)


def mixed_root(log_heights: Sequence[int], query: int, rows: Sequence[Sequence[int]], salt: bytes,
               path: Sequence[bytes]) -> bytes | None:
    """Root recomputed from one opening: ``rows[m]`` = row ``query mod 2^log_heights[m]`` of matrix ``m``,
    ``salt`` the leaf's salt (empty without zk), ``path`` the sibling of every level from the leaves up. None
    when the opening's shape does not fit."""
    if not log_heights or len(path) != max(log_heights):
        return None
    return mixed_multi_root(log_heights, [query], [rows], [salt], path)


def mixed_multi_root(log_heights: Sequence[int], queries: Sequence[int], rows: Sequence[Sequence[Sequence[int]]],
                     salts: Sequence[bytes], siblings: Sequence[bytes]) -> bytes | None:
    """Root recomputed from the openings of several queries (``rows[k]``/``salts[k]`` as in :func:`mixed_root`
    for query ``k``) and their shared siblings (:func:`multiproof_nodes` order). None when a shape does not fit,
    the sibling count is wrong, or two queries open the same node with different rows or salts."""
    if not log_heights or len(rows) != len(queries) or len(salts) != len(queries):
        return None
    top = max(log_heights)
    groups = mixed_groups(log_heights)
    per_level: dict[int, dict[int, bytes]] = {d: {} for d, _ in groups}
    for q, q_rows, q_salt in zip(queries, rows, salts):
        if len(q_rows) != len(log_heights):
            return None
        pos = mixed_position(q, log_heights)
        for d, mats in groups:
            digest = group_hash([q_rows[m] for m in mats], q_salt if d == 0 else b"")
            if per_level[d].setdefault(pos >> d, digest) != digest:
                return None  # the same node opened twice, differently: one of the two is not authenticated
    leaves = per_level.pop(0)
    return multiproof_root(top, leaves, siblings, per_level)


def mixed_multi_root_flat(log_heights: Sequence[int], queries: Sequence[int], flat: np.ndarray,
                          widths: Sequence[int], salts: Sequence[bytes], siblings: Sequence[bytes]) -> bytes | None:
    """:func:`mixed_multi_root` with every query's rows given as one array: ``flat[k]`` is query ``k``'s rows of
    all matrices, concatenated in order (``widths[m]`` values each). Same digests, one slice per group."""
    if not log_heights or len(flat) != len(queries) or len(salts) != len(queries) or len(widths) != len(log_heights):
        return None
    top = max(log_heights)
    starts = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    positions = [mixed_position(q, log_heights) for q in queries]
    sha = hashlib.sha256
    per_level: dict[int, dict[int, bytes]] = {}
    for d, mats in mixed_groups(log_heights):
        cols = np.concatenate([np.arange(starts[m], starts[m + 1]) for m in mats])
        block = np.ascontiguousarray(flat[:, cols], dtype="<u4")
        level = per_level.setdefault(d, {})
        for k, pos in enumerate(positions):
            digest = sha(block[k].tobytes() + (bytes(salts[k]) if d == 0 else b"")).digest()
            if level.setdefault(pos >> d, digest) != digest:
                return None  # the same node opened twice, differently: one of the two is not authenticated
    leaves = per_level.pop(0)
    return multiproof_root(top, leaves, siblings, per_level)


# ---------------------------------------------------------------- shared authentication paths
#
# All queries of one tree share one list of siblings: walking up level by level, a node whose sibling is on
# another opened path (or computable from opened paths) needs nothing; every other sibling is sent once, in
# the order of the walk (leaves first, then by increasing index). The count follows from the positions alone.

def multiproof_nodes(positions: Iterable[int], depth: int) -> list[tuple[int, int]]:
    """``(level, index)`` of every sibling an opening of the leaves at ``positions`` sends, in proof order."""
    known = sorted(set(positions))
    out = []
    for d in range(depth):
        present = set(known)
        parents: list[int] = []
        for p in known:
            if p ^ 1 not in present:
                out.append((d, p ^ 1))
            if not parents or parents[-1] != p >> 1:
                parents.append(p >> 1)
        known = parents
    return out


def multiproof_count(positions: Iterable[int], depth: int) -> int:
    """``len(multiproof_nodes(positions, depth))`` without listing them: at each level, a parent with one opened
    child needs one sibling, a parent with both needs none."""
    known = set(positions)
    n = 0
    for d in range(depth):
        if len(known) == 1:  # one path left: one sibling per remaining level
            return n + depth - d
        parents = {p >> 1 for p in known}
        n += 2 * len(parents) - len(known)
        known = parents
    return n


def multiproof_root(depth: int, leaves: dict[int, bytes], siblings: Sequence[bytes],
                    injections: dict[int, dict[int, bytes]] | None = None) -> bytes | None:
    """Root of a tree of ``2^depth`` leaves from the digests of some leaves (position -> digest), the siblings
    in :func:`multiproof_nodes` order, and (mixed trees) per level ``d`` the group digests to inject at the
    nodes on the opened paths. None when the sibling count does not match or a position is out of range."""
    if not leaves or any(not 0 <= p < (1 << depth) for p in leaves):
        return None
    if not set(map(type, siblings)) <= {bytes, bytearray} or not set(map(len, siblings)) <= {DIGEST_SIZE}:
        return None
    sha = hashlib.sha256
    known = {p: leaves[p] for p in sorted(leaves)}  # increasing positions; every level below keeps that order
    used, n_sib = 0, len(siblings)
    for d in range(depth):
        nxt: dict[int, bytes] = {}
        for p, node in known.items():
            parent = p >> 1
            if parent in nxt:
                continue
            sibling = known.get(p ^ 1)
            if sibling is None:
                if used == n_sib:
                    return None
                sibling = bytes(siblings[used])
                used += 1
            nxt[parent] = sha(sibling + node).digest() if p & 1 else sha(node + sibling).digest()
        inject = (injections or {}).get(d + 1)
        if inject is not None:
            if inject.keys() != nxt.keys():
                return None
            nxt = {p: sha(v + inject[p]).digest() for p, v in nxt.items()}
        known = nxt
    return known[0] if used == n_sib else None


def leaf_digests(positions: Sequence[int], digests: Sequence[bytes]) -> dict[int, bytes] | None:
    """Position -> digest, or None when two openings of one position disagree (one of them would otherwise
    go unauthenticated)."""
    out: dict[int, bytes] = {}
    for p, d in zip(positions, digests):
        if out.setdefault(p, d) != d:
            return None
    return out
