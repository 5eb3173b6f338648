#include "evalvm.h"

#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "sha256.h"

#include "field.h"

#define P BB_P
#define BLK 64

/* Registers hold Montgomery forms (x·2^32 mod p): MUL is one Montgomery multiplication, ADD/SUB/NEG are
 * unchanged, LOAD/CONST convert. mont_mul(v_mont, c) of a Montgomery value by a plain coefficient gives the
 * plain product, which is what the accumulation wants. Loops run over a block of rows so gcc vectorises them;
 * target_clones builds an AVX2 variant picked at load time (portable: default clone everywhere else). */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ZK_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ZK_CLONES
#endif

typedef struct {
    const zk_src *srcs;
    int n_srcs;
    const int32_t *prog;
    int n_instr, n_regs;
    const int32_t *out_regs, *out_kinds;
    const uint32_t *out_coeffs;
    int n_out;
    const int32_t *raw_regs;
    int n_raw;
    size_t n_rows; /* rows of the source matrices (wrap-around modulus) */
    size_t n_eval; /* rows evaluated: 0 .. n_eval-1, row k reading source row (k + shift) mod n_rows */
    uint32_t *acc, *raw;
    int failed;
} vm_ctx;

ZK_CLONES
static void vm_block(vm_ctx *c, uint32_t *regs, uint64_t *sums, size_t r0, size_t b) {
    for (int i = 0; i < c->n_instr; i++) {
        const int32_t *ins = c->prog + 4 * (size_t)i;
        uint32_t *d = regs + (size_t)ins[1] * BLK;
        switch (ins[0]) {
        case ZK_OP_LOAD: {
            const zk_src *s = &c->srcs[ins[2]];
            size_t col = (size_t)ins[3];
            size_t row = (r0 + s->shift) % c->n_rows;
            if (row + b <= c->n_rows) {
                const uint32_t *src = s->base + row * s->row_stride + col;
                for (size_t k = 0; k < b; k++) d[k] = bb_to_mont(src[k * s->row_stride]);
            } else {
                for (size_t k = 0; k < b; k++) {
                    d[k] = bb_to_mont(s->base[row * s->row_stride + col]);
                    if (++row == c->n_rows) row = 0;
                }
            }
            break;
        }
        case ZK_OP_CONST: {
            uint32_t v = bb_to_mont((uint32_t)ins[2]);
            for (size_t k = 0; k < b; k++) d[k] = v;
            break;
        }
        case ZK_OP_ADD: {
            const uint32_t *x = regs + (size_t)ins[2] * BLK, *y = regs + (size_t)ins[3] * BLK;
            for (size_t k = 0; k < BLK; k++) d[k] = bb_add(x[k], y[k]);
            break;
        }
        case ZK_OP_SUB: {
            const uint32_t *x = regs + (size_t)ins[2] * BLK, *y = regs + (size_t)ins[3] * BLK;
            for (size_t k = 0; k < BLK; k++) d[k] = bb_sub(x[k], y[k]);
            break;
        }
        case ZK_OP_MUL: {
            const uint32_t *x = regs + (size_t)ins[2] * BLK, *y = regs + (size_t)ins[3] * BLK;
            for (size_t k = 0; k < BLK; k++) d[k] = bb_mont_mul(x[k], y[k]);
            break;
        }
        case ZK_OP_NEG: {
            const uint32_t *x = regs + (size_t)ins[2] * BLK;
            for (size_t k = 0; k < BLK; k++) d[k] = bb_sub(0, x[k]);
            break;
        }
        default:
            break;
        }
    }
    /* Linear combination with lazy reduction: each extension coefficient is split into 16-bit halves, so
     * every product v·half < 2^47 and up to 2^16 of them sum exactly in uint64. v is in Montgomery form, so
     * the reduced sum is (plain sum)·2^32: one Montgomery reduction per row and coordinate removes it. */
    uint64_t *lo = sums, *hi = sums + 16 * BLK;
    for (size_t z = 0; z < 32 * BLK; z++) sums[z] = 0;
    for (int o = 0; o < c->n_out; o++) {
        const uint32_t *v = regs + (size_t)c->out_regs[o] * BLK;
        const uint32_t *cf = c->out_coeffs + 4 * (size_t)o;
        size_t base = (size_t)c->out_kinds[o] * 4 * BLK;
        for (int j = 0; j < 4; j++) {
            uint64_t cl = cf[j] & 0xffffu, ch = cf[j] >> 16;
            uint64_t *sl = lo + base + (size_t)j * BLK, *sh = hi + base + (size_t)j * BLK;
            for (size_t k = 0; k < BLK; k++) {
                sl[k] += v[k] * cl;
                sh[k] += v[k] * ch;
            }
        }
    }
    for (int kind = 0; kind < 4; kind++)
        for (size_t k = 0; k < b; k++) {
            uint32_t *a = c->acc + ((size_t)kind * c->n_eval + r0 + k) * 4;
            for (int j = 0; j < 4; j++) {
                size_t z = ((size_t)kind * 4 + j) * BLK + k;
                uint64_t t = (lo[z] % P + ((hi[z] % P) << 16)) % P;
                a[j] = bb_mont_reduce(t);
            }
        }
    for (int q = 0; q < c->n_raw; q++) {
        const uint32_t *src = regs + (size_t)c->raw_regs[q] * BLK;
        uint32_t *dst = c->raw + (size_t)q * c->n_eval + r0;
        for (size_t k = 0; k < b; k++) dst[k] = bb_from_mont(src[k]);
    }
}

