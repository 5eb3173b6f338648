/* SHA-256 (FIPS 180-4). The compression function exists twice: portable C, and with the x86 SHA extensions
 * (sha256rnds2 does two rounds, sha256msg1/msg2 the message schedule), picked once at run time. */
#include "sha256.h"
#include "sha256_k.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define ZK_X86 1
#include <immintrin.h>
#endif


static const uint32_t IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
static inline uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static void compress_portable(uint32_t st[8], const uint8_t *data, size_t blocks) {
    for (; blocks; blocks--, data += 64) {
        uint32_t w[64];
        for (int i = 0; i < 16; i++) w[i] = load_be32(data + 4 * i);
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + ZK_SHA256_K[i] + w[i];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
    }
}

#ifdef ZK_X86
#define SHANI __attribute__((target("sha,sse4.1")))

SHANI static void compress_shani(uint32_t st[8], const uint8_t *data, size_t blocks) {
    const __m128i BSWAP = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    /* The instructions want the state as ABEF / CDGH (most significant dword first). */
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[0]), 0xB1); /* B A D C */
    __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[4]), 0x1B); /* H G F E */
    __m128i s0 = _mm_alignr_epi8(abcd, efgh, 8);     /* F E B A = ABEF */
    __m128i s1 = _mm_blend_epi16(efgh, abcd, 0xF0);  /* H G D C = CDGH */
    for (; blocks; blocks--, data += 64) {
        __m128i save0 = s0, save1 = s1, m[4], t;
        for (int g = 0; g < 16; g++) {
            __m128i cur;
            if (g < 4) {
                cur = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * g)), BSWAP);
            } else {
                /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at a time */
                __m128i x = _mm_sha256msg1_epu32(m[g & 3], m[(g + 1) & 3]);
                x = _mm_add_epi32(x, _mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4));
                cur = _mm_sha256msg2_epu32(x, m[(g + 3) & 3]);
            }
            m[g & 3] = cur;
            t = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)&ZK_SHA256_K[4 * g]));
            s1 = _mm_sha256rnds2_epu32(s1, s0, t);
            s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(t, 0x0E));
        }
        s0 = _mm_add_epi32(s0, save0);
        s1 = _mm_add_epi32(s1, save1);
    }
    __m128i feba = _mm_shuffle_epi32(s0, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(s1, 0xB1);
    _mm_storeu_si128((__m128i *)&st[0], _mm_blend_epi16(feba, dchg, 0xF0)); /* D C B A */
    _mm_storeu_si128((__m128i *)&st[4], _mm_alignr_epi8(dchg, feba, 8));   /* H G F E */
}
/* Two independent messages with the same number of blocks, rounds interleaved: sha256rnds2 has a long
 * latency, so a single chain leaves the unit idle half the time. */
