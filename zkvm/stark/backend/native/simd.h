/* Row kernels (one twiddle / one scale factor applied across a contiguous run of values) and elementwise
 * field kernels, each in a portable scalar version and AVX2 / AVX-512 versions chosen at run time by
 * __builtin_cpu_supports, so one build runs on any x86-64 (and the scalar code on anything gcc targets). */
#ifndef ZKVM_SIMD_H
#define ZKVM_SIMD_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    /* DIT butterfly across w values: t = y*tw; x = x + t; y = x - t   (tw in Montgomery form) */
    void (*dit)(uint32_t *x, uint32_t *y, size_t w, uint32_t tw_m);
    /* DIF butterfly: x = x + y; y = (x - y)*tw */
    void (*dif)(uint32_t *x, uint32_t *y, size_t w, uint32_t tw_m);
    /* the same with the twiddle as a Shoup pair: tw in normal form and tw_sh = floor(tw * 2^32 / p), which
     * makes the product y*tw two low multiplications and one high one (vs three full ones for Montgomery) */
    void (*dit_sh)(uint32_t *x, uint32_t *y, size_t w, uint32_t tw, uint32_t tw_sh);
    void (*dif_sh)(uint32_t *x, uint32_t *y, size_t w, uint32_t tw, uint32_t tw_sh);
    /* the same with one twiddle per element (tw[i] for x[i], y[i]), for narrow matrices */
    void (*dit_v)(uint32_t *x, uint32_t *y, size_t n, const uint32_t *tw_m);
    void (*dif_v)(uint32_t *x, uint32_t *y, size_t n, const uint32_t *tw_m);
    /* dst = src * f (f in Montgomery form); dst may equal src */
    void (*scale)(uint32_t *dst, const uint32_t *src, size_t w, uint32_t f_m);
    /* elementwise on canonical values */
    void (*add)(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
    void (*sub)(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
    void (*mul)(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
    /* dst = canonical(src) for any uint32 input */
    void (*reduce)(uint32_t *dst, const uint32_t *src, size_t n);
    /* dst = src (scale: times f, Montgomery) with non-temporal stores where aligned: for output that will
     * not be read again before it has left the caches. Call fence() before handing the data over. */
    void (*stream_copy)(uint32_t *dst, const uint32_t *src, size_t n);
    void (*stream_scale)(uint32_t *dst, const uint32_t *src, size_t n, uint32_t f_m);
    void (*fence)(void);
    /* extension GF(p^4), interleaved uint32[n][4]: out = a * b, and out = a * b_base (b uint32[n]) */
    void (*ext_mul)(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
    void (*ext_mul_base)(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
    const char *name;
} zk_rowops;

/* 0 = scalar, 1 = AVX2, 2 = AVX-512F: the best the CPU supports unless forced lower. */
const zk_rowops *zk_ops(void);
int zk_simd_level(void);
/* Force a level (for tests/benchmarks); returns the level actually in effect (capped by the CPU). */
int zk_force_simd_level(int level);

#endif
