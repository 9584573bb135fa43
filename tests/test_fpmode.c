/* The floating-point mode (libfpo/fpmode.h): the library's kernels flush
 * denormals, the caller's mode comes back unchanged from every public call,
 * the pool's workers run in the mode of the run's caller, and a host's
 * environment callbacks see the host's own mode on every thread. */
#include <fenv.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fpmode.h"
#include "fpo/fpo.h"
#include "pool.h"
#include "testutil.h"
#include "toyenv.h"

#define OD 4
#define AD 2

/* A sampler for up to 4 observations a call. */
static fpo_sampler *sampler_for(const fpo_policy *p)
{
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.max_batch = 4;
    fpo_sampler *s = NULL;
    ck_assert_int_eq(fpo_sampler_create(&s, p, &sc), FPO_OK);
    return s;
}

/* A small flow policy of the toy sizes. */
static fpo_policy *toy_flow_policy(void)
{
    fpo_policy_config pc;
    toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
    fpo_policy *p = NULL;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    return p;
}

static fpo_fpmode control_bits(void)
{
    return fpo_fpmode_get() & ~(fpo_fpmode)FPO_FPMODE_STATUS_;
}

/* What this machine does, measured: valgrind, for one, neither flushes
 * under FTZ/DAZ nor raises exception flags, and the tests below then expect
 * what the machine gives. */
static int machine_flushes(void)
{
    fpo_fpmode saved = fpo_fpmode_enter();
    volatile float d = 1e-39f, one = 1.0f;
    float r = d * one;
    fpo_fpmode_leave(saved);
    return r == 0.0f;
}

static int machine_raises_inexact(void)
{
    feclearexcept(FE_ALL_EXCEPT);
    volatile float a = 1.0f, b = 3.0f;
    volatile float r = a / b;
    (void)r;
    int raised = fetestexcept(FE_INEXACT) != 0;
    feclearexcept(FE_ALL_EXCEPT);
    return raised;
}

/* ---- the pool ---- */

enum { TASKS = 12 };
typedef struct seen {
    fpo_fpmode mode[TASKS];
} seen;

static void record(void *c, int i, int n)
{
    (void)n;
    ((seen *)c)->mode[i] = control_bits();
}

START_TEST(pool_workers_take_callers_mode)
{
    fpo_mem mem;
    ck_assert_int_eq(fpo_mem_init(&mem, NULL, NULL), FPO_OK);
    fpo_pool *p = NULL;
    ck_assert_int_eq(fpo_pool_create(&p, &mem, 3), FPO_OK);
    fpo_fpmode host = control_bits();
    /* flushing, then not, then flushing again: the workers follow each run */
    for (int round = 0; round < 3; round++) {
        fpo_fpmode saved = 0;
        if (round != 1)
            saved = fpo_fpmode_enter();
        fpo_fpmode want = control_bits();
        seen s;
        memset(&s, 0xff, sizeof s);
        fpo_pool_run(p, record, &s, TASKS);
        for (int i = 0; i < TASKS; i++)
            ck_assert_msg(s.mode[i] == want, "round %d task %d: mode %#llx, caller %#llx", round,
                          i, (unsigned long long)s.mode[i], (unsigned long long)want);
        if (round != 1)
            fpo_fpmode_leave(saved);
        ck_assert(control_bits() == host);
    }
    fpo_pool_destroy(p);
}
END_TEST

/* ---- public calls keep the caller's mode ---- */

/* The toy environment, with every step's mode checked against the host's. */
typedef struct modeenv {
    toy e; /* first: toy_step reads user as a toy */
    fpo_fpmode want;
    atomic_long wrong, steps;
} modeenv;

static int mode_step(void *user, void *env, const float *action, float *obs, float *reward,
                     unsigned *flags)
{
    modeenv *m = user;
    atomic_fetch_add(&m->steps, 1);
    if (control_bits() != m->want)
        atomic_fetch_add(&m->wrong, 1);
    return toy_step(user, env, action, obs, reward, flags);
}

/* The host modes tried: the default, the host flushing itself, and a
 * rounding mode of its own (which the library keeps, too). */
static void set_host_mode(int which, fpo_fpmode base)
{
    fpo_fpmode_set(base);
    fesetround(FE_TONEAREST);
    if (which == 1)
        fpo_fpmode_set(base | FPO_FPMODE_FLUSH_);
    if (which == 2)
        ck_assert_int_eq(fesetround(FE_TOWARDZERO), 0);
}

