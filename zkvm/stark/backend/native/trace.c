#include "trace.h"

#include <string.h>

#include "field.h"
#include "parallel.h"

/* Rows per block: the block's output rows (ROWS x w x 4 bytes) stay in cache while every column is read
 * sequentially into them. The naive column-by-column store (numpy) touches every output row once per column. */
#define ROWS 64

typedef struct {
    const int64_t *const *cols;
    size_t w, n;
    uint32_t *out;
} rows_ctx;

static inline uint32_t canon(int64_t v) {
    if ((uint64_t)v < (uint64_t)BB_P) return (uint32_t)v;
    int64_t r = v % (int64_t)BB_P;
    return (uint32_t)(r < 0 ? r + (int64_t)BB_P : r);
}

static void rows_range(void *vctx, size_t b, size_t e) {
    rows_ctx *c = (rows_ctx *)vctx;
    for (size_t r0 = b * ROWS; r0 < e * ROWS && r0 < c->n; r0 += ROWS) {
        size_t r1 = r0 + ROWS < c->n ? r0 + ROWS : c->n;
        for (size_t j = 0; j < c->w; j++) {
            const int64_t *col = c->cols[j];
            uint32_t *o = c->out + r0 * c->w + j;
            if (col == NULL) {
                for (size_t r = r0; r < r1; r++, o += c->w) *o = 0;
            } else {
                for (size_t r = r0; r < r1; r++, o += c->w) *o = canon(col[r]);
            }
        }
    }
}

int zk_trace_rows(const int64_t *const *cols, size_t w, size_t n, size_t height, uint32_t *out) {
    if (out == NULL || w == 0 || n > height || (n > 0 && cols == NULL)) return -1;
    rows_ctx c = {cols, w, n, out};
    /* threads only for tall traces: a block of a few thousand rows is done before a second thread wakes up */
    zk_parallel_for((n + ROWS - 1) / ROWS, 1024, rows_range, &c);
    if (height > n) memset(out + n * w, 0, (height - n) * w * sizeof(uint32_t));
    return 0;
}
