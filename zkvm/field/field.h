/* BabyBear p = 15*2^27 + 1 and its quartic extension F[x]/(x^4 - 11), for C hot loops.
 *
 * Values passed in and out are canonical uint32 in [0, p) ("normal form", the same representation numpy
 * uses). Multiplication is Montgomery with R = 2^32: bb_mont_mul(a, b) = a*b/R mod p, so a constant that is
 * stored pre-multiplied by R (bb_to_mont) multiplies a normal-form value with a single reduction; this is how
 * twiddle factors are kept. bb_mul(a, b) multiplies two normal-form values (two reductions).
 * Everything is branch-free (min-based conditional subtraction, which compilers turn into cmov / vpminud).
 */
#ifndef ZKVM_FIELD_H
#define ZKVM_FIELD_H

#include <stdint.h>

#define BB_P 0x78000001u           /* 2013265921 */
#define BB_MU 0x88000001u          /* p^-1 mod 2^32 */
#define BB_R_MOD_P 0x0ffffffeu     /* 2^32 mod p */
#define BB_R2_MOD_P 0x45dddde3u    /* 2^64 mod p */
#define BB_W 11u                   /* x^4 = W in the extension */
#define BB_GENERATOR 31u

static inline uint32_t bb_add(uint32_t a, uint32_t b) {
    uint32_t s = a + b;            /* < 2p < 2^32 */
    uint32_t r = s - BB_P;
    return r < s ? r : s;          /* s >= p: r = s - p < s;  s < p: r wrapped above s */
}

static inline uint32_t bb_sub(uint32_t a, uint32_t b) {
    uint32_t d = a - b;
    uint32_t r = d + BB_P;
    return r < d ? r : d;          /* a < b: d wrapped (>= 2^32 - p), d + p wraps back below d */
}

static inline uint32_t bb_neg(uint32_t a) { return bb_sub(0, a); }

/* x < p * 2^32  ->  x / 2^32 mod p, canonical. */
static inline uint32_t bb_mont_reduce(uint64_t x) {
    uint32_t q = (uint32_t)x * BB_MU;                  /* x - q*p == 0 mod 2^32 */
    uint64_t qp = (uint64_t)q * BB_P;
    uint32_t d = (uint32_t)(x >> 32) - (uint32_t)(qp >> 32);   /* exact: the low halves are equal */
    uint32_t r = d + BB_P;
    return r < d ? r : d;
}

static inline uint32_t bb_mont_mul(uint32_t a, uint32_t b) { return bb_mont_reduce((uint64_t)a * b); }
static inline uint32_t bb_to_mont(uint32_t a) { return bb_mont_mul(a, BB_R2_MOD_P); }
static inline uint32_t bb_from_mont(uint32_t a) { return bb_mont_reduce(a); }
static inline uint32_t bb_mul(uint32_t a, uint32_t b) { return bb_mont_mul(bb_mont_mul(a, b), BB_R2_MOD_P); }

static inline uint32_t bb_pow(uint32_t a, uint64_t e) {
    uint32_t r = 1;
    while (e) {
        if (e & 1) r = bb_mul(r, a);
        a = bb_mul(a, a);
        e >>= 1;
    }
    return r;
}

/* Fermat; bb_inv(0) == 0 (callers check for zero where it matters). */
static inline uint32_t bb_inv(uint32_t a) { return bb_pow(a, BB_P - 2); }

/* Reduce any uint32 to canonical (2^32 - 1 < 3p). */
static inline uint32_t bb_reduce32(uint32_t a) {
    uint32_t r = a - BB_P;
    a = r < a ? r : a;
    r = a - BB_P;
    return r < a ? r : a;
}

/* ------------------------------------------------------------------ extension GF(p^4) */

typedef struct { uint32_t c[4]; } bb_ext;

static inline bb_ext bb_ext_add(bb_ext a, bb_ext b) {
    bb_ext r;
    for (int i = 0; i < 4; i++) r.c[i] = bb_add(a.c[i], b.c[i]);
    return r;
}

static inline bb_ext bb_ext_sub(bb_ext a, bb_ext b) {
    bb_ext r;
    for (int i = 0; i < 4; i++) r.c[i] = bb_sub(a.c[i], b.c[i]);
    return r;
}

static inline bb_ext bb_ext_mul_base(bb_ext a, uint32_t b) {
    uint32_t bm = bb_to_mont(b);
    bb_ext r;
    for (int i = 0; i < 4; i++) r.c[i] = bb_mont_mul(a.c[i], bm);
    return r;
}

