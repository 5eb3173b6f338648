/* The prover's bulk randomness: the ChaCha20 keystream (Bernstein's original layout: 64-bit block counter in
 * state words 12-13, 64-bit nonce in words 14-15), keyed once per proof from os.urandom (zk.Randomness).
 *
 * Why not os.urandom for everything: zk salts every Merkle leaf (16 bytes per row of every private tree) and
 * draws the FRI mask's coefficients, ~150 MB per 2^18-row proof; the kernel's generator delivers ~250 MB/s,
 * this one several GB/s on two cores. (The kernel's generator is itself a ChaCha20 keystream from a seeded
 * key, so the construction is the same; see the zk.py docstring for the hiding argument.)
 *
 * Blocks are independent (counter mode), so the output is split across threads by block, and the AVX2 path
 * computes 8 blocks at once (one block per lane); both give exactly the scalar keystream. */
#include "prng.h"

#include <string.h>

#include "field.h"
#include "parallel.h"
#include "simd.h"

#if defined(__x86_64__) || defined(__i386__)
#define ZK_X86 1
#include <immintrin.h>
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "the keystream is stored as little-endian words straight from registers"
#endif

#define ROTL(v, c) (((v) << (c)) | ((v) >> (32 - (c))))
#define QR(a, b, c, d)                                                                                          \
    do {                                                                                                        \
        a += b; d ^= a; d = ROTL(d, 16);                                                                        \
        c += d; b ^= c; b = ROTL(b, 12);                                                                        \
        a += b; d ^= a; d = ROTL(d, 8);                                                                         \
        c += d; b ^= c; b = ROTL(b, 7);                                                                         \
    } while (0)

static void init_state(uint32_t s[16], const uint8_t key[32], uint64_t nonce) {
    s[0] = 0x61707865u; s[1] = 0x3320646eu; s[2] = 0x79622d32u; s[3] = 0x6b206574u;
    for (int i = 0; i < 8; i++) memcpy(&s[4 + i], key + 4 * i, 4);
    s[12] = s[13] = 0;
    s[14] = (uint32_t)nonce;
    s[15] = (uint32_t)(nonce >> 32);
}

/* One 64-byte block at block counter `ctr`. */
static void block_scalar(const uint32_t in[16], uint64_t ctr, uint32_t out[16]) {
    uint32_t x[16];
    memcpy(x, in, sizeof x);
    x[12] = (uint32_t)ctr;
    x[13] = (uint32_t)(ctr >> 32);
    uint32_t s12 = x[12], s13 = x[13];
    for (int i = 0; i < 10; i++) {
        QR(x[0], x[4], x[8], x[12]); QR(x[1], x[5], x[9], x[13]);
        QR(x[2], x[6], x[10], x[14]); QR(x[3], x[7], x[11], x[15]);
        QR(x[0], x[5], x[10], x[15]); QR(x[1], x[6], x[11], x[12]);
        QR(x[2], x[7], x[8], x[13]); QR(x[3], x[4], x[9], x[14]);
    }
    for (int i = 0; i < 16; i++) out[i] = x[i] + (i == 12 ? s12 : i == 13 ? s13 : in[i]);
}

/* Blocks [b, e) of the stream into out (64 bytes per block, out points at block 0). */
typedef void (*blocks_fn)(const uint32_t in[16], uint64_t ctr0, size_t b, size_t e, uint8_t *out);

static void blocks_scalar(const uint32_t in[16], uint64_t ctr0, size_t b, size_t e, uint8_t *out) {
    uint32_t blk[16];
    for (size_t i = b; i < e; i++) {
        block_scalar(in, ctr0 + i, blk);
        memcpy(out + 64 * i, blk, 64);
    }
}

#ifdef ZK_X86
#define AVX2 __attribute__((target("avx2")))
AVX2 static inline __m256i rotl8(__m256i v, int c) {
    return _mm256_or_si256(_mm256_slli_epi32(v, c), _mm256_srli_epi32(v, 32 - c));
}
#define QR8(a, b, c, d)                                                                                         \
    do {                                                                                                        \
        a = _mm256_add_epi32(a, b); d = rotl8(_mm256_xor_si256(d, a), 16);                                      \
        c = _mm256_add_epi32(c, d); b = rotl8(_mm256_xor_si256(b, c), 12);                                      \
        a = _mm256_add_epi32(a, b); d = rotl8(_mm256_xor_si256(d, a), 8);                                       \
        c = _mm256_add_epi32(c, d); b = rotl8(_mm256_xor_si256(b, c), 7);                                       \
    } while (0)

/* 8 consecutive blocks per iteration, lane j = block i + j; transposed back to byte order through a small
 * buffer. The tail (< 8 blocks) is scalar. */
