"""Merkle trees (C or hashlib build) against a from-scratch pure-Python tree, and path verification."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from zkvm.stark.merkle import MerkleTree
from zkvm.stark.merkle_verify import leaf_hash, verify_path


def python_tree_root(rows: np.ndarray, salts: np.ndarray | None) -> tuple[bytes, list[list[bytes]]]:
    level = []
    for i, row in enumerate(rows):
        data = b"".join(int(v).to_bytes(4, "little") for v in row)
        if salts is not None:
            data += bytes(salts[i].tolist())
        level.append(hashlib.sha256(data).digest())
    levels = [level]
    while len(level) > 1:
        level = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
        levels.append(level)
    return level[0], levels


@pytest.mark.parametrize("log_n,w,k", [(0, 1, 0), (1, 3, 0), (3, 4, 16), (7, 64, 0), (9, 13, 7), (10, 1, 32)])
def test_tree_matches_python(log_n, w, k):
    seed = log_n * 100 + w * 10 + k
    rng = np.random.default_rng(seed)
    n = 1 << log_n
    rows = rng.integers(0, 2**32, (n, w), dtype=np.uint32)
    salts = rng.integers(0, 256, (n, k), dtype=np.uint8) if k else None
    tree = MerkleTree(rows, salts)
    root, levels = python_tree_root(rows, salts)
    assert tree.root == root, f"seed {seed}"
    indices = sorted(set(rng.integers(0, n, 8).tolist())) + [0, n - 1]
    for i, path in zip(indices, tree.open(indices)):
        assert path == [levels[d][(i >> d) ^ 1] for d in range(log_n)], f"seed {seed} index {i}"
        salt = salts[i].tobytes() if salts is not None else b""
        leaf = leaf_hash(rows[i], salt)
        assert leaf == levels[0][i]
        assert verify_path(tree.root, leaf, i, path, log_n)


def test_verify_path_rejects_tampering():
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 2**32, (16, 4), dtype=np.uint32)
    tree = MerkleTree(rows)
    leaf = leaf_hash(rows[5])
    path = tree.open([5])[0]
    assert verify_path(tree.root, leaf, 5, path, 4)
    assert not verify_path(tree.root, leaf, 4, path, 4)  # wrong position
    assert not verify_path(tree.root, leaf, 5 + 16, path)  # index outside the tree
    assert not verify_path(tree.root, leaf, 5, path, 3)  # wrong depth
    assert not verify_path(tree.root, leaf_hash(rows[6]), 5, path, 4)  # wrong leaf
    for d in range(4):
        bad = list(path)
        bad[d] = bytes([bad[d][0] ^ 1]) + bad[d][1:]
        assert not verify_path(tree.root, leaf, 5, bad, 4)
    assert not verify_path(tree.root, leaf, 5, path[:-1] + [b"short"], 4)
    assert not verify_path(tree.root, leaf, -1, path, 4)
    salts = np.zeros((16, 4), dtype=np.uint8)
    assert MerkleTree(rows, salts).root != tree.root  # the salt is hashed


def test_bad_shapes_rejected():
    with pytest.raises(ValueError):
        MerkleTree(np.zeros((3, 2), dtype=np.uint32))
    with pytest.raises(ValueError):
        MerkleTree(np.zeros((4, 2), dtype=np.uint32), np.zeros((2, 4), dtype=np.uint8))
    with pytest.raises(IndexError):
        MerkleTree(np.zeros((4, 2), dtype=np.uint32)).open([4])


def test_verify_path_never_raises_on_junk():
    tree = MerkleTree(np.arange(16, dtype=np.uint32).reshape(8, 2))
    leaf = leaf_hash(np.array([0, 1]))
    path = tree.open([0])[0]
    assert verify_path(tree.root, leaf, 0, path, 3)
    junk = [None, "x" * 32, 3.5, [1, 2], b"", object()]
    for j in junk:
        assert not verify_path(j, leaf, 0, path, 3)
        assert not verify_path(tree.root, j, 0, path, 3)
        assert not verify_path(tree.root, leaf, j, path, 3)
        assert not verify_path(tree.root, leaf, 0, j, 3)
        assert not verify_path(tree.root, leaf, 0, [j] + path[1:], 3)
        if j is not None:
            assert not verify_path(tree.root, leaf, 0, path, j)
    assert not verify_path(tree.root, leaf, True, path, 3)


@pytest.mark.parametrize("chunk,unstored", [(1, 1), (2, 1), (8, 1), (64, 1), (1, 4), (2, 3), (8, 4), (64, 2),
                                            (64, 9), (1 << 16, 4)])
def test_chunked_build_and_rehashed_leaves(monkeypatch, chunk, unstored):
    """The tree is hashed one chunk of leaves at a time and the lowest levels are rehashed at open(): both
    must give the from-scratch tree's root and paths across chunk boundaries."""
    from zkvm.stark import merkle

    monkeypatch.setattr(merkle, "_CHUNK", chunk)
    monkeypatch.setattr(merkle, "_UNSTORED_LEVELS", unstored)
    seed = 40 + chunk + 1000 * unstored
    rng = np.random.default_rng(seed)
    for n, w, k in [(1, 2, 0), (2, 3, 5), (64, 5, 7), (256, 1, 0)]:
        rows = rng.integers(0, 2**31, (n, w), dtype=np.uint32)
        salts = rng.integers(0, 256, (n, k), dtype=np.uint8) if k else None
        tree = MerkleTree(rows, salts)
        root, levels = python_tree_root(rows, salts)
        assert tree.root == root, f"seed {seed} n {n}"
        assert [[x.tobytes() for x in lvl] for lvl in tree.levels] == levels, f"seed {seed} n {n}"
        indices = list(range(n))
        for i, path in zip(indices, tree.open(indices)):
            assert path == [levels[d][(i >> d) ^ 1] for d in range(tree.depth)], f"seed {seed} n {n} index {i}"
            assert tree.leaf_digest(i) == levels[0][i], f"seed {seed} n {n} index {i}"