SHANI static void compress_shani_x2(uint32_t sa[8], uint32_t sb[8], const uint8_t *da, const uint8_t *db,
                                    size_t blocks) {
    const __m128i BSWAP = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i t, u;
    t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&sa[0]), 0xB1);
    u = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&sa[4]), 0x1B);
    __m128i a0 = _mm_alignr_epi8(t, u, 8), a1 = _mm_blend_epi16(u, t, 0xF0);
    t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&sb[0]), 0xB1);
    u = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&sb[4]), 0x1B);
    __m128i b0 = _mm_alignr_epi8(t, u, 8), b1 = _mm_blend_epi16(u, t, 0xF0);
    for (; blocks; blocks--, da += 64, db += 64) {
        __m128i sa0 = a0, sa1 = a1, sb0 = b0, sb1 = b1, ma[4], mb[4];
        for (int g = 0; g < 16; g++) {
            __m128i ca, cb;
            if (g < 4) {
                ca = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(da + 16 * g)), BSWAP);
                cb = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(db + 16 * g)), BSWAP);
            } else {
                __m128i xa = _mm_sha256msg1_epu32(ma[g & 3], ma[(g + 1) & 3]);
                __m128i xb = _mm_sha256msg1_epu32(mb[g & 3], mb[(g + 1) & 3]);
                xa = _mm_add_epi32(xa, _mm_alignr_epi8(ma[(g + 3) & 3], ma[(g + 2) & 3], 4));
                xb = _mm_add_epi32(xb, _mm_alignr_epi8(mb[(g + 3) & 3], mb[(g + 2) & 3], 4));
                ca = _mm_sha256msg2_epu32(xa, ma[(g + 3) & 3]);
                cb = _mm_sha256msg2_epu32(xb, mb[(g + 3) & 3]);
            }
            ma[g & 3] = ca;
            mb[g & 3] = cb;
            __m128i k = _mm_loadu_si128((const __m128i *)&ZK_SHA256_K[4 * g]);
            __m128i ta = _mm_add_epi32(ca, k), tb = _mm_add_epi32(cb, k);
            a1 = _mm_sha256rnds2_epu32(a1, a0, ta);
            b1 = _mm_sha256rnds2_epu32(b1, b0, tb);
            a0 = _mm_sha256rnds2_epu32(a0, a1, _mm_shuffle_epi32(ta, 0x0E));
            b0 = _mm_sha256rnds2_epu32(b0, b1, _mm_shuffle_epi32(tb, 0x0E));
        }
        a0 = _mm_add_epi32(a0, sa0); a1 = _mm_add_epi32(a1, sa1);
        b0 = _mm_add_epi32(b0, sb0); b1 = _mm_add_epi32(b1, sb1);
    }
    t = _mm_shuffle_epi32(a0, 0x1B); u = _mm_shuffle_epi32(a1, 0xB1);
    _mm_storeu_si128((__m128i *)&sa[0], _mm_blend_epi16(t, u, 0xF0));
    _mm_storeu_si128((__m128i *)&sa[4], _mm_alignr_epi8(u, t, 8));
    t = _mm_shuffle_epi32(b0, 0x1B); u = _mm_shuffle_epi32(b1, 0xB1);
    _mm_storeu_si128((__m128i *)&sb[0], _mm_blend_epi16(t, u, 0xF0));
    _mm_storeu_si128((__m128i *)&sb[4], _mm_alignr_epi8(u, t, 8));
}
#endif

typedef void (*compress_fn)(uint32_t st[8], const uint8_t *data, size_t blocks);

static void compress_portable_x2(uint32_t sa[8], uint32_t sb[8], const uint8_t *da, const uint8_t *db,
                                 size_t blocks) {
    compress_portable(sa, da, blocks);
    compress_portable(sb, db, blocks);
}

static int g_force_portable = 0;

int zk_sha256_has_shani(void) {
#ifdef ZK_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1");
#else
    return 0;
#endif
}

static compress_fn pick(void) {
#ifdef ZK_X86
    static int has = -1;
    if (has < 0) has = zk_sha256_has_shani();
    if (has && !__atomic_load_n(&g_force_portable, __ATOMIC_RELAXED)) return compress_shani;
#endif
    return compress_portable;
}

int zk_sha256_force_portable(int on) {
    __atomic_store_n(&g_force_portable, on ? 1 : 0, __ATOMIC_RELAXED);
    return pick() != compress_portable;
}

void zk_sha256_init(zk_sha256_ctx *c) {
    memcpy(c->state, IV, sizeof IV);
    c->total = 0;
    c->buf_len = 0;
}

void zk_sha256_update(zk_sha256_ctx *c, const uint8_t *data, size_t len) {
    compress_fn f = pick();
    c->total += len;
    if (c->buf_len) {
        size_t take = 64 - c->buf_len < len ? 64 - c->buf_len : len;
        memcpy(c->buf + c->buf_len, data, take);
        c->buf_len += take;
        data += take;
        len -= take;
        if (c->buf_len < 64) return;
        f(c->state, c->buf, 1);
        c->buf_len = 0;
    }
    if (len >= 64) {
        f(c->state, data, len / 64);
        data += len & ~(size_t)63;
        len &= 63;
    }
    memcpy(c->buf, data, len);
    c->buf_len = len;
}

