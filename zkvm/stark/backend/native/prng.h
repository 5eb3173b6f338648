/* ChaCha20 keystream for the prover's randomness (salts, masks): see prng.c. Returns 0, or -1 on bad input. */
#ifndef ZKVM_PRNG_H
#define ZKVM_PRNG_H

#include <stddef.h>
#include <stdint.h>

/* nbytes of the keystream of (key, nonce) starting at block `block0` (64 bytes per block). */
int zk_chacha20_stream(const uint8_t key[32], uint64_t nonce, uint64_t block0, uint8_t *out, size_t nbytes);
/* out[i] = (little-endian 64-bit word i of the keystream of (key, nonce) from block 0) mod p. */
int zk_chacha20_field(const uint8_t key[32], uint64_t nonce, uint32_t *out, size_t count);

#endif
