/* A minimal parallel-for over pthreads (no OpenMP runtime needed: gcc + libc are enough, and it is safe to
 * fork after use). The calling thread runs the first chunk itself. */
#ifndef ZKVM_PARALLEL_H
#define ZKVM_PARALLEL_H

#include <stddef.h>

typedef void (*zk_range_fn)(void *ctx, size_t begin, size_t end);

/* Number of worker threads used (env ZKVM_THREADS, else the online CPU count, capped at 64). */
int zk_num_threads(void);
void zk_set_num_threads(int n);

/* Run fn(ctx, b, e) over contiguous chunks covering [0, count); no chunk smaller than min_chunk unless
 * count itself is. Falls back to running everything on the calling thread if threads cannot be created. */
void zk_parallel_for(size_t count, size_t min_chunk, zk_range_fn fn, void *ctx);


/* Large scratch buffers: anonymous mappings advised for transparent huge pages (far fewer page faults than
 * malloc's 4 KiB pages for buffers of hundreds of MiB). Free with the same size. NULL when out of memory. */
void *zk_big_alloc(size_t bytes);
void zk_big_free(void *p, size_t bytes);

#endif