AVX2 static void blocks_avx2(const uint32_t in[16], uint64_t ctr0, size_t b, size_t e, uint8_t *out) {
    size_t i = b;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (; i + 8 <= e; i += 8) {
        uint64_t c = ctr0 + i;
        __m256i lo = _mm256_add_epi32(_mm256_set1_epi32((int)(uint32_t)c), lane);
        /* carry into the high word for lanes whose low word wrapped (unsigned lo < lane start) */
        const __m256i bias = _mm256_set1_epi32(INT32_MIN);
        __m256i wrapped = _mm256_cmpgt_epi32(_mm256_xor_si256(_mm256_set1_epi32((int)(uint32_t)c), bias),
                                             _mm256_xor_si256(lo, bias));
        __m256i hi = _mm256_sub_epi32(_mm256_set1_epi32((int)(uint32_t)(c >> 32)), wrapped);
        __m256i x[16], s[16];
        for (int k = 0; k < 16; k++) s[k] = _mm256_set1_epi32((int)in[k]);
        s[12] = lo;
        s[13] = hi;
        for (int k = 0; k < 16; k++) x[k] = s[k];
        for (int r = 0; r < 10; r++) {
            QR8(x[0], x[4], x[8], x[12]); QR8(x[1], x[5], x[9], x[13]);
            QR8(x[2], x[6], x[10], x[14]); QR8(x[3], x[7], x[11], x[15]);
            QR8(x[0], x[5], x[10], x[15]); QR8(x[1], x[6], x[11], x[12]);
            QR8(x[2], x[7], x[8], x[13]); QR8(x[3], x[4], x[9], x[14]);
        }
        uint32_t words[16][8];
        for (int k = 0; k < 16; k++) _mm256_storeu_si256((__m256i *)words[k], _mm256_add_epi32(x[k], s[k]));
        for (int j = 0; j < 8; j++) {
            uint32_t blk[16];
            for (int k = 0; k < 16; k++) blk[k] = words[k][j];
            memcpy(out + 64 * (i + j), blk, 64);
        }
    }
    blocks_scalar(in, ctr0, i, e, out);
}
#endif

static blocks_fn pick_blocks(void) {
#ifdef ZK_X86
    if (zk_simd_level() >= 1) return blocks_avx2;
#endif
    return blocks_scalar;
}

typedef struct {
    uint32_t state[16];
    uint64_t ctr0;
    uint8_t *out;
    blocks_fn fn;
} stream_ctx;

static void stream_range(void *vctx, size_t b, size_t e) {
    stream_ctx *c = (stream_ctx *)vctx;
    c->fn(c->state, c->ctr0, b, e, c->out);
}

int zk_chacha20_stream(const uint8_t key[32], uint64_t nonce, uint64_t block0, uint8_t *out, size_t nbytes) {
    if (!key || (nbytes && !out)) return -1;
    stream_ctx c;
    init_state(c.state, key, nonce);
    c.ctr0 = block0;
    c.out = out;
    c.fn = pick_blocks();
    size_t whole = nbytes / 64;
    zk_parallel_for(whole, 1024, stream_range, &c);
    if (nbytes % 64) {
        uint32_t blk[16];
        block_scalar(c.state, block0 + whole, blk);
        memcpy(out + 64 * whole, blk, nbytes % 64);
    }
    return 0;
}

/* Field elements: element i = (little-endian 64-bit word i of the keystream) mod p, so each is within
 * statistical distance p / 2^64 < 2^-32 of uniform. Generated one chunk of 8 blocks (64 elements) at a time
 * so the keystream never exists in full. */
typedef struct {
    uint32_t state[16];
    uint64_t ctr0;
    uint32_t *out;
    size_t count;
    blocks_fn fn;
} field_ctx;

static void field_range(void *vctx, size_t b, size_t e) { /* b, e count groups of 64 elements */
    field_ctx *c = (field_ctx *)vctx;
    uint64_t buf[64];
    for (size_t g = b; g < e; g++) {
        c->fn(c->state, c->ctr0 + 8 * g, 0, 8, (uint8_t *)buf);
        size_t first = 64 * g, n = c->count - first < 64 ? c->count - first : 64;
        for (size_t k = 0; k < n; k++) c->out[first + k] = (uint32_t)(buf[k] % BB_P);
    }
}

int zk_chacha20_field(const uint8_t key[32], uint64_t nonce, uint32_t *out, size_t count) {
    if (!key || (count && !out)) return -1;
    field_ctx c;
    init_state(c.state, key, nonce);
    c.ctr0 = 0;
    c.out = out;
    c.count = count;
    c.fn = pick_blocks();
    zk_parallel_for((count + 63) / 64, 256, field_range, &c);
    return 0;
}
