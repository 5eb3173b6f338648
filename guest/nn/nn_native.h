/* Native (gcc/clang on the host) stand-in for zkvm_guest.h, so the engine and the guest programs can be
 * unit-tested, sanitised and fuzzed before/without the RISC-V toolchain. Private input comes from stdin, the
 * journal goes to stdout, the exit code is the process exit status. Only used with -DNN_NATIVE. */
#ifndef NN_NATIVE_H
#define NN_NATIVE_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn_exit_codes.h"

static inline size_t zkvm_read(void *buf, size_t len) { return fread(buf, 1, len, stdin); }
static inline uint32_t zkvm_read_u32(void) {
    uint8_t b[4] = {0, 0, 0, 0};
    zkvm_read(b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline void zkvm_commit(const void *buf, size_t len) { fwrite(buf, 1, len, stdout); }
static inline void zkvm_log(const char *msg, size_t len) { fwrite(msg, 1, len, stderr); }
static inline __attribute__((noreturn)) void zkvm_exit(int code) {
    fflush(stdout);
    exit(code);
}
/* Fresh zeroed memory, like the guest's bump allocator. Leaks by design (the process is short-lived). */
static inline void *zkvm_alloc(size_t size) { return calloc(1, size ? size : 1); }
#endif
