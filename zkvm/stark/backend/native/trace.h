/* Trace assembly for the witness fill (zkvm/circuit): named int64 columns -> one row-major uint32 matrix. */
#ifndef ZKVM_TRACE_H
#define ZKVM_TRACE_H

#include <stddef.h>
#include <stdint.h>

/* out[r * w + j] = cols[j][r] mod p (canonical, negative values included) for r < n; a NULL column gives
 * zeros; rows n..height-1 are zero. Returns 0, or -1 for bad arguments (n > height, w == 0, NULL out). */
int zk_trace_rows(const int64_t *const *cols, size_t w, size_t n, size_t height, uint32_t *out);

#endif
