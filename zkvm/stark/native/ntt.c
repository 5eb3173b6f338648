/* Cache-blocked radix-2 NTTs on row-major matrices.
 *
 * A butterfly combines two whole rows with one twiddle, so the inner loop runs over the w columns with
 * SIMD and a broadcast twiddle (simd.c). The log2(n) stages are split into a few passes; each pass gathers
 * groups of rows that only interact with each other during those stages (2^k rows at stride 2^e_lo, for
 * c consecutive offsets) into a small per-thread scratch buffer that fits in L2, runs its k stages there
 * and scatters the group back. So the matrix crosses main memory once per pass (2 passes for 2^20 x 64)
 * instead of once per stage, and the power-of-two strides never hit the same cache sets. Groups are
 * independent, so passes are split across threads. Gathering and scattering also carry the extra work
 * that would otherwise need separate sweeps: canonical reduction, bit-reversed reads/writes, per-row scaling.
 *
 * DIF (Gentleman-Sande) maps natural order to bit-reversed order, DIT (Cooley-Tukey) bit-reversed to
 * natural. Data stays in normal form; twiddles and scale factors are kept in Montgomery form so each
 * product costs one reduction.
 */
#include "ntt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "parallel.h"
#include "simd.h"

#define SCRATCH_BYTES (256u * 1024u) /* per-thread working set of one group: well inside a 1 MiB L2 */
#define MIN_RUN_WORDS 64u            /* gather at least this many consecutive words per row slot */

static inline size_t bit_reverse(size_t x, int bits) {
    uint32_t v = (uint32_t)x;
    v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
    v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
    v = ((v >> 4) & 0x0f0f0f0fu) | ((v & 0x0f0f0f0fu) << 4);
    v = ((v >> 8) & 0x00ff00ffu) | ((v & 0x00ff00ffu) << 8);
    v = (v >> 16) | (v << 16);
    return bits ? (size_t)(v >> (32 - bits)) : 0;
}

/* ------------------------------------------------------------------ twiddle tables (cached) */

/* tw[k] = root^k in Montgomery form for k < n/2, root = two_adic_root(log_n) or its inverse. */
static uint32_t *g_twiddles[2][28];
static pthread_mutex_t g_tw_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t two_adic_root(int log_n) {
    return bb_pow(BB_GENERATOR, (uint64_t)(BB_P - 1) >> log_n);
}

typedef struct {
    uint32_t *table;
    uint32_t base;    /* normal form */
    uint32_t start_m; /* table[0] (Montgomery) */
} powers_ctx;

/* table[i] = start * base^i (Montgomery form), filled in parallel chunks. */
static void powers_range(void *vctx, size_t b, size_t e) {
    powers_ctx *c = (powers_ctx *)vctx;
    uint32_t step_m = bb_to_mont(c->base);
    uint32_t cur = bb_mont_mul(c->start_m, bb_to_mont(bb_pow(c->base, b)));
    for (size_t i = b; i < e; i++) {
        c->table[i] = cur;
        cur = bb_mont_mul(cur, step_m);
    }
}

static void fill_powers(uint32_t *table, size_t count, uint32_t base, uint32_t start_m) {
    powers_ctx c = {table, base, start_m};
    zk_parallel_for(count, 1u << 14, powers_range, &c);
}

static const uint32_t *twiddles(int log_n, int inverse) {
    if (log_n < 1 || log_n > 27) return NULL;
    pthread_mutex_lock(&g_tw_lock);
    uint32_t *t = g_twiddles[inverse][log_n];
    if (!t) {
        size_t half = (size_t)1 << (log_n - 1);
        t = (uint32_t *)malloc(half * sizeof(uint32_t));
        if (t) {
            uint32_t root = two_adic_root(log_n);
            if (inverse) root = bb_inv(root);
            fill_powers(t, half, root, bb_to_mont(1));
            g_twiddles[inverse][log_n] = t;
        }
    }
    pthread_mutex_unlock(&g_tw_lock);
    return t;
}

/* table[p] = start * z^bitrev(p) (Montgomery form), p < 2^log_n: built by doubling, because
 * bitrev_{2m}(p) = 2 bitrev_m(p) and bitrev_{2m}(m + p) = 2 bitrev_m(p) + 1. */
