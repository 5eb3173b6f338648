#include "simd.h"

#include <stdint.h>
#include <string.h>

#include "field.h"

#if defined(__x86_64__) || defined(__i386__)
#define ZK_X86 1
#include <immintrin.h>
#endif

/* ------------------------------------------------------------------ scalar */

static void dit_scalar(uint32_t *x, uint32_t *y, size_t w, uint32_t tw) {
    for (size_t i = 0; i < w; i++) {
        uint32_t t = bb_mont_mul(y[i], tw), a = x[i];
        x[i] = bb_add(a, t);
        y[i] = bb_sub(a, t);
    }
}

static void dif_scalar(uint32_t *x, uint32_t *y, size_t w, uint32_t tw) {
    for (size_t i = 0; i < w; i++) {
        uint32_t a = x[i], b = y[i];
        x[i] = bb_add(a, b);
        y[i] = bb_mont_mul(bb_sub(a, b), tw);
    }
}

/* y * tw mod p for any uint32 y, tw < p, tw_sh = floor(tw 2^32 / p): r = y tw - q p lies in [0, 2p). */
static inline uint32_t shoup_mul(uint32_t y, uint32_t tw, uint32_t tw_sh) {
    uint32_t q = (uint32_t)(((uint64_t)y * tw_sh) >> 32);
    uint32_t r = y * tw - q * BB_P;
    uint32_t r2 = r - BB_P;
    return r2 < r ? r2 : r;
}

static void dit_sh_scalar(uint32_t *x, uint32_t *y, size_t w, uint32_t tw, uint32_t tw_sh) {
    for (size_t i = 0; i < w; i++) {
        uint32_t t = shoup_mul(y[i], tw, tw_sh), a = x[i];
        x[i] = bb_add(a, t);
        y[i] = bb_sub(a, t);
    }
}

static void dif_sh_scalar(uint32_t *x, uint32_t *y, size_t w, uint32_t tw, uint32_t tw_sh) {
    for (size_t i = 0; i < w; i++) {
        uint32_t a = x[i], b = y[i];
        x[i] = bb_add(a, b);
        y[i] = shoup_mul(bb_sub(a, b), tw, tw_sh);
    }
}

static void dit_v_scalar(uint32_t *x, uint32_t *y, size_t n, const uint32_t *tw) {
    for (size_t i = 0; i < n; i++) {
        uint32_t t = bb_mont_mul(y[i], tw[i]), a = x[i];
        x[i] = bb_add(a, t);
        y[i] = bb_sub(a, t);
    }
}

static void dif_v_scalar(uint32_t *x, uint32_t *y, size_t n, const uint32_t *tw) {
    for (size_t i = 0; i < n; i++) {
        uint32_t a = x[i], b = y[i];
        x[i] = bb_add(a, b);
        y[i] = bb_mont_mul(bb_sub(a, b), tw[i]);
    }
}

static void scale_scalar(uint32_t *dst, const uint32_t *src, size_t w, uint32_t f) {
    for (size_t i = 0; i < w; i++) dst[i] = bb_mont_mul(src[i], f);
}

static void add_scalar(uint32_t *o, const uint32_t *a, const uint32_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) o[i] = bb_add(a[i], b[i]);
}

static void sub_scalar(uint32_t *o, const uint32_t *a, const uint32_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) o[i] = bb_sub(a[i], b[i]);
}

static void mul_scalar(uint32_t *o, const uint32_t *a, const uint32_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) o[i] = bb_mul(a[i], b[i]);
}

static void reduce_scalar(uint32_t *dst, const uint32_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = bb_reduce32(src[i]);
}

static void copy_scalar(uint32_t *dst, const uint32_t *src, size_t n) { memcpy(dst, src, n * sizeof(uint32_t)); }
static void fence_none(void) {}

static void ext_mul_scalar(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        bb_ext x, y;
        memcpy(x.c, a + 4 * i, sizeof x.c);
        memcpy(y.c, b + 4 * i, sizeof y.c);
        bb_ext r = bb_ext_mul(x, y);
        memcpy(out + 4 * i, r.c, sizeof r.c);
    }
}

static void ext_mul_base_scalar(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t bm = bb_to_mont(b[i]);
        for (int k = 0; k < 4; k++) out[4 * i + k] = bb_mont_mul(a[4 * i + k], bm);
    }
}

static const zk_rowops ops_scalar = {dit_scalar, dif_scalar, dit_sh_scalar, dif_sh_scalar, dit_v_scalar, dif_v_scalar, scale_scalar, add_scalar, sub_scalar, mul_scalar,
                                     reduce_scalar, copy_scalar, scale_scalar, fence_none,
                                     ext_mul_scalar, ext_mul_base_scalar, "scalar"};

