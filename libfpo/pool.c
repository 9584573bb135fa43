#include "pool.h"

#include <pthread.h>
#include <stdint.h>

typedef struct worker {
    pthread_t thread;
    struct fpo_pool *pool;
    int index; /* 1..n_threads-1; the caller is 0 */
} worker;

struct fpo_pool {
    fpo_mem mem;
    int n_threads;
    worker *workers;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* workers: a new generation or stop        */
    pthread_cond_t done; /* caller: pending reached zero             */
    uint64_t gen;        /* bumped once per run                      */
    int pending;         /* workers not yet finished with this run   */
    int stop;
    void (*fn)(void *, int, int);
    void *ctx;
    int n_tasks;
};

static void run_share(void (*fn)(void *, int, int), void *ctx, int n_tasks, int first, int stride)
{
    for (int i = first; i < n_tasks; i += stride)
        fn(ctx, i, n_tasks);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    fpo_pool *p = w->pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->stop)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop)
            break;
        seen = p->gen;
        void (*fn)(void *, int, int) = p->fn;
        void *ctx = p->ctx;
        int n = p->n_tasks;
        pthread_mutex_unlock(&p->mu);
        run_share(fn, ctx, n, w->index, p->n_threads);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Stop and join the first n_started workers, then release everything. */
static void teardown(fpo_pool *p, int n_started, int sync_ok)
{
    if (sync_ok) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < n_started; i++)
            pthread_join(p->workers[i].thread, NULL);
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mu);
    }
    fpo_mem mem = p->mem;
    fpo_mem_free(&mem, p->workers);
    fpo_mem_free(&mem, p);
}

int fpo_pool_create(fpo_pool **out, const fpo_mem *mem, int n_threads)
{
    if (!out)
        return FPO_EINVAL;
    *out = NULL;
    if (!mem || n_threads < 1)
        return FPO_EINVAL;
    if (n_threads > FPO_POOL_MAX_THREADS)
        return FPO_ERANGE;
    fpo_pool *p = fpo_mem_calloc(mem, 1, sizeof *p);
    if (!p)
        return FPO_ENOMEM;
    p->mem = *mem;
    p->n_threads = n_threads;
    p->workers = fpo_mem_calloc(mem, (size_t)n_threads, sizeof *p->workers);
    if (!p->workers) {
        teardown(p, 0, 0);
        return FPO_ENOMEM;
    }
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        teardown(p, 0, 0);
        return FPO_ETHREAD;
    }
    if (pthread_cond_init(&p->wake, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        teardown(p, 0, 0);
        return FPO_ETHREAD;
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mu);
        teardown(p, 0, 0);
        return FPO_ETHREAD;
    }
    for (int i = 0; i < n_threads - 1; i++) {
        worker *w = &p->workers[i];
        w->pool = p;
        w->index = i + 1;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            teardown(p, i, 1);
            return FPO_ETHREAD;
        }
    }
    *out = p;
    return FPO_OK;
}

void fpo_pool_destroy(fpo_pool *p)
{
    if (p)
        teardown(p, p->n_threads - 1, 1);
}

int fpo_pool_threads(const fpo_pool *p) { return p ? p->n_threads : 1; }

void fpo_pool_run(fpo_pool *p, void (*fn)(void *ctx, int task, int n_tasks), void *ctx,
                  int n_tasks)
{
    if (n_tasks <= 0)
        return;
    /* Nothing for the workers: skip the wake-up round trip. */
    if (!p || p->n_threads == 1 || n_tasks == 1) {
        run_share(fn, ctx, n_tasks, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    p->pending = p->n_threads - 1;
    p->gen++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    run_share(fn, ctx, n_tasks, 0, p->n_threads);

    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
