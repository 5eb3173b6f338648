#include "parallel.h"

#include <pthread.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <unistd.h>

#define ZK_MAX_THREADS 64

static int g_threads = 0;

int zk_num_threads(void) {
    int n = __atomic_load_n(&g_threads, __ATOMIC_RELAXED);
    if (n > 0) return n;
    const char *env = getenv("ZKVM_THREADS");
    n = env ? atoi(env) : 0;
    if (n <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (int)cpus : 1;
    }
    if (n > ZK_MAX_THREADS) n = ZK_MAX_THREADS;
    __atomic_store_n(&g_threads, n, __ATOMIC_RELAXED);
    return n;
}

void zk_set_num_threads(int n) {
    if (n > ZK_MAX_THREADS) n = ZK_MAX_THREADS;
    __atomic_store_n(&g_threads, n > 0 ? n : 0, __ATOMIC_RELAXED);
}

typedef struct {
    zk_range_fn fn;
    void *ctx;
    size_t begin, end;
} zk_task;

static void *zk_task_main(void *arg) {
    zk_task *t = (zk_task *)arg;
    t->fn(t->ctx, t->begin, t->end);
    return NULL;
}

void zk_parallel_for(size_t count, size_t min_chunk, zk_range_fn fn, void *ctx) {
    if (count == 0) return;
    if (min_chunk == 0) min_chunk = 1;
    size_t parts = (size_t)zk_num_threads();
    if (parts > count / min_chunk) parts = count / min_chunk;
    if (parts <= 1) {
        fn(ctx, 0, count);
        return;
    }
    zk_task tasks[ZK_MAX_THREADS];
    pthread_t ids[ZK_MAX_THREADS];
    int started[ZK_MAX_THREADS] = {0};
    for (size_t i = 0; i < parts; i++) {
        tasks[i].fn = fn;
        tasks[i].ctx = ctx;
        tasks[i].begin = count * i / parts;
        tasks[i].end = count * (i + 1) / parts;
    }
    for (size_t i = 1; i < parts; i++)
        started[i] = pthread_create(&ids[i], NULL, zk_task_main, &tasks[i]) == 0;
    fn(ctx, tasks[0].begin, tasks[0].end);
    for (size_t i = 1; i < parts; i++) {
        if (started[i])
            pthread_join(ids[i], NULL);
        else
            fn(ctx, tasks[i].begin, tasks[i].end); /* could not start a thread: do its share here */
    }
}

void *zk_big_alloc(size_t bytes) {
    if (bytes == 0) bytes = 1;
#if defined(MAP_ANONYMOUS)
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#if defined(MADV_HUGEPAGE)
    madvise(p, bytes, MADV_HUGEPAGE); /* advisory: ignored where THP is unavailable */
#endif
    return p;
#else
    return malloc(bytes);
#endif
}

void zk_big_free(void *p, size_t bytes) {
    if (!p) return;
#if defined(MAP_ANONYMOUS)
    munmap(p, bytes ? bytes : 1);
#else
    (void)bytes;
    free(p);
#endif
}
