"""The zk prover's kernels: the ChaCha20 keystream behind prng.Randomness, the randomised LDE and the evaluation
of polynomials longer than their coset block - C (every SIMD level, one and two threads) against the numpy
references, and the references against the definitions (published test vectors, quadratic evaluation)."""

from __future__ import annotations

import numpy as np
import pytest

from zkvm.field import babybear as bb, reference as ref
from zkvm.stark.backend import ntt, ntt_numpy
from zkvm.stark.proving import masks, prng
from zkvm.stark.verifying import zk

native = pytest.importorskip("zkvm.stark.backend._native", reason="native extension not built (run make setup)")
lib = native.lib
P = bb.P

# RFC 8439 section 2.3.2 (key 00..1f, 96-bit nonce 000000090000004a00000000, counter 1): in the 64-bit
# counter / 64-bit nonce layout used here that is block 1 | 0x09000000 << 32 of nonce 0x4a000000.
RFC_KEY = bytes(range(32))
RFC_NONCE, RFC_BLOCK = 0x4A000000, 1 | (0x09000000 << 32)
RFC_BLOCK_OUT = bytes.fromhex(
    "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
    "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e")
# the all-zero key and nonce, blocks 0 and 1 (RFC 8439 appendix A.1, vectors 1 and 2)
ZERO_STREAM = bytes.fromhex(
    "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
    "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
    "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
    "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f")


@pytest.mark.parametrize("impl", [prng.stream, prng.stream_numpy], ids=["api", "numpy"])
def test_chacha20_published_vectors(simd, impl):
    assert impl(RFC_KEY, RFC_NONCE, 64, RFC_BLOCK).tobytes() == RFC_BLOCK_OUT
    assert impl(bytes(32), 0, 128).tobytes() == ZERO_STREAM
    assert impl(bytes(32), 0, 64, 1).tobytes() == ZERO_STREAM[64:]
    assert impl(bytes(32), 0, 100).tobytes() == ZERO_STREAM[:100]  # a partial last block


@pytest.mark.parametrize("nbytes,block0", [(0, 0), (1, 0), (511, 3), (512, 0), (64 * 8 * 5 + 37, 7),
                                           (200_000, 0), (64 * 40, (1 << 32) - 13)])  # the counter's carry
def test_chacha20_native_matches_numpy(simd, threads, nbytes, block0):
    seed = nbytes + block0
    key = np.random.default_rng(seed).bytes(32)
    got = prng.stream(key, 12345, nbytes, block0)
    assert got.tobytes() == prng.stream_numpy(key, 12345, nbytes, block0).tobytes(), f"seed {seed}"


@pytest.mark.parametrize("count", [0, 1, 63, 64, 65, 1000, 70_001])
def test_field_elements_match_reference(simd, threads, count):
    key = np.random.default_rng(count).bytes(32)
    got = prng.field(key, 9, count)
    assert got.dtype == np.uint32 and got.shape == (count,)
    assert (got == prng.field_numpy(key, 9, count)).all(), f"seed {count}"
    raw = prng.stream_numpy(key, 9, 8 * count).view("<u8")
    assert [int(v) for v in got[:50]] == [int(v) % P for v in raw[:50]]


def test_chacha20_rejects_bad_keys_and_nonces():
    for bad in (b"", bytes(31), bytes(33)):
        with pytest.raises(ValueError):
            prng.stream(bad, 0, 10)
    with pytest.raises(ValueError):
        prng.field(bytes(32), 1 << 64, 10)
    with pytest.raises(ValueError):
        prng.field(bytes(32), -1, 10)


def test_randomness_draws_are_fresh_and_seeds_reproducible():
    a, b = prng.Randomness(test_seed=5), prng.Randomness(test_seed=5)
    fa, fb = a.field((1000, 3)), b.field((1000, 3))
    assert fa.shape == (1000, 3) and (fa == fb).all() and int(fa.max()) < P
    sa = a.salts(500)
    assert sa.shape == (500, zk.SALT_BYTES) and sa.dtype == np.uint8 and sa.flags.writeable
    assert (sa == b.salts(500)).all()
    # each draw is a new stream: no two draws (nor two unseeded instances) share bytes
    assert not (a.field((1000, 3)) == fa).all()
    assert not (prng.Randomness().salts(64) == prng.Randomness().salts(64)).all()
    # every byte value of the salts appears about equally often (a broken keystream would not)
    counts = np.bincount(prng.Randomness(test_seed=6).salts(1 << 14).reshape(-1), minlength=256)
    expect = (1 << 18) / 256
    chi2 = float(((counts - expect) ** 2 / expect).sum())
    assert chi2 < 400, f"chi-square {chi2} over 255 degrees of freedom (seed 6)"  # p < 1e-7 for a uniform source


