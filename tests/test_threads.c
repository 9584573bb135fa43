/* Thread safety (docs/threads.md): many samplers acting concurrently on one
 * shared read-only policy give exactly the results of acting one after the
 * other; const queries may run alongside; a vecenv stepping its instances on
 * worker threads gives the same results as stepping them on the caller.
 * Run under ThreadSanitizer too (meson setup -Db_sanitize=thread). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpo/fpo.h"
#include "testutil.h"
#include "toyenv.h"

#define OD 5
#define AD 3
#define NT 4     /* acting threads */
#define CALLS 60 /* act + value calls per thread */
#define BATCH 3

typedef struct job {
    const fpo_policy *p;
    fpo_sampler *s;
    int id;
    pthread_barrier_t *go;
    float act[CALLS][BATCH * AD], raw[CALLS][BATCH * AD], val[CALLS][BATCH];
    int rc;
} job;

static void obs_for(int id, int call, float *obs)
{
    for (int i = 0; i < BATCH * OD; i++)
        obs[i] = sinf(0.37f * (float)(id * 1000 + call * 17 + i));
}

static void act_all(job *j)
{
    float obs[BATCH * OD];
    for (int c = 0; c < CALLS && !j->rc; c++) {
        obs_for(j->id, c, obs);
        j->rc = fpo_sampler_act(j->s, j->p, obs, BATCH, j->act[c], j->raw[c]);
        if (!j->rc)
            j->rc = fpo_sampler_value(j->s, j->p, obs, BATCH, j->val[c]);
    }
}

static void *act_thread(void *arg)
{
    job *j = arg;
    pthread_barrier_wait(j->go);
    act_all(j);
    return NULL;
}

/* A reader doing const queries on the shared policy meanwhile. */
typedef struct reader {
    const fpo_policy *p;
    pthread_barrier_t *go;
    int rc;
    long rounds;
} reader;

static void *read_thread(void *arg)
{
    reader *r = arg;
    pthread_barrier_wait(r->go);
    fpo_policy_info info = {sizeof info};
    r->rc = fpo_policy_get_info(r->p, &info);
    size_t np = info.actor_params + info.critic_params, n;
    float *w = malloc(np * sizeof(float)), mean[OD], sd[OD];
    fpo_policy_config cfg = {sizeof cfg};
    for (int k = 0; k < 40 && !r->rc; k++) {
        r->rc = fpo_policy_get_params(r->p, FPO_NET_ALL, w, np);
        if (!r->rc)
            r->rc = fpo_policy_obs_stats(r->p, mean, sd);
        if (!r->rc)
            r->rc = fpo_policy_get_config(r->p, &cfg);
        if (!r->rc)
            r->rc = fpo_policy_save_mem(r->p, NULL, 0, &n);
        r->rounds++;
    }
    free(w);
    return NULL;
}

static fpo_policy *shared_policy(fpo_policy_kind kind)
{
    fpo_policy_config pc;
    toy_policy_config(&pc, kind, OD, AD);
    pc.actor_hidden[0] = pc.actor_hidden[1] = 24;
    pc.critic_hidden[0] = pc.critic_hidden[1] = 24;
    fpo_policy *p;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    /* non-trivial normalization */
    float obs[8 * OD];
    for (int i = 0; i < 8 * OD; i++)
        obs[i] = 2.0f * cosf((float)i) + 0.5f;
    ck_assert_int_eq(fpo_policy_obs_accumulate(p, obs, 8), FPO_OK);
    ck_assert_int_eq(fpo_policy_obs_commit(p), FPO_OK);
    return p;
}

static fpo_sampler *sampler_for(const fpo_policy *p, int id, int variant)
{
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.max_batch = BATCH;
    sc.seed = 1000u + (uint64_t)id;
    sc.steps = 4 + id;
    sc.integrator = (fpo_integrator)((id + variant) % 3);
    sc.sde_noise = variant ? 0.3f : 0.0f;
    fpo_sampler *s;
    ck_assert_int_eq(fpo_sampler_create(&s, p, &sc), FPO_OK);
    return s;
}

