/* fib: the n-th Fibonacci number, modulo 2^32.
 *
 * Input:   n as a u32, little-endian (4 bytes; missing bytes read as zero).
 * Journal: fib(n) mod 2^32 as a u32, little-endian, with fib(0) = 0, fib(1) = 1.
 * Exit:    0. About 4 cycles per step, so n sets the run length (n = 10^6 is ~4M cycles). */
#include "zkvm_guest.h"

int main(void) {
    uint32_t n = zkvm_read_u32();
    uint32_t a = 0, b = 1; /* fib(i), fib(i+1) */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t next = a + b;
        a = b;
        b = next;
    }
    zkvm_commit_u32(a);
    return 0;
}
