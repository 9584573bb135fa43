/* Data-parallel training through the collective table (fpo/collective.h),
 * without MPI: "ranks" are threads of this process, each with its own
 * trainer, and the collective sums through a shared buffer between two
 * barriers (in rank order, so every rank gets the same bits, as MPI's
 * allreduce does). Checked:
 *  - all ranks hold bit-identical parameters after several updates;
 *  - 2 ranks x B environments compute what 1 rank x 2B does, up to float
 *    summation order (and ranks with unequal environment counts too);
 *  - the random streams keyed by global index (sampler rows, buffer pairs,
 *    episode seeds) do not depend on how environments are split;
 *  - failures on one rank are agreed on (FPO_EREMOTE elsewhere), a stop
 *    request of one rank stops all, settings that differ between ranks are
 *    refused on all, a failing callback is FPO_ECALLBACK with the policy
 *    unchanged, and bad tables are rejected.
 * These run in every build, MPI or not; tests/mpi/ runs the same
 * comparisons over Open MPI. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpo/fpo.h"
#include "testutil.h"
#include "toyenv.h"

#define OD 3
#define AD 2
#define MAX_RANKS 4
#define SLOT_DOUBLES (1 << 20)

/* ---- an in-process collective ------------------------------------------ */

typedef struct group {
    int size;
    pthread_barrier_t bar;
    double *slot[MAX_RANKS];
    size_t n[MAX_RANKS];
    long fail_call; /* > 0: every rank's callback fails on this call number */
} group;

typedef struct member {
    group *g;
    int rank;
    long calls;
} member;

static void group_init(group *g, int size)
{
    memset(g, 0, sizeof *g);
    g->size = size;
    pthread_barrier_init(&g->bar, NULL, (unsigned)size);
    for (int r = 0; r < size; r++) {
        g->slot[r] = malloc(SLOT_DOUBLES * sizeof(double));
        ck_assert_ptr_nonnull(g->slot[r]);
    }
}

static void group_free(group *g)
{
    pthread_barrier_destroy(&g->bar);
    for (int r = 0; r < g->size; r++)
        free(g->slot[r]);
}

/* Sum over ranks in rank order; fails (non-zero) if the ranks passed
 * different counts, which would be a libfpo bug, or on g->fail_call. */
#define DEFINE_SUM(name, T)                                                       \
    static int name(void *user, T *buf, size_t n)                                 \
    {                                                                             \
        member *m = user;                                                         \
        group *g = m->g;                                                          \
        m->calls++;                                                               \
        if (n * sizeof(T) > SLOT_DOUBLES * sizeof(double))                        \
            return 99;                                                            \
        T *mine = (T *)g->slot[m->rank];                                          \
        memcpy(mine, buf, n * sizeof(T));                                         \
        g->n[m->rank] = n;                                                        \
        pthread_barrier_wait(&g->bar);                                            \
        int same = 1;                                                             \
        for (int r = 0; r < g->size; r++)                                         \
            same &= g->n[r] == n;                                                 \
        if (same)                                                                 \
            for (size_t i = 0; i < n; i++) {                                      \
                T acc = ((T *)g->slot[0])[i];                                     \
                for (int r = 1; r < g->size; r++)                                 \
                    acc += ((T *)g->slot[r])[i];                                  \
                buf[i] = acc;                                                     \
            }                                                                     \
        pthread_barrier_wait(&g->bar);                                            \
        if (!same)                                                                \
            return 98;                                                            \
        return g->fail_call && m->calls == g->fail_call ? 7 : 0;                  \
    }
DEFINE_SUM(sum_f32, float)
DEFINE_SUM(sum_f64, double)

static fpo_collective table_for(member *m)
{
    fpo_collective c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.version = FPO_COLLECTIVE_VERSION;
    c.rank = m->rank;
    c.size = m->g->size;
    c.user = m;
    c.allreduce_sum_f32 = sum_f32;
    c.allreduce_sum_f64 = sum_f64;
    return c;
}

/* ---- one trainer per rank ------------------------------------------------ */

typedef struct setup {
    fpo_algo algo;
    int num_envs, horizon, n_mc, epochs, minibatches;
    fpo_ratio_mode ratio;
    float sde_noise;
    uint64_t seed;
    float lr;
} setup;

