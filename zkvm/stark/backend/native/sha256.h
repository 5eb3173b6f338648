/* SHA-256: SHA-NI compression when the CPU has it (checked at run time), portable C otherwise. */
#ifndef ZKVM_SHA256_H
#define ZKVM_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[8];
    uint64_t total;      /* bytes absorbed */
    uint8_t buf[64];
    size_t buf_len;
} zk_sha256_ctx;

void zk_sha256_init(zk_sha256_ctx *c);
void zk_sha256_update(zk_sha256_ctx *c, const uint8_t *data, size_t len);
void zk_sha256_final(zk_sha256_ctx *c, uint8_t out[32]);
void zk_sha256(const uint8_t *data, size_t len, uint8_t out[32]);
/* SHA256(left32 || right32), the Merkle node hash (two compressions, no buffering). */
void zk_sha256_pair(const uint8_t *left, const uint8_t *right, uint8_t out[32]);

/* Two hashes at once (interleaved SHA-NI rounds when available): the Merkle tree's node hash, and
 * SHA256(head || tail) for two messages of equal lengths (`scratch`: at least 2 * (tail_len + 137) bytes). */
void zk_sha256_pair_x2(const uint8_t *children_a, const uint8_t *children_b, uint8_t out_a[32], uint8_t out_b[32]);
void zk_sha256_cat_x2(const uint8_t *head_a, const uint8_t *head_b, size_t head_len, const uint8_t *tail_a,
                      const uint8_t *tail_b, size_t tail_len, uint8_t *scratch, uint8_t out_a[32],
                      uint8_t out_b[32]);

int zk_sha256_has_shani(void);
/* Force the portable path on (1) or back to automatic (0); returns 1 if SHA-NI is in use afterwards. */
int zk_sha256_force_portable(int on);

#endif