START_TEST(public_calls_keep_the_callers_mode)
{
    fpo_fpmode base = fpo_fpmode_get();
    for (int which = 0; which < 3; which++) {
        set_host_mode(which, base);
        fpo_fpmode host = control_bits();

        static modeenv m;
        memset(&m, 0, sizeof m);
        toy_init(&m.e, OD, AD);
        m.want = host;
        fpo_env_table tab = toy_table(&m.e);
        tab.step = mode_step;
        fpo_policy_config pc;
        toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
        fpo_optimizer_config oc;
        fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
        oc.epochs = 2;
        oc.minibatches = 2;
        fpo_trainer_config tc;
        fpo_trainer_config_init(&tc);
        tc.env = &tab;
        tc.env_user = &m;
        tc.num_envs = 4;
        tc.horizon = 8;
        tc.n_mc = 2;
        tc.threads = 2; /* the environments step on the caller and a worker */
        tc.seed = 5;
        tc.policy = &pc;
        tc.optimizer = &oc;
        fpo_trainer *t = NULL;
        ck_assert_int_eq(fpo_trainer_create(&t, &tc), FPO_OK);
        for (int it = 0; it < 3; it++) {
            ck_assert_int_eq(fpo_trainer_iterate(t, NULL), FPO_OK);
            ck_assert(control_bits() == host);
        }
        ck_assert_int_gt(atomic_load(&m.steps), 0);
        ck_assert_int_eq(atomic_load(&m.wrong), 0);

        /* the sampler and pretraining, called directly */
        fpo_policy *p = fpo_trainer_policy(t);
        fpo_sampler *s = sampler_for(p);
        float obs[3 * OD], act[3 * AD], val[3];
        for (int i = 0; i < 3 * OD; i++)
            obs[i] = 0.1f * (float)i - 0.5f;
        ck_assert_int_eq(fpo_sampler_act(s, p, obs, 3, act, NULL), FPO_OK);
        ck_assert(control_bits() == host);
        ck_assert_int_eq(fpo_sampler_value(s, p, obs, 3, val), FPO_OK);
        ck_assert(control_bits() == host);
        /* a failing call gives the mode back too */
        ck_assert_int_ne(fpo_sampler_act(s, p, obs, -1, act, NULL), FPO_OK);
        ck_assert(control_bits() == host);
        fpo_pretrain_config prc;
        fpo_pretrain_config_init(&prc);
        prc.epochs = 2;
        ck_assert_int_eq(fpo_policy_pretrain(p, &prc, obs, act, 3, NULL), FPO_OK);
        ck_assert(control_bits() == host);
        fpo_sampler_destroy(s);
        fpo_trainer_destroy(t);
    }
    fesetround(FE_TONEAREST);
    fpo_fpmode_set(base);
}
END_TEST

/* Exception flags the library's work raised stay raised, as after any
 * other function (only the control bits are given back). */
START_TEST(exception_flags_stay_raised)
{
    fpo_policy *p = toy_flow_policy();
    fpo_sampler *s = sampler_for(p);
    float obs[OD] = {0.3f, -0.7f, 0.11f, 0.9f}, act[AD];
    int raises = machine_raises_inexact();
    feclearexcept(FE_ALL_EXCEPT);
    ck_assert_int_eq(fpo_sampler_act(s, p, obs, 1, act, NULL), FPO_OK);
    ck_assert_int_eq(fetestexcept(FE_INEXACT) != 0, raises);
    fpo_sampler_destroy(s);
    fpo_policy_destroy(p);
}
END_TEST

/* ---- the kernels flush ---- */

/* Every critic parameter set to the denormal 1e-39: each product and the
 * output bias are denormal, so with IEEE gradual underflow the value is a
 * tiny nonzero number, and with denormals flushed it is exactly 0 (on a
 * machine that flushes: not under valgrind). */
START_TEST(kernels_flush_denormals)
{
    fpo_policy *p = toy_flow_policy();
    fpo_policy_info info = {sizeof info};
    ck_assert_int_eq(fpo_policy_get_info(p, &info), FPO_OK);
    float *w = malloc(info.critic_params * sizeof *w);
    ck_assert_ptr_nonnull(w);
    for (size_t i = 0; i < info.critic_params; i++)
        w[i] = 1e-39f;
    ck_assert(w[0] != 0.0f && w[0] < 1.17549435e-38f); /* really a denormal */
    ck_assert_int_eq(fpo_policy_set_params(p, FPO_NET_CRITIC, w, info.critic_params), FPO_OK);
    fpo_sampler *s = sampler_for(p);
    float obs[2 * OD] = {0.3f, -0.7f, 0.11f, 0.9f, -1.0f, 0.5f, 0.25f, -0.125f}, v[2];
    fpo_fpmode host = control_bits();
    ck_assert_int_eq(fpo_sampler_value(s, p, obs, 2, v), FPO_OK);
    for (int r = 0; r < 2; r++) {
        if (FPO_FPMODE_FLUSHES && machine_flushes())
            ck_assert_msg(v[r] == 0.0f, "row %d: value %g, not flushed", r, (double)v[r]);
        else
            ck_assert_msg(v[r] != 0.0f, "row %d: value 0 without flushing", r);
    }
    ck_assert(control_bits() == host);
    fpo_sampler_destroy(s);
    fpo_policy_destroy(p);
    free(w);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("fpmode");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, pool_workers_take_callers_mode);
    tcase_add_test(tc, public_calls_keep_the_callers_mode);
    tcase_add_test(tc, exception_flags_stay_raised);
    tcase_add_test(tc, kernels_flush_denormals);
    suite_add_tcase(s, tc);
    return s;
}
