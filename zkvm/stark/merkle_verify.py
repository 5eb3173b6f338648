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