static void vm_range(void *vctx, size_t begin, size_t end) {
    vm_ctx *c = (vm_ctx *)vctx;
    /* registers are zero-initialised so lanes past a short final block stay canonical */
    uint32_t *regs = (uint32_t *)calloc((size_t)BLK * (size_t)c->n_regs, sizeof(uint32_t));
    uint64_t *sums = (uint64_t *)malloc(sizeof(uint64_t) * 32 * BLK);
    if (!regs || !sums) { free(regs); free(sums); c->failed = 1; return; }
    for (size_t r0 = begin; r0 < end; r0 += BLK) {
        size_t b = end - r0 < BLK ? end - r0 : BLK;
        vm_block(c, regs, sums, r0, b);
    }
    free(regs);
    free(sums);
}

int zk_eval_program(const zk_src *srcs, int n_srcs, const int32_t *prog, int n_instr, int n_regs,
                    const int32_t *out_regs, const int32_t *out_kinds, const uint32_t *out_coeffs, int n_out,
                    const int32_t *raw_regs, int n_raw, size_t n_rows, size_t n_eval, uint32_t *acc,
                    uint32_t *raw) {
    if (n_rows == 0 || n_eval == 0 || n_regs <= 0 || n_instr < 0 || n_out < 0 || n_raw < 0) return -1;
    for (int i = 0; i < n_instr; i++) {
        const int32_t *ins = prog + 4 * (size_t)i;
        if (ins[1] < 0 || ins[1] >= n_regs) return -1;
        switch (ins[0]) {
        case ZK_OP_LOAD: if (ins[2] < 0 || ins[2] >= n_srcs || ins[3] < 0) return -1; break;
        case ZK_OP_CONST: if ((uint32_t)ins[2] >= P) return -1; break;
        case ZK_OP_ADD: case ZK_OP_SUB: case ZK_OP_MUL:
            if (ins[3] < 0 || ins[3] >= n_regs) return -1;
            /* fallthrough */
        case ZK_OP_NEG: if (ins[2] < 0 || ins[2] >= n_regs) return -1; break;
        default: return -1;
        }
    }
    if (n_out > 65535) return -1; /* lazy-reduction bound of the accumulation */
    for (int o = 0; o < n_out; o++)
        if (out_regs[o] < 0 || out_regs[o] >= n_regs || out_kinds[o] < 0 || out_kinds[o] > 3) return -1;
    for (int q = 0; q < n_raw; q++)
        if (raw_regs[q] < 0 || raw_regs[q] >= n_regs) return -1;
    vm_ctx c = {srcs, n_srcs, prog, n_instr, n_regs, out_regs, out_kinds, out_coeffs, n_out, raw_regs, n_raw,
                n_rows, n_eval, acc, raw, 0};
    zk_parallel_for(n_eval, 4096, vm_range, &c);
    return c.failed ? -2 : 0;
}

typedef struct {
    const uint32_t *m;
    size_t w, stride;
    const uint32_t *cf; /* coefficient halves, transposed: see dot_range */
    uint32_t *out;
} dot_ctx;

/* Lazy reduction: coefficients split into 16-bit halves (cf[c][j] low halves, cf[4 + c][j] high halves), so
 * each product is < 2^47 and up to 2^16 columns sum exactly in uint64; one reduction per row and coordinate. */
ZK_CLONES
static void dot_range(void *vctx, size_t begin, size_t end) {
    dot_ctx *c = (dot_ctx *)vctx;
    const size_t w = c->w;
    const uint32_t *cl[4], *chh[4];
    for (int k = 0; k < 4; k++) {
        cl[k] = c->cf + (size_t)k * w;
        chh[k] = c->cf + (size_t)(4 + k) * w;
    }
    for (size_t r = begin; r < end; r++) {
        const uint32_t *row = c->m + r * c->stride;
        uint32_t *o = c->out + 4 * r;
        for (int k = 0; k < 4; k++) {
            uint64_t sl = 0, sh = 0;
            const uint32_t *a = cl[k], *bh = chh[k];
            for (size_t j = 0; j < w; j++) {
                sl += (uint64_t)row[j] * a[j];
                sh += (uint64_t)row[j] * bh[j];
            }
            o[k] = (uint32_t)((sl % P + ((sh % P) << 16)) % P);
        }
    }
}

