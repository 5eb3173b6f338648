/* SHA-256 (FIPS 180-4); tested against hashlib (tests/test_nn_sha256.py). On the zkvm every block goes to the
 * SHA256 ecall (the accelerator: whole blocks of a buffer in one call, O(1) cycles instead of ~4,300 a block
 * in RV32IM); the portable compression
 * below serves the native (-DNN_NATIVE) build only. Padding and buffering are the same code for both. */
#include "sha256.h"

#ifdef NN_NATIVE

static const uint32_t K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

static inline uint32_t rotr(uint32_t x, uint32_t n) { return (x >> n) | (x << (32u - n)); }

#define BSIG0(x) (rotr((x), 2) ^ rotr((x), 13) ^ rotr((x), 22))
#define BSIG1(x) (rotr((x), 6) ^ rotr((x), 11) ^ rotr((x), 25))
#define SSIG0(x) (rotr((x), 7) ^ rotr((x), 18) ^ ((x) >> 3))
#define SSIG1(x) (rotr((x), 17) ^ rotr((x), 19) ^ ((x) >> 10))
#define CH(e, f, g) ((g) ^ ((e) & ((f) ^ (g))))

/* One round; the eight working variables rotate by renaming instead of moving (RV32 cycles are what the
 * prover pays for). Maj(a, b, c) = b ^ ((a ^ b) & (b ^ c)): this round's a ^ b is the next round's b ^ c, so
 * it is carried in `ab` and Maj costs three instructions instead of four. */
#define ROUND(a, b, c, d, e, f, g, h, k, w, bc, ab)              \
    do {                                                         \
        uint32_t t1_ = (h) + BSIG1(e) + CH(e, f, g) + (k) + (w); \
        (ab) = (a) ^ (b);                                        \
        (d) += t1_;                                              \
        (h) = t1_ + BSIG0(a) + ((b) ^ ((ab) & (bc)));            \
    } while (0)

#define SCHED(i) (w[(i) & 15] += SSIG1(w[((i) - 2) & 15]) + w[((i) - 7) & 15] + SSIG0(w[((i) - 15) & 15]))

static void compress(uint32_t s[8], const uint8_t *p) {
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    uint32_t x0 = b ^ c, x1; /* the carried b ^ c of the next round (see ROUND) */
    ROUND(a, b, c, d, e, f, g, h, K[0], w[0], x0, x1);
    ROUND(h, a, b, c, d, e, f, g, K[1], w[1], x1, x0);
    ROUND(g, h, a, b, c, d, e, f, K[2], w[2], x0, x1);
    ROUND(f, g, h, a, b, c, d, e, K[3], w[3], x1, x0);
    ROUND(e, f, g, h, a, b, c, d, K[4], w[4], x0, x1);
    ROUND(d, e, f, g, h, a, b, c, K[5], w[5], x1, x0);
    ROUND(c, d, e, f, g, h, a, b, K[6], w[6], x0, x1);
    ROUND(b, c, d, e, f, g, h, a, K[7], w[7], x1, x0);
    ROUND(a, b, c, d, e, f, g, h, K[8], w[8], x0, x1);
    ROUND(h, a, b, c, d, e, f, g, K[9], w[9], x1, x0);
    ROUND(g, h, a, b, c, d, e, f, K[10], w[10], x0, x1);
    ROUND(f, g, h, a, b, c, d, e, K[11], w[11], x1, x0);
    ROUND(e, f, g, h, a, b, c, d, K[12], w[12], x0, x1);
    ROUND(d, e, f, g, h, a, b, c, K[13], w[13], x1, x0);
    ROUND(c, d, e, f, g, h, a, b, K[14], w[14], x0, x1);
    ROUND(b, c, d, e, f, g, h, a, K[15], w[15], x1, x0);
    /* Sixteen rounds per step: the schedule's ring indices are then compile-time constants (fixed stack
     * offsets, no index arithmetic), and the step count is even, as the x0/x1 alternation needs. */
    for (int i = 16; i < 64; i += 16) {
        ROUND(a, b, c, d, e, f, g, h, K[i + 0], SCHED(0), x0, x1);
        ROUND(h, a, b, c, d, e, f, g, K[i + 1], SCHED(1), x1, x0);
        ROUND(g, h, a, b, c, d, e, f, K[i + 2], SCHED(2), x0, x1);
        ROUND(f, g, h, a, b, c, d, e, K[i + 3], SCHED(3), x1, x0);
        ROUND(e, f, g, h, a, b, c, d, K[i + 4], SCHED(4), x0, x1);
        ROUND(d, e, f, g, h, a, b, c, K[i + 5], SCHED(5), x1, x0);
        ROUND(c, d, e, f, g, h, a, b, K[i + 6], SCHED(6), x0, x1);
        ROUND(b, c, d, e, f, g, h, a, K[i + 7], SCHED(7), x1, x0);
        ROUND(a, b, c, d, e, f, g, h, K[i + 8], SCHED(8), x0, x1);
        ROUND(h, a, b, c, d, e, f, g, K[i + 9], SCHED(9), x1, x0);
        ROUND(g, h, a, b, c, d, e, f, K[i + 10], SCHED(10), x0, x1);
        ROUND(f, g, h, a, b, c, d, e, K[i + 11], SCHED(11), x1, x0);
        ROUND(e, f, g, h, a, b, c, d, K[i + 12], SCHED(12), x0, x1);
        ROUND(d, e, f, g, h, a, b, c, K[i + 13], SCHED(13), x1, x0);
        ROUND(c, d, e, f, g, h, a, b, K[i + 14], SCHED(14), x0, x1);
        ROUND(b, c, d, e, f, g, h, a, K[i + 15], SCHED(15), x1, x0);
    }
    s[0] += a;
    s[1] += b;
    s[2] += c;
    s[3] += d;
    s[4] += e;
    s[5] += f;
    s[6] += g;
    s[7] += h;
}
static void compress_blocks(uint32_t s[8], const uint8_t *p, uint32_t n) {
    for (; n > 0; n--, p += 64) compress(s, p);
}
#define ALIGNED(p) 1
#else
/* The ecall wants a 4-aligned block; the context's own buffer is. */
static void compress(uint32_t s[8], const uint8_t *p) { zkvm_sha256_blocks(s, p, 1); }
static void compress_blocks(uint32_t s[8], const uint8_t *p, uint32_t n) { zkvm_sha256_blocks(s, p, n); }
#define ALIGNED(p) (((uintptr_t)(p) & 3u) == 0)
#endif

