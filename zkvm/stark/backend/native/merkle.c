#include "merkle.h"

#include <stdlib.h>
#include <string.h>

#include "bitrev.h"
#include "parallel.h"
#include "sha256.h"

typedef struct {
    const uint32_t *rows;
    size_t w;
    const uint8_t *salts;
    size_t salt_len;
    uint8_t *out;
    const uint8_t *children;
    int failed;
} merkle_ctx;

static void leaves_range(void *vctx, size_t b, size_t e) {
    merkle_ctx *c = (merkle_ctx *)vctx;
    size_t row_bytes = c->w * sizeof(uint32_t);
    uint8_t stack_scratch[2 * (64 + 137)];
    uint8_t *scratch = stack_scratch;
    if (c->salt_len > 64) {
        scratch = (uint8_t *)malloc(2 * (c->salt_len + 137));
        if (!scratch) { __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED); return; }
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "leaf encoding assumes a little-endian host (rows are hashed straight from memory as le32 words)"
#endif
    static const uint8_t none[1] = {0};
    size_t i = b;
    for (; i + 2 <= e; i += 2) { /* two leaves at a time: interleaved SHA-NI */
        const uint8_t *ra = (const uint8_t *)(c->rows + i * c->w), *rb = ra + row_bytes;
        const uint8_t *sa = c->salt_len ? c->salts + i * c->salt_len : none;
        const uint8_t *sb = c->salt_len ? sa + c->salt_len : none;
        zk_sha256_cat_x2(ra, rb, row_bytes, sa, sb, c->salt_len, scratch, c->out + 32 * i, c->out + 32 * (i + 1));
    }
    for (; i < e; i++) {
        zk_sha256_ctx h;
        zk_sha256_init(&h);
        zk_sha256_update(&h, (const uint8_t *)(c->rows + i * c->w), row_bytes);
        if (c->salt_len) zk_sha256_update(&h, c->salts + i * c->salt_len, c->salt_len);
        zk_sha256_final(&h, c->out + 32 * i);
    }
    if (scratch != stack_scratch) free(scratch);
}

static void level_range(void *vctx, size_t b, size_t e) {
    merkle_ctx *c = (merkle_ctx *)vctx;
    size_t i = b;
    for (; i + 2 <= e; i += 2)
        zk_sha256_pair_x2(c->children + 64 * i, c->children + 64 * (i + 1), c->out + 32 * i, c->out + 32 * (i + 1));
    for (; i < e; i++)
        zk_sha256_pair(c->children + 64 * i, c->children + 64 * i + 32, c->out + 32 * i);
}

int zk_merkle_build(const uint32_t *rows, size_t n, size_t w, const uint8_t *salts, size_t salt_len,
                    uint8_t *nodes) {
    if (n == 0 || (n & (n - 1)) || (salt_len && !salts)) return -1;
    merkle_ctx c = {rows, w, salts, salt_len, nodes, NULL, 0};
    zk_parallel_for(n, 256, leaves_range, &c);
    if (c.failed) return -2;
    uint8_t *level = nodes;
    for (size_t m = n / 2; m >= 1; m /= 2) {
        c.children = level;
        c.out = level + 64 * m; /* the previous level has 2m digests */
        zk_parallel_for(m, 1024, level_range, &c);
        level = c.out;
    }
    return 0;
}

/* ---------------------------------------------------------------- mixed-height trees (merkle_verify.py) */

typedef struct {
    const uint32_t *const *mats;
    const size_t *widths;
    size_t n_mats, msg_len;
    int log_h;
    size_t first;
    const uint8_t *salts;
    size_t salt_len;
    uint8_t *out;
    int failed;
} mmcs_ctx;

static void gather_row(const mmcs_ctx *c, size_t pos, uint8_t *dst) {
    size_t row = bit_reverse(pos, c->log_h);
    for (size_t m = 0; m < c->n_mats; m++) {
        size_t bytes = c->widths[m] * sizeof(uint32_t);
        memcpy(dst, c->mats[m] + row * c->widths[m], bytes);
        dst += bytes;
    }
}

static void mmcs_leaves_range(void *vctx, size_t b, size_t e) {
    mmcs_ctx *c = (mmcs_ctx *)vctx;
    size_t msg = c->msg_len;
    uint8_t *buf = (uint8_t *)malloc(2 * msg + 2 * (c->salt_len + 137) + 1);
    if (!buf) { __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED); return; }
    uint8_t *scratch = buf + 2 * msg;
    static const uint8_t none[1] = {0};
    size_t i = b;
    for (; i + 2 <= e; i += 2) { /* two leaves at a time: interleaved SHA-NI */
        gather_row(c, c->first + i, buf);
        gather_row(c, c->first + i + 1, buf + msg);
        const uint8_t *sa = c->salt_len ? c->salts + i * c->salt_len : none;
        const uint8_t *sb = c->salt_len ? sa + c->salt_len : none;
        zk_sha256_cat_x2(buf, buf + msg, msg, sa, sb, c->salt_len, scratch, c->out + 32 * i, c->out + 32 * (i + 1));
    }
    for (; i < e; i++) {
        gather_row(c, c->first + i, buf);
        zk_sha256_ctx h;
        zk_sha256_init(&h);
        zk_sha256_update(&h, buf, msg);
        if (c->salt_len) zk_sha256_update(&h, c->salts + i * c->salt_len, c->salt_len);
        zk_sha256_final(&h, c->out + 32 * i);
    }
    free(buf);
}

int zk_mmcs_leaves(const uint32_t *const *mats, const size_t *widths, size_t n_mats, int log_h, size_t first,
                   size_t count, const uint8_t *salts, size_t salt_len, uint8_t *out) {
    if (log_h < 0 || log_h > 31 || n_mats == 0 || (salt_len && !salts)) return -1;
    if (first > ((size_t)1 << log_h) || count > ((size_t)1 << log_h) - first) return -1;
    size_t msg = 0;
    for (size_t m = 0; m < n_mats; m++) {
        if (!mats[m] && widths[m]) return -1;
        msg += widths[m] * sizeof(uint32_t);
    }
    mmcs_ctx c = {mats, widths, n_mats, msg, log_h, first, salts, salt_len, out, 0};
    zk_parallel_for(count, 256, mmcs_leaves_range, &c);
    return c.failed ? -2 : 0;
}

typedef struct {
    const uint8_t *left, *right;
    size_t stride; /* bytes between consecutive left (and right) digests */
    uint8_t *out;
} compress_ctx;

static void compress_range(void *vctx, size_t b, size_t e) {
    compress_ctx *c = (compress_ctx *)vctx;
    uint8_t pair[2][64];
    size_t i = b;
    for (; i + 2 <= e; i += 2) {
        for (int k = 0; k < 2; k++) {
            memcpy(pair[k], c->left + (i + k) * c->stride, 32);
            memcpy(pair[k] + 32, c->right + (i + k) * c->stride, 32);
        }
        zk_sha256_pair_x2(pair[0], pair[1], c->out + 32 * i, c->out + 32 * (i + 1));
    }
    for (; i < e; i++) zk_sha256_pair(c->left + i * c->stride, c->right + i * c->stride, c->out + 32 * i);
}

int zk_merkle_compress(const uint8_t *left, const uint8_t *right, size_t stride, size_t count, uint8_t *out) {
    if (!left || !right || !out || stride < 32) return -1;
    compress_ctx c = {left, right, stride, out};
    zk_parallel_for(count, 1024, compress_range, &c);
    return 0;
}
