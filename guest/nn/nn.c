/* Integer inference engine: blob parser with full bounds checks, and the layer kernels. See nn.h. */
#include "nn.h"

#define INT32_MIN_ (-2147483647 - 1)
#define INT32_MAX_ 2147483647

/* ------------------------------------------------------------------------------------------ fixed point */

/* TFLite SaturatingRoundingDoublingHighMul: round(a*b / 2^31), saturating the single overflow case. */
int32_t nn_sat_rounding_doubling_high_mul(int32_t a, int32_t b) {
    if (a == INT32_MIN_ && b == INT32_MIN_) return INT32_MAX_;
    int64_t ab = (int64_t)a * (int64_t)b;
    /* TFLite computes trunc((ab + nudge) / 2^31) with nudge = 2^30 for ab >= 0 and 1 - 2^30 otherwise. For
     * ab >= 0 that is floor((ab + 2^30) / 2^31); for ab < 0 the dividend is negative, trunc = ceil, and
     * ceil((ab + 1 - 2^30) / 2^31) = floor((ab + 1 - 2^30 + 2^31 - 1) / 2^31) = floor((ab + 2^30) / 2^31).
     * One arithmetic shift, no branches: a few RV32 instructions instead of a 64-bit negate-and-shift. */
    return (int32_t)((ab + ((int64_t)1 << 30)) >> 31);
}

/* TFLite RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero. exponent in 0..31. */
int32_t nn_rounding_divide_by_pot(int32_t x, int32_t exponent) {
    int32_t mask = (int32_t)((1u << exponent) - 1u);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^shift / 2^31 with TFLite rounding. shift > 0 shifts left first (saturating to int32),
 * shift <= 0 rounds right by -shift after the high multiply. The blob guarantees shift in [-31, 30]. (The
 * kernels and ADD use requant_scale, the same arithmetic with its parameters prepared per channel.) */
int32_t nn_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
    int32_t left = shift > 0 ? shift : 0;
    int32_t right = shift > 0 ? 0 : -shift;
    int64_t shifted = (int64_t)x * ((int64_t)1 << left);
    if (shifted > INT32_MAX_) shifted = INT32_MAX_;
    if (shifted < INT32_MIN_) shifted = INT32_MIN_;
    return nn_rounding_divide_by_pot(nn_sat_rounding_doubling_high_mul((int32_t)shifted, multiplier), right);
}

/* ------------------------------------------------------------------------------------------ blob reading */

