/* Acting allocates nothing: malloc and friends are interposed for the whole
 * process (libfpo, BLIS, libc) and counted while fpo_sampler_act and
 * fpo_sampler_value run. Built only without sanitizers, which interpose
 * malloc themselves. */
#include <stdlib.h>
#include <string.h>

#include "fpo/fpo.h"
#include "testutil.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static volatile int counting;
static volatile long allocations;

void *malloc(size_t n)
{
    if (counting)
        allocations++;
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (counting)
        allocations++;
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    if (counting)
        allocations++;
    return __libc_realloc(p, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (counting)
        allocations++;
    void *p = __libc_memalign(align, n);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    if (counting)
        allocations++;
    return __libc_memalign(align, n);
}

void *memalign(size_t align, size_t n);
void *memalign(size_t align, size_t n)
{
    if (counting)
        allocations++;
    return __libc_memalign(align, n);
}

void free(void *p)
{
    __libc_free(p);
}

static void check_acting(fpo_policy_kind kind, fpo_integrator integ, int batch)
{
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.kind = kind;
    pc.obs_dim = 17;
    pc.act_dim = 6;
    fpo_policy *p;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.integrator = integ;
    sc.max_batch = batch;
    sc.sde_noise = 0.1f;
    fpo_sampler *s;
    ck_assert_int_eq(fpo_sampler_create(&s, p, &sc), FPO_OK);
    float obs[17 * 64], act[6 * 64], raw[6 * 64], val[64];
    for (int i = 0; i < 17 * batch; i++)
        obs[i] = 0.01f * (float)i;
    /* First calls may set up BLIS's internal buffers; that is setup, not acting. */
    ck_assert_int_eq(fpo_sampler_act(s, p, obs, batch, act, raw), FPO_OK);
    ck_assert_int_eq(fpo_sampler_value(s, p, obs, batch, val), FPO_OK);
    allocations = 0;
    counting = 1;
    for (int k = 0; k < 200; k++) {
        obs[k % 17] += 0.001f;
        fpo_sampler_act(s, p, obs, batch, act, raw);
        fpo_sampler_act(s, p, obs, 1, act, NULL);
        fpo_sampler_value(s, p, obs, batch, val);
    }
    counting = 0;
    ck_assert_msg(allocations == 0, "%ld allocations while acting (kind %d, integrator %d, batch %d)",
                  allocations, (int)kind, (int)integ, batch);
    fpo_sampler_destroy(s);
    fpo_policy_destroy(p);
}

START_TEST(acting_allocates_nothing)
{
    check_acting(FPO_POLICY_FLOW, FPO_INTEGRATOR_EULER, 1);
    check_acting(FPO_POLICY_FLOW, FPO_INTEGRATOR_HEUN, 64);
    check_acting(FPO_POLICY_FLOW, FPO_INTEGRATOR_MIDPOINT, 7);
    check_acting(FPO_POLICY_GAUSSIAN, FPO_INTEGRATOR_EULER, 16);
}
END_TEST

START_TEST(counter_sees_allocations)
{
    /* The interposition works: an allocation inside a libfpo call is seen. */
    allocations = 0;
    counting = 1;
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.obs_dim = 3;
    pc.act_dim = 1;
    fpo_policy *p;
    int rc = fpo_policy_create(&p, &pc);
    counting = 0;
    ck_assert_int_eq(rc, FPO_OK);
    ck_assert_int_gt(allocations, 0);
    fpo_policy_destroy(p);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("noalloc");
    TCase *tc = tcase_create("acting");
    tcase_add_test(tc, counter_sees_allocations);
    tcase_add_test(tc, acting_allocates_nothing);
    suite_add_tcase(s, tc);
    return s;
}
