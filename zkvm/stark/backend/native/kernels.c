#include "kernels.h"

#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "parallel.h"
#include "simd.h"

#define CHUNK (1u << 14)

int zk_field_selftest(void) { return bb_selftest(); }

typedef struct {
    uint32_t *out;
    const uint32_t *a, *b;
    int op;
    int zero_seen;
} vec_ctx;

static void base_range(void *vctx, size_t s, size_t e) {
    vec_ctx *c = (vec_ctx *)vctx;
    const zk_rowops *ops = zk_ops();
    void (*f)(uint32_t *, const uint32_t *, const uint32_t *, size_t) =
        c->op == 0 ? ops->add : c->op == 1 ? ops->sub : ops->mul;
    f(c->out + s, c->a + s, c->b + s, e - s);
}

static void run_base(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n, int op) {
    vec_ctx c = {out, a, b, op, 0};
    zk_parallel_for(n, CHUNK, base_range, &c);
}

void zk_vec_add(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) { run_base(out, a, b, n, 0); }
void zk_vec_sub(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) { run_base(out, a, b, n, 1); }
void zk_vec_mul(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) { run_base(out, a, b, n, 2); }

/* Montgomery's trick on one chunk, in the Montgomery domain: prefix products, one inversion, walk back. */
static void inv_range(void *vctx, size_t s, size_t e) {
    vec_ctx *c = (vec_ctx *)vctx;
    size_t n = e - s;
    uint32_t *prefix = (uint32_t *)malloc(n * sizeof(uint32_t));
    if (!prefix) { /* fall back to one Fermat inversion per element */
        for (size_t i = s; i < e; i++) {
            if (c->a[i] == 0) __atomic_store_n(&c->zero_seen, 1, __ATOMIC_RELAXED);
            c->out[i] = bb_inv(c->a[i]);
        }
        return;
    }
    uint32_t acc = bb_to_mont(1);
    for (size_t i = 0; i < n; i++) {
        uint32_t x = c->a[s + i];
        if (x == 0) {
            __atomic_store_n(&c->zero_seen, 1, __ATOMIC_RELAXED);
            x = 1;
        }
        prefix[i] = acc;
        acc = bb_mont_mul(acc, bb_to_mont(x));
    }
    /* acc = prod * R; inverse in Montgomery form = prod^-1 * R = R^2 / acc ... computed as to_mont(inv(from_mont(acc))) */
    uint32_t inv_m = bb_to_mont(bb_inv(bb_from_mont(acc)));
    for (size_t i = n; i-- > 0;) {
        uint32_t x = c->a[s + i] ? c->a[s + i] : 1;
        /* out = prefix[i] * inv (both Montgomery) -> Montgomery of x^-1; convert back */
        c->out[s + i] = bb_from_mont(bb_mont_mul(prefix[i], inv_m));
        inv_m = bb_mont_mul(inv_m, bb_to_mont(x));
    }
    free(prefix);
}

int zk_vec_inv(uint32_t *out, const uint32_t *a, size_t n) {
    vec_ctx c = {out, a, NULL, 0, 0};
    zk_parallel_for(n, CHUNK, inv_range, &c);
    return c.zero_seen ? -1 : 0;
}

static inline bb_ext load_ext(const uint32_t *p) {
    bb_ext r;
    memcpy(r.c, p, sizeof r.c);
    return r;
}

static void ext_range(void *vctx, size_t s, size_t e) {
    vec_ctx *c = (vec_ctx *)vctx;
    switch (c->op) {
        case 0: zk_ops()->add(c->out + 4 * s, c->a + 4 * s, c->b + 4 * s, 4 * (e - s)); break;
        case 1: zk_ops()->sub(c->out + 4 * s, c->a + 4 * s, c->b + 4 * s, 4 * (e - s)); break;
        case 2: zk_ops()->ext_mul(c->out + 4 * s, c->a + 4 * s, c->b + 4 * s, e - s); break;
        case 3: zk_ops()->ext_mul_base(c->out + 4 * s, c->a + 4 * s, c->b + s, e - s); break;
    }
}

static void run_ext(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n, int op) {
    vec_ctx c = {out, a, b, op, 0};
    zk_parallel_for(n, CHUNK / 4, ext_range, &c);
}

void zk_ext_add(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) { run_ext(out, a, b, n, 0); }
void zk_ext_sub(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) { run_ext(out, a, b, n, 1); }
void zk_ext_mul(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) { run_ext(out, a, b, n, 2); }
void zk_ext_mul_base(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) { run_ext(out, a, b, n, 3); }

/* a^-1 = a(-x) (b0 - b1 x^2) / N(a): per thread chunk, the norms are inverted together (Montgomery's trick). */
typedef struct {
    uint32_t *out;
    const uint32_t *a;
    int status;
} ext_inv_ctx;

static void ext_inv_range(void *vctx, size_t s, size_t e) {
    ext_inv_ctx *c = (ext_inv_ctx *)vctx;
    size_t n = e - s;
    uint32_t *parts = (uint32_t *)calloc(3 * n + 1, sizeof(uint32_t));
    if (!parts) { __atomic_store_n(&c->status, -2, __ATOMIC_RELAXED); return; }
    uint32_t *b0 = parts, *b1 = parts + n, *norm = parts + 2 * n;
    for (size_t i = 0; i < n; i++) bb_ext_norm_parts(load_ext(c->a + 4 * (s + i)), &b0[i], &b1[i], &norm[i]);
    vec_ctx vc = {norm, norm, NULL, 0, 0};
    inv_range(&vc, 0, n); /* N(a) = 0 iff a = 0 */
    if (vc.zero_seen) __atomic_store_n(&c->status, -1, __ATOMIC_RELAXED);
    for (size_t i = 0; i < n; i++) {
        bb_ext r = bb_ext_inv_with(load_ext(c->a + 4 * (s + i)), b0[i], b1[i], norm[i]);
        memcpy(c->out + 4 * (s + i), r.c, sizeof r.c);
    }
    free(parts);
}

