"""Merkle trees (C or hashlib build) against a from-scratch pure-Python tree, and path verification."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from zkvm.stark.proving.merkle import MerkleTree
from zkvm.stark.verifying.merkle import leaf_hash, verify_path


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
    from zkvm.stark.proving import merkle

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


# ---------------------------------------------------------------- mixed-height trees

def python_mixed_root(mats: list[np.ndarray], salts: np.ndarray | None) -> bytes:
    """From-scratch root of the mixed-tree encoding documented in merkle_verify (no code shared with it)."""
    top = max(m.shape[0] for m in mats).bit_length() - 1
    heights = sorted({m.shape[0] for m in mats}, reverse=True)

    def rev(x: int, bits: int) -> int:
        return sum(((x >> b) & 1) << (bits - 1 - b) for b in range(bits))

    def group(h: int, pos: int, g: int) -> bytes:
        bits = h.bit_length() - 1
        data = b"".join(int(v).to_bytes(4, "little") for m in mats if m.shape[0] == h for v in m[rev(pos, bits)])
        if salts is not None and g == 0:  # only the leaves are salted
            data += bytes(salts[pos].tolist())
        return hashlib.sha256(data).digest()

    level = [group(heights[0], i, 0) for i in range(1 << top)]
    for d in range(1, top + 1):
        level = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
        h = 1 << (top - d)
        if h in heights:
            g = heights.index(h)
            level = [hashlib.sha256(node + group(h, i, g)).digest() for i, node in enumerate(level)]
    return level[0]


def _random_mixed(seed: int, salted: bool):
    rng = np.random.default_rng(seed)
    top = int(rng.integers(0, 8))
    # one matrix of each height 2^top .. 2^0, plus a few random extra ones (same heights share a leaf)
    log_heights = list(range(top, -1, -1)) + [int(rng.integers(0, top + 1)) for _ in range(int(rng.integers(0, 4)))]
    rng.shuffle(log_heights)
    mats = [rng.integers(0, 2**31, (1 << lh, int(rng.integers(1, 7))), dtype=np.uint32) for lh in log_heights]
    salts = rng.integers(0, 256, (1 << top, 16), dtype=np.uint8) if salted else None
    return rng, mats, salts


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("salted", [False, True])
def test_mixed_tree_matches_python_and_pure_verifier(seed, salted, monkeypatch):
    from zkvm.stark.proving import merkle
    from zkvm.stark.proving.merkle import MixedMerkleTree
    from zkvm.stark.verifying.merkle import mixed_root

    rng, mats, salts = _random_mixed(seed, salted)
    tree = MixedMerkleTree(mats, salts)
    assert tree.root == python_mixed_root(mats, salts), f"seed {seed}"
    log_heights = [m.shape[0].bit_length() - 1 for m in mats]
    top = max(log_heights)
    for q in sorted(set(rng.integers(0, 4 << top, 6).tolist()) | {0, (1 << top) - 1}):
        rows, s, path = tree.open(q)
        assert rows == [m[q % m.shape[0]].tolist() for m in mats], f"seed {seed} query {q}"
        assert len(path) == top and len(s) == (16 if salted else 0)
        assert mixed_root(log_heights, q, rows, s, path) == tree.root, f"seed {seed} query {q}"
    monkeypatch.setattr(merkle, "_native", None)  # the hashlib build gives the same tree
    assert MixedMerkleTree(mats, salts).root == tree.root, f"seed {seed}"


@pytest.mark.parametrize("seed", range(4))
def test_mixed_tree_rejects_wrong_index_row_salt_sibling(seed):
    from zkvm.stark.proving.merkle import MixedMerkleTree
    from zkvm.stark.verifying.merkle import mixed_root

    rng, mats, salts = _random_mixed(100 + seed, True)
    while max(m.shape[0] for m in mats) < 4:  # need a path and two distinct rows
        rng, mats, salts = _random_mixed(int(rng.integers(1000, 10**6)), True)
    tree = MixedMerkleTree(mats, salts)
    log_heights = [m.shape[0].bit_length() - 1 for m in mats]
    top = max(log_heights)
    q = int(rng.integers(0, 1 << top))
    rows, s, path = tree.open(q)
    assert mixed_root(log_heights, q, rows, s, path) == tree.root
    flip = lambda b: bytes([b[0] ^ 1]) + b[1:]  # noqa: E731
    assert mixed_root(log_heights, q ^ 1, rows, s, path) != tree.root, f"seed {seed}: wrong index accepted"
    for m in range(len(mats)):  # a row of every matrix (every height)
        bad = [list(r) for r in rows]
        bad[m][0] ^= 1
        assert mixed_root(log_heights, q, bad, s, path) != tree.root, f"seed {seed}: matrix {m} row accepted"
    assert mixed_root(log_heights, q, rows, flip(s), path) != tree.root, f"seed {seed}: salt accepted"
    assert mixed_root(log_heights, q, rows, s[:-1], path) != tree.root, f"seed {seed}: short salt accepted"
    for d in range(top):
        bad_p = list(path)
        bad_p[d] = flip(bad_p[d])
        assert mixed_root(log_heights, q, rows, s, bad_p) != tree.root, f"seed {seed}: sibling {d} accepted"
    # malformed shapes give None, never an exception
    assert mixed_root(log_heights, q, rows[:-1], s, path) is None
    assert mixed_root(log_heights, q, rows, s, path[:-1]) is None


def test_mixed_tree_argument_checks():
    from zkvm.stark.proving.merkle import MixedMerkleTree

    with pytest.raises(ValueError):
        MixedMerkleTree([])
    with pytest.raises(ValueError):
        MixedMerkleTree([np.zeros((3, 2), dtype=np.uint32)])
    with pytest.raises(ValueError):  # one salt per leaf of the tallest height
        MixedMerkleTree([np.zeros((4, 2), dtype=np.uint32), np.zeros((2, 1), dtype=np.uint32)],
                        np.zeros((2, 16), dtype=np.uint8))


# ---------------------------------------------------------------- merged paths (all queries of a tree at once)

@pytest.mark.parametrize("seed", range(8))
def test_multiproof_single_matrix_tree(seed):
    from zkvm.stark.verifying.merkle import leaf_digests, multiproof_nodes, multiproof_root

    rng = np.random.default_rng(500 + seed)
    log_n = int(rng.integers(0, 11))
    n = 1 << log_n
    rows = rng.integers(0, 2**31, (n, 3), dtype=np.uint32)
    salts = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    tree = MerkleTree(rows, salts)
    idx = rng.integers(0, n, int(rng.integers(1, 12))).tolist()  # repeats allowed
    sibs = tree.multi_open(idx)
    # never more than the separate paths, and nothing a query's own path already gives
    assert len(sibs) == len(multiproof_nodes(idx, log_n)) <= log_n * len(set(idx)), f"seed {seed}"
    digests = [leaf_hash(rows[i], salts[i].tobytes()) for i in idx]
    leaves = leaf_digests(idx, digests)
    assert multiproof_root(log_n, leaves, sibs) == tree.root, f"seed {seed}"
    if sibs:
        assert multiproof_root(log_n, leaves, sibs[:-1]) is None, f"seed {seed}: short path accepted"
        assert multiproof_root(log_n, leaves, sibs + [sibs[0]]) is None, f"seed {seed}: long path accepted"
        for k in range(len(sibs)):
            bad = list(sibs)
            bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
            assert multiproof_root(log_n, leaves, bad) != tree.root, f"seed {seed}: sibling {k} accepted"
    wrong = dict(leaves)
    i0 = idx[0]
    wrong[i0] = leaf_hash(rows[i0] ^ 1, salts[i0].tobytes())
    assert multiproof_root(log_n, wrong, sibs) != tree.root, f"seed {seed}: wrong row accepted"
    # two openings of one leaf that disagree are refused outright
    assert leaf_digests([i0, i0], [digests[0], leaf_hash(rows[i0] ^ 1)]) is None


@pytest.mark.parametrize("seed", range(8))
def test_multiproof_mixed_tree(seed):
    from zkvm.stark.proving.merkle import MixedMerkleTree
    from zkvm.stark.verifying.merkle import mixed_multi_root

    rng, mats, salts = _random_mixed(700 + seed, bool(seed % 2))
    tree = MixedMerkleTree(mats, salts)
    log_heights = [m.shape[0].bit_length() - 1 for m in mats]
    top = max(log_heights)
    queries = rng.integers(0, 4 << top, int(rng.integers(1, 10))).tolist()
    queries += queries[:1]  # a repeated query
    opened = [tree.open_rows(q) for q in queries]
    rows, qsalts = [o[0] for o in opened], [o[1] for o in opened]
    sibs = tree.multi_open(queries)
    assert mixed_multi_root(log_heights, queries, rows, qsalts, sibs) == tree.root, f"seed {seed}"
    assert len(sibs) <= top * len(set(queries)), f"seed {seed}"
    # the repeated query's second opening differs from its first: refused
    bad_rows = [list(map(list, r)) for r in rows]
    bad_rows[-1][0][0] ^= 1
    assert mixed_multi_root(log_heights, queries, bad_rows, qsalts, sibs) is None, f"seed {seed}"
    if sibs:
        assert mixed_multi_root(log_heights, queries, rows, qsalts, sibs[:-1]) is None, f"seed {seed}"


def test_fixed_commitment_cache_round_trip(tmp_path):
    """A fixed commitment loaded from the prover's cache equals a fresh one (digest, LDEs, openings); a damaged
    cache file is ignored and rebuilt."""
    import numpy as np

    from zkvm.stark.dsl.air import Air, Table
    from zkvm.stark.proving.prover import commit_fixed_data

    t = Table("t")
    x = t.fixed("x")
    t.always("x_zero_or_one", x * (x - 1))
    air = Air("cache-test", [t])
    rng = np.random.default_rng(5)
    fixed = {"t": rng.integers(0, 2, (256, 1)).astype(np.uint32)}
    fresh = commit_fixed_data(air, fixed)
    stored = commit_fixed_data(air, fixed, str(tmp_path))
    (path,) = list(tmp_path.iterdir())
    loaded = commit_fixed_data(air, fixed, str(tmp_path))
    for fc in (stored, loaded):
        assert fc.digest == fresh.digest
        assert np.array_equal(fc.ldes["t"], fresh.ldes["t"])
        assert fc.trees["t"].open([3, 77]) == fresh.trees["t"].open([3, 77])
    path.write_bytes(b"not an npz")
    assert commit_fixed_data(air, fixed, str(tmp_path)).digest == fresh.digest