void sha256_init(sha256_ctx *ctx) {
    static const uint32_t iv[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                   0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    for (int i = 0; i < 8; i++) ctx->state[i] = iv[i];
    ctx->block_len = 0;
    ctx->total_len = 0;
}

void sha256_update(sha256_ctx *ctx, const uint8_t *data, uint32_t len) {
    ctx->total_len += len;
    while (len > 0) {
        if (ctx->block_len == 0 && len >= 64u && ALIGNED(data)) {
            /* all whole blocks straight from the caller in one SHA256 ecall (a private model's blob is ~1,600
             * blocks: one CPU cycle instead of ~5 a block around a one-block call) */
            uint32_t n = len / 64u;
            compress_blocks(ctx->state, data, n);
            data += 64u * n;
            len -= 64u * n;
            continue;
        }
        uint32_t n = 64u - ctx->block_len;
        if (n > len) n = len;
        for (uint32_t i = 0; i < n; i++) ctx->block[ctx->block_len + i] = data[i];
        ctx->block_len += n;
        data += n;
        len -= n;
        if (ctx->block_len == 64u) {
            compress(ctx->state, ctx->block);
            ctx->block_len = 0;
        }
    }
}

/* Zero bytes [from, to) of the buffer, a word at a time once aligned (the buffer is 4-aligned). */
static void zero_block(uint8_t *b, uint32_t from, uint32_t to) {
    while (from < to && (from & 3u)) b[from++] = 0;
    for (; from + 4u <= to; from += 4u) *(uint32_t *)(void *)(b + from) = 0;
    while (from < to) b[from++] = 0;
}

void sha256_final(sha256_ctx *ctx, uint8_t digest[32]) {
    /* The padding is written into the buffer directly: byte by byte through sha256_update it cost ~1,000
     * guest cycles, more than the accelerated blocks of a small model. Same bytes, same digest. */
    uint64_t bits = ctx->total_len * 8u;
    uint8_t *b = ctx->block;
    uint32_t n = ctx->block_len;
    b[n++] = 0x80;
    if (n > 56u) {
        zero_block(b, n, 64u);
        compress(ctx->state, b);
        n = 0;
    }
    zero_block(b, n, 56u);
    for (int i = 0; i < 8; i++) b[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    compress(ctx->state, b);
    ctx->block_len = 0;
    for (int i = 0; i < 8; i++) {
        uint32_t s = ctx->state[i];
        digest[4 * i] = (uint8_t)(s >> 24);
        digest[4 * i + 1] = (uint8_t)(s >> 16);
        digest[4 * i + 2] = (uint8_t)(s >> 8);
        digest[4 * i + 3] = (uint8_t)s;
    }
}

void sha256(const uint8_t *data, uint32_t len, uint8_t digest[32]) {
    sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, data, len);
    sha256_final(&ctx, digest);
}
