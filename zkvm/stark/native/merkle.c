#include "merkle.h"

#include <stdlib.h>
#include <string.h>

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
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint8_t *le = (uint8_t *)malloc(row_bytes ? row_bytes : 1);
    if (!le) { c->failed = 1; return; }
#endif
    for (size_t i = b; i < e; i++) {
        const uint8_t *row = (const uint8_t *)(c->rows + i * c->w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        for (size_t j = 0; j < c->w; j++) {
            uint32_t v = c->rows[i * c->w + j];
            le[4 * j] = (uint8_t)v; le[4 * j + 1] = (uint8_t)(v >> 8);
            le[4 * j + 2] = (uint8_t)(v >> 16); le[4 * j + 3] = (uint8_t)(v >> 24);
        }
        row = le;
#endif
        zk_sha256_ctx h;
        zk_sha256_init(&h);
        zk_sha256_update(&h, row, row_bytes); /* little-endian u32s: the in-memory layout on LE hosts */
        if (c->salt_len) zk_sha256_update(&h, c->salts + i * c->salt_len, c->salt_len);
        zk_sha256_final(&h, c->out + 32 * i);
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    free(le);
#endif
}

static void level_range(void *vctx, size_t b, size_t e) {
    merkle_ctx *c = (merkle_ctx *)vctx;
    for (size_t i = b; i < e; i++)
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
