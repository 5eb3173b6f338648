/* Row operations for one vector width, written once and included by simd.c for AVX2 and for AVX-512.
 * Not a normal header: it has no include guard and is included once per width, after simd.c defines
 *   SIMD_TARGET          the target attribute of every function below
 *   SIMD_SUFFIX          the name suffix (dit_<suffix>, ...)
 *   VEC, LANES           the vector type and its number of uint32 lanes
 *   LD(p), ST(p, v), STREAM(p, v), SET1(x)   unaligned load / store, non-temporal store, broadcast
 *   VMIN(a, b), VSUB32(a, b)                 lane-wise unsigned min and wrapping subtraction
 *   ADD(a, b), SUB(a, b)                     field addition / subtraction of canonical lanes
 *   MONT(a, b), MONT_C(a, c)                 Montgomery product (c: a broadcast constant)
 *   SHOUP(y, tw, tw_sh)                      y * tw mod p with the Shoup quotient
 * and undefines them afterwards. The scalar loops of simd.c finish the tails. */

#define SIMD_CAT_(name, suffix) name##_##suffix
#define SIMD_CAT(name, suffix) SIMD_CAT_(name, suffix)
#define FN(name) SIMD_CAT(name, SIMD_SUFFIX)

SIMD_TARGET static void FN(dit)(uint32_t *x, uint32_t *y, size_t w, uint32_t tw) {
    VEC c = SET1((int)tw);
    size_t i = 0;
    for (; i + LANES <= w; i += LANES) {
        VEC a = LD(x + i), t = MONT_C(LD(y + i), c);
        ST(x + i, ADD(a, t));
        ST(y + i, SUB(a, t));
    }
    dit_scalar(x + i, y + i, w - i, tw);
}

SIMD_TARGET static void FN(dif)(uint32_t *x, uint32_t *y, size_t w, uint32_t tw) {
    VEC c = SET1((int)tw);
    size_t i = 0;
    for (; i + LANES <= w; i += LANES) {
        VEC a = LD(x + i), b = LD(y + i);
        ST(x + i, ADD(a, b));
        ST(y + i, MONT_C(SUB(a, b), c));
    }
    dif_scalar(x + i, y + i, w - i, tw);
}

SIMD_TARGET static void FN(dit_sh)(uint32_t *x, uint32_t *y, size_t w, uint32_t tw, uint32_t tw_sh) {
    VEC c = SET1((int)tw), cs = SET1((int)tw_sh);
    size_t i = 0;
    for (; i + LANES <= w; i += LANES) {
        VEC a = LD(x + i), t = SHOUP(LD(y + i), c, cs);
        ST(x + i, ADD(a, t));
        ST(y + i, SUB(a, t));
    }
    dit_sh_scalar(x + i, y + i, w - i, tw, tw_sh);
}

SIMD_TARGET static void FN(dif_sh)(uint32_t *x, uint32_t *y, size_t w, uint32_t tw, uint32_t tw_sh) {
    VEC c = SET1((int)tw), cs = SET1((int)tw_sh);
    size_t i = 0;
    for (; i + LANES <= w; i += LANES) {
        VEC a = LD(x + i), b = LD(y + i);
        ST(x + i, ADD(a, b));
        ST(y + i, SHOUP(SUB(a, b), c, cs));
    }
    dif_sh_scalar(x + i, y + i, w - i, tw, tw_sh);
}

SIMD_TARGET static void FN(dit_v)(uint32_t *x, uint32_t *y, size_t n, const uint32_t *tw) {
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        VEC a = LD(x + i), t = MONT(LD(y + i), LD(tw + i));
        ST(x + i, ADD(a, t));
        ST(y + i, SUB(a, t));
    }
    dit_v_scalar(x + i, y + i, n - i, tw + i);
}

SIMD_TARGET static void FN(dif_v)(uint32_t *x, uint32_t *y, size_t n, const uint32_t *tw) {
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        VEC a = LD(x + i), b = LD(y + i);
        ST(x + i, ADD(a, b));
        ST(y + i, MONT(SUB(a, b), LD(tw + i)));
    }
    dif_v_scalar(x + i, y + i, n - i, tw + i);
}

SIMD_TARGET static void FN(scale)(uint32_t *dst, const uint32_t *src, size_t w, uint32_t f) {
    VEC c = SET1((int)f);
    size_t i = 0;
    for (; i + LANES <= w; i += LANES) ST(dst + i, MONT_C(LD(src + i), c));
    scale_scalar(dst + i, src + i, w - i, f);
}

SIMD_TARGET static void FN(add)(uint32_t *o, const uint32_t *a, const uint32_t *b, size_t n) {
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) ST(o + i, ADD(LD(a + i), LD(b + i)));
    add_scalar(o + i, a + i, b + i, n - i);
}

SIMD_TARGET static void FN(sub)(uint32_t *o, const uint32_t *a, const uint32_t *b, size_t n) {
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) ST(o + i, SUB(LD(a + i), LD(b + i)));
    sub_scalar(o + i, a + i, b + i, n - i);
}

/* Two Montgomery products: (a b / R) R^2 / R = a b, in normal form. */
SIMD_TARGET static void FN(mul)(uint32_t *o, const uint32_t *a, const uint32_t *b, size_t n) {
    const VEC R2 = SET1((int)BB_R2_MOD_P);
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) ST(o + i, MONT_C(MONT(LD(a + i), LD(b + i)), R2));
    mul_scalar(o + i, a + i, b + i, n - i);
}

/* Any uint32 is below 3p, so two conditional subtractions make it canonical. */
SIMD_TARGET static void FN(reduce)(uint32_t *dst, const uint32_t *src, size_t n) {
    const VEC P = SET1((int)BB_P);
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        VEC v = LD(src + i);
        v = VMIN(v, VSUB32(v, P));
        ST(dst + i, VMIN(v, VSUB32(v, P)));
    }
    reduce_scalar(dst + i, src + i, n - i);
}

/* Non-temporal stores need a vector-aligned destination and whole vectors; anything else takes the plain path. */
#define SIMD_STREAMABLE(dst, n) (!(((uintptr_t)(dst) & (LANES * sizeof(uint32_t) - 1)) || ((n) & (LANES - 1))))

SIMD_TARGET static void FN(stream_copy)(uint32_t *dst, const uint32_t *src, size_t n) {
    if (!SIMD_STREAMABLE(dst, n)) { memcpy(dst, src, n * sizeof(uint32_t)); return; }
    for (size_t i = 0; i < n; i += LANES) STREAM(dst + i, LD(src + i));
}

SIMD_TARGET static void FN(stream_scale)(uint32_t *dst, const uint32_t *src, size_t n, uint32_t f) {
    if (!SIMD_STREAMABLE(dst, n)) { FN(scale)(dst, src, n, f); return; }
    VEC c = SET1((int)f);
    for (size_t i = 0; i < n; i += LANES) STREAM(dst + i, MONT_C(LD(src + i), c));
}

#undef SIMD_STREAMABLE
#undef FN
#undef SIMD_CAT
#undef SIMD_CAT_
#undef SIMD_TARGET
#undef SIMD_SUFFIX
#undef VEC
#undef LANES
#undef LD
#undef ST
#undef STREAM
#undef SET1
#undef VMIN
#undef VSUB32
#undef ADD
#undef SUB
#undef MONT
#undef MONT_C
#undef SHOUP