START_TEST(concurrent_samplers_match_sequential)
{
    /* _i: 0 flow, 1 flow with SDE noise, 2 Gaussian */
    fpo_policy_kind kind = _i == 2 ? FPO_POLICY_GAUSSIAN : FPO_POLICY_FLOW;
    int variant = _i == 1;
    fpo_policy *p = shared_policy(kind);
    size_t n0, n1;
    ck_assert_int_eq(fpo_policy_save_mem(p, NULL, 0, &n0), FPO_OK);
    unsigned char *before = malloc(n0), *after = malloc(n0);
    ck_assert_int_eq(fpo_policy_save_mem(p, before, n0, &n0), FPO_OK);

    static job seq[NT], par[NT];
    /* sequential reference */
    for (int t = 0; t < NT; t++) {
        memset(&seq[t], 0, sizeof seq[t]);
        seq[t].p = p;
        seq[t].id = t;
        seq[t].s = sampler_for(p, t, variant);
        act_all(&seq[t]);
        ck_assert_int_eq(seq[t].rc, FPO_OK);
        fpo_sampler_destroy(seq[t].s);
    }
    /* the same, all threads at once, plus a reader */
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, NT + 1);
    pthread_t th[NT + 1];
    reader rd = {p, &go, 0, 0};
    for (int t = 0; t < NT; t++) {
        memset(&par[t], 0, sizeof par[t]);
        par[t].p = p;
        par[t].id = t;
        par[t].go = &go;
        par[t].s = sampler_for(p, t, variant);
        ck_assert_int_eq(pthread_create(&th[t], NULL, act_thread, &par[t]), 0);
    }
    ck_assert_int_eq(pthread_create(&th[NT], NULL, read_thread, &rd), 0);
    for (int t = 0; t <= NT; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&go);
    ck_assert_int_eq(rd.rc, FPO_OK);
    ck_assert_int_eq(rd.rounds, 40);
    for (int t = 0; t < NT; t++) {
        ck_assert_int_eq(par[t].rc, FPO_OK);
        ck_assert_mem_eq(par[t].act, seq[t].act, sizeof seq[t].act);
        ck_assert_mem_eq(par[t].raw, seq[t].raw, sizeof seq[t].raw);
        ck_assert_mem_eq(par[t].val, seq[t].val, sizeof seq[t].val);
        fpo_sampler_destroy(par[t].s);
    }
    /* threads got different streams (the test would be weak otherwise) */
    ck_assert(memcmp(seq[0].raw, seq[1].raw, sizeof seq[0].raw) != 0);
    /* and the shared policy was only read */
    ck_assert_int_eq(fpo_policy_save_mem(p, after, n0, &n1), FPO_OK);
    ck_assert(n0 == n1 && memcmp(before, after, n0) == 0);
    free(before);
    free(after);
    fpo_policy_destroy(p);
}
END_TEST

/* Each thread owns a whole training stack: handles of different threads
 * never share state, so concurrent training equals sequential training. */
typedef struct tjob {
    toy e;
    fpo_env_table tab;
    fpo_trainer *t;
    float *params;
    size_t np;
    int rc;
} tjob;

static void train(tjob *j)
{
    for (int k = 0; k < 3 && !j->rc; k++)
        j->rc = fpo_trainer_iterate(j->t, NULL);
    fpo_policy *p = fpo_trainer_policy(j->t);
    fpo_policy_info info = {sizeof info};
    fpo_policy_get_info(p, &info);
    j->np = info.actor_params + info.critic_params;
    j->params = malloc(j->np * sizeof(float));
    if (!j->rc)
        j->rc = fpo_policy_get_params(p, FPO_NET_ALL, j->params, j->np);
}

static void *train_thread(void *arg)
{
    train(arg);
    return NULL;
}

static void make_trainer(tjob *j, int seed, int threads)
{
    memset(j, 0, sizeof *j);
    toy_init(&j->e, OD, AD);
    j->tab = toy_table(&j->e);
    fpo_policy_config pc;
    toy_policy_config(&pc, FPO_POLICY_FLOW, OD, AD);
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.epochs = 2;
    oc.minibatches = 2;
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = &j->tab;
    tc.env_user = &j->e;
    tc.num_envs = 4;
    tc.horizon = 8;
    tc.n_mc = 2;
    tc.threads = threads;
    tc.seed = (uint64_t)seed;
    tc.policy = &pc;
    tc.optimizer = &oc;
    ck_assert_int_eq(fpo_trainer_create(&j->t, &tc), FPO_OK);
}