int zk_ext_inv(uint32_t *out, const uint32_t *a, size_t n) {
    ext_inv_ctx c = {out, a, 0};
    zk_parallel_for(n, CHUNK / 4, ext_inv_range, &c);
    return c.status;
}

typedef struct {
    const uint32_t *coeffs;
    size_t n, w;
    const uint32_t *zpow_m; /* z^j in Montgomery form, [n][4] */
    uint64_t *partial;      /* per chunk: [w][4] */
    size_t chunks;
} eval_ctx;

static void eval_range(void *vctx, size_t s, size_t e) {
    eval_ctx *c = (eval_ctx *)vctx;
    for (size_t ch = s; ch < e; ch++) {
        size_t j0 = c->n * ch / c->chunks, j1 = c->n * (ch + 1) / c->chunks;
        uint64_t *acc = c->partial + ch * c->w * 4;
        memset(acc, 0, c->w * 4 * sizeof(uint64_t));
        for (size_t j = j0; j < j1; j++) {
            const uint32_t *zp = c->zpow_m + 4 * j, *row = c->coeffs + j * c->w;
            for (size_t col = 0; col < c->w; col++) {
                uint32_t v = row[col];
                /* canonical products < p; 2^32 of them fit in a uint64 sum */
                acc[4 * col + 0] += bb_mont_mul(v, zp[0]);
                acc[4 * col + 1] += bb_mont_mul(v, zp[1]);
                acc[4 * col + 2] += bb_mont_mul(v, zp[2]);
                acc[4 * col + 3] += bb_mont_mul(v, zp[3]);
            }
        }
    }
}

void zk_poly_eval_ext(const uint32_t *coeffs, size_t n, size_t w, const uint32_t z[4], uint32_t *out) {
    size_t chunks = (size_t)zk_num_threads() * 4;
    if (chunks > n) chunks = n ? n : 1;
    uint32_t *zpow = (uint32_t *)malloc(4 * n * sizeof(uint32_t) + 4);
    uint64_t *partial = (uint64_t *)calloc(chunks * w * 4 + 1, sizeof(uint64_t));
    if (!zpow || !partial) { /* no memory: plain Horner, one column at a time */
        free(zpow); free(partial);
        bb_ext zz = load_ext(z);
        for (size_t col = 0; col < w; col++) {
            bb_ext acc = {{0, 0, 0, 0}};
            for (size_t j = n; j-- > 0;) {
                acc = bb_ext_mul(acc, zz);
                acc.c[0] = bb_add(acc.c[0], bb_reduce32(coeffs[j * w + col]));
            }
            memcpy(out + 4 * col, acc.c, sizeof acc.c);
        }
        return;
    }
    bb_ext cur = {{1, 0, 0, 0}}, zz = load_ext(z);
    for (size_t j = 0; j < n; j++) {
        for (int k = 0; k < 4; k++) zpow[4 * j + k] = bb_to_mont(cur.c[k]);
        cur = bb_ext_mul(cur, zz);
    }
    eval_ctx c = {coeffs, n, w, zpow, partial, chunks};
    zk_parallel_for(chunks, 1, eval_range, &c);
    for (size_t col = 0; col < w; col++)
        for (int k = 0; k < 4; k++) {
            uint64_t s = 0;
            for (size_t ch = 0; ch < chunks; ch++) s = (s + partial[(ch * w + col) * 4 + k] % BB_P) % BB_P;
            out[4 * col + k] = (uint32_t)s;
        }
    free(zpow);
    free(partial);
}

/* acc[i][c] += a[i][c] * factors[i % period]: adding a periodic-row-scaled matrix (e.g. x^n on an LDE coset,
 * which repeats with period 2^log_blowup) in one pass. */
typedef struct {
    uint32_t *acc;
    const uint32_t *a, *factors_m;
    size_t w, period;
} fma_ctx;

static void fma_range(void *vctx, size_t s, size_t e) {
    fma_ctx *c = (fma_ctx *)vctx;
    const zk_rowops *ops = zk_ops();
    uint32_t buf[256];
    for (size_t i = s; i < e; i++) {
        uint32_t f = c->factors_m[i % c->period];
        for (size_t c0 = 0; c0 < c->w; c0 += 256) {
            size_t len = c->w - c0 < 256 ? c->w - c0 : 256;
            ops->scale(buf, c->a + i * c->w + c0, len, f);
            ops->add(c->acc + i * c->w + c0, c->acc + i * c->w + c0, buf, len);
        }
    }
}

int zk_rows_fma_periodic(uint32_t *acc, const uint32_t *a, size_t rows, size_t w, const uint32_t *factors,
                         size_t period) {
    if (period == 0) return -1;
    uint32_t *fm = (uint32_t *)malloc(period * sizeof(uint32_t));
    if (!fm) return -2;
    for (size_t k = 0; k < period; k++) fm[k] = bb_to_mont(bb_reduce32(factors[k]));
    fma_ctx c = {acc, a, fm, w, period};
    zk_parallel_for(rows, CHUNK / (w ? w : 1) + 1, fma_range, &c);
    free(fm);
    return 0;
}
