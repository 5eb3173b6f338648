"""Merkle leaf hashing and authentication-path checking in pure hashlib: the verifier's side of
:mod:`zkvm.stark.merkle` (which builds the trees in C). No compiled extension is imported here.

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
#   ``salt_d(i)`` is that node's salt (zk; empty otherwise);
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


def mixed_root(log_heights: Sequence[int], query: int, rows: Sequence[Sequence[int]], salts: Sequence[bytes],
               path: Sequence[bytes]) -> bytes | None:
    """Root recomputed from one opening: ``rows[m]`` = row ``query mod 2^log_heights[m]`` of matrix ``m``,
    ``salts`` one per group (leaves first; all empty without zk), ``path`` the sibling of every level from the
    leaves up. None when the opening's shape does not fit (caller checks shapes first anyway)."""
    if not log_heights or len(rows) != len(log_heights):
        return None
    top = max(log_heights)
    groups = mixed_groups(log_heights)
    if len(salts) != len(groups) or len(path) != top or any(len(s) != DIGEST_SIZE for s in path):
        return None
    by_level = {d: (mats, salt) for (d, mats), salt in zip(groups, salts)}
    pos = mixed_position(query, log_heights)
    mats, salt = by_level[0]
    node = group_hash([rows[m] for m in mats], salt)
    for d in range(1, top + 1):
        sibling = bytes(path[d - 1])
        node = node_hash(sibling, node) if (pos >> (d - 1)) & 1 else node_hash(node, sibling)
        if d in by_level:
            mats, salt = by_level[d]
            node = node_hash(node, group_hash([rows[m] for m in mats], salt))
    return node
