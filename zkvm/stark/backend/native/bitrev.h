#ifndef ZK_BITREV_H
#define ZK_BITREV_H
/* The low `bits` bits of x in reverse order (bits <= 32): NTT ordering and the mixed Merkle tree's leaf
 * placement (zkvm/stark/verifying/merkle.py) both need it. */

#include <stddef.h>
#include <stdint.h>

static inline size_t bit_reverse(size_t x, int bits) {
    uint32_t v = (uint32_t)x;
    v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
    v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
    v = ((v >> 4) & 0x0f0f0f0fu) | ((v & 0x0f0f0f0fu) << 4);
    v = ((v >> 8) & 0x00ff00ffu) | ((v & 0x00ff00ffu) << 8);
    v = (v >> 16) | (v << 16);
    return bits ? (size_t)(v >> (32 - bits)) : 0;
}

#endif
