"""cffi builder for the STARK prover's native primitives: NTT/LDE, SHA-256 Merkle trees, field kernels, trace
assembly for the witness fill.

Portable by construction: compiled without -march, the SIMD/SHA-NI paths are per-function target attributes
selected at run time (``__builtin_cpu_supports``), so the same build runs on any x86-64 (and the scalar code
on anything gcc targets). Threads are plain pthreads (no OpenMP runtime needed).

Run from the repository root as ``python zkvm/stark/backend/native/build_native.py`` to build in place.
"""

from __future__ import annotations

import os
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
sys.path.insert(0, ROOT)  # cffi executes builders as files at install time, not as package modules
from zkvm.build_flags import build_in_place, extension_options  # noqa: E402
FIELD_DIR = os.path.normpath(os.path.join(ROOT, "zkvm", "field"))
SOURCES = ["parallel.c", "simd.c", "ntt.c", "sha256.c", "merkle.c", "kernels.c", "prng.c", "trace.c"]

CDEF = """
int zk_interpolate(const uint32_t *in, uint32_t *out, size_t n, size_t w, uint32_t shift);
int zk_evaluate(const uint32_t *coeffs, uint32_t *out, size_t n, size_t w, int log_blowup, uint32_t shift);
int zk_lde(const uint32_t *in, uint32_t *out, size_t n, size_t w, int log_blowup, uint32_t shift);
int zk_evaluate_wrapped(const uint32_t *coeffs, size_t len, uint32_t *out, size_t n, size_t w, int log_blowup,
                        uint32_t shift);
int zk_lde_randomised(const uint32_t *in, uint32_t *out, size_t n, size_t w, int log_blowup, uint32_t shift,
                      const uint32_t *r, size_t k);
size_t zk_ntt_set_stream_threshold(size_t bytes);
void zk_ntt_release_cache(void);

int zk_num_threads(void);
void zk_set_num_threads(int n);
int zk_simd_level(void);
int zk_force_simd_level(int level);

int zk_sha256_has_shani(void);
int zk_sha256_force_portable(int on);
void zk_sha256(const uint8_t *data, size_t len, uint8_t out[32]);
int zk_merkle_build(const uint32_t *rows, size_t n, size_t w, const uint8_t *salts, size_t salt_len,
                    uint8_t *nodes);
int zk_mmcs_leaves(const uint32_t *const *mats, const size_t *widths, size_t n_mats, int log_h, size_t first,
                   size_t count, const uint8_t *salts, size_t salt_len, uint8_t *out);
int zk_merkle_compress(const uint8_t *left, const uint8_t *right, size_t stride, size_t count, uint8_t *out);

int zk_chacha20_stream(const uint8_t key[32], uint64_t nonce, uint64_t block0, uint8_t *out, size_t nbytes);
int zk_chacha20_field(const uint8_t key[32], uint64_t nonce, uint32_t *out, size_t count);

int zk_field_selftest(void);
void zk_vec_add(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
void zk_vec_sub(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
void zk_vec_mul(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
int zk_vec_inv(uint32_t *out, const uint32_t *a, size_t n);
void zk_ext_add(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
void zk_ext_sub(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
void zk_ext_mul(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
void zk_ext_mul_base(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
int zk_ext_inv(uint32_t *out, const uint32_t *a, size_t n);
int zk_rows_fma_periodic(uint32_t *acc, const uint32_t *a, size_t rows, size_t w, const uint32_t *factors,
                         size_t period);
void zk_poly_eval_ext(const uint32_t *coeffs, size_t n, size_t w, const uint32_t z[4], uint32_t *out);

int zk_trace_rows(const int64_t *const *cols, size_t w, size_t n, size_t height, uint32_t *out);
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "zkvm.stark.backend._native",
    '#include "ntt.h"\n#include "parallel.h"\n#include "simd.h"\n#include "sha256.h"\n#include "merkle.h"\n'
    '#include "kernels.h"\n#include "prng.h"\n#include "trace.h"\n',
    # sources relative to the repository root: both setup.py and the __main__ block below run from there
    sources=[os.path.join("zkvm", "stark", "backend", "native", s) for s in SOURCES],
    include_dirs=[HERE, FIELD_DIR],
    depends=[os.path.join(HERE, s) for s in os.listdir(HERE) if s.endswith((".c", ".h"))]
    + [os.path.join(FIELD_DIR, "field.h")],
    **extension_options(),
)

if __name__ == "__main__":
    sys.exit(build_in_place(ffibuilder))
