/* Freestanding runtime linked into every guest: buffered input/journal I/O over the word ecalls, the
 * mem* functions the compiler may emit calls to, and a bump allocator.
 *
 * Compiled with -fno-builtin so the loops below are not turned back into calls to themselves. */
#include "zkvm_guest.h"

/* Word accesses into caller buffers of any declared type: tell the compiler they may alias. */
typedef uint32_t __attribute__((may_alias)) word_t;

/* ---- input: READ_BUF fills whole words, READ_WORD hands out up to 4 bytes at a time; a caller asking for
 * fewer keeps the rest here so the byte stream is never lost between calls. */
static uint32_t pending_word;  /* unread bytes, lowest byte next */
static uint32_t pending_count; /* 0..3 */

size_t zkvm_read(void *buf, size_t len) {
    uint8_t *out = (uint8_t *)buf;
    size_t done = 0;
    while (done < len && pending_count > 0) {
        out[done++] = (uint8_t)pending_word;
        pending_word >>= 8;
        pending_count--;
    }
    /* Fast path: whole words straight into an aligned destination with READ_BUF, one ecall per
     * ZKVM_READ_BUF_MAX_WORDS words (this is where large inputs, e.g. a private model's blob, come in). */
    if (((uintptr_t)(out + done) & 3u) == 0) {
        word_t *dst = (word_t *)(out + done);
        size_t words = (len - done) / 4;
        while (words > 0) {
            uint32_t chunk = words < ZKVM_READ_BUF_MAX_WORDS ? (uint32_t)words : ZKVM_READ_BUF_MAX_WORDS;
            uint32_t got = zkvm_read_buf((uint32_t *)dst, chunk);
            done += got;
            if (got < 4 * chunk) return done; /* end of input (the rest of the chunk is zeroed) */
            dst += chunk;
            words -= chunk;
        }
    }
    while (done < len) {
        uint32_t count;
        uint32_t word = zkvm_read_word(&count);
        uint32_t i = 0;
        for (; i < count && done < len; i++) out[done++] = (uint8_t)(word >> (8 * i));
        if (i < count) { /* caller wanted fewer bytes than the word carried */
            pending_word = word >> (8 * i);
            pending_count = count - i;
            return done;
        }
        if (count < 4) return done; /* end of input */
    }
    return done;
}

uint32_t zkvm_read_u32(void) {
    uint8_t bytes[4] = {0, 0, 0, 0};
    zkvm_read(bytes, 4);
    return (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 | (uint32_t)bytes[3] << 24;
}

void zkvm_commit(const void *buf, size_t len) {
    const uint8_t *in = (const uint8_t *)buf;
    if (((uintptr_t)in & 3u) == 0) {
        for (; len >= 4; in += 4, len -= 4) zkvm_commit_word(*(const word_t *)in, 4);
    }
    while (len > 0) {
        uint32_t n = len < 4 ? (uint32_t)len : 4;
        uint32_t word = 0;
        for (uint32_t i = 0; i < n; i++) word |= (uint32_t)in[i] << (8 * i);
        zkvm_commit_word(word, n);
        in += n;
        len -= n;
    }
}

/* ---- SHA-256 over the SHA256 ecall: the accelerator compresses, the padding is done here. */
void zkvm_sha256(const void *data, size_t len, uint8_t digest[32]) {
    uint32_t state[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                         0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    uint32_t tail[32]; /* one or two final blocks; word-typed so the ecall's block pointer is aligned */
    uint8_t *t = (uint8_t *)tail;
    const uint8_t *in = (const uint8_t *)data;
    size_t full = len & ~(size_t)63;
    if (((uintptr_t)in & 3u) == 0) {
        zkvm_sha256_blocks(state, in, full / 64);
    } else {
        for (size_t off = 0; off < full; off += 64) {
            memcpy(t, in + off, 64);
            zkvm_sha256_blocks(state, t, 1);
        }
    }
    size_t rem = len - full, padded = rem < 56 ? 64 : 128;
    memcpy(t, in + full, rem);
    t[rem] = 0x80;
    memset(t + rem + 1, 0, padded - 9 - rem);
    uint64_t bits = (uint64_t)len * 8u;
    for (int i = 0; i < 8; i++) t[padded - 1 - i] = (uint8_t)(bits >> (8 * i));
    zkvm_sha256_blocks(state, t, padded / 64);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)state[i];
    }
}

/* ---- heap: a bump pointer from _end (set by link.ld) up to the stack reservation. */
extern char _end[];
static uintptr_t heap_next;

static void heap_init(void) {
    if (heap_next == 0) heap_next = (uintptr_t)_end;
}

size_t zkvm_heap_free(void) {
    heap_init();
    return heap_next < ZKVM_HEAP_END ? ZKVM_HEAP_END - heap_next : 0;
}

void *zkvm_alloc(size_t size) {
    heap_init();
    uintptr_t start = (heap_next + 7u) & ~(uintptr_t)7u;
    if (size > ZKVM_HEAP_END || start > ZKVM_HEAP_END - size) return NULL;
    heap_next = start + size;
    return (void *)start;
}

/* ---- mem*: word-at-a-time when both pointers share alignment, bytes otherwise. */
void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    if ((((uintptr_t)d ^ (uintptr_t)s) & 3u) == 0) {
        while (n > 0 && ((uintptr_t)d & 3u)) { *d++ = *s++; n--; }
        for (; n >= 4; d += 4, s += 4, n -= 4) *(word_t *)d = *(const word_t *)s;
    }
    while (n > 0) { *d++ = *s++; n--; }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    if (d == s || n == 0) return dst;
    if (d < s || d >= s + n) return memcpy(dst, src, n); /* forward copy is safe */
    /* Overlap with dst after src: copy backwards. */
    d += n;
    s += n;
    if ((((uintptr_t)d ^ (uintptr_t)s) & 3u) == 0) {
        while (n > 0 && ((uintptr_t)d & 3u)) { *--d = *--s; n--; }
        for (; n >= 4; n -= 4) { d -= 4; s -= 4; *(word_t *)d = *(const word_t *)s; }
    }
    while (n > 0) { *--d = *--s; n--; }
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    uint8_t byte = (uint8_t)c;
    while (n > 0 && ((uintptr_t)d & 3u)) { *d++ = byte; n--; }
    uint32_t word = 0x01010101u * byte;
    for (; n >= 4; d += 4, n -= 4) *(word_t *)d = word;
    while (n > 0) { *d++ = byte; n--; }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = (const uint8_t *)a;
    const uint8_t *y = (const uint8_t *)b;
    for (; n > 0; x++, y++, n--) {
        if (*x != *y) return (int)*x - (int)*y;
    }
    return 0;
}