def slow_eval(coeffs: list[list[int]], points: list[int]) -> np.ndarray:
    return np.array([[ref.poly_eval(col, x) for col in coeffs] for x in points], dtype=np.uint32)


def coset(log_size: int) -> list[int]:
    w = bb.two_adic_root(log_size)
    return [bb.GENERATOR * pow(w, i, P) % P for i in range(1 << log_size)]


def test_references_match_the_definitions():
    seed = 31
    rng = np.random.default_rng(seed)
    n, w, lb, k = 4, 2, 3, 9  # k > n: the randomiser wraps past the trace length
    cols = rng.integers(0, P, (n, w), dtype=np.uint32)
    r = rng.integers(0, P, (k, w), dtype=np.uint32)
    f = ntt_numpy.interpolate(cols)
    poly = []  # f + X^n r - r, per column, as Python ints
    for c in range(w):
        p = [int(v) for v in f[:, c]] + [0] * k
        for j in range(k):
            p[j] = (p[j] - int(r[j, c])) % P
            p[n + j] = (p[n + j] + int(r[j, c])) % P
        poly.append(p)
    expect = slow_eval(poly, coset(2 + lb))
    assert (ntt_numpy.lde_randomised(cols, r, lb, bb.GENERATOR) == expect).all(), f"seed {seed}"
    assert (ntt.lde_randomised(cols, r, lb) == expect).all(), f"seed {seed}"
    long = np.array(poly, dtype=np.uint32).T.copy()  # n + k = 13 coefficient rows, blocks of 4
    assert (ntt_numpy.evaluate_wrapped(long, 2, lb, bb.GENERATOR) == expect).all(), f"seed {seed}"
    assert (ntt.evaluate_wrapped(long, 2, lb) == expect).all(), f"seed {seed}"


@pytest.mark.parametrize("log_n,w,lb,k", [(2, 3, 5, 88), (3, 1, 4, 9), (4, 5, 2, 3), (6, 7, 1, 64), (8, 40, 2, 88),
                                          (10, 70, 2, 88), (11, 16, 1, 1), (12, 100, 2, 45)])
def test_randomised_lde_native_matches_numpy(simd, threads, log_n, w, lb, k):
    seed = log_n * 1000 + w * 10 + k
    rng = np.random.default_rng(seed)
    cols = rng.integers(0, P, (1 << log_n, w), dtype=np.uint32)
    r = rng.integers(0, P, (k, w), dtype=np.uint32)
    expect = ntt_numpy.lde_randomised(cols, r, lb, bb.GENERATOR)
    assert (ntt.lde_randomised(cols, r, lb) == expect).all(), f"seed {seed}"
    out = np.empty_like(expect)
    assert ntt.lde_randomised(cols, r, lb, out=out) is out and (out == expect).all(), f"seed {seed}"
    # no randomiser: exactly the plain LDE
    assert (ntt.lde_randomised(cols, r[:0], lb) == ntt.lde(cols, lb)).all(), f"seed {seed}"