int zk_base_dot_ext(const uint32_t *m, size_t n_rows, size_t w, size_t stride, const uint32_t *coeffs,
                    uint32_t *out) {
    if (w > 65535 || (w && stride < w)) return -1;
    uint32_t *cf = (uint32_t *)malloc(8 * w * sizeof(uint32_t) + 4);
    if (!cf) return -2;
    for (size_t j = 0; j < w; j++)
        for (int k = 0; k < 4; k++) {
            cf[(size_t)k * w + j] = coeffs[4 * j + k] & 0xffffu;
            cf[(size_t)(4 + k) * w + j] = coeffs[4 * j + k] >> 16;
        }
    dot_ctx c = {m, w, stride, cf, out};
    zk_parallel_for(n_rows, 4096, dot_range, &c);
    free(cf);
    return 0;
}

typedef struct {
    const uint32_t *m;
    size_t n_rows, w;
    const uint32_t *weights;
    uint32_t *out;
} wsum_ctx;

ZK_CLONES
static void wsum_range(void *vctx, size_t c0, size_t c1) {
    wsum_ctx *c = (wsum_ctx *)vctx;
    size_t span = c1 - c0;
    uint64_t *acc = (uint64_t *)calloc(span * 4 + 1, sizeof(uint64_t));
    if (!acc) return;
    for (size_t r = 0; r < c->n_rows; r++) {
        const uint32_t *row = c->m + r * c->w + c0;
        const uint32_t *wt = c->weights + 4 * r;
        /* mont_mul(plain entry, Montgomery weight) = plain product */
        uint32_t w0 = bb_to_mont(wt[0]), w1 = bb_to_mont(wt[1]), w2 = bb_to_mont(wt[2]), w3 = bb_to_mont(wt[3]);
        for (size_t j = 0; j < span; j++) {
            uint32_t v = row[j];
            acc[4 * j] += bb_mont_mul(v, w0);
            acc[4 * j + 1] += bb_mont_mul(v, w1);
            acc[4 * j + 2] += bb_mont_mul(v, w2);
            acc[4 * j + 3] += bb_mont_mul(v, w3);
        }
        if ((r & 0x3fffff) == 0x3fffff)  /* keep sums far below 2^64 for any n */
            for (size_t z = 0; z < span * 4; z++) acc[z] %= P;
    }
    for (size_t z = 0; z < span * 4; z++) c->out[c0 * 4 + z] = (uint32_t)(acc[z] % P);
    free(acc);
}

int zk_weighted_col_sums(const uint32_t *m, size_t n_rows, size_t w, const uint32_t *weights, uint32_t *out) {
    wsum_ctx c = {m, n_rows, w, weights, out};
    for (size_t z = 0; z < 4 * w; z++) out[z] = 0;
    zk_parallel_for(w, 1, wsum_range, &c);
    return 0;
}

/* Proof-of-work search: smallest nonce with SHA256(prefix || le64(nonce)) having `bits` leading zero bits
 * (big-endian reading of the digest). Returns 0 and sets *out, or -1 if none below max_iter. */
int zk_grind(const uint8_t *prefix, size_t prefix_len, int bits, uint64_t max_iter, uint64_t *out) {
    if (bits < 0 || bits > 64 || prefix_len > 4096) return -1;
    uint8_t buf[4096 + 8];
    memcpy(buf, prefix, prefix_len);
    uint8_t h[32];
    for (uint64_t nonce = 0; nonce < max_iter; nonce++) {
        for (int i = 0; i < 8; i++) buf[prefix_len + i] = (uint8_t)(nonce >> (8 * i));
        zk_sha256(buf, prefix_len + 8, h);
        uint64_t top = 0;
        for (int i = 0; i < 8; i++) top = (top << 8) | h[i];
        if (bits == 0 || (top >> (64 - bits)) == 0) {
            *out = nonce;
            return 0;
        }
    }
    return -1;
}

/* Extension array op extension scalar (the scalar broadcast without materialising it). op: 0 a*s, 1 a+s,
 * 2 a-s, 3 s-a. For the product the scalar is pre-multiplied into Montgomery form (and by W for the
 * wrapped-around terms), so each output coordinate is 4 Montgomery products of plain values. */
typedef struct {
    uint32_t *out;
    const uint32_t *a;
    uint32_t s[4], sm[4], swm[4];
    int op;
} scal_ctx;