static setup default_setup(fpo_algo algo)
{
    setup s = {algo, 4, 8, 3, 2, 3, FPO_RATIO_AVERAGED, 0.0f, 11, 1e-3f};
    return s;
}

typedef struct rank_job {
    setup s;
    member m;
    fpo_collective table;
    int use_collective;
    toy e;
    fpo_env_table tab;
    fpo_trainer *t;
    int iterations;
    int create_rc;
    char create_msg[256];
    long fail_step_at; /* toy trigger set after create (toyenv.h) */
    int iter_rc[8];
    /* what each iteration reported (copied: the trainer reuses its structs) */
    int64_t env_steps[8];
    fpo_episode_stats ep[8];
    fpo_update_stats up[8];
    float *params; /* after the last iteration */
    size_t np;
    int stop_after; /* progress callback asks to stop after this iteration (0: never) */
    int64_t steps_run; /* fpo_trainer_run's target; 0: iterate */
    int run_rc;
    int (*between)(struct rank_job *j, int it); /* called after iteration it */
} rank_job;

static int stop_cb(void *user, const fpo_progress *p)
{
    rank_job *j = user;
    return j->stop_after && p->iteration >= j->stop_after;
}

static int make_trainer(rank_job *j)
{
    toy_init(&j->e, OD, AD);
    j->tab = toy_table(&j->e);
    fpo_policy_config pc;
    toy_policy_config(&pc, j->s.algo == FPO_ALGO_FPO ? FPO_POLICY_FLOW : FPO_POLICY_GAUSSIAN, OD,
                      AD);
    pc.actor_hidden[0] = pc.actor_hidden[1] = 16;
    pc.critic_hidden[0] = pc.critic_hidden[1] = 16;
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, j->s.algo);
    oc.epochs = j->s.epochs;
    oc.minibatches = j->s.minibatches;
    oc.ratio_mode = j->s.ratio;
    oc.lr = j->s.lr;
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.sde_noise = j->s.sde_noise;
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = &j->tab;
    tc.env_user = &j->e;
    tc.num_envs = j->s.num_envs;
    tc.horizon = j->s.horizon;
    tc.n_mc = j->s.n_mc;
    tc.seed = j->s.seed;
    tc.policy = &pc;
    tc.optimizer = &oc;
    tc.sampler = &sc;
    tc.progress = stop_cb;
    tc.progress_user = j;
    if (j->use_collective) {
        j->table = table_for(&j->m);
        tc.collective = &j->table;
    }
    int rc = fpo_trainer_create(&j->t, &tc);
    snprintf(j->create_msg, sizeof j->create_msg, "%s", rc ? fpo_last_errmsg() : "");
    atomic_store(&j->e.fail_step_at, j->fail_step_at);
    return rc;
}

static void grab_params(rank_job *j)
{
    fpo_policy *p = fpo_trainer_policy(j->t);
    fpo_policy_info info = {sizeof info};
    fpo_policy_get_info(p, &info);
    j->np = info.actor_params + info.critic_params;
    free(j->params);
    j->params = malloc(j->np * sizeof(float));
    fpo_policy_get_params(p, FPO_NET_ALL, j->params, j->np);
}

static void *rank_main(void *arg)
{
    rank_job *j = arg;
    j->create_rc = make_trainer(j);
    if (j->create_rc)
        return NULL;
    if (j->steps_run) {
        j->run_rc = fpo_trainer_run(j->t, j->steps_run);
    } else {
        for (int it = 0; it < j->iterations; it++) {
            fpo_progress pr = {sizeof pr};
            j->iter_rc[it] = fpo_trainer_iterate(j->t, &pr);
            if (!j->iter_rc[it]) {
                j->env_steps[it] = pr.env_steps;
                j->ep[it] = *pr.episodes;
                j->up[it] = *pr.update;
            }
            if (j->between)
                j->between(j, it);
        }
    }
    grab_params(j);
    return NULL;
}

static void job_init(rank_job *j, group *g, int rank, setup s, int iterations)
{
    memset(j, 0, sizeof *j);
    j->s = s;
    j->m.g = g;
    j->m.rank = rank;
    j->use_collective = g != NULL;
    j->iterations = iterations;
}

