/* Merkle tree over the rows of a row-major uint32[n][w] matrix, see zkvm/stark/merkle_verify.py for the
 * encoding. `nodes` receives 2n-1 digests of 32 bytes: the n leaves, then each level up, the root last.
 * Returns 0, or -1 for bad arguments (n not a power of two), -2 when out of memory. */
#ifndef ZKVM_MERKLE_H
#define ZKVM_MERKLE_H

#include <stddef.h>
#include <stdint.h>

int zk_merkle_build(const uint32_t *rows, size_t n, size_t w, const uint8_t *salts, size_t salt_len,
                    uint8_t *nodes);

#endif