ZK_CLONES
static void scal_range(void *vctx, size_t begin, size_t end) {
    scal_ctx *c = (scal_ctx *)vctx;
    const uint32_t *a = c->a;
    uint32_t *o = c->out;
    if (c->op == 0) {
        const uint32_t s0 = c->sm[0], s1 = c->sm[1], s2 = c->sm[2], s3 = c->sm[3];
        const uint32_t w1 = c->swm[1], w2 = c->swm[2], w3 = c->swm[3];
        for (size_t i = begin; i < end; i++) {
            uint32_t a0 = a[4 * i], a1 = a[4 * i + 1], a2 = a[4 * i + 2], a3 = a[4 * i + 3];
            uint32_t r0 = bb_add(bb_add(bb_mont_mul(a0, s0), bb_mont_mul(a1, w3)),
                                 bb_add(bb_mont_mul(a2, w2), bb_mont_mul(a3, w1)));
            uint32_t r1 = bb_add(bb_add(bb_mont_mul(a0, s1), bb_mont_mul(a1, s0)),
                                 bb_add(bb_mont_mul(a2, w3), bb_mont_mul(a3, w2)));
            uint32_t r2 = bb_add(bb_add(bb_mont_mul(a0, s2), bb_mont_mul(a1, s1)),
                                 bb_add(bb_mont_mul(a2, s0), bb_mont_mul(a3, w3)));
            uint32_t r3 = bb_add(bb_add(bb_mont_mul(a0, s3), bb_mont_mul(a1, s2)),
                                 bb_add(bb_mont_mul(a2, s1), bb_mont_mul(a3, s0)));
            o[4 * i] = r0; o[4 * i + 1] = r1; o[4 * i + 2] = r2; o[4 * i + 3] = r3;
        }
        return;
    }
    for (size_t i = begin; i < end; i++)
        for (int j = 0; j < 4; j++) {
            uint32_t x = a[4 * i + j], s = c->s[j];
            o[4 * i + j] = c->op == 1 ? bb_add(x, s) : c->op == 2 ? bb_sub(x, s) : bb_sub(s, x);
        }
}

int zk_ext_scalar_op(uint32_t *out, const uint32_t *a, const uint32_t s[4], size_t n, int op) {
    if (op < 0 || op > 3) return -1;
    scal_ctx c;
    c.out = out;
    c.a = a;
    c.op = op;
    for (int j = 0; j < 4; j++) {
        if (s[j] >= P) return -1;
        c.s[j] = s[j];
        c.sm[j] = bb_to_mont(s[j]);
        c.swm[j] = bb_to_mont((uint32_t)(((uint64_t)s[j] * BB_W) % P));
    }
    zk_parallel_for(n, 8192, scal_range, &c);
    return 0;
}

/* LogUp constraints of one table over a block of LDE rows, added into the VM's accumulators (the numpy
 * formulas of logup.group_constraints / sum_constraints, fused per row so no extension temporaries exist). */
typedef struct {
    const uint32_t *raw;
    size_t n_eval;
    const int32_t *its; /* per interaction: raw offset, tuple length, sign (+1/-1), bus id */
    const int32_t *group_sizes;
    int n_groups;
    const uint32_t *aux;
    size_t aux_stride, n_rows, shift_cur, shift_next;
    bb_ext alpha, fin;
    const bb_ext *betas_m; /* beta^j in Montgomery form: mont_mul(v, .) of a plain v is the plain product */
    const uint32_t (*lam_m)[2][4]; /* n_groups + 3 coefficients as (s·R, W·s·R) */
    uint32_t *acc;
    int failed;
} logup_ctx;

static inline bb_ext ld_ext(const uint32_t *p) {
    bb_ext r;
    for (int j = 0; j < 4; j++) r.c[j] = p[j];
    return r;
}

/* Structure-of-arrays extension values for BLK rows, so gcc vectorises the row loops (as in vm_block). */
typedef struct { uint32_t c[4][BLK]; } ext_blk;

/* r = a * b (r must not alias a or b); formula and Montgomery corrections as bb_ext_mul. */
ZK_CLONES
static void eb_mul(ext_blk *restrict r, const ext_blk *restrict a, const ext_blk *restrict b) {
    const uint32_t R2 = BB_R2_MOD_P, WR2 = 0x308888bbu;
    for (size_t k = 0; k < BLK; k++) {
#define M(i, j) bb_mont_mul(a->c[i][k], b->c[j][k])
        uint32_t lo0 = M(0, 0);
        uint32_t hi0 = bb_add(bb_add(M(1, 3), M(2, 2)), M(3, 1));
        uint32_t lo1 = bb_add(M(0, 1), M(1, 0));
        uint32_t hi1 = bb_add(M(2, 3), M(3, 2));
        uint32_t lo2 = bb_add(bb_add(M(0, 2), M(1, 1)), M(2, 0));
        uint32_t hi2 = M(3, 3);
        uint32_t lo3 = bb_add(bb_add(M(0, 3), M(1, 2)), bb_add(M(2, 1), M(3, 0)));
#undef M
        r->c[0][k] = bb_add(bb_mont_mul(lo0, R2), bb_mont_mul(hi0, WR2));
        r->c[1][k] = bb_add(bb_mont_mul(lo1, R2), bb_mont_mul(hi1, WR2));
        r->c[2][k] = bb_add(bb_mont_mul(lo2, R2), bb_mont_mul(hi2, WR2));
        r->c[3][k] = bb_mont_mul(lo3, R2);
    }
}