static void fill_bitrev_powers(uint32_t *table, int log_n, uint32_t z, uint32_t start_m) {
    uint32_t sq[28];
    sq[0] = z;
    for (int i = 1; i < 28; i++) sq[i] = bb_mul(sq[i - 1], sq[i - 1]);
    table[0] = start_m;
    for (int level = log_n - 1, m = 1; level >= 0; level--, m *= 2) {
        uint32_t y = bb_to_mont(sq[level]);
        for (int p = 0; p < m; p++) table[m + p] = bb_mont_mul(table[p], y);
    }
}

/* ------------------------------------------------------------------ one blocked pass */

typedef struct {
    int log_n, dif;
    const uint32_t *tw;
    int e_lo, k;       /* stages with span exponents [e_lo, e_lo + k) */
    size_t c;          /* consecutive offsets gathered together */
    size_t w;
    const uint32_t *src;
    size_t src_pitch;
    int src_bitrev;    /* read global row rev(i) for row i */
    int src_reduce;    /* canonicalise values on the way in */
    const uint32_t *src_scale; /* Montgomery factor per source row index, or NULL */
    uint32_t *dst;
    size_t dst_pitch;
    int dst_bitrev;    /* write row i to rev(i) */
    const uint32_t *dst_scale; /* Montgomery factor per destination row index, or NULL */
    const zk_rowops *ops;
    int failed;
} pass_ctx;

