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
