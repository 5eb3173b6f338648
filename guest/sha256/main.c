/* sha256: SHA-256 (FIPS 180-4) of the whole private input, on the SHA256 accelerator ecall.
 *
 * Input:   any bytes; read in 4 KiB chunks, so its size is bounded only by the host's input limit.
 * Journal: the 32-byte digest.
 * Exit:    0.
 *
 * Each 4 KiB chunk is one SHA256 ecall of 64 blocks (zkvm_sha256_blocks, proven by the sha256 tables, not in
 * RV32IM); the padding is done here. (bench/guests/sha256_rv32 is the same program compressing in plain C.) */
#include "zkvm_guest.h"

#define CHUNK 4096 /* a multiple of the 64-byte block */

int main(void) {
    static uint32_t words[(CHUNK + 128) / 4]; /* word-typed: the ecall's block pointer must be 4-aligned */
    uint8_t *buf = (uint8_t *)words;
    uint32_t state[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint64_t total = 0;
    size_t n;
    /* Only a short read (end of input) can leave a partial block, so full chunks hash directly. */
    while ((n = zkvm_read(buf, CHUNK)) == CHUNK) {
        zkvm_sha256_blocks(state, buf, CHUNK / 64);
        total += CHUNK;
    }
    total += n;
    size_t full = n & ~(size_t)63;
    zkvm_sha256_blocks(state, buf, full / 64);

    /* Padding: 0x80, zeros, then the bit length big-endian, to a multiple of 64 bytes. */
    uint8_t *tail = buf + full;
    size_t rem = n - full;
    tail[rem++] = 0x80;
    size_t padded = rem <= 56 ? 64 : 128;
    memset(tail + rem, 0, padded - 8 - rem);
    uint64_t bits = total * 8;
    for (int i = 0; i < 8; i++) tail[padded - 1 - i] = (uint8_t)(bits >> (8 * i));
    zkvm_sha256_blocks(state, tail, padded / 64);

    uint8_t digest[32];
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)state[i];
    }
    zkvm_commit(digest, sizeof digest);
    return 0;
}
