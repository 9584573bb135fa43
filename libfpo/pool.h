/* Internal: a tiny persistent worker pool (pthreads).
 *
 * The caller takes part in every run, so n_threads counts it: a pool of
 * 2 has one worker. Task i always runs on thread i % n_threads (thread 0 is
 * the caller), so per-thread results are deterministic for a thread count.
 * A run allocates nothing. One run at a time per pool; tasks must not call
 * fpo_pool_run on the same pool. */
#ifndef FPO_INTERNAL_POOL_H
#define FPO_INTERNAL_POOL_H

#include "alloc.h"

typedef struct fpo_pool fpo_pool;

/* Largest n_threads accepted. */
#define FPO_POOL_MAX_THREADS 1024

/* FPO_OK; FPO_EINVAL (NULL out, n_threads < 1), FPO_ERANGE (too many),
 * FPO_ENOMEM, FPO_ETHREAD. On failure *out is NULL and nothing leaks. */
int fpo_pool_create(fpo_pool **out, const fpo_mem *mem, int n_threads);
void fpo_pool_destroy(fpo_pool *p); /* NULL ok; joins the workers */
int fpo_pool_threads(const fpo_pool *p); /* NULL -> 1 */
/* fn(ctx, i, n_tasks) for each i in [0, n_tasks); returns when all are done.
 * p == NULL runs serially in the caller. */
void fpo_pool_run(fpo_pool *p, void (*fn)(void *ctx, int task, int n_tasks), void *ctx,
                  int n_tasks);

#endif