/* acc += a * s for an extension constant s given as (s·R, W·s·R) coordinates (see scal_range). */
ZK_CLONES
static void eb_fma_const(ext_blk *restrict acc, const ext_blk *restrict a, const uint32_t sm[4], const uint32_t swm[4]) {
    const uint32_t s0 = sm[0], s1 = sm[1], s2 = sm[2], s3 = sm[3], w1 = swm[1], w2 = swm[2], w3 = swm[3];
    for (size_t k = 0; k < BLK; k++) {
        uint32_t a0 = a->c[0][k], a1 = a->c[1][k], a2 = a->c[2][k], a3 = a->c[3][k];
        uint32_t r0 = bb_add(bb_add(bb_mont_mul(a0, s0), bb_mont_mul(a1, w3)),
                             bb_add(bb_mont_mul(a2, w2), bb_mont_mul(a3, w1)));
        uint32_t r1 = bb_add(bb_add(bb_mont_mul(a0, s1), bb_mont_mul(a1, s0)),
                             bb_add(bb_mont_mul(a2, w3), bb_mont_mul(a3, w2)));
        uint32_t r2 = bb_add(bb_add(bb_mont_mul(a0, s2), bb_mont_mul(a1, s1)),
                             bb_add(bb_mont_mul(a2, s0), bb_mont_mul(a3, w3)));
        uint32_t r3 = bb_add(bb_add(bb_mont_mul(a0, s3), bb_mont_mul(a1, s2)),
                             bb_add(bb_mont_mul(a2, s1), bb_mont_mul(a3, s0)));
        acc->c[0][k] = bb_add(acc->c[0][k], r0);
        acc->c[1][k] = bb_add(acc->c[1][k], r1);
        acc->c[2][k] = bb_add(acc->c[2][k], r2);
        acc->c[3][k] = bb_add(acc->c[3][k], r3);
    }
}

/* d -= v * beta (beta in Montgomery form, v plain: the Montgomery product is the plain product) */
ZK_CLONES
static void eb_sub_base_times(ext_blk *restrict d, const uint32_t *restrict v, const uint32_t bm[4]) {
    for (int q = 0; q < 4; q++) {
        const uint32_t b = bm[q];
        for (size_t k = 0; k < BLK; k++) d->c[q][k] = bb_sub(d->c[q][k], bb_mont_mul(v[k], b));
    }
}

typedef struct {
    ext_blk d[2], h, t, u, total, sum[4], s, sn;
    uint32_t m[2][BLK], v[BLK];
} logup_scratch;

static void load_raw(uint32_t *dst, const uint32_t *src, size_t b) {
    memcpy(dst, src, b * sizeof(uint32_t));
    for (size_t k = b; k < BLK; k++) dst[k] = 0;
}

static void load_aux(ext_blk *dst, const logup_ctx *c, size_t r0, size_t shift, size_t col, size_t b) {
    size_t row = (r0 + shift) % c->n_rows;
    for (size_t k = 0; k < BLK; k++) {
        if (k < b) {
            const uint32_t *p = c->aux + row * c->aux_stride + col;
            for (int q = 0; q < 4; q++) dst->c[q][k] = p[q];
            if (++row == c->n_rows) row = 0;
        } else {
            for (int q = 0; q < 4; q++) dst->c[q][k] = 0;
        }
    }
}

static void logup_block(const logup_ctx *c, logup_scratch *w, const uint32_t (*lam_m)[2][4], size_t r0, size_t b) {
    const size_t n = c->n_eval;
    const int G = c->n_groups;
    memset(&w->total, 0, sizeof(ext_blk));
    memset(&w->sum[0], 0, sizeof(ext_blk));
    const int32_t *it = c->its;
    for (int g = 0; g < G; g++) {
        int sz = c->group_sizes[g];
        for (int k = 0; k < sz; k++, it += 4) {
            const uint32_t *rv = c->raw + (size_t)it[0] * n + r0;
            ext_blk *d = &w->d[k];
            uint32_t a0 = bb_sub(c->alpha.c[0], (uint32_t)it[3]);
            for (size_t z = 0; z < BLK; z++) {
                d->c[0][z] = a0;
                d->c[1][z] = c->alpha.c[1];
                d->c[2][z] = c->alpha.c[2];
                d->c[3][z] = c->alpha.c[3];
            }
            for (int j = 0; j < it[1]; j++) {
                load_raw(w->v, rv + (size_t)j * n, b);
                eb_sub_base_times(d, w->v, c->betas_m[j + 1].c);
            }
            load_raw(w->m[k], rv + (size_t)it[1] * n, b);
            if (it[2] < 0)
                for (size_t z = 0; z < BLK; z++) w->m[k][z] = bb_neg(w->m[k][z]);
        }
        load_aux(&w->h, c, r0, c->shift_cur, 4 * (size_t)g, b);
        for (int q = 0; q < 4; q++)
            for (size_t z = 0; z < BLK; z++) w->total.c[q][z] = bb_add(w->total.c[q][z], w->h.c[q][z]);
        if (sz == 1) {
            eb_mul(&w->t, &w->h, &w->d[0]);  /* h·d - m */
            for (size_t z = 0; z < BLK; z++) w->t.c[0][z] = bb_sub(w->t.c[0][z], w->m[0][z]);
        } else {
            eb_mul(&w->u, &w->h, &w->d[0]);  /* h·d0·d1 - (m0·d1 + m1·d0) */
            eb_mul(&w->t, &w->u, &w->d[1]);
            for (size_t z = 0; z < BLK; z++) {
                uint32_t m0 = bb_to_mont(w->m[0][z]), m1 = bb_to_mont(w->m[1][z]);
                for (int q = 0; q < 4; q++) {
                    uint32_t rhs = bb_add(bb_mont_mul(w->d[1].c[q][z], m0), bb_mont_mul(w->d[0].c[q][z], m1));
                    w->t.c[q][z] = bb_sub(w->t.c[q][z], rhs);
                }
            }
        }
        eb_fma_const(&w->sum[0], &w->t, lam_m[g][0], lam_m[g][1]);
    }
    /* running sum: first S, transition S' - S - total, last F - S - total */
    load_aux(&w->s, c, r0, c->shift_cur, 4 * (size_t)G, b);
    load_aux(&w->sn, c, r0, c->shift_next, 4 * (size_t)G, b);
    memset(&w->sum[1], 0, 3 * sizeof(ext_blk));
    eb_fma_const(&w->sum[2], &w->s, lam_m[G][0], lam_m[G][1]);
    for (int q = 0; q < 4; q++)
        for (size_t z = 0; z < BLK; z++) {
            uint32_t st = bb_add(w->s.c[q][z], w->total.c[q][z]);
            w->t.c[q][z] = bb_sub(w->sn.c[q][z], st);
            w->u.c[q][z] = bb_sub(c->fin.c[q], st);
        }
    eb_fma_const(&w->sum[1], &w->t, lam_m[G + 1][0], lam_m[G + 1][1]);
    eb_fma_const(&w->sum[3], &w->u, lam_m[G + 2][0], lam_m[G + 2][1]);
    for (int kind = 0; kind < 4; kind++)
        for (size_t z = 0; z < b; z++) {
            uint32_t *a = c->acc + ((size_t)kind * n + r0 + z) * 4;
            for (int q = 0; q < 4; q++) a[q] = bb_add(a[q], w->sum[kind].c[q][z]);
        }
}

