"""The compiled primitives (zkvm.stark.backend._native) against the numpy / hashlib / Python-int references, on every
SIMD path this CPU has (scalar, AVX2, AVX-512), with one and two threads, and with SHA-NI forced off."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from zkvm.field import babybear as bb, reference as ref

native = pytest.importorskip("zkvm.stark.backend._native", reason="native extension not built (run make setup)")
from zkvm.stark.backend import kernels, ntt, ntt_numpy  # noqa: E402
from zkvm.stark.proving.merkle import MerkleTree, _build_hashlib  # noqa: E402

lib, ffi = native.lib, native.ffi
P = bb.P


def ptr(a):
    return ffi.cast("uint32_t *", a.ctypes.data)


def test_constants_selftest():
    assert lib.zk_field_selftest() == 0


felts = st.lists(st.sampled_from([0, 1, 2, P - 1, P - 2, 2**30, 12345]) | st.integers(0, P - 1),
                 min_size=1, max_size=70)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(felts, st.randoms(use_true_random=False))
def test_base_kernels_match_numpy_and_reference(simd, values, rnd):
    a = np.array(values, dtype=np.uint32)
    b = np.array(rnd.sample(values, len(values)), dtype=np.uint32)
    out = np.empty_like(a)
    for c_fn, np_fn, ref_fn in [(lib.zk_vec_add, bb.add, ref.add), (lib.zk_vec_sub, bb.sub, ref.sub),
                                (lib.zk_vec_mul, bb.mul, ref.mul)]:
        c_fn(ptr(out), ptr(a), ptr(b), a.size)
        assert out.tolist() == np_fn(a, b).tolist() == [ref_fn(int(x), int(y)) for x, y in zip(a, b)]
    nz = a[a != 0].copy()
    inv = np.empty_like(nz)
    assert lib.zk_vec_inv(ptr(inv), ptr(nz), nz.size) == 0
    assert inv.tolist() == [ref.inv(int(x)) for x in nz]


exts = st.lists(st.tuples(*[st.integers(0, P - 1)] * 4), min_size=1, max_size=20)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exts, exts)
def test_ext_kernels_match_numpy_and_reference(simd, xs, ys):
    k = min(len(xs), len(ys))
    a = np.array(xs[:k], dtype=np.uint32)
    b = np.array(ys[:k], dtype=np.uint32)
    out = np.empty_like(a)
    lib.zk_ext_mul(ptr(out), ptr(a), ptr(b), k)
    assert [tuple(r) for r in out.tolist()] == [ref.ext_mul(x, y) for x, y in zip(xs, ys)]
    lib.zk_ext_add(ptr(out), ptr(a), ptr(b), k)
    assert out.tolist() == bb.ext_add(a, b).tolist()
    lib.zk_ext_sub(ptr(out), ptr(a), ptr(b), k)
    assert out.tolist() == bb.ext_sub(a, b).tolist()
    base = np.ascontiguousarray(b[:, 0])
    lib.zk_ext_mul_base(ptr(out), ptr(a), ptr(base), k)
    assert out.tolist() == bb.ext_mul_base(a, base).tolist()
    nz = a[a.any(axis=1)].copy()
    inv = np.empty_like(nz)
    assert lib.zk_ext_inv(ptr(inv), ptr(nz), nz.shape[0]) == 0
    assert inv.tolist() == bb.ext_inv(nz).tolist()


def test_inversions_report_zero():
    a = np.array([5, 0, 7] * 3000, dtype=np.uint32)
    with pytest.raises(ZeroDivisionError):
        kernels.batch_inv(a)
    e = np.ones((5000, 4), dtype=np.uint32)
    e[1234] = 0
    with pytest.raises(ZeroDivisionError):
        kernels.ext_batch_inv(e)


def test_kernels_api_large_and_broadcast(threads):
    seed = 99
    rng = np.random.default_rng(seed)
    a = rng.integers(0, P, (3000, 4), dtype=np.uint32)
    b = rng.integers(1, P, (3000, 4), dtype=np.uint32)
    s = rng.integers(1, P, 3000, dtype=np.uint32)
    assert (kernels.ext_mul(a, b) == bb.ext_mul(a, b)).all(), f"seed {seed}"
    assert (kernels.ext_mul(a, b[7]) == bb.ext_mul(a, b[7])).all()  # broadcast one element
    assert (kernels.ext_add(a, b) == bb.ext_add(a, b)).all()
    assert (kernels.ext_sub(a, b) == bb.ext_sub(a, b)).all()
    assert (kernels.ext_mul_base(a, s) == bb.ext_mul_base(a, s)).all()
    assert (kernels.ext_batch_inv(b) == bb.ext_inv(b)).all()
    m = a.reshape(-1)
    assert (kernels.mul(m, m[::-1]) == bb.mul(m, m[::-1])).all()
    assert (kernels.add(m, 5) == bb.add(m, 5)).all()
    assert (kernels.sub(m, m[::-1]) == bb.sub(m, m[::-1])).all()
    assert (kernels.batch_inv(s) == bb.inv(s)).all()
    # polynomial evaluation at an extension point vs Horner on Python ints
    coeffs = rng.integers(0, P, (700, 5), dtype=np.uint32)
    z = tuple(int(v) for v in rng.integers(0, P, 4))
    got = kernels.poly_eval_ext(coeffs, z)
    assert (got == kernels._poly_eval_ext_numpy(coeffs, z)).all()
    for col in (0, 4):
        assert tuple(got[col].tolist()) == ref.ext_poly_eval([int(v) for v in coeffs[:, col]], z)


@pytest.mark.parametrize("log_n,w,log_blowup", [(0, 3, 2), (4, 7, 1), (12, 1, 1), (12, 5, 2), (11, 64, 2), (8, 1, 4), (6, 3, 5),
                                                 (12, 100, 1), (13, 16, 0)])
def test_ntt_paths_match_numpy(simd, threads, log_n, w, log_blowup):
    seed = log_n * 1000 + w * 10 + log_blowup
    rng = np.random.default_rng(seed)
    cols = rng.integers(0, P, (1 << log_n, w), dtype=np.uint32)
    coeffs = ntt_numpy.interpolate(cols)
    assert (ntt.interpolate(cols) == coeffs).all(), f"seed {seed}"
    assert (ntt.interpolate(cols, 7) == ntt_numpy.interpolate(cols, 7)).all(), f"seed {seed}"
    expect = ntt_numpy.evaluate(coeffs, log_blowup, bb.GENERATOR)
    assert (ntt.evaluate(coeffs, log_blowup, bb.GENERATOR) == expect).all(), f"seed {seed}"
    assert (ntt.lde(cols, log_blowup) == expect).all(), f"seed {seed}"


def test_ntt_streaming_stores_and_unreduced_input():
    seed = 4242
    rng = np.random.default_rng(seed)
    cols = rng.integers(0, 2**32, (1 << 11, 48), dtype=np.uint32)  # not canonical: reduced on the way in
    old = lib.zk_ntt_set_stream_threshold(0)
    try:
        got = ntt.lde(cols, 2)
        got_i = ntt.interpolate(cols)
    finally:
        lib.zk_ntt_set_stream_threshold(old)
    assert (got == ntt_numpy.lde(cols % P, 2, bb.GENERATOR)).all(), f"seed {seed}"
    assert (got_i == ntt_numpy.interpolate(cols % P)).all(), f"seed {seed}"


def test_ntt_rejects_bad_sizes():
    a = np.zeros((6, 2), dtype=np.uint32)
    out = np.zeros((24, 2), dtype=np.uint32)
    assert lib.zk_lde(ptr(a), ptr(out), 6, 2, 2, 31) == -1
    assert lib.zk_lde(ptr(a), ptr(out), 4, 2, 26, 31) == -1  # 2^28 is beyond the two-adicity
    assert lib.zk_interpolate(ptr(a), ptr(out), 4, 2, 0) == -1  # zero shift


def sha(data: bytes) -> bytes:
    out = ffi.new("uint8_t[32]")
    lib.zk_sha256(ffi.from_buffer(data), len(data), out)
    return bytes(out)


@pytest.fixture(params=["auto", "portable"])
def sha_path(request):
    lib.zk_sha256_force_portable(1 if request.param == "portable" else 0)
    yield request.param
    lib.zk_sha256_force_portable(0)


def test_sha256_against_hashlib(sha_path):
    rng = np.random.default_rng(11)
    for n in list(range(0, 200)) + [447, 448, 511, 512, 513, 4096 + 17, 100_000]:
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert sha(data) == hashlib.sha256(data).digest(), f"len {n} path {sha_path}"
    if sha_path == "portable":
        assert lib.zk_sha256_force_portable(1) == 0  # really the fallback


def test_merkle_native_matches_hashlib(sha_path, threads):
    seed = 5
    rng = np.random.default_rng(seed)
    for n, w, k in [(1, 3, 0), (2, 64, 0), (1024, 13, 16), (4096, 64, 0), (512, 1, 32), (64, 5, 100), (8, 16, 1)]:
        rows = rng.integers(0, 2**32, (n, w), dtype=np.uint32)
        salts = rng.integers(0, 256, (n, k), dtype=np.uint8) if k else None
        tree = MerkleTree(rows, salts)
        levels = _build_hashlib(rows, salts)
        assert len(tree.levels) == len(levels)
        assert all((x == y).all() for x, y in zip(tree.levels, levels)), f"seed {seed} n {n} path {sha_path}"


def test_shani_used_when_available():
    assert lib.zk_sha256_force_portable(0) == lib.zk_sha256_has_shani()


@pytest.mark.parametrize("rows,w,period", [(5000, 3, 4), (1024, 300, 16), (37, 1, 1)])
def test_fma_rows_periodic(rows, w, period):
    seed = rows + w + period
    rng = np.random.default_rng(seed)
    acc = rng.integers(0, P, (rows, w), dtype=np.uint32)
    a = rng.integers(0, P, (rows, w), dtype=np.uint32)
    f = rng.integers(0, P, period, dtype=np.uint32)
    expect = bb.add(acc, bb.mul(a, f[np.arange(rows) % period][:, None]))
    got = kernels.fma_rows_periodic(acc.copy(), a, f)
    assert (got == expect).all(), f"seed {seed}"


def test_mixed_merkle_native_matches_hashlib(sha_path, threads, monkeypatch):
    """The C leaf gather/hash and compress kernels of the mixed-height tree against its hashlib build: heights
    beyond one C chunk of leaves, several matrices per height, salted leaves."""
    from zkvm.stark.proving import merkle

    seed = 9
    rng = np.random.default_rng(seed)
    shapes = [(17, 3), (17, 5), (12, 2), (3, 7), (0, 1)]
    mats = [rng.integers(0, 2**32, (1 << lh, w), dtype=np.uint32) for lh, w in shapes]
    salts = rng.integers(0, 256, (1 << 17, 16), dtype=np.uint8)
    native = merkle.MixedMerkleTree(mats, salts)
    monkeypatch.setattr(merkle, "_native", None)
    assert native.root == merkle.MixedMerkleTree(mats, salts).root, f"seed {seed} path {sha_path}"


def test_mixed_merkle_kernels_reject_bad_arguments():
    out = np.zeros((4, 32), dtype=np.uint8)
    mat = np.zeros((4, 2), dtype=np.uint32)
    ptrs = ffi.new("const uint32_t *[]", [ffi.cast("const uint32_t *", mat.ctypes.data)])
    widths = ffi.new("size_t[]", [2])
    dst = ffi.cast("uint8_t *", out.ctypes.data)
    assert lib.zk_mmcs_leaves(ptrs, widths, 1, 2, 0, 4, ffi.NULL, 0, dst) == 0
    assert lib.zk_mmcs_leaves(ptrs, widths, 1, 2, 1, 4, ffi.NULL, 0, dst) == -1  # past the level's end
    assert lib.zk_mmcs_leaves(ptrs, widths, 0, 2, 0, 4, ffi.NULL, 0, dst) == -1  # no matrix
    assert lib.zk_mmcs_leaves(ptrs, widths, 1, 40, 0, 4, ffi.NULL, 0, dst) == -1  # height out of range
    assert lib.zk_mmcs_leaves(ptrs, widths, 1, 2, 0, 4, ffi.NULL, 16, dst) == -1  # salt length, no salts
    assert lib.zk_merkle_compress(ffi.NULL, dst, 32, 1, dst) == -1
    assert lib.zk_merkle_compress(dst, dst, 16, 1, dst) == -1  # stride shorter than a digest
