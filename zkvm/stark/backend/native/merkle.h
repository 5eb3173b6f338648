/* Merkle tree over the rows of a row-major uint32[n][w] matrix, see zkvm/stark/verifying/merkle.py for the
 * encoding. `nodes` receives 2n-1 digests of 32 bytes: the n leaves, then each level up, the root last.
 * Returns 0, or -1 for bad arguments (n not a power of two), -2 when out of memory. */
#ifndef ZKVM_MERKLE_H
#define ZKVM_MERKLE_H

#include <stddef.h>
#include <stdint.h>

int zk_merkle_build(const uint32_t *rows, size_t n, size_t w, const uint8_t *salts, size_t salt_len,
                    uint8_t *nodes);

/* Mixed-height trees (encoding in zkvm/stark/verifying/merkle.py). Leaf digests of positions [first, first + count)
 * of a level of width 2^log_h: position i hashes, for every matrix in order, its row bitrev_{log_h}(i) as le32
 * words, then `salts[i - first]` (salt_len bytes, or nothing). Returns 0, -1 for bad arguments, -2 when out of
 * memory. */
int zk_mmcs_leaves(const uint32_t *const *mats, const size_t *widths, size_t n_mats, int log_h, size_t first,
                   size_t count, const uint8_t *salts, size_t salt_len, uint8_t *out);
/* out[i] = SHA256(left + i*stride [32 bytes] || right + i*stride [32 bytes]) for i < count: a level of nodes
 * (left = children, right = children + 32, stride 64) or an injection (node digests, leaf digests, stride 32). */
int zk_merkle_compress(const uint8_t *left, const uint8_t *right, size_t stride, size_t count, uint8_t *out);

#endif