#ifdef ZK_X86
/* ------------------------------------------------------------------ AVX2 (8 lanes) */
#define AVX2 __attribute__((target("avx2")))

/* Montgomery product of canonical lanes: a*b/2^32 mod p. Even and odd lanes go through vpmuludq separately;
 * q = prod*mu mod 2^32 makes prod - q*p divisible by 2^32, so its high half is prod_hi - qp_hi exactly. */
/* b_odd holds b's odd lanes in the even positions (vpmuludq reads only those). */
AVX2 static inline __m256i mont_mul8_eo(__m256i a, __m256i b, __m256i b_odd) {
    const __m256i P = _mm256_set1_epi32((int)BB_P), MU = _mm256_set1_epi32((int)BB_MU);
    __m256i pe = _mm256_mul_epu32(a, b);
    __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), b_odd);
    __m256i qe = _mm256_mul_epu32(_mm256_mul_epu32(pe, MU), P);
    __m256i qo = _mm256_mul_epu32(_mm256_mul_epu32(po, MU), P);
    __m256i ph = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
    __m256i qh = _mm256_blend_epi32(_mm256_srli_epi64(qe, 32), qo, 0xAA);
    __m256i d = _mm256_sub_epi32(ph, qh);
    return _mm256_min_epu32(d, _mm256_add_epi32(d, P));
}

AVX2 static inline __m256i mont_mul8(__m256i a, __m256i b) { return mont_mul8_eo(a, b, _mm256_srli_epi64(b, 32)); }

/* Same with b broadcast (one constant): its odd lanes equal its even lanes, saving a shift. */
AVX2 static inline __m256i mont_mul8_c(__m256i a, __m256i c) { return mont_mul8_eo(a, c, c); }

AVX2 static inline __m256i add8(__m256i a, __m256i b) {
    __m256i s = _mm256_add_epi32(a, b);
    return _mm256_min_epu32(s, _mm256_sub_epi32(s, _mm256_set1_epi32((int)BB_P)));
}

AVX2 static inline __m256i sub8(__m256i a, __m256i b) {
    __m256i d = _mm256_sub_epi32(a, b);
    return _mm256_min_epu32(d, _mm256_add_epi32(d, _mm256_set1_epi32((int)BB_P)));
}

#define LD8(p) _mm256_loadu_si256((const __m256i *)(p))
#define ST8(p, v) _mm256_storeu_si256((__m256i *)(p), (v))

AVX2 static inline __m256i shoup_mul8(__m256i y, __m256i tw, __m256i tw_sh) {
    const __m256i P = _mm256_set1_epi32((int)BB_P);
    __m256i qe = _mm256_mul_epu32(y, tw_sh);
    __m256i qo = _mm256_mul_epu32(_mm256_srli_epi64(y, 32), tw_sh);
    __m256i q = _mm256_blend_epi32(_mm256_srli_epi64(qe, 32), qo, 0xAA);
    __m256i r = _mm256_sub_epi32(_mm256_mullo_epi32(y, tw), _mm256_mullo_epi32(q, P));
    return _mm256_min_epu32(r, _mm256_sub_epi32(r, P));
}

#define SIMD_TARGET AVX2
#define SIMD_SUFFIX avx2
#define VEC __m256i
#define LANES 8
#define LD(p) LD8(p)
#define ST(p, v) ST8(p, v)
#define STREAM(p, v) _mm256_stream_si256((__m256i *)(p), (v))
#define SET1(x) _mm256_set1_epi32(x)
#define VMIN(a, b) _mm256_min_epu32(a, b)
#define VSUB32(a, b) _mm256_sub_epi32(a, b)
#define ADD(a, b) add8(a, b)
#define SUB(a, b) sub8(a, b)
#define MONT(a, b) mont_mul8(a, b)
#define MONT_C(a, c) mont_mul8_c(a, c)
#define SHOUP(y, tw, tw_sh) shoup_mul8(y, tw, tw_sh)
#include "simd_rowops.h"

static void fence_sse(void) { _mm_sfence(); }

/* Extension products with one element per 128-bit lane: lane k of element e needs
 * sum_i a_i * b_{(k-i) mod 4} * (W if i > k). For each i, a_i is broadcast inside the lane and b rotated by
 * i (vpshufd works per 128-bit lane); b is first turned into Montgomery form times W on the wrapped lanes,
 * so each partial product is one Montgomery multiplication landing directly in normal form. */
#define EXT_WR2 0x308888bbu /* W * 2^64 mod p */
#define EXT_R2 BB_R2_MOD_P

