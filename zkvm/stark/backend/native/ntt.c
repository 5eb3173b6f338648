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
 * product costs one reduction (wide rows use Shoup pairs instead: fewer multiplications per butterfly).
 *
 * LDE (n rows -> N = n*B rows): an inverse DIF leaves n * coefficients in bit-reversed row order, written
 * straight into the first w columns of the output seen as an n x (B*w) matrix; then ONE forward DIT of size
 * n over that wide matrix, whose column block r holds the coefficients scaled by (shift*omega_N^r)^j, yields
 * f(shift*omega_N^(k*B + r)) at wide row k, block r - which is output row k*B + r in natural order. So the
 * B cosets share every pass, and the output is written in place with no scratch matrix.
 */
#include "ntt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "bitrev.h"
#include "parallel.h"
#include "simd.h"

#define SCRATCH_BYTES (256u * 1024u) /* per-thread working set of one group: well inside a 1 MiB L2 */
#define MIN_RUN_WORDS 64u            /* gather at least this many consecutive words per row slot */
#define PREFETCH_SLOTS 4
#define NARROW_WORDS 32u             /* chunks narrower than this use per-element twiddles (dit_v/dif_v) */
#define STREAM_BYTES (64u << 20)     /* outputs this large go around the caches (they cannot stay in them) */
#define MAX_CHUNK_WORDS 64u          /* columns handled together (wider matrices are split in chunks) */

static size_t g_stream_bytes = STREAM_BYTES;

