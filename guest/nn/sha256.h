/* Portable SHA-256 (FIPS 180-4) for guests: used to commit digests of the model blob and the input. */
#ifndef NN_SHA256_H
#define NN_SHA256_H
#include "nn_platform.h"

typedef struct {
    uint32_t state[8];
    uint8_t block[64] __attribute__((aligned(4))); /* the SHA256 ecall reads it as words */
    uint32_t block_len; /* bytes buffered in `block` */
    uint64_t total_len; /* bytes hashed so far */
} sha256_ctx;

void sha256_init(sha256_ctx *ctx);
void sha256_update(sha256_ctx *ctx, const uint8_t *data, uint32_t len);
void sha256_final(sha256_ctx *ctx, uint8_t digest[32]);
void sha256(const uint8_t *data, uint32_t len, uint8_t digest[32]);
#endif