static void logup_range(void *vctx, size_t begin, size_t end) {
    logup_ctx *c = (logup_ctx *)vctx;
    logup_scratch *w = (logup_scratch *)malloc(sizeof(logup_scratch));
    if (!w) { c->failed = 1; return; }
    for (size_t r0 = begin; r0 < end; r0 += BLK) {
        size_t b = end - r0 < BLK ? end - r0 : BLK;
        logup_block(c, w, c->lam_m, r0, b);
    }
    free(w);
}

/* Validates the interaction descriptors (raw offset, tuple length, sign, bus id) and the LogUp challenges
 * shared by zk_logup_quotient and zk_logup_aux: 0 if usable, -1 otherwise. */
static int check_interactions(int n_raw, const int32_t *its, int n_its, const int32_t *group_sizes, int n_groups,
                              const uint32_t *alpha, const uint32_t *betas, int n_betas) {
    if (n_groups <= 0 || n_betas < 1) return -1;
    int count = 0;
    for (int g = 0; g < n_groups; g++) {
        if (group_sizes[g] < 1 || group_sizes[g] > 2) return -1;
        count += group_sizes[g];
    }
    if (count != n_its) return -1;
    for (int i = 0; i < n_its; i++) {
        const int32_t *it = its + 4 * (size_t)i;
        if (it[0] < 0 || it[1] < 0 || it[1] + 1 > n_betas || it[0] + it[1] >= n_raw) return -1;
        if ((it[2] != 1 && it[2] != -1) || (uint32_t)it[3] >= P) return -1;
    }
    for (int j = 0; j < 4 * n_betas; j++) if (betas[j] >= P) return -1;
    for (int j = 0; j < 4; j++) if (alpha[j] >= P) return -1;
    return 0;
}

int zk_logup_quotient(const uint32_t *raw, int n_raw, size_t n_eval, const int32_t *its, int n_its,
                      const int32_t *group_sizes, int n_groups, const uint32_t *aux, size_t aux_stride,
                      size_t n_rows, size_t shift_cur, size_t shift_next, const uint32_t *alpha,
                      const uint32_t *betas, int n_betas, const uint32_t *fin, const uint32_t *lam,
                      uint32_t *acc) {
    if (n_rows == 0 || aux_stride < 4 * (size_t)(n_groups + 1)) return -1;
    if (check_interactions(n_raw, its, n_its, group_sizes, n_groups, alpha, betas, n_betas)) return -1;
    for (int j = 0; j < 4 * (n_groups + 3); j++) if (lam[j] >= P) return -1;
    for (int j = 0; j < 4; j++) if (fin[j] >= P) return -1;
    bb_ext *bm = (bb_ext *)malloc(sizeof(bb_ext) * (size_t)n_betas);
    uint32_t (*lm)[2][4] = (uint32_t (*)[2][4])malloc(sizeof(uint32_t[2][4]) * (size_t)(n_groups + 3));
    if (!bm || !lm) { free(bm); free(lm); return -2; }
    for (int j = 0; j < n_betas; j++)
        for (int q = 0; q < 4; q++) bm[j].c[q] = bb_to_mont(betas[4 * j + q]);
    for (int g = 0; g < n_groups + 3; g++)
        for (int q = 0; q < 4; q++) {
            lm[g][0][q] = bb_to_mont(lam[4 * g + q]);
            lm[g][1][q] = bb_to_mont((uint32_t)(((uint64_t)lam[4 * g + q] * BB_W) % P));
        }
    logup_ctx c = {raw, n_eval, its, group_sizes, n_groups, aux, aux_stride, n_rows, shift_cur, shift_next,
                   ld_ext(alpha), ld_ext(fin), bm, (const uint32_t (*)[2][4])lm, acc, 0};
    zk_parallel_for(n_eval, 4096, logup_range, &c);
    free(bm);
    free(lm);
    return c.failed ? -2 : 0;
}