static inline uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Word read for per-channel parameters: one aligned load when the blob puts the array on a 4-byte boundary
 * (the host's writer does for these models), byte-wise otherwise. Same value either way. */
typedef uint32_t __attribute__((may_alias)) nn_u32_alias;
static inline uint32_t rd32(const uint8_t *p) {
    if (((uintptr_t)p & 3u) == 0) return *(const nn_u32_alias *)p;
    return le32(p);
}

typedef struct {
    const uint8_t *base;
    uint32_t len;
    uint32_t off;
} cursor;

static int take_u32(cursor *c, uint32_t *out) {
    if (c->len - c->off < 4u) return NN_ERR_TRUNCATED; /* off <= len always holds */
    *out = le32(c->base + c->off);
    c->off += 4u;
    return NN_OK;
}

static int take_i32(cursor *c, int32_t *out) {
    uint32_t v = 0;
    int err = take_u32(c, &v);
    *out = (int32_t)v;
    return err;
}

/* Reserve `n` bytes (n may be up to ~2^32: checked against what remains, never added first). */
static int take_bytes(cursor *c, uint64_t n, const uint8_t **out) {
    if (n > (uint64_t)(c->len - c->off)) return NN_ERR_TRUNCATED;
    *out = c->base + c->off;
    c->off += (uint32_t)n;
    return NN_OK;
}

#define TRY(expr)                  \
    do {                           \
        int err_ = (expr);         \
        if (err_ != NN_OK) return err_; \
    } while (0)

/* One parsed layer. Parameter arrays point into the blob and are read byte-wise (no alignment needed). */
typedef struct {
    uint32_t type;
    nn_shape in, out;
    int32_t in_zp, out_zp, act_min, act_max;
    uint32_t kh, kw, sh, sw, pt, pl, pb, pr;
    const int8_t *weights;
    const uint8_t *bias, *mult, *shift; /* int32 little-endian, one per output channel */
} nn_layer;

static int is_int8(int32_t v) { return v >= -128 && v <= 127; }

/* Output extent of a window sweep; NN_ERR_BAD_SHAPE when the padded input is smaller than the kernel. */
static int window_extent(uint32_t in, uint32_t k, uint32_t stride, uint32_t pad_a, uint32_t pad_b, uint32_t *out) {
    uint32_t padded = in + pad_a + pad_b; /* each <= NN_MAX_DIM: no overflow */
    if (padded < k) return NN_ERR_BAD_SHAPE;
    *out = (padded - k) / stride + 1u;
    return NN_OK;
}

/* Kernel, stride and padding fields shared by conv2d and the pools. */
static int take_window(cursor *c, nn_layer *L) {
    TRY(take_u32(c, &L->kh));
    TRY(take_u32(c, &L->kw));
    TRY(take_u32(c, &L->sh));
    TRY(take_u32(c, &L->sw));
    TRY(take_u32(c, &L->pt));
    TRY(take_u32(c, &L->pl));
    TRY(take_u32(c, &L->pb));
    TRY(take_u32(c, &L->pr));
    if (L->kh == 0 || L->kw == 0 || L->sh == 0 || L->sw == 0) return NN_ERR_BAD_LAYER;
    if (L->kh > NN_MAX_KERNEL || L->kw > NN_MAX_KERNEL || L->sh > NN_MAX_KERNEL || L->sw > NN_MAX_KERNEL)
        return NN_ERR_TOO_LARGE;
    /* Padding smaller than the kernel: every window then covers at least one real element. */
    if (L->pt >= L->kh || L->pb >= L->kh || L->pl >= L->kw || L->pr >= L->kw) return NN_ERR_BAD_LAYER;
    TRY(window_extent(L->in.h, L->kh, L->sh, L->pt, L->pb, &L->out.h));
    TRY(window_extent(L->in.w, L->kw, L->sw, L->pl, L->pr, &L->out.w));
    return NN_OK;
}

/* Every multiplier in [0, 2^31) and shift in [-31, 30]. One branch a channel: m < 0 is the top bit, and
 * s + 31 > 61 as unsigned is s outside [-31, 30]. Word loads when both arrays are 4-aligned (the host's writer
 * aligns them): this scan runs on every channel of every layer before inference. */
static int check_requant_params(const uint8_t *mult, const uint8_t *shift, uint32_t n) {
    uint32_t bad = 0;
    if ((((uintptr_t)mult | (uintptr_t)shift) & 3u) == 0) {
        const nn_u32_alias *m = (const nn_u32_alias *)mult, *s = (const nn_u32_alias *)shift;
        for (uint32_t o = 0; o < n; o++) bad |= (m[o] >> 31) | (s[o] + 31u > 61u);
    } else {
        for (uint32_t o = 0; o < n; o++) bad |= (le32(mult + 4u * o) >> 31) | (le32(shift + 4u * o) + 31u > 61u);
    }
    return bad ? NN_ERR_BAD_LAYER : NN_OK;
}

/* Output zero point, activation clamp range, informational scale, then weights and per-channel params. */
static int take_quant_params(cursor *c, nn_layer *L, uint32_t out_channels, uint64_t n_weights, int scan) {
    uint32_t scale_bits;
    const uint8_t *w;
    TRY(take_i32(c, &L->out_zp));
    TRY(take_i32(c, &L->act_min));
    TRY(take_i32(c, &L->act_max));
    TRY(take_u32(c, &scale_bits));
    if (!is_int8(L->out_zp) || !is_int8(L->act_min) || !is_int8(L->act_max) || L->act_min > L->act_max)
        return NN_ERR_BAD_LAYER;
    TRY(take_bytes(c, n_weights, &w));
    L->weights = (const int8_t *)w;
    TRY(take_bytes(c, 4ull * out_channels, &L->bias));
    TRY(take_bytes(c, 4ull * out_channels, &L->mult));
    TRY(take_bytes(c, 4ull * out_channels, &L->shift));
    return scan ? check_requant_params(L->mult, L->shift, out_channels) : NN_OK;
}

static int check_shape(nn_shape s) {
    if (s.c == 0 || s.h == 0 || s.w == 0) return NN_ERR_BAD_SHAPE;
    if (s.c > NN_MAX_DIM || s.h > NN_MAX_DIM || s.w > NN_MAX_DIM) return NN_ERR_TOO_LARGE;
    if ((uint64_t)s.c * s.h * s.w > NN_MAX_ACT) return NN_ERR_TOO_LARGE;
    return NN_OK;
}

/* What a layer record is parsed against besides its input tensor: the blob version and the stash (the tensor
 * the last SAVE copied), which ADD reads. */
typedef struct {
    uint32_t version;
    int has_stash;
    nn_shape stash;
    int32_t stash_zp;
} nn_ctx;

/* A (multiplier, shift) pair of the ADD layer: the same ranges as the per-channel requantisation. */
static int check_mult_shift(const uint8_t *p) {
    int32_t m = (int32_t)le32(p), s = (int32_t)le32(p + 4u);
    return (m < 0 || s < -31 || s > 30) ? NN_ERR_BAD_LAYER : NN_OK;
}

/* Bodies of the layer kinds added in blob version 2 (format in guest/nn/README.md). */
static int parse_v2_layer(cursor *b, nn_layer *L, const nn_ctx *ctx) {
    uint32_t scale_bits;
    const uint8_t *p;
    if (ctx->version < 2u) return NN_ERR_BAD_LAYER;
    switch (L->type) {
    case NN_LAYER_LUT: /* out_zp, out_scale, table[256]: y = table[x + 128] */
        TRY(take_i32(b, &L->out_zp));
        TRY(take_u32(b, &scale_bits));
        if (!is_int8(L->out_zp)) return NN_ERR_BAD_LAYER;
        TRY(take_bytes(b, 256u, &p));
        L->weights = (const int8_t *)p;
        return NN_OK;
    case NN_LAYER_GLOBAL_AVGPOOL:
        L->out.h = 1u;
        L->out.w = 1u;
        return NN_OK;
    case NN_LAYER_SAVE:
        return NN_OK;
    case NN_LAYER_ADD: /* out_zp, act_min, act_max, out_scale, (mult, shift) for a, b and the sum */
        if (!ctx->has_stash) return NN_ERR_BAD_LAYER;
        if (ctx->stash.c != L->in.c || ctx->stash.h != L->in.h || ctx->stash.w != L->in.w) return NN_ERR_BAD_SHAPE;
        TRY(take_i32(b, &L->out_zp));
        TRY(take_i32(b, &L->act_min));
        TRY(take_i32(b, &L->act_max));
        TRY(take_u32(b, &scale_bits));
        if (!is_int8(L->out_zp) || !is_int8(L->act_min) || !is_int8(L->act_max) || L->act_min > L->act_max)
            return NN_ERR_BAD_LAYER;
        TRY(take_bytes(b, 24u, &p));
        TRY(check_mult_shift(p));
        TRY(check_mult_shift(p + 8u));
        TRY(check_mult_shift(p + 16u));
        L->mult = p;
        return NN_OK;
    default:
        return NN_ERR_BAD_LAYER;
    }
}

/* Parse one layer record at the cursor, given the shape and zero point of its input tensor. */
/* `scan` = 0 skips re-checking per-channel arrays (only nn_infer does that, on a blob nn_validate accepted). */
static int parse_layer(cursor *c, nn_shape in, int32_t in_zp, nn_layer *L, int scan, const nn_ctx *ctx) {
    uint32_t body_len;
    const uint8_t *body_ptr;
    TRY(take_u32(c, &L->type));
    TRY(take_u32(c, &body_len));
    TRY(take_bytes(c, body_len, &body_ptr));
    cursor b = {body_ptr, body_len, 0};
    L->in = in;
    L->out = in;
    L->in_zp = in_zp;
    L->out_zp = in_zp;
    L->act_min = -128;
    L->act_max = 127;
    L->kh = L->kw = L->sh = L->sw = 1;
    L->pt = L->pl = L->pb = L->pr = 0;
    L->weights = 0;
    L->bias = L->mult = L->shift = 0;
    switch (L->type) {
    case NN_LAYER_DENSE: {
        uint32_t in_n, out_n;
        TRY(take_u32(&b, &in_n));
        TRY(take_u32(&b, &out_n));
        if (in_n != nn_shape_size(in)) return NN_ERR_BAD_SHAPE;
        if (out_n == 0) return NN_ERR_BAD_SHAPE;
        if (out_n > NN_MAX_DIM) return NN_ERR_TOO_LARGE;
        L->out.c = out_n;
        L->out.h = 1;
        L->out.w = 1;
        TRY(take_quant_params(&b, L, out_n, (uint64_t)out_n * in_n, scan));
        break;
    }
    case NN_LAYER_CONV2D: {
        uint32_t in_c, out_c;
        TRY(take_u32(&b, &in_c));
        TRY(take_u32(&b, &out_c));
        if (in_c != in.c) return NN_ERR_BAD_SHAPE;
        if (out_c == 0) return NN_ERR_BAD_SHAPE;
        if (out_c > NN_MAX_DIM) return NN_ERR_TOO_LARGE;
        TRY(take_window(&b, L));
        L->out.c = out_c;
        TRY(take_quant_params(&b, L, out_c, (uint64_t)out_c * in_c * L->kh * L->kw, scan));
        break;
    }
    case NN_LAYER_MAXPOOL:
    case NN_LAYER_AVGPOOL:
        TRY(take_window(&b, L));
        break;
    case NN_LAYER_FLATTEN:
        L->out.c = nn_shape_size(in);
        L->out.h = 1;
        L->out.w = 1;
        break;
    case NN_LAYER_RELU:
        break;
    default:
        TRY(parse_v2_layer(&b, L, ctx));
        break;
    }
    if (b.off != b.len) return NN_ERR_BAD_LAYER; /* the body must be exactly what the layer type says */
    return check_shape(L->out);
}

#define HEADER_BYTES 32u

static int parse_header(cursor *c, nn_model *m) {
    const uint8_t *magic;
    uint32_t version, scale_bits;
    if (c->len < 4u) return NN_ERR_TRUNCATED;
    TRY(take_bytes(c, 4, &magic));
    if (magic[0] != NN_MAGIC0 || magic[1] != NN_MAGIC1 || magic[2] != NN_MAGIC2 || magic[3] != NN_MAGIC3)
        return NN_ERR_BAD_MAGIC;
    TRY(take_u32(c, &version));
    if (version < NN_VERSION_MIN || version > NN_VERSION) return NN_ERR_BAD_VERSION;
    m->version = version;
    TRY(take_u32(c, &m->n_layers));
    TRY(take_u32(c, &m->input.c));
    TRY(take_u32(c, &m->input.h));
    TRY(take_u32(c, &m->input.w));
    TRY(take_i32(c, &m->input_zp));
    TRY(take_u32(c, &scale_bits));
    if (m->n_layers == 0) return NN_ERR_BAD_LAYER;
    if (m->n_layers > NN_MAX_LAYERS) return NN_ERR_TOO_LARGE;
    if (!is_int8(m->input_zp)) return NN_ERR_BAD_LAYER;
    return check_shape(m->input);
}

int nn_validate(const uint8_t *blob, uint32_t len, nn_model *m) {
    if (len > NN_MAX_BLOB) return NN_ERR_TOO_LARGE;
    cursor c = {blob, len, 0};
    m->blob = blob;
    m->blob_len = len;
    TRY(parse_header(&c, m));
    nn_shape shape = m->input;
    int32_t zp = m->input_zp;
    uint32_t max_act = nn_shape_size(shape);
    nn_ctx ctx = {m->version, 0, {0, 0, 0}, 0};
    m->stash_max = 0;
    for (uint32_t i = 0; i < m->n_layers; i++) {
        nn_layer L;
        TRY(parse_layer(&c, shape, zp, &L, 1, &ctx));
        if (L.type == NN_LAYER_SAVE) {
            ctx.has_stash = 1;
            ctx.stash = shape;
            ctx.stash_zp = zp;
            if (nn_shape_size(shape) > m->stash_max) m->stash_max = nn_shape_size(shape);
        }
        shape = L.out;
        zp = L.out_zp;
        if (nn_shape_size(shape) > max_act) max_act = nn_shape_size(shape);
    }
    if (c.off != c.len) return NN_ERR_TRAILING;
    if (nn_shape_size(shape) > NN_MAX_OUTPUTS) return NN_ERR_TOO_LARGE;
    m->output = shape;
    m->max_act = max_act;
    /* Two int8 ping-pong tensors and one int32 tensor of zero-point-centred inputs. */
    uint32_t act_bytes = (max_act + 3u) & ~3u;
    /* + 32 bytes of slack after the centred area for the dot-product scratch layouts, then the stash */
    m->arena_bytes = 2u * act_bytes + 4u * max_act + 32u + ((m->stash_max + 3u) & ~3u);
    return NN_OK;
}

/* ------------------------------------------------------------------------------------------ kernels */

static inline int32_t clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* dst[0..n) = src[0..n), four words a step when both are 4-aligned (about a cycle a byte instead of four). */
static __attribute__((noinline)) void copy_bytes(int8_t *dst, const int8_t *src, uint32_t n) {
    uint32_t i = 0;
    if ((((uintptr_t)dst | (uintptr_t)src) & 3u) == 0) {
        nn_u32_alias *d = (nn_u32_alias *)dst;
        const nn_u32_alias *s = (const nn_u32_alias *)src;
        for (; i + 16u <= n; i += 16u, d += 4, s += 4) {
            uint32_t w0 = s[0], w1 = s[1], w2 = s[2], w3 = s[3];
            d[0] = w0;
            d[1] = w1;
            d[2] = w2;
            d[3] = w3;
        }
        for (; i + 4u <= n; i += 4u) *d++ = *s++;
    }
    for (; i < n; i++) dst[i] = src[i];
}

/* Per-output-channel requantisation parameters, prepared once per channel (requant_params_of): TFLite's
 * shift split into a left pre-shift and a rounding right shift (one of them 0), the right shift's mask and
 * half precomputed, and the clamp range moved before the zero point is added (clamp(clamp(r, -512, 512) + zp,
 * lo, hi) = clamp(r, lo - zp, hi - zp) + zp, since lo - zp and hi - zp lie in [-255, 255]). */
typedef struct {
    int32_t mult, left, right, mask, half, zp, lo, hi;
} requant_params;

static inline requant_params requant_params_of(int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
    int32_t right = shift > 0 ? 0 : -shift, mask = (int32_t)((1u << right) - 1u);
    requant_params p = {mult, shift > 0 ? shift : 0, right, mask, mask >> 1, zp, lo - zp, hi - zp};
    return p;
}

static inline requant_params channel_params(const nn_layer *L, uint32_t o) {
    return requant_params_of((int32_t)rd32(L->mult + 4u * o), (int32_t)rd32(L->shift + 4u * o), L->out_zp,
                             L->act_min, L->act_max);
}

/* nn_multiply_by_quantized_multiplier(a, mult, left - right) with the parameters prepared. mult >= 0
 * (validated), so the high multiply's one saturating case (both INT32_MIN) cannot occur; the rounding is that
 * of nn_sat_rounding_doubling_high_mul and nn_rounding_divide_by_pot (with right = 0 the mask is 0 and the
 * rounding term vanishes). */
static inline int32_t requant_scale(const requant_params *p, int32_t a) {
    if (p->left) { /* rare (real multiplier >= 1): a << left, saturated to int32 */
        int32_t lim = INT32_MAX_ >> p->left;
        a = a > lim ? INT32_MAX_ : (a < -lim - 1 ? INT32_MIN_ : (int32_t)((uint32_t)a << p->left));
    }
    int32_t x = (int32_t)(((int64_t)a * p->mult + ((int64_t)1 << 30)) >> 31);
    return (x >> p->right) + ((x & p->mask) > p->half + (x < 0 ? 1 : 0) ? 1 : 0);
}

/* Requantise one int32 accumulator to int8: scale, then + zp and clamp. */
static inline int8_t requantize(const requant_params *p, uint32_t acc) {
    return (int8_t)(clamp(requant_scale(p, (int32_t)acc), p->lo, p->hi) + p->zp);
}

int8_t nn_requantize(int32_t acc, int32_t mult, int32_t shift, int32_t zp, int32_t act_min, int32_t act_max) {
    requant_params p = requant_params_of(mult, shift, zp, act_min, act_max);
    return requantize(&p, (uint32_t)acc);
}

/* The dot-product accelerator (see "dot products" below) is used on the zkvm unless built without it. With
 * it, the plain DENSE/CONV2D loops only run for a conv whose weights do not fit the scratch: compiled for
 * size then, as the prover pays a program-table row per instruction word. */
#if !defined(NN_NATIVE) && !defined(NN_NO_DOT_ECALL)
#define NN_DOT_ECALL 1
#define NN_PLAIN_KERNEL __attribute__((noinline, minsize))
#else
#define NN_PLAIN_KERNEL
#endif

/* Centred inputs x - zero_point, as int32 so the inner loops need no subtraction. */
NN_PLAIN_KERNEL static void centre(const int8_t *x, uint32_t n, int32_t zp, int32_t *out) {
    for (uint32_t i = 0; i < n; i++) out[i] = (int32_t)x[i] - zp;
}

/* Accumulators are summed as uint32 so that (theoretical) overflow wraps like two's complement int32,
 * which the numpy reference reproduces, instead of being undefined behaviour. */
__attribute__((unused)) static void dense(const nn_layer *L, const int32_t *xc, int8_t *y) {
    uint32_t in_n = nn_shape_size(L->in);
    uint32_t o = 0;
    /* Two output rows per pass, four inputs per step: each centred input is loaded once for both rows and
     * the loop overhead is shared by eight products (the guest's cycle count is what the prover pays for). */
    for (; o + 2u <= L->out.c; o += 2u) {
        const int8_t *w0 = L->weights + o * in_n;
        const int8_t *w1 = w0 + in_n;
        const int32_t *x = xc;
        const int32_t *x_end4 = xc + (in_n & ~3u);
        const int32_t *x_end = xc + in_n;
        uint32_t acc0 = rd32(L->bias + 4u * o);
        uint32_t acc1 = rd32(L->bias + 4u * (o + 1u));
        for (; x < x_end4; x += 4, w0 += 4, w1 += 4) {
            int32_t xa = x[0], xb = x[1], xc2 = x[2], xd = x[3];
            acc0 += (uint32_t)(xa * w0[0]) + (uint32_t)(xb * w0[1]) + (uint32_t)(xc2 * w0[2]) + (uint32_t)(xd * w0[3]);
            acc1 += (uint32_t)(xa * w1[0]) + (uint32_t)(xb * w1[1]) + (uint32_t)(xc2 * w1[2]) + (uint32_t)(xd * w1[3]);
        }
        for (; x < x_end; x++, w0++, w1++) {
            acc0 += (uint32_t)(x[0] * w0[0]);
            acc1 += (uint32_t)(x[0] * w1[0]);
        }
        requant_params p0 = channel_params(L, o), p1 = channel_params(L, o + 1u);
        y[o] = requantize(&p0, acc0);
        y[o + 1u] = requantize(&p1, acc1);
    }
    for (; o < L->out.c; o++) {
        const int8_t *w = L->weights + o * in_n;
        uint32_t acc = le32(L->bias + 4u * o);
        for (uint32_t i = 0; i < in_n; i++) acc += (uint32_t)(xc[i] * w[i]);
        requant_params p = channel_params(L, o);
        y[o] = requantize(&p, acc);
    }
}

/* Direct convolution; padded positions contribute (zp - zp) * w = 0, so they are simply skipped. */
NN_PLAIN_KERNEL static void conv2d(const nn_layer *L, const int32_t *xc, int8_t *y) {
    const int32_t H = (int32_t)L->in.h, W = (int32_t)L->in.w, KH = (int32_t)L->kh, KW = (int32_t)L->kw;
    const uint32_t in_c = L->in.c;
    for (uint32_t oc = 0; oc < L->out.c; oc++) {
        uint32_t acc0 = le32(L->bias + 4u * oc);
        requant_params rp = channel_params(L, oc);
        for (uint32_t oy = 0; oy < L->out.h; oy++) {
            int32_t iy0 = (int32_t)(oy * L->sh) - (int32_t)L->pt;
            int32_t ky_lo = iy0 < 0 ? -iy0 : 0;
            int32_t ky_hi = H - iy0 < KH ? H - iy0 : KH;
            for (uint32_t ox = 0; ox < L->out.w; ox++) {
                int32_t ix0 = (int32_t)(ox * L->sw) - (int32_t)L->pl;
                int32_t kx_lo = ix0 < 0 ? -ix0 : 0;
                int32_t kx_hi = W - ix0 < KW ? W - ix0 : KW;
                uint32_t acc = acc0;
                for (uint32_t ic = 0; ic < in_c; ic++) {
                    const int8_t *wk = L->weights + ((oc * in_c + ic) * (uint32_t)KH) * (uint32_t)KW;
                    const int32_t *xp = xc + (ic * (uint32_t)H) * (uint32_t)W;
                    for (int32_t ky = ky_lo; ky < ky_hi; ky++) {
                        const int32_t *row = xp + (iy0 + ky) * W + ix0;
                        const int8_t *wrow = wk + ky * KW;
                        for (int32_t kx = kx_lo; kx < kx_hi; kx++) acc += (uint32_t)(row[kx] * wrow[kx]);
                    }
                }
                y[(oc * L->out.h + oy) * L->out.w + ox] = requantize(&rp, acc);
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------ dot products
 * On the zkvm the inner products of DENSE and CONV2D go to the int8 dot-product accelerator (ECALL_DOT_I8:
 * O(1) cycles a call, proven by its own table). Off on native builds and with -DNN_NO_DOT_ECALL (then the
 * plain loops above run). The call computes sum (a[i] - za) * b[i] exactly; adding it to the bias in uint32
 * wraps exactly like the plain loops' uint32 accumulation (addition mod 2^32 is associative), so both builds
 * are bit-exact with each other and with the numpy reference. Its operands must share their address mod 4:
 * the weights stay where the blob has them and the (small) activation side is copied to match. */
#ifdef NN_DOT_ECALL

/* sum (a[i] - za) * b[i]; a = b mod 4. Chunks keep the accelerator's length limit (a multiple of 4, so
 * every chunk keeps the common alignment). */
static uint32_t nn_dot(const int8_t *a, const int8_t *b, uint32_t n, int32_t za) {
    const uint32_t chunk = ZKVM_DOT_MAX_LEN & ~3u;
    uint32_t acc = 0;
    for (; n > chunk; n -= chunk, a += chunk, b += chunk) acc += (uint32_t)zkvm_dot_i8(a, b, chunk, za);
    return acc + (uint32_t)zkvm_dot_i8(a, b, n, za);
}

/* `scratch`: 4·max_act + 32 bytes, 4-aligned (the arena's centred-input area, unused in this build). Not
 * inlined: on its own the per-output loop keeps its pointers and clamp bounds in registers. */
static __attribute__((noinline)) void dense_dot(const nn_layer *L, const int8_t *x, uint8_t *scratch, int8_t *y) {
    const uint32_t in_n = nn_shape_size(L->in), out_n = L->out.c;
    const uint32_t stride = ((in_n + 3u) & ~3u) + 4u; /* 4 strides <= 4·max_act + 28 */
    const int8_t *copy[4] = {x, NULL, NULL, NULL};     /* x itself is 4-aligned */
    if ((((uintptr_t)L->bias | (uintptr_t)L->mult | (uintptr_t)L->shift) & 3u) == 0) {
        /* Parameter arrays 4-aligned (the host's writer does that): word loads, mask computed in place. */
        const nn_u32_alias *bias = (const nn_u32_alias *)L->bias, *mult = (const nn_u32_alias *)L->mult;
        const nn_u32_alias *shift = (const nn_u32_alias *)L->shift;
        const int8_t *w = L->weights;
        for (uint32_t o = 0; o < out_n; o++, w += in_n) {
            uint32_t off = (uint32_t)(uintptr_t)w & 3u;
            if (copy[off] == NULL) {
                int8_t *c = (int8_t *)(scratch + off * stride + off);
                copy_bytes(c, x, in_n);
                copy[off] = c;
            }
            requant_params p = requant_params_of((int32_t)mult[o], (int32_t)shift[o], L->out_zp, L->act_min, L->act_max);
            y[o] = requantize(&p, bias[o] + nn_dot(copy[off], w, in_n, L->in_zp));
        }
        return;
    }
    for (uint32_t o = 0; o < out_n; o++) {
        const int8_t *w = L->weights + o * in_n;
        uint32_t off = (uint32_t)(uintptr_t)w & 3u;
        if (copy[off] == NULL) {
            int8_t *c = (int8_t *)(scratch + off * stride + off);
            copy_bytes(c, x, in_n);
            copy[off] = c;
        }
        requant_params p = channel_params(L, o);
        y[o] = requantize(&p, le32(L->bias + 4u * o) + nn_dot(copy[off], w, in_n, L->in_zp));
    }
}

/* x[s..n) as 4-aligned words: word k = bytes 4k+s .. 4k+s+3 of x (the last word zero-filled past the end),
 * so a window row starting at x + p with p = s mod 4 is the aligned word run from word p >> 2. x is 4-aligned;
 * `n` > s. */
static void shifted_copy(const int8_t *x, uint32_t n, uint32_t s, nn_u32_alias *out) {
    const nn_u32_alias *xw = (const nn_u32_alias *)x;
    const uint32_t lo = 8u * s, hi = 32u - lo, words = (n - s + 3u) >> 2, last = (n - 1u) >> 2;
    uint32_t cur = xw[0];
    for (uint32_t k = 0; k + 1u < words; k++) {
        uint32_t next = xw[k + 1u]; /* k + 1 <= last: inside x's words */
        out[k] = (cur >> lo) | (next << hi);
        cur = next;
    }
    /* Last word: the bytes of x's word `words - 1` and, if x has them, of word `words` (never read past x). */
    out[words - 1u] = (cur >> lo) | (words <= last ? xw[words] << hi : 0u);
}

/* Copies `rows` window rows of `nw` words each, `step` words apart in the source, to consecutive patch rows. */
static inline void gather_rows(nn_u32_alias *pd, const nn_u32_alias *sp, uint32_t rows, uint32_t step,
                               uint32_t nw) {
    if (nw == 2u) { /* kernels 5..8 wide */
        for (uint32_t r = 0; r < rows; r++, pd += 2, sp += step) {
            uint32_t w0 = sp[0], w1 = sp[1];
            pd[0] = w0;
            pd[1] = w1;
        }
    } else if (nw == 1u) { /* kernels 1..4 wide */
        for (uint32_t r = 0; r < rows; r++, sp += step) *pd++ = sp[0];
    } else {
        for (uint32_t r = 0; r < rows; r++, sp += step)
            for (uint32_t k = 0; k < nw; k++) *pd++ = sp[k];
    }
}

/* Gathers the patch of output position (oy, ox) into `patch` (layout: see conv2d_dot). */
static void gather_patch(const nn_layer *L, const int8_t *x, const nn_u32_alias *const src[4], int same_residue,
                         uint32_t oy, uint32_t ox, int8_t *patch) {
    const int32_t H = (int32_t)L->in.h, W = (int32_t)L->in.w, KH = (int32_t)L->kh, KW = (int32_t)L->kw;
    const uint32_t nw = ((uint32_t)KW + 3u) >> 2, hw = (uint32_t)(H * W);
    const int32_t iy0 = (int32_t)(oy * L->sh) - (int32_t)L->pt, ix0 = (int32_t)(ox * L->sw) - (int32_t)L->pl;
    const uint32_t p0 = (uint32_t)(iy0 * W + ix0);
    if (same_residue && iy0 >= 0 && iy0 + KH <= H && ix0 >= 0 && ix0 + KW <= W && src[p0 & 3u] != NULL) {
        const nn_u32_alias *sp = src[p0 & 3u] + (p0 >> 2);
        nn_u32_alias *pd = (nn_u32_alias *)patch;
        for (uint32_t ic = 0; ic < L->in.c; ic++, sp += hw >> 2, pd += (uint32_t)KH * nw)
            gather_rows(pd, sp, (uint32_t)KH, (uint32_t)W >> 2, nw);
        return;
    }
    const int32_t kx_lo = ix0 < 0 ? -ix0 : 0, kx_hi = W - ix0 < KW ? W - ix0 : KW;
    const int8_t zp = (int8_t)L->in_zp;
    int8_t *pp = patch;
    for (uint32_t ic = 0; ic < L->in.c; ic++) {
        const int8_t *xp = x + ic * hw;
        for (int32_t ky = 0; ky < KH; ky++, pp += nw * 4u) {
            int32_t iy = iy0 + ky;
            if (iy < 0 || iy >= H || kx_lo > 0 || kx_hi < KW) { /* a padded row or edge */
                for (int32_t kx = 0; kx < KW; kx++) pp[kx] = zp;
                if (iy < 0 || iy >= H) continue;
            }
            const int8_t *row = xp + iy * W + ix0;
            for (int32_t kx = kx_lo; kx < kx_hi; kx++) pp[kx] = row[kx];
        }
    }
}

/* Convolution on the accelerator: one call per (output position, output channel). Every kernel row is padded
 * to KWp = KW rounded up to 4 bytes, in the weights (with zeros, so the padding bytes contribute nothing
 * whatever they meet) and in the patches: a patch row is KWp/4 whole words. A window inside the input is
 * gathered with word loads: its row starting at x + p is read from a copy of x shifted by p mod 4 (built once
 * per layer for each residue that occurs, residue 0 being x itself) -- when W and H·W are multiples of 4, so
 * that all rows of a window share that residue. Other windows are gathered byte by byte, the padding being
 * the zero point (contributes 0). Patches are gathered for a batch of positions at a time, then each output
 * channel runs over the batch with its requantisation parameters held in registers. Scratch: padded weights |
 * shifted copies (those that fit while one patch still does) | patches. Returns 0 when the weights and one
 * patch do not fit (the caller then runs the plain loop). Not inlined, for the registers of its inner loop. */
static __attribute__((noinline)) int conv2d_dot(const nn_layer *L, const int8_t *x, uint8_t *scratch,
                                                uint32_t scratch_len, int8_t *y) {
    const uint32_t W = L->in.w, KW = L->kw, KWp = (KW + 3u) & ~3u, in_c = L->in.c, out_c = L->out.c;
    const uint32_t kp = in_c * L->kh * KWp, hw = L->in.h * W, n_in = in_c * hw, copy_len = (n_in + 3u) & ~3u;
    const uint32_t out_w = L->out.w, out_hw = L->out.h * out_w;
    const uint64_t fixed = (uint64_t)kp * (out_c + 1u);
    if (fixed > scratch_len) return 0;
    int8_t *wpad = (int8_t *)scratch;
    uint8_t *free_ = scratch + kp * out_c;
    uint32_t room = scratch_len - kp * out_c; /* >= kp */
    const int8_t *w = L->weights;
    int8_t *wd = wpad;
    for (uint32_t r = 0; r < out_c * in_c * L->kh; r++, w += KW, wd += KWp) {
        uint32_t kx = 0;
        for (; kx < KW; kx++) wd[kx] = w[kx];
        for (; kx < KWp; kx++) wd[kx] = 0;
    }
    const nn_u32_alias *src[4] = {(const nn_u32_alias *)x, NULL, NULL, NULL};
    const int same_residue = (W & 3u) == 0 && (hw & 3u) == 0;
    if (same_residue) { /* then a window's residue is that of its ix0: the residues of the inside windows */
        for (uint32_t ox = 0; ox < out_w; ox++) {
            int32_t ix0 = (int32_t)(ox * L->sw) - (int32_t)L->pl;
            uint32_t s = (uint32_t)ix0 & 3u;
            if (ix0 >= 0 && ix0 + (int32_t)KW <= (int32_t)W && src[s] == NULL && room - kp >= copy_len) {
                shifted_copy(x, n_in, s, (nn_u32_alias *)free_);
                src[s] = (const nn_u32_alias *)free_;
                free_ += copy_len;
                room -= copy_len;
            }
        }
    }
    int8_t *patches = (int8_t *)free_;
    const uint32_t batch = room / kp; /* >= 1 */
    const uint32_t a2 = kp; /* dot length; chunked by nn_dot when above the accelerator's limit */
    const int32_t in_zp = L->in_zp;
    uint32_t oy = 0, ox = 0;
    for (uint32_t b0 = 0; b0 < out_hw; b0 += batch) {
        uint32_t nb = out_hw - b0 < batch ? out_hw - b0 : batch;
        int8_t *pp = patches;
        for (uint32_t i = 0; i < nb; i++, pp += kp) {
            gather_patch(L, x, src, same_residue, oy, ox, pp);
            if (++ox == out_w) {
                ox = 0;
                oy++;
            }
        }
        const int8_t *pend = pp;
        const int8_t *wk = wpad;
        for (uint32_t oc = 0; oc < out_c; oc++, wk += kp) {
            const requant_params rp = channel_params(L, oc);
            const uint32_t bias = rd32(L->bias + 4u * oc);
            int8_t *yp = y + oc * out_hw + b0;
            for (const int8_t *q = patches; q < pend; q += kp) *yp++ = requantize(&rp, bias + nn_dot(q, wk, a2, in_zp));
        }
    }
    return 1;
}
#endif

/* Max or average pooling over the valid (unpadded) part of each window; averages round half away from zero
 * like TFLite. Windows are never empty (padding < kernel, checked by the parser). */
static void pool(const nn_layer *L, const int8_t *x, int8_t *y, int is_max) {
    const int32_t H = (int32_t)L->in.h, W = (int32_t)L->in.w, KH = (int32_t)L->kh, KW = (int32_t)L->kw;
    for (uint32_t ch = 0; ch < L->in.c; ch++) {
        const int8_t *xp = x + ch * (uint32_t)H * (uint32_t)W;
        for (uint32_t oy = 0; oy < L->out.h; oy++) {
            int32_t iy0 = (int32_t)(oy * L->sh) - (int32_t)L->pt;
            int32_t y_lo = iy0 < 0 ? 0 : iy0;
            int32_t y_hi = iy0 + KH < H ? iy0 + KH : H;
            for (uint32_t ox = 0; ox < L->out.w; ox++) {
                int32_t ix0 = (int32_t)(ox * L->sw) - (int32_t)L->pl;
                int32_t x_lo = ix0 < 0 ? 0 : ix0;
                int32_t x_hi = ix0 + KW < W ? ix0 + KW : W;
                int32_t best = -128, sum = 0, count = 0;
                for (int32_t iy = y_lo; iy < y_hi; iy++) {
                    for (int32_t ix = x_lo; ix < x_hi; ix++) {
                        int32_t v = xp[iy * W + ix];
                        if (v > best) best = v;
                        sum += v;
                        count++;
                    }
                }
                int32_t out;
                if (is_max) {
                    out = best;
                } else {
                    out = sum >= 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                }
                y[(ch * L->out.h + oy) * L->out.w + ox] = (int8_t)clamp(out, -128, 127);
            }
        }
    }
}

/* Elementwise lookup (version 2): y = table[x + 128], in place. */
static void lut(const nn_layer *L, int8_t *x) {
    uint32_t n = nn_shape_size(L->in);
    for (uint32_t i = 0; i < n; i++) x[i] = L->weights[(int32_t)x[i] + 128];
}

/* Mean of each channel's H x W values, rounded half away from zero like AVGPOOL (|sum| < 2^26: no overflow). */
static void global_avgpool(const nn_layer *L, const int8_t *x, int8_t *y) {
    int32_t count = (int32_t)(L->in.h * L->in.w);
    for (uint32_t ch = 0; ch < L->in.c; ch++) {
        const int8_t *xp = x + ch * (uint32_t)count;
        int32_t sum = 0;
        for (int32_t i = 0; i < count; i++) sum += xp[i];
        int32_t out = sum >= 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
        y[ch] = (int8_t)clamp(out, -128, 127);
    }
}

/* Residual add (version 2), in place into `a`: each centred input is shifted left by 20 bits (|x - zp| <= 255,
 * so < 2^28) and rescaled by its own multiplier, the two are summed (wrapping, like the reference) and the sum
 * requantised to the output scale -- the TFLite quantised ADD. */
#define NN_ADD_LEFT_SHIFT 20
static void add_stash(const nn_layer *L, int8_t *a, int32_t zp_a, const int8_t *b, int32_t zp_b) {
    const requant_params pa = requant_params_of((int32_t)le32(L->mult), (int32_t)le32(L->mult + 4u), 0, 0, 0);
    const requant_params pb = requant_params_of((int32_t)le32(L->mult + 8u), (int32_t)le32(L->mult + 12u), 0, 0, 0);
    const requant_params po = requant_params_of((int32_t)le32(L->mult + 16u), (int32_t)le32(L->mult + 20u),
                                                L->out_zp, L->act_min, L->act_max);
    uint32_t n = nn_shape_size(L->in);
    for (uint32_t i = 0; i < n; i++) {
        int32_t va = requant_scale(&pa, ((int32_t)a[i] - zp_a) * (1 << NN_ADD_LEFT_SHIFT));
        int32_t vb = requant_scale(&pb, ((int32_t)b[i] - zp_b) * (1 << NN_ADD_LEFT_SHIFT));
        a[i] = requantize(&po, (uint32_t)va + (uint32_t)vb);
    }
}

int nn_infer(const nn_model *m, const int8_t *input, int8_t *output, uint8_t *arena, uint32_t arena_len) {
    if (arena_len < m->arena_bytes || ((uintptr_t)arena & 3u) != 0) return NN_ERR_NO_MEMORY;
    uint32_t act_bytes = (m->max_act + 3u) & ~3u;
    int8_t *bufs[2] = {(int8_t *)arena, (int8_t *)(arena + act_bytes)};
    int32_t *centred = (int32_t *)(arena + 2u * act_bytes);
    int8_t *stash = (int8_t *)(arena + 2u * act_bytes + 4u * m->max_act + 32u); /* past the dot scratch */
    nn_ctx ctx = {m->version, 0, {0, 0, 0}, 0};
    int cur = 0;
    uint32_t n_in = nn_shape_size(m->input);
    copy_bytes(bufs[0], input, n_in);

    cursor c = {m->blob, m->blob_len, HEADER_BYTES};
    nn_shape shape = m->input;
    int32_t zp = m->input_zp;
    for (uint32_t li = 0; li < m->n_layers; li++) {
        nn_layer L;
        TRY(parse_layer(&c, shape, zp, &L, 0, &ctx)); /* cannot fail on a validated blob; checked anyway */
        int8_t *x = bufs[cur], *y = bufs[cur ^ 1];
        switch (L.type) {
        case NN_LAYER_DENSE:
#ifdef NN_DOT_ECALL
            dense_dot(&L, x, (uint8_t *)centred, y);
#else
            centre(x, nn_shape_size(L.in), L.in_zp, centred);
            dense(&L, centred, y);
#endif
            cur ^= 1;
            break;
        case NN_LAYER_CONV2D:
#ifdef NN_DOT_ECALL
            if (!conv2d_dot(&L, x, (uint8_t *)centred, 4u * m->max_act + 32u, y))
#endif
            {
                centre(x, nn_shape_size(L.in), L.in_zp, centred);
                conv2d(&L, centred, y);
            }
            cur ^= 1;
            break;
        case NN_LAYER_MAXPOOL:
        case NN_LAYER_AVGPOOL:
            pool(&L, x, y, L.type == NN_LAYER_MAXPOOL);
            cur ^= 1;
            break;
        case NN_LAYER_RELU: {
            uint32_t n = nn_shape_size(L.in);
            for (uint32_t i = 0; i < n; i++)
                if (x[i] < L.in_zp) x[i] = (int8_t)L.in_zp; /* real value 0 is the zero point */
            break;
        }
        case NN_LAYER_LUT:
            lut(&L, x);
            break;
        case NN_LAYER_GLOBAL_AVGPOOL:
            global_avgpool(&L, x, y);
            cur ^= 1;
            break;
        case NN_LAYER_SAVE: {
            uint32_t n = nn_shape_size(L.in);
            copy_bytes(stash, x, n);
            ctx.has_stash = 1;
            ctx.stash = L.in;
            ctx.stash_zp = L.in_zp;
            break;
        }
        case NN_LAYER_ADD:
            add_stash(&L, x, L.in_zp, stash, ctx.stash_zp);
            break;
        default: /* FLATTEN: channel-major storage is already flat */
            break;
        }
        shape = L.out;
        zp = L.out_zp;
    }
    uint32_t n_out = nn_shape_size(shape);
    copy_bytes(output, bufs[cur], n_out);
    return NN_OK;
}

uint32_t nn_argmax(const int8_t *values, uint32_t n) {
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++)
        if (values[i] > values[best]) best = i;
    return best;
}