START_TEST(independent_trainers_in_parallel)
{
    /* _i: worker threads inside each trainer (1, or 2: pools inside threads) */
    int inner = 1 + _i;
    static tjob seq[3], par[3];
    for (int k = 0; k < 3; k++) {
        make_trainer(&seq[k], k, inner);
        train(&seq[k]);
        ck_assert_int_eq(seq[k].rc, FPO_OK);
        make_trainer(&par[k], k, inner);
    }
    pthread_t th[3];
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(pthread_create(&th[k], NULL, train_thread, &par[k]), 0);
    for (int k = 0; k < 3; k++)
        pthread_join(th[k], NULL);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(par[k].rc, FPO_OK);
        ck_assert_uint_eq(par[k].np, seq[k].np);
        ck_assert_mem_eq(par[k].params, seq[k].params, seq[k].np * sizeof(float));
        free(par[k].params);
        free(seq[k].params);
        fpo_trainer_destroy(par[k].t);
        fpo_trainer_destroy(seq[k].t);
    }
}
END_TEST

START_TEST(vecenv_worker_threads_match_caller)
{
    /* The same episodes whether instances step on the caller or on 3
     * worker threads (callbacks for different instances run concurrently). */
    enum { N = 6, STEPS = 20 };
    float obs[2][N * OD], rew[2][N], fin[2][N * OD], act[N * AD];
    unsigned fl[2][N];
    toy e[2];
    fpo_env_table tab[2];
    fpo_vecenv *v[2];
    for (int k = 0; k < 2; k++) {
        toy_init(&e[k], OD, AD);
        tab[k] = toy_table(&e[k]);
        fpo_vecenv_config vc;
        fpo_vecenv_config_init(&vc);
        vc.table = &tab[k];
        vc.user = &e[k];
        vc.num_envs = N;
        vc.threads = k ? 3 : 1;
        vc.seed = 5;
        ck_assert_int_eq(fpo_vecenv_create(&v[k], &vc), FPO_OK);
        ck_assert_int_eq(fpo_vecenv_reset(v[k], obs[k]), FPO_OK);
    }
    ck_assert_mem_eq(obs[0], obs[1], sizeof obs[0]);
    for (int s = 0; s < STEPS; s++) {
        for (int i = 0; i < N * AD; i++)
            act[i] = sinf(0.1f * (float)(s * 31 + i));
        for (int k = 0; k < 2; k++)
            ck_assert_int_eq(fpo_vecenv_step(v[k], act, obs[k], rew[k], fl[k], fin[k]), FPO_OK);
        ck_assert_mem_eq(obs[0], obs[1], sizeof obs[0]);
        ck_assert_mem_eq(rew[0], rew[1], sizeof rew[0]);
        ck_assert_mem_eq(fl[0], fl[1], sizeof fl[0]);
    }
    fpo_episode_stats st[2] = {{sizeof st[0]}, {sizeof st[1]}};
    for (int k = 0; k < 2; k++)
        ck_assert_int_eq(fpo_vecenv_take_episode_stats(v[k], &st[k]), FPO_OK);
    ck_assert_int_gt(st[0].episodes, 0);
    ck_assert_int_eq(st[0].episodes, st[1].episodes);
    ck_assert_double_eq(st[0].mean_return, st[1].mean_return);
    for (int k = 0; k < 2; k++)
        fpo_vecenv_destroy(v[k]);
    ck_assert_int_eq(atomic_load(&e[1].created), atomic_load(&e[1].destroyed));
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, concurrent_samplers_match_sequential, 0, 3);
    tcase_add_loop_test(tc, independent_trainers_in_parallel, 0, 2);
    tcase_add_test(tc, vecenv_worker_threads_match_caller);
    suite_add_tcase(s, tc);
    return s;
}