AVX2 static void ext_mul_avx2(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) {
    const __m256i C0 = _mm256_set1_epi32((int)EXT_R2);
    const __m256i C1 = _mm256_setr_epi32(EXT_WR2, EXT_R2, EXT_R2, EXT_R2, EXT_WR2, EXT_R2, EXT_R2, EXT_R2);
    const __m256i C2 = _mm256_setr_epi32(EXT_WR2, EXT_WR2, EXT_R2, EXT_R2, EXT_WR2, EXT_WR2, EXT_R2, EXT_R2);
    const __m256i C3 = _mm256_setr_epi32(EXT_WR2, EXT_WR2, EXT_WR2, EXT_R2, EXT_WR2, EXT_WR2, EXT_WR2, EXT_R2);
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        __m256i va = LD8(a + 4 * i), vb = LD8(b + 4 * i);
        __m256i acc = mont_mul8(_mm256_shuffle_epi32(va, 0x00), mont_mul8(vb, C0));
        acc = add8(acc, mont_mul8(_mm256_shuffle_epi32(va, 0x55), mont_mul8(_mm256_shuffle_epi32(vb, 0x93), C1)));
        acc = add8(acc, mont_mul8(_mm256_shuffle_epi32(va, 0xAA), mont_mul8(_mm256_shuffle_epi32(vb, 0x4E), C2)));
        acc = add8(acc, mont_mul8(_mm256_shuffle_epi32(va, 0xFF), mont_mul8(_mm256_shuffle_epi32(vb, 0x39), C3)));
        ST8(out + 4 * i, acc);
    }
    ext_mul_scalar(out + 4 * i, a + 4 * i, b + 4 * i, n - i);
}

AVX2 static void ext_mul_base_avx2(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) {
    const __m256i R2 = _mm256_set1_epi32((int)EXT_R2);
    const __m256i IDX = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        __m256i vb = _mm256_permutevar8x32_epi32(_mm256_castsi128_si256(_mm_loadl_epi64((const __m128i *)(b + i))), IDX);
        ST8(out + 4 * i, mont_mul8(LD8(a + 4 * i), mont_mul8(vb, R2)));
    }
    ext_mul_base_scalar(out + 4 * i, a + 4 * i, b + i, n - i);
}

static const zk_rowops ops_avx2 = {dit_avx2, dif_avx2, dit_sh_avx2, dif_sh_avx2, dit_v_avx2, dif_v_avx2, scale_avx2, add_avx2, sub_avx2, mul_avx2,
                                   reduce_avx2, stream_copy_avx2, stream_scale_avx2, fence_sse,
                                   ext_mul_avx2, ext_mul_base_avx2, "avx2"};

/* ------------------------------------------------------------------ AVX-512F (16 lanes) */
#define AVX512 __attribute__((target("avx512f")))

/* As mont_mul8_eo, 16 lanes. */
AVX512 static inline __m512i mont_mul16_eo(__m512i a, __m512i b, __m512i b_odd) {
    const __m512i P = _mm512_set1_epi32((int)BB_P), MU = _mm512_set1_epi32((int)BB_MU);
    __m512i pe = _mm512_mul_epu32(a, b);
    __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), b_odd);
    __m512i qe = _mm512_mul_epu32(_mm512_mul_epu32(pe, MU), P);
    __m512i qo = _mm512_mul_epu32(_mm512_mul_epu32(po, MU), P);
    __m512i ph = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);
    __m512i qh = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(qe, 32), qo);
    __m512i d = _mm512_sub_epi32(ph, qh);
    return _mm512_min_epu32(d, _mm512_add_epi32(d, P));
}

AVX512 static inline __m512i mont_mul16(__m512i a, __m512i b) { return mont_mul16_eo(a, b, _mm512_srli_epi64(b, 32)); }

AVX512 static inline __m512i mont_mul16_c(__m512i a, __m512i c) { return mont_mul16_eo(a, c, c); }

AVX512 static inline __m512i add16(__m512i a, __m512i b) {
    __m512i s = _mm512_add_epi32(a, b);
    return _mm512_min_epu32(s, _mm512_sub_epi32(s, _mm512_set1_epi32((int)BB_P)));
}

AVX512 static inline __m512i sub16(__m512i a, __m512i b) {
    __m512i d = _mm512_sub_epi32(a, b);
    return _mm512_min_epu32(d, _mm512_add_epi32(d, _mm512_set1_epi32((int)BB_P)));
}

#define LD16(p) _mm512_loadu_si512((const void *)(p))
#define ST16(p, v) _mm512_storeu_si512((void *)(p), (v))

