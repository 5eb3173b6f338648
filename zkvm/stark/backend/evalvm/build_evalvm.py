"""cffi builder for the prover's constraint VM (``zkvm.stark.backend._evalvm``). Portable C (no -march): the hot loops
are plain 64-bit modular arithmetic that gcc vectorises where it can; threads via the shared pthread helper.

Run from the repository root as ``python zkvm/stark/backend/evalvm/build_evalvm.py`` to build in place.
"""

from __future__ import annotations

import os
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
sys.path.insert(0, ROOT)  # cffi executes builders as files at install time, not as package modules
from zkvm.build_flags import build_in_place, extension_options  # noqa: E402
NATIVE = os.path.normpath(os.path.join(HERE, "..", "native"))
FIELD_DIR = os.path.join(ROOT, "zkvm", "field")

CDEF = """
int zk_num_threads(void);
void zk_set_num_threads(int n);
typedef struct { const uint32_t *base; size_t row_stride; size_t shift; } zk_src;
int zk_eval_program(const zk_src *srcs, int n_srcs, const int32_t *prog, int n_instr, int n_regs,
                    const int32_t *out_regs, const int32_t *out_kinds, const uint32_t *out_coeffs, int n_out,
                    const int32_t *raw_regs, int n_raw, size_t n_rows, size_t n_eval, uint32_t *acc,
                    uint32_t *raw);
int zk_base_dot_ext(const uint32_t *m, size_t n_rows, size_t w, size_t stride, const uint32_t *coeffs,
                    uint32_t *out);
int zk_weighted_col_sums(const uint32_t *m, size_t n_rows, size_t w, const uint32_t *weights, uint32_t *out);
int zk_grind(const uint8_t *prefix, size_t prefix_len, int bits, uint64_t max_iter, uint64_t *out);
int zk_ext_scalar_op(uint32_t *out, const uint32_t *a, const uint32_t s[4], size_t n, int op);
int zk_logup_quotient(const uint32_t *raw, int n_raw, size_t n_eval, const int32_t *its, int n_its,
                      const int32_t *group_sizes, int n_groups, const uint32_t *aux, size_t aux_stride,
                      size_t n_rows, size_t shift_cur, size_t shift_next, const uint32_t *alpha,
                      const uint32_t *betas, int n_betas, const uint32_t *fin, const uint32_t *lam,
                      uint32_t *acc);
int zk_logup_aux(const uint32_t *raw, int n_raw, size_t n, const int32_t *its, int n_its, const int32_t *group_sizes,
                 int n_groups, const uint32_t *alpha, const uint32_t *betas, int n_betas, uint32_t *out,
                 int *bad_it);
int zk_quotient_finish(const uint32_t *acc, size_t b, size_t r0, uint32_t x0, uint32_t omega, uint32_t g_last,
                       const uint32_t *zh_period, size_t blow, uint32_t *out);
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "zkvm.stark.backend._evalvm",
    '#include "evalvm.h"\n',
    sources=[os.path.join("zkvm", "stark", "backend", "evalvm", "evalvm.c"),
             os.path.join("zkvm", "stark", "backend", "native", "parallel.c"),
             os.path.join("zkvm", "stark", "backend", "native", "sha256.c")],
    include_dirs=[HERE, NATIVE, FIELD_DIR],
    depends=[os.path.join(HERE, "evalvm.c"), os.path.join(HERE, "evalvm.h"), os.path.join(NATIVE, "parallel.c"),
             os.path.join(NATIVE, "parallel.h"), os.path.join(NATIVE, "sha256.c"),
             os.path.join(NATIVE, "sha256.h"), os.path.join(FIELD_DIR, "field.h")],
    **extension_options(),
)

if __name__ == "__main__":
    sys.exit(build_in_place(ffibuilder))