/* Run jobs[0..n) as ranks of one group, each on its own thread. */
static void run_ranks(rank_job *jobs, int n)
{
    pthread_t th[MAX_RANKS];
    for (int r = 0; r < n; r++)
        ck_assert_int_eq(pthread_create(&th[r], NULL, rank_main, &jobs[r]), 0);
    for (int r = 0; r < n; r++)
        pthread_join(th[r], NULL);
}

static void job_free(rank_job *j)
{
    fpo_trainer_destroy(j->t);
    free(j->params);
}

/* max |a - b| / max(max |b|, 1e-3): parameter vectors compared as a whole */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0, s = 1e-3;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return d / s;
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(ranks_hold_identical_parameters)
{
    /* _i: 0 FPO, 1 FPO++ per-sample ratios with SDE noise, 2 Gaussian PPO */
    setup s = default_setup(_i == 2 ? FPO_ALGO_PPO : FPO_ALGO_FPO);
    if (_i == 1) {
        s.ratio = FPO_RATIO_PER_SAMPLE;
        s.sde_noise = 0.3f;
    }
    group g;
    group_init(&g, 2);
    rank_job j[2];
    for (int r = 0; r < 2; r++)
        job_init(&j[r], &g, r, s, 4);
    run_ranks(j, 2);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(j[r].create_rc, FPO_OK);
        for (int it = 0; it < 4; it++)
            ck_assert_msg(j[r].iter_rc[it] == FPO_OK, "rank %d iteration %d: %s", r, it,
                          fpo_trainer_errmsg(j[r].t));
    }
    ck_assert_uint_eq(j[0].np, j[1].np);
    ck_assert_mem_eq(j[0].params, j[1].params, j[0].np * sizeof(float));
    /* global figures, the same on both ranks */
    for (int it = 0; it < 4; it++) {
        ck_assert_int_eq(j[0].env_steps[it], (it + 1) * 2 * s.num_envs * s.horizon);
        ck_assert_int_eq(j[1].env_steps[it], j[0].env_steps[it]);
        ck_assert_int_eq(j[0].ep[it].episodes, j[1].ep[it].episodes);
        ck_assert_double_eq(j[0].ep[it].mean_return, j[1].ep[it].mean_return);
        ck_assert_double_eq(j[0].up[it].policy_loss, j[1].up[it].policy_loss);
        ck_assert_double_eq(j[0].up[it].ratio_max, j[1].up[it].ratio_max);
        ck_assert_double_eq(j[0].up[it].explained_variance, j[1].up[it].explained_variance);
    }
    ck_assert_int_gt(j[0].up[3].steps, 0);
    /* and training moved them */
    rank_job fresh;
    job_init(&fresh, NULL, 0, s, 0);
    ck_assert_int_eq(make_trainer(&fresh), FPO_OK);
    grab_params(&fresh);
    ck_assert(memcmp(fresh.params, j[0].params, j[0].np * sizeof(float)) != 0);
    job_free(&fresh);
    for (int r = 0; r < 2; r++)
        job_free(&j[r]);
    group_free(&g);
}
END_TEST

/* Tolerances of the 2-rank vs 1-rank comparison (relative to the largest
 * parameter). The two runs differ only in the order of float sums: the
 * gradient is summed per rank and then across ranks instead of over all
 * rows at once, and observation statistics are merged per rank (in
 * double). Rollouts before the first update are the same bits. After that
 * the parameters differ by a few float ulps, and later rollouts act with
 * them, so differences can grow. Measured here: 3e-8 after one update and
 * 3e-8 to 7e-8 after three. Mutations that drop the global minibatch
 * scaling or the global advantage statistics, or key the rollout noise by
 * local index, give 3e-3 to 1e-2 (checked when the test was written). */
#define TOL_ONE_UPDATE 1e-6
#define TOL_THREE_UPDATES 1e-5