/* The LogUp h columns on the trace rows: h_g = sum_{k in g} sign_k·m_k / d_k, with all denominators of a row
 * block inverted together (Montgomery's trick across interactions, one extension inversion per row). */
typedef struct {
    const uint32_t *raw;
    size_t n;
    const int32_t *its;
    int n_its;
    const int32_t *group_sizes;
    int n_groups;
    bb_ext alpha;
    const bb_ext *betas_m;
    uint32_t *out;
    int failed, bad_it;
} aux_ctx;

static void aux_range(void *vctx, size_t begin, size_t end) {
    aux_ctx *c = (aux_ctx *)vctx;
    const int N = c->n_its;
    ext_blk *d = (ext_blk *)malloc(sizeof(ext_blk) * (size_t)(2 * N + 2));
    uint32_t *v = (uint32_t *)malloc(sizeof(uint32_t) * BLK);
    if (!d || !v) { free(d); free(v); c->failed = -2; return; }
    ext_blk *pre = d + N, *inv = d + 2 * N, *tmp = d + 2 * N + 1;
    const size_t w = 4 * (size_t)c->n_groups;
    for (size_t r0 = begin; r0 < end; r0 += BLK) {
        size_t b = end - r0 < BLK ? end - r0 : BLK;
        for (int i = 0; i < N; i++) {
            const int32_t *it = c->its + 4 * (size_t)i;
            const uint32_t *rv = c->raw + (size_t)it[0] * c->n + r0;
            uint32_t a0 = bb_sub(c->alpha.c[0], (uint32_t)it[3]);
            for (size_t z = 0; z < BLK; z++) {
                d[i].c[0][z] = a0;
                d[i].c[1][z] = c->alpha.c[1];
                d[i].c[2][z] = c->alpha.c[2];
                d[i].c[3][z] = c->alpha.c[3];
            }
            for (int j = 0; j < it[1]; j++) {
                load_raw(v, rv + (size_t)j * c->n, b);
                eb_sub_base_times(&d[i], v, c->betas_m[j + 1].c);
            }
            for (size_t z = 0; z < b; z++)
                if ((d[i].c[0][z] | d[i].c[1][z] | d[i].c[2][z] | d[i].c[3][z]) == 0) {
                    c->failed = -3;
                    c->bad_it = i;
                    free(d); free(v);
                    return;
                }
            for (size_t z = b; z < BLK; z++) {  /* padding lanes: 1, so the products stay invertible */
                d[i].c[0][z] = 1;
                d[i].c[1][z] = d[i].c[2][z] = d[i].c[3][z] = 0;
            }
            if (i == 0) memcpy(&pre[0], &d[0], sizeof(ext_blk));
            else eb_mul(&pre[i], &pre[i - 1], &d[i]);
        }
        for (size_t z = 0; z < BLK; z++) {
            bb_ext e = {{pre[N - 1].c[0][z], pre[N - 1].c[1][z], pre[N - 1].c[2][z], pre[N - 1].c[3][z]}};
            bb_ext r = bb_ext_inv(e);
            for (int q = 0; q < 4; q++) inv->c[q][z] = r.c[q];
        }
        /* back-propagate: 1/d_i = inv·pre_{i-1}, then inv <- inv·d_i; d_i is overwritten by its inverse */
        for (int i = N - 1; i >= 0; i--) {
            if (i > 0) {
                eb_mul(tmp, inv, &pre[i - 1]);
                eb_mul(&pre[i], inv, &d[i]);  /* pre[i] is no longer needed: reuse it as the next inv */
                memcpy(inv, &pre[i], sizeof(ext_blk));
                memcpy(&d[i], tmp, sizeof(ext_blk));
            } else {
                memcpy(&d[0], inv, sizeof(ext_blk));
            }
        }
        const int32_t *it = c->its;
        int i = 0;
        for (int g = 0; g < c->n_groups; g++) {
            ext_blk *h = tmp;
            memset(h, 0, sizeof(ext_blk));
            for (int k = 0; k < c->group_sizes[g]; k++, i++, it += 4) {
                const uint32_t *mv = c->raw + ((size_t)it[0] + (size_t)it[1]) * c->n + r0;
                load_raw(v, mv, b);
                for (size_t z = 0; z < BLK; z++) {
                    uint32_t m = bb_to_mont(it[2] > 0 ? v[z] : bb_neg(v[z]));
                    for (int q = 0; q < 4; q++) h->c[q][z] = bb_add(h->c[q][z], bb_mont_mul(d[i].c[q][z], m));
                }
            }
            for (size_t z = 0; z < b; z++)
                for (int q = 0; q < 4; q++) c->out[(r0 + z) * w + 4 * (size_t)g + q] = h->c[q][z];
        }
    }
    free(d);
    free(v);
}