static void pass_range(void *vctx, size_t b_begin, size_t b_end) {
    pass_ctx *ps = (pass_ctx *)vctx;
    const size_t w = ps->w, c = ps->c, rows = ((size_t)1 << ps->k) * c;
    uint32_t *scratch = (uint32_t *)aligned_alloc(64, ((rows * w * sizeof(uint32_t)) + 63) & ~(size_t)63);
    if (!scratch) {
        __atomic_store_n(&ps->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    const zk_rowops *ops = ps->ops;
    const size_t s_lo = (size_t)1 << ps->e_lo;
    const size_t bundles_per_hi = s_lo / c;
    const int log_n = ps->log_n;
    const size_t T = (size_t)1 << ps->k;

    for (size_t b = b_begin; b < b_end; b++) {
        const size_t hi = b / bundles_per_hi, r0 = (b % bundles_per_hi) * c;
        const size_t base = (hi << (ps->e_lo + ps->k)) + r0;
        /* gather */
        for (size_t t = 0; t < T; t++) {
            for (size_t r = 0; r < c; r++) {
                size_t i = base + t * s_lo + r;
                size_t si = ps->src_bitrev ? bit_reverse(i, log_n) : i;
                const uint32_t *srow = ps->src + si * ps->src_pitch;
                uint32_t *row = scratch + (t * c + r) * w;
                if (ps->src_scale) {
                    /* a Montgomery product is exact for any uint32 times a canonical factor: no reduce */
                    ops->scale(row, srow, w, ps->src_scale[si]);
                } else if (ps->src_reduce) {
                    for (size_t j = 0; j < w; j++) row[j] = bb_reduce32(srow[j]);
                } else {
                    memcpy(row, srow, w * sizeof(uint32_t));
                }
            }
        }
        /* k stages in scratch */
        for (int step = 0; step < ps->k; step++) {
            int le = ps->dif ? ps->k - 1 - step : step;  /* local span exponent */
            int e = ps->e_lo + le;                       /* global span exponent */
            int sh = log_n - 1 - e;                      /* twiddle = tw[j << sh], j = i mod 2^e */
            size_t ls = (size_t)1 << le;
            for (size_t tb = 0; tb < T; tb += 2 * ls) {
                for (size_t tt = 0; tt < ls; tt++) {
                    uint32_t *x = scratch + (tb + tt) * c * w;
                    uint32_t *y = x + ls * c * w;
                    size_t j0 = tt * s_lo + r0;
                    for (size_t r = 0; r < c; r++) {
                        uint32_t twm = ps->tw[(j0 + r) << sh];
                        if (ps->dif)
                            ops->dif(x + r * w, y + r * w, w, twm);
                        else
                            ops->dit(x + r * w, y + r * w, w, twm);
                    }
                }
            }
        }
        /* scatter */
        for (size_t t = 0; t < T; t++) {
            for (size_t r = 0; r < c; r++) {
                size_t i = base + t * s_lo + r;
                size_t di = ps->dst_bitrev ? bit_reverse(i, log_n) : i;
                uint32_t *drow = ps->dst + di * ps->dst_pitch;
                const uint32_t *row = scratch + (t * c + r) * w;
                if (ps->dst_scale)
                    ops->scale(drow, row, w, ps->dst_scale[di]);
                else
                    memcpy(drow, row, w * sizeof(uint32_t));
            }
        }
    }
    free(scratch);
}

typedef struct {
    const uint32_t *src;
    size_t src_pitch;
    int src_bitrev, src_reduce;
    const uint32_t *src_scale;
    uint32_t *dst;
    size_t dst_pitch;
    int dst_bitrev;
    const uint32_t *dst_scale;
} ntt_io;

/* Full NTT of n = 2^log_n rows (w columns). First pass reads via io.src..., last pass writes via io.dst...;
 * intermediate passes work in place in io.dst (so io.dst must not alias io.src unless both are identical
 * without bitrev). If dst_bitrev is set and there is more than one pass, `work` (n*w words) holds the
 * intermediate passes. */
static int run_ntt(int log_n, size_t w, int dif, const uint32_t *tw, ntt_io io, uint32_t *work) {
    const size_t n = (size_t)1 << log_n;
    const zk_rowops *ops = zk_ops();
    if (log_n == 0) { /* a single row: copy through with the requested transformations */
        pass_ctx ps = {0};
        ps.log_n = 0; ps.dif = dif; ps.tw = tw; ps.e_lo = 0; ps.k = 0; ps.c = 1; ps.w = w;
        ps.src = io.src; ps.src_pitch = io.src_pitch; ps.src_bitrev = 0; ps.src_reduce = io.src_reduce;
        ps.src_scale = io.src_scale; ps.dst = io.dst; ps.dst_pitch = io.dst_pitch; ps.dst_bitrev = 0;
        ps.dst_scale = io.dst_scale; ps.ops = ops;
        pass_range(&ps, 0, 1);
        return ps.failed ? -2 : 0;
    }
    size_t cg = 1;
    while (cg * w < MIN_RUN_WORDS) cg *= 2;
    size_t max_rows = SCRATCH_BYTES / (sizeof(uint32_t) * w * cg);
    int kmax = 1;
    while (((size_t)2 << kmax) <= max_rows) kmax++;
    int passes = (log_n + kmax - 1) / kmax;
    if (passes < 1) passes = 1;

    int done = 0;
    for (int p = 0; p < passes; p++) {
        int k = (log_n - done) / (passes - p);
        pass_ctx ps = {0};
        ps.log_n = log_n; ps.dif = dif; ps.tw = tw; ps.k = k; ps.w = w; ps.ops = ops;
        /* DIF walks span exponents downwards from log_n - 1, DIT upwards from 0 */
        ps.e_lo = dif ? log_n - done - k : done;
        size_t s_lo = (size_t)1 << ps.e_lo;
        ps.c = cg < s_lo ? cg : s_lo;
        int first = p == 0, last = p == passes - 1;
        uint32_t *inter = (io.dst_bitrev && passes > 1) ? work : io.dst;
        if (first) {
            ps.src = io.src; ps.src_pitch = io.src_pitch; ps.src_bitrev = io.src_bitrev;
            ps.src_reduce = io.src_reduce; ps.src_scale = io.src_scale;
        } else {
            ps.src = inter; ps.src_pitch = inter == work ? w : io.dst_pitch;
        }
        if (last) {
            ps.dst = io.dst; ps.dst_pitch = io.dst_pitch; ps.dst_bitrev = io.dst_bitrev;
            ps.dst_scale = io.dst_scale;
        } else {
            ps.dst = inter; ps.dst_pitch = inter == work ? w : io.dst_pitch;
        }
        size_t bundles = n / (((size_t)1 << k) * ps.c);
        size_t per_bundle = ((size_t)1 << k) * ps.c * w;
        size_t min_chunk = per_bundle >= (1u << 15) ? 1 : (1u << 15) / per_bundle;
        zk_parallel_for(bundles, min_chunk, pass_range, &ps);
        if (ps.failed) return -2;
        done += k;
    }
    return 0;
}

static int log2_exact(size_t n) {
    if (n == 0 || (n & (n - 1))) return -1;
    int l = 0;
    while (((size_t)1 << l) < n) l++;
    return l;
}

/* ------------------------------------------------------------------ public entry points */

int zk_interpolate(const uint32_t *in, uint32_t *out, size_t n, size_t w, uint32_t shift) {
    int log_n = log2_exact(n);
    if (log_n < 0 || log_n > 27 || w == 0 || shift % BB_P == 0) return -1;
    const uint32_t *tw = log_n ? twiddles(log_n, 1) : NULL;
    if (log_n && !tw) return -2;
    /* out[j] = n^-1 shift^-j * DIF(in)[bitrev(j)] */
    uint32_t *scale = (uint32_t *)malloc(n * sizeof(uint32_t));
    uint32_t *work = (uint32_t *)malloc(n * w * sizeof(uint32_t));
    if (!scale || !work) { free(scale); free(work); return -2; }
    fill_powers(scale, n, bb_inv(shift % BB_P), bb_to_mont(bb_inv((uint32_t)(n % BB_P))));
    ntt_io io = {in, w, 0, 1, NULL, out, w, 1, scale};
    int st = run_ntt(log_n, w, 1, tw, io, work);
    free(scale);
    free(work);
    return st;
}

/* Coefficients in bit-reversed row order (coef_br[p] = c_{bitrev(p)}, times the factor `pre`) -> evaluations
 * on shift * <omega_N>, N = n << log_blowup: for each r < 2^log_blowup, rows k*B + r of `out` receive the
 * size-n NTT of c_j (shift omega_N^r)^j. */
static int coset_evals_from_bitrev(const uint32_t *coef, int coef_bitrev_rows, uint32_t *out, int log_n, size_t w,
                                   int log_blowup, uint32_t shift, uint32_t pre) {
    size_t n = (size_t)1 << log_n, B = (size_t)1 << log_blowup;
    const uint32_t *tw = log_n ? twiddles(log_n, 0) : NULL;
    if (log_n && !tw) return -2;
    uint32_t *scale = (uint32_t *)malloc(n * sizeof(uint32_t));
    if (!scale) return -2;
    uint32_t omega_big = two_adic_root(log_n + log_blowup);
    uint32_t z = shift % BB_P;
    int st = 0;
    for (size_t r = 0; r < B && st == 0; r++) {
        /* source row s holds coefficient index bitrev(s) when coef is in bit-reversed order, else s */
        if (coef_bitrev_rows)
            fill_bitrev_powers(scale, log_n, z, bb_to_mont(pre));
        else
            fill_powers(scale, n, z, bb_to_mont(pre));
        ntt_io io = {coef, w, !coef_bitrev_rows, 1, scale, out + r * w, B * w, 0, NULL};
        st = run_ntt(log_n, w, 0, tw, io, NULL);
        z = bb_mul(z, omega_big);
    }
    free(scale);
    return st;
}

int zk_evaluate(const uint32_t *coeffs, uint32_t *out, size_t n, size_t w, int log_blowup, uint32_t shift) {
    int log_n = log2_exact(n);
    if (log_n < 0 || w == 0 || log_blowup < 0 || log_n + log_blowup > 27) return -1;
    return coset_evals_from_bitrev(coeffs, 0, out, log_n, w, log_blowup, shift, 1);
}

int zk_lde(const uint32_t *in, uint32_t *out, size_t n, size_t w, int log_blowup, uint32_t shift) {
    int log_n = log2_exact(n);
    if (log_n < 0 || w == 0 || log_blowup < 0 || log_n + log_blowup > 27) return -1;
    const uint32_t *itw = log_n ? twiddles(log_n, 1) : NULL;
    if (log_n && !itw) return -2;
    uint32_t *coef = (uint32_t *)malloc(n * w * sizeof(uint32_t));
    if (!coef) return -2;
    /* DIF with the inverse root: coef[p] = n * c_{bitrev(p)} */
    ntt_io io = {in, w, 0, 1, NULL, coef, w, 0, NULL};
    int st = run_ntt(log_n, w, 1, itw, io, NULL);
    if (st == 0)
        st = coset_evals_from_bitrev(coef, 1, out, log_n, w, log_blowup, shift, bb_inv((uint32_t)(n % BB_P)));
    free(coef);
    return st;
}