static void compare_split(setup s, const int *envs, int ranks)
{
    int total = 0;
    for (int r = 0; r < ranks; r++)
        total += envs[r];
    group g;
    group_init(&g, ranks);
    rank_job j[MAX_RANKS], one;
    for (int r = 0; r < ranks; r++) {
        setup sr = s;
        sr.num_envs = envs[r];
        job_init(&j[r], &g, r, sr, 1);
    }
    setup s1 = s;
    s1.num_envs = total;
    for (int round = 0; round < 2; round++) {
        /* round 0: after one update; round 1: after three */
        int iters = round == 0 ? 1 : 3;
        for (int r = 0; r < ranks; r++) {
            fpo_trainer_destroy(j[r].t);
            j[r].t = NULL;
            j[r].iterations = iters;
        }
        run_ranks(j, ranks);
        job_init(&one, NULL, 0, s1, iters);
        rank_main(&one);
        ck_assert_int_eq(one.create_rc, FPO_OK);
        for (int r = 0; r < ranks; r++) {
            ck_assert_int_eq(j[r].create_rc, FPO_OK);
            for (int it = 0; it < iters; it++)
                ck_assert_msg(j[r].iter_rc[it] == FPO_OK, "rank %d: %s", r,
                              fpo_trainer_errmsg(j[r].t));
            ck_assert_mem_eq(j[r].params, j[0].params, j[0].np * sizeof(float));
        }
        for (int it = 0; it < iters; it++) {
            ck_assert_int_eq(one.iter_rc[it], FPO_OK);
            /* the same episodes: counted exactly, returns up to sum order */
            ck_assert_int_eq(j[0].env_steps[it], one.env_steps[it]);
            ck_assert_int_eq(j[0].ep[it].episodes, one.ep[it].episodes);
            ck_assert_int_eq(j[0].up[it].steps, one.up[it].steps);
        }
        /* Before any update both runs act with the same parameters and the
         * same keyed noise on the same episodes: the first iteration's
         * episode returns agree up to the order they are summed in. */
        ck_assert_close(j[0].ep[0].mean_return, one.ep[0].mean_return, 1e-12);
        ck_assert_close(j[0].up[0].adv_mean, one.up[0].adv_mean, 1e-5);
        ck_assert_close(j[0].up[0].explained_variance, one.up[0].explained_variance, 1e-4);
        double d = rel_diff(j[0].params, one.params, one.np);
        double tol = round == 0 ? TOL_ONE_UPDATE : TOL_THREE_UPDATES;
        printf("collective: %d ranks (%d", ranks, envs[0]);
        for (int r = 1; r < ranks; r++)
            printf("+%d", envs[r]);
        printf(" envs) vs 1 x %d, %s, %d update(s): max relative parameter difference %.3g "
               "(tolerance %g)\n",
               total, s.algo == FPO_ALGO_FPO ? "FPO" : "PPO", iters, d, tol);
        fflush(stdout);
        ck_assert_msg(d <= tol, "2 ranks and 1 rank differ by %g (tolerance %g)", d, tol);
        /* the comparison is not vacuous: the updates moved the parameters by
         * far more than the tolerance */
        rank_job fresh;
        job_init(&fresh, NULL, 0, s1, 0);
        ck_assert_int_eq(make_trainer(&fresh), FPO_OK);
        grab_params(&fresh);
        ck_assert(rel_diff(fresh.params, one.params, one.np) > 20 * tol);
        job_free(&fresh);
        job_free(&one);
    }
    for (int r = 0; r < ranks; r++)
        job_free(&j[r]);
    group_free(&g);
}

START_TEST(two_ranks_equal_one_rank_with_all_envs)
{
    setup s = default_setup(_i == 1 ? FPO_ALGO_PPO : FPO_ALGO_FPO);
    if (_i == 2) {
        s.ratio = FPO_RATIO_PER_SAMPLE;
        s.sde_noise = 0.3f;
    }
    int envs[2] = {4, 4};
    compare_split(s, envs, 2);
}
END_TEST

START_TEST(uneven_ranks_equal_one_rank)
{
    setup s = default_setup(FPO_ALGO_FPO);
    int envs3[3] = {3, 5, 1};
    compare_split(s, envs3, 3);
}
END_TEST

/* The keyed streams alone: splitting a batch does not change any row's
 * numbers. */
