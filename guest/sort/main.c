/* sort: sorts the private input as unsigned 32-bit integers (LSD radix sort, 4 passes of 8 bits: linear
 * time and a data-independent number of passes).
 *
 * Input:   an array of u32, little-endian, back to back (length a multiple of 4 bytes; may be empty).
 * Journal: the same values in ascending order, u32 little-endian.
 * Exit:    0; 1 if the input length is not a multiple of 4 or does not fit the heap (nothing committed). */
#include "zkvm_guest.h"

#define EXIT_BAD_INPUT 1

static void radix_sort(uint32_t *data, uint32_t *tmp, size_t n) {
    for (unsigned shift = 0; shift < 32; shift += 8) {
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++) count[(data[i] >> shift) & 0xff]++;
        size_t pos = 0;
        for (int d = 0; d < 256; d++) {
            size_t c = count[d];
            count[d] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++) tmp[count[(data[i] >> shift) & 0xff]++] = data[i];
        uint32_t *swap = data; /* the sorted-so-far array alternates between the two buffers */
        data = tmp;
        tmp = swap;
    }
    /* 4 passes: an even number of swaps, so the result is back in the caller's `data`. */
}

int main(void) {
    /* Half the free heap for the input, half for the radix scratch buffer. */
    size_t cap_words = zkvm_heap_free() / 8;
    uint32_t *data = zkvm_alloc(cap_words * 4);
    size_t nbytes = zkvm_read(data, cap_words * 4);
    uint8_t probe;
    if (nbytes % 4 != 0 || zkvm_read(&probe, 1) != 0) return EXIT_BAD_INPUT;
    size_t n = nbytes / 4;
    uint32_t *tmp = zkvm_alloc(n * 4);
    if (tmp == NULL) return EXIT_BAD_INPUT;
    radix_sort(data, tmp, n);
    zkvm_commit(data, n * 4);
    return 0;
}