void zk_sha256_final(zk_sha256_ctx *c, uint8_t out[32]) {
    uint8_t pad[128] = {0};
    size_t n = c->buf_len;
    memcpy(pad, c->buf, n);
    pad[n] = 0x80;
    size_t blocks = n + 9 <= 64 ? 1 : 2;
    uint64_t bits = c->total * 8;
    for (int i = 0; i < 8; i++) pad[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
    pick()(c->state, pad, blocks);
    for (int i = 0; i < 8; i++) store_be32(out + 4 * i, c->state[i]);
}

void zk_sha256(const uint8_t *data, size_t len, uint8_t out[32]) {
    zk_sha256_ctx c;
    zk_sha256_init(&c);
    zk_sha256_update(&c, data, len);
    zk_sha256_final(&c, out);
}

void zk_sha256_pair(const uint8_t *left, const uint8_t *right, uint8_t out[32]) {
    /* the second block of a 64-byte message is constant: 0x80, zeros, bit length 512 */
    static const uint8_t PAD64[64] = {0x80, [62] = 0x02, [63] = 0x00};
    uint8_t block[64];
    uint32_t st[8];
    memcpy(st, IV, sizeof IV);
    memcpy(block, left, 32);
    memcpy(block + 32, right, 32);
    compress_fn f = pick();
    f(st, block, 1);
    f(st, PAD64, 1);
    for (int i = 0; i < 8; i++) store_be32(out + 4 * i, st[i]);
}

typedef void (*compress2_fn)(uint32_t sa[8], uint32_t sb[8], const uint8_t *da, const uint8_t *db, size_t blocks);

static compress2_fn pick2(void) {
#ifdef ZK_X86
    if (pick() == compress_shani) return compress_shani_x2;
#endif
    return compress_portable_x2;
}

static const uint8_t PAD_64[64] = {0x80, [62] = 0x02, [63] = 0x00};

static void store_digest(uint8_t out[32], const uint32_t st[8]) {
    for (int i = 0; i < 8; i++) store_be32(out + 4 * i, st[i]);
}

void zk_sha256_pair_x2(const uint8_t *children_a, const uint8_t *children_b, uint8_t out_a[32], uint8_t out_b[32]) {
    uint32_t sa[8], sb[8];
    memcpy(sa, IV, sizeof IV);
    memcpy(sb, IV, sizeof IV);
    compress2_fn f = pick2();
    f(sa, sb, children_a, children_b, 1);
    f(sa, sb, PAD_64, PAD_64, 1);
    store_digest(out_a, sa);
    store_digest(out_b, sb);
}

/* SHA256(head || tail) for two messages of equal lengths. `scratch` holds >= 2 * (tail_len + 137) bytes. */
void zk_sha256_cat_x2(const uint8_t *head_a, const uint8_t *head_b, size_t head_len, const uint8_t *tail_a,
                      const uint8_t *tail_b, size_t tail_len, uint8_t *scratch, uint8_t out_a[32],
                      uint8_t out_b[32]) {
    uint32_t sa[8], sb[8];
    memcpy(sa, IV, sizeof IV);
    memcpy(sb, IV, sizeof IV);
    compress2_fn f = pick2();
    size_t direct = head_len / 64;
    if (direct) f(sa, sb, head_a, head_b, direct);
    size_t rest = head_len - 64 * direct, total = head_len + tail_len;
    size_t buf_len = ((rest + tail_len + 9 + 63) / 64) * 64;
    uint8_t *ba = scratch, *bb = scratch + buf_len;
    memset(ba, 0, 2 * buf_len);
    memcpy(ba, head_a + 64 * direct, rest);
    memcpy(bb, head_b + 64 * direct, rest);
    if (tail_len) {
        memcpy(ba + rest, tail_a, tail_len);
        memcpy(bb + rest, tail_b, tail_len);
    }
    ba[rest + tail_len] = bb[rest + tail_len] = 0x80;
    uint64_t bits = (uint64_t)total * 8;
    for (int i = 0; i < 8; i++) ba[buf_len - 1 - i] = bb[buf_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    f(sa, sb, ba, bb, buf_len / 64);
    store_digest(out_a, sa);
    store_digest(out_b, sb);
}