START_TEST(keyed_streams_do_not_depend_on_the_split)
{
    enum { B = 3 };
    /* samplers: flow with random noise and SDE noise, and Gaussian */
    for (int kind = 0; kind < 2; kind++) {
        fpo_policy_config pc;
        toy_policy_config(&pc, kind ? FPO_POLICY_GAUSSIAN : FPO_POLICY_FLOW, OD, AD);
        fpo_policy *p;
        ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
        fpo_sampler_config sc;
        fpo_sampler_config_init(&sc);
        sc.sde_noise = 0.5f;
        sc.seed = 5;
        sc.max_batch = 2 * B;
        fpo_sampler *all, *lo, *hi;
        ck_assert_int_eq(fpo_sampler_create(&all, p, &sc), FPO_OK);
        sc.max_batch = B;
        ck_assert_int_eq(fpo_sampler_create(&lo, p, &sc), FPO_OK);
        sc.row_offset = B;
        ck_assert_int_eq(fpo_sampler_create(&hi, p, &sc), FPO_OK);
        float obs[2 * B * OD], ra[2 * B * AD], rs[2 * B * AD];
        for (int call = 0; call < 3; call++) {
            for (int i = 0; i < 2 * B * OD; i++)
                obs[i] = sinf(0.7f * (float)(i + 13 * call));
            ck_assert_int_eq(fpo_sampler_act(all, p, obs, 2 * B, NULL, ra), FPO_OK);
            ck_assert_int_eq(fpo_sampler_act(lo, p, obs, B, NULL, rs), FPO_OK);
            ck_assert_int_eq(fpo_sampler_act(hi, p, obs + B * OD, B, NULL, rs + B * AD), FPO_OK);
            ck_assert_mem_eq(ra, rs, sizeof ra);
        }
        /* and the rows got different noise */
        ck_assert(memcmp(ra, ra + AD, AD * sizeof(float)) != 0);
        fpo_sampler_destroy(all);
        fpo_sampler_destroy(lo);
        fpo_sampler_destroy(hi);
        fpo_policy_destroy(p);
    }
    /* buffers: the (t, eps) pairs of each environment */
    fpo_buffer_config bc;
    fpo_buffer_config_init(&bc);
    bc.horizon = 2;
    bc.obs_dim = OD;
    bc.act_dim = AD;
    bc.n_mc = 3;
    bc.seed = 9;
    bc.t_dist = FPO_T_UNIFORM;
    fpo_buffer *b2, *b1;
    bc.num_envs = 2 * B;
    ck_assert_int_eq(fpo_buffer_create(&b2, &bc), FPO_OK);
    bc.num_envs = B;
    bc.env_offset = B;
    ck_assert_int_eq(fpo_buffer_create(&b1, &bc), FPO_OK);
    float obs[2 * B * OD] = {0}, act[2 * B * AD] = {0}, rew[2 * B] = {0};
    unsigned fl[2 * B] = {0};
    for (int h = 0; h < 2; h++) {
        ck_assert_int_eq(fpo_buffer_add(b2, obs, act, rew, fl, NULL), FPO_OK);
        ck_assert_int_eq(fpo_buffer_add(b1, obs, act, rew, fl, NULL), FPO_OK);
    }
    fpo_buffer_view v2 = {sizeof v2}, v1 = {sizeof v1};
    fpo_buffer_get_view(b2, &v2);
    fpo_buffer_get_view(b1, &v1);
    for (int h = 0; h < 2; h++) {
        size_t k2 = ((size_t)h * 2 * B + B) * 3, k1 = (size_t)h * B * 3;
        ck_assert_mem_eq(v2.pairs_t + k2, v1.pairs_t + k1, B * 3 * sizeof(float));
        ck_assert_mem_eq(v2.pairs_eps + k2 * AD, v1.pairs_eps + k1 * AD, B * 3 * AD * sizeof(float));
    }
    fpo_buffer_destroy(b1);
    fpo_buffer_destroy(b2);
    /* vecenvs: episode seeds (the toy's reset observation is made from it) */
    toy e;
    toy_init(&e, OD, AD);
    fpo_env_table tab = toy_table(&e);
    fpo_vecenv_config vc;
    fpo_vecenv_config_init(&vc);
    vc.table = &tab;
    vc.user = &e;
    vc.seed = 4;
    vc.num_envs = 2 * B;
    fpo_vecenv *e2, *e1;
    ck_assert_int_eq(fpo_vecenv_create(&e2, &vc), FPO_OK);
    vc.num_envs = B;
    vc.env_offset = B;
    ck_assert_int_eq(fpo_vecenv_create(&e1, &vc), FPO_OK);
    float o2[2 * B * OD], o1[B * OD];
    ck_assert_int_eq(fpo_vecenv_reset(e2, o2), FPO_OK);
    ck_assert_int_eq(fpo_vecenv_reset(e1, o1), FPO_OK);
    ck_assert_mem_eq(o2 + B * OD, o1, sizeof o1);
    ck_assert(memcmp(o2, o1, sizeof o1) != 0);
    fpo_vecenv_destroy(e1);
    fpo_vecenv_destroy(e2);
}
END_TEST