AVX512 static inline __m512i shoup_mul16(__m512i y, __m512i tw, __m512i tw_sh) {
    const __m512i P = _mm512_set1_epi32((int)BB_P);
    __m512i qe = _mm512_mul_epu32(y, tw_sh);
    __m512i qo = _mm512_mul_epu32(_mm512_srli_epi64(y, 32), tw_sh);
    __m512i q = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(qe, 32), qo);
    __m512i r = _mm512_sub_epi32(_mm512_mullo_epi32(y, tw), _mm512_mullo_epi32(q, P));
    return _mm512_min_epu32(r, _mm512_sub_epi32(r, P));
}

#define SIMD_TARGET AVX512
#define SIMD_SUFFIX avx512
#define VEC __m512i
#define LANES 16
#define LD(p) LD16(p)
#define ST(p, v) ST16(p, v)
#define STREAM(p, v) _mm512_stream_si512((void *)(p), (v))
#define SET1(x) _mm512_set1_epi32(x)
#define VMIN(a, b) _mm512_min_epu32(a, b)
#define VSUB32(a, b) _mm512_sub_epi32(a, b)
#define ADD(a, b) add16(a, b)
#define SUB(a, b) sub16(a, b)
#define MONT(a, b) mont_mul16(a, b)
#define MONT_C(a, c) mont_mul16_c(a, c)
#define SHOUP(y, tw, tw_sh) shoup_mul16(y, tw, tw_sh)
#include "simd_rowops.h"

AVX512 static void ext_mul_avx512(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) {
    const __m512i C0 = _mm512_set1_epi32((int)EXT_R2);
    const __m512i C1 = _mm512_broadcast_i32x4(_mm_setr_epi32(EXT_WR2, EXT_R2, EXT_R2, EXT_R2));
    const __m512i C2 = _mm512_broadcast_i32x4(_mm_setr_epi32(EXT_WR2, EXT_WR2, EXT_R2, EXT_R2));
    const __m512i C3 = _mm512_broadcast_i32x4(_mm_setr_epi32(EXT_WR2, EXT_WR2, EXT_WR2, EXT_R2));
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m512i va = LD16(a + 4 * i), vb = LD16(b + 4 * i);
        __m512i acc = mont_mul16(_mm512_shuffle_epi32(va, 0x00), mont_mul16(vb, C0));
        acc = add16(acc, mont_mul16(_mm512_shuffle_epi32(va, 0x55), mont_mul16(_mm512_shuffle_epi32(vb, 0x93), C1)));
        acc = add16(acc, mont_mul16(_mm512_shuffle_epi32(va, 0xAA), mont_mul16(_mm512_shuffle_epi32(vb, 0x4E), C2)));
        acc = add16(acc, mont_mul16(_mm512_shuffle_epi32(va, 0xFF), mont_mul16(_mm512_shuffle_epi32(vb, 0x39), C3)));
        ST16(out + 4 * i, acc);
    }
    ext_mul_avx2(out + 4 * i, a + 4 * i, b + 4 * i, n - i);
}

AVX512 static void ext_mul_base_avx512(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n) {
    const __m512i R2 = _mm512_set1_epi32((int)EXT_R2);
    const __m512i IDX = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m512i vb = _mm512_permutexvar_epi32(IDX, _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(b + i))));
        ST16(out + 4 * i, mont_mul16(LD16(a + 4 * i), mont_mul16(vb, R2)));
    }
    ext_mul_base_avx2(out + 4 * i, a + 4 * i, b + i, n - i);
}

static const zk_rowops ops_avx512 = {dit_avx512, dif_avx512, dit_sh_avx512, dif_sh_avx512, dit_v_avx512, dif_v_avx512, scale_avx512, add_avx512, sub_avx512, mul_avx512,
                                     reduce_avx512, stream_copy_avx512, stream_scale_avx512, fence_sse,
                                     ext_mul_avx512, ext_mul_base_avx512, "avx512"};
#endif

/* ------------------------------------------------------------------ dispatch */

static int cpu_level(void) {
#ifdef ZK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx2")) return 1;
#endif
    return 0;
}

static int g_level = -1;

int zk_simd_level(void) {
    int l = __atomic_load_n(&g_level, __ATOMIC_RELAXED);
    if (l < 0) {
        l = cpu_level();
        __atomic_store_n(&g_level, l, __ATOMIC_RELAXED);
    }
    return l;
}

int zk_force_simd_level(int level) {
    int max = cpu_level();
    if (level < 0 || level > max) level = max;
    __atomic_store_n(&g_level, level, __ATOMIC_RELAXED);
    return level;
}

const zk_rowops *zk_ops(void) {
#ifdef ZK_X86
    switch (zk_simd_level()) {
        case 2: return &ops_avx512;
        case 1: return &ops_avx2;
        default: break;
    }
#endif
    return &ops_scalar;
}
