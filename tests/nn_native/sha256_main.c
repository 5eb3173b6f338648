/* Test harness for guest/nn/sha256.c, built natively (-DNN_NATIVE) and as an RV32IM guest: reads up to 4 KiB of
 * input, commits SHA-256 of every prefix (lengths 0..n, so every padding case), then the digest of the whole
 * input fed to sha256_update in uneven pieces (1, 2, ..., 97 bytes, repeating). */
#include "sha256.h"

static uint8_t buf[4096] __attribute__((aligned(4)));

int main(void) {
    uint32_t n = (uint32_t)zkvm_read(buf, sizeof buf);
    uint8_t digest[32];
    for (uint32_t len = 0; len <= n; len++) {
        sha256(buf, len, digest);
        zkvm_commit(digest, 32);
    }
    sha256_ctx ctx;
    sha256_init(&ctx);
    for (uint32_t off = 0, piece = 1; off < n; off += piece, piece = piece % 97 + 1)
        sha256_update(&ctx, buf + off, piece < n - off ? piece : n - off);
    sha256_final(&ctx, digest);
    zkvm_commit(digest, 32);
    zkvm_exit(0);
}