/* rank 1's environment fails during the second rollout */
START_TEST(rollout_failure_is_agreed)
{
    setup s = default_setup(FPO_ALGO_FPO);
    group g;
    group_init(&g, 2);
    rank_job j[2];
    for (int r = 0; r < 2; r++)
        job_init(&j[r], &g, r, s, 3);
    /* step calls of rank 1's host: iteration 1 makes num_envs * horizon */
    j[1].fail_step_at = (long)(s.num_envs * s.horizon + 5);
    run_ranks(j, 2);
    ck_assert_int_eq(j[0].iter_rc[0], FPO_OK);
    ck_assert_int_eq(j[1].iter_rc[0], FPO_OK);
    ck_assert_int_eq(j[1].iter_rc[1], FPO_ECALLBACK);
    ck_assert_int_eq(j[0].iter_rc[1], FPO_EREMOTE);
    ck_assert_int_eq(j[0].iter_rc[2], FPO_OK);
    ck_assert_int_eq(j[1].iter_rc[2], FPO_OK);
    ck_assert_ptr_nonnull(strstr(fpo_trainer_errmsg(j[0].t), "rank 1"));
    ck_assert_mem_eq(j[0].params, j[1].params, j[0].np * sizeof(float));
    ck_assert_int_eq(fpo_trainer_env_steps(j[0].t), 2 * 2 * s.num_envs * s.horizon);
    for (int r = 0; r < 2; r++)
        job_free(&j[r]);
    group_free(&g);
}
END_TEST

START_TEST(stop_request_is_agreed)
{
    setup s = default_setup(FPO_ALGO_PPO);
    group g;
    group_init(&g, 2);
    rank_job j[2];
    for (int r = 0; r < 2; r++) {
        job_init(&j[r], &g, r, s, 0);
        j[r].steps_run = 1000000;
    }
    j[1].stop_after = 2; /* only rank 1 asks */
    run_ranks(j, 2);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(j[r].run_rc, FPO_OK);
        ck_assert_int_eq(fpo_trainer_env_steps(j[r].t), 2 * 2 * s.num_envs * s.horizon);
    }
    ck_assert_mem_eq(j[0].params, j[1].params, j[0].np * sizeof(float));
    for (int r = 0; r < 2; r++)
        job_free(&j[r]);
    group_free(&g);
}
END_TEST

START_TEST(settings_that_differ_fail_on_all_ranks)
{
    /* _i: 0 learning rate, 1 horizon, 2 seed */
    group g;
    group_init(&g, 2);
    rank_job j[2];
    for (int r = 0; r < 2; r++)
        job_init(&j[r], &g, r, default_setup(FPO_ALGO_FPO), 1);
    if (_i == 0)
        j[1].s.lr = 2e-3f;
    else if (_i == 1)
        j[1].s.horizon = 9;
    else
        j[1].s.seed = 12;
    run_ranks(j, 2);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(j[r].create_rc, FPO_EMISMATCH);
        ck_assert_ptr_null(j[r].t);
        ck_assert_str_ne(j[r].create_msg, "");
    }
    for (int r = 0; r < 2; r++)
        free(j[r].params);
    group_free(&g);
}
END_TEST

/* A tunable set on one rank only: the next update refuses on both ranks
 * before any step, and the policies stay as they were. */
