#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "fpmode.h"
#include "util.h"

/* Both sides spin before sleeping on a condition variable: waking a
 * sleeping worker costs 50-60 us here (a 2-thread run after a serial gap of
 * 200 us or more), against 1-3 us while it still spins, and an update's
 * serial gaps between passes (the gradient reduction, Adam) last tens of
 * microseconds. So a worker spins for SPIN_SECONDS of wall time, which covers
 * those gaps, then sleeps: an idle pool costs at most that much spinning
 * per run. (It spun 1000 pauses, about 20 us, before.) */
#define SPIN_SECONDS 250e-6
#define SPIN_CHECK 64 /* pauses between clock reads */

static inline void cpu_relax(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_ia32_pause();
#endif
}

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
    pthread_cond_t wake;     /* workers: a new generation or stop      */
    pthread_cond_t done;     /* caller: pending reached zero           */
    atomic_uint_fast64_t gen; /* bumped once per run, under mu          */
    atomic_int pending;      /* workers not yet finished with this run */
    atomic_int stop;
    /* fn, ctx, n_tasks, mode: written before gen is bumped, read after a
     * worker sees the new gen (release/acquire through gen). mode is the
     * caller's floating-point mode, which the workers take for the run
     * (fpmode.h). */
    void (*fn)(void *, int, int);
    void *ctx;
    int n_tasks;
    fpo_fpmode mode;
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
    for (;;) {
        double t0 = fpo_now_seconds();
        for (int k = 1; atomic_load(&p->gen) == seen && !atomic_load(&p->stop); k++) {
            cpu_relax();
            if (k % SPIN_CHECK == 0 && fpo_now_seconds() - t0 > SPIN_SECONDS)
                break;
        }
        if (atomic_load(&p->gen) == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            break;
        seen = atomic_load(&p->gen);
        fpo_fpmode_adopt(p->mode);
        run_share(p->fn, p->ctx, p->n_tasks, w->index, p->n_threads);
        if (atomic_fetch_sub(&p->pending, 1) == 1) {
            /* under mu so the signal cannot slip between the caller's check
             * of pending and its wait */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

/* Stop and join the first n_started workers, then release everything. */
static void teardown(fpo_pool *p, int n_started, int sync_ok)
{
    if (sync_ok) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, 1);
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
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, 0);
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
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    p->mode = fpo_fpmode_get();
    atomic_store(&p->pending, p->n_threads - 1);
    /* bump under mu: a worker about to sleep checks gen under mu too */
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    run_share(fn, ctx, n_tasks, 0, p->n_threads);

    double t0 = fpo_now_seconds();
    for (int k = 1; atomic_load(&p->pending) > 0; k++) {
        cpu_relax();
        if (k % SPIN_CHECK == 0 && fpo_now_seconds() - t0 > SPIN_SECONDS)
            break;
    }
    if (atomic_load(&p->pending) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) > 0)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
