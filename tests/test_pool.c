/* Worker pool: every task exactly once, deterministic placement. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "pool.h"
#include "testutil.h"

enum { MAX_TASKS = 1000 };

typedef struct ctx {
    atomic_int count[MAX_TASKS];
    pthread_t who[MAX_TASKS];
    int seen_n;
} ctx;

static void task(void *c_, int i, int n)
{
    ctx *c = c_;
    atomic_fetch_add(&c->count[i], 1);
    c->who[i] = pthread_self();
    c->seen_n = n;
}

static void check_pool(int threads)
{
    fpo_mem mem;
    ck_assert_int_eq(fpo_mem_init(&mem, NULL, NULL), FPO_OK);
    fpo_pool *p = NULL;
    ck_assert_int_eq(fpo_pool_create(&p, &mem, threads), FPO_OK);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fpo_pool_threads(p), threads);
    ctx *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    const int sizes[] = {0, 1, 2, 3, 7, 64, 999, 1000};
    for (int rep = 0; rep < 200; rep++) {
        int n = sizes[rep % 8];
        for (int i = 0; i < MAX_TASKS; i++)
            atomic_store(&c->count[i], 0);
        fpo_pool_run(p, task, c, n);
        for (int i = 0; i < MAX_TASKS; i++)
            ck_assert_int_eq(atomic_load(&c->count[i]), i < n ? 1 : 0);
        if (n > 0)
            ck_assert_int_eq(c->seen_n, n);
        /* task i on thread i % threads; thread 0 is the caller */
        for (int i = 0; i < n; i++) {
            if (i % threads == 0)
                ck_assert(pthread_equal(c->who[i], pthread_self()));
            else
                ck_assert(!pthread_equal(c->who[i], pthread_self()));
            if (i >= threads && n > 1)
                ck_assert(pthread_equal(c->who[i], c->who[i % threads]));
        }
    }
    free(c);
    fpo_pool_destroy(p);
}

START_TEST(one_thread) { check_pool(1); }
END_TEST

START_TEST(two_threads) { check_pool(2); }
END_TEST

START_TEST(five_threads) { check_pool(5); }
END_TEST

static void noop(void *c, int i, int n)
{
    (void)c, (void)i, (void)n;
}

START_TEST(null_pool_and_errors)
{
    ck_assert_int_eq(fpo_pool_threads(NULL), 1);
    ctx *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    fpo_pool_run(NULL, task, c, 10);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(atomic_load(&c->count[i]), 1);
    free(c);
    fpo_pool_destroy(NULL);

    fpo_mem mem;
    fpo_mem_init(&mem, NULL, NULL);
    fpo_pool *p = (fpo_pool *)&mem;
    ck_assert_int_eq(fpo_pool_create(&p, &mem, 0), FPO_EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(fpo_pool_create(NULL, &mem, 2), FPO_EINVAL);
    ck_assert_int_eq(fpo_pool_create(&p, &mem, FPO_POOL_MAX_THREADS + 1), FPO_ERANGE);

    /* create/destroy churn, with and without runs */
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(fpo_pool_create(&p, &mem, 3), FPO_OK);
        if (i % 2)
            fpo_pool_run(p, noop, NULL, 5);
        fpo_pool_destroy(p);
    }
}
END_TEST

static int fail_after;
static void *flaky_alloc(void *u, size_t size, size_t align)
{
    (void)u;
    if (fail_after-- <= 0)
        return NULL;
    void *q = NULL;
    return posix_memalign(&q, align, size) == 0 ? q : NULL;
}
static void plain_free(void *u, void *q)
{
    (void)u;
    free(q);
}

START_TEST(allocation_failure_leaks_nothing)
{
    fpo_allocator a = {sizeof a, flaky_alloc, plain_free, NULL};
    fpo_mem mem;
    ck_assert_int_eq(fpo_mem_init(&mem, &a, NULL), FPO_OK);
    for (int k = 0; k < 2; k++) {
        fail_after = k;
        fpo_pool *p = NULL;
        ck_assert_int_eq(fpo_pool_create(&p, &mem, 4), FPO_ENOMEM);
        ck_assert_ptr_null(p);
    }
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, one_thread);
    tcase_add_test(tc, two_threads);
    tcase_add_test(tc, five_threads);
    tcase_add_test(tc, null_pool_and_errors);
    tcase_add_test(tc, allocation_failure_leaks_nothing);
    suite_add_tcase(s, tc);
    return s;
}