int zk_logup_aux(const uint32_t *raw, int n_raw, size_t n, const int32_t *its, int n_its, const int32_t *group_sizes,
                 int n_groups, const uint32_t *alpha, const uint32_t *betas, int n_betas, uint32_t *out,
                 int *bad_it) {
    if (n == 0) return -1;
    if (check_interactions(n_raw, its, n_its, group_sizes, n_groups, alpha, betas, n_betas)) return -1;
    bb_ext *bm = (bb_ext *)malloc(sizeof(bb_ext) * (size_t)n_betas);
    if (!bm) return -2;
    for (int j = 0; j < n_betas; j++)
        for (int q = 0; q < 4; q++) bm[j].c[q] = bb_to_mont(betas[4 * j + q]);
    aux_ctx c = {raw, n, its, n_its, group_sizes, n_groups, ld_ext(alpha), bm, out, 0, -1};
    zk_parallel_for(n, 4096, aux_range, &c);
    free(bm);
    if (c.failed == -3 && bad_it) *bad_it = c.bad_it;
    return c.failed;
}

/* Quotient of one row block from the VM accumulators: with x = x0·omega^k, u = x - 1, v = x - g_last and
 * Z_H(x) = zh_period[(r0 + k) mod blow],  Q = ((A + T·v)·u·v + (F·v + L·u)·Z_H) / (u·v·Z_H)
 * (the formula of prover._quotient; denominators inverted per thread chunk with Montgomery's trick). */
typedef struct {
    const uint32_t *acc;
    size_t b, r0, blow;
    uint32_t x0, omega, g_last;
    const uint32_t *zh;
    uint32_t *out;
    int failed;
} qfin_ctx;

static void qfin_range(void *vctx, size_t begin, size_t end) {
    qfin_ctx *c = (qfin_ctx *)vctx;
    size_t m = end - begin;
    uint32_t *den = (uint32_t *)malloc(sizeof(uint32_t) * 2 * m);
    if (!den) { c->failed = -2; return; }
    uint32_t *pre = den + m;
    uint32_t x = bb_mul(c->x0, bb_pow(c->omega, begin));
    uint32_t prod = 1;
    for (size_t i = 0; i < m; i++) {
        size_t k = begin + i;
        uint32_t u = bb_sub(x, 1), v = bb_sub(x, c->g_last), zh = c->zh[(c->r0 + k) % c->blow];
        uint32_t uv = bb_mul(u, v);
        den[i] = bb_mul(uv, zh);
        pre[i] = prod;
        prod = bb_mul(prod, den[i]);
        /* numerator into out (plain values) */
        const uint32_t *A = c->acc + (0 * c->b + k) * 4, *T = c->acc + (1 * c->b + k) * 4;
        const uint32_t *F = c->acc + (2 * c->b + k) * 4, *L = c->acc + (3 * c->b + k) * 4;
        uint32_t vm = bb_to_mont(v), um = bb_to_mont(u), uvm = bb_to_mont(uv), zhm = bb_to_mont(zh);
        for (int q = 0; q < 4; q++) {
            uint32_t inner = bb_add(A[q], bb_mont_mul(T[q], vm));
            uint32_t bnd = bb_add(bb_mont_mul(F[q], vm), bb_mont_mul(L[q], um));
            c->out[k * 4 + q] = bb_add(bb_mont_mul(inner, uvm), bb_mont_mul(bnd, zhm));
        }
        x = bb_mul(x, c->omega);
    }
    if (prod == 0) { free(den); c->failed = -3; return; }
    uint32_t inv = bb_inv(prod);
    for (size_t i = m; i-- > 0;) {
        uint32_t di = bb_mul(inv, pre[i]);  /* 1/den[i] */
        inv = bb_mul(inv, den[i]);
        uint32_t dm = bb_to_mont(di);
        uint32_t *o = c->out + (begin + i) * 4;
        for (int q = 0; q < 4; q++) o[q] = bb_mont_mul(o[q], dm);
    }
    free(den);
}

int zk_quotient_finish(const uint32_t *acc, size_t b, size_t r0, uint32_t x0, uint32_t omega, uint32_t g_last,
                       const uint32_t *zh_period, size_t blow, uint32_t *out) {
    if (blow == 0 || x0 >= P || omega >= P || g_last >= P) return -1;
    for (size_t i = 0; i < blow; i++) if (zh_period[i] >= P) return -1;
    qfin_ctx c = {acc, b, r0, blow, x0, omega, g_last, zh_period, out, 0};
    zk_parallel_for(b, 4096, qfin_range, &c);
    return c.failed;
}