static int set_lr_on_rank1(rank_job *j, int it)
{
    if (it == 0 && j->m.rank == 1)
        return fpo_optimizer_set(fpo_trainer_optimizer(j->t), FPO_OPT_LR, 5e-3);
    if (it == 0)
        grab_params(j);
    return 0;
}

START_TEST(tunables_that_differ_are_refused)
{
    group g;
    group_init(&g, 2);
    rank_job j[2];
    for (int r = 0; r < 2; r++) {
        job_init(&j[r], &g, r, default_setup(FPO_ALGO_FPO), 2);
        j[r].between = set_lr_on_rank1;
    }
    run_ranks(j, 2);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(j[r].iter_rc[0], FPO_OK);
        ck_assert_int_eq(j[r].iter_rc[1], FPO_EMISMATCH);
    }
    ck_assert_ptr_nonnull(strstr(fpo_trainer_errmsg(j[0].t), "tunables"));
    ck_assert_mem_eq(j[0].params, j[1].params, j[0].np * sizeof(float));
    ck_assert_int_eq(fpo_trainer_env_steps(j[0].t), 2 * j[0].s.num_envs * j[0].s.horizon);
    for (int r = 0; r < 2; r++)
        job_free(&j[r]);
    group_free(&g);
}
END_TEST

/* Every rank's callback fails at the same call of the second update (the
 * way an MPI error reaches all ranks): FPO_ECALLBACK and the policy as it
 * was before that update. */
static int keep_params_after_first(rank_job *j, int it)
{
    if (it == 0)
        grab_params(j);
    return 0;
}

START_TEST(callback_failure_leaves_the_policy)
{
    group g;
    group_init(&g, 2);
    rank_job j[2];
    for (int r = 0; r < 2; r++) {
        job_init(&j[r], &g, r, default_setup(FPO_ALGO_FPO), 2);
        j[r].between = keep_params_after_first;
    }
    /* calls: 2 in create (handshake, agreement); per iteration the rollout
     * exchange, 2 update exchanges, one gradient per step (epochs x
     * minibatches) and the end exchange; fail the second gradient of the
     * second iteration */
    long per_iter = 1 + 2 + 2 * 3 + 1;
    g.fail_call = 2 + per_iter + 3 + 2;
    run_ranks(j, 2);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(j[r].iter_rc[0], FPO_OK);
        ck_assert_int_eq(j[r].iter_rc[1], FPO_ECALLBACK);
        ck_assert_ptr_nonnull(strstr(fpo_trainer_errmsg(j[r].t), "gradient"));
        float *now = malloc(j[r].np * sizeof(float));
        fpo_policy_get_params(fpo_trainer_policy(j[r].t), FPO_NET_ALL, now, j[r].np);
        ck_assert_mem_eq(now, j[r].params, j[r].np * sizeof(float));
        free(now);
    }
    for (int r = 0; r < 2; r++)
        job_free(&j[r]);
    group_free(&g);
}
END_TEST