/* Schoolbook product; each partial product is reduced once (a*b/R), the sums of partials are corrected
 * back to normal form by one multiplication with R^2 (or W*R^2 for the wrapped-around terms). */
static inline bb_ext bb_ext_mul(bb_ext a, bb_ext b) {
    const uint32_t R2 = BB_R2_MOD_P;
    const uint32_t WR2 = 0x308888bbu; /* W * 2^64 mod p, checked by bb_selftest() */
#define M(i, j) bb_mont_mul(a.c[i], b.c[j])
    uint32_t lo0 = M(0, 0);
    uint32_t hi0 = bb_add(bb_add(M(1, 3), M(2, 2)), M(3, 1));
    uint32_t lo1 = bb_add(M(0, 1), M(1, 0));
    uint32_t hi1 = bb_add(M(2, 3), M(3, 2));
    uint32_t lo2 = bb_add(bb_add(M(0, 2), M(1, 1)), M(2, 0));
    uint32_t hi2 = M(3, 3);
    uint32_t lo3 = bb_add(bb_add(M(0, 3), M(1, 2)), bb_add(M(2, 1), M(3, 0)));
#undef M
    bb_ext r;
    r.c[0] = bb_add(bb_mont_mul(lo0, R2), bb_mont_mul(hi0, WR2));
    r.c[1] = bb_add(bb_mont_mul(lo1, R2), bb_mont_mul(hi1, WR2));
    r.c[2] = bb_add(bb_mont_mul(lo2, R2), bb_mont_mul(hi2, WR2));
    r.c[3] = bb_mont_mul(lo3, R2);
    return r;
}

/* Inverse through the norm: a(x)*a(-x) = b0 + b1 x^2, N = b0^2 - W b1^2 in F,
 * a^-1 = a(-x) (b0 - b1 x^2) / N. Returns 0 for 0. */
static inline void bb_ext_norm_parts(bb_ext a, uint32_t *b0, uint32_t *b1, uint32_t *norm) {
    uint32_t w_a1a3 = bb_mul(BB_W, bb_mul(a.c[1], a.c[3]));
    *b0 = bb_sub(bb_add(bb_mul(a.c[0], a.c[0]), bb_mul(BB_W, bb_mul(a.c[2], a.c[2]))), bb_add(w_a1a3, w_a1a3));
    uint32_t a0a2 = bb_mul(a.c[0], a.c[2]);
    *b1 = bb_sub(bb_sub(bb_add(a0a2, a0a2), bb_mul(a.c[1], a.c[1])), bb_mul(BB_W, bb_mul(a.c[3], a.c[3])));
    *norm = bb_sub(bb_mul(*b0, *b0), bb_mul(BB_W, bb_mul(*b1, *b1)));
}

static inline bb_ext bb_ext_inv_with(bb_ext a, uint32_t b0, uint32_t b1, uint32_t ninv) {
    bb_ext r;
    r.c[0] = bb_mul(bb_sub(bb_mul(a.c[0], b0), bb_mul(BB_W, bb_mul(a.c[2], b1))), ninv);
    r.c[1] = bb_mul(bb_sub(bb_mul(BB_W, bb_mul(a.c[3], b1)), bb_mul(a.c[1], b0)), ninv);
    r.c[2] = bb_mul(bb_sub(bb_mul(a.c[2], b0), bb_mul(a.c[0], b1)), ninv);
    r.c[3] = bb_mul(bb_sub(bb_mul(a.c[1], b1), bb_mul(a.c[3], b0)), ninv);
    return r;
}

static inline bb_ext bb_ext_inv(bb_ext a) {
    uint32_t b0, b1, norm;
    bb_ext_norm_parts(a, &b0, &b1, &norm);
    return bb_ext_inv_with(a, b0, b1, bb_inv(norm));
}

/* Sanity check of the constants above; returns 0 when they are consistent. */
static inline int bb_selftest(void) {
    if ((uint32_t)(BB_P * BB_MU) != 1u) return 1;
    if (((uint64_t)1 << 32) % BB_P != BB_R_MOD_P) return 2;
    if ((uint64_t)BB_R_MOD_P * BB_R_MOD_P % BB_P != BB_R2_MOD_P) return 3;
    if ((uint64_t)BB_W * BB_R2_MOD_P % BB_P != 0x308888bbu) return 4;
    return 0;
}

#endif