@pytest.mark.parametrize("log_n,w,lb", [(0, 2, 3), (3, 4, 2), (6, 8, 2), (10, 12, 2), (12, 4, 1), (9, 3, 4)])
def test_evaluate_wrapped_native_matches_numpy(simd, threads, log_n, w, lb):
    n = 1 << log_n
    for length in sorted({1, n, n + 1, n + n // 64 + 3, 2 * n, 3 * n + 5, n << lb}):
        if length > n << lb:
            continue
        seed = log_n * 100_000 + length
        c = np.random.default_rng(seed).integers(0, P, (length, w), dtype=np.uint32)
        expect = ntt_numpy.evaluate_wrapped(c, log_n, lb, bb.GENERATOR)
        assert (ntt.evaluate_wrapped(c, log_n, lb) == expect).all(), f"seed {seed} length {length}"


def test_zk_helpers_give_the_old_construction():
    """randomised_lde / evaluate_long are the polynomials the zk docstring defines (interpolate, add Z_H·r,
    evaluate the whole thing), whatever kernel computes them."""
    seed = 77
    plan = zk.TablePlan(log_ext=1, trace_mask=20, quot_mask=7, chunk_len=40, chunks=3)
    trace = np.random.default_rng(seed).integers(0, P, (32, 5), dtype=np.uint32)
    lde, r = masks.randomised_lde(trace, 5, plan, 2, prng.Randomness(test_seed=seed))
    assert r.shape == (20, 5) and lde.shape == (32 << 3, 5)
    coeffs = ntt.interpolate(lde, bb.GENERATOR).astype(np.int64)
    f = ntt.interpolate(trace).astype(np.int64)
    expect = np.zeros_like(coeffs)
    expect[:32] = f
    expect[:20] -= r
    expect[32:52] += r
    assert ((coeffs - expect) % P == 0).all(), f"seed {seed}"
    quot = np.random.default_rng(seed + 1).integers(0, P, (100, 4), dtype=np.uint32)
    chunks = masks.split_quotient(quot, plan, prng.Randomness(test_seed=seed))
    evals = masks.evaluate_long(np.concatenate(chunks, axis=1), 5, 2)
    for i, ch in enumerate(chunks):
        back = ntt.interpolate(evals[:, 4 * i:4 * i + 4], bb.GENERATOR)
        assert (back[:47] == ch).all() and not back[47:].any(), f"seed {seed} chunk {i}"
    total = np.zeros((160, 4), dtype=np.int64)
    for i, ch in enumerate(chunks):
        total[40 * i:40 * i + 47] += ch
    assert ((total[:100] - quot) % P == 0).all() and (total[100:] % P == 0).all(), f"seed {seed}"


def test_bad_arguments_are_refused():
    a = np.zeros((8, 2), dtype=np.uint32)
    with pytest.raises(ValueError):
        ntt.lde_randomised(a, np.zeros((3, 3), dtype=np.uint32), 1)  # width mismatch
    with pytest.raises(ValueError):
        ntt.lde_randomised(a, np.zeros((9, 2), dtype=np.uint32), 0)  # n + k beyond the domain
    with pytest.raises(ValueError):
        ntt.evaluate_wrapped(np.zeros((17, 2), dtype=np.uint32), 3, 1)  # 17 coefficients, 16 points
    out = np.zeros((16, 2), dtype=np.uint32)
    ptr = native.ffi.cast("uint32_t *", a.ctypes.data)
    optr = native.ffi.cast("uint32_t *", out.ctypes.data)
    assert lib.zk_evaluate_wrapped(ptr, 4, optr, 8, 2, 1, 31) == -1   # fewer rows than the block
    assert lib.zk_evaluate_wrapped(ptr, 8, optr, 6, 2, 1, 31) == -1   # block not a power of two
    assert lib.zk_evaluate_wrapped(ptr, 9, optr, 4, 2, 1, 31) == -1   # 9 coefficients, 8 points
    assert lib.zk_lde_randomised(ptr, optr, 8, 2, 1, 31, native.ffi.NULL, 3) == -1  # k rows, no pointer
    assert lib.zk_lde_randomised(ptr, optr, 8, 2, 26, 31, ptr, 1) == -1  # beyond the two-adicity


def test_randomised_lde_with_streaming_stores_and_unreduced_input():
    seed = 909
    rng = np.random.default_rng(seed)
    cols = rng.integers(0, 2**32, (1 << 11, 24), dtype=np.uint32)  # not canonical: reduced on the way in
    long = rng.integers(0, 2**32, (3000, 24), dtype=np.uint32)
    r = rng.integers(0, P, (88, 24), dtype=np.uint32)
    old = lib.zk_ntt_set_stream_threshold(0)
    try:
        got = ntt.lde_randomised(cols, r, 2)
        got_long = ntt.evaluate_wrapped(long, 11, 2)
    finally:
        lib.zk_ntt_set_stream_threshold(old)
    assert (got == ntt_numpy.lde_randomised(cols % P, r, 2, bb.GENERATOR)).all(), f"seed {seed}"
    assert (got_long == ntt_numpy.evaluate_wrapped(long % P, 11, 2, bb.GENERATOR)).all(), f"seed {seed}"


def test_salt_stream_regenerates_exactly_the_materialised_salts():
    n = 1000
    stored = prng.Randomness(test_seed=8).salts(n)
    stream = prng.Randomness(test_seed=8).salt_stream(n)
    assert stream.shape == (n, zk.SALT_BYTES) and len(stream) == n
    assert (np.asarray(stream) == stored).all()
    for b, e in [(0, 0), (0, 1), (1, 2), (3, 9), (4, 8), (5, 1000), (999, 1000)]:  # unaligned to 4-salt blocks
        assert (stream.rows(b, e) == stored[b:e]).all(), (b, e)
        assert (stream[b:e] == stored[b:e]).all(), (b, e)
    assert (stream[7] == stored[7]).all() and (stream[-1] == stored[-1]).all()
    for bad in [(-1, 3), (3, 2), (0, n + 1)]:
        with pytest.raises(IndexError):
            stream.rows(*bad)
    with pytest.raises(IndexError):
        stream[0:10:2]
    # single salts in random order, over more windows than the stream caches (exercises eviction)
    big_n, seed = 6000, 12
    big_stored = prng.Randomness(test_seed=seed).salts(big_n)
    big = prng.Randomness(test_seed=seed).salt_stream(big_n)
    order = np.random.default_rng(seed).permutation(big_n)
    got = np.array([big[int(i)] for i in order])
    assert (got == big_stored[order]).all(), f"seed {seed}"
    first = big[int(order[-1])]  # its window is cached now
    first[0] ^= 1  # returned salts are copies: the cache is not mutated through them
    assert (big[int(order[-1])] == big_stored[order[-1]]).all()


@pytest.mark.parametrize("build", ["native", "hashlib"])
def test_merkle_tree_with_regenerated_salts_equals_stored_salts(build, monkeypatch):
    from zkvm.stark.proving import merkle

    if build == "hashlib":
        monkeypatch.setattr(merkle, "_native", None)
    seed = 21
    n = 1 << 9 if build == "hashlib" else 1 << 17  # several build chunks natively
    rows = np.random.default_rng(seed).integers(0, P, (n, 5), dtype=np.uint32)
    stored = merkle.MerkleTree(rows, prng.Randomness(test_seed=seed).salts(n))
    lazy = merkle.MerkleTree(rows, prng.Randomness(test_seed=seed).salt_stream(n))
    assert lazy.root == stored.root, f"seed {seed}"
    idx = [0, 1, 5, n // 2 + 3, n - 1]
    assert lazy.open(idx) == stored.open(idx)
    assert [lazy.leaf_digest(i) for i in idx] == [stored.leaf_digest(i) for i in idx]
    other = merkle.MerkleTree(rows, prng.Randomness(test_seed=seed + 1).salt_stream(n))
    assert other.root != stored.root  # the salts are hashed in


@pytest.mark.parametrize("build", ["native", "hashlib"])
def test_mixed_tree_with_regenerated_salts_equals_stored_salts(build, monkeypatch):
    from zkvm.stark.proving import merkle

    if build == "hashlib":
        monkeypatch.setattr(merkle, "_native", None)
    seed = 22
    rng = np.random.default_rng(seed)
    top = 1 << 8 if build == "hashlib" else 1 << 17  # several build chunks natively
    mats = [rng.integers(0, P, (h, w), dtype=np.uint32) for h, w in [(top, 3), (top // 4, 2), (4, 5)]]
    stored = merkle.MixedMerkleTree(mats, prng.Randomness(test_seed=seed).salts(top))
    lazy = merkle.MixedMerkleTree(mats, prng.Randomness(test_seed=seed).salt_stream(top))
    assert lazy.root == stored.root, f"seed {seed}"
    queries = [0, 1, 7, top // 2 + 5, top - 1]
    assert [lazy.open(q) for q in queries] == [stored.open(q) for q in queries], f"seed {seed}"
    assert lazy.multi_open(queries) == stored.multi_open(queries)
    other = merkle.MixedMerkleTree(mats, prng.Randomness(test_seed=seed + 1).salt_stream(top))
    assert other.root != stored.root  # the salts are hashed in