START_TEST(bad_tables_are_rejected)
{
    group g;
    group_init(&g, 1);
    member m = {&g, 0, 0};
    rank_job j;
    job_init(&j, NULL, 0, default_setup(FPO_ALGO_FPO), 0);
    fpo_collective c = table_for(&m);
    fpo_collective bad[6];
    int expect[6];
    for (int k = 0; k < 6; k++)
        bad[k] = c;
    bad[0].allreduce_sum_f32 = NULL, expect[0] = FPO_EINVAL;
    bad[1].allreduce_sum_f64 = NULL, expect[1] = FPO_EINVAL;
    bad[2].rank = 1, expect[2] = FPO_ERANGE;
    bad[3].size = 0, bad[3].rank = 0, expect[3] = FPO_ERANGE;
    bad[4].version = 0, expect[4] = FPO_EVERSION;
    bad[5].struct_size = sizeof(size_t), expect[5] = FPO_EINVAL; /* below any release */
    for (int k = 0; k < 6; k++) {
        toy_init(&j.e, OD, AD);
        j.tab = toy_table(&j.e);
        fpo_trainer_config tc;
        fpo_trainer_config_init(&tc);
        tc.env = &j.tab;
        tc.env_user = &j.e;
        tc.collective = &bad[k];
        fpo_trainer *t = NULL;
        ck_assert_int_eq(fpo_trainer_create(&t, &tc), expect[k]);
        ck_assert_ptr_null(t);
        ck_assert_str_ne(fpo_last_errmsg(), "");
        /* the optimizer checks its own */
        fpo_policy_config pc;
        toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
        fpo_policy *p;
        ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
        fpo_buffer_config bc;
        fpo_buffer_config_init(&bc);
        bc.num_envs = 2;
        bc.horizon = 4;
        bc.obs_dim = OD;
        bc.act_dim = AD;
        fpo_buffer *b;
        ck_assert_int_eq(fpo_buffer_create(&b, &bc), FPO_OK);
        fpo_optimizer_config oc;
        fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
        oc.minibatches = 2;
        oc.collective = &bad[k];
        fpo_optimizer *o = NULL;
        ck_assert_int_eq(fpo_optimizer_create(&o, p, b, &oc), expect[k]);
        ck_assert_ptr_null(o);
        fpo_buffer_destroy(b);
        fpo_policy_destroy(p);
    }
    /* a size-1 collective is fine and calls back */
    j.use_collective = 1;
    j.m = m;
    j.iterations = 1;
    rank_main(&j);
    ck_assert_int_eq(j.create_rc, FPO_OK);
    ck_assert_int_eq(j.iter_rc[0], FPO_OK);
    ck_assert_int_gt(j.m.calls, 3);
    job_free(&j);
    group_free(&g);
}
END_TEST

/* The optimizer alone (no trainer): its create checks that all ranks start
 * from the same policy. */
typedef struct opt_job {
    member m;
    uint64_t policy_seed;
    int rc;
} opt_job;

static void *opt_main(void *arg)
{
    opt_job *j = arg;
    fpo_policy_config pc;
    toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
    pc.seed = j->policy_seed;
    fpo_policy *p;
    fpo_policy_create(&p, &pc);
    fpo_buffer_config bc;
    fpo_buffer_config_init(&bc);
    bc.num_envs = 2;
    bc.horizon = 4;
    bc.obs_dim = OD;
    bc.act_dim = AD;
    fpo_buffer *b;
    fpo_buffer_create(&b, &bc);
    fpo_collective c = table_for(&j->m);
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.minibatches = 2;
    oc.collective = &c;
    fpo_optimizer *o = NULL;
    j->rc = fpo_optimizer_create(&o, p, b, &oc);
    fpo_optimizer_destroy(o);
    fpo_buffer_destroy(b);
    fpo_policy_destroy(p);
    return NULL;
}

START_TEST(optimizer_refuses_different_policies)
{
    group g;
    group_init(&g, 2);
    opt_job j[2] = {{{&g, 0, 0}, 3, 0}, {{&g, 1, 0}, 3 + (uint64_t)_i, 0}};
    pthread_t th[2];
    for (int r = 0; r < 2; r++)
        pthread_create(&th[r], NULL, opt_main, &j[r]);
    for (int r = 0; r < 2; r++)
        pthread_join(th[r], NULL);
    for (int r = 0; r < 2; r++)
        ck_assert_int_eq(j[r].rc, _i ? FPO_EMISMATCH : FPO_OK);
    group_free(&g);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("collective");
    TCase *tc = tcase_create("collective");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, ranks_hold_identical_parameters, 0, 3);
    tcase_add_loop_test(tc, two_ranks_equal_one_rank_with_all_envs, 0, 3);
    tcase_add_test(tc, uneven_ranks_equal_one_rank);
    tcase_add_test(tc, keyed_streams_do_not_depend_on_the_split);
    tcase_add_test(tc, rollout_failure_is_agreed);
    tcase_add_test(tc, stop_request_is_agreed);
    tcase_add_loop_test(tc, settings_that_differ_fail_on_all_ranks, 0, 3);
    tcase_add_test(tc, tunables_that_differ_are_refused);
    tcase_add_test(tc, callback_failure_leaves_the_policy);
    tcase_add_test(tc, bad_tables_are_rejected);
    tcase_add_loop_test(tc, optimizer_refuses_different_policies, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