/* Test hook: outputs of at least this many bytes use non-temporal stores (returns the previous value). */
size_t zk_ntt_set_stream_threshold(size_t bytes) {
    return __atomic_exchange_n(&g_stream_bytes, bytes, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ reusable big scratch buffer */

/* The LDE's coefficient buffer is as large as its input (hundreds of MiB). Keeping one around between calls
 * saves the page faults and kernel zeroing of a fresh mapping on every call (a large share of an LDE on a
 * VM); zk_ntt_release_cache() gives it back. */
static void *g_cache = NULL;
static size_t g_cache_bytes = 0;
static pthread_mutex_t g_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void *cache_take(size_t bytes, size_t *got) {
    void *p = NULL;
    pthread_mutex_lock(&g_cache_lock);
    if (g_cache && g_cache_bytes >= bytes) {
        p = g_cache;
        *got = g_cache_bytes;
        g_cache = NULL;
        g_cache_bytes = 0;
    }
    pthread_mutex_unlock(&g_cache_lock);
    if (!p) {
        p = zk_big_alloc(bytes);
        *got = bytes;
    }
    return p;
}

static void cache_give(void *p, size_t bytes) {
    if (!p) return;
    pthread_mutex_lock(&g_cache_lock);
    if (bytes > g_cache_bytes) { /* keep the largest */
        void *old = g_cache;
        size_t old_bytes = g_cache_bytes;
        g_cache = p;
        g_cache_bytes = bytes;
        p = old;
        bytes = old_bytes;
    }
    pthread_mutex_unlock(&g_cache_lock);
    zk_big_free(p, bytes);
}

void zk_ntt_release_cache(void) {
    pthread_mutex_lock(&g_cache_lock);
    void *p = g_cache;
    size_t bytes = g_cache_bytes;
    g_cache = NULL;
    g_cache_bytes = 0;
    pthread_mutex_unlock(&g_cache_lock);
    zk_big_free(p, bytes);
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

/* Where a pass reads its rows from and writes them to. The source may be narrower than the matrix being
 * transformed: with `replicas` = B > 1, source row s (src_w columns) is copied B times side by side, copy r
 * multiplied by scale[r * scale_stride + s] (this is how the LDE's B coset NTTs run as one wide NTT). */
typedef struct {
    const uint32_t *src;
    size_t src_pitch, src_w, replicas;
    int src_bitrev;            /* matrix row i reads source row bitrev(i) */
    int src_reduce;            /* canonicalise unscaled values on the way in */
    const uint32_t *src_scale; /* Montgomery factors indexed by MATRIX row (+ r * scale_stride), or NULL:
                                  sequential within a group even when the source is read bit-reversed */
    size_t scale_stride;
    int src_in_dst;            /* the source is the destination's first column block (in-place LDE) */
    const uint32_t *corr;      /* or NULL: replica r's coefficient j < corr_rows gets corr[(r * corr_rows + j) *
                                  src_w + col] (normal form) added before scaling, with matrix row i holding
                                  coefficient j = bitrev(i) - see coset_evals_corrected */
    size_t corr_rows;
    uint32_t *dst;
    size_t dst_pitch;
    int dst_bitrev;            /* matrix row i is written to dst row bitrev(i) */
    const uint32_t *dst_scale; /* Montgomery factor per MATRIX row (sequential within a group), or NULL */
} ntt_io;

typedef struct {
    int log_n, dif;
    const uint32_t *tw;
    int e_lo, k;       /* stages with span exponents [e_lo, e_lo + k) */
    int stream;        /* destination too big for the caches: non-temporal stores */
    int hi_bits;       /* log2 of the number of groups along the high index bits */
    int reorder;       /* visit those groups in bit-reversed order (see pass_range) */
    int whole_groups;  /* parallel work unit = a group with all its column chunks (see pass_range) */
    size_t c;          /* consecutive offsets gathered together */
    size_t w;          /* matrix width (= src_w * replicas) */
    size_t cw;         /* columns per chunk */
    size_t nchunks;
    ntt_io io;
    const uint32_t *small; /* small[2^le + tt] = tw[tt << (log_n - 1 - le)]: the part of a stage's twiddle
                              that does not depend on the bundle (see pass_range) */
    const zk_rowops *ops;
    int failed;
} pass_ctx;

/* How columns [c0, c0 + len) of a matrix row map onto source replicas: at most MAX_SEGS runs, each
 * (replica r, source column off, length run). Computed once per bundle (it has divisions). */
#define MAX_SEGS 8
typedef struct {
    size_t n;
    size_t r[MAX_SEGS], off[MAX_SEGS], run[MAX_SEGS], at[MAX_SEGS];
} segments;

static int plan_segments(const ntt_io *io, size_t c0, size_t len, segments *sg) {
    size_t col = c0, end = c0 + len;
    sg->n = 0;
    while (col < end) {
        if (sg->n == MAX_SEGS) return -1;
        size_t r = col / io->src_w, off = col - r * io->src_w;
        size_t run = io->src_w - off;
        if (run > end - col) run = end - col;
        sg->r[sg->n] = r; sg->off[sg->n] = off; sg->run[sg->n] = run; sg->at[sg->n] = col - c0;
        sg->n++;
        col += run;
    }
    return 0;
}

/* Copy the planned columns of source row si (matrix row i) into `row`. */
static inline void gather_row(const pass_ctx *ps, const segments *sg, uint32_t *row, size_t i, size_t si) {
    const ntt_io *io = &ps->io;
    const uint32_t *srow = io->src + si * io->src_pitch;
    for (size_t k = 0; k < sg->n; k++) {
        uint32_t *d = row + sg->at[k];
        if (io->src_scale)
            /* a Montgomery product is exact for any uint32 times a canonical factor: no reduce needed */
            ps->ops->scale(d, srow + sg->off[k], sg->run[k], io->src_scale[sg->r[k] * io->scale_stride + i]);
        else if (io->src_reduce)
            ps->ops->reduce(d, srow + sg->off[k], sg->run[k]);
        else
            memcpy(d, srow + sg->off[k], sg->run[k] * sizeof(uint32_t));
    }
}

/* Slow path for chunks spanning more than MAX_SEGS replicas (very narrow sources): one run at a time. */
static void gather_row_general(const pass_ctx *ps, uint32_t *row, size_t i, size_t si, size_t c0, size_t len) {
    const ntt_io *io = &ps->io;
    for (size_t col = c0; col < c0 + len;) {
        segments one;
        size_t r = col / io->src_w, off = col - r * io->src_w, run = io->src_w - off;
        if (run > c0 + len - col) run = c0 + len - col;
        one.n = 1; one.r[0] = r; one.off[0] = off; one.run[0] = run; one.at[0] = col - c0;
        gather_row(ps, &one, row, i, si);
        col += run;
    }
}

/* Add replica r's correction of coefficient bitrev(i) to the gathered columns [c0, c0 + len) of matrix row i,
 * times the same scale factor the gather applied: the row then holds (src + corr) * scale. Only the few rows
 * with a correction get here, so scalar code is fine. */
static void add_correction(const pass_ctx *ps, uint32_t *row, size_t i, size_t c0, size_t len) {
    const ntt_io *io = &ps->io;
    size_t j = bit_reverse(i, ps->log_n);
    if (j >= io->corr_rows) return;
    for (size_t col = c0; col < c0 + len; col++) {
        size_t r = col / io->src_w, off = col - r * io->src_w;
        uint32_t f = io->src_scale[r * io->scale_stride + i];
        uint32_t v = io->corr[(r * io->corr_rows + j) * io->src_w + off];
        row[col - c0] = bb_add(row[col - c0], bb_mont_mul(v, f));
    }
}

static void pass_range(void *vctx, size_t b_begin, size_t b_end) {
    pass_ctx *ps = (pass_ctx *)vctx;
    const size_t c = ps->c, T = (size_t)1 << ps->k, rows = T * c;
    uint32_t *scratch = (uint32_t *)aligned_alloc(64, ((rows * ps->cw * sizeof(uint32_t)) + 63) & ~(size_t)63);
    uint32_t *tw_loc = (uint32_t *)malloc((rows / 2 + 1) * sizeof(uint32_t));
    /* narrow chunks: one twiddle per element, expanded per stage, so a whole block is one vector call */
    const int narrow = ps->cw < NARROW_WORDS;
    uint32_t *tw_exp = narrow ? (uint32_t *)malloc((rows / 2 * ps->cw + 1) * sizeof(uint32_t))
                              : (uint32_t *)malloc((rows + 2) * sizeof(uint32_t));
    uint32_t *tw_sh = tw_exp; /* wide rows use the same buffer for Shoup pairs */
    if (!scratch || !tw_loc || !tw_exp) {
        free(scratch);
        free(tw_loc);
        free(tw_exp);
        __atomic_store_n(&ps->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    const zk_rowops *ops = ps->ops;
    const ntt_io *io = &ps->io;
    const size_t s_lo = (size_t)1 << ps->e_lo;
    const size_t bundles_per_hi = s_lo / c;
    const int log_n = ps->log_n;

    /* [b_begin, b_end) counts groups when ps->whole_groups (else bundles = group x chunk). Within a group the
     * column chunks go right to left, so that when the source is the left block of the destination itself
     * (the LDE's coefficients live in out's first replica columns), the chunk that overwrites it comes after
     * every chunk that reads it - which also needs a group's chunks on one thread. */
    const size_t scale_b = ps->whole_groups ? ps->nchunks : 1;
    for (size_t b = b_begin * scale_b; b < b_end * scale_b; b++) {
        const size_t group = b / ps->nchunks, chunk = ps->nchunks - 1 - b % ps->nchunks;
        const size_t c0 = chunk * ps->cw;
        const size_t w = c0 + ps->cw <= ps->w ? ps->cw : ps->w - c0; /* columns in this chunk */
        /* With bit-reversed reads or writes, group hi touches rows bitrev(hi) + multiples of a large stride:
         * visiting groups in bit-reversed order makes consecutive groups touch adjacent rows, so cache lines
         * (and scale-table lines) are reused instead of being fetched once per narrow row. */
        const size_t hi_seq = group / bundles_per_hi, r0 = (group % bundles_per_hi) * c;
        const size_t hi = ps->reorder ? bit_reverse(hi_seq, ps->hi_bits) : hi_seq;
        const size_t base = (hi << (ps->e_lo + ps->k)) + r0;
        segments segs;
        const int segs_ok = plan_segments(io, c0, w, &segs) == 0;
        /* bytes of one source row this chunk reads (at most 4 lines are prefetched) */
        size_t pf_bytes = (w < io->src_w ? w : io->src_w) * sizeof(uint32_t);
        if (pf_bytes > 256) pf_bytes = 256;
        /* gather */
        for (size_t t = 0; t < T; t++) {
            for (size_t r = 0; r < c; r++) {
                size_t i = base + t * s_lo + r;
                if (t + PREFETCH_SLOTS < T) { /* start fetching a row a few slots ahead */
                    size_t ni = i + PREFETCH_SLOTS * s_lo, nsi = io->src_bitrev ? bit_reverse(ni, log_n) : ni;
                    const char *p = (const char *)(io->src + nsi * io->src_pitch + c0 % io->src_w);
                    for (size_t off = 0; off < pf_bytes; off += 64) __builtin_prefetch(p + off, 0, 0);
                }
                size_t si = io->src_bitrev ? bit_reverse(i, log_n) : i;
                if (segs_ok)
                    gather_row(ps, &segs, scratch + (t * c + r) * w, i, si);
                else
                    gather_row_general(ps, scratch + (t * c + r) * w, i, si, c0, w);
                if (io->corr) add_correction(ps, scratch + (t * c + r) * w, i, c0, w);
            }
        }
        /* k stages in scratch */
        for (int step = 0; step < ps->k; step++) {
            int le = ps->dif ? ps->k - 1 - step : step;  /* local span exponent */
            int e = ps->e_lo + le;                       /* global span exponent */
            int sh = log_n - 1 - e;                      /* twiddle = tw[j << sh], j = i mod 2^e */
            size_t ls = (size_t)1 << le;
            /* The twiddle of row tt*s_lo + r0 + r is tw[(tt*s_lo) << sh] * tw[(r0 + r) << sh]: the first factor
             * is small[ls + tt] (shared by all bundles, stays in cache), the second is one lookup per r. Reading
             * tw[(j0 + r) << sh] directly would miss the cache on nearly every butterfly of the late passes. */
            for (size_t r = 0; r < c; r++) {
                uint32_t f = ps->tw[(r0 + r) << sh];
                if (r0 + r == 0)
                    for (size_t tt = 0; tt < ls; tt++) tw_loc[tt * c + r] = ps->small[ls + tt];
                else
                    for (size_t tt = 0; tt < ls; tt++) tw_loc[tt * c + r] = bb_mont_reduce((uint64_t)ps->small[ls + tt] * f);
            }
            if (narrow) {
                size_t m = ls * c;
                for (size_t q = 0; q < m; q++)
                    for (size_t col = 0; col < w; col++) tw_exp[q * w + col] = tw_loc[q];
                for (size_t tb = 0; tb < T; tb += 2 * ls) {
                    uint32_t *x = scratch + tb * c * w; /* slots tb..tb+ls-1 then their partners: contiguous */
                    if (ps->dif)
                        ops->dif_v(x, x + m * w, m * w, tw_exp);
                    else
                        ops->dit_v(x, x + m * w, m * w, tw_exp);
                }
                continue;
            }
            /* wide rows: Shoup pairs (normal form, floor(tw 2^32/p)), one broadcast twiddle per row pair */
            for (size_t q = 0; q < ls * c; q++) {
                uint32_t t = bb_from_mont(tw_loc[q]);
                tw_sh[2 * q] = t;
                tw_sh[2 * q + 1] = (uint32_t)(((uint64_t)t << 32) / BB_P);
            }
            for (size_t tb = 0; tb < T; tb += 2 * ls) {
                for (size_t tt = 0; tt < ls; tt++) {
                    uint32_t *x = scratch + (tb + tt) * c * w;
                    uint32_t *y = x + ls * c * w;
                    for (size_t r = 0; r < c; r++) {
                        const uint32_t *tp = tw_sh + 2 * (tt * c + r);
                        if (ps->dif)
                            ops->dif_sh(x + r * w, y + r * w, w, tp[0], tp[1]);
                        else
                            ops->dit_sh(x + r * w, y + r * w, w, tp[0], tp[1]);
                    }
                }
            }
        }
        /* scatter */
        for (size_t t = 0; t < T; t++) {
            for (size_t r = 0; r < c; r++) {
                size_t i = base + t * s_lo + r;
                size_t di = io->dst_bitrev ? bit_reverse(i, log_n) : i;
                uint32_t *drow = io->dst + di * io->dst_pitch + c0;
                const uint32_t *row = scratch + (t * c + r) * w;
                if (ps->stream) {
                    if (io->dst_scale)
                        ops->stream_scale(drow, row, w, io->dst_scale[i]);
                    else
                        ops->stream_copy(drow, row, w);
                } else if (io->dst_scale) {
                    ops->scale(drow, row, w, io->dst_scale[i]);
                } else {
                    memcpy(drow, row, w * sizeof(uint32_t));
                }
            }
        }
    }
    if (ps->stream) ops->fence();
    free(scratch);
    free(tw_loc);
    free(tw_exp);
}

/* Full NTT of n = 2^log_n rows and w columns. The first pass reads through io.src*, the last writes through
 * io.dst*; intermediate passes work in place in io.dst, or in `work` (n*w words, required) when the output
 * is bit-reversed and there is more than one pass. */
static int run_ntt(int log_n, size_t w, int dif, const uint32_t *tw, ntt_io io, uint32_t *work) {
    const size_t n = (size_t)1 << log_n;
    const zk_rowops *ops = zk_ops();
    if (io.replicas == 0) io.replicas = 1;
    if (io.src_w == 0) io.src_w = w;
    size_t nchunks = (w + MAX_CHUNK_WORDS - 1) / MAX_CHUNK_WORDS;
    size_t cw = (w + nchunks - 1) / nchunks;
    cw = (cw + 15) & ~(size_t)15; /* whole SIMD vectors */
    if (cw > w) cw = w;
    nchunks = (w + cw - 1) / cw;
    size_t cg = 1;
    while (cg * cw < MIN_RUN_WORDS) cg *= 2;
    size_t max_rows = SCRATCH_BYTES / (sizeof(uint32_t) * cw * cg);
    int kmax = 1;
    while (((size_t)2 << kmax) <= max_rows) kmax++;
    int passes = log_n ? (log_n + kmax - 1) / kmax : 1;

    int done = 0;
    for (int p = 0; p < passes; p++) {
        int k = (log_n - done) / (passes - p);
        pass_ctx ps;
        memset(&ps, 0, sizeof ps);
        ps.log_n = log_n; ps.dif = dif; ps.tw = tw; ps.k = k; ps.w = w; ps.ops = ops;
        ps.cw = cw; ps.nchunks = nchunks;
        /* DIF walks span exponents downwards from log_n - 1, DIT upwards from 0 */
        ps.e_lo = dif ? log_n - done - k : done;
        size_t s_lo = (size_t)1 << ps.e_lo;
        ps.c = cg < s_lo ? cg : s_lo;
        int first = p == 0, last = p == passes - 1;
        uint32_t *inter = (io.dst_bitrev && passes > 1) ? work : io.dst;
        size_t inter_pitch = inter == work ? w : io.dst_pitch;
        ps.io = io;
        if (!first) {
            ps.io.src = inter; ps.io.src_pitch = inter_pitch; ps.io.src_w = w; ps.io.replicas = 1;
            ps.io.src_bitrev = 0; ps.io.src_reduce = 0; ps.io.src_scale = NULL; ps.io.corr = NULL;
        }
        if (!last) {
            ps.io.dst = inter; ps.io.dst_pitch = inter_pitch; ps.io.dst_bitrev = 0; ps.io.dst_scale = NULL;
        }
        /* no streaming into bit-reversed positions: those stores only fill part of a line each */
        ps.stream = n * w * sizeof(uint32_t) >= __atomic_load_n(&g_stream_bytes, __ATOMIC_RELAXED) &&
                    !(last && io.dst_bitrev);
        ps.hi_bits = log_n - ps.e_lo - k;
        ps.reorder = ((first && io.src_bitrev) || (last && io.dst_bitrev)) && ps.e_lo == 0;
        ps.whole_groups = first && io.src_in_dst;
        size_t units = n / (((size_t)1 << k) * ps.c) * (ps.whole_groups ? 1 : nchunks);
        size_t per_bundle = ((size_t)1 << k) * ps.c * (ps.whole_groups ? w : cw); /* work per unit */
        size_t min_chunk = per_bundle >= (1u << 15) ? 1 : (1u << 15) / per_bundle;
        uint32_t small_buf[2 + 2 * 1024];
        uint32_t *small = ((size_t)1 << k) <= 1024 ? small_buf : (uint32_t *)malloc(((size_t)2 << k) * sizeof(uint32_t));
        if (!small) return -2;
        for (int le = 0; le < k; le++)
            for (size_t tt = 0; tt < ((size_t)1 << le); tt++) small[((size_t)1 << le) + tt] = tw[tt << (log_n - 1 - le)];
        ps.small = small;
        zk_parallel_for(units, min_chunk, pass_range, &ps);
        if (small != small_buf) free(small);
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
    size_t work_bytes;
    uint32_t *work = (uint32_t *)cache_take(n * w * sizeof(uint32_t), &work_bytes);
    if (!scale || !work) { free(scale); cache_give(work, work_bytes); return -2; }
    /* matrix row i lands in output row j = bitrev(i): factor n^-1 shift^-bitrev(i) */
    fill_bitrev_powers(scale, log_n, bb_inv(shift % BB_P), bb_to_mont(bb_inv((uint32_t)(n % BB_P))));
    ntt_io io = {.src = in, .src_pitch = w, .src_reduce = 1, .dst = out, .dst_pitch = w, .dst_bitrev = 1,
                 .dst_scale = scale};
    int st = run_ntt(log_n, w, 1, tw, io, work);
    free(scale);
    cache_give(work, work_bytes);
    return st;
}

/* Coefficients -> evaluations on shift * <omega_N>, N = n * B, B = 2^log_blowup, as ONE NTT of size n over
 * a n x (B*w) matrix: row k of `out` viewed that way is (f(shift omega_N^(kB + r)))_{r < B}, and column block r
 * is the size-n NTT of c_j (shift omega_N^r)^j. The coefficient rows are either in natural order or
 * bit-reversed (as the inverse DIF leaves them); each is scaled by `pre` too. */
static int coset_evals(const uint32_t *coef, size_t coef_pitch, int coef_bitrev_rows, uint32_t *out, int log_n,
                       size_t w, int log_blowup, uint32_t shift, uint32_t pre, const uint32_t *corr,
                       size_t corr_rows) {
    size_t n = (size_t)1 << log_n, B = (size_t)1 << log_blowup;
    const uint32_t *tw = log_n ? twiddles(log_n, 0) : NULL;
    if (log_n && !tw) return -2;
    uint32_t *scale = (uint32_t *)malloc(B * n * sizeof(uint32_t));
    if (!scale) return -2;
    uint32_t omega_big = two_adic_root(log_n + log_blowup);
    uint32_t z = shift % BB_P;
    for (size_t r = 0; r < B; r++) {
        /* factor for matrix row i of the DIT (which holds coefficient bitrev(i), whether the source rows are
         * already bit-reversed or are read bit-reversed): pre * z^bitrev(i) */
        fill_bitrev_powers(scale + r * n, log_n, z, bb_to_mont(pre));
        z = bb_mul(z, omega_big);
    }
    ntt_io io = {.src = coef, .src_pitch = coef_pitch, .src_w = w, .replicas = B, .src_bitrev = !coef_bitrev_rows,
                 .src_in_dst = coef == out,
                 .src_scale = scale, .scale_stride = n, .corr = corr, .corr_rows = corr_rows,
                 .dst = out, .dst_pitch = B * w};
    int st = run_ntt(log_n, B * w, 0, tw, io, NULL);
    free(scale);
    return st;
}

int zk_evaluate(const uint32_t *coeffs, uint32_t *out, size_t n, size_t w, int log_blowup, uint32_t shift) {
    int log_n = log2_exact(n);
    if (log_n < 0 || w == 0 || log_blowup < 0 || log_n + log_blowup > 27) return -1;
    return coset_evals(coeffs, w, 0, out, log_n, w, log_blowup, shift, 1, NULL, 0);
}

int zk_lde(const uint32_t *in, uint32_t *out, size_t n, size_t w, int log_blowup, uint32_t shift) {
    int log_n = log2_exact(n);
    if (log_n < 0 || w == 0 || log_blowup < 0 || log_n + log_blowup > 27) return -1;
    const uint32_t *itw = log_n ? twiddles(log_n, 1) : NULL;
    if (log_n && !itw) return -2;
    size_t B = (size_t)1 << log_blowup;
    /* DIF with the inverse root into the first w columns of `out` seen as an n x (B*w) matrix (no scratch
     * matrix): coef[p] = n * c_{bitrev(p)}. The coset NTT then reads them from there and overwrites them last. */
    ntt_io io = {.src = in, .src_pitch = w, .src_reduce = 1, .dst = out, .dst_pitch = B * w};
    int st = run_ntt(log_n, w, 1, itw, io, NULL);
    if (st == 0) st = coset_evals(out, B * w, 1, out, log_n, w, log_blowup, shift, bb_inv((uint32_t)(n % BB_P)),
                                  NULL, 0);
    return st;
}

/* ------------------------------------------------------------------ polynomials longer than the block */

/* The coset shift*<omega_N> (N = n*B) is the union of B cosets z_r*H_n, z_r = shift*omega_N^r, which are
 * exactly the column blocks of coset_evals; on block r, X^n is the constant a_r = z_r^n. So a polynomial
 * p = lo + X^n*h (lo: n coefficients, h: any number) agrees on block r with the n-coefficient polynomial
 * lo + (p mod (X^n - a_r) - lo), and the difference only touches the first min(n, rows of h) coefficients:
 *     corr_r[i] = m_r * sum_t a_r^t h[i + t*n],
 * with m_r = a_r for p = lo + X^n*h and m_r = a_r - 1 for p = lo + (X^n - 1)*h (zk's randomised trace).
 * So such a polynomial costs one ordinary coset evaluation plus B*rows(h)*w multiplications here.
 * Returns the correction rows [B][rows][w] (times `factor`, normal form) or NULL when out of memory. */
static uint32_t *wrap_corrections(const uint32_t *h, size_t h_rows, size_t w, int log_n, int log_blowup,
                                  uint32_t shift, int minus_one, uint32_t factor, size_t *rows_out) {
    size_t n = (size_t)1 << log_n, B = (size_t)1 << log_blowup;
    size_t rows = h_rows < n ? h_rows : n, terms = (h_rows + n - 1) / n;
    size_t count = B * rows * w;
    uint32_t *corr = (uint32_t *)malloc((count ? count : 1) * sizeof(uint32_t));
    if (!corr) return NULL;
    uint32_t omega_big = two_adic_root(log_n + log_blowup), z = shift % BB_P;
    for (size_t r = 0; r < B; r++, z = bb_mul(z, omega_big)) {
        uint32_t a = bb_pow(z, n);
        uint32_t m = bb_mul(minus_one ? bb_sub(a, 1) : a, factor);
        for (size_t i = 0; i < rows; i++) {
            uint32_t *dst = corr + (r * rows + i) * w;
            for (size_t col = 0; col < w; col++) {
                uint32_t acc = 0; /* Horner in a over t, highest wrap first */
                for (size_t t = terms; t-- > 0;) {
                    size_t row = i + t * n;
                    acc = bb_mul(acc, a);
                    if (row < h_rows) acc = bb_add(acc, bb_reduce32(h[row * w + col]));
                }
                dst[col] = bb_mul(acc, m);
            }
        }
    }
    *rows_out = rows;
    return corr;
}

int zk_evaluate_wrapped(const uint32_t *coeffs, size_t len, uint32_t *out, size_t n, size_t w, int log_blowup,
                        uint32_t shift) {
    int log_n = log2_exact(n);
    if (log_n < 0 || w == 0 || log_blowup < 0 || log_n + log_blowup > 27 || len < n || len > (n << log_blowup))
        return -1;
    if (len == n) return coset_evals(coeffs, w, 0, out, log_n, w, log_blowup, shift, 1, NULL, 0);
    size_t rows;
    uint32_t *corr = wrap_corrections(coeffs + n * w, len - n, w, log_n, log_blowup, shift, 0, 1, &rows);
    if (!corr) return -2;
    int st = coset_evals(coeffs, w, 0, out, log_n, w, log_blowup, shift, 1, corr, rows);
    free(corr);
    return st;
}

int zk_lde_randomised(const uint32_t *in, uint32_t *out, size_t n, size_t w, int log_blowup, uint32_t shift,
                      const uint32_t *r, size_t k) {
    int log_n = log2_exact(n);
    if (log_n < 0 || w == 0 || log_blowup < 0 || log_n + log_blowup > 27 || (k && !r)) return -1;
    if (k == 0) return zk_lde(in, out, n, w, log_blowup, shift);
    const uint32_t *itw = log_n ? twiddles(log_n, 1) : NULL;
    if (log_n && !itw) return -2;
    size_t B = (size_t)1 << log_blowup, rows;
    /* the DIF below leaves n * c_j: the correction is scaled by n too, and both by n^-1 in coset_evals */
    uint32_t *corr = wrap_corrections(r, k, w, log_n, log_blowup, shift, 1, (uint32_t)(n % BB_P), &rows);
    if (!corr) return -2;
    ntt_io io = {.src = in, .src_pitch = w, .src_reduce = 1, .dst = out, .dst_pitch = B * w};
    int st = run_ntt(log_n, w, 1, itw, io, NULL);
    if (st == 0) st = coset_evals(out, B * w, 1, out, log_n, w, log_blowup, shift, bb_inv((uint32_t)(n % BB_P)),
                                  corr, rows);
    free(corr);
    return st;
}
