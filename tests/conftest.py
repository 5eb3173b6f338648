"""Fixtures shared by the tests of the compiled kernels (tests/test_native.py, tests/zk/test_zk_kernels.py), and
the test session's own verifier cache folder."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

# The verifier's AIR cache (zkvm/stark/verifying/air_cache.py) goes to a folder of this test process, never to the
# user's cache (subprocesses inherit it); tests of the cache itself set their own.
_CACHE = tempfile.mkdtemp(prefix="zkvm-test-cache-")
os.environ["ZKVM_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)

try:
    from zkvm.stark.backend import _native  # type: ignore[attr-defined]
except ImportError:  # the modules that use these fixtures skip themselves without the extension
    _native = None

#: every SIMD level up to the best this CPU supports (0 scalar, 1 AVX2, 2 AVX-512)
SIMD_LEVELS = list(range(_native.lib.zk_force_simd_level(-1) + 1)) if _native is not None else [0]


@pytest.fixture(params=SIMD_LEVELS, ids=lambda lv: ["scalar", "avx2", "avx512"][lv])
def simd(request):
    _native.lib.zk_force_simd_level(request.param)
    yield request.param
    _native.lib.zk_force_simd_level(-1)


@pytest.fixture(params=[1, 2], ids=lambda t: f"{t}thr")
def threads(request):
    _native.lib.zk_set_num_threads(request.param)
    yield request.param
    _native.lib.zk_set_num_threads(0)
